// Every statistics serialiser (src/stats/json.h, src/stats/analysis.h) against the schema in
// stats_schema.json and the naming scheme (limits only inside "ci"), and the readers the HTML
// report uses reading back what the serialisers wrote.
#include <gtest/gtest.h>

#include <cmath>

#include "core/csv.h"
#include "stats/analysis.h"
#include "stats/json.h"
#include "stats/schema_check.h"

namespace scintigen::stats {
namespace {

using nlohmann::json;
using testing::schema_errors;
using testing::scheme_errors;

const std::vector<int> kLabels = {0, 0, 1, 1, 1, 0, 1, 0};
const std::vector<double> kScores = {0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.6};
const std::vector<double> kOther = {0.3, 0.2, 0.5, 0.6, 0.1, 0.7, 0.9, 0.4};
const SurvivalData kSurvival = {{1, 2, 3, 4, 1.5, 2, 2.5, 3, 5, 6}, {1, 0, 1, 1, 1, 1, 0, 1, 0, 1}};
const std::vector<std::string> kArms = {"neg", "neg", "neg", "neg", "pos", "pos", "pos", "pos", "neg", "pos"};

// Checks `j` against $defs/<def> and the naming scheme.
void expect_valid(const json& j, const std::string& def) {
  EXPECT_EQ(schema_errors(j, def), "") << j.dump(2);
  EXPECT_EQ(scheme_errors(j), "") << j.dump(2);
}

TEST(StatsJsonSchema, EveryResultTypeMatchesItsSchema) {
  expect_valid(to_json(wilson_interval(3, 8, 0.9)), "proportion");
  expect_valid(to_json(wilson_interval(0, 0)), "proportion");  // undefined: estimate and ci null
  expect_valid(to_json(delong_auc(kLabels, kScores)), "auc");
  expect_valid(to_json(auc_with_delong_ci({0, 1, 1}, {0.2, 0.5, 0.9}, 0.95, "t")), "auc");  // no CI
  expect_valid(to_json(bootstrap_auc_ci(kLabels, kScores, 50, 3)), "bootstrap");
  expect_valid(to_json(youden_metrics(kLabels, kScores)), "threshold_metrics");
  expect_valid(to_json(threshold_metrics(kLabels, kScores, 2.0)), "threshold_metrics");  // no positive calls
  expect_valid(to_json(delong_test_paired(kLabels, kScores, kOther)), "delong_test");
  expect_valid(to_json(delong_test_unpaired(kLabels, kScores, kLabels, kOther)), "delong_test");
  expect_valid(to_json(kaplan_meier(kSurvival)), "kaplan_meier");
  expect_valid(to_json(kaplan_meier({{1, 2}, {1, 1}})), "kaplan_meier");  // S reaches 0: CIs null
  expect_valid(to_json(log_rank_test(kSurvival, kArms)), "log_rank");
  std::vector<double> arm;
  for (const auto& a : kArms) arm.push_back(a == "pos");
  expect_valid(to_json(cox_ph(kSurvival, {arm}, {"arm=pos"})), "cox_model");
  const std::vector<std::vector<std::string>> ratings = {{"a", "a", "b"}, {"b", "b", "b"}, {"a", "b", "a"}};
  expect_valid(to_json(fleiss_kappa(ratings)), "fleiss_kappa");
  expect_valid(to_json(cohen_kappa({"a", "b", "a"}, {"a", "b", "b"}, "linear")), "cohen_kappa");
}

TEST(StatsJsonSchema, EveryAnalysisMatchesItsSchema) {
  const CsvTable scores =
      parse_csv("label,score,other\n0,0.1,0.3\n0,0.4,0.2\n1,0.35,0.5\n1,0.8,0.6\n1,0.9,0.1\n0,0.2,0.7\n", "s.csv");
  AucOptions o;
  o.threshold = 0.5;
  o.bootstrap = 20;
  expect_valid(to_json(analyse_auc(scores, o)), "stats_auc");
  expect_valid(to_json(compare_paired(scores, "label", "score", "other", 0.95)), "stats_compare");
  expect_valid(to_json(compare_unpaired(scores, scores, "label", "score", 0.95)), "stats_compare");
  const CsvTable surv =
      parse_csv("time,event,arm,age\n1,1,a,60\n2,0,a,71\n3,1,a,65\n4,1,b,80\n1.5,1,b,55\n2,1,b,70\n", "v.csv");
  SurvivalOptions so;
  so.group_col = "arm";
  so.covariates = {"age"};
  expect_valid(to_json(analyse_survival(surv, so)), "stats_survival");
  const CsvTable ratings = parse_csv("id,r1,r2,truth\n1,a,a,a\n2,b,a,b\n3,b,b,b\n", "r.csv");
  AgreementOptions ao;
  ao.id_col = "id";
  ao.truth_col = "truth";
  expect_valid(to_json(analyse_agreement(ratings, ao)), "stats_agreement");
}

TEST(StatsJsonSchema, CheckersCatchOldNamesAndMissingFields) {
  const json old_auc = {{"auc", 0.8}, {"ci_lower", 0.7}, {"ci_upper", 0.9}, {"conf_level", 0.95}};
  EXPECT_NE(schema_errors(old_auc, "auc"), "");
  EXPECT_NE(scheme_errors(old_auc), "");
  EXPECT_NE(scheme_errors(json{{"terms", {{{"hr_lower", 1.0}}}}}), "");
  EXPECT_NE(scheme_errors(json{{"median", {{"estimate", 1.0}, {"lower", 0.5}}}}), "");
  EXPECT_EQ(scheme_errors(json{{"ci", {{"lower", 0.5}, {"upper", 1.0}, {"level", 0.95}}}}), "");
  json auc = to_json(delong_auc(kLabels, kScores));
  auc.erase("se");
  EXPECT_EQ(schema_errors(auc, "auc"), "auc: no field 'se'\n");
}

TEST(StatsJson, ReadersReturnWhatWasWritten) {
  const AucResult a = delong_auc(kLabels, kScores, 0.9);
  const AucResult a2 = auc_from_json(to_json(a));
  EXPECT_EQ(a2.auc, a.auc);
  EXPECT_EQ(a2.ci_lower, a.ci_lower);
  EXPECT_EQ(a2.ci_upper, a.ci_upper);
  EXPECT_EQ(a2.conf_level, 0.9);
  EXPECT_EQ(a2.positives, a.positives);
  EXPECT_TRUE(std::isnan(auc_from_json(to_json(auc_with_delong_ci({0, 1, 1}, {0.2, 0.5, 0.9}, 0.95, "t"))).ci_lower));

  const ThresholdMetrics m = threshold_metrics(kLabels, kScores, 2.0);
  const ThresholdMetrics m2 = threshold_metrics_from_json(to_json(m));
  EXPECT_EQ(m2.tn, m.tn);
  EXPECT_EQ(m2.sensitivity.lower, m.sensitivity.lower);
  EXPECT_FALSE(m2.ppv.estimate.has_value());

  const DelongTest t = delong_test_paired(kLabels, kScores, kOther);
  const DelongTest t2 = delong_test_from_json(to_json(t));
  EXPECT_EQ(t2.difference, t.difference);
  EXPECT_EQ(t2.ci_upper, t.ci_upper);
  EXPECT_EQ(t2.p_value, t.p_value);

  const KaplanMeier km = kaplan_meier(kSurvival);
  const KaplanMeier km2 = kaplan_meier_from_json(to_json(km));
  ASSERT_EQ(km2.rows.size(), km.rows.size());
  EXPECT_EQ(km2.rows.back().survival, km.rows.back().survival);
  EXPECT_EQ(km2.rows[0].lower, km.rows[0].lower);
  EXPECT_EQ(km2.median.median, km.median.median);
  EXPECT_EQ(km2.median.upper, km.median.upper);

  const LogRank lr = log_rank_test(kSurvival, kArms);
  EXPECT_EQ(log_rank_from_json(to_json(lr)).p_value, lr.p_value);
}

}  // namespace
}  // namespace scintigen::stats
