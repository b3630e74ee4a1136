// Unit tests of src/stats: hand-checked values, invariants, and every bad input failing with a
// clear InputError (never a number).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "stats/agreement.h"
#include "stats/multiplicity.h"
#include "stats/roc.h"
#include "stats/survival.h"
#include "test_util.h"

namespace scintigen::stats {
namespace {

using testing::input_error;

TEST(Roc, HandExample) {
  // Pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.35>0.2; 0.8 and 0.9 beat all: 8 of 9.
  const std::vector<int> y = {0, 0, 1, 1, 1, 0};
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8, 0.9, 0.2};
  EXPECT_DOUBLE_EQ(auc(y, s), 8.0 / 9.0);
  const RocCurve c = roc_curve(y, s);
  ASSERT_EQ(c.points.size(), 7u);
  EXPECT_TRUE(std::isinf(c.points[0].threshold));
  EXPECT_EQ(c.points.back().tp, 3u);
  EXPECT_EQ(c.points.back().fp, 3u);
  double area = 0.0;  // trapezoids equal the Mann-Whitney AUC
  for (size_t i = 1; i < c.points.size(); ++i)
    area += (c.points[i].fpr - c.points[i - 1].fpr) * (c.points[i].tpr + c.points[i - 1].tpr) / 2.0;
  EXPECT_NEAR(area, 8.0 / 9.0, 1e-15);
}

TEST(Roc, TiesCountHalf) {
  EXPECT_DOUBLE_EQ(auc({0, 1}, {0.5, 0.5}), 0.5);
  EXPECT_DOUBLE_EQ(auc({0, 0, 1, 1}, {1, 2, 2, 3}), (1 + 0.5 + 1 + 1) / 4.0);
  const RocCurve c = roc_curve({0, 1}, {0.5, 0.5});
  ASSERT_EQ(c.points.size(), 2u);  // one diagonal step for the tie
  EXPECT_EQ(c.points[1].tpr, 1.0);
  EXPECT_EQ(c.points[1].fpr, 1.0);
}

TEST(Roc, PerfectSeparationHasZeroVarianceAndClippedCi) {
  const AucResult a = delong_auc({0, 0, 0, 1, 1}, {1, 2, 3, 4, 5});
  EXPECT_EQ(a.auc, 1.0);
  EXPECT_EQ(a.variance, 0.0);
  EXPECT_EQ(a.ci_lower, 1.0);
  EXPECT_EQ(a.ci_upper, 1.0);
  const DelongTest t = delong_test_paired({0, 0, 1, 1}, {1, 2, 3, 4}, {0, 1, 5, 6});
  EXPECT_EQ(t.z, 0.0);
  EXPECT_EQ(t.p_value, 1.0);
}

TEST(Roc, ScoresBackwardsGiveAucBelowHalf) {
  EXPECT_DOUBLE_EQ(auc({1, 1, 0, 0}, {1, 2, 3, 4}), 0.0);
}

TEST(Roc, BadInputIsRefusedWithAClearMessage) {
  EXPECT_EQ(input_error([] { auc({}, {}); }),
            "scores: no cases (hint: give at least one positive and one negative case)");
  EXPECT_EQ(input_error([] {
              auc({0, 1}, {0.1});
            }),
            "scores: 2 labels but 1 scores (hint: every case needs exactly one label and one score)");
  EXPECT_EQ(input_error([] {
              auc({0, 2}, {0.1, 0.2});
            }),
            "scores: case 2 has label 2 (hint: labels must be 1 (positive) or 0 (negative))");
  EXPECT_NE(input_error([] { auc({0, 1}, {0.1, std::nan("")}); }).find("case 2 has score nan"), std::string::npos);
  EXPECT_NE(input_error([] { auc({0, 1}, {0.1, HUGE_VAL}); }).find("case 2 has score inf"), std::string::npos);
  EXPECT_EQ(input_error([] {
              auc({1, 1, 1}, {0.1, 0.2, 0.3});
            }),
            "scores: only one class: all 3 cases are positive (label 1) (hint: ROC analysis needs both positive and "
            "negative cases)");
  EXPECT_NE(input_error([] {
              delong_auc({0, 1, 1}, {0.1, 0.2, 0.3});
            }).find("at least 2 positive and 2 negative"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              delong_auc({0, 0, 1, 1}, {1, 2, 3, 4}, 1.5);
            }).find("confidence level"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              delong_test_paired({0, 0, 1, 1}, {1, 2, 3, 4}, {1, 2, 3});
            }).find("differ in length"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              bootstrap_auc_ci({0, 1}, {1, 2}, 1, 0);
            }).find("at least 2 replicates"),
            std::string::npos);
}

TEST(Roc, BootstrapIsDeterministicPerSeedAndStratified) {
  std::mt19937_64 g(3);
  std::normal_distribution<double> n01;
  std::vector<int> y;
  std::vector<double> s;
  for (int i = 0; i < 400; ++i) y.push_back(i % 3 == 0), s.push_back(n01(g) + (i % 3 == 0));
  const BootstrapCi a = bootstrap_auc_ci(y, s, 500, 42), b = bootstrap_auc_ci(y, s, 500, 42),
                    c = bootstrap_auc_ci(y, s, 500, 43);
  EXPECT_EQ(a.lower, b.lower);
  EXPECT_EQ(a.upper, b.upper);
  EXPECT_NE(a.lower, c.lower);
  EXPECT_LT(a.lower, auc(y, s));
  EXPECT_GT(a.upper, auc(y, s));
}

TEST(Roc, YoudenPicksTheHighestThresholdAmongEqualJ) {
  // J = 2/3 at 0.8 (sens 2/3, spec 1) and at 0.35 (sens 1, spec 2/3): the stricter wins.
  const ThresholdMetrics m = youden_metrics({0, 0, 1, 1, 1, 0}, {0.1, 0.4, 0.35, 0.8, 0.9, 0.2});
  EXPECT_EQ(m.threshold, 0.8);
  EXPECT_EQ(m.tp, 2u);
  EXPECT_EQ(m.fp, 0u);
  const ThresholdMetrics none = threshold_metrics({0, 1}, {0.1, 0.2}, 5.0);
  EXPECT_FALSE(none.ppv.estimate.has_value());  // nothing called positive: PPV undefined
  EXPECT_EQ(*none.npv.estimate, 0.5);
}

TEST(Survival, KaplanMeierHandExample) {
  // Events at 1 and 3, censored at 2 and 4: S(1) = 3/4, S(3) = 3/4 * 1/2.
  const KaplanMeier km = kaplan_meier({{1, 2, 3, 4}, {1, 0, 1, 0}});
  ASSERT_EQ(km.rows.size(), 4u);
  EXPECT_DOUBLE_EQ(km.rows[0].survival, 0.75);
  EXPECT_DOUBLE_EQ(km.rows[2].survival, 0.375);
  EXPECT_DOUBLE_EQ(*km.rows[0].std_err, 0.75 * std::sqrt(1.0 / (4 * 3)));
  EXPECT_EQ(*km.median.median, 3.0);
  EXPECT_FALSE(km.median.upper.has_value());  // the upper CI curve never reaches 0.5
}

TEST(Survival, CurveAtExactlyHalfGivesTheMidpointMedian) {
  const KaplanMeier km = kaplan_meier({{1, 2, 3, 4}, {1, 1, 1, 1}});
  EXPECT_EQ(*km.median.median, 2.5);
  EXPECT_FALSE(km.rows.back().lower.has_value());  // S = 0: no log CI (NA, as survfit)
}

TEST(Survival, BadInputIsRefusedWithAClearMessage) {
  EXPECT_EQ(input_error([] {
              kaplan_meier({{}, {}});
            }),
            "survival data: no subjects (hint: give at least one time and event)");
  EXPECT_NE(input_error([] {
              kaplan_meier({{1, -2}, {1, 0}});
            }).find("subject 2 has negative time"),
            std::string::npos);
  EXPECT_NE(input_error([] { kaplan_meier({{1, 2}, {1, 2}}); }).find("subject 2 has event 2"), std::string::npos);
  EXPECT_NE(input_error([] { kaplan_meier({{1, 2}, {1}}); }).find("2 times but 1 events"), std::string::npos);
  EXPECT_NE(input_error([] {
              kaplan_meier({{1, std::nan("")}, {1, 1}});
            }).find("subject 2 has time nan"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              log_rank_test({{1, 2}, {1, 1}}, {"a"});
            }).find("2 subjects but 1 group labels"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              cox_ph({{1, 2, 3}, {0, 0, 0}}, {{1, 2, 3}}, {"x"});
            }).find("no events"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              cox_ph({{1, 2, 3}, {1, 0, 1}}, {{1, 1, 1}}, {"x"});
            }).find("'x' is constant"),
            std::string::npos);
  EXPECT_NE(input_error([] {
              cox_ph({{1, 2, 3, 4}, {1, 0, 1, 1}}, {{1, 2, 3, 4}, {2, 4, 6, 8}}, {"a", "b"});
            }).find("singular"),
            std::string::npos);
}

TEST(Survival, CoxRefusesAnInfiniteHazardRatio) {
  // Every event in group 1 happens before any time in group 0: the MLE is at infinity.
  const std::string e = input_error([] {
    cox_ph({{1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 1, 1, 0, 1, 0, 1}}, {{1, 1, 1, 1, 0, 0, 0, 0}}, {"called_positive"});
  });
  EXPECT_NE(e.find("did not converge"), std::string::npos) << e;
  EXPECT_NE(e.find("monotone likelihood"), std::string::npos) << e;
}

TEST(Survival, LogRankWithOneGroupIsZero) {
  const LogRank lr = log_rank_test({{1, 2, 3}, {1, 1, 0}}, {"a", "a", "a"});
  EXPECT_EQ(lr.df, 0);
  EXPECT_EQ(lr.chi_square, 0.0);
  EXPECT_EQ(lr.p_value, 1.0);
}

TEST(Agreement, HandExamples) {
  // Two raters, 4 subjects, agree on 3: po = 0.75, pe = 0.5 (balanced margins).
  const CohenKappa c = cohen_kappa({"1", "1", "0", "0"}, {"1", "0", "0", "0"});
  EXPECT_DOUBLE_EQ(c.observed_agreement, 0.75);
  EXPECT_DOUBLE_EQ(c.kappa, (0.75 - 0.5) / (1 - 0.5));
  const FleissKappa f = fleiss_kappa({{"a", "a"}, {"b", "b"}});
  EXPECT_DOUBLE_EQ(f.kappa, 1.0);
  EXPECT_EQ(ordered_categories({"10", "2", "1"}), (std::vector<std::string>{"1", "2", "10"}));
}

TEST(Agreement, BadInputIsRefusedWithAClearMessage) {
  EXPECT_EQ(input_error([] { fleiss_kappa({}); }), "ratings: no subjects (hint: give one row of ratings per subject)");
  EXPECT_EQ(input_error([] {
              fleiss_kappa({{"a"}, {"b"}});
            }),
            "ratings: fewer than 2 raters (1) (hint: agreement needs at least 2 raters)");
  EXPECT_NE(input_error([] { fleiss_kappa({{"a", "b"}, {"a"}}); }).find("subject 2 has 1 ratings"), std::string::npos);
  EXPECT_NE(input_error([] { fleiss_kappa({{"a", "a"}, {"a", "a"}}); }).find("only one category"), std::string::npos);
  EXPECT_NE(input_error([] { fleiss_kappa({{"a", ""}}); }).find("no rating from rater 2"), std::string::npos);
  EXPECT_NE(input_error([] { cohen_kappa({"a"}, {"a", "b"}); }).find("differ in length"), std::string::npos);
  EXPECT_NE(input_error([] {
              cohen_kappa({"a", "b"}, {"a", "b"}, "cubic");
            }).find("unknown kappa weights"),
            std::string::npos);
  EXPECT_NE(input_error([] { accuracy({}, {}); }).find("no subjects"), std::string::npos);
}

// ---- Added for the study analysis (issue 16): logit CI, contrasts, Holm, Harrell's C -------------

TEST(Roc, LogitCiHandValueAndDegenerateEnds) {
  AucResult r;
  r.auc = 0.8;
  r.se = 0.05;
  // logit(0.8) = log 4; half-width 1.959964 * 0.05 / 0.16 = 0.6124888.
  const double half = normal_quantile(0.975) * 0.05 / 0.16;
  const AucInterval ci = delong_logit_ci(r);
  EXPECT_NEAR(ci.lower, 1.0 / (1.0 + std::exp(-(std::log(4.0) - half))), 1e-15);
  EXPECT_NEAR(ci.upper, 1.0 / (1.0 + std::exp(-(std::log(4.0) + half))), 1e-15);
  EXPECT_LT(ci.upper, 1.0);
  const AucResult perfect = delong_auc({0, 0, 0, 1, 1}, {1, 2, 3, 4, 5});  // A = 1, SE = 0
  const AucInterval p = delong_logit_ci(perfect);
  EXPECT_EQ(p.lower, 1.0);
  EXPECT_EQ(p.upper, 1.0);
  const AucInterval backwards = delong_logit_ci(delong_auc({1, 1, 0, 0}, {1, 2, 3, 4}));
  EXPECT_EQ(backwards.lower, 0.0);
  EXPECT_EQ(backwards.upper, 0.0);
}

TEST(Roc, ContrastOfTwoWithWeightsPlusMinusOneIsThePairedTest) {
  std::mt19937_64 g(5);
  std::normal_distribution<double> n01;
  std::vector<int> y;
  std::vector<double> a, b;
  for (int i = 0; i < 300; ++i) {
    y.push_back(i % 4 == 0);
    const double common = n01(g);
    a.push_back(y.back() * 1.1 + common + n01(g));
    b.push_back(std::round(y.back() * 0.7 + common + n01(g)));  // ties
  }
  const DelongTest t = delong_test_paired(y, a, b, 0.9);
  const DelongContrast c = delong_contrast(y, {a, b}, {1.0, -1.0}, 0.9);
  EXPECT_EQ(c.estimate, t.difference);
  EXPECT_NEAR(c.se, t.se, 1e-15);
  EXPECT_NEAR(c.z, t.z, 1e-12);
  EXPECT_NEAR(c.p_value, t.p_value, 1e-13);
  EXPECT_NEAR(c.ci_lower, t.ci_lower, 1e-14);
  EXPECT_NEAR(c.ci_upper, t.ci_upper, 1e-14);
  ASSERT_EQ(c.auc.size(), 2u);
  EXPECT_EQ(c.auc[0], t.auc1);
  // Identical groups cancel exactly: the mean of (a, b) against the mean of (a, b).
  const DelongContrast zero = delong_contrast(y, {a, b, a, b}, {0.5, 0.5, -0.5, -0.5});
  EXPECT_EQ(zero.estimate, 0.0);
  EXPECT_EQ(zero.se, 0.0);
  EXPECT_EQ(zero.p_value, 1.0);
}

TEST(Roc, ContrastBadInputIsRefused) {
  EXPECT_EQ(input_error([] {
              delong_contrast({0, 0, 1, 1}, {{1, 2, 3, 4}}, {1.0, -1.0});
            }),
            "scores: 1 score sets but 2 weights (hint: give one weight per set of scores)");
  EXPECT_EQ(input_error([] {
              delong_contrast({0, 0, 1, 1}, {{1, 2, 3, 4}, {1, 2, 3}}, {1.0, -1.0});
            }),
            "scores: score set 2 has 3 scores for 4 labels (hint: every set needs one score per case)");
  EXPECT_EQ(input_error([] {
              delong_contrast({0, 0, 1, 1}, {}, {});
            }),
            "scores: no score sets (hint: a contrast needs at least one set of scores)");
  EXPECT_NE(input_error([] {
              delong_contrast({0, 1, 1}, {{1, 2, 3}}, {1.0});
            }).find("at least 2 positive"),
            std::string::npos);
}

TEST(Multiplicity, HolmHandComputed) {
  // Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> max 0.06.
  const std::vector<double> adj = holm_adjust({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adj.size(), 4u);
  EXPECT_DOUBLE_EQ(adj[0], 0.03);
  EXPECT_DOUBLE_EQ(adj[1], 0.06);
  EXPECT_DOUBLE_EQ(adj[2], 0.06);
  EXPECT_DOUBLE_EQ(adj[3], 0.02);
  // 0.3 x 3 = 0.9; 0.7 x 2 = 1.4, capped at 1; 0.9 x 1 = 0.9 < 1, raised to 1 (monotone).
  const std::vector<double> capped = holm_adjust({0.7, 0.3, 0.9});
  EXPECT_EQ(capped[0], 1.0);
  EXPECT_DOUBLE_EQ(capped[1], 0.9);
  EXPECT_EQ(capped[2], 1.0);
  EXPECT_TRUE(holm_adjust({}).empty());
  EXPECT_EQ(input_error([] {
              holm_adjust({0.1, std::nan("")});
            }),
            "p-values: p-value 2 is nan (hint: p-values must be numbers in [0, 1] (no NaN))");
}

TEST(Survival, ConcordanceHandExamples) {
  // Comparable pairs (shorter time an event): 10 concordant, 1 discordant (an event and a
  // censoring at time 2), one pair of events at time 3 tied in time and score: not comparable.
  const Concordance c = concordance_index({{1, 2, 2, 3, 3, 4}, {1, 1, 0, 1, 1, 0}}, {5, 3, 4, 2, 2, 1});
  EXPECT_EQ(c.concordant, 10u);
  EXPECT_EQ(c.discordant, 1u);
  EXPECT_EQ(c.tied_score, 0u);
  EXPECT_EQ(c.tied_time, 1u);
  EXPECT_DOUBLE_EQ(c.c_index, 10.0 / 11.0);
  // A score tie counts 1/2: (1 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(concordance_index({{2, 2, 5}, {1, 0, 1}}, {3, 3, 1}).c_index, 0.75);
  EXPECT_EQ(input_error([] {
              concordance_index({{1, 2}, {0, 0}}, {1, 2});
            }),
            "survival data: no comparable pair of subjects (hint: the concordance needs at least one event before "
            "another subject's time)");
  EXPECT_EQ(input_error([] {
              concordance_index({{1, 2}, {1, 0}}, {1});
            }),
            "survival data: 2 subjects but 1 scores (hint: every subject needs exactly one score)");
}

}  // namespace
}  // namespace scintigen::stats
