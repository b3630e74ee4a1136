#include "gen/train_loop.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/version.h"
#include "data/dataset.h"
#include "gen/autoencoder.h"
#include "gen/distill.h"
#include "gen/distributed.h"
#include "gen/generate_tensors.h"
#include "gen/metrics_log.h"
#include "gen/model_weights.h"
#include "gen/objective.h"
#include "gen/train_data.h"
#include "gen/train_loop_tensors.h"
#include "gen/trainer.h"
#include "run/run.h"
#include "run/torch.h"

namespace scintigen::gen {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The command that run.json records for a training run of the generative model.
constexpr const char* kTrainCommand = "train";

void TrainRunConfig::validate() const {
  if (out.empty()) throw ConfigError("--out", "is empty", "give the model folder to write");
  if (preset.empty() && init_from.empty() && !distill.enabled())
    throw ConfigError("--preset", "is empty", "give tiny, cpu, full or a model config JSON file");
  if (batch < 1 || batch > 65536) throw ConfigError("--batch", std::to_string(batch), "must be in 1..65536");
  if (world < 1 || rank < 0 || rank >= world)
    throw ConfigError("RANK/WORLD_SIZE", fmt::format("{}/{}", rank, world), "need 0 <= RANK < WORLD_SIZE");
  if (batch % world)
    throw ConfigError("--batch", fmt::format("{} is not divisible by the {} ranks", batch, world),
                      "give a global batch that is a multiple of WORLD_SIZE");
  if (train.accum > batch / world)
    throw ConfigError("--accum",
                      fmt::format("{} micro-batches exceed the {} scans per rank", train.accum, batch / world),
                      "use --accum <= batch / ranks");
  if (stop_at < 0) throw ConfigError("--stop-at", std::to_string(stop_at), "must be >= 0");
  if (!(time_limit_min >= 0))
    throw ConfigError("--time-limit", fmt::format("{}", time_limit_min), "must be >= 0 minutes (0 = no limit)");
  if (log_every < 1) throw ConfigError("--log-every", std::to_string(log_every), "must be >= 1");
  if (checkpoint_every < 1) throw ConfigError("--checkpoint-every", std::to_string(checkpoint_every), "must be >= 1");
  if (val_every < 0 || sample_every < 0) throw ConfigError("--val-every/--sample-every", "negative", "must be >= 0");
  if (sample_steps < 1 || sample_steps > 1000)
    throw ConfigError("--sample-steps", std::to_string(sample_steps), "must be in 1..1000");
  if (count_max < 0)
    throw ConfigError("--count-max", std::to_string(count_max), "must be > 0, or 0 to fit it to the data");
  if (!target.empty()) model_target_from_string(target);
  train.validate();
  data.validate();
  distill.validate();
  if (latent_norm != "global" && latent_norm != "channel")
    throw ConfigError("--latent-norm", "'" + latent_norm + "'", "allowed: global, channel");
  if (latent_norm != "global" && autoencoder.empty())
    throw ConfigError("--latent-norm", latent_norm + " without --autoencoder",
                      "leave --latent-norm out: only a latent model's latents are standardised");
  if (!autoencoder.empty() && (!init_from.empty() || distill.enabled()))
    throw ConfigError("--autoencoder", "given with --" + std::string(distill.enabled() ? "distill-from" : "init-from"),
                      "leave --autoencoder out: a model keeps its starting model's latent space");
  if (distill.enabled() && !init_from.empty() && init_from != distill.teacher)
    throw ConfigError("--init-from", "'" + init_from + "' is not the --distill-from teacher '" + distill.teacher + "'",
                      "leave --init-from out: a distilled student starts from its teacher's weights");
  run::parse_device_name(device);
}

json TrainRunConfig::to_json() const {
  json j = {{"data", data.to_json()},
            {"preset", preset},
            {"train", train.to_json()},
            {"batch", batch},
            {"count_max", count_max},
            {"conditions", conditions},
            {"condition_on_site", condition_on_site},
            {"device", device},
            {"world_size", world}};
  if (!init_from.empty()) j["init_from"] = init_from;        // absent for runs from scratch (and runs made before it)
  if (!target.empty()) j["target"] = target;                 // absent when the preset decides (and in older runs)
  if (distill.enabled()) j["distill"] = distill.to_json();   // absent for other runs (and in older runs)
  if (!autoencoder.empty()) j["autoencoder"] = autoencoder;  // absent for pixel models (and in older runs)
  if (latent_norm != "global") j["latent_norm"] = latent_norm;  // absent for one scale (and in older runs)
  return j;
}

ModelConfig resolve_model_config(const TrainRunConfig& c, const std::vector<std::string>& sites) {
  ModelConfig cfg;
  if (c.preset.size() > 5 && c.preset.substr(c.preset.size() - 5) == ".json") {
    json j;
    try {
      j = json::parse(read_file(c.preset, 16 << 20));
    } catch (const json::exception& e) {
      throw InputError(c.preset, std::string("is not valid JSON: ") + e.what());
    }
    cfg = ModelConfig::from_json(j, c.preset);
  } else {
    cfg = model_preset(c.preset);
  }
  ConditionSpec all = default_conditions(c.condition_on_site ? sites : std::vector<std::string>{});
  if (!c.conditions.empty()) {
    ConditionSpec keep;
    for (const auto& name : c.conditions) {
      int a = all.index_of(name);
      if (a < 0) throw ConfigError("--conditions", "unknown attribute '" + name + "'", "allowed: " + all.names());
      keep.attributes.push_back(all.attributes[a]);
    }
    if (c.condition_on_site && keep.index_of("site") < 0) keep.attributes.push_back(all.attributes.back());
    all = keep;
  }
  cfg.conditions = all;
  cfg.transform.count_max = c.count_max;  // 0: fit to the data
  if (!c.target.empty()) cfg.transform.target = model_target_from_string(c.target);
  return cfg;
}

const std::vector<std::string>& sample_grid_conditions() {
  static const std::vector<std::string> c = {"",
                                             "metastasis=0",
                                             "metastasis=1",
                                             "cardiac_grade=0,tracer=DPD",
                                             "cardiac_grade=1,tracer=DPD",
                                             "cardiac_grade=2,tracer=DPD",
                                             "cardiac_grade=3,tracer=DPD",
                                             "tracer=MDP",
                                             "sex=M",
                                             "sex=F"};
  return c;
}

namespace {

// The shared loop of the validation losses: the mean over `set` of loss(x0, cond, k, noise) for
// k = 0..times-1, batch by batch, the noise from a generator seeded by (seed, k, batch start), so
// values are comparable across steps and runs. x0 (b, 2, H, W), cond (b, A), noise like x0.
double mean_validation_loss(
    const ScanSet& set, int batch, const torch::Device& device, int times, uint64_t seed,
    const std::function<double(const torch::Tensor&, const torch::Tensor&, int, const torch::Tensor&)>& loss) {
  double total = 0;
  int64_t count = 0;
  for (int64_t b0 = 0; b0 < set.size(); b0 += batch) {
    const int64_t b1 = std::min<int64_t>(set.size(), b0 + batch);
    auto x0 = set.x.slice(0, b0, b1).to(device);
    auto cond = set.cond.slice(0, b0, b1).to(device);
    for (int k = 0; k < times; ++k) {
      auto g = at::make_generator<at::CPUGeneratorImpl>(seed + 1000003ull * k + static_cast<uint64_t>(b0));
      auto noise = torch::randn(x0.sizes(), g, torch::kFloat).to(device);
      total += loss(x0, cond, k, noise) * (b1 - b0);
      count += b1 - b0;
    }
  }
  return total / count;
}

}  // namespace

double validation_loss(UNet& net, const ModelConfig& cfg, const ScanSet& set, int batch, const torch::Device& device,
                       bool bf16) {
  if (set.size() == 0) return -1;
  torch::NoGradGuard no_grad;
  net->eval();
  const Schedule s = Schedule::from(cfg);
  constexpr int kTimes = 8;
  return mean_validation_loss(
      set, batch, device, kTimes, 0x5A1DA7Eull,
      [&](const torch::Tensor& x0, const torch::Tensor& cond, int k, const torch::Tensor& noise) {
        auto t = torch::full({x0.size(0)}, (k + 0.5) / kTimes, torch::kFloat).to(device);
        AutocastScope ac(bf16, device);
        return v_loss(net, s, x0, cond, t, noise).item<double>();
      });
}

double distill_validation_loss(UNet& net, const Denoise& teacher, const ModelConfig& cfg, const DistillConfig& dc,
                               const ScanSet& set, int batch, const torch::Device& device, bool bf16) {
  if (set.size() == 0) return -1;
  torch::NoGradGuard no_grad;
  net->eval();
  const Schedule s = Schedule::from(cfg);
  return mean_validation_loss(
      set, batch, device, dc.steps, 0xD157111ull,
      [&](const torch::Tensor& x0, const torch::Tensor& cond, int k, const torch::Tensor& noise) {
        auto u = torch::full({x0.size(0)}, (k + 0.5) / dc.steps, torch::kDouble);  // step k
        AutocastScope ac(bf16, device);
        DistillPairs p = distill_pairs(teacher, s, dc, x0, cond, u, noise);
        return v_loss_toward(net, p.z, cond, p.t, p.v).item<double>();
      });
}

namespace {

void write_sample_grid(UNet& ema, const ModelConfig& cfg, const TrainRunConfig& c, const TrainCallbacks& cb,
                       const torch::Device& device, int64_t step, Autoencoder decoder) {
  // A distilled student samples as it was taught; any other model with the grids' usual settings.
  SamplerConfig sc;
  if (c.distill.enabled()) {
    sc = c.distill.student_sampler();
  } else {
    sc.steps = c.sample_steps;
    sc.guidance = 2.0;
  }
  if (!cb.write_sheet) return;
  std::vector<ConditionTokens> tokens;
  std::vector<std::string> captions;
  std::vector<uint64_t> seeds;
  for (const auto& text : sample_grid_conditions()) {
    try {
      tokens.push_back(parse_condition(text, cfg.conditions, "sample grid"));
    } catch (const ConfigError&) {
      continue;  // an attribute this model does not condition on
    }
    captions.push_back(text.empty() ? "unconditional" : text);
    seeds.push_back(1000 + seeds.size());
  }
  auto counts =
      generate_counts(ema, cfg, sc, tokens, seeds, device, c.train.bf16, false, CountOutput::kAuto, nullptr, decoder);
  std::vector<Scan> scans;
  for (size_t i = 0; i < tokens.size(); ++i) scans.push_back(scan_from_counts(counts[i], tokens[i], cfg.conditions));
  fs::create_directories(c.out + "/samples");
  cb.write_sheet(scans, captions, fmt::format("{}/samples/step_{:06d}.png", c.out, step));
}

// The starting model's config for a fine-tuning run, checked against the flags that would
// otherwise choose it: --preset (architecture and grid), --conditions, --condition-on-site,
// --count-max must agree with the model or be left out.
ModelConfig init_model_config(const TrainRunConfig& c, const LoadedModel& base) {
  const std::string what = "the --init-from model " + c.init_from;
  ModelConfig cfg = base.config;
  if (!c.preset.empty()) {
    ModelConfig p = resolve_model_config(c, {});
    json a = base.config.to_json(), b = p.to_json();
    for (json* j : {&a, &b})
      for (const char* k : {"preset", "conditions", "transform"}) j->erase(k);
    std::vector<std::string> diffs;
    for (const auto& d : run::diff_settings(a, b, {}, "model_config."))
      diffs.push_back(fmt::format("{}: {} -> {}", d.field, d.before ? d.before->dump() : "(none)",
                                  d.after ? d.after->dump() : "(none)"));
    if (!diffs.empty())
      throw ConfigError("--preset",
                        fmt::format("'{}' is another architecture than {}: {}", c.preset, what, fmt::join(diffs, "; ")),
                        "leave --preset out: a fine-tuned model keeps its starting model's architecture and grid");
  }
  std::vector<std::string> names;
  for (const auto& attr : cfg.conditions.attributes) names.push_back(attr.name);
  if (!c.conditions.empty() && c.conditions != names)
    throw ConfigError("--conditions",
                      fmt::format("{} differs from the conditions of {} ({})", fmt::join(c.conditions, ","), what,
                                  fmt::join(names, ",")),
                      "leave --conditions out: a fine-tuned model keeps its starting model's conditions");
  if (c.condition_on_site && cfg.conditions.index_of("site") < 0)
    throw ConfigError("--condition-on-site", what + " does not condition on site",
                      "leave --condition-on-site out, or train from scratch");
  if (c.count_max > 0 && c.count_max != cfg.transform.count_max)
    throw ConfigError("--count-max",
                      fmt::format("{} differs from the count_max {} of {}", c.count_max, cfg.transform.count_max, what),
                      "leave --count-max out: the weights are trained for their model's intensity transform");
  if (!c.target.empty() && model_target_from_string(c.target) != cfg.transform.target)
    throw ConfigError(
        "--target", fmt::format("{} differs from the target {} of {}", c.target, to_string(cfg.transform.target), what),
        "leave --target out: a fine-tuned model keeps what its starting model generates");
  return cfg;
}

// A latent model's config from its autoencoder: the autoencoder's grid (the preset's must be
// it), count_max (--count-max, if given, must be it), latent channels, factor and scale (and
// with --latent-norm channel the per-channel means and stds), and the expected-count target (the
// decoder gives expectations; generate draws the Poisson counts).
void apply_autoencoder(const TrainRunConfig& c, const LoadedAutoencoder& ae, ModelConfig& cfg) {
  const AutoencoderConfig& a = ae.config;
  if (cfg.height != a.height || cfg.width != a.width)
    throw ConfigError("--preset",
                      fmt::format("'{}' is a {} x {} (W x H) model, the autoencoder {} a {} x {} one", c.preset,
                                  cfg.width, cfg.height, c.autoencoder, a.width, a.height),
                      "use a preset or config file of the autoencoder's grid");
  if (c.count_max > 0 && c.count_max != a.transform.count_max)
    throw ConfigError("--count-max",
                      fmt::format("{} differs from the count_max {} of the autoencoder {}", c.count_max,
                                  a.transform.count_max, c.autoencoder),
                      "leave --count-max out: a latent model encodes the scans as its autoencoder does");
  if (!c.target.empty() && model_target_from_string(c.target) != ModelTarget::kExpected)
    throw ConfigError("--target", c.target + " with --autoencoder",
                      "leave --target out: a latent model's decoder gives expected counts");
  const double rms = ae.info.value("latent", json::object()).value("rms", 0.0);
  if (!(rms > 0))
    throw InputError(ae.dir + "/autoencoder.json", "records no latent statistics (latent.rms)",
                     "train the autoencoder again with this scintigen");
  cfg.transform.count_max = a.transform.count_max;
  cfg.transform.target = ModelTarget::kExpected;
  cfg.latent = {a.latent_channels, a.factor(), rms, {}, {}};
  if (c.latent_norm == "channel") {
    LatentChannelStatistics s = recorded_latent_statistics(ae, "use --latent-norm global");
    cfg.latent.channel_mean = std::move(s.mean);
    cfg.latent.channel_std = std::move(s.std);
    for (double s : cfg.latent.channel_std)
      if (!(s > 0) || !std::isfinite(s))
        throw InputError(ae.dir + "/autoencoder.json",
                         fmt::format("a latent channel's std is {} (a channel the encoder never varies)", s),
                         "use --latent-norm global");
  }
}

// Every label of the training scans (both views, not split "test") that a conditioned
// attribute has must be in the starting model's vocabulary: an unknown value would silently
// become "unknown" (condition_from_labels), so the error names the attribute and value.
void check_vocabulary_covers(const DataConfig& dc, const ConditionSpec& spec, const std::string& model) {
  for (const auto& dir : dc.datasets) {
    for (const auto& r : Dataset::open(dir).records()) {
      if (r.split == "test" || r.views != ViewSet::kBoth) continue;
      for (const auto& attr : spec.attributes) {
        if (attr.name == "age_band") continue;  // every age has a band
        const std::string v = label_value(r.labels, attr.name);
        if (v.empty() || (attr.name == "sex" && v == "O")) continue;  // O: unknown by design (docs/MODEL.md)
        if (std::find(attr.values.begin(), attr.values.end(), v) == attr.values.end())
          throw InputError(dir,
                           fmt::format("scan {} has {}={}, a value the --init-from model {} does not know (its {} "
                                       "values: {})",
                                       r.id, attr.name, v, model, attr.name, fmt::join(attr.values, ", ")),
                           "fine-tune on scans whose labels the model knows, or train a new model from scratch");
      }
    }
  }
}

// What run.json and model.json record about the starting model of a fine-tuning run.
json init_from_record(const TrainRunConfig& c, const LoadedModel& base) {
  return {{"model", c.init_from},
          {"dir", base.dir},
          {"name", base.info.value("name", std::string())},
          {"ema_sha256", base.ema_sha256},
          {"steps_done", base.info.value("training", json::object()).value("steps_done", int64_t{0})}};
}

// What the loop needs from the ranks (distributed.h); empty for a single process.
struct RankHooks {
  GradReducer reducer;
  std::function<double(double)> mean_over_ranks;  // for the logged loss (identity when unset)
};

TrainRunResult train(const TrainRunConfig& config, const TrainCallbacks& cb, EventSink* sink, const RankHooks& hooks) {
  config.validate();
  TrainRunConfig c = config;                                 // a resume may take the warm-up from its run
  if (c.distill.enabled()) c.init_from = c.distill.teacher;  // the student starts from its teacher
  at::set_num_threads(resolve_threads(c.threads));
  const torch::Device device = run::resolve_device(c.device);
  const bool writer = c.rank == 0;
  EventSink* events = writer ? sink : nullptr;  // one voice: rank 0's
  TrainRunResult res;
  res.out = c.out;
  res.rank = c.rank;

  // The output folder: new (absent or empty), or a run to resume (every rank reads run.json:
  // ranks share a file system when resuming).
  json previous;  // run.json of the run being resumed
  std::optional<run::Checkpoint> checkpoint;
  if (c.resume) {
    previous = run::read_run_record(c.out, kTrainCommand);
    const json& stored = previous["config"];
    if (c.warmup_from_run && stored.contains("train"))
      c.train.warmup_steps = stored["train"].value("warmup_steps", c.train.warmup_steps);
    // train.steps may change: extension (checked against the steps done below).
    run::refuse_changed_settings(c.out, stored, c.to_json(), {"train.steps"},
                                 "resume with the run's own flags (only --steps may change), or start a new --out");
    c.train.validate();  // the run's warm-up against the new steps
    const std::optional<int64_t> finished = run::finished_steps(c.out, "model.json", c.train.steps);
    if (finished && *finished == c.train.steps) {
      res.already_finished = true;
      res.finished = true;
      res.steps_done = res.start_step = *finished;
      return res;
    }
    checkpoint = run::find_checkpoint(c.out);
    if (finished && !checkpoint)
      throw InputError(c.out + "/" + run::kCheckpointDir,
                       "is missing, so the finished run cannot be extended (it holds the optimiser state)",
                       "fine-tune from its weights instead: train --init-from " + c.out + " --out NEW");
  } else if (writer) {
    run::check_new_out_folder(c.out);
  }

  // Fine-tuning: the starting model fixes the model config.
  std::optional<LoadedModel> base;
  json init_record;
  if (!c.init_from.empty()) {
    base = load_model(c.init_from);
    init_record = init_from_record(c, *base);
    if (c.resume && previous.contains("init_from") &&
        previous["init_from"].value("ema_sha256", std::string()) != base->ema_sha256)
      throw ConfigError(
          "--init-from",
          fmt::format("{} is not the model the run started from (ema.pt SHA-256 {:.16} -> {:.16})", c.init_from,
                      previous["init_from"].value("ema_sha256", std::string()), base->ema_sha256),
          "resume with the starting model unchanged, or start a new --out");
  }

  // Sites (for site conditioning) come from the datasets.
  std::vector<std::string> sites;
  if (c.condition_on_site && !base) {
    std::set<std::string> s;
    for (const auto& d : c.data.datasets)
      for (const auto& r : Dataset::open(d).records())
        if (!r.labels.site.empty()) s.insert(r.labels.site);
    sites.assign(s.begin(), s.end());
    if (sites.empty())
      throw InputError(c.data.datasets.front(), "no scan carries a site label, so the model cannot condition on site",
                       "drop --condition-on-site");
  }
  Denoise teacher;
  if (c.distill.enabled()) {
    if (base->info.contains("distilled"))
      throw InputError(base->dir + "/model.json",
                       "is a distilled model, whose own sampler is DDIM on its few steps: it cannot teach",
                       "distil from the model it was distilled from (more --distill-substeps for fewer steps)");
    base->net->to(device);
    teacher = with_guidance(model_denoiser(base->net, Schedule::from(base->config)), c.distill.guidance,
                            c.distill.guidance_t_lo, c.distill.guidance_t_hi);
  }
  ModelConfig cfg = base ? init_model_config(c, *base) : resolve_model_config(c, sites);
  if (base) check_vocabulary_covers(c.data, cfg.conditions, c.init_from);
  // Latent diffusion: the autoencoder named, or the starting model's.
  Autoencoder autoencoder{nullptr};
  json autoencoder_record;
  if (!c.autoencoder.empty()) {
    LoadedAutoencoder la = load_autoencoder(c.autoencoder);
    apply_autoencoder(c, la, cfg);
    autoencoder = la.net;
    autoencoder_record = {{"dir", c.autoencoder},
                          {"name", la.info.value("name", std::string())},
                          {"sha256", la.sha256},
                          {"latent", la.info.value("latent", json::object())}};
    if (c.resume && previous.contains("autoencoder") &&
        previous["autoencoder"].value("sha256", std::string()) != la.sha256)
      throw ConfigError("--autoencoder",
                        fmt::format("{} is not the autoencoder the run started with (ema.pt SHA-256 {:.16} -> {:.16})",
                                    c.autoencoder, previous["autoencoder"].value("sha256", std::string()), la.sha256),
                        "resume with the autoencoder unchanged, or start a new --out");
  } else if (base && base->decoder) {
    autoencoder = base->decoder;
    autoencoder_record = base->info.value("autoencoder", json::object());
    autoencoder_record.erase("config");  // write_model_folder adds the config of what it writes
  }
  TrainingData data = load_training_data(c.data, cfg, events);
  cfg.validate();
  if (autoencoder) {  // the U-Net learns the scans' latents
    autoencoder->to(device);
    note(events, fmt::format("encoding {} scans into {} x {} x {} latents", data.train.size() + data.val.size(),
                             cfg.latent.channels, cfg.diffusion_height(), cfg.diffusion_width()));
    data.train.x = to_diffusion_space(data.train.x.to(device), cfg, autoencoder).cpu();
    if (data.val.size()) data.val.x = to_diffusion_space(data.val.x.to(device), cfg, autoencoder).cpu();
  }
  if (c.resume && previous.contains("model_config"))
    run::refuse_changed_settings(c.out, previous["model_config"], cfg.to_json(), {},
                                 "resume with the same data and model config", "model_config.");
  if (writer && !c.resume) {
    run::create_out_folder(c.out);
    json record = run::make_run_record(kTrainCommand, c.to_json());
    record["model_config"] = cfg.to_json();
    record["io"] = {{"log_every", c.log_every},
                    {"checkpoint_every", c.checkpoint_every},
                    {"val_every", c.val_every},
                    {"sample_every", c.sample_every},
                    {"threads", c.threads}};
    if (base) record["init_from"] = init_record;
    if (!c.autoencoder.empty()) record["autoencoder"] = autoencoder_record;
    run::write_run_record(c.out, record);
  }

  Trainer trainer(cfg, c.train, device);
  trainer.set_grad_reducer(hooks.reducer);
  res.train_scans = static_cast<size_t>(data.train.size());
  if (data.summary.contains("oversample")) {
    const json& o = data.summary["oversample"];
    note(events, fmt::format("oversampling {} x{}: {} of {} training scans, an epoch of {}",
                             o["condition"].get<std::string>(), o["factor"].get<int64_t>(),
                             o["matching_scans"].get<int64_t>(), data.train.size(), o["epoch_scans"].get<size_t>()));
  }
  res.val_scans = static_cast<size_t>(data.val.size());
  if (teacher)
    note(events, fmt::format("distilling {} into {} DDIM steps: {} of its DPM-Solver++(2M) steps each, guidance {} at "
                             "t in [{}, {}], {} spacing",
                             c.distill.teacher, c.distill.steps, c.distill.substeps, c.distill.guidance,
                             c.distill.guidance_t_lo, c.distill.guidance_t_hi, to_string(c.distill.spacing)));
  if (checkpoint) {
    torch::serialize::InputArchive archive;
    run::load_checkpoint(*checkpoint, archive);
    trainer.load(archive, checkpoint->tensors);
    res.start_step = trainer.steps_done();
    run::check_checkpoint_within(res.start_step, c.train.steps, c.out);
    note(events, fmt::format("resuming {} at step {} of {}", c.out, res.start_step, c.train.steps));
  } else if (base) {
    trainer.init_weights(base->net, base->dir + "/ema.pt");
  }
  // A resume with new total steps: record where the schedule changed.
  const int64_t previous_steps = c.resume ? run::recorded_steps(previous, c.train.steps) : c.train.steps;
  if (previous_steps != c.train.steps) {
    res.extended_from = previous_steps;
    if (writer) {
      run::record_steps_change(previous, c.to_json(), res.start_step, previous_steps, c.train.steps);
      run::write_run_record(c.out, previous);
    }
  }
  const int64_t total = c.train.steps;
  const int64_t end = c.stop_at > 0 ? std::min(total, c.stop_at) : total;
  MetricsLog metrics(c.out + "/metrics.jsonl", res.start_step, writer);

  auto save_checkpoint = [&] {
    if (!writer) return;
    torch::serialize::OutputArchive archive;
    trainer.save(archive);  // weights, EMA, AdamW state, step
    run::save_checkpoint(c.out, archive, {{"step", trainer.steps_done()}});
  };

  const int64_t b = c.batch / c.world;
  const int64_t A = static_cast<int64_t>(cfg.conditions.size());
  const Schedule schedule = Schedule::from(cfg);
  const int step_width = static_cast<int>(std::to_string(total).size());
  run::StepClock clock;
  double loss_acc = 0;
  int64_t loss_n = 0, images_since_log = 0;
  double val_loss = -1;
  for (int64_t step = trainer.steps_done(); step < end; ++step) {
    auto idx_all = training_batch(data, c.train.seed, step, c.batch);
    std::vector<int64_t> idx(idx_all.begin() + c.rank * b, idx_all.begin() + (c.rank + 1) * b);
    auto it = torch::tensor(idx, torch::kLong);
    auto x0 = data.train.x.index_select(0, it);       // (b, 2, H, W)
    auto cond = data.train.cond.index_select(0, it);  // (b, A)
    // The global batch's random draws, then this rank's rows: every world size draws alike.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(step_seed(c.train.seed, step));
    auto keep = torch::rand({c.batch, A}, gen, torch::kFloat) >= c.train.cond_drop_prob;
    auto t = torch::rand({c.batch}, gen, torch::kFloat);
    auto noise = torch::randn({c.batch, cfg.diffusion_channels(), cfg.diffusion_height(), cfg.diffusion_width()}, gen,
                              torch::kFloat);
    const int64_t r0 = c.rank * b, r1 = r0 + b;
    auto cond_d = cond * keep.slice(0, r0, r1).to(torch::kLong);
    double loss = 0;
    if (teacher) {  // the uniform draw t picks each row's student step
      DistillPairs p;
      {
        AutocastScope ac(c.train.bf16, device);
        p = distill_pairs(teacher, schedule, c.distill, x0.to(device), cond_d.to(device), t.slice(0, r0, r1),
                          noise.slice(0, r0, r1).to(device));
      }
      loss = trainer.step_toward(p.z, cond_d, p.t, p.v);
    } else {
      loss = trainer.step(x0, cond_d, t.slice(0, r0, r1), noise.slice(0, r0, r1));
    }
    if (hooks.mean_over_ranks) loss = hooks.mean_over_ranks(loss);
    loss_acc += loss;
    ++loss_n;
    images_since_log += c.batch;
    const int64_t done = step + 1;
    bool out_of_time = false;  // read at log points only, where every rank is; the ranks agree on it
    if (done % c.log_every == 0 || done == end) {
      const run::StepClock::Tick tick = clock.tick(images_since_log, (end - done) * c.batch);
      if (c.time_limit_min > 0 && done < end) {
        double over = tick.elapsed_s >= c.time_limit_min * 60 ? 1.0 : 0.0;
        if (hooks.mean_over_ranks) over = hooks.mean_over_ranks(over);
        out_of_time = over > 0;
      }
      res.final_loss = loss_acc / loss_n;
      metrics.write({{"step", done},
                     {"loss", res.final_loss},
                     {"lr", trainer.last_lr()},
                     {"grad_norm", trainer.last_grad_norm()},
                     {"images_per_s", tick.images_per_s},
                     {"elapsed_s", tick.elapsed_s},
                     {"eta_s", tick.eta_s}});
      note(events, fmt::format("train {:>{}}/{}  loss {:.4f}  lr {:.2e}  {}", done, step_width, total, res.final_loss,
                               trainer.last_lr(), tick.describe()));
      loss_acc = 0;
      loss_n = 0;
      images_since_log = 0;
    }
    if (c.val_every > 0 && done % c.val_every == 0 && done != total && writer) {
      val_loss =
          teacher ? distill_validation_loss(trainer.ema(), teacher, cfg, c.distill, data.val, b, device, c.train.bf16)
                  : validation_loss(trainer.ema(), cfg, data.val, b, device, c.train.bf16);
      if (val_loss >= 0) {
        metrics.write({{"step", done}, {"val_loss", val_loss}});
        note(events, fmt::format("validation loss ({}EMA) at step {}: {:.4f}", teacher ? "distillation, " : "", done,
                                 val_loss));
      }
    }
    if (c.sample_every > 0 && done % c.sample_every == 0 && done != total && writer)
      write_sample_grid(trainer.ema(), cfg, c, cb, device, done, autoencoder);
    if (done % c.checkpoint_every == 0 || done == end || out_of_time) save_checkpoint();
    if (out_of_time) {
      res.stopped_by_time_limit = true;
      note(events, fmt::format("time limit of {} min reached at step {}: checkpointed", c.time_limit_min, done));
      break;
    }
  }
  const double secs = clock.elapsed_s();
  res.steps_done = trainer.steps_done();
  res.images_per_s = (res.steps_done - res.start_step) * static_cast<double>(c.batch) / std::max(1e-9, secs);
  res.finished = res.steps_done >= total;
  if (!res.finished || !writer) return res;

  res.final_val_loss =
      teacher ? distill_validation_loss(trainer.ema(), teacher, cfg, c.distill, data.val, b, device, c.train.bf16)
              : validation_loss(trainer.ema(), cfg, data.val, b, device, c.train.bf16);
  if (res.final_val_loss >= 0) metrics.write({{"step", res.steps_done}, {"val_loss", res.final_val_loss}});
  write_sample_grid(trainer.ema(), cfg, c, cb, device, res.steps_done, autoencoder);
  json info = {{"name", fs::path(c.out).filename().string()},
               {"created", utc_now_iso8601()},
               {"run", c.to_json()},
               {"train_config", c.train.to_json()},
               {"data", data.summary},
               {"training",
                {{"steps_done", res.steps_done},
                 {"batch", c.batch},
                 {"final_loss", res.final_loss},
                 {"final_val_loss", res.final_val_loss >= 0 ? json(res.final_val_loss) : json()},
                 {"seconds", secs},
                 {"images_per_s", res.images_per_s},
                 {"device", device.str()},
                 {"world_size", c.world},
                 {"resumed_from_step", res.start_step}}},
               {"versions", core_versions()}};
  if (c.resume && previous.contains("steps_changes")) info["training"]["steps_changes"] = previous["steps_changes"];
  if (base) info["init_from"] = init_record;
  if (teacher) {
    info["distilled"] = c.distill.to_json();
    info["distilled"]["teacher_model"] = init_record;
    nlohmann::json sampler = c.distill.student_sampler().to_json();
    sampler.erase("seed");
    info["sampler"] = sampler;  // generate's and model check's defaults for this model
  }
  if (autoencoder) {
    info["autoencoder"] = autoencoder_record;
    autoencoder->to(torch::kCPU);
  }
  // checkpoint/ stays: it holds the optimiser state that a later --resume --steps LARGER continues from.
  write_model_folder(c.out, trainer.ema(), trainer.model(), cfg, info, autoencoder);
  return res;
}

}  // namespace

TrainRunResult run_training(const TrainRunConfig& config, const TrainCallbacks& cb, EventSink* events) {
  if (config.world != 1 || config.rank != 0)
    throw ConfigError("RANK/WORLD_SIZE", fmt::format("{}/{}", config.rank, config.world),
                      "run_training trains one process; ranks train through run_training_from_environment");
  return train(config, cb, events, {});
}

TrainRunResult run_training_from_environment(const TrainRunConfig& config, const TrainCallbacks& cb,
                                             EventSink* events) {
  TrainRunConfig c = config;
  c.rank = 0;
  c.world = 1;
  const torch::Device device = run::resolve_device(c.device);
  std::unique_ptr<Distributed> dist = Distributed::from_environment(device);
  if (!dist) return train(c, cb, events, {});
  c.rank = dist->rank();
  c.world = dist->world_size();
  RankHooks hooks;
  hooks.reducer = dist->reducer();
  Distributed* d = dist.get();
  hooks.mean_over_ranks = [d, device](double v) {
    auto t = torch::tensor({v}, torch::kDouble).to(device);
    d->all_reduce_sum(t);
    return t.cpu().item<double>() / d->world_size();
  };
  return train(c, cb, events, hooks);
}

}  // namespace scintigen::gen
