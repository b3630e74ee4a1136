// `scintigen model info|check|sampler`: describe a model folder; measure whether it obeys its conditions;
// record the sampler settings generate uses for it by default.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <tuple>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "core/fs_util.h"
#include "gen/model_io.h"
#include "gen/obedience.h"
#include "run_guard.h"

namespace scintigen::cli {

namespace {

int cmd_info(int argc, char** argv) {
  CLI::App app("Print a model's card (MODEL_CARD.md) or, with --json, its model.json. Exit status: 0, 2 bad input.\n",
               "scintigen model info");
  std::string model = "builtin";
  bool json_out = false;
  app.add_option("model", model, "model folder, or 'builtin'")->capture_default_str();
  app.add_flag("--json", json_out, "print model.json");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  const gen::ModelFolder m = gen::check_model_folder(model);
  std::printf("%s", json_out ? (m.info.dump(2) + "\n").c_str() : gen::model_card(m.info).c_str());
  return kExitOk;
}

int cmd_check(int argc, char** argv) {
  CLI::App app(
      "Measure whether a model obeys its conditions (docs/MODEL.md, 'Condition obedience'): heart uptake by requested\n"
      "Perugini grade, focal hot spots by metastasis, soft-tissue ratio by tracer, body length by sex; each measure "
      "is\n"
      "computed alike on --reference scans (true labels) and on scans generated per condition, with a pass rule that\n"
      "can fail. A two-group measure is judged only where the reference shows its effect (the reference's AUC CI\n"
      "excludes 0.5); elsewhere it is reported as not judged. Writes a JSON report. Exit status: 0 every judged\n"
      "measure passed, 1 some failed, 2 bad input.\n",
      "scintigen model check");
  gen::ObedienceConfig c;
  std::string out;
  app.add_option("model", c.model, "model folder, or 'builtin'")->capture_default_str();
  app.add_option("--reference", c.reference, "dataset with true labels (e.g. the simulated training data)")->required();
  app.add_option("--n", c.n, "scans generated per condition")->capture_default_str();
  app.add_option("--reference-max", c.reference_max, "at most this many reference scans per group")
      ->capture_default_str();
  std::string sampler = gen::to_string(c.sampling.kind), spacing = gen::to_string(c.sampling.spacing);
  app.add_option("--sampler", sampler, "dpmpp2m | ddim | dpmpp2m-sde, as generate's")->capture_default_str();
  app.add_option("--spacing", spacing, "time steps: quadratic | uniform | logsnr, as generate's")
      ->capture_default_str();
  app.add_option("--steps", c.sampling.steps, "sampler steps")->capture_default_str();
  app.add_option("--guidance", c.sampling.guidance, "classifier-free guidance scale")->capture_default_str();
  std::string interval;
  app.add_option("--guidance-interval", interval, "LO,HI: guide only the steps at times t in [LO, HI], as generate's")
      ->default_str("0.05,0.7");
  std::string guidance_on;
  app.add_option("--guidance-on", guidance_on, "NAME[,NAME...] | all: guide only these conditions, as generate's");
  app.add_option("--guide-model", c.guide_model, "autoguidance's guide model, as generate's");
  app.add_option("--seed", c.seed, "seed")->capture_default_str();
  app.add_option("--batch", c.batch, "scans per network batch")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0 = all cores)")->capture_default_str();
  std::string precision = "auto";
  bool bf16 = false;
  auto* prec_opt = app.add_option("--precision", precision, "auto | fp32 | bf16, as generate's")->capture_default_str();
  app.add_flag("--bf16", bf16, "same as --precision bf16")->excludes(prec_opt);
  app.add_option("--out,-o", out, "write the JSON report here (default: stdout)");
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress lines");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  c.precision = bf16 ? gen::Precision::kBf16 : gen::precision_from_string(precision);
  if (!interval.empty())
    std::tie(c.sampling.guidance_t_lo, c.sampling.guidance_t_hi) = gen::parse_guidance_interval(interval);
  if (app.count("--guidance-on") > 0) c.sampling.guidance_on = gen::parse_guidance_on(guidance_on);
  c.sampling.kind = gen::sampler_from_string(sampler);
  c.sampling.spacing = gen::spacing_from_string(spacing);
  take_model_sampler(app, c.model, c.sampling);
  Console console(quiet);
  gen::ObedienceReport r = gen::check_obedience(c, &console);
  nlohmann::json j = r.to_json();
  j["config"] = c.to_json();
  if (out.empty())
    std::printf("%s\n", j.dump(2).c_str());
  else
    write_file_atomic(out, j.dump(2) + "\n");
  for (const auto& m : r.measures) {
    const std::string v = m["verdict"].get<std::string>();
    std::fprintf(stderr, "%-9s %s\n", m["measure"].get<std::string>().c_str(),
                 v == "fail"         ? "FAIL"
                 : v == "not judged" ? "not judged (the reference does not show it)"
                                     : "pass");
  }
  return r.passed ? kExitOk : kExitPartial;
}

int cmd_sampler(int argc, char** argv) {
  CLI::App app(
      "Record the sampler settings that generate and model check use for a model when their flags are left out\n"
      "(model.json 'sampler', shown on its card; the weights are untouched): generate's defaults with the flags\n"
      "given. Without flags, print the settings the model names; --clear removes them. The shipped model's are the\n"
      "ones its audit chose (docs/experiments/fidelity.md). A distilled model's come from its training and are\n"
      "refused. Exit status: 0, 2 bad input.\n",
      "scintigen model sampler");
  std::string model, sampler, spacing, interval, guidance_on;
  gen::SamplerConfig sc;
  bool clear = false;
  app.add_option("model", model, "model folder, or 'builtin'")->required();
  app.add_option("--sampler", sampler, "dpmpp2m | ddim | dpmpp2m-sde, as generate's");
  app.add_option("--spacing", spacing, "time steps: quadratic | uniform | logsnr, as generate's");
  app.add_option("--steps", sc.steps, "sampler steps");
  app.add_option("--guidance", sc.guidance, "classifier-free guidance scale");
  app.add_option("--guidance-interval", interval, "LO,HI: guide only the steps at times t in [LO, HI], as generate's");
  app.add_option("--guidance-on", guidance_on, "NAME[,NAME...] | all: guide only these conditions, as generate's");
  auto* clear_opt = app.add_flag("--clear", clear, "remove the model's own settings (generate's defaults apply)");
  const char* const kSettings[] = {"--sampler",  "--spacing",           "--steps",
                                   "--guidance", "--guidance-interval", "--guidance-on"};
  for (const char* name : kSettings) clear_opt->excludes(app.get_option(name));
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  bool setting = false;
  for (const char* name : kSettings) setting = setting || app.count(name) > 0;
  auto settings_json = [](const gen::SamplerConfig& c) {  // as model.json records them: no seed
    nlohmann::json j = c.to_json();
    j.erase("seed");
    return j.dump();
  };
  if (!setting && !clear) {
    gen::check_model_folder(model);
    if (const std::optional<gen::SamplerConfig> own = gen::model_sampler(model)) {
      std::printf("%s\n", settings_json(*own).c_str());
    } else {
      std::printf("%s names no sampler settings of its own: generate's defaults apply\n", model.c_str());
    }
    return kExitOk;
  }
  if (!sampler.empty()) sc.kind = gen::sampler_from_string(sampler);
  if (!spacing.empty()) sc.spacing = gen::spacing_from_string(spacing);
  if (!interval.empty()) std::tie(sc.guidance_t_lo, sc.guidance_t_hi) = gen::parse_guidance_interval(interval);
  if (app.count("--guidance-on") > 0) sc.guidance_on = gen::parse_guidance_on(guidance_on);
  gen::record_model_sampler(model, clear ? std::nullopt : std::optional<gen::SamplerConfig>(sc));
  if (clear) {
    std::printf("%s: its own sampler settings removed; generate's defaults apply\n", model.c_str());
  } else {
    std::printf("%s: generate and model check now default to %s\n", model.c_str(), settings_json(sc).c_str());
  }
  return kExitOk;
}

}  // namespace

int cmd_model(int argc, char** argv) {
  static const std::vector<Command> kCommands = {
      {"info", "print a model's card or model.json", cmd_info},
      {"check", "measure whether a model obeys its conditions (JSON report)", cmd_check},
      {"sampler", "record the sampler settings generate uses for a model by default", cmd_sampler},
  };
  return dispatch("scintigen model", "inspect and check generative models", kCommands, argc, argv);
}

}  // namespace scintigen::cli
