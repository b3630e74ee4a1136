#include "audit/encoder.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "audit/image_stats.h"
#include "audit/linear.h"
#include "audit/scan_sets.h"
#include "clf/model.h"
#include "clf/train.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/resample.h"
#include "core/sha256.h"
#include "core/version.h"
#include "run/run.h"
#include "run/torch.h"
#include "stats/json.h"
#include "stats/roc.h"

namespace scintigen::audit {

namespace fs = std::filesystem;

namespace {

struct Member {
  const char* task;    // clf task name
  const char* folder;  // sub-folder of the encoder
};
constexpr Member kMembers[] = {{"metastasis", "metastasis"}, {"cardiac", "cardiac"}};

// The feature map's identity: SHA-256 of its canonical JSON (sorted keys, nlohmann's dump).
std::string feature_map_sha256(const nlohmann::json& map) {
  return sha256_hex(map.dump());
}

std::string card(const nlohmann::json& info) {
  std::string s = "# Audit encoder\n\n";
  s += fmt::format("Identity (SHA-256 of the feature map): `{}`\n\n", info["sha256"].get<std::string>());
  s += fmt::format(
      "Supervised on real scans of `{}`: one classifier per task (src/clf), their penultimate embeddings "
      "concatenated ({} values per scan) and standardised by the training scans' mean and sd.\n\n",
      info["config"]["data"].get<std::string>(), info["feature_map"]["dim"].get<size_t>());
  s += "## Linear probes on held-out real scans\n\n| label | AUC | 95% CI | positives | negatives "
       "|\n|---|---|---|---|---|\n";
  for (const auto& [name, probe] : info["probes"].items()) {
    if (probe.contains("error")) {
      s += fmt::format("| {} | not computed: {} | | | |\n", name, probe["error"].get<std::string>());
      continue;
    }
    const auto& ci = probe["ci"];
    s += fmt::format("| {} | {:.3f} | {:.3f}-{:.3f} | {} | {} |\n", name, probe["estimate"].get<double>(),
                     ci.is_null() ? NAN : ci["lower"].get<double>(), ci.is_null() ? NAN : ci["upper"].get<double>(),
                     probe["positives"].get<size_t>(), probe["negatives"].get<size_t>());
  }
  s += "\n## What the features capture, and what they may miss\n\nThe networks were trained to see metastases and "
       "cardiac uptake, with augmentations (Poisson resampling, shifts, count scaling) that teach them to ignore "
       "counting noise, small shifts and dose. Differences a generator makes in exactly those respects (noise "
       "texture, total counts) are therefore weak in this space; the audit's image statistics and pixel-space "
       "measures cover them (docs/AUDIT.md).\n";
  return s;
}

}  // namespace

// ---- Encoder ----------------------------------------------------------------------------------

struct Encoder::Impl {
  std::string dir, sha256;
  nlohmann::json info;
  std::vector<clf::LoadedClassifier> members;
  std::vector<double> mean, sd;  // of the raw embeddings (embed_dim)
  std::vector<double> pca;       // components x embed_dim: principal axes scaled by 1 / sqrt(eigenvalue)
  size_t components = 0, embed_dim = 0;
  std::vector<double> stat_mean, stat_sd;  // of the image statistics
  int height = 0, width = 0;
  size_t dim = 0;
  torch::Device device{torch::kCPU};
};

Encoder::Encoder() = default;
Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;
Encoder::~Encoder() = default;
const std::string& Encoder::dir() const {
  return impl_->dir;
}
const std::string& Encoder::sha256() const {
  return impl_->sha256;
}
const nlohmann::json& Encoder::info() const {
  return impl_->info;
}
size_t Encoder::dim() const {
  return impl_->dim;
}
int Encoder::height() const {
  return impl_->height;
}
int Encoder::width() const {
  return impl_->width;
}

namespace {

// Raw (unstandardised) embeddings of the scans by the loaded classifiers.
Features raw_embeddings(const std::vector<clf::LoadedClassifier>& members, int height, int width,
                        const torch::Device& device, const std::vector<Scan>& scans, int batch, EventSink* events,
                        const std::string& task) {
  size_t dim = 0;
  for (const auto& m : members) dim += static_cast<size_t>(m.net->config().embedding_dim());
  Features out(scans.size(), dim);
  Progress progress(events, task, scans.size());
  torch::NoGradGuard no_grad;
  std::vector<clf::ClassifierNet> nets;  // holders share the modules; embed() is not const
  for (const auto& m : members) nets.push_back(m.net), nets.back()->eval();
  const size_t per_scan = 2 * static_cast<size_t>(height) * width;
  std::vector<float> buf;
  for (size_t i = 0; i < scans.size(); i += static_cast<size_t>(batch)) {
    const size_t b = std::min<size_t>(static_cast<size_t>(batch), scans.size() - i);
    buf.assign(b * per_scan, 0.f);
    for (size_t k = 0; k < b; ++k) {
      const std::vector<float> g = scan_to_grid(scans[i + k], height, width);
      std::copy(g.begin(), g.end(), buf.begin() + static_cast<std::ptrdiff_t>(k * per_scan));
    }
    auto x = torch::from_blob(buf.data(), {static_cast<int64_t>(b), 2, height, width}, torch::kFloat32).to(device);
    size_t col = 0;
    for (auto& net : nets) {
      auto e = net->embed(x).to(torch::kCPU).to(torch::kFloat64).contiguous();  // (b, D)
      const int64_t d = e.size(1);
      const double* p = e.data_ptr<double>();
      for (size_t k = 0; k < b; ++k)
        for (int64_t j = 0; j < d; ++j) out.at(i + k, col + static_cast<size_t>(j)) = p[k * d + j];
      col += static_cast<size_t>(d);
    }
    progress.advance(b);
  }
  progress.finish();
  return out;
}

void standardise(Features& f, const std::vector<double>& mean, const std::vector<double>& sd) {
  for (size_t i = 0; i < f.n; ++i)
    for (size_t j = 0; j < f.d; ++j) f.at(i, j) = (f.at(i, j) - mean[j]) / sd[j];
}

// Column means and sample sds (a constant column gets sd 1, so it passes through centred).
void column_moments(const Features& f, std::vector<double>& mean, std::vector<double>& sd) {
  mean.assign(f.d, 0.0);
  sd.assign(f.d, 1.0);
  for (size_t j = 0; j < f.d; ++j) {
    double s = 0, ss = 0;
    for (size_t i = 0; i < f.n; ++i) s += f.at(i, j);
    const double mu = s / static_cast<double>(f.n);
    for (size_t i = 0; i < f.n; ++i) ss += (f.at(i, j) - mu) * (f.at(i, j) - mu);
    const double v = f.n > 1 ? ss / static_cast<double>(f.n - 1) : 0.0;
    mean[j] = mu;
    sd[j] = v > 1e-24 ? std::sqrt(v) : 1.0;
  }
}

// The image statistics of each scan (audit/image_stats.h). The positive, right-skewed ones (total
// counts, the bone-to-soft-tissue ratio, the high-frequency ratio, which anatomy at 64 x 256
// lifts to 5-400 on simulated scans) on a log scale, so one bright scan does not dominate; the
// body length as it is.
Features stat_rows(const std::vector<ScanStats>& stats) {
  const auto& names = scan_stat_names();
  Features out(stats.size(), names.size());
  for (size_t i = 0; i < stats.size(); ++i) {
    std::vector<double> v = scan_stat_values(stats[i]);
    for (size_t j = 0; j < v.size(); ++j)
      if (names[j] != "body_length_rows") v[j] = std::log(std::max(v[j], 1e-6));
    std::copy(v.begin(), v.end(), out.row(i));
  }
  return out;
}

std::vector<ScanStats> stats_of(const std::vector<Scan>& scans) {
  std::vector<ScanStats> out;
  out.reserve(scans.size());
  for (const auto& s : scans) out.push_back(scan_stats(s));
  return out;
}

// Every feature is clipped to +-kFeatureClip (in units of the training scans' spread): one odd scan
// must not dominate the covariances, the cubic kernel and the neighbour radii (measured before the
// clip: a kernel distance of -160,000 between two draws of one simulated site).
constexpr double kFeatureClip = 10.0;

// [principal components of the standardised embedding (one common scale) | standardised statistics].
Features feature_rows(const Features& standardised, const std::vector<double>& pca, size_t k, const Features& stats,
                      const std::vector<double>& stat_mean, const std::vector<double>& stat_sd) {
  Features out(standardised.n, k + stats.d);
  for (size_t i = 0; i < standardised.n; ++i) {
    const double* x = standardised.row(i);
    for (size_t c = 0; c < k; ++c) {
      const double* axis = pca.data() + c * standardised.d;
      double v = 0;
      for (size_t j = 0; j < standardised.d; ++j) v += axis[j] * x[j];
      out.at(i, c) = std::clamp(v, -kFeatureClip, kFeatureClip);
    }
    for (size_t j = 0; j < stats.d; ++j)
      out.at(i, k + j) = std::clamp((stats.at(i, j) - stat_mean[j]) / stat_sd[j], -kFeatureClip, kFeatureClip);
  }
  return out;
}

nlohmann::json probe(const Features& train_x, const std::vector<std::optional<int>>& train_y, const Features& test_x,
                     const std::vector<std::optional<int>>& test_y, double c, const std::string& where) {
  std::vector<size_t> tr, te;
  std::vector<int> ytr, yte;
  for (size_t i = 0; i < train_y.size(); ++i)
    if (train_y[i]) tr.push_back(i), ytr.push_back(*train_y[i]);
  for (size_t i = 0; i < test_y.size(); ++i)
    if (test_y[i]) te.push_back(i), yte.push_back(*test_y[i]);
  try {
    const LogisticModel model = fit_logistic(train_x.rows(tr), ytr, c);
    const std::vector<double> p = predict_proba(model, test_x.rows(te));
    return stats::to_json(stats::delong_auc(yte, p, 0.95, where));
  } catch (const Error& e) {
    return {{"error", e.reason()}};
  }
}

}  // namespace

Encoder load_encoder(const std::string& dir, const std::string& device, int threads) {
  const std::string json_path = (fs::path(dir) / "encoder.json").string();
  if (!fs::is_regular_file(json_path))
    throw InputError(dir, "not an encoder folder (no encoder.json)", "make one with `scintigen audit encoder`");
  auto impl = std::make_unique<Encoder::Impl>();
  impl->dir = dir;
  try {
    impl->info = nlohmann::json::parse(read_file(json_path));
    if (impl->info.at("format").get<std::string>() != kEncoderFormat)
      throw InputError(json_path, "not an encoder description (format is not scintigen-encoder)");
    if (impl->info.at("format_version").get<int>() != kEncoderFormatVersion)
      throw InputError(
          json_path,
          fmt::format("format version {} is not {}", impl->info["format_version"].dump(), kEncoderFormatVersion),
          "it was written by another scintigen");
    const auto& map = impl->info.at("feature_map");
    impl->height = map.at("height").get<int>();
    impl->width = map.at("width").get<int>();
    impl->dim = map.at("dim").get<size_t>();
    impl->embed_dim = map.at("embedding_dim").get<size_t>();
    impl->mean = map.at("mean").get<std::vector<double>>();
    impl->sd = map.at("sd").get<std::vector<double>>();
    impl->components = map.at("components").get<size_t>();
    impl->pca = map.at("pca").get<std::vector<double>>();
    impl->stat_mean = map.at("statistics").at("mean").get<std::vector<double>>();
    impl->stat_sd = map.at("statistics").at("sd").get<std::vector<double>>();
    impl->sha256 = impl->info.at("sha256").get<std::string>();
    if (feature_map_sha256(map) != impl->sha256)
      throw InputError(json_path, "the feature map does not match its SHA-256", "the file was edited or damaged");
    if (impl->mean.size() != impl->embed_dim || impl->sd.size() != impl->embed_dim ||
        impl->pca.size() != impl->components * impl->embed_dim || impl->stat_mean.size() != scan_stat_names().size() ||
        impl->stat_sd.size() != scan_stat_names().size() || impl->dim != impl->components + impl->stat_mean.size())
      throw InputError(json_path, "the feature map's sizes do not agree", "the file was edited or damaged");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(json_path, fmt::format("cannot read: {}", e.what()), "is it a scintigen encoder folder?");
  }
  at::set_num_threads(resolve_threads(threads));
  impl->device = run::resolve_device(device);
  size_t dim = 0;
  for (const auto& m : impl->info["feature_map"]["members"]) {
    const std::string sub = (fs::path(dir) / m.at("folder").get<std::string>()).string();
    const std::string weights = (fs::path(sub) / "best.pt").string();
    if (!fs::is_regular_file(weights)) throw InputError(weights, "missing", "the encoder folder is incomplete");
    if (sha256_file(weights) != m.at("best_pt_sha256").get<std::string>())
      throw InputError(weights, "SHA-256 differs from encoder.json", "the weights were replaced or damaged");
    impl->members.push_back(clf::load_classifier(sub, impl->device));
    impl->members.back().net->eval();
    dim += static_cast<size_t>(impl->members.back().net->config().embedding_dim());
    if (impl->members.back().net->config().height != impl->height ||
        impl->members.back().net->config().width != impl->width)
      throw InputError(sub, "its grid differs from the encoder's", "the encoder folder is inconsistent");
  }
  if (dim != impl->embed_dim)
    throw InputError(json_path, fmt::format("members embed {} values, embedding_dim says {}", dim, impl->embed_dim));
  return Encoder(std::move(impl));
}

Features encode_scans(const Encoder& encoder, const std::vector<Scan>& scans, int batch, EventSink* events,
                      const std::string& task) {
  return encode_scans(encoder, scans, stats_of(scans), batch, events, task);
}

Features encode_scans(const Encoder& encoder, const std::vector<Scan>& scans, const std::vector<ScanStats>& stats,
                      int batch, EventSink* events, const std::string& task) {
  if (stats.size() != scans.size())
    throw InternalError("encode_scans", fmt::format("{} statistics for {} scans", stats.size(), scans.size()));
  const auto& im = encoder.impl();
  Features f = raw_embeddings(im.members, im.height, im.width, im.device, scans, batch, events, task);
  standardise(f, im.mean, im.sd);
  return feature_rows(f, im.pca, im.components, stat_rows(stats), im.stat_mean, im.stat_sd);
}

// ---- Training -----------------------------------------------------------------------------------

void EncoderConfig::validate() const {
  if (data.empty()) throw ConfigError("--data", "is required", "a dataset of real, labelled scans");
  if (out.empty()) throw ConfigError("--out", "is required", "the encoder folder to create");
  if (epochs < 1) throw ConfigError("--epochs", fmt::format("{} is not >= 1", epochs));
  if (batch < 2) throw ConfigError("--batch", fmt::format("{} is not >= 2", batch));
  if (!(lr > 0) || !std::isfinite(lr)) throw ConfigError("--lr", "must be a positive number");
  if (!(probe_c > 0) || !std::isfinite(probe_c)) throw ConfigError("--probe-c", "must be a positive number");
  if (components < 1) throw ConfigError("--components", fmt::format("{} is not >= 1", components));
  run::parse_device_name(device);
}

nlohmann::json EncoderConfig::to_json() const {
  return {{"data", data},
          {"heldout", heldout},
          {"out", out},
          {"epochs", epochs},
          {"batch", batch},
          {"lr", lr},
          {"threads", threads},
          {"seed", seed},
          {"device", device},
          {"probe_c", probe_c},
          {"components", components}};
}

nlohmann::json EncoderResult::to_json() const {
  return {{"out", out}, {"sha256", sha256}, {"dim", dim}, {"probes", probes}};
}

EncoderResult train_encoder(const EncoderConfig& config, EventSink* events) {
  config.validate();
  run::check_new_out_folder(config.out);
  // Read the data before creating anything: a refused run leaves no trace.
  ScanSet data = load_scan_set(config.data, "--data");
  ScanSet heldout;
  if (!config.heldout.empty()) {
    heldout = load_scan_set(config.heldout, "--heldout");
  } else {
    heldout = data.take_split("test");
    if (heldout.scans.empty())
      throw InputError(config.data, "holds no scans of split \"test\" to hold out for the linear probes",
                       "split it first (scintigen dataset split DS --fractions train=0.7,val=0.1,test=0.2) or "
                       "give --heldout DS");
  }
  data.drop_split("test");
  check_same_grid({&data, &heldout});
  const int height = data.height(), width = data.width();

  run::create_out_folder(config.out);
  nlohmann::json members = nlohmann::json::array();
  nlohmann::json training = nlohmann::json::object();
  for (const Member& m : kMembers) {
    clf::ClassifierConfig c;
    c.task = m.task;
    c.train = {config.data};
    c.out = (fs::path(config.out) / m.folder).string();
    c.height = height;
    c.width = width;
    c.epochs = config.epochs;
    c.batch = config.batch;
    c.lr = config.lr;
    c.seed = config.seed;
    c.threads = config.threads;
    c.device = config.device;
    note(events, fmt::format("encoder: training the {} classifier", m.task));
    const clf::TrainResult r = clf::train_classifier(c, events);
    training[m.task] = {{"best_epoch", r.best_epoch},
                        {"best_val_auc", r.best_val_auc},
                        {"train_scans", r.train_scans},
                        {"val_scans", r.val_scans},
                        {"val_source", r.val_source}};
    members.push_back({{"task", m.task},
                       {"folder", m.folder},
                       {"best_pt_sha256", sha256_file((fs::path(c.out) / "best.pt").string())}});
  }

  // The standardisation: mean and sd of the raw embeddings over the training scans.
  const torch::Device device = run::resolve_device(config.device);
  std::vector<clf::LoadedClassifier> nets;
  for (const Member& m : kMembers)
    nets.push_back(clf::load_classifier((fs::path(config.out) / m.folder).string(), device));
  Features train_f = raw_embeddings(nets, height, width, device, data.scans, 64, events, "encode training scans");
  Features held_f = raw_embeddings(nets, height, width, device, heldout.scans, 64, events, "encode held-out scans");
  std::vector<double> mean, sd;
  column_moments(train_f, mean, sd);
  // A floor under each sd: a ReLU channel that is almost always 0 on the training scans has a
  // tiny sd, and a scan that does light it up would land thousands of sds out and dominate every
  // distance and the cubic kernel. Floor: 1% of the median sd.
  {
    std::vector<double> sorted = sd;
    std::sort(sorted.begin(), sorted.end());
    const double floor = 0.01 * sorted[sorted.size() / 2];
    for (double& v : sd) v = std::max(v, floor);
  }
  standardise(train_f, mean, sd);
  standardise(held_f, mean, sd);
  // Principal axes of the standardised training embeddings (covariance eigenvectors, largest
  // first), scaled so that the kept components' variances average 1.
  const size_t k = std::min<size_t>({static_cast<size_t>(config.components), train_f.d, train_f.n - 1});
  std::vector<double> pca(k * train_f.d);
  std::vector<double> explained;
  {
    torch::NoGradGuard no_grad;
    const auto x = torch::from_blob(
        train_f.x.data(), {static_cast<int64_t>(train_f.n), static_cast<int64_t>(train_f.d)}, torch::kFloat64);
    const auto cov = torch::matmul(x.t(), x) / static_cast<double>(train_f.n - 1);  // centred already
    const auto [evals, evecs] = torch::linalg::eigh(cov, "L");                      // ascending
    const double total = evals.sum().item<double>();
    // One scale for all kept axes (not whitening each: an odd scan far out along a weak axis
    // would then dominate every distance): the kept components' mean variance becomes 1.
    double kept = 0.0;
    for (size_t c = 0; c < k; ++c)
      kept += std::max(evals[static_cast<int64_t>(train_f.d) - 1 - static_cast<int64_t>(c)].item<double>(), 0.0);
    const double scale = std::sqrt(std::max(kept / static_cast<double>(k), 1e-12));
    for (size_t c = 0; c < k; ++c) {
      const int64_t col = static_cast<int64_t>(train_f.d) - 1 - static_cast<int64_t>(c);
      const double lambda = std::max(evals[col].item<double>(), 1e-12);
      explained.push_back(lambda / total);
      const auto v = evecs.select(1, col).contiguous();
      const double* pv = v.data_ptr<double>();
      // A sign convention, so the map does not depend on the solver's: the largest entry positive.
      size_t big = 0;
      for (size_t j = 1; j < train_f.d; ++j)
        if (std::fabs(pv[j]) > std::fabs(pv[big])) big = j;
      const double sign = pv[big] < 0 ? -1.0 : 1.0;
      for (size_t j = 0; j < train_f.d; ++j) pca[c * train_f.d + j] = sign * pv[j] / scale;
    }
  }
  const Features train_stats = stat_rows(stats_of(data.scans));
  std::vector<double> stat_mean, stat_sd;
  column_moments(train_stats, stat_mean, stat_sd);
  train_f = feature_rows(train_f, pca, k, train_stats, stat_mean, stat_sd);
  held_f = feature_rows(held_f, pca, k, stat_rows(stats_of(heldout.scans)), stat_mean, stat_sd);

  nlohmann::json map = {{"height", height},
                        {"width", width},
                        {"members", members},
                        {"embedding_dim", mean.size()},
                        {"mean", mean},
                        {"sd", sd},
                        {"components", k},
                        {"pca", pca},
                        {"statistics", {{"names", scan_stat_names()}, {"mean", stat_mean}, {"sd", stat_sd}}},
                        {"dim", train_f.d}};
  EncoderResult result;
  result.out = config.out;
  result.sha256 = feature_map_sha256(map);
  result.dim = train_f.d;

  auto labels_of = [](const ScanSet& s, const std::function<std::optional<int>(const Labels&)>& f) {
    std::vector<std::optional<int>> y;
    for (const auto& scan : s.scans) y.push_back(f(scan.labels));
    return y;
  };
  auto met = [](const Labels& l) { return l.metastasis; };
  auto perugini = [](const Labels& l) -> std::optional<int> {
    if (!l.cardiac_grade) return std::nullopt;
    return *l.cardiac_grade >= 2 ? 1 : 0;
  };
  result.probes = {{"metastasis", probe(train_f, labels_of(data, met), held_f, labels_of(heldout, met), config.probe_c,
                                        "metastasis probe")},
                   {"perugini_ge2", probe(train_f, labels_of(data, perugini), held_f, labels_of(heldout, perugini),
                                          config.probe_c, "Perugini >= 2 probe")}};

  nlohmann::json info = {{"format", kEncoderFormat},
                         {"format_version", kEncoderFormatVersion},
                         {"kind", "supervised: metastasis + cardiac classifiers (src/clf), embeddings concatenated"},
                         {"config", config.to_json()},
                         {"feature_map", map},
                         {"sha256", result.sha256},
                         {"training", training},
                         {"data",
                          {{"train_scans", data.scans.size()},
                           {"heldout_scans", heldout.scans.size()},
                           {"heldout_source", config.heldout.empty() ? "split test of --data" : "--heldout"}}},
                         {"probes", result.probes},
                         {"explained_variance", explained},
                         {"created", utc_now_iso8601()},
                         {"versions", core_versions()},
                         {"torch", clf::torch_versions()}};
  write_file_atomic((fs::path(config.out) / "ENCODER_CARD.md").string(), card(info));
  write_file_atomic((fs::path(config.out) / "encoder.json").string(), info.dump(2) + "\n");
  return result;
}

}  // namespace scintigen::audit
