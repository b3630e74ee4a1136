#include "clf/eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "clf/model.h"
#include "clf/train.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/version.h"
#include "data/dataset.h"
#include "run/run.h"
#include "run/torch.h"
#include "stats/json.h"
#include "stats/roc.h"
#include "stats/survival.h"

namespace scintigen::clf {

using nlohmann::json;

void EvalConfig::validate() const {
  if (model.empty()) throw ConfigError("--model", "no classifier folder");
  if (data.empty()) throw ConfigError("--data", "no dataset", "pass --data DS [DS...]");
  if (out.empty()) throw ConfigError("--out", "no report path");
  if (batch < 1 || batch > 4096) throw ConfigError("--batch", fmt::format("is {}, expected 1..4096", batch));
  if (threads < 0 || threads > 1024) throw ConfigError("--threads", fmt::format("is {}, expected 0..1024", threads));
  if (calibration_bins < 1 || calibration_bins > 1000)
    throw ConfigError("calibration_bins", fmt::format("is {}, expected 1..1000", calibration_bins));
  if (!(conf_level > 0 && conf_level < 1))
    throw ConfigError("conf_level", fmt::format("is {}, expected (0, 1)", conf_level));
  run::parse_device_name(device);
}

json EvalConfig::to_json() const {
  return {{"model", model},
          {"data", data},
          {"out", out},
          {"compare", compare},
          {"batch", batch},
          {"threads", threads},
          {"calibration_bins", calibration_bins},
          {"conf_level", conf_level},
          {"device", device}};
}

namespace {

// Runs a statistic; an InputError (one class, too few cases...) becomes {"error": reason}.
template <typename F>
json try_stat(F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    return {{"error", e.reason()}};
  }
}

struct Case {
  std::string id, site;
  std::optional<int> label;
  double score = 0, score2 = 0;
  std::optional<double> time;
  std::optional<int> event;
};

// AUC, metrics at the validation threshold, calibration and the paired comparison of one group.
json group_json(const std::vector<const Case*>& cases, double threshold, bool compare, const EvalConfig& cfg,
                const std::string& where) {
  std::vector<int> y;
  std::vector<double> s, s2;
  for (const Case* c : cases)
    if (c->label) {
      y.push_back(*c->label);
      s.push_back(c->score);
      s2.push_back(c->score2);
    }
  const size_t pos = static_cast<size_t>(std::count(y.begin(), y.end(), 1));
  json g = {{"n", y.size()}, {"positives", pos}, {"negatives", y.size() - pos}};
  g["auc"] = try_stat([&] { return stats::to_json(stats::delong_auc(y, s, cfg.conf_level, where)); });
  g["at_validation_threshold"] =
      try_stat([&] { return stats::to_json(stats::threshold_metrics(y, s, threshold, cfg.conf_level, where)); });
  if (!y.empty()) g["calibration"] = calibration_json(y, s, cfg.calibration_bins);
  if (compare) {
    g["compare_auc"] = try_stat([&] { return stats::to_json(stats::delong_auc(y, s2, cfg.conf_level, where)); });
    g["delong_paired"] =
        try_stat([&] { return stats::to_json(stats::delong_test_paired(y, s, s2, cfg.conf_level, where)); });
  }
  return g;
}

json survival_json(const std::vector<Case>& cases, double threshold, const EvalConfig& cfg, const std::string& where) {
  stats::SurvivalData d;
  std::vector<std::string> group;
  stats::SurvivalData by[2];
  for (const auto& c : cases)
    if (c.time && c.event) {
      d.time.push_back(*c.time);
      d.event.push_back(*c.event);
      const int p = c.score >= threshold ? 1 : 0;
      group.push_back(p ? "predicted_positive" : "predicted_negative");
      by[p].time.push_back(*c.time);
      by[p].event.push_back(*c.event);
    }
  if (d.time.empty()) return nullptr;
  json s = {{"n", d.time.size()}, {"grouping", fmt::format("score >= {} (validation threshold)", threshold)}};
  const char* names[2] = {"predicted_negative", "predicted_positive"};
  for (int p = 0; p < 2; ++p)
    s["kaplan_meier"][names[p]] = by[p].time.empty() ? json(nullptr) : try_stat([&] {
      return stats::to_json(stats::kaplan_meier(by[p], cfg.conf_level, where));
    });
  s["log_rank"] = try_stat([&] { return stats::to_json(stats::log_rank_test(d, group, where)); });
  return s;
}

// Scores every scan of `ds` with `nets` (one or two), `batch` scans at a time.
std::vector<Case> score_dataset(const Dataset& ds, Task task, std::vector<ClassifierNet*> nets, const EvalConfig& cfg,
                                const torch::Device& device, EventSink* events) {
  const auto records = ds.records();
  std::vector<Case> cases(records.size());
  Progress progress(events, fmt::format("eval {}", ds.dir()), records.size());
  const int h = (*nets[0])->config().height, w = (*nets[0])->config().width;
  const size_t per_scan = 2 * static_cast<size_t>(h) * w;
  std::vector<float> buf;
  for (size_t i = 0; i < records.size(); i += cfg.batch) {
    const size_t n = std::min<size_t>(cfg.batch, records.size() - i);
    buf.assign(n * per_scan, 0.0f);
    for (size_t k = 0; k < n; ++k) {
      const auto& r = records[i + k];
      std::vector<float> px = scan_to_grid(ds.load(r), h, w);
      std::copy(px.begin(), px.end(), buf.begin() + k * per_scan);
      Case& c = cases[i + k];
      c.id = r.id;
      c.site = r.labels.site.empty() ? "(unknown)" : r.labels.site;
      c.label = task_label(r.labels, task);
      c.time = r.labels.outcome_time;
      c.event = r.labels.outcome_event;
    }
    for (size_t m = 0; m < nets.size(); ++m) {
      std::vector<double> p = predict_probabilities(*nets[m], buf.data(), n, cfg.batch, device);
      for (size_t k = 0; k < n; ++k) (m == 0 ? cases[i + k].score : cases[i + k].score2) = p[k];
    }
    progress.advance(n);
  }
  progress.finish();
  return cases;
}

json model_json(const std::string& dir, const json& info) {
  return {{"path", dir},
          {"task", info.value("task", "")},
          {"threshold", info["training"]["threshold"]},
          {"best_val_auc", info["training"].value("best_val_auc", 0.0)},
          {"best_epoch", info["training"].value("best_epoch", 0)},
          {"config", info.value("config", json::object())},
          {"net", info["net"]},
          {"created", info.value("created", "")}};
}

}  // namespace

json calibration_json(const std::vector<int>& labels, const std::vector<double>& probs, int bins) {
  std::vector<size_t> n(bins, 0), pos(bins, 0);
  std::vector<double> sum(bins, 0.0);
  double brier = 0.0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double p = std::clamp(probs[i], 0.0, 1.0);
    const int b = std::min(bins - 1, static_cast<int>(p * bins));
    ++n[b];
    pos[b] += labels[i];
    sum[b] += p;
    brier += (p - labels[i]) * (p - labels[i]);
  }
  json table = json::array();
  for (int b = 0; b < bins; ++b)
    table.push_back({{"lower", static_cast<double>(b) / bins},
                     {"upper", static_cast<double>(b + 1) / bins},
                     {"n", n[b]},
                     {"mean_predicted", n[b] ? json(sum[b] / n[b]) : json(nullptr)},
                     {"observed_rate", n[b] ? json(static_cast<double>(pos[b]) / n[b]) : json(nullptr)}});
  return {{"bins", table}, {"brier", labels.empty() ? json(nullptr) : json(brier / labels.size())}};
}

json evaluate_classifier(const EvalConfig& cfg, EventSink* events) {
  cfg.validate();
  at::set_num_threads(resolve_threads(cfg.threads));
  const torch::Device device = run::resolve_device(cfg.device);
  LoadedClassifier model = load_classifier(cfg.model, device);
  const Task task = task_from_string(model.info.value("task", ""), cfg.model + "/classifier.json");
  std::optional<LoadedClassifier> other;
  std::vector<ClassifierNet*> nets = {&model.net};
  if (!cfg.compare.empty()) {
    other = load_classifier(cfg.compare, device);
    if (other->info.value("task", "") != model.info.value("task", ""))
      throw ConfigError("--compare",
                        fmt::format("{} is a '{}' classifier, {} a '{}' one", cfg.compare,
                                    other->info.value("task", ""), cfg.model, model.info.value("task", "")),
                        "compare classifiers of the same task");
    nets.push_back(&other->net);
  }
  const double threshold = model.info["training"]["threshold"].get<double>();

  json report = {{"report", "scintigen classify eval"},
                 {"created", utc_now_iso8601()},
                 {"config", cfg.to_json()},
                 {"versions", core_versions()},
                 {"task", to_string(task)},
                 {"model", model_json(cfg.model, model.info)}};
  report["versions"]["torch"] = torch_versions();
  if (other) report["compare_model"] = model_json(cfg.compare, other->info);
  report["note"] = "scores are sigmoid probabilities; positive = score >= threshold; AUC CIs by DeLong";
  size_t labelled_total = 0;
  for (const auto& dir : cfg.data) {
    Dataset ds = Dataset::open(dir);
    std::vector<Case> cases = score_dataset(ds, task, nets, cfg, device, events);
    std::vector<const Case*> all;
    std::map<std::string, std::vector<const Case*>> by_site;
    size_t labelled = 0;
    for (const auto& c : cases) {
      all.push_back(&c);
      by_site[c.site].push_back(&c);
      labelled += c.label.has_value();
    }
    labelled_total += labelled;
    json d = {{"path", dir},
              {"scans", cases.size()},
              {"labelled", labelled},
              {"skipped_unlabelled", cases.size() - labelled}};
    d["overall"] = group_json(all, threshold, other.has_value(), cfg, dir);
    json sites = json::array();
    for (const auto& [site, list] : by_site) {
      json g = group_json(list, threshold, other.has_value(), cfg, fmt::format("{} site {}", dir, site));
      g["site"] = site;
      sites.push_back(g);
    }
    d["sites"] = sites;
    d["survival"] = survival_json(cases, threshold, cfg, dir);
    json list = json::array();
    for (const auto& c : cases) {
      json j = {
          {"id", c.id}, {"site", c.site}, {"label", c.label ? json(*c.label) : json(nullptr)}, {"score", c.score}};
      if (other) j["score_compare"] = c.score2;
      if (c.time) j["outcome_time"] = *c.time;
      if (c.event) j["outcome_event"] = *c.event;
      list.push_back(j);
    }
    d["cases"] = list;
    report["datasets"].push_back(d);
  }
  if (labelled_total == 0)
    throw InputError(cfg.data.front(), fmt::format("no scan carries the label needed by task '{}'", to_string(task)),
                     "evaluate on a labelled dataset (scintigen ingest --labels)");
  write_file_atomic(cfg.out, report.dump(2) + "\n");
  return report;
}

}  // namespace scintigen::clf
