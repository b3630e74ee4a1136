#include "gen/config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/names.h"
#include "core/text.h"

namespace scintigen::gen {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

constexpr NamedValue<ModelTarget> kTargetNames[] = {{ModelTarget::kCounts, "counts"},
                                                    {ModelTarget::kExpected, "expected"}};
constexpr NamedValue<CountOutput> kCountOutputNames[] = {{CountOutput::kAuto, "auto"},
                                                         {CountOutput::kRound, "round"},
                                                         {CountOutput::kContinuous, "continuous"},
                                                         {CountOutput::kPoisson, "poisson"}};

}  // namespace

const char* to_string(ModelTarget t) {
  return name_of(kTargetNames, t);
}

ModelTarget model_target_from_string(const std::string& s, const std::string& where) {
  return value_named<ConfigError>(kTargetNames, s, where, "model target");
}

const char* to_string(CountOutput c) {
  return name_of(kCountOutputNames, c);
}

CountOutput count_output_from_string(const std::string& s, const std::string& where) {
  return value_named<ConfigError>(kCountOutputNames, s, where, "count output");
}

CountOutput resolve_count_output(CountOutput c, ModelTarget t) {
  if (c != CountOutput::kAuto) return c;
  return t == ModelTarget::kExpected ? CountOutput::kPoisson : CountOutput::kRound;
}

int ConditionSpec::index_of(const std::string& name) const {
  for (size_t i = 0; i < attributes.size(); ++i)
    if (attributes[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string ConditionSpec::names() const {
  std::vector<std::string> n;
  for (const auto& a : attributes) n.push_back(a.name);
  return join(n);
}

const std::vector<std::string>& age_bands() {
  static const std::vector<std::string> bands = {"<50", "50-64", "65-79", ">=80"};
  return bands;
}

int age_band_index(double age) {
  if (age < 50) return 0;
  if (age < 65) return 1;
  if (age < 80) return 2;
  return 3;
}

ConditionSpec default_conditions(const std::vector<std::string>& sites) {
  ConditionSpec s;
  s.attributes = {
      {"metastasis", {"0", "1"}},
      {"cardiac_grade", {"0", "1", "2", "3"}},
      {"tracer", {"MDP", "HDP", "DPD", "PYP"}},
      {"sex", {"M", "F"}},
      {"age_band", age_bands()},
  };
  if (!sites.empty()) s.attributes.push_back({"site", sites});
  return s;
}

ConditionTokens parse_condition(const std::string& text, const ConditionSpec& spec, const std::string& where) {
  ConditionTokens tokens(spec.size(), 0);
  std::vector<bool> seen(spec.size(), false);
  if (trim(text).empty()) return tokens;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty())
      throw ConfigError(where, "empty item in condition '" + text + "'",
                        "write name=value pairs separated by commas, e.g. metastasis=1,tracer=DPD");
    size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw ConfigError(where, "condition item '" + item + "' has no '='", "write name=value, e.g. cardiac_grade=2");
    std::string name = trim(item.substr(0, eq));
    std::string value = trim(item.substr(eq + 1));
    int a = spec.index_of(name);
    if (a < 0) throw ConfigError(where, "unknown condition '" + name + "'", "allowed conditions: " + spec.names());
    if (seen[a]) throw ConfigError(where, "condition '" + name + "' given twice", "give each condition once");
    seen[a] = true;
    const auto& values = spec.attributes[a].values;
    auto it = std::find(values.begin(), values.end(), value);
    if (it == values.end())
      throw ConfigError(where, "value '" + value + "' is not allowed for " + name,
                        "allowed values of " + name + ": " + join(values));
    tokens[a] = 1 + (it - values.begin());
    if (comma == text.size()) break;
  }
  return tokens;
}

std::string condition_to_string(const ConditionTokens& tokens, const ConditionSpec& spec) {
  std::string s;
  for (size_t a = 0; a < spec.size() && a < tokens.size(); ++a) {
    int64_t t = tokens[a];
    if (t <= 0 || t > static_cast<int64_t>(spec.attributes[a].values.size())) continue;
    if (!s.empty()) s += ",";
    s += spec.attributes[a].name + "=" + spec.attributes[a].values[t - 1];
  }
  return s;
}

ConditionTokens condition_from_labels(const Labels& labels, const ConditionSpec& spec) {
  ConditionTokens tokens(spec.size(), 0);
  for (size_t a = 0; a < spec.size(); ++a) {
    const auto& attr = spec.attributes[a];
    std::string v;
    if (attr.name == "age_band") {
      if (labels.age) v = age_bands()[age_band_index(*labels.age)];
    } else {
      v = label_value(labels, attr.name);
    }
    auto it = std::find(attr.values.begin(), attr.values.end(), v);
    if (!v.empty() && it != attr.values.end()) tokens[a] = 1 + (it - attr.values.begin());
  }
  return tokens;
}

bool ModelConfig::has_attention(int level) const {
  return std::find(attention_levels.begin(), attention_levels.end(), level) != attention_levels.end();
}

void ModelConfig::validate() const {
  const std::string where = "model config";
  auto fail = [&](const std::string& field, const std::string& what, const std::string& hint) {
    throw ConfigError(where, field + ": " + what, hint);
  };
  if (in_channels != 2) fail("in_channels", "is " + std::to_string(in_channels), "must be 2 (anterior, posterior)");
  if (channel_mult.empty() || channel_mult.size() > 8)
    fail("channel_mult", "has " + std::to_string(channel_mult.size()) + " levels", "give 1 to 8 multipliers");
  for (int m : channel_mult)
    if (m < 1 || m > 16) fail("channel_mult", "holds " + std::to_string(m), "each multiplier must be in 1..16");
  if (latent.enabled()) {
    if (latent.channels > 64) fail("latent.channels", "is " + std::to_string(latent.channels), "must be in 1..64");
    if (latent.factor < 2 || latent.factor > 64 || (latent.factor & (latent.factor - 1)))
      fail("latent.factor", "is " + std::to_string(latent.factor), "must be a power of 2 in 2..64");
    if (height % latent.factor || width % latent.factor)
      fail("latent.factor",
           std::to_string(height) + " x " + std::to_string(width) + " is not divisible by " +
               std::to_string(latent.factor),
           "the scans' grid must be the autoencoder's");
    if (!(latent.scale > 0) || !std::isfinite(latent.scale))
      fail("latent.scale", "is " + std::to_string(latent.scale), "must be > 0");
    if (latent.per_channel() || !latent.channel_std.empty()) {
      if (latent.channel_mean.size() != static_cast<size_t>(latent.channels) ||
          latent.channel_std.size() != static_cast<size_t>(latent.channels))
        fail("latent.channel_mean/channel_std",
             "hold " + std::to_string(latent.channel_mean.size()) + " and " +
                 std::to_string(latent.channel_std.size()) + " values",
             "need one per latent channel (" + std::to_string(latent.channels) + ")");
      for (int z = 0; z < latent.channels; ++z)
        if (!std::isfinite(latent.channel_mean[z]) || !(latent.channel_std[z] > 0) ||
            !std::isfinite(latent.channel_std[z]))
          fail("latent.channel_mean/channel_std", "channel " + std::to_string(z) + " is not finite or its std <= 0",
               "use the autoencoder's recorded latent statistics");
    }
  }
  const int div = 1 << (levels() - 1);
  const int dh = diffusion_height(), dw = diffusion_width();
  if (dh < 2 || dw < 2 || dh % div || dw % div || height < 8 || width < 2)
    fail("height/width",
         std::to_string(dh) + " x " + std::to_string(dw) + (latent.enabled() ? " (the latent grid)" : "") +
             " is not divisible by " + std::to_string(div) + " (2^(levels-1))",
         "use sizes that halve evenly at every level, e.g. 128 x 32");
  if (base_channels < 1 || base_channels > 4096)
    fail("base_channels", "is " + std::to_string(base_channels), "must be in 1..4096");
  if (groups < 1) fail("groups", "is " + std::to_string(groups), "must be >= 1");
  for (int m : channel_mult)
    if ((base_channels * m) % groups)
      fail("groups", std::to_string(groups) + " does not divide " + std::to_string(base_channels * m) + " channels",
           "choose groups dividing base_channels * every multiplier");
  if (base_channels % groups)
    fail("groups", std::to_string(groups) + " does not divide base_channels " + std::to_string(base_channels),
         "choose groups dividing base_channels");
  if (res_blocks < 1 || res_blocks > 8) fail("res_blocks", "is " + std::to_string(res_blocks), "must be in 1..8");
  for (int l : attention_levels)
    if (l < 0 || l >= levels())
      fail("attention_levels", "holds level " + std::to_string(l),
           "levels are 0.." + std::to_string(levels() - 1) + " (0 = full size)");
  if (head_channels < 1) fail("head_channels", "is " + std::to_string(head_channels), "must be >= 1");
  for (int l : attention_levels)
    if ((base_channels * channel_mult[l]) % head_channels)
      fail("head_channels",
           std::to_string(head_channels) + " does not divide the " + std::to_string(base_channels * channel_mult[l]) +
               " channels of level " + std::to_string(l),
           "choose head_channels dividing the channels of every attention level");
  if (time_embed_dim < 4 || time_embed_dim % 2)
    fail("time_embed_dim", "is " + std::to_string(time_embed_dim), "must be even and >= 4");
  if (!(logsnr_min < logsnr_max) || logsnr_min < -30 || logsnr_max > 30)
    fail("logsnr_min/logsnr_max", "range [" + std::to_string(logsnr_min) + ", " + std::to_string(logsnr_max) + "]",
         "need -30 <= logsnr_min < logsnr_max <= 30");
  if (!(schedule_shift > 0) || !std::isfinite(schedule_shift))
    fail("schedule_shift", "is " + std::to_string(schedule_shift), "must be > 0");
  if (!(transform.count_max > 0) || !std::isfinite(transform.count_max))
    fail("transform.count_max", "is " + std::to_string(transform.count_max), "must be > 0");
  if (conditions.attributes.empty()) fail("conditions", "is empty", "use the default conditions");
  std::set<std::string> names;
  for (const auto& a : conditions.attributes) {
    if (a.name.empty() || !names.insert(a.name).second)
      fail("conditions", "attribute '" + a.name + "' is empty or repeated", "give each attribute a unique name");
    if (a.values.empty()) fail("conditions." + a.name, "has no values", "list its allowed values");
  }
}

namespace {

// The plain fields of a model config, each with its JSON key: one list drives to_json, from_json
// and the unknown-key check. `conditions` and `transform` have shapes of their own.
template <typename Config, typename F>
void visit_plain_fields(Config& c, F&& f) {
  f("preset", c.preset);
  f("in_channels", c.in_channels);
  f("height", c.height);
  f("width", c.width);
  f("base_channels", c.base_channels);
  f("channel_mult", c.channel_mult);
  f("res_blocks", c.res_blocks);
  f("attention_levels", c.attention_levels);
  f("head_channels", c.head_channels);
  f("groups", c.groups);
  f("time_embed_dim", c.time_embed_dim);
  f("scale_shift", c.scale_shift);
  f("logsnr_min", c.logsnr_min);
  f("logsnr_max", c.logsnr_max);
  f("schedule_shift", c.schedule_shift);
}

}  // namespace

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  visit_plain_fields(*this, [&](const char* key, const auto& value) { j[key] = value; });
  nlohmann::json conds = nlohmann::json::array();
  for (const auto& a : conditions.attributes) conds.push_back({{"name", a.name}, {"values", a.values}});
  j["conditions"] = conds;
  j["transform"] = {{"kind", "anscombe"}, {"count_max", transform.count_max}, {"target", to_string(transform.target)}};
  // Pixel models' configs stay as they were before latent models existed.
  if (latent.enabled()) {
    j["latent"] = {{"channels", latent.channels}, {"factor", latent.factor}, {"scale", latent.scale}};
    if (latent.per_channel()) {  // absent for one scale (and in models made before it)
      j["latent"]["channel_mean"] = latent.channel_mean;
      j["latent"]["channel_std"] = latent.channel_std;
    }
  }
  return j;
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "model config is not a JSON object");
  ModelConfig c;
  std::set<std::string> known = {"conditions", "transform", "latent"};
  visit_plain_fields(c, [&](const char* key, const auto&) { known.insert(key); });
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()))
      throw ConfigError(where, "unknown key '" + it.key() + "' in model config", "remove it or fix its spelling");
  visit_plain_fields(c, [&](const char* key, auto& out) {
    if (!j.contains(key)) return;
    try {
      out = j.at(key).get<std::decay_t<decltype(out)>>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(where, std::string("key '") + key + "' has the wrong type: " + j.at(key).dump(),
                        "see docs/MODEL.md for the config fields");
    }
  });
  if (j.contains("conditions")) {
    c.conditions.attributes.clear();
    try {
      for (const auto& a : j.at("conditions"))
        c.conditions.attributes.push_back(
            {a.at("name").get<std::string>(), a.at("values").get<std::vector<std::string>>()});
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(where, "key 'conditions' is malformed", "expected [{\"name\": ..., \"values\": [...]}, ...]");
    }
  }
  if (j.contains("transform")) {
    const auto& t = j.at("transform");
    if (!t.is_object() || t.value("kind", "anscombe") != "anscombe" || !t.contains("count_max") ||
        !t.at("count_max").is_number())
      throw ConfigError(where, "key 'transform' is malformed",
                        "expected {\"kind\": \"anscombe\", \"count_max\": N, \"target\": \"counts\"}");
    c.transform.count_max = t.at("count_max").get<double>();
    // Models made before the target existed learned counts.
    if (t.contains("target")) {
      if (!t.at("target").is_string())
        throw ConfigError(where, "key 'transform.target' is not a string", "allowed: counts, expected");
      c.transform.target = model_target_from_string(t.at("target").get<std::string>(), where + ": transform.target");
    }
  }
  if (j.contains("latent")) {
    const auto& l = j.at("latent");
    try {
      c.latent.channels = l.at("channels").get<int>();
      c.latent.factor = l.at("factor").get<int>();
      c.latent.scale = l.at("scale").get<double>();
      if (l.contains("channel_mean") || l.contains("channel_std")) {
        c.latent.channel_mean = l.at("channel_mean").get<std::vector<double>>();
        c.latent.channel_std = l.at("channel_std").get<std::vector<double>>();
      }
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(where, "key 'latent' is malformed",
                        "expected {\"channels\": C, \"factor\": F, \"scale\": S} and optionally "
                        "\"channel_mean\": [C values], \"channel_std\": [C values]");
    }
    if (!c.latent.enabled()) throw ConfigError(where, "latent.channels is 0", "remove 'latent' for a pixel model");
  }
  c.validate();
  return c;
}

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"tiny", "cpu", "full"};
  return names;
}

// Schedule shift: 64 / sqrt(H * W), so every preset sees the noise level of a 64 x 64 image at
// the same t (Ref: Hoogeboom et al. 2023, "simple diffusion", shifted cosine schedule).
// count_max: bright-bone counts per pixel at the preset's grid (counts summed over the area a
// pixel covers; 1024 x 256 native scans reach ~200 counts on the spine); refit from the
// training data's 99.5th percentile once the trainer exists.
ModelConfig model_preset(const std::string& name) {
  ModelConfig c;
  c.preset = name;
  if (name == "tiny") {
    // defaults above
    c.transform.count_max = 200.0 * 64;
  } else if (name == "cpu") {
    c.height = 256;
    c.width = 64;
    c.base_channels = 32;
    c.channel_mult = {1, 2, 3, 4};
    c.res_blocks = 2;
    c.attention_levels = {3};
    c.head_channels = 32;
    c.groups = 16;
    c.time_embed_dim = 128;
    c.schedule_shift = 0.5;
    c.transform.count_max = 200.0 * 16;
  } else if (name == "full") {
    c.height = 1024;
    c.width = 256;
    c.base_channels = 128;
    c.channel_mult = {1, 1, 2, 2, 4, 4};
    c.res_blocks = 2;
    c.attention_levels = {4, 5};
    c.head_channels = 64;
    c.groups = 32;
    c.time_embed_dim = 512;
    c.schedule_shift = 0.125;
    c.transform.count_max = 200.0;
  } else {
    throw ConfigError("--preset", "unknown preset '" + name + "'", "allowed presets: tiny, cpu, full");
  }
  return c;
}

}  // namespace scintigen::gen
