// Hand-made `scintigen audit` reports (src/audit/audit.h, audit.cc) for the audit page's tests:
// full_audit() has every section, hostile dataset paths and scan ids, a per-condition error row,
// a label error row and a distance of 0; skipped_audit() skips c2st (--skip), memorisation and
// membership (no --train) and holds null numbers where audit.json can (null CIs, an infinite
// W1/sd, a null p-value and estimate). AUCs, proportions and the DeLong test come from the
// stats serialisers, so they follow the stats JSON scheme by construction.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stats/json.h"

namespace scintigen::report::testing {

inline const char* kHostileSynthetic = "syn/<script>alert(1)</script>";
inline const char* kHostileScanId = "scan<b>7</b>";
inline const char* kEncoderSha = "5e1f0c3a9d77b2c41e08aa6f3b2d9c10e4f5a6b7c8d9e0f1a2b3c4d5e6f70812";

inline nlohmann::json ci_metric(double estimate, double lower, double upper) {
  return {{"estimate", stats::json_number(estimate)},
          {"ci", stats::interval_json(0.95, lower, upper, "percentile bootstrap")}};
}

// audit::to_json(FidelityResult)'s shape; `s` scales the distances.
inline nlohmann::json fidelity_block(double s, size_t n_real, size_t n_fake) {
  nlohmann::json kd = ci_metric(0.012 * s, 0.008 * s, 0.016 * s);
  kd["subset_mean"] = 0.0121 * s;
  kd["subset_sd"] = 0.001;
  kd["subsets"] = 100;
  kd["subset_size"] = 40;
  return {{"n_real", n_real},
          {"n_fake", n_fake},
          {"dim", 64},
          {"config", {{"k_pr", 3}, {"k_dc", 5}, {"bootstrap", 200}, {"conf_level", 0.95}, {"seed", 7}}},
          {"frechet", ci_metric(12.5 * s, 10.25 * s, 14.75 * s)},
          {"kernel", kd},
          {"precision", ci_metric(0.71, 0.64, 0.78)},
          {"recall", ci_metric(0.62, 0.55, 0.69)},
          {"density", ci_metric(1.04, 0.91, 1.17)},
          {"coverage", ci_metric(0.83, 0.77, 0.89)}};
}

inline nlohmann::json verdict_json(bool pass, const std::string& rule, const std::string& text) {
  return {{"pass", pass}, {"rule", rule}, {"text", text}};
}

inline nlohmann::json auc(double estimate, double lower, double upper, size_t pos, size_t neg) {
  stats::AucResult a;
  a.auc = estimate;
  a.se = 0.03;
  a.variance = 0.0009;
  a.ci_lower = lower;
  a.ci_upper = upper;
  a.positives = pos;
  a.negatives = neg;
  return stats::to_json(a);
}

inline nlohmann::json roc(size_t points) {
  nlohmann::json r = nlohmann::json::array();
  for (size_t i = 0; i < points; ++i) {
    const double f = static_cast<double>(i) / static_cast<double>(points - 1);
    r.push_back({{"fpr", f}, {"tpr", std::sqrt(f)}});
  }
  return r;
}

inline nlohmann::json encoder() {
  return {{"dir", "enc"}, {"sha256", kEncoderSha}};
}

inline nlohmann::json value_summary(double mean, double sd) {
  return {{"mean", mean},   {"sd", sd},        {"min", mean - 2 * sd}, {"q1", mean - sd},
          {"median", mean}, {"q3", mean + sd}, {"max", mean + 2 * sd}};
}

// audit::to_json(ImageStatsComparison)'s shape.
inline nlohmann::json image_stats_block(double shift, size_t n_ref, size_t n_other) {
  const std::vector<std::string> names = {"total_counts", "bone_soft_ratio", "body_length_rows",
                                          "high_frequency_ratio"};
  const std::vector<double> means = {1.2e6, 4.5, 180, 1.1};
  nlohmann::json ref = nlohmann::json::object(), other = nlohmann::json::object(), dist = nlohmann::json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    ref[names[i]] = value_summary(means[i], means[i] / 10);
    other[names[i]] = value_summary(means[i] * (1 + shift), means[i] / 9);
    dist[names[i]] = {{"ks", {{"statistic", 0.1 + shift}, {"p_value", 0.2}, {"method", "two-sample KS"}}},
                      {"wasserstein", means[i] * shift},
                      {"wasserstein_sd", ci_metric(0.1 + shift, 0.05 + shift, 0.2 + shift)},
                      {"smd", shift}};
  }
  nlohmann::json edges = nlohmann::json::array(), h_ref = nlohmann::json::array(), h_other = nlohmann::json::array();
  for (int k = 0; k <= 40; ++k) edges.push_back(std::pow(10.0, -2.0 + k / 10.0));
  for (int k = 0; k < 40; ++k) {
    h_ref.push_back(std::exp(-0.5 * std::pow((k - 20) / 4.0, 2)) / 10.0);
    h_other.push_back(std::exp(-0.5 * std::pow((k - 21) / 4.0, 2)) / 10.0);
  }
  return {{"reference", {{"n", n_ref}, {"statistics", ref}, {"histogram", h_ref}}},
          {"other", {{"n", n_other}, {"statistics", other}, {"histogram", h_other}}},
          {"histogram_edges", edges},
          {"distances", dist},
          {"histogram_tv", ci_metric(0.05 + shift, 0.03 + shift, 0.07 + shift)},
          {"bootstrap", {{"replicates", 200}, {"seed", 7}, {"rng", "xoshiro256** kAuditBootstrap"}}}};
}

inline nlohmann::json wilson_json(size_t k, size_t n) {
  return stats::to_json(stats::wilson_interval(k, n, 0.95));
}

// Nearest-training distances: smooth, deterministic, one exact copy (0) among the synthetic ones.
inline std::vector<double> distances(size_t n, double scale, bool with_zero) {
  std::vector<double> d;
  for (size_t i = 0; i < n; ++i) d.push_back(scale * std::exp(0.8 * std::sin(1.7 * static_cast<double>(i) + 0.3)));
  if (with_zero) d[3] = 0.0;
  return d;
}

inline nlohmann::json space(double scale, double threshold) {
  const std::vector<double> syn = distances(40, scale, true), held = distances(30, scale * 1.1, false);
  return {
      {"threshold", threshold},
      {"synthetic",
       {{"d1",
         {{"n", 40},
          {"mean", scale},
          {"min", 0.0},
          {"q001", 0.0},
          {"q01", 0.0},
          {"median", scale},
          {"max", 2 * scale}}},
        {"ratio", {{"n", 40}, {"mean", 0.9}, {"min", 0.5}, {"q001", 0.5}, {"q01", 0.5}, {"median", 0.93}, {"max", 1}}},
        {"flagged", 1}}},
      {"heldout",
       {{"d1",
         {{"n", 30},
          {"mean", scale},
          {"min", 0.5 * scale},
          {"q001", 0.5 * scale},
          {"q01", 0.5 * scale},
          {"median", scale},
          {"max", 2 * scale}}},
        {"flagged", 0},
        {"below_fit", 0}}},
      {"distances", {{"synthetic", syn}, {"heldout", held}}}};
}

inline const char* kFidelityRule =
    "matched FD <= the baseline FD's CI upper bound, and matched precision and recall >= the baseline's CI lower "
    "bounds (baseline: two halves of --real; matched: half A vs as many synthetic scans as half B)";
inline const char* kC2stRule = "AUC <= 0.55 or its CI covers 0.5 (a good generator is near 0.5)";
inline const char* kImageStatsRule =
    "for every statistic, the CI of W1/sd(real) (real vs synthetic) reaches the real-vs-real baseline's CI";
inline const char* kLabelRule =
    "per label: the synthetic AUC (a probe trained on real features scores the synthetic scans) is not below the real "
    "cross-validated AUC at p < 0.05 (unpaired DeLong)";
inline const char* kMemorisationRule = "no synthetic scan flagged as a copy";
inline const char* kMembershipRule = "each attack's AUC <= 0.55 or its CI covers 0.5 (0.5 = no leak)";

inline nlohmann::json dataset(const std::string& path, size_t scans) {
  return {{"dataset", path},
          {"uid", "uid-" + std::to_string(scans)},
          {"scans", scans},
          {"grid", {{"width", 64}, {"height", 128}}}};
}

inline nlohmann::json full_audit() {
  using nlohmann::json;
  json a;
  a["format"] = "scintigen-audit";
  a["format_version"] = 1;
  a["config"] = {{"seed", 7}, {"bootstrap", 200}, {"conf_level", 0.95}, {"folds", 5}, {"c", 1.0}};
  a["inputs"] = {{"real", dataset("real_heldout", 60)},
                 {"synthetic", dataset(kHostileSynthetic, 80)},
                 {"train", dataset("gen_train", 120)},
                 {"encoder", encoder()},
                 {"model", {{"dir", "model"}, {"sha256", "ab12"}}}};
  json s = json::object();

  json f;
  f["encoder"] = encoder();
  f["overall"] = fidelity_block(1.0, 60, 80);
  f["baseline"] = fidelity_block(0.5, 30, 30);
  f["matched"] = fidelity_block(1.2, 30, 30);
  f["sizes"] = {{"real", 60}, {"synthetic", 80}, {"half_a", 30}, {"half_b", 30}, {"matched", 30}};
  f["per_condition"] = json::array({{{"condition", "metastasis=0"},
                                     {"real", 35},
                                     {"synthetic", 45},
                                     {"half_a", 18},
                                     {"half_b", 17},
                                     {"metrics", fidelity_block(1.1, 35, 45)},
                                     {"baseline", fidelity_block(0.6, 18, 17)}},
                                    {{"condition", "metastasis=1"},
                                     {"real", 25},
                                     {"synthetic", 35},
                                     {"half_a", 5},
                                     {"half_b", 20},
                                     {"metrics", fidelity_block(1.3, 25, 35)},
                                     {"baseline", {{"error", "fewer than 6 scans in a half"}}}},
                                    {{"condition", "tracer=PYP"},
                                     {"real", 3},
                                     {"synthetic", 4},
                                     {"half_a", 2},
                                     {"half_b", 1},
                                     {"error", "fewer than 20 scans on a side"}}});
  f["verdict"] = verdict_json(false, kFidelityRule,
                              "FD 12.5 (matched 15) vs real-vs-real 6.25 [5.12, 7.38]; precision 0.71 vs 0.71, recall "
                              "0.62 vs 0.62");
  s["fidelity"] = f;

  json is;
  is["comparison"] = image_stats_block(0.2, 60, 80);
  is["baseline"] = image_stats_block(0.0, 30, 30);
  is["differ"] = {"high_frequency_ratio"};
  is["verdict"] = verdict_json(false, kImageStatsRule, "differ beyond the baseline: high_frequency_ratio");
  s["image_stats"] = is;

  json c;
  c["auc"] = 0.612;
  c["ci_lower"] = 0.56;
  c["ci_upper"] = 0.664;
  c["result"] = auc(0.612, 0.56, 0.664, 80, 60);
  c["features"] = "encoder (64 values) + image statistics (4), standardised; ridge logistic regression C = 1";
  c["encoder"] = encoder();
  c["folds"] = 5;
  c["roc"] = roc(17);
  c["verdict"] = verdict_json(false, kC2stRule, "a classifier tells real from synthetic with AUC 0.612 [0.560, 0.664]");
  s["c2st"] = c;

  json lf;
  lf["encoder"] = encoder();
  stats::DelongTest d;
  d.paired = false;
  d.auc1 = 0.85;
  d.auc2 = 0.8;
  d.difference = 0.05;
  d.se = 0.04;
  d.z = 1.25;
  d.df = 90;
  d.p_value = 0.214;
  d.covariance = 0;
  d.conf_level = 0.95;
  json ok = {{"real", {{"positives", 20}, {"negatives", 40}}},
             {"synthetic", {{"positives", 30}, {"negatives", 50}}},
             {"auc", 0.8},
             {"synthetic_auc", auc(0.8, 0.7, 0.9, 30, 50)},
             {"real_auc", auc(0.85, 0.75, 0.95, 20, 40)},
             {"tstr_auc", auc(0.78, 0.66, 0.9, 20, 40)},
             {"difference", stats::to_json(d)},
             {"pass", true}};
  json weak = ok;
  weak["auc"] = 0.6;
  weak["synthetic_auc"] = auc(0.6, 0.5, 0.7, 30, 50);
  d.auc2 = 0.6;
  d.difference = 0.25;
  d.p_value = 0.0004;
  weak["difference"] = stats::to_json(d);
  weak["pass"] = false;
  lf["labels"] = {{"metastasis", ok},
                  {"perugini_ge2", weak},
                  {"perugini_3_vs_0",
                   {{"real", {{"positives", 2}, {"negatives", 40}}},
                    {"synthetic", {{"positives", 3}, {"negatives", 50}}},
                    {"error", "too few labelled scans (need 5 per class among real scans, 2 among synthetic)"}}}};
  lf["verdict"] = verdict_json(false, kLabelRule, "labels carried more weakly than on real scans: perugini_ge2");
  s["label_fidelity"] = lf;

  json m;
  m["flagged"] = 1;
  m["fraction"] = 1.0 / 80;
  m["fraction_ci"] = wilson_json(1, 80);
  m["heldout_below_fit"] = 0;
  m["heldout_below_fit_fraction"] = wilson_json(0, 60);
  m["rule"] =
      "flagged when closer to its nearest training scan than the 0.05% quantile of the held-out real scans' "
      "nearest distances";
  m["spaces"] = {{"encoder", space(2.0, 0.9)}, {"pixel", space(0.03, 0.012)}};
  m["encoder"] = encoder();
  m["closest_pairs"] = json::array({{{"synthetic_id", kHostileScanId},
                                     {"train_id", "t-0012"},
                                     {"space", "encoder"},
                                     {"d1", 0.0},
                                     {"d2", 1.4},
                                     {"ratio", 0.0},
                                     {"threshold", 0.9},
                                     {"relative", 0.0},
                                     {"flagged", true}},
                                    {{"synthetic_id", "s-0044"},
                                     {"train_id", "t-0099"},
                                     {"space", "pixel"},
                                     {"d1", 0.02},
                                     {"d2", 0.025},
                                     {"ratio", 0.8},
                                     {"threshold", 0.012},
                                     {"relative", 1.667},
                                     {"flagged", false}}});
  m["verdict"] =
      verdict_json(false, kMemorisationRule,
                   "1 of 80 synthetic scans flagged as copies of training scans (0 of 60 held-out real scans "
                   "flagged by the same rule)");
  s["memorisation"] = m;

  json mb;
  mb["distance_attack"] = auc(0.53, 0.47, 0.59, 120, 60);
  mb["distance_attack"]["roc"] = roc(9);
  mb["distance_attack"]["score"] = "minus the encoder-space distance to the nearest synthetic scan";
  mb["generator_attack"] = auc(0.58, 0.52, 0.64, 60, 60);
  mb["generator_attack"]["roc"] = roc(13);
  mb["generator_attack"]["model"] = {{"dir", "model"}, {"sha256", "ab12"}};
  mb["generator_attack"]["score"] = "minus the mean denoising loss over the times and draws";
  mb["auc"] = 0.58;
  mb["encoder"] = encoder();
  mb["verdict"] = verdict_json(false, kMembershipRule, "generator attack AUC 0.580, distance attack AUC 0.530");
  s["membership"] = mb;

  a["sections"] = s;
  a["c2st"] = {{"auc", 0.612}, {"ci_lower", 0.56}, {"ci_upper", 0.664}};
  a["fd"] = 12.5;
  a["fd_matched"] = 15.0;
  a["fd_baseline"] = 6.25;
  a["kd"] = 0.012;
  a["precision"] = 0.71;
  a["recall"] = 0.62;
  a["density"] = 1.04;
  a["coverage"] = 0.83;
  a["memorisation"] = {{"flagged", 1}, {"fraction", 1.0 / 80}};
  a["membership"] = {{"auc", 0.58}};
  a["label_fidelity"] = {{"metastasis", {{"auc", 0.8}}}, {"perugini_ge2", {{"auc", 0.6}}}};
  a["verdicts"] = json::object();
  for (const auto& [name, sec] : s.items()) a["verdicts"][name] = sec["verdict"];
  a["created"] = "2026-12-03T16:00:00Z";
  a["versions"] = {{"scintigen", "0.9.0"}, {"torch", {{"libtorch", "2.1.2"}}}};
  return a;
}

// c2st skipped (--skip), memorisation and membership skipped (no --train), and null numbers.
inline nlohmann::json skipped_audit() {
  using nlohmann::json;
  json a = full_audit();
  json& s = a["sections"];
  s["c2st"] = {{"skipped", "--skip"}};
  s["memorisation"] = {{"skipped", "no --train"}};
  s["membership"] = {{"skipped", "no --train"}};
  a["inputs"]["train"] = nullptr;
  a["inputs"]["model"] = nullptr;
  for (const char* k : {"c2st", "memorisation", "membership"}) {
    a.erase(k);
    a["verdicts"].erase(k);
  }
  // No bootstrap: null intervals; an undefined FD; an infinite W1/sd; a null KS p.
  s["fidelity"]["baseline"]["frechet"]["ci"] = nullptr;
  s["fidelity"]["per_condition"][0]["metrics"]["frechet"]["estimate"] = nullptr;
  s["image_stats"]["comparison"]["distances"]["bone_soft_ratio"]["wasserstein_sd"] = {{"estimate", nullptr},
                                                                                      {"ci", nullptr}};
  s["image_stats"]["comparison"]["distances"]["body_length_rows"]["ks"]["p_value"] = nullptr;
  s["label_fidelity"]["labels"]["metastasis"]["tstr_auc"]["ci"] = nullptr;
  return a;
}

}  // namespace scintigen::report::testing
