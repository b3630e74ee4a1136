// A small hand-made `classify eval` report (docs/CLASSIFY.md schema) for the HTML tests: two
// datasets, the first with a hostile path and site name, a site whose statistics are errors
// (positives only), a compared model and outcomes; the second one site, no outcomes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "stats/json.h"

namespace scintigen::report::testing {

inline const char* kHostilePath = "ext/</script><b>bold";
inline const char* kHostileSite = "<!--south";
inline const char* kOneClassError = "only one class: 3 positives, 0 negatives";

// How often `what` occurs in `text` (without overlaps).
inline size_t count_substrings(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The statistics are typed results written by their serialisers (stats/json.h), so the
// fixture follows the report's schema by construction.
inline nlohmann::json auc_json(double auc, double lo, double hi) {
  stats::AucResult a;
  a.positives = a.negatives = 3;
  a.auc = auc;
  a.se = 0.1;
  a.variance = 0.01;
  a.ci_lower = lo;
  a.ci_upper = hi;
  return stats::to_json(a);
}

inline stats::Proportion proportion(size_t k, size_t n) {
  stats::Proportion p;
  p.successes = k;
  p.trials = n;
  p.estimate = static_cast<double>(k) / n;
  p.lower = *p.estimate * 0.6;
  p.upper = 1 - (1 - *p.estimate) * 0.6;
  return p;
}

inline nlohmann::json metrics_json(size_t tp, size_t fp, size_t tn, size_t fn) {
  stats::ThresholdMetrics m;
  m.threshold = 0.5;
  m.tp = tp;
  m.fp = fp;
  m.tn = tn;
  m.fn = fn;
  m.youden = 0.3;
  m.sensitivity = proportion(tp, tp + fn);
  m.specificity = proportion(tn, tn + fp);
  m.ppv = proportion(tp, tp + fp);
  m.npv = proportion(tn, tn + fn);
  return stats::to_json(m);
}

inline nlohmann::json calibration_json(size_t n_low, size_t n_high) {
  return {{"bins",
           {{{"lower", 0.0}, {"upper", 0.5}, {"n", n_low}, {"mean_predicted", 0.25}, {"observed_rate", 0.3}},
            {{"lower", 0.5}, {"upper", 1.0}, {"n", n_high}, {"mean_predicted", 0.8}, {"observed_rate", 0.7}}}},
          {"brier", 0.15}};
}

inline nlohmann::json paired_json() {
  stats::DelongTest t;
  t.auc1 = 0.8;
  t.auc2 = 0.7;
  t.difference = 0.1;
  t.se = 0.05;
  t.z = 2.0;
  t.p_value = 0.0456;
  t.ci_lower = 0.002;
  t.ci_upper = 0.198;
  return stats::to_json(t);
}

// One group's statistics (overall or a site) as eval.cc writes them, with --compare.
inline nlohmann::json group_json(size_t n, size_t positives, nlohmann::json auc, nlohmann::json metrics,
                                 nlohmann::json calibration, nlohmann::json compare_auc, nlohmann::json paired) {
  return {{"n", n},
          {"positives", positives},
          {"negatives", n - positives},
          {"auc", auc},
          {"at_validation_threshold", metrics},
          {"calibration", calibration},
          {"compare_auc", compare_auc},
          {"delong_paired", paired}};
}

inline nlohmann::json km_json(size_t n, size_t events, double last) {
  stats::KaplanMeier km;
  km.n = n;
  km.events = events;
  km.median.lower = 200.0;
  km.rows = {{100.0, n, 1, 0, 0.75, 0.2, 0.45, 1.0},
             {200.0, n - 1, 0, 1, 0.75, 0.2, 0.45, 1.0},
             {300.0, n - 2, 1, 0, last, 0.25, last * 0.5, 1.0}};
  return stats::to_json(km);
}

inline nlohmann::json small_report() {
  using nlohmann::json;
  const json err = {{"error", kOneClassError}};
  json cases = json::array();
  // site north: 3 negatives, 3 positives; the hostile site: 3 positives only.
  const double scores[] = {0.1, 0.4, 0.35, 0.8, 0.9, 0.6, 0.7, 0.2, 0.9};
  for (int i = 0; i < 9; ++i)
    cases.push_back({{"id", "s" + std::to_string(i)},
                     {"site", i < 6 ? "north" : kHostileSite},
                     {"label", i < 3 ? 0 : 1},
                     {"score", scores[i]},
                     {"score_compare", 1.0 - scores[i] / 2},
                     {"outcome_time", 100.0 * (i + 1)},
                     {"outcome_event", i % 2}});
  cases.push_back({{"id", "s9"}, {"site", "north"}, {"label", nullptr}, {"score", 0.5}, {"score_compare", 0.5}});
  json north = group_json(6, 3, auc_json(0.889, 0.62, 1.0), metrics_json(2, 0, 3, 1), calibration_json(3, 3),
                          auc_json(0.111, 0.0, 0.38), paired_json());
  north["site"] = "north";
  json south = group_json(3, 3, err, err, calibration_json(1, 2), err, err);
  south["site"] = kHostileSite;
  json overall = group_json(9, 6, auc_json(0.833, 0.6, 1.0), metrics_json(4, 0, 3, 2), calibration_json(4, 5),
                            auc_json(0.2, 0.0, 0.45), paired_json());
  json survival = {
      {"n", 9},
      {"grouping", "score >= 0.5 (validation threshold)"},
      {"kaplan_meier", {{"predicted_negative", km_json(4, 2, 0.375)}, {"predicted_positive", km_json(5, 2, 0.5)}}},
      {"log_rank", stats::to_json([] {
         stats::LogRank lr;
         lr.groups = {"predicted_negative", "predicted_positive"};
         lr.n = {4, 5};
         lr.observed = {2, 2};
         lr.expected = {1.5, 2.5};
         lr.chi_square = 0.3;
         lr.df = 1;
         lr.p_value = 0.58;
         return lr;
       }())}};
  json first = {{"path", kHostilePath},    {"scans", 10},        {"labelled", 9},
                {"skipped_unlabelled", 1}, {"overall", overall}, {"sites", {north, south}},
                {"survival", survival},    {"cases", cases}};

  json plain_cases = json::array();
  for (int i = 0; i < 6; ++i)
    plain_cases.push_back({{"id", "p" + std::to_string(i)},
                           {"site", "west"},
                           {"label", i % 2},
                           {"score", 0.1 + 0.15 * i},
                           {"score_compare", 0.5}});
  json west = group_json(6, 3, auc_json(0.9, 0.7, 1.0), metrics_json(2, 1, 2, 1), calibration_json(3, 3),
                         auc_json(0.5, 0.1, 0.9), paired_json());
  json west_site = west;
  west_site["site"] = "west";
  json second = {{"path", "ext_b"}, {"scans", 6},           {"labelled", 6},       {"skipped_unlabelled", 0},
                 {"overall", west}, {"sites", {west_site}}, {"survival", nullptr}, {"cases", plain_cases}};

  json model = {
      {"path", "clf_small"}, {"task", "metastasis"}, {"threshold", 0.5}, {"best_val_auc", 0.91}, {"best_epoch", 4}};
  json compare = model;
  compare["path"] = "clf_big";
  return {{"report", "scintigen classify eval"},
          {"created", "2026-11-27T02:21:10Z"},
          {"config", {{"conf_level", 0.95}}},
          {"versions", {{"scintigen", "0.1.0"}, {"torch", {{"libtorch", "2.1.2"}}}}},
          {"task", "metastasis"},
          {"model", model},
          {"compare_model", compare},
          {"note", "scores are sigmoid probabilities"},
          {"datasets", {first, second}}};
}

}  // namespace scintigen::report::testing
