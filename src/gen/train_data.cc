#include "gen/train_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/random_streams.h"
#include "core/resample.h"
#include "core/shuffle.h"
#include "core/split.h"
#include "data/dataset.h"
#include "gen/trainer.h"
#include "gen/transform.h"

namespace scintigen::gen {

void DataConfig::validate() const {
  if (datasets.empty()) throw ConfigError("--data", "no dataset given", "give one or more dataset folders");
  if (!(val_fraction >= 0 && val_fraction < 1))
    throw ConfigError("--val-fraction", std::to_string(val_fraction), "must be in [0, 1)");
  if (val_max < 0) throw ConfigError("--val-max", std::to_string(val_max), "must be >= 0");
  if (!(max_memory_gb > 0)) throw ConfigError("--max-memory", std::to_string(max_memory_gb), "must be > 0 (GB)");
}

nlohmann::json DataConfig::to_json() const {
  nlohmann::json j = {{"datasets", datasets}, {"val_fraction", val_fraction}, {"val_max", val_max}, {"seed", seed}};
  if (!oversample.empty()) j["oversample"] = oversample;  // runs without it keep their old record
  return j;
}

namespace {

struct Item {
  size_t dataset;
  ScanRecord record;
};

struct Oversample {
  ConditionTokens condition;
  int64_t factor = 1;
};

// "CONDITION:FACTOR" against the model's conditions; throws ConfigError naming --oversample.
Oversample parse_oversample(const std::string& text, const ConditionSpec& spec) {
  const std::string hint = "use CONDITION:FACTOR with a whole FACTOR in 2..100, e.g. metastasis=1:2";
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) throw ConfigError("--oversample", "'" + text + "' has no ':FACTOR'", hint);
  Oversample o;
  const std::string f = text.substr(colon + 1);
  size_t used = 0;
  try {
    o.factor = std::stoll(f, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (f.empty() || used != f.size() || o.factor < 2 || o.factor > 100)
    throw ConfigError("--oversample", "factor '" + f + "' is not a whole number in 2..100", hint);
  o.condition = parse_condition(text.substr(0, colon), spec, "--oversample");
  if (std::all_of(o.condition.begin(), o.condition.end(), [](int64_t v) { return v == 0; }))
    throw ConfigError("--oversample", "'" + text + "' names no condition", hint);
  return o;
}

bool matches(const ConditionTokens& scan, const ConditionTokens& condition) {
  for (size_t a = 0; a < condition.size(); ++a)
    if (condition[a] != 0 && scan[a] != condition[a]) return false;
  return true;
}

}  // namespace

std::vector<int64_t> training_batch(const TrainingData& data, uint64_t seed, int64_t step, int64_t batch) {
  if (data.epoch.empty()) return batch_indices(data.train.size(), seed, step, batch);
  auto idx = batch_indices(static_cast<int64_t>(data.epoch.size()), seed, step, batch);
  for (auto& i : idx) i = data.epoch[static_cast<size_t>(i)];
  return idx;
}

std::vector<int64_t> batch_indices(int64_t n, uint64_t seed, int64_t step, int64_t batch) {
  std::vector<int64_t> out;
  out.reserve(batch);
  int64_t pos = step * batch;
  int64_t epoch = -1;
  std::vector<int64_t> perm;
  for (int64_t k = 0; k < batch; ++k, ++pos) {
    const int64_t e = pos / n;
    if (e != epoch) {
      epoch = e;
      Rng rng = stream_rng(seed, RandomStream::kGenDataOrder, static_cast<uint64_t>(e));
      perm = random_permutation<int64_t>(static_cast<size_t>(n), rng);
    }
    out.push_back(perm[pos % n]);
  }
  return out;
}

double fit_count_max(const torch::Tensor& counts) {
  auto flat = counts.reshape({-1});
  auto nz = flat.index({flat > 0});
  if (nz.numel() == 0) return 1.0;
  // a strided sample keeps the sort small on big datasets
  const int64_t stride = std::max<int64_t>(1, nz.numel() / 2000000);
  auto s = std::get<0>(nz.slice(0, 0, nz.numel(), stride).sort());
  const int64_t k = std::min<int64_t>(s.numel() - 1, static_cast<int64_t>(0.995 * (s.numel() - 1)));
  const double q = std::max(1.0, s[k].item<double>());
  const double mag = std::pow(10.0, std::floor(std::log10(q)) - 1);  // two significant digits
  return std::ceil(q / mag) * mag;
}

TrainingData load_training_data(const DataConfig& dc, ModelConfig& cfg, EventSink* events) {
  dc.validate();
  TrainingData out;
  std::vector<Dataset> datasets;
  std::vector<Item> train_items, val_items;
  nlohmann::json ds_summary = nlohmann::json::array();
  for (size_t d = 0; d < dc.datasets.size(); ++d) {
    datasets.push_back(Dataset::open(dc.datasets[d]));
    const auto& ds = datasets.back();
    size_t used = 0, integer_scans = 0;
    for (auto& r : ds.records()) {
      if (r.views != ViewSet::kBoth) {
        ++out.skipped_single_view;
        continue;
      }
      if (r.split == "test") {
        ++out.skipped_test_split;
        continue;
      }
      ++used;
      if (r.dtype == PixelDtype::kUint16) ++integer_scans;
      (r.split == "val" ? val_items : train_items).push_back({d, std::move(r)});
    }
    // A model of expected counts must not learn Poisson noise as if it were the expectation:
    // integer-count scans are camera (or simulate) draws, noiseless simulations are float. A
    // latent model is exempt: its autoencoder learned the expectation from such draws (Poisson
    // likelihood), and the U-Net learns their latents.
    if (cfg.transform.target == ModelTarget::kExpected && !cfg.latent.enabled() && used > 0 && integer_scans == used)
      throw InputError(dc.datasets[d],
                       "holds integer counts (Poisson draws), but the model's target is 'expected': it learns "
                       "noiseless expected-count images and draws the Poisson counts itself",
                       "train it on noiseless scans (scintigen simulate --noiseless), or train a counts model "
                       "(--target counts)");
    // what made the dataset: "simulate (site generator_train)", "ingest", "generate"...
    const nlohmann::json cfg = ds.info().value("config", nlohmann::json::object());
    std::string made_by = cfg.value("command", "");
    if (cfg.contains("site_profile") && cfg["site_profile"].is_object())
      made_by += " (site " + cfg["site_profile"].value("name", "?") + ")";
    ds_summary.push_back({{"dir", ds.dir()},
                          {"dataset_uid", ds.info().value("dataset_uid", "")},
                          {"made_by", made_by},
                          {"scans_used", used}});
  }
  if (train_items.empty() && val_items.empty())
    throw InputError(dc.datasets.front(), "no usable scan: every scan is single-view or of split 'test'",
                     "train on datasets with two-view scans");
  if (!val_items.empty()) {
    out.val_source = "val split rows";
  } else {
    // core/split.h, one stratum of single scans: round(val_fraction n) scans, at most val_max.
    const size_t n = train_items.size();
    const double f = n ? std::min(dc.val_fraction, static_cast<double>(dc.val_max) / static_cast<double>(n)) : 0.0;
    const SplitSpec spec{{f, 1 - f}, dc.seed, RandomStream::kGenValSplit, false};
    if (n >= 20 && largest_remainder_quotas(n, spec.fractions)[0] >= 1) {
      const std::vector<size_t> part = grouped_stratified_split(std::vector<SplitItem>(n), spec);
      std::vector<Item> keep;
      for (size_t i = 0; i < n; ++i) (part[i] == 0 ? val_items : keep).push_back(std::move(train_items[i]));
      train_items = std::move(keep);
      out.val_source = "random fraction";
    } else {
      out.val_source = "none (too few scans)";
    }
  }
  if (train_items.empty())
    throw InputError(dc.datasets.front(), "every usable scan is in the validation split", "mark fewer scans 'val'");

  // Conditioning check: every attribute must be labelled on some training scan.
  const auto& spec = cfg.conditions;
  std::vector<std::vector<int64_t>> counts(spec.size());
  for (size_t a = 0; a < spec.size(); ++a) counts[a].assign(spec.attributes[a].values.size() + 1, 0);
  std::vector<ConditionTokens> train_tokens, val_tokens;
  for (const auto& it : train_items) {
    train_tokens.push_back(condition_from_labels(it.record.labels, spec));
    for (size_t a = 0; a < spec.size(); ++a) ++counts[a][train_tokens.back()[a]];
  }
  for (const auto& it : val_items) val_tokens.push_back(condition_from_labels(it.record.labels, spec));
  for (size_t a = 0; a < spec.size(); ++a) {
    if (counts[a][0] == static_cast<int64_t>(train_items.size())) {
      std::vector<std::string> others;
      for (size_t b = 0; b < spec.size(); ++b)
        if (b != a) others.push_back(spec.attributes[b].name);
      throw InputError(
          dc.datasets.front(),
          fmt::format("no training scan carries a usable '{}' label (allowed values: {}), so the model "
                      "cannot learn that condition",
                      spec.attributes[a].name, fmt::join(spec.attributes[a].values, ", ")),
          fmt::format("label the scans (ingest --labels), or condition on the others only: --conditions {}",
                      fmt::join(others, ",")));
    }
  }
  nlohmann::json label_counts = nlohmann::json::object();
  for (size_t a = 0; a < spec.size(); ++a) {
    nlohmann::json c = nlohmann::json::object();
    c["unlabelled"] = counts[a][0];
    for (size_t v = 0; v < spec.attributes[a].values.size(); ++v) c[spec.attributes[a].values[v]] = counts[a][v + 1];
    label_counts[spec.attributes[a].name] = c;
  }
  // Oversampling: the epoch holds a matching scan `factor` times (label counts stay the data's).
  nlohmann::json oversample_json;
  if (!dc.oversample.empty()) {
    const Oversample o = parse_oversample(dc.oversample, spec);
    int64_t matching = 0;
    for (size_t i = 0; i < train_tokens.size(); ++i) {
      const int64_t times = matches(train_tokens[i], o.condition) ? o.factor : 1;
      matching += times > 1;
      for (int64_t k = 0; k < times; ++k) out.epoch.push_back(static_cast<int64_t>(i));
    }
    if (matching == 0)
      throw InputError(dc.datasets.front(),
                       "no training scan matches --oversample " + condition_to_string(o.condition, spec),
                       "oversample a condition the training scans carry");
    oversample_json = {{"condition", condition_to_string(o.condition, spec)},
                       {"factor", o.factor},
                       {"matching_scans", matching},
                       {"epoch_scans", out.epoch.size()}};
  }
  // The joint distribution of training conditions (generate fills unnamed attributes from it).
  std::map<std::string, int64_t> joint;
  for (const auto& t : train_tokens) ++joint[condition_to_string(t, spec)];
  nlohmann::json joint_json = nlohmann::json::array();
  for (const auto& [k, v] : joint) joint_json.push_back({{"condition", k}, {"count", v}});

  const int64_t H = cfg.height, W = cfg.width;
  const double bytes = static_cast<double>(train_items.size() + val_items.size()) * 2 * H * W * 4;
  if (bytes > dc.max_memory_gb * 1e9)
    throw InputError(dc.datasets.front(),
                     fmt::format("{} scans at {} x {} need {:.1f} GB in memory, over the limit of {:.1f} GB",
                                 train_items.size() + val_items.size(), H, W, bytes / 1e9, dc.max_memory_gb),
                     "raise --max-memory, or train on fewer scans");

  auto load_set = [&](const std::vector<Item>& items, const std::vector<ConditionTokens>& tokens, ScanSet& set,
                      const char* label) {
    const int64_t n = static_cast<int64_t>(items.size());
    set.x = torch::empty({n, 2, H, W}, torch::kFloat);
    set.cond = torch::zeros({n, static_cast<int64_t>(spec.size())}, torch::kLong);
    if (n == 0) return;
    float* dst = set.x.data_ptr<float>();
    auto* cd = set.cond.data_ptr<int64_t>();
    Progress progress(events, label, n);
    parallel_ordered<std::vector<float>>(
        items.size(), resolve_threads(dc.threads), 64,
        [&](size_t i) { return scan_to_grid(datasets[items[i].dataset].load(items[i].record), H, W); },
        [&](size_t i, std::vector<float>&& px) {
          std::copy(px.begin(), px.end(), dst + i * 2 * H * W);
          for (size_t a = 0; a < spec.size(); ++a) cd[i * spec.size() + a] = tokens[i][a];
          progress.advance();
        });
    progress.finish();
  };
  load_set(train_items, train_tokens, out.train, "load train");
  load_set(val_items, val_tokens, out.val, "load val");
  bool fitted = false;
  if (!(cfg.transform.count_max > 0)) {
    cfg.transform.count_max = fit_count_max(out.train.x);
    fitted = true;
  }
  out.train.x = counts_to_model(out.train.x, cfg.transform);
  if (out.val.size()) out.val.x = counts_to_model(out.val.x, cfg.transform);
  out.summary = {{"datasets", ds_summary},
                 {"train_scans", out.train.size()},
                 {"val_scans", out.val.size()},
                 {"val_source", out.val_source},
                 {"skipped_single_view", out.skipped_single_view},
                 {"skipped_test_split", out.skipped_test_split},
                 {"label_counts", label_counts},
                 {"conditions_joint", joint_json},
                 {"count_max", cfg.transform.count_max},
                 {"count_max_fitted", fitted}};
  if (!oversample_json.is_null()) out.summary["oversample"] = oversample_json;
  return out;
}

}  // namespace scintigen::gen
