// Unit tests of the study analysis (src/study/analysis.h): known answers (the contrast of one
// repeat is the paired DeLong test, identical arms gain exactly 0, a zero-gain design's bootstrap
// CI covers 0), the seed's reproducibility, Holm across tasks, flags and error entries, and every
// bad input failing with its exact text.
#include "study/analysis.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "stats/json.h"
#include "stats/multiplicity.h"
#include "stats/roc.h"
#include "stats/survival.h"
#include "test_util.h"

namespace scintigen::study {
namespace {

using nlohmann::json;
using testing::input_error;

// A task whose arm k scores label * effect[k] + a case's difficulty + noise; every arm has the
// same effect per repeat unless `effects` says otherwise. Sites: (name, cases, positives).
struct Design {
  std::vector<double> effects = {1.0, 1.0};
  size_t repeats = 3;
  std::vector<std::tuple<std::string, size_t, size_t>> sites = {{"a", 120, 40}, {"b", 90, 30}, {"c", 150, 50}};
  bool outcomes = false;
  uint64_t seed = 1;
};

TaskScores make_task(const Design& d) {
  TaskScores t;
  t.task = "metastasis";
  for (size_t k = 0; k < d.effects.size(); ++k) t.arms.push_back(k == 0 ? "small" : "arm" + std::to_string(k));
  for (size_t r = 0; r < d.repeats; ++r) t.repeats.push_back("r" + std::to_string(r + 1));
  Rng rng(d.seed);
  std::vector<std::vector<double>> difficulty;
  for (const auto& [name, n, pos] : d.sites) {
    SiteCases s;
    s.site = name;
    std::vector<double> diff;
    for (size_t i = 0; i < n; ++i) {
      s.ids.push_back(name + std::to_string(i));
      s.labels.push_back(i < pos ? 1 : 0);
      diff.push_back(rng.normal());
      s.subgroups["first half"].push_back(i % 2 == 0);
      s.subgroups["three positives"].push_back(i < 3 || i >= n - 20);
      if (d.outcomes) {
        s.time.push_back(std::ceil(rng.uniform(1, 1000) / (1 + s.labels.back())));
        s.event.push_back(rng.bernoulli(0.6) ? 1 : 0);
        s.age.push_back(std::round(rng.normal(65, 8)));
        s.male.push_back(rng.bernoulli(0.5) ? 1 : 0);
      }
    }
    difficulty.push_back(diff);
    t.sites.push_back(s);
  }
  t.scores.resize(t.arms.size());
  t.thresholds.assign(t.arms.size(), std::vector<double>(d.repeats, 0.5));
  for (size_t a = 0; a < t.arms.size(); ++a) {
    t.scores[a].resize(d.repeats);
    for (size_t r = 0; r < d.repeats; ++r)
      for (size_t s = 0; s < t.sites.size(); ++s) {
        std::vector<double> v;
        for (size_t i = 0; i < t.sites[s].labels.size(); ++i)
          v.push_back(d.effects[a] * t.sites[s].labels[i] + 0.5 * difficulty[s][i] + rng.normal());
        t.scores[a][r].push_back(v);
      }
  }
  return t;
}

AnalysisConfig config(int bootstrap = 200, uint64_t seed = 3) {
  AnalysisConfig c;
  c.bootstrap = bootstrap;
  c.seed = seed;
  return c;
}

TEST(StudyAnalysis, OneSiteOneRepeatContrastIsThePairedDelongTest) {
  Design d;
  d.effects = {0.8, 1.4};
  d.repeats = 1;
  d.sites = {{"only", 200, 70}};
  const TaskScores t = make_task(d);
  const json j = analyse_task(t, config());
  const json& c = j["arms"][1]["sites"][0]["contrast"];
  const stats::DelongTest p = stats::delong_test_paired(t.sites[0].labels, t.scores[1][0][0], t.scores[0][0][0]);
  EXPECT_EQ(c["estimate"].get<double>(), p.difference);
  EXPECT_NEAR(c["se"].get<double>(), p.se, 1e-15);
  EXPECT_NEAR(c["statistic"].get<double>(), p.z, 1e-12);
  EXPECT_NEAR(c["p_value"].get<double>(), p.p_value, 1e-12);
  const json& test = j["arms"][1]["sites"][0]["tests"][0];
  EXPECT_EQ(test["statistic"].get<double>(), p.z);
  EXPECT_EQ(j["arms"][1]["sites"][0]["gain"]["estimate"].get<double>(), p.difference);
  EXPECT_TRUE(j["arms"][1]["sites"][0]["gain"]["sd"].is_null());  // one repeat: no SD
}

TEST(StudyAnalysis, ArmsEqualToTheBaselineGainExactlyZero) {
  Design d;
  TaskScores t = make_task(d);
  t.scores[1] = t.scores[0];
  const json j = analyse_task(t, config());
  const json& arm = j["arms"][1];
  for (const json& site : arm["sites"]) {
    for (const json& g : site["gain"]["repeats"]) EXPECT_EQ(g.get<double>(), 0.0);
    EXPECT_EQ(site["gain"]["estimate"].get<double>(), 0.0);
    EXPECT_EQ(site["contrast"]["estimate"].get<double>(), 0.0);
    EXPECT_EQ(site["contrast"]["se"].get<double>(), 0.0);
    EXPECT_EQ(site["contrast"]["p_value"].get<double>(), 1.0);
  }
  const json& gain = arm["pooled"]["gain"];
  EXPECT_EQ(gain["estimate"].get<double>(), 0.0);
  EXPECT_EQ(gain["ci"]["lower"].get<double>(), 0.0);
  EXPECT_EQ(gain["ci"]["upper"].get<double>(), 0.0);
  EXPECT_EQ(gain["bootstrap"]["sd"].get<double>(), 0.0);
  EXPECT_EQ(arm["subgroups"][0]["contrast"]["p_value"].get<double>(), 1.0);
}

TEST(StudyAnalysis, ZeroGainDesignsBootstrapCiCoversZeroAndARealGainsDoesNot) {
  Design d;
  d.effects = {1.0, 1.0, 2.5};
  d.repeats = 4;
  const json j = analyse_task(make_task(d), config(1000));
  const json& none = j["arms"][1]["pooled"]["gain"];
  EXPECT_LT(none["ci"]["lower"].get<double>(), 0.0);
  EXPECT_GT(none["ci"]["upper"].get<double>(), 0.0);
  EXPECT_EQ(none["ci"]["method"], "hierarchical percentile bootstrap");
  EXPECT_EQ(none["bootstrap"]["replicates"], 1000);
  const json& big = j["arms"][2]["pooled"]["gain"];
  EXPECT_GT(big["ci"]["lower"].get<double>(), 0.0);
  // The point estimate is the mean over sites of the mean over repeats.
  double sum = 0.0;
  for (const json& site : j["arms"][2]["sites"]) sum += site["gain"]["estimate"].get<double>();
  EXPECT_NEAR(big["estimate"].get<double>(), sum / 3.0, 1e-15);
}

TEST(StudyAnalysis, TheSeedReproducesTheReplicates) {
  const TaskScores t = make_task(Design{});
  const json a = analyse_task(t, config(300, 11)), b = analyse_task(t, config(300, 11));
  const json c = analyse_task(t, config(300, 12));
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_NE(a["arms"][1]["pooled"]["gain"]["ci"], c["arms"][1]["pooled"]["gain"]["ci"]);
  EXPECT_EQ(a["arms"][1]["pooled"]["gain"]["estimate"], c["arms"][1]["pooled"]["gain"]["estimate"]);
  EXPECT_EQ(a["arms"][1]["pooled"]["gain"]["bootstrap"]["seed"], 11);
}

TEST(StudyAnalysis, ShareRecoveredAndItsNotEstimableCase) {
  Design d;
  d.effects = {1.0, 1.6, 2.5};
  d.repeats = 4;
  AnalysisConfig cfg = config(500);
  cfg.upper = "arm2";
  const json j = analyse_task(make_task(d), cfg);
  const json& share = j["arms"][1]["pooled"]["share_recovered"];
  EXPECT_EQ(share["upper"], "arm2");
  const double g1 = j["arms"][1]["pooled"]["gain"]["estimate"], g2 = j["arms"][2]["pooled"]["gain"]["estimate"];
  EXPECT_NEAR(share["estimate"].get<double>(), g1 / g2, 1e-12);
  EXPECT_LT(share["ci"]["lower"].get<double>(), share["estimate"].get<double>());
  EXPECT_FALSE(j["arms"][2]["pooled"].contains("share_recovered"));  // the upper arm itself
  EXPECT_FALSE(j["arms"][0]["pooled"].contains("gain"));             // the baseline

  d.effects = {1.0, 1.6, 1.0};  // the "upper" arm gains nothing: the share is not estimable
  const json k = analyse_task(make_task(d), cfg);
  const std::string e = k["arms"][1]["pooled"]["share_recovered"]["error"];
  EXPECT_EQ(e.rfind("not estimable: the pooled gain of 'arm2' has a 95% CI covering 0 (", 0), 0u) << e;
}

TEST(StudyAnalysis, SmallSitesAreFlaggedAndOneClassSitesGiveErrors) {
  Design d;
  d.sites = {{"big", 200, 60}, {"few", 100, 10}};
  json j = analyse_task(make_task(d), config());
  EXPECT_FALSE(j["sites"][0]["flagged"].get<bool>());
  EXPECT_TRUE(j["sites"][1]["flagged"].get<bool>());
  EXPECT_EQ(j["sites"][1]["reason"], "10 positives and 90 negatives: fewer than min_positives = 20");
  EXPECT_TRUE(j["arms"][1]["pooled"].contains("gain"));

  d.sites = {{"big", 200, 60}, {"one", 50, 1}};
  j = analyse_task(make_task(d), config());
  const std::string e = "1 positive and 49 negative cases: the DeLong statistics need at least 2 of each";
  EXPECT_EQ(j["arms"][1]["sites"][1], json({{"site", "one"}, {"error", e}}));
  EXPECT_EQ(j["arms"][1]["pooled"], json({{"error", "site one has " + e}}));
  EXPECT_TRUE(j["arms"][1]["sites"][0].contains("contrast"));  // the other site is analysed
}

TEST(StudyAnalysis, SubgroupsPoolTheSitesAndNeedTwoCasesPerClass) {
  const TaskScores t = make_task(Design{});
  const json j = analyse_task(t, config());
  ASSERT_EQ(j["subgroups"].size(), 2u);
  EXPECT_EQ(j["subgroups"][0]["subgroup"], "first half");
  EXPECT_EQ(j["subgroups"][0]["cases"], 60 + 45 + 75);
  // The first half's AUC of arm 1, repeat 2, from the pooled cases directly.
  std::vector<int> y;
  std::vector<double> s;
  for (size_t k = 0; k < t.sites.size(); ++k)
    for (size_t i = 0; i < t.sites[k].labels.size(); i += 2)
      y.push_back(t.sites[k].labels[i]), s.push_back(t.scores[1][1][k][i]);
  EXPECT_EQ(j["arms"][1]["subgroups"][0]["auc"]["repeats"][1]["estimate"].get<double>(), stats::auc(y, s));
  // "three positives": 3 per site = 9 positives and 60 negatives... still analysable; make one
  // with a single class instead.
  TaskScores u = t;
  for (auto& site : u.sites)
    site.subgroups["three positives"].assign(site.labels.size(), 0), site.subgroups["three positives"][0] = 1;
  const json k = analyse_task(u, config());
  EXPECT_EQ(k["arms"][1]["subgroups"][1]["error"],
            "3 positive and 0 negative cases: the DeLong statistics need at least 2 of each");
}

TEST(StudyAnalysis, SurvivalGivesCoxPerRepeatTheTrueLabelAndHarrellsC) {
  Design d;
  d.outcomes = true;
  TaskScores t = make_task(d);
  t.sites[0].time[0] = std::nan("");  // missing: left out
  t.sites[1].male[3] = -1;
  t.thresholds[1][2] = 1e9;  // nobody predicted positive: that repeat's Cox model fails
  const json j = analyse_task(t, config());
  const size_t n = 120 + 90 + 150 - 2;
  EXPECT_EQ(j["survival"]["cases"], n);
  EXPECT_EQ(j["survival"]["true_label"]["terms"][0]["name"], "label");
  const json& s = j["arms"][1]["survival"];
  ASSERT_EQ(s["repeats"].size(), 3u);
  EXPECT_TRUE(s["repeats"][2]["cox"].contains("error"));
  EXPECT_EQ(s["repeats"][2]["predicted_positive"], 0);
  EXPECT_EQ(s["hazard_ratio"]["fitted"], 2);
  EXPECT_EQ(s["repeats"][0]["cox"]["terms"][0]["name"], "predicted_positive");
  // Harrell's C of repeat 1 from the same cases directly.
  stats::SurvivalData sd;
  std::vector<double> score;
  for (size_t k = 0; k < t.sites.size(); ++k)
    for (size_t i = 0; i < t.sites[k].labels.size(); ++i) {
      if (std::isnan(t.sites[k].time[i]) || t.sites[k].male[i] < 0) continue;
      sd.time.push_back(t.sites[k].time[i]);
      sd.event.push_back(t.sites[k].event[i]);
      score.push_back(t.scores[1][0][k][i]);
    }
  EXPECT_EQ(s["repeats"][0]["c_index"]["estimate"].get<double>(), stats::concordance_index(sd, score).c_index);
  EXPECT_FALSE(analyse_task(make_task(Design{}), config()).contains("survival"));  // no outcomes
}

TEST(StudyAnalysis, KaplanMeierCurvesOfTheFirstRepeatsGroupsAndOfTheTrueLabel) {
  Design d;
  d.outcomes = true;
  TaskScores t = make_task(d);
  t.sites[0].time[0] = std::nan("");  // missing: left out of every curve
  t.thresholds[1][0] = 1e9;           // nobody predicted positive in arm 1's first repeat
  const json j = analyse_task(t, config());
  // The curves from the same cases, split by hand and given to stats::kaplan_meier directly.
  stats::SurvivalData label[2], called[2];
  for (size_t k = 0; k < t.sites.size(); ++k)
    for (size_t i = 0; i < t.sites[k].labels.size(); ++i) {
      if (std::isnan(t.sites[k].time[i])) continue;
      for (auto [by, g] : {std::pair{label, t.sites[k].labels[i]},
                           std::pair{called, t.scores[0][0][k][i] >= t.thresholds[0][0] ? 1 : 0}}) {
        by[g].time.push_back(t.sites[k].time[i]);
        by[g].event.push_back(t.sites[k].event[i]);
      }
    }
  const json& truth = j["survival"]["kaplan_meier"];
  EXPECT_EQ(truth["label_negative"], stats::to_json(stats::kaplan_meier(label[0])));
  EXPECT_EQ(truth["label_positive"], stats::to_json(stats::kaplan_meier(label[1])));
  const json& base = j["arms"][0]["survival"]["kaplan_meier"];
  EXPECT_EQ(base["repeat"], "r1");
  ASSERT_FALSE(called[0].time.empty());
  ASSERT_FALSE(called[1].time.empty());
  EXPECT_EQ(base["predicted_negative"], stats::to_json(stats::kaplan_meier(called[0])));
  EXPECT_EQ(base["predicted_positive"], stats::to_json(stats::kaplan_meier(called[1])));
  EXPECT_EQ(base["predicted_negative"]["n"].get<size_t>() + base["predicted_positive"]["n"].get<size_t>(),
            j["survival"]["cases"].get<size_t>());
  // An empty group is an error entry, the other group holds every case.
  const json& empty = j["arms"][1]["survival"]["kaplan_meier"];
  EXPECT_EQ(empty["predicted_positive"], json({{"error", "no case in group predicted_positive"}}));
  EXPECT_EQ(empty["predicted_negative"]["n"], j["survival"]["cases"]);
}

TEST(StudyAnalysis, HolmIsOneFamilyPerArmAcrossSitesAndTasks) {
  Design d;
  d.effects = {1.0, 1.3, 1.0};
  json a = analyse_task(make_task(d), config());
  d.seed = 2;
  json b = analyse_task(make_task(d), config());
  b["task"] = "cardiac";
  apply_holm({&a, &b});
  for (size_t arm = 1; arm < 3; ++arm) {
    std::vector<double> p;
    for (const json* t : {&a, &b})
      for (const json& site : (*t)["arms"][arm]["sites"]) p.push_back(site["contrast"]["p_value"]);
    ASSERT_EQ(p.size(), 6u);
    const std::vector<double> adj = stats::holm_adjust(p);
    size_t k = 0;
    for (const json* t : {&a, &b})
      for (const json& site : (*t)["arms"][arm]["sites"]) {
        EXPECT_EQ(site["contrast"]["p_holm"].get<double>(), adj[k++]);
        EXPECT_EQ(site["contrast"]["holm_family"], 6);
      }
  }
  EXPECT_FALSE(a["arms"][0]["sites"][0].contains("contrast"));
}

TEST(StudyAnalysis, BadShapesAndLabelsAreRefusedWithExactTexts) {
  const TaskScores good = make_task(Design{});
  const AnalysisConfig cfg = config();
  auto err = [&](const std::function<void(TaskScores&)>& change) {
    TaskScores t = good;
    change(t);
    return input_error([&] { analyse_task(t, cfg); });
  };
  EXPECT_EQ(err([](TaskScores& t) { t.task.clear(); }),
            "task (unnamed): the task has no name (hint: name it, e.g. metastasis or cardiac)");
  EXPECT_EQ(err([](TaskScores& t) { t.arms[1] = "small"; }),
            "task metastasis: arm 'small' appears twice (hint: arm names must be unique)");
  EXPECT_EQ(err([](TaskScores& t) { t.sites[1].labels[4] = 2; }),
            "task metastasis, site b: case b4 has label 2 (hint: labels must be 1 (positive) or 0 (negative))");
  EXPECT_EQ(err([](TaskScores& t) { t.scores[1][2].pop_back(); }),
            "task metastasis, arm arm1, repeat r3: scores for 2 sites but the task has 3 (hint: every repeat needs "
            "every site)");
  EXPECT_EQ(err([](TaskScores& t) { t.scores[0][0][2].pop_back(); }),
            "task metastasis, arm small, repeat r1, site c: 149 scores for 150 cases (hint: score every case of the "
            "site)");
  EXPECT_EQ(err([](TaskScores& t) { t.scores[1][0][0][7] = std::nan(""); }),
            "task metastasis, arm arm1, repeat r1, site a: case a7 has score nan (hint: scores must be finite "
            "numbers)");
  EXPECT_EQ(err([](TaskScores& t) { t.thresholds[1].pop_back(); }),
            "task metastasis, arm arm1: thresholds for 2 repeats but the task has 3 (hint: every arm needs every "
            "repeat)");
  EXPECT_EQ(err([](TaskScores& t) { t.sites[0].subgroups["first half"].pop_back(); }),
            "task metastasis, site a: subgroup 'first half' has 119 memberships for 120 cases (hint: give one "
            "membership per case)");
  EXPECT_EQ(err([](TaskScores& t) { t.sites[2].time.assign(3, 1.0); }),
            "task metastasis, site c: survival columns of 3 times, 0 events, 0 ages, 0 sexes for 150 cases (hint: "
            "give time, event, age and male for every case, or none of them)");
  EXPECT_EQ(err([](TaskScores& t) { t.sites.clear(); }),
            "task metastasis: no sites (hint: give at least one evaluation site)");
}

TEST(StudyAnalysis, BadConfigIsAConfigErrorNamingTheField) {
  const auto config_error = [](const AnalysisConfig& c, const TaskScores& t) -> std::string {
    try {
      analyse_task(t, c);
    } catch (const ConfigError& e) {
      return e.describe();
    }
    return "no error";
  };
  const TaskScores t = make_task(Design{});
  AnalysisConfig c = config();
  c.bootstrap = 50;
  EXPECT_EQ(config_error(c, t), "analysis.bootstrap: 50 is not in 100..100000 (hint: use e.g. 2000 replicates)");
  c = config();
  c.conf_level = 1.0;
  EXPECT_EQ(config_error(c, t), "analysis.conf_level: 1 is not in (0.5, 1) (hint: use e.g. 0.95)");
  c = config();
  c.upper = "small";
  EXPECT_EQ(config_error(c, t),
            "analysis.upper: 'small' is not a non-baseline arm of task metastasis (hint: name the arm trained with "
            "the real donor data, or leave it empty)");
  EXPECT_EQ(AnalysisConfig{}.to_json(),
            json({{"upper", ""}, {"bootstrap", 2000}, {"seed", 0}, {"conf_level", 0.95}, {"min_positives", 20}}));
}

TEST(StudyAnalysis, JsonFollowsTheStatsNamingScheme) {
  const json j = analyse_task(make_task(Design{}), config());
  const json& auc = j["arms"][0]["sites"][0]["auc"]["repeats"][0];
  EXPECT_EQ(auc["ci"]["method"], "delong logit");
  EXPECT_EQ(auc["ci"]["level"], 0.95);
  EXPECT_GT(auc["ci"]["lower"].get<double>(), 0.0);
  EXPECT_LT(auc["ci"]["upper"].get<double>(), 1.0);
  const json& c = j["arms"][1]["sites"][0]["contrast"];
  for (const char* key : {"method", "repeats", "estimate", "se", "statistic", "p_value", "ci"})
    EXPECT_TRUE(c.contains(key)) << key;
  EXPECT_EQ(j["arms"][1]["sites"][0]["tests"].size(), 3u);
  EXPECT_EQ(j["arms"][0]["arm"], "small");
  EXPECT_TRUE(j["arms"][0]["baseline"].get<bool>());
  EXPECT_FALSE(j["arms"][0]["sites"][0].contains("gain"));
}

}  // namespace
}  // namespace scintigen::study
