// A small hand-made `scintigen study` report (OUT/report.json; its shape copied from a run of
// configs/study/quick.json, the numbers chosen here) for the study page's tests: two tasks,
// metastasis complete (two sites, survival with Kaplan-Meier curves, subgroups, share recovered)
// and cardiac with a one-class site (so its pooled statistics are errors); six arms (baseline,
// synthetic x1 and x2, synthetic only, donor upper bound, simulator x2); a hostile description and
// subgroup name; an audited synthetic set; a design warning.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stats/json.h"
#include "stats/survival.h"

namespace scintigen::report::testing {

inline const char* kHostileDescription = "pilot </script><b>bold</b> & co";
inline const char* kHostileSubgroup = "age<50";
inline const char* kSiteError = "1 positive and 59 negative cases: the DeLong statistics need at least 2 of each";
inline const char* kPooledError =
    "site ext_a has 1 positive and 59 negative cases: the DeLong statistics need at least 2 of each";
inline const char* kShareError =
    "not estimable: the pooled gain of 'small+donor' has a 95% CI covering 0 (-0.0100 to 0.1700)";

// The arms of the fixture, in config order, and their pooled metastasis gains (baseline 0).
struct FixtureArm {
  const char* name;
  bool small;
  const char* synthetic;
  const char* simulate;
  bool donor;
  double multiple;
  double gain;
};
inline const std::vector<FixtureArm>& fixture_arms() {
  static const std::vector<FixtureArm> arms = {
      {"small", true, "", "", false, 0, 0.0},           {"small+syn x1", true, "g1", "", false, 1, 0.02},
      {"small+syn x2", true, "g1", "", false, 2, 0.05}, {"syn only x2", false, "g1", "", false, 2, -0.10},
      {"small+donor", true, "", "", true, 0, 0.08},     {"small+sim x2", true, "", "donor", false, 2, 0.06}};
  return arms;
}

inline nlohmann::json interval(double lower, double upper, const char* method) {
  return {{"level", 0.95}, {"lower", lower}, {"upper", upper}, {"method", method}};
}

// A pooled statistic (analysis.cc's pooled_json): mean over repeats and the bootstrap CI.
inline nlohmann::json pooled_stat(double estimate, double lower, double upper) {
  return {{"estimate", estimate},
          {"sd", 0.01},
          {"repeats", {estimate - 0.01, estimate + 0.01}},
          {"ci", interval(lower, upper, "hierarchical percentile bootstrap")},
          {"bootstrap", {{"replicates", 200}, {"seed", 7}, {"rng", "xoshiro256** (kStudyBootstrap)"}}}};
}

// The Kaplan-Meier curve of a few subjects, written by stats (the report's schema by construction).
inline nlohmann::json km(std::vector<double> time, std::vector<int> event) {
  return stats::to_json(stats::kaplan_meier(stats::SurvivalData{std::move(time), std::move(event)}));
}

inline nlohmann::json cox_hr(double hr, double lower, double upper) {
  return {{"n", 60},
          {"events", 20},
          {"ties", "efron"},
          {"terms",
           {{{"name", "predicted_positive"},
             {"beta", 0.5},
             {"se", 0.2},
             {"z", 2.5},
             {"p_value", 0.012},
             {"hazard_ratio", {{"estimate", hr}, {"ci", interval(lower, upper, "wald")}}}}}}};
}

// One task. metastasis: sites ext_a and ext_d, survival, subgroups; cardiac: ext_a has one
// positive (site and pooled statistics are errors), no survival.
inline nlohmann::json study_task(const std::string& task) {
  using nlohmann::json;
  const bool cardiac = task == "cardiac";
  json t = {{"task", task}, {"baseline", "small"}, {"repeats", {"draw 1 seed 1", "draw 2 seed 1"}}};
  t["analysis"] = {{"upper", "small+donor"}, {"bootstrap", 200}, {"seed", 7}, {"conf_level", 0.95}};
  t["sites"] =
      json::array({{{"site", "ext_a"},
                    {"cases", 60},
                    {"positives", cardiac ? 1 : 14},
                    {"negatives", cardiac ? 59 : 46},
                    {"flagged", true},
                    {"reason", "14 positives and 46 negatives: fewer than min_positives = 20"}},
                   {{"site", "ext_d"}, {"cases", 60}, {"positives", 22}, {"negatives", 38}, {"flagged", false}}});
  t["subgroups"] = json::array({{{"subgroup", "women"}, {"cases", 70}, {"positives", 20}, {"negatives", 50}},
                                {{"subgroup", kHostileSubgroup}, {"cases", 4}, {"positives", 1}, {"negatives", 3}}});
  json arms = json::array();
  for (const FixtureArm& f : fixture_arms()) {
    const bool baseline = std::string(f.name) == "small";
    json arm = {{"arm", f.name}, {"baseline", baseline}};
    json sites = json::array();
    for (const auto& [site, shift] : {std::pair<const char*, double>{"ext_a", 0.01}, {"ext_d", -0.01}}) {
      json s = {{"site", site}};
      if (cardiac && std::string(site) == "ext_a") {
        s["error"] = kSiteError;
      } else {
        s["auc"] = {{"estimate", 0.7 + f.gain + shift}, {"sd", 0.02}, {"repeats", json::array()}};
        if (!baseline) {
          const double g = f.gain + shift;
          s["gain"] = {{"estimate", g}, {"sd", 0.02}, {"repeats", {g - 0.02, g + 0.02}}};
          s["relative_gain"] = {{"estimate", g / 0.7}, {"sd", 0.03}, {"repeats", {g / 0.7, g / 0.7}}};
          s["contrast"] = {{"method", "DeLong contrast z test (mean gain over repeats)"},
                           {"repeats", 2},
                           {"estimate", g},
                           {"se", 0.05},
                           {"statistic", g / 0.05},
                           {"p_value", 0.2},
                           {"p_holm", 0.8},
                           {"holm_family", 4},
                           {"ci", interval(g - 0.1, g + 0.1, "delong")}};
        }
      }
      sites.push_back(s);
    }
    arm["sites"] = sites;
    if (cardiac) {
      arm["pooled"] = {{"error", kPooledError}};
    } else {
      json pooled = {{"sites", 2}, {"auc", pooled_stat(0.7 + f.gain, 0.6 + f.gain, 0.8 + f.gain)}};
      if (!baseline) {
        pooled["gain"] = pooled_stat(f.gain, f.gain - 0.04, f.gain + 0.04);
        pooled["relative_gain"] = pooled_stat(f.gain / 0.7, f.gain / 0.7 - 0.05, f.gain / 0.7 + 0.05);
        if (std::string(f.name) == "small+syn x1")
          pooled["share_recovered"] = {{"upper", "small+donor"}, {"error", kShareError}};
        else if (std::string(f.name) != "small+donor")
          pooled["share_recovered"] = {{"upper", "small+donor"},
                                       {"estimate", f.gain / 0.08},
                                       {"ci", interval(f.gain / 0.08 - 0.3, f.gain / 0.08 + 0.3, "bootstrap")}};
      }
      arm["pooled"] = pooled;
    }
    if (!cardiac) {
      json kmj = {{"repeat", "draw 1 seed 1"}, {"grouping", "score >= 0.5 (repeat draw 1 seed 1's threshold)"}};
      kmj["predicted_negative"] = km({10, 20, 30, 40, 50}, {1, 0, 1, 0, 0});
      kmj["predicted_positive"] = std::string(f.name) == "syn only x2"
                                      ? json{{"error", "no case in group predicted_positive"}}
                                      : km({5, 15, 15, 25}, {1, 1, 0, 1});
      arm["survival"] = {{"repeats", json::array()},
                         {"kaplan_meier", kmj},
                         {"hazard_ratio", {{"estimate", 1.5 + f.gain}, {"sd", 0.2}, {"fitted", 2}}},
                         {"c_index", {{"estimate", 0.6 + f.gain}, {"sd", 0.03}, {"computed", 2}}}};
      if (std::string(f.name) == "syn only x2")
        arm["survival"]["hazard_ratio"] = {{"error", "no repeat's Cox model could be fitted"}};
    }
    json groups = json::array();
    groups.push_back(
        {{"subgroup", "women"}, {"auc", {{"estimate", 0.65 + f.gain}, {"sd", 0.04}, {"repeats", json::array()}}}});
    if (!baseline) {
      groups.back()["gain"] = {{"estimate", f.gain}, {"sd", 0.01}, {"repeats", json::array()}};
      groups.back()["contrast"] = {
          {"estimate", f.gain}, {"p_value", 0.3}, {"ci", interval(f.gain - 0.2, f.gain + 0.2, "delong")}};
    }
    groups.push_back({{"subgroup", kHostileSubgroup},
                      {"error", "1 positive and 3 negative cases: the DeLong statistics need at least 2 of each"}});
    arm["subgroups"] = groups;
    arms.push_back(arm);
  }
  t["arms"] = arms;
  if (!cardiac)
    t["survival"] = {{"cases", 120},
                     {"events", 40},
                     {"covariates", {"group", "age", "male"}},
                     {"true_label", cox_hr(3.9, 2.5, 6.2)},
                     {"kaplan_meier",
                      {{"label_negative", km({12, 22, 32}, {0, 1, 0})}, {"label_positive", km({3, 6, 9}, {1, 1, 1})}}}};
  return t;
}

inline nlohmann::json study_config() {
  using nlohmann::json;
  json arms = json::array();
  for (const FixtureArm& f : fixture_arms())
    arms.push_back({{"name", f.name},
                    {"small", f.small},
                    {"synthetic", f.synthetic},
                    {"simulate", f.simulate},
                    {"donor", f.donor},
                    {"multiple", f.multiple}});
  json c = json::parse(R"json({
    "format": "scintigen-study", "format_version": 1, "name": "quick", "seed": 2026, "seeds": 1,
    "grid": {"width": 64, "height": 256},
    "cohorts": {"donor": {"site": "large_centre", "n": 240},
                "small": {"site": "small_centre", "draws": 2, "train": 60, "val": 40, "test": 40, "overrides": {}},
                "external": {"ext_a": {"site": "ext_a", "n": 60}, "ext_d": {"site": "ext_d", "n": 60}}},
    "generator": {"preset": "configs/gen/tiny64.json", "steps": 100, "batch": 8, "lr": 0.001, "warmup": 10,
                  "ema": 0.99, "cond_drop": 0.1, "bf16": false, "init_from": "", "model": "", "target": ""},
    "synthetic": [{"name": "g1", "guidance": 1.0, "steps": 8, "condition": "", "mix": {}}],
    "classifier": {"epochs": 4, "patience": 4, "steps_per_epoch": 8, "batch": 16, "lr": 0.001,
                   "weight_decay": 0.0001, "base_width": 8},
    "audit": {"enabled": true, "real": 60, "encoder_scans": 120, "encoder_epochs": 2, "synthetic": 60, "bootstrap": 50},
    "tasks": ["metastasis", "cardiac"], "upper": "small+donor",
    "subgroups": [{"name": "women", "where": "sex=F"}, {"name": "age<50", "where": "age<50"}],
    "analysis": {"bootstrap": 200, "conf_level": 0.95, "min_positives": 20},
    "primary_endpoint": {"task": "metastasis", "arm": "small+syn x2", "statistic": "pooled_gain", "alpha": 0.05}
  })json");
  c["description"] = kHostileDescription;
  c["arms"] = arms;
  return c;
}

inline nlohmann::json study_report() {
  using nlohmann::json;
  json r = {{"format", "scintigen-study-report"}, {"format_version", 1}, {"generated", "2026-12-04T03:27:26Z"}};
  r["study"] = {{"format", "scintigen-study"},
                {"format_version", 1},
                {"config", study_config()},
                {"config_path", "configs/study/quick.json"},
                {"created", "2026-12-04T03:09:03Z"},
                {"updated", "2026-12-04T03:24:43Z"},
                {"versions", {{"scintigen", "0.1.0"}, {"compiler", "gcc 12.2.0"}}}};
  r["analysis"] = {
      {"upper", "small+donor"}, {"bootstrap", 200}, {"seed", 7}, {"conf_level", 0.95}, {"min_positives", 20}};
  r["tasks"] = json::array({study_task("metastasis"), study_task("cardiac")});
  json internal = json::object();
  for (const char* task : {"metastasis", "cardiac"})
    for (const FixtureArm& f : fixture_arms())
      internal[task][f.name] = {{"auc", {{"mean", 0.6 + f.gain}, {"sd", 0.05}, {"n", 2}}}};
  internal["cardiac"]["small"]["auc"] = nullptr;
  r["internal_test"] = internal;
  r["primary_endpoint"] = {{"task", "metastasis"},
                           {"arm", "small+syn x2"},
                           {"statistic", "pooled_gain"},
                           {"alpha", 0.05},
                           {"hypothesis", "the pooled external AUC gain over the baseline is > 0"},
                           {"pooled_gain", r["tasks"][0]["arms"][2]["pooled"]["gain"]},
                           {"met", true}};
  r["audit"] = json::parse(R"json({"g1": {
    "c2st": {"auc": 0.91, "ci_lower": 0.86, "ci_upper": 0.95},
    "fd": 208.7, "fd_matched": 226.6, "fd_baseline": 17.2, "precision": 0.12, "recall": 0.34, "density": 0.1,
    "coverage": 0.2, "memorisation": {"flagged": 0, "fraction": 0.0}, "membership": {"auc": 0.559},
    "verdicts": {
      "c2st": {"pass": false, "rule": "AUC <= 0.55 or its CI covers 0.5", "text": "a classifier tells real from synthetic with AUC 0.910"},
      "membership": {"pass": true, "rule": "each attack's AUC <= 0.55 or its CI covers 0.5", "text": "generator attack AUC 0.559"}}}})json");
  r["cohorts"] = json::parse(R"json({
    "donor": {"scans": 240, "labels": {"metastasis": {"0": 180, "1": 60}, "cardiac_grade": {"0": 200, "1": 16, "2": 16, "3": 8},
              "sex": {"F": 120, "M": 120}, "tracer": {"DPD": 40, "MDP": 200}}},
    "external ext_a": {"scans": 60, "labels": {"metastasis": {"0": 46, "1": 14}, "cardiac_grade": {"0": 59, "3": 1},
              "sex": {"F": 30, "M": 29, "(unknown)": 1
}
, "tracer" : {
  "MDP" : 60
}
}
}
})json");
  r["design_warnings"] = {"the generator was given by generator.model: it may hold information the upper bound lacks"};
  r["stages"] =
      json::array({{{"kind", "cohort"}, {"label", "donor"}, {"hash", "7deb64de6a9850e9"}, {"seconds", 1.5}},
                   {{"kind", "generator"}, {"label", "generator"}, {"hash", "0123456789abcdef"}, {"seconds", 60.25}},
                   {{"kind", "classifier"},
                    {"label", "metastasis small draw 1 seed 1"},
                    {"hash", "fedcba9876543210"},
                    {"seconds", 12.0}}});
  return r;
}

}  // namespace scintigen::report::testing
