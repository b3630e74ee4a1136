// The `stats` analyses over CSV tables (src/stats/analysis.h): the rules (DeLong CI only with
// two cases per class, Cox group coding, a failed Cox fit leaving the rest), typed columns with
// file:line errors, and the CSV outputs.
#include "stats/analysis.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "test_util.h"

namespace scintigen::stats {
namespace {

using testing::input_error;

CsvTable csv(const std::string& text) {
  return parse_csv(text, "t.csv");
}

TEST(StatsAnalysis, AucHasADelongCiOnlyWithTwoCasesPerClass) {
  const AucAnalysis a = analyse_auc(csv("label,score\n0,0.1\n0,0.4\n1,0.35\n1,0.8\n"), {});
  EXPECT_EQ(a.auc.positives, 2u);
  EXPECT_TRUE(std::isfinite(a.auc.ci_lower));
  EXPECT_FALSE(a.roc.has_value());
  const AucAnalysis b = analyse_auc(csv("label,score\n0,0.1\n0,0.4\n1,0.35\n"), {});
  EXPECT_DOUBLE_EQ(b.auc.auc, 0.5);
  EXPECT_TRUE(std::isnan(b.auc.se));
  EXPECT_TRUE(std::isnan(b.auc.ci_lower));
}

TEST(StatsAnalysis, AucOptionsChooseColumnsThresholdBootstrapAndCurve) {
  AucOptions o;
  o.label_col = "y";
  o.score_col = "p";
  o.threshold = 0.5;
  o.bootstrap = 10;
  o.roc = true;
  const AucAnalysis a = analyse_auc(csv("y,p\n0,0.1\n0,0.6\n1,0.35\n1,0.8\n"), o);
  ASSERT_TRUE(a.at_threshold.has_value());
  EXPECT_EQ(a.at_threshold->tp, 1u);
  EXPECT_EQ(a.bootstrap->replicates, 10u);
  EXPECT_EQ(roc_csv(*a.roc).substr(0, 30), "threshold,fpr,tpr,tp,fp\ninf,0,");
}

TEST(StatsAnalysis, BadCellsNameFileLineColumnAndValue) {
  EXPECT_EQ(input_error([] { analyse_auc(csv("label,score\n0,0.1\n\n1,x\n"), {}); }),
            "t.csv:4: column 'score' holds 'x', not a finite number (hint: missing or NaN values are not allowed; "
            "drop the row or fill the value)");
  EXPECT_EQ(input_error([] { analyse_auc(csv("label,score\n0,0.1\nyes,0.3\n"), {}); }),
            "t.csv:3: column 'label' holds 'yes', not 0 or 1 (hint: labels must be 1 (positive) or 0 (negative))");
  EXPECT_EQ(input_error([] { analyse_auc(csv(""), {}); }),
            "t.csv: the file is empty (hint: the first line names the columns)");
  EXPECT_EQ(input_error([] { analyse_survival(csv("time,event\n"), {}); }),
            "t.csv: no data rows below the header (hint: give one row per case)");
  SurvivalOptions grouped;
  grouped.group_col = "arm";
  EXPECT_EQ(input_error([&] { analyse_survival(csv("time,event,arm\n1,1,a\n2,0,\n"), grouped); }),
            "t.csv:3: column 'arm' is empty (hint: every subject needs a group)");
}

TEST(StatsAnalysis, CoxCodesGroupsAgainstTheFirstNameAndAddsCovariates) {
  SurvivalOptions o;
  o.group_col = "arm";
  o.covariates = {"age"};
  const SurvivalAnalysis s = analyse_survival(
      csv("time,event,arm,age\n1,1,b,60\n2,0,b,71\n3,1,c,65\n4,1,a,80\n1.5,1,a,55\n2,1,c,70\n5,1,b,62\n6,0,a,77\n"
          "2.5,1,c,58\n3.5,1,a,66\n"),
      o);
  ASSERT_EQ(s.groups.size(), 3u);
  EXPECT_EQ(s.groups[0].name, "a");
  EXPECT_EQ(s.reference_group, "a");
  ASSERT_TRUE(s.cox.has_value()) << s.cox_error;
  EXPECT_EQ(s.cox->names, (std::vector<std::string>{"arm=b", "arm=c", "age"}));
  ASSERT_TRUE(s.log_rank.has_value());
  EXPECT_EQ(s.log_rank->df, 2);
  o.covariates.clear();
  o.cox = false;
  EXPECT_FALSE(analyse_survival(csv("time,event,arm\n1,1,a\n2,1,b\n3,0,a\n"), o).cox.has_value());
}

TEST(StatsAnalysis, AFailedCoxFitLeavesTheRest) {
  SurvivalOptions o;
  o.group_col = "arm";
  // Every event in group b: the hazard ratio is infinite (monotone likelihood).
  const SurvivalAnalysis s = analyse_survival(csv("time,event,arm\n1,1,b\n2,1,b\n3,0,a\n4,0,a\n5,0,a\n"), o);
  EXPECT_FALSE(s.cox.has_value());
  EXPECT_NE(s.cox_error, "");
  EXPECT_EQ(s.groups.size(), 2u);
  EXPECT_TRUE(s.log_rank.has_value());
  EXPECT_EQ(to_json(s)["cox"]["error"], s.cox_error);
}

TEST(StatsAnalysis, SurvivalWithoutGroupsIsOneCurveAndItsCsv) {
  const SurvivalAnalysis s = analyse_survival(csv("t,e\n1,1\n2,1\n"), [] {
    SurvivalOptions o;
    o.time_col = "t";
    o.event_col = "e";
    return o;
  }());
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].name, "all");
  EXPECT_FALSE(s.log_rank.has_value());
  EXPECT_FALSE(s.cox.has_value());
  const std::string text = kaplan_meier_csv(s);
  EXPECT_EQ(text.rfind("group,time,n_risk,n_event,n_censor,survival,std_err,lower,upper\nall,1,2,1,0,0.5,", 0), 0u)
      << text;
  const std::string last = "\nall,2,1,1,0,0,NA,NA,NA\n";  // S = 0: no standard error or CI
  EXPECT_EQ(text.substr(text.size() - last.size()), last) << text;
}

TEST(StatsAnalysis, AgreementRatersDefaultToEveryOtherColumn) {
  AgreementOptions o;
  o.id_col = "id";
  o.truth_col = "truth";
  const AgreementAnalysis a =
      analyse_agreement(csv("id,r1,r2,r3,truth\n1,a,a,a,a\n2,b,b,a,b\n3,a,b,b,b\n4,b,b,b,b\n"), o);
  EXPECT_EQ(a.raters, (std::vector<std::string>{"r1", "r2", "r3"}));
  ASSERT_EQ(a.cohen.size(), 3u);
  EXPECT_EQ(a.cohen[2].rater1, "r2");
  EXPECT_EQ(a.cohen[2].rater2, "r3");
  ASSERT_EQ(a.accuracy.size(), 3u);
  EXPECT_EQ(a.accuracy[1].successes, 4u);
  EXPECT_EQ(a.all_agree.successes, 2u);
  o.raters = {"r1"};
  EXPECT_EQ(input_error([&] { analyse_agreement(csv("id,r1,r2,truth\n1,a,a,a\n"), o); }),
            "t.csv: fewer than 2 raters (1) (hint: agreement needs at least 2 rater columns)");
}

}  // namespace
}  // namespace scintigen::stats
