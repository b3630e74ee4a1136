#include "gen/generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/random_streams.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/split.h"
#include "core/splitmix.h"
#include "core/version.h"
#include "data/dataset.h"
#include "gen/generate_tensors.h"
#include "gen/model_weights.h"
#include "gen/sampler.h"
#include "gen/trainer.h"
#include "gen/transform.h"
#include "run/run.h"
#include "run/torch.h"

namespace scintigen::gen {

using json = nlohmann::json;

std::vector<MixEntry> read_mix_file(const std::string& path, const ConditionSpec& spec) {
  std::ifstream f(path);
  if (!f) throw InputError(path, "cannot open the mix file");
  std::vector<MixEntry> mix;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (lineno > 100000) throw InputError(path, "has more than 100000 lines", "a mix lists conditions, not scans");
    const std::string where = path + ":" + std::to_string(lineno);
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    std::istringstream is(line.substr(b));
    MixEntry e;
    std::string w;
    is >> w;
    try {
      size_t used = 0;
      e.weight = std::stod(w, &used);
      if (used != w.size()) throw std::invalid_argument(w);
    } catch (const std::exception&) {
      throw InputError(where, "'" + w + "' is not a weight", "write '<weight> <condition>', e.g. '0.3 metastasis=1'");
    }
    if (!(e.weight >= 0) || !std::isfinite(e.weight)) throw InputError(where, "weight must be >= 0 and finite");
    std::getline(is, e.condition);
    const size_t cb = e.condition.find_first_not_of(" \t");
    e.condition = cb == std::string::npos ? "" : e.condition.substr(cb);
    while (!e.condition.empty() && (e.condition.back() == '\r' || e.condition.back() == ' ')) e.condition.pop_back();
    try {
      parse_condition(e.condition, spec, where);
    } catch (const ConfigError& err) {
      throw in_context<InputError>(err, where);
    }
    mix.push_back(e);
  }
  if (mix.empty()) throw InputError(path, "lists no condition", "write one '<weight> <condition>' per line");
  double total = 0;
  for (const auto& e : mix) total += e.weight;
  if (!(total > 0)) throw InputError(path, "all weights are 0");
  return mix;
}

std::vector<int64_t> mix_counts(const std::vector<MixEntry>& mix, int64_t n) {
  std::vector<double> weights;
  for (const auto& e : mix) weights.push_back(e.weight);
  const std::vector<size_t> quotas = largest_remainder_quotas(static_cast<size_t>(n), weights);
  return std::vector<int64_t>(quotas.begin(), quotas.end());
}

void GenerateConfig::validate() const {
  if (n < 1 || n > 10000000) throw ConfigError("--n", std::to_string(n), "must be in 1..10000000");
  if (!condition.empty() && !mix.empty()) throw ConfigError("--mix", "given with --condition", "give one of them");
  if (out.empty()) throw ConfigError("--out", "is empty", "give the output folder");
  if (batch < 1 || batch > 4096) throw ConfigError("--batch", std::to_string(batch), "must be in 1..4096");
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
    throw ConfigError("--shard", fmt::format("{}/{}", shard_index, shard_count), "write i/n with 0 <= i < n");
  if (stop_after < 0) throw ConfigError("--stop-after", std::to_string(stop_after), "must be >= 0 (0 = no stop)");
  run::parse_device_name(device);
  sampler.validate();
}

json GenerateConfig::to_json() const {
  json j = {{"model", model},
            {"n", n},
            {"condition", condition},
            {"mix", mix},
            {"out", out},
            {"sampler", sampler.to_json()},
            {"batch", batch},
            {"shard", fmt::format("{}/{}", shard_index, shard_count)},
            {"fill_labels", fill_labels},
            {"counts", to_string(counts)},
            {"device", device},
            {"threads", threads},
            {"precision", to_string(precision)},
            {"channels_last", channels_last}};
  if (!guide_model.empty()) j["guide_model"] = guide_model;  // runs without one keep their old record
  return j;
}

std::vector<int64_t> guided_columns(const SamplerConfig& sampler, const ConditionSpec& spec, bool autoguided) {
  if (sampler.guidance_on.empty()) return {};
  if (autoguided)
    throw ConfigError("--guidance-on", "cannot be combined with --guide-model",
                      "autoguidance compares two models under the same conditions and drops none; leave one out");
  std::vector<int64_t> columns;
  for (const auto& name : sampler.guidance_on) {
    const int a = spec.index_of(name);
    if (a < 0)
      throw ConfigError("--guidance-on", "'" + name + "' is not a condition of the model",
                        "its conditions: " + spec.names());
    columns.push_back(a);
  }
  return columns;
}

torch::Tensor generate_counts(UNet& net, const ModelConfig& cfg, const SamplerConfig& sampler,
                              const std::vector<ConditionTokens>& tokens, const std::vector<uint64_t>& seeds,
                              const torch::Device& device, bool bf16, bool channels_last, CountOutput mode, UNet* guide,
                              Autoencoder decoder) {
  const int64_t B = static_cast<int64_t>(tokens.size());
  auto cond = condition_tensor(tokens, cfg.conditions).to(device);  // (B, A)
  // One generator per scan: its starting noise, then (SDE sampler) its noise at each step, so
  // that scan k's draws do not depend on the batch it is in.
  std::vector<at::Generator> gens;
  for (int64_t i = 0; i < B; ++i) gens.push_back(at::make_generator<at::CPUGeneratorImpl>(seeds[i]));
  auto per_scan_noise = [&gens, &cfg]() {
    std::vector<torch::Tensor> xs;
    for (auto& g : gens)
      xs.push_back(
          torch::randn({cfg.diffusion_channels(), cfg.diffusion_height(), cfg.diffusion_width()}, g, torch::kFloat));
    return torch::stack(xs);  // (B, C, H, W) of the denoiser's images
  };
  auto x_T = per_scan_noise().to(device);  // (B, 2, H, W)
  NoiseSource noise = [&](const torch::Tensor& like) { return per_scan_noise().to(like.options()); };
  const Schedule s = Schedule::from(cfg);
  const bool cl = channels_last && device.is_cpu();
  auto denoiser = [&](UNet& network) -> Denoise {
    Denoise base = model_denoiser(network, s);
    return [&, base](const torch::Tensor& x, double t, const torch::Tensor& c) {
      AutocastScope ac(bf16, device);
      auto in = cl ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
      return base(in, t, c).to(torch::kFloat).contiguous();
    };
  };
  Denoise d = denoiser(net);
  auto times = sampling_times(sampler.steps, sampler.spacing, s);
  Denoise guided =
      guide ? with_autoguidance(d, denoiser(*guide), sampler.guidance, sampler.guidance_t_lo, sampler.guidance_t_hi)
            : with_guidance(d, sampler.guidance, sampler.guidance_t_lo, sampler.guidance_t_hi,
                            guided_columns(sampler, cfg.conditions, false));
  torch::Tensor x0 = run_sampler(sampler.kind, guided, s, x_T, cond, times, noise);
  mode = resolve_count_output(mode, cfg.transform.target);
  auto counts = diffusion_to_counts(x0, cfg, decoder, mode).contiguous();  // (B, 2, H, W)
  if (mode == CountOutput::kPoisson) draw_poisson_counts(counts, seeds);
  return counts;
}

void draw_poisson_counts(torch::Tensor& counts, const std::vector<uint64_t>& seeds) {
  if (!counts.is_contiguous() || counts.scalar_type() != torch::kFloat || !counts.device().is_cpu() ||
      counts.size(0) != static_cast<int64_t>(seeds.size()))
    throw InternalError("draw_poisson_counts", "needs contiguous float CPU counts with one seed per scan");
  const size_t per_scan = static_cast<size_t>(counts.numel() / std::max<int64_t>(1, counts.size(0)));
  float* p = counts.data_ptr<float>();
  for (size_t i = 0; i < seeds.size(); ++i) {
    Rng rng = stream_rng(seeds[i], RandomStream::kGenCounts);
    poisson_fill(p + i * per_scan, per_scan, rng);
  }
}

Scan scan_from_counts(const torch::Tensor& counts, const ConditionTokens& tokens, const ConditionSpec& spec) {
  auto c = counts.contiguous();
  Scan s = make_scan(static_cast<int>(c.size(1)), static_cast<int>(c.size(2)));
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), s.pixels.begin());
  s.origin = Origin::kSynthetic;
  for (size_t a = 0; a < spec.size(); ++a) {
    if (tokens[a] <= 0) continue;
    const std::string& name = spec.attributes[a].name;
    const std::string& value = spec.attributes[a].values[tokens[a] - 1];
    if (name == "age_band")
      s.meta["age_band"] = value;
    else if (is_label_field(name))
      set_label(s.labels, name, value, "generated condition");
  }
  return s;
}

namespace {

// Training combinations matching the named tokens, with their counts (model.json).
struct JointTable {
  std::vector<ConditionTokens> tokens;
  std::vector<double> counts;
};

JointTable joint_table(const json& info, const ConditionSpec& spec) {
  JointTable t;
  const json joint = info.value("data", json::object()).value("conditions_joint", json::array());
  for (const auto& e : joint) {
    try {
      t.tokens.push_back(parse_condition(e.value("condition", ""), spec, "model.json"));
      t.counts.push_back(e.value("count", 0.0));
    } catch (const ConfigError&) {
    }
  }
  return t;
}

// Fills the unnamed attributes of `named` from the joint table, drawing with `u` in [0, 1).
// Returns false when no training combination matches.
bool fill(ConditionTokens& named, const JointTable& t, double u) {
  double total = 0;
  std::vector<double> w(t.tokens.size(), 0);
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    bool match = true;
    for (size_t a = 0; a < named.size() && match; ++a) match = named[a] == 0 || named[a] == t.tokens[i][a];
    if (match) total += w[i] = t.counts[i];
  }
  if (!(total > 0)) return false;
  double x = u * total;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] <= 0) continue;
    if (x < w[i] || i + 1 == w.size()) {
      named = t.tokens[i];
      return true;
    }
    x -= w[i];
  }
  for (size_t i = w.size(); i-- > 0;)
    if (w[i] > 0) {
      named = t.tokens[i];
      return true;
    }
  return false;
}

// The settings of two generate runs that may differ, because they do not change a scan: paths,
// the model's location (its SHA-256 is compared), threads and the batch size (every draw of
// scan k, its Poisson counts included, comes from seeds of k alone).
std::vector<std::string> may_change_on_resume() {
  return {"out", "model", "model_dir", "guide_model", "threads", "batch"};
}

// The dataset of an interrupted run, checked against this run's settings and opened for
// writing (which drops bytes of an uncommitted batch, dataset.h).
Dataset open_for_resume(const std::string& out, const json& cfg_json, const json& made_by) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(out, ec)) throw InputError(out, "does not exist: nothing to resume", "start without --resume");
  if (!fs::exists(out + "/dataset.json", ec)) {
    // Dataset::create writes dataset.json last: a run killed inside it committed no scan and
    // left only the store's own files, which are removed before starting again.
    std::vector<fs::path> own;
    for (const auto& e : fs::directory_iterator(out, ec)) {
      const std::string name = e.path().filename().string();
      const bool store_file = name == "lock" || name == "images.bin" || name.rfind("manifest.db", 0) == 0 ||
                              name.rfind("dataset.json.tmp-", 0) == 0;
      if (!store_file)
        throw InputError(out,
                         "has no dataset.json and holds '" + name + "': not the output of an interrupted generate run",
                         "give the --out of the run to resume, or start without --resume");
      own.push_back(e.path());
    }
    for (const auto& p : own) fs::remove(p, ec);
    return Dataset::create(out, made_by);
  }
  Dataset ds = Dataset::open(out, true);
  const json& info = ds.info().value("config", json::object());
  if (info.value("command", std::string()) != "generate")
    throw InputError(out + "/dataset.json", "was not made by `scintigen generate`: nothing to resume",
                     "give the --out of an interrupted generate run");
  const json stored = info.value("config", json::object());
  run::refuse_changed_settings(
      out, stored, cfg_json, may_change_on_resume(),
      "resume with the same flags (--batch and --threads may differ), or generate into a new --out");
  return ds;
}

bool has_generate_event(const Dataset& ds) {
  const auto history = ds.history();
  for (size_t i = 1; i < history.size(); ++i)  // [0]: the creation event, also named "generate"
    if (history[i].value("command", std::string()) == "generate") return true;
  return false;
}

}  // namespace

GenerateResult generate_dataset(const GenerateConfig& config, EventSink* events) {
  config.validate();
  if (!config.resume) run::check_new_out_folder(config.out);
  at::set_num_threads(resolve_threads(config.threads));
  const torch::Device device = run::resolve_device(config.device);
  GenerateResult res;
  LoadedModel m = load_model(config.model);
  m.net->to(device);
  if (m.decoder) m.decoder->to(device);
  if (config.channels_last && device.is_cpu()) to_channels_last(*m.net);
  res.model_sha256 = m.ema_sha256;
  std::optional<LoadedModel> guide;
  if (!config.guide_model.empty()) {
    guide = load_guide_model(config.guide_model, m, "--guide-model");
    res.guide_model_sha256 = guide->ema_sha256;
    guide->net->to(device);
    if (config.channels_last && device.is_cpu()) to_channels_last(*guide->net);
  }
  const auto& spec = m.config.conditions;
  guided_columns(config.sampler, spec, guide.has_value());  // errors before any work

  // The request: one condition string per scan k = 0..n-1.
  std::vector<std::string> requested(config.n);
  if (!config.mix.empty()) {
    auto mix = read_mix_file(config.mix, spec);
    auto counts = mix_counts(mix, config.n);
    int64_t k = 0;
    for (size_t i = 0; i < mix.size(); ++i)
      for (int64_t j = 0; j < counts[i]; ++j) requested[k++] = mix[i].condition;
  } else {
    parse_condition(config.condition, spec, "--condition");  // errors before any work
    std::fill(requested.begin(), requested.end(), config.condition);
  }
  // Warn about values the model never saw in training.
  const json label_counts = m.info.value("data", json::object()).value("label_counts", json::object());
  std::set<std::string> distinct(requested.begin(), requested.end());
  for (const auto& c : distinct) {
    auto tok = parse_condition(c, spec, config.mix.empty() ? "--condition" : config.mix);
    for (size_t a = 0; a < spec.size(); ++a) {
      if (!tok[a]) continue;
      const auto& name = spec.attributes[a].name;
      const auto& value = spec.attributes[a].values[tok[a] - 1];
      if (label_counts.contains(name) && label_counts[name].value(value, int64_t{1}) == 0)
        res.warnings.push_back(
            fmt::format("{}={}: no training scan had this value; the model has not learned it", name, value));
    }
  }
  const JointTable joint = joint_table(m.info, spec);

  std::vector<int64_t> indices;  // this shard's k: shard_index, shard_index + count, ...
  for (int64_t k = config.shard_index; k < config.n; k += config.shard_count) indices.push_back(k);
  const CountOutput count_output = resolve_count_output(config.counts, m.config.transform.target);
  json cfg_json = config.to_json();
  cfg_json["counts"] = to_string(count_output);  // what the scans are, auto resolved
  const bool bf16 = use_bf16(config.precision, device.is_cuda());
  cfg_json["precision"] = bf16 ? "bf16" : "fp32";  // what ran, auto resolved
  cfg_json["model_sha256"] = m.ema_sha256;
  cfg_json["model_dir"] = m.dir;
  if (guide) cfg_json["guide_model_sha256"] = guide->ema_sha256;
  if (!config.mix.empty()) cfg_json["mix_sha256"] = sha256_hex(read_file(config.mix, 64 << 20));
  const json made_by = {{"command", "generate"}, {"config", cfg_json}, {"versions", core_versions()}};
  Dataset ds = config.resume ? open_for_resume(config.out, cfg_json, made_by) : Dataset::create(config.out, made_by);

  // What this call generates: the scans of the run the dataset does not hold (all of them
  // for a new run). Committed batches are a prefix of the run's batches, so the remaining
  // scans batch as the uninterrupted run's did.
  std::set<std::string> held;
  for (const auto& r : ds.records()) held.insert(r.id);
  auto scan_id = [](int64_t k) { return fmt::format("g{:07d}", k); };
  std::vector<int64_t> todo;
  for (int64_t k : indices)
    if (!held.count(scan_id(k))) todo.push_back(k);
  res.already_done = indices.size() - todo.size();
  if (config.stop_after > 0) {  // whole batches, as a killed run leaves them
    const int64_t keep = (config.stop_after + config.batch - 1) / config.batch * config.batch;
    if (static_cast<int64_t>(todo.size()) > keep) todo.resize(keep);
  }

  size_t unfilled = 0;
  Progress progress(events, "generate", todo.size());
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t total = static_cast<int64_t>(todo.size());
  for (int64_t i0 = 0; i0 < total; i0 += config.batch) {
    const int64_t i1 = std::min<int64_t>(total, i0 + config.batch);
    std::vector<ConditionTokens> tokens;
    std::vector<uint64_t> seeds;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t k = todo[i];
      auto tok = parse_condition(requested[k], spec, "--condition");
      if (config.fill_labels) {
        const double u =
            static_cast<double>(splitmix64(splitmix64(config.sampler.seed ^ 0xF111ull) ^ k) >> 11) * 0x1.0p-53;
        if (!fill(tok, joint, u)) ++unfilled;
      }
      tokens.push_back(tok);
      seeds.push_back(step_seed(config.sampler.seed, k));
    }
    auto counts = generate_counts(m.net, m.config, config.sampler, tokens, seeds, device, bf16, config.channels_last,
                                  count_output, guide ? &guide->net : nullptr, m.decoder);  // (b, 2, H, W)
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t k = todo[i];
      Scan s = scan_from_counts(counts[i - i0], tokens[i - i0], spec);
      s.id = scan_id(k);
      s.source = "model:" + m.ema_sha256.substr(0, 16) + " seed=" + std::to_string(config.sampler.seed) +
                 " k=" + std::to_string(k);
      s.meta["provenance"] = {{"model_sha256", m.ema_sha256},
                              {"seed", config.sampler.seed},
                              {"index", k},
                              {"sampler", to_string(config.sampler.kind)},
                              {"spacing", to_string(config.sampler.spacing)},
                              {"steps", config.sampler.steps},
                              {"guidance", config.sampler.guidance},
                              {"counts", to_string(count_output)},
                              {"requested", requested[k]},
                              {"generated_as", condition_to_string(tokens[i - i0], spec)}};
      if (!config.sampler.guides_every_step())
        s.meta["provenance"]["guidance_interval"] = {config.sampler.guidance_t_lo, config.sampler.guidance_t_hi};
      if (!config.sampler.guidance_on.empty()) s.meta["provenance"]["guidance_on"] = config.sampler.guidance_on;
      if (guide) s.meta["provenance"]["guide_model_sha256"] = guide->ema_sha256;
      ds.add(s);
    }
    ds.commit();
    progress.advance(static_cast<uint64_t>(i1 - i0));
  }
  progress.finish();
  res.scans = todo.size();
  res.total = res.already_done + res.scans;
  res.complete = res.total == indices.size();
  if (res.complete && (res.scans > 0 || !has_generate_event(ds))) {
    json event = cfg_json;
    if (config.resume) event["resumed_with"] = res.already_done;  // scans the interrupted run had committed
    ds.log_event("generate", event);
    ds.commit();
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.scans_per_s = res.scans / std::max(1e-9, res.seconds);
  res.out = config.out;
  if (unfilled)
    res.warnings.push_back(fmt::format(
        "{} scans: no training scan had the requested combination, so their unnamed attributes stay unlabelled",
        unfilled));
  return res;
}

}  // namespace scintigen::gen
