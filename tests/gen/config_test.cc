// ModelConfig presets, validation, JSON round trip and condition parsing (exact error text).
#include "gen/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "gen/sampler_config.h"
#include "test_util.h"

namespace scintigen::gen {
namespace {

std::string parse_error(const std::string& text) {
  try {
    parse_condition(text, default_conditions());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GenConfig, PresetsValidateAndHaveTheirSizes) {
  for (const auto& name : preset_names()) {
    ModelConfig c = model_preset(name);
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_EQ(c.height, 4 * c.width) << name;
  }
  EXPECT_EQ(model_preset("tiny").height, 128);
  EXPECT_EQ(model_preset("cpu").width, 64);
  EXPECT_EQ(model_preset("full").height, 1024);
}

TEST(GenConfig, ConfigFilesEqualThePresets) {
  for (const auto& name : preset_names()) {
    const std::string path = scintigen::testing::source_path("configs/gen/" + name + ".json");
    std::ifstream f(path);
    ASSERT_TRUE(f) << path;
    nlohmann::json j;
    f >> j;
    EXPECT_EQ(ModelConfig::from_json(j, path).to_json(), model_preset(name).to_json()) << path;
  }
}

// configs/gen/latent.json: the denoiser of the first latent diffusion candidate (docs/experiments/
// fidelity.md, "Latent diffusion, step 2"): the cpu preset with one residual block per level and
// the schedule shift of a 16 x 64 image; with a 4-channel latent space of factor 4 it is valid.
TEST(GenConfig, TheLatentConfigFileIsTheCpuPresetWithOneBlockPerLevel) {
  const std::string path = scintigen::testing::source_path("configs/gen/latent.json");
  std::ifstream f(path);
  ASSERT_TRUE(f) << path;
  nlohmann::json j;
  f >> j;
  ModelConfig c = ModelConfig::from_json(j, path);
  ModelConfig cpu = model_preset("cpu");
  cpu.preset = "latent";
  cpu.res_blocks = 1;
  cpu.schedule_shift = 2.0;  // 64 / sqrt(16 * 64), the presets' rule at the latent grid
  EXPECT_EQ(c.to_json(), cpu.to_json());
  c.latent = {4, 4, 1.0};
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.diffusion_height(), 64);
  EXPECT_EQ(c.diffusion_width(), 16);
  EXPECT_EQ(c.diffusion_channels(), 4);
  c.latent.scale = 1.5;
  const ModelConfig back = ModelConfig::from_json(c.to_json(), "x");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_DOUBLE_EQ(back.latent.scale, 1.5);
  EXPECT_FALSE(cpu.to_json().contains("latent")) << "a pixel model's config is as it was";
  EXPECT_FALSE(back.to_json()["latent"].contains("channel_mean")) << "one scale: the config is as it was";
  c.latent.channel_mean = {0.5, -1, 0, 2};
  c.latent.channel_std = {0.3, 1, 1.5, 2};
  EXPECT_NO_THROW(c.validate());
  const ModelConfig per = ModelConfig::from_json(c.to_json(), "x");
  EXPECT_EQ(per.latent.channel_mean, c.latent.channel_mean);
  EXPECT_EQ(per.latent.channel_std, c.latent.channel_std);
  c.latent.channel_std = {0.3, 1, 0, 2};
  EXPECT_THROW(c.validate(), ConfigError) << "a std of 0";
  c.latent.channel_std = {0.3, 1, 2};
  EXPECT_THROW(c.validate(), ConfigError) << "3 stds for 4 channels";
  nlohmann::json half = per.to_json();
  half["latent"].erase("channel_std");
  EXPECT_THROW(ModelConfig::from_json(half, "x"), ConfigError) << "a mean without its std";
  c.latent.channel_mean.clear();
  c.latent.channel_std.clear();
  c.latent.factor = 3;
  EXPECT_THROW(c.validate(), ConfigError);
}

TEST(GenConfig, UnknownPresetListsTheAllowedOnes) {
  try {
    model_preset("huge");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--preset: unknown preset 'huge' (hint: allowed presets: tiny, cpu, full)");
  }
}

TEST(GenConfig, ValidateNamesTheField) {
  ModelConfig c = model_preset("tiny");
  c.width = 30;
  try {
    c.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "model config: height/width: 128 x 30 is not divisible by 4 (2^(levels-1)) "
                 "(hint: use sizes that halve evenly at every level, e.g. 128 x 32)");
  }
  c = model_preset("tiny");
  c.groups = 5;
  EXPECT_THROW(c.validate(), ConfigError);
  c = model_preset("tiny");
  c.attention_levels = {3};
  try {
    c.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "model config: attention_levels: holds level 3 (hint: levels are 0..2 (0 = full size))");
  }
}

TEST(GenConfig, JsonRoundTrip) {
  for (const auto& name : preset_names()) {
    ModelConfig c = model_preset(name);
    c.conditions = default_conditions({"siteA", "siteB"});
    ModelConfig back = ModelConfig::from_json(c.to_json(), "config.json");
    EXPECT_EQ(back.to_json(), c.to_json()) << name;
  }
  auto j = model_preset("tiny").to_json();
  j["colour"] = 1;
  try {
    ModelConfig::from_json(j, "m/config.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "m/config.json: unknown key 'colour' in model config (hint: remove it or fix its spelling)");
  }
  j = model_preset("tiny").to_json();
  j["height"] = "tall";
  EXPECT_THROW(ModelConfig::from_json(j, "m/config.json"), ConfigError);
}

TEST(GenPrecision, ParsesAndResolves) {
  for (auto p : {Precision::kAuto, Precision::kFp32, Precision::kBf16})
    EXPECT_EQ(precision_from_string(to_string(p)), p);
  try {
    precision_from_string("fp16");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--precision: unknown precision 'fp16' (hint: allowed: auto, fp32, bf16)");
  }
  // The reference: grep's reading of the same flags.
  const bool native = std::system("grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo") == 0;
  EXPECT_EQ(cpu_has_native_bf16(), native);
  EXPECT_EQ(use_bf16(Precision::kAuto, false), native);
  EXPECT_FALSE(use_bf16(Precision::kAuto, true)) << "auto is fp32 on CUDA";
  EXPECT_TRUE(use_bf16(Precision::kBf16, true));
  EXPECT_FALSE(use_bf16(Precision::kFp32, false));
  const SamplerConfig defaults;
  EXPECT_EQ(defaults.steps, 10) << "the audit's choice (docs/experiments/fidelity.md)";
  EXPECT_EQ(defaults.guidance, 1.5);
  EXPECT_EQ(defaults.guidance_t_lo, 0.05) << "guidance in a limited interval: the audit's choice";
  EXPECT_EQ(defaults.guidance_t_hi, 0.7);
  EXPECT_EQ(defaults.spacing, TimeSpacing::kLogSnrUniform) << "the time-spacing table's choice";
  EXPECT_EQ(defaults.kind, SamplerKind::kDpmpp2m);
}

// Each (text, message) of `bad`: `parse(text)` throws a ConfigError reading message + hint exactly.
template <size_t N>
void expect_config_errors(const std::function<void(const std::string&)>& parse,
                          const std::pair<std::string, std::string> (&bad)[N], const std::string& hint) {
  for (const auto& [text, message] : bad) {
    try {
      parse(text);
      ADD_FAILURE() << text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), message + hint) << text;
    }
  }
}

TEST(GenSamplerConfig, GuidanceIntervalParsesValidatesAndAppearsOnlyWhenLimited) {
  EXPECT_EQ(parse_guidance_interval("0.05,0.7"), std::make_pair(0.05, 0.7));
  EXPECT_EQ(parse_guidance_interval("0,1"), std::make_pair(0.0, 1.0));
  const std::string hint = " (hint: use LO,HI with 0 <= LO < HI <= 1, e.g. 0.05,0.7 (t = 1 is pure noise))";
  const std::pair<std::string, std::string> bad[] = {
      {"0.5", "--guidance-interval: '0.5' is not two numbers LO,HI"},
      {"0.1,0.2,0.3", "--guidance-interval: '0.1,0.2,0.3' is not two numbers LO,HI"},
      {"a,0.5", "--guidance-interval: 'a' is not a number"},
      {"0.1,0.5x", "--guidance-interval: '0.5x' is not a number"},
      {",0.5", "--guidance-interval: '' is not a number"},
      {"0.7,0.2", "--guidance-interval: '0.7,0.2' is not an interval in [0, 1]"},
      {"0.3,0.3", "--guidance-interval: '0.3,0.3' is not an interval in [0, 1]"},
      {"-0.1,0.5", "--guidance-interval: '-0.1,0.5' is not an interval in [0, 1]"},
      {"0.1,1.5", "--guidance-interval: '0.1,1.5' is not an interval in [0, 1]"},
      {"nan,0.5", "--guidance-interval: 'nan' is not a number"}};
  expect_config_errors([](const std::string& text) { parse_guidance_interval(text); }, bad, hint);
  SamplerConfig sc;
  sc.guidance_t_lo = 0.0;
  sc.guidance_t_hi = 1.0;
  EXPECT_TRUE(sc.guides_every_step());
  EXPECT_FALSE(sc.to_json().contains("guidance_interval")) << "every-step runs keep their old provenance";
  sc = SamplerConfig{};  // the default guides t in [0.05, 0.7]
  EXPECT_FALSE(sc.guides_every_step());
  EXPECT_NO_THROW(sc.validate());
  EXPECT_EQ(sc.to_json()["guidance_interval"], nlohmann::json::parse("[0.05, 0.7]"));
  sc.guidance_t_lo = 0.8;
  EXPECT_THROW(sc.validate(), ConfigError);
}

TEST(GenSamplerConfig, GuidanceOnParsesValidatesRoundTripsAndAppearsOnlyWhenNamed) {
  EXPECT_EQ(parse_guidance_on("metastasis"), (std::vector<std::string>{"metastasis"}));
  EXPECT_EQ(parse_guidance_on(" metastasis , tracer"), (std::vector<std::string>{"metastasis", "tracer"}));
  EXPECT_TRUE(parse_guidance_on("all").empty()) << "every condition";
  const std::string hint = " (hint: name conditions of the model, e.g. metastasis or metastasis,tracer, or all)";
  const std::pair<std::string, std::string> bad[] = {
      {"", "--guidance-on: names no condition"},
      {"metastasis,", "--guidance-on: 'metastasis,' holds an empty name"},
      {"sex,sex", "--guidance-on: 'sex' is named twice"}};
  expect_config_errors([](const std::string& text) { parse_guidance_on(text); }, bad, hint);
  SamplerConfig sc;
  EXPECT_FALSE(sc.to_json().contains("guidance_on")) << "runs that guide every condition keep their old record";
  sc.guidance_on = {"metastasis"};
  const nlohmann::json j = sc.to_json();
  EXPECT_EQ(j["guidance_on"], nlohmann::json::parse(R"(["metastasis"])"));
  EXPECT_EQ(SamplerConfig::from_json(j, "x").guidance_on, sc.guidance_on);
  EXPECT_TRUE(SamplerConfig::from_json(SamplerConfig{}.to_json(), "x").guidance_on.empty());
  sc.guidance_on = {"metastasis", "metastasis"};
  EXPECT_THROW(sc.validate(), ConfigError);
  sc.guidance_on = {""};
  EXPECT_THROW(sc.validate(), ConfigError);
}

TEST(GenCondition, ParsesAnySubset) {
  const ConditionSpec spec = default_conditions();
  EXPECT_EQ(parse_condition("metastasis=1,cardiac_grade=3,tracer=DPD", spec), (ConditionTokens{2, 4, 3, 0, 0}));
  EXPECT_EQ(parse_condition(" sex=F , age_band=>=80", spec), (ConditionTokens{0, 0, 0, 2, 4}));
  EXPECT_EQ(parse_condition("", spec), (ConditionTokens{0, 0, 0, 0, 0}));
  EXPECT_EQ(condition_to_string(parse_condition("tracer=PYP,metastasis=0", spec), spec), "metastasis=0,tracer=PYP");
}

TEST(GenCondition, ErrorsListWhatIsAllowed) {
  EXPECT_EQ(
      parse_error("cardiac_grade=5"),
      "--condition: value '5' is not allowed for cardiac_grade (hint: allowed values of cardiac_grade: 0, 1, 2, 3)");
  EXPECT_EQ(parse_error("grade=2"),
            "--condition: unknown condition 'grade' (hint: allowed conditions: metastasis, cardiac_grade, tracer, sex, "
            "age_band)");
  EXPECT_EQ(parse_error("tracer=FDG"),
            "--condition: value 'FDG' is not allowed for tracer (hint: allowed values of tracer: MDP, HDP, DPD, PYP)");
  EXPECT_EQ(parse_error("metastasis"),
            "--condition: condition item 'metastasis' has no '=' (hint: write name=value, e.g. cardiac_grade=2)");
  EXPECT_EQ(parse_error("sex=M,sex=F"), "--condition: condition 'sex' given twice (hint: give each condition once)");
  EXPECT_EQ(parse_error("sex=M,,tracer=DPD"),
            "--condition: empty item in condition 'sex=M,,tracer=DPD' (hint: write name=value pairs separated by "
            "commas, e.g. metastasis=1,tracer=DPD)");
  EXPECT_EQ(parse_error("site=A"),
            "--condition: unknown condition 'site' (hint: allowed conditions: metastasis, cardiac_grade, tracer, sex, "
            "age_band)");
}

TEST(GenCondition, FromLabels) {
  const ConditionSpec spec = default_conditions({"north"});
  Labels l;
  l.metastasis = 1;
  l.tracer = "HDP";
  l.sex = "O";  // not in the vocabulary: unknown
  l.age = 64.9;
  l.site = "north";
  EXPECT_EQ(condition_from_labels(l, spec), (ConditionTokens{2, 0, 2, 0, 2, 1}));
  EXPECT_EQ(condition_from_labels(Labels{}, spec), (ConditionTokens{0, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace scintigen::gen
