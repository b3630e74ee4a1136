// `reader report`'s analysis (src/reader/report.h) on hand-made answers: exact values of small
// cases worked out by hand below, the bootstrap against its analytic known answers, the missing
// answers, answers.csv, the errors; and the HTML page (report/reader_html.h).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/rng.h"
#include "reader/report.h"
#include "report/reader_html.h"
#include "stats/schema_check.h"
#include "test_util.h"

namespace scintigen::reader {
namespace {

using nlohmann::json;

// n / 2 real cases r0.. then n / 2 synthetic s0.., and the named readers.
StudyData study(size_t n, const std::vector<std::string>& readers, const std::string& task = "realness") {
  StudyData d;
  d.meta = {{"format", "scintigen-reader-study"}, {"config", {{"task", task}, {"margin", 0.15}}}};
  for (size_t i = 0; i < n; ++i) {
    StudyCase c;
    c.index = i;
    c.origin = i < n / 2 ? "real" : "synthetic";
    c.case_id = (i < n / 2 ? "r" : "s") + std::to_string(i < n / 2 ? i : i - n / 2);
    d.cases.push_back(c);
  }
  for (const auto& r : readers) d.readers.push_back({r, "reader"});
  return d;
}

void answer(StudyData& d, const std::string& reader, const std::string& case_id, const std::string& call,
            int confidence) {
  Answer a;
  a.reader = reader;
  a.case_id = case_id;
  a.call = call;
  a.confidence = confidence;
  d.answers.push_back(a);
}

ReportConfig config(int bootstrap = 200) {
  ReportConfig c;
  c.study = "study";
  c.out = "out";
  c.bootstrap = bootstrap;
  return c;
}

std::string analysis_error(const StudyData& d, const ReportConfig& c = config()) {
  try {
    analyse_study(d, c);
  } catch (const Error& e) {
    return e.describe();
  }
  return "no error";
}

// Two readers, 2 real and 2 synthetic cases. Reader a answers all four: r0 real 5 (rating 1),
// r1 synthetic 2 (7), s0 synthetic 4 (9), s1 real 1 (5). Reader b misses s1: r0 real 3 (3),
// r1 real 4 (2), s0 synthetic 5 (10).
StudyData small_study() {
  StudyData d = study(4, {"a", "b"});
  answer(d, "a", "r0", "real", 5);
  answer(d, "a", "r1", "synthetic", 2);
  answer(d, "a", "s0", "synthetic", 4);
  answer(d, "a", "s1", "real", 1);
  answer(d, "b", "r0", "real", 3);
  answer(d, "b", "r1", "real", 4);
  answer(d, "b", "s0", "synthetic", 5);
  return d;
}

TEST(ReaderReport, PerReaderExactValues) {
  const json r = analyse_study(small_study(), config());
  EXPECT_EQ(r["format"], kReportFormat);
  EXPECT_EQ(r["study"]["n"], 4);
  EXPECT_EQ(r["study"]["task"], "realness");
  const json& a = r["realness"]["readers"][0];
  EXPECT_EQ(a["reader"], "a");
  EXPECT_EQ(a["answered"], 4);
  EXPECT_EQ(a["missing"], 0);
  EXPECT_EQ(a["accuracy"]["successes"], 2);
  EXPECT_EQ(a["accuracy"]["trials"], 4);
  EXPECT_EQ(a["sensitivity"]["successes"], 1);  // s0 of s0, s1
  EXPECT_EQ(a["specificity"]["successes"], 1);  // r0 of r0, r1
  // ratings: synthetic {9, 5} vs real {1, 7}: 9 > 1, 9 > 7, 5 > 1, 5 < 7 -> 3 / 4
  EXPECT_DOUBLE_EQ(a["auc"]["estimate"].get<double>(), 0.75);
  EXPECT_EQ(a["auc"]["ci"]["method"], "delong");
  // 2 of 4, margin 0.15: P(X >= 2 | 4, 0.35) = 1 - 0.65^4 - 4 0.35 0.65^3 = 0.43701875, and by
  // symmetry P(X <= 2 | 4, 0.65) the same.
  const json& e = a["equivalence"];
  EXPECT_NEAR(e["p_value_low"].get<double>(), 0.43701875, 1e-12);
  EXPECT_NEAR(e["p_value_high"].get<double>(), 0.43701875, 1e-12);
  EXPECT_NEAR(e["p_value"].get<double>(), 0.43701875, 1e-12);
  EXPECT_FALSE(e["equivalent"].get<bool>());
  EXPECT_DOUBLE_EQ(e["bounds"][0].get<double>(), 0.35);

  const json& b = r["realness"]["readers"][1];
  EXPECT_EQ(b["answered"], 3);
  EXPECT_EQ(b["missing"], 1);
  EXPECT_EQ(b["accuracy"]["successes"], 3);
  // one synthetic case: the AUC (1.0) has no DeLong CI
  EXPECT_DOUBLE_EQ(b["auc"]["estimate"].get<double>(), 1.0);
  EXPECT_TRUE(b["auc"]["ci"].is_null());
  // 3 of 3: P(X >= 3 | 3, 0.35) = 0.35^3; P(X <= 3 | 3, 0.65) = 1
  EXPECT_NEAR(b["equivalence"]["p_value_low"].get<double>(), 0.35 * 0.35 * 0.35, 1e-12);
  EXPECT_NEAR(b["equivalence"]["p_value_high"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(testing::scheme_errors(r), "");
}

TEST(ReaderReport, PooledAndAgreementOnCompleteCases) {
  const json r = analyse_study(small_study(), config());
  const json& p = r["realness"]["pooled"];
  // complete cases r0, r1, s0: a 2 of 3 right, b 3 of 3
  EXPECT_EQ(p["complete_cases"], 3);
  EXPECT_EQ(p["real"], 2);
  EXPECT_EQ(p["synthetic"], 1);
  EXPECT_NEAR(p["accuracy"]["estimate"].get<double>(), 5.0 / 6.0, 1e-15);
  EXPECT_NEAR(p["sensitivity"]["estimate"].get<double>(), 1.0, 1e-15);
  EXPECT_NEAR(p["specificity"]["estimate"].get<double>(), 0.75, 1e-15);  // a 1 of 2, b 2 of 2
  // a: s0 9 vs {1, 7} -> 1; b: s0 10 vs {3, 2} -> 1
  EXPECT_NEAR(p["auc"]["estimate"].get<double>(), 1.0, 1e-15);
  EXPECT_EQ(p["accuracy"]["method"],
            "reader x case components of variance (Beiden-Wagner-Campbell 2000) from three bootstraps");
  EXPECT_EQ(p["accuracy"]["two_way_percentile"]["ci"]["method"], "two-way bootstrap percentile");
  EXPECT_EQ(p["bootstrap"]["replicates"], 200);
  EXPECT_EQ(p["accuracy"]["replicates"], 200);
  // the corrected variance from its components, and the normal CI on it (clipped to [0, 1])
  for (const char* s : {"accuracy", "sensitivity", "specificity", "auc"}) {
    const json& m = p[s];
    const json& v = m["components"];
    const double vr = v["v_readers"], vc = v["v_cases"], vb = v["v_both"];
    EXPECT_NEAR(v["v_interaction"].get<double>(), vb - vr - vc, 1e-15) << s;
    EXPECT_NEAR(v["v_combined"].get<double>(), 2 * (vr + vc) - vb, 1e-15) << s;
    const bool truncated = 2 * (vr + vc) - vb < vc;
    EXPECT_EQ(v["truncated"].get<bool>(), truncated) << s;
    const double se = std::sqrt(truncated ? vc : 2 * (vr + vc) - vb);
    EXPECT_NEAR(m["se"].get<double>(), se, 1e-15) << s;
    const double est = m["estimate"], z = 1.959963984540054;
    EXPECT_NEAR(m["ci"]["lower"].get<double>(), std::clamp(est - z * se, 0.0, 1.0), 1e-12) << s;
    EXPECT_NEAR(m["ci"]["upper"].get<double>(), std::clamp(est + z * se, 0.0, 1.0), 1e-12) << s;
  }
  // the pooled TOST uses the corrected SE
  EXPECT_EQ(p["equivalence"]["se"], p["accuracy"]["se"]);
  EXPECT_EQ(p["equivalence"]["method"], "z-TOST on the reader x case components-of-variance SE");
  EXPECT_EQ(testing::scheme_errors(r), "");
  // the page shows the corrected SE and says how it is made
  const std::string h = report::reader_report_html(r, report::WebAssets{});
  EXPECT_NE(h.find(fmt::format("(SE {:.3f})", p["accuracy"]["se"].get<double>())), std::string::npos);
  EXPECT_NE(h.find("components of variance of Beiden, Wagner &amp; Campbell (2000) from three bootstraps"),
            std::string::npos);
  const json& g = r["realness"]["agreement"];
  EXPECT_EQ(g["complete_cases"], 3);
  // calls: r0 real/real, r1 synthetic/real, s0 synthetic/synthetic: observed 2 of 3 agree
  EXPECT_NEAR(g["cohen"][0]["observed_agreement"].get<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_EQ(g["cohen"][0]["reader1"], "a");
  EXPECT_EQ(g["cohen"][0]["reader2"], "b");
  // Pe = (2/3)(1/3) + (1/3)(2/3) = 4/9: kappa = (2/3 - 4/9) / (5/9) = 0.4
  EXPECT_NEAR(g["cohen"][0]["estimate"].get<double>(), 0.4, 1e-12);
  EXPECT_EQ(g["all_agree"]["successes"], 2);
  const json& m = r["missing"];
  EXPECT_EQ(m["readers"][1]["missing"], json::array({"s1"}));
  EXPECT_EQ(m["readers"][0]["missing"], json::array());
}

// Pure reader effect: reader a always right, reader b always wrong. Resampling the cases changes
// nothing (v_cases = 0 exactly); the readers-only and two-way replicates are both (draws of a) / 2,
// taking 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: variance 1/8, and the corrected variance
// 2 (1/8 + 0) - 1/8 = 1/8. The two-way percentile interval is [0, 1]. Monte Carlo tolerance of the
// SE: 10% (V = 2 V_readers - V_both of two independent 2000-replicate bootstraps: ~3.5% relative
// in the SE).
TEST(ReaderReport, BootstrapReaderVarianceKnownAnswer) {
  StudyData d = study(20, {"a", "b"});
  for (const auto& c : d.cases) {
    const bool syn = c.origin == "synthetic";
    answer(d, "a", c.case_id, syn ? "synthetic" : "real", 3);
    answer(d, "b", c.case_id, syn ? "real" : "synthetic", 3);
  }
  const json p = analyse_study(d, config(2000))["realness"]["pooled"];
  const double se = std::sqrt(0.125);
  EXPECT_DOUBLE_EQ(p["accuracy"]["estimate"].get<double>(), 0.5);
  EXPECT_EQ(p["accuracy"]["components"]["v_cases"].get<double>(), 0.0);
  EXPECT_NEAR(std::sqrt(p["accuracy"]["components"]["v_readers"].get<double>()), se, 0.1 * se);
  EXPECT_NEAR(std::sqrt(p["accuracy"]["components"]["v_both"].get<double>()), se, 0.1 * se);
  EXPECT_NEAR(p["accuracy"]["se"].get<double>(), se, 0.1 * se);
  EXPECT_DOUBLE_EQ(p["accuracy"]["two_way_percentile"]["ci"]["lower"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(p["accuracy"]["two_way_percentile"]["ci"]["upper"].get<double>(), 1.0);
  // 0.5 -/+ 1.96 x ~0.354, clipped
  EXPECT_DOUBLE_EQ(p["accuracy"]["ci"]["lower"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(p["accuracy"]["ci"]["upper"].get<double>(), 1.0);
  // AUCs 1 and 0: the same distribution
  EXPECT_NEAR(p["auc"]["se"].get<double>(), se, 0.1 * se);
  // the z-TOST at SE ~0.354 cannot show equivalence
  EXPECT_FALSE(p["equivalence"]["equivalent"].get<bool>());
}

// One reader: only the cases vary (v_readers = 0 exactly). Within-origin resampling of k_o correct
// of n_o has the ideal bootstrap variance sum_o n_o p_o (1 - p_o) / n^2 (p_o = k_o / n_o), for
// the cases-only and the two-way bootstrap alike, so V = 2 V_cases - V_both is that too. Here 12
// real (9 right) and 12 synthetic (4 right): SE = sqrt(12 (0.75 0.25 + 1/3 2/3)) / 24.
// Tolerance 10% (Monte Carlo: ~3.5% relative in the SE).
TEST(ReaderReport, BootstrapCaseVarianceKnownAnswer) {
  StudyData d = study(24, {"a"});
  for (size_t i = 0; i < 24; ++i) {
    const bool syn = i >= 12;
    const bool right = syn ? i - 12 < 4 : i < 9;
    answer(d, "a", d.cases[i].case_id, syn == right ? "synthetic" : "real", 1 + static_cast<int>(i % 5));
  }
  const json r = analyse_study(d, config(2000));
  const json& p = r["realness"]["pooled"];
  const double se = std::sqrt(12 * (0.75 * 0.25 + 2.0 / 9.0)) / 24;
  EXPECT_NEAR(p["accuracy"]["estimate"].get<double>(), 13.0 / 24.0, 1e-15);
  EXPECT_LT(p["accuracy"]["components"]["v_readers"].get<double>(), 1e-20);  // 0 up to rounding
  EXPECT_NEAR(p["accuracy"]["se"].get<double>(), se, 0.1 * se);
  EXPECT_NEAR(p["accuracy"]["two_way_percentile"]["se"].get<double>(), se, 0.1 * se);
  EXPECT_NEAR(p["sensitivity"]["estimate"].get<double>(), 4.0 / 12.0, 1e-15);
  // sensitivity alone: sqrt(p (1 - p) / 12)
  EXPECT_NEAR(p["sensitivity"]["se"].get<double>(), std::sqrt(2.0 / 9.0 / 12), 0.1 * std::sqrt(2.0 / 9.0 / 12));
  // one reader: no agreement statistics
  EXPECT_EQ(r["realness"]["agreement"]["fleiss"]["error"], "agreement needs 2 readers or more");
  EXPECT_TRUE(r["realness"]["agreement"]["cohen"].empty());
}

// Pure case effect: four readers give the same calls (those of the test above) on every case.
// The readers-only bootstrap cannot move (v_readers = 0 exactly), the interaction is 0, and the
// SE is the cases' one, sqrt(12 (0.75 0.25 + 1/3 2/3)) / 24, not reduced by the four readers.
// Tolerance 10% as above.
TEST(ReaderReport, BootstrapPureCaseEffectKnownAnswer) {
  const std::vector<std::string> readers = {"a", "b", "c", "d"};
  StudyData d = study(24, readers);
  for (size_t i = 0; i < 24; ++i) {
    const bool syn = i >= 12;
    const bool right = syn ? i - 12 < 4 : i < 9;
    for (const auto& reader : readers)
      answer(d, reader, d.cases[i].case_id, syn == right ? "synthetic" : "real", 1 + static_cast<int>(i % 5));
  }
  const json p = analyse_study(d, config(2000))["realness"]["pooled"];
  const double se = std::sqrt(12 * (0.75 * 0.25 + 2.0 / 9.0)) / 24;
  EXPECT_NEAR(p["accuracy"]["estimate"].get<double>(), 13.0 / 24.0, 1e-15);
  EXPECT_LT(p["accuracy"]["components"]["v_readers"].get<double>(), 1e-20);  // 0 up to rounding
  EXPECT_NEAR(std::sqrt(p["accuracy"]["components"]["v_cases"].get<double>()), se, 0.1 * se);
  EXPECT_NEAR(p["accuracy"]["se"].get<double>(), se, 0.1 * se);
}

// r readers x c cases (c / 2 of each origin), every call a fair coin flip with a random
// confidence, from `seed`.
StudyData coin_flip_study(size_t readers, size_t cases, uint64_t seed) {
  std::vector<std::string> names;
  for (size_t r = 0; r < readers; ++r) names.push_back("r" + std::to_string(r));
  StudyData d = study(cases, names);
  Rng rng(seed);
  for (const auto& name : names)
    for (const auto& c : d.cases)
      answer(d, name, c.case_id, rng.bernoulli(0.5) ? "synthetic" : "real", 1 + static_cast<int>(rng.below(5)));
  return d;
}

// Pure noise: with coin-flip answers the pooled accuracy (mean of r c independent Bernoulli(0.5)
// cells) has variance 0.25 / (r c) over studies with new readers and new cases: SE 0.0395 for
// 4 x 40, 0.0198 for 8 x 80. One study's estimate of it varies a lot (with 4 readers the reader
// component rests on 3 degrees of freedom: the reported SE has a relative SD of 20% from study to
// study at 4 x 40, 15% at 8 x 80), so a single study cannot test it; this takes K seeded studies
// (2000 replicates each, the default) and compares with the analytic SE:
//   - the mean of the reported SE (truncated at v_cases) within 15%. The truncation, which applies
//     in about half the studies, biases it upwards: by simulation of the ideal bootstraps (20000
//     studies; NumPy, not part of the test) +8% at 4 x 40 and +7% at 8 x 80;
//   - the root of the mean untruncated variance 2 (V_R + V_C) - V_B within 15% (ideal bootstraps:
//     (1 - 1 / (r c)) 0.25 / (r c), i.e. -0.2% in the SE);
//   - the two-way bootstrap's mean SE, the contrast: not within 15% (ideal: +55% and +64%).
// K = 200 (4 x 40) and 60 (8 x 80): the Monte Carlo error of the means is about 1.5-2% of the SE.
TEST(ReaderReport, BootstrapPureNoiseKnownAnswer) {
  struct Design {
    size_t readers, cases, studies;
  };
  for (const Design& g : {Design{4, 40, 200}, Design{8, 80, 60}}) {
    double se = 0.0, v_combined = 0.0, se_two_way = 0.0;
    size_t truncated = 0;
    const double k_studies = static_cast<double>(g.studies);
    for (size_t k = 0; k < g.studies; ++k) {
      ReportConfig c = config(2000);
      c.seed = 100 + k;
      const json m =
          analyse_study(coin_flip_study(g.readers, g.cases, 1000 * g.readers + k), c)["realness"]["pooled"]["accuracy"];
      se += m["se"].get<double>() / k_studies;
      v_combined += m["components"]["v_combined"].get<double>() / k_studies;
      se_two_way += m["two_way_percentile"]["se"].get<double>() / k_studies;
      truncated += m["components"]["truncated"].get<bool>();
    }
    const double want = std::sqrt(0.25 / static_cast<double>(g.readers * g.cases));
    const double untruncated = std::sqrt(v_combined);
    std::printf(
        "pure noise %zu x %zu (%zu studies): analytic SE %.4f; mean corrected SE %.4f (x%.3f, truncated in %zu), "
        "untruncated %.4f (x%.3f), mean two-way bootstrap SE %.4f (x%.3f)\n",
        g.readers, g.cases, g.studies, want, se, se / want, truncated, untruncated, untruncated / want, se_two_way,
        se_two_way / want);
    EXPECT_NEAR(se / want, 1.0, 0.15) << g.readers << " x " << g.cases;
    EXPECT_NEAR(untruncated / want, 1.0, 0.15) << g.readers << " x " << g.cases;
    EXPECT_GT(se_two_way / want, 1.15) << g.readers << " x " << g.cases;
  }
}

TEST(ReaderReport, SeedDecidesTheBootstrap) {
  const StudyData d = small_study();
  ReportConfig c = config();
  const json a = analyse_study(d, c), b = analyse_study(d, c);
  EXPECT_EQ(a["realness"], b["realness"]);
  c.seed = 2;
  const json e = analyse_study(d, c);
  EXPECT_NE(a["realness"]["pooled"]["accuracy"]["se"], e["realness"]["pooled"]["accuracy"]["se"]);
}

TEST(ReaderReport, PooledNeedsBothOrigins) {
  StudyData d = study(4, {"a", "b"});
  answer(d, "a", "r0", "real", 1);
  answer(d, "b", "r0", "synthetic", 1);
  answer(d, "a", "s0", "real", 1);
  const json r = analyse_study(d, config());
  EXPECT_EQ(r["realness"]["pooled"]["error"],
            "the cases every reader answered hold 1 real and 0 synthetic; the pooled analysis needs both origins");
  // agreement on r0 alone: a real, b synthetic; Cohen: Po = 0, Pe = 0 -> kappa = 0
  EXPECT_EQ(r["realness"]["agreement"]["complete_cases"], 1);
  EXPECT_NEAR(r["realness"]["agreement"]["cohen"][0]["estimate"].get<double>(), 0.0, 1e-15);
  // b read real cases only: an AUC over one class is an error, not a number
  EXPECT_TRUE(r["realness"]["readers"][1]["auc"]["error"].is_string());
  // the page shows the errors as text
  const std::string h = report::reader_report_html(r, report::WebAssets{});
  EXPECT_NE(h.find("<p>Pooled: <span class=\"err\">the cases every reader answered hold 1 real"), std::string::npos);
}

TEST(ReaderReport, DiagnosisPerOriginAndDifference) {
  StudyData d = study(4, {"a", "b"}, "diagnosis");
  // labels: r0 mets 1 grade 2, r1 mets 0 grade 0, s0 mets 1 grade 3, s1 mets 0 (no grade)
  d.cases[0].labels.metastasis = 1;
  d.cases[0].labels.cardiac_grade = 2;
  d.cases[1].labels.metastasis = 0;
  d.cases[1].labels.cardiac_grade = 0;
  d.cases[2].labels.metastasis = 1;
  d.cases[2].labels.cardiac_grade = 3;
  d.cases[3].labels.metastasis = 0;
  auto dx = [&](const std::string& reader, const std::string& id, int mets, int grade) {
    Answer a;
    a.reader = reader;
    a.case_id = id;
    a.metastasis = mets;
    a.grade = grade;
    d.answers.push_back(a);
  };
  // a: all metastasis right; grades r0 2 (right), r1 1, s0 3 (right)
  dx("a", "r0", 1, 2), dx("a", "r1", 0, 1), dx("a", "s0", 1, 3), dx("a", "s1", 0, 0);
  // b: r0 wrong, r1 right, s0 right, s1 wrong
  dx("b", "r0", 0, 2), dx("b", "r1", 0, 0), dx("b", "s0", 1, 1), dx("b", "s1", 1, 0);
  const json r = analyse_study(d, config());
  EXPECT_TRUE(r["realness"].is_null());
  const json& a = r["diagnosis"]["readers"][0];
  EXPECT_EQ(a["answered"], 4);
  EXPECT_EQ(a["real"]["metastasis"]["n"], 2);
  EXPECT_EQ(a["real"]["metastasis"]["accuracy"]["successes"], 2);
  EXPECT_EQ(a["real"]["grade"]["n"], 2);
  EXPECT_EQ(a["real"]["grade"]["accuracy"]["successes"], 1);
  EXPECT_EQ(a["synthetic"]["grade"]["n"], 1);  // s1 has no grade label
  // quadratic kappa of a's real grades (2, 1) vs labels (2, 0): categories 0, 1, 2; O: (2,2),
  // (1,0) -> sum w O = 1 / 2; E from rows {1: 1, 2: 1} x cols {0: 1, 2: 1} / 4: w = 1, 1, 4, 0
  // -> (1 + 1 + 4 + 0) / 4 = 1.5; kappa = 1 - 0.5 / 1.5 = 2 / 3
  EXPECT_NEAR(a["real"]["grade"]["kappa"]["estimate"].get<double>(), 2.0 / 3.0, 1e-12);
  const json& b = r["diagnosis"]["readers"][1];
  EXPECT_EQ(b["real"]["metastasis"]["sensitivity"]["successes"], 0);  // r0 missed
  EXPECT_EQ(b["real"]["metastasis"]["specificity"]["successes"], 1);
  const json& p = r["diagnosis"]["pooled"];
  // metastasis accuracy: real (2 + 1) / 4, synthetic (2 + 1) / 4, difference 0
  EXPECT_NEAR(p["metastasis_accuracy"]["real"]["estimate"].get<double>(), 0.75, 1e-15);
  EXPECT_NEAR(p["metastasis_accuracy"]["difference"]["estimate"].get<double>(), 0.0, 1e-15);
  // grade: real (1 + 2) / 4, synthetic (1 + 0) / 2 (s0 only)
  EXPECT_NEAR(p["grade_accuracy"]["real"]["estimate"].get<double>(), 0.75, 1e-15);
  EXPECT_NEAR(p["grade_accuracy"]["synthetic"]["estimate"].get<double>(), 0.5, 1e-15);
  EXPECT_NEAR(p["grade_accuracy"]["difference"]["estimate"].get<double>(), 0.25, 1e-15);
  EXPECT_EQ(p["grade_accuracy"]["difference"]["ci"]["method"], "case bootstrap percentile");
  EXPECT_EQ(testing::scheme_errors(r), "");
  // the page of a diagnosis-only study: no realness section, no charts
  const std::string h = report::reader_report_html(r, report::WebAssets{});
  EXPECT_NE(h.find("<h2 id=\"diagnosis\">"), std::string::npos);
  EXPECT_EQ(h.find("id=\"realness\""), std::string::npos);
  EXPECT_TRUE(report::reader_report_charts(r).empty());
}

TEST(ReaderReport, AnswersCsv) {
  EXPECT_EQ(answers_csv(small_study()),
            "case,truth,a,b\n"
            "r0,real,real,real\n"
            "r1,real,synthetic,real\n"
            "s0,synthetic,synthetic,synthetic\n"
            "s1,synthetic,real,\n");
}

TEST(ReaderReport, Errors) {
  StudyData d = small_study();
  d.answers.push_back(d.answers[0]);
  EXPECT_EQ(analysis_error(d),
            "reader report: reader a has two answers for case r0 (hint: pass a study folder made by scintigen "
            "reader create)");
  d = small_study();
  answer(d, "zed", "r0", "real", 1);
  EXPECT_EQ(analysis_error(d),
            "reader report: an answer is by 'zed', who is not a reader of the study (hint: pass a study folder made "
            "by scintigen reader create)");
  d = small_study();
  answer(d, "b", "x9", "real", 1);
  EXPECT_EQ(analysis_error(d),
            "reader report: reader b answered case x9, which is not in the study (hint: pass a study folder made by "
            "scintigen reader create)");
  d = small_study();
  d.answers[0].confidence = 6;
  EXPECT_EQ(analysis_error(d),
            "reader report: reader a's answer for case r0 has call 'real' with confidence 6 (hint: a realness "
            "answer is real or synthetic with a confidence of 1 to 5)");
  d = small_study();
  d.meta["config"].erase("margin");
  EXPECT_EQ(analysis_error(d),
            "reader report: the study's meta has no config.margin (hint: pass a study folder made by scintigen "
            "reader create)");
  d = small_study();
  d.meta["config"]["margin"] = 0.5;
  EXPECT_EQ(analysis_error(d),
            "reader report: config.margin 0.5 is not between 0 and 0.5 (hint: pass a study folder made by scintigen "
            "reader create)");
  d = small_study();
  d.cases[0].origin = "fake";
  EXPECT_EQ(analysis_error(d),
            "reader report: case r0 has origin 'fake', not real or synthetic (hint: pass a study folder made by "
            "scintigen reader create)");
  EXPECT_EQ(analysis_error(small_study(), config(99)),
            "--bootstrap: 99 is below 100 (hint: the percentile intervals need enough replicates; the default is "
            "2000)");
  ReportConfig c = config();
  c.conf_level = 1;
  EXPECT_EQ(analysis_error(small_study(), c), "--conf-level: must lie strictly between 0 and 1");
  c = config();
  c.out = "";
  EXPECT_EQ(analysis_error(small_study(), c), "--out: is required (hint: the report folder to create)");
}

// ---- the page ----------------------------------------------------------------------------------

TEST(ReaderReportHtml, ChartsAndEscaping) {
  StudyData d = small_study();
  d.readers[1].name = "b<i>";
  for (auto& a : d.answers)
    if (a.reader == "b") a.reader = "b<i>";
  const json r = analyse_study(d, config());
  const std::string h = report::reader_report_html(r, report::WebAssets{});
  EXPECT_NE(h.find("id=\"chart-reader-accuracy\""), std::string::npos);
  EXPECT_NE(h.find("id=\"chart-reader-roc\""), std::string::npos);
  EXPECT_NE(h.find("b&lt;i&gt;"), std::string::npos);
  EXPECT_EQ(h.find("<td>b<i>"), std::string::npos);
  EXPECT_NE(h.find("<ul id=\"plot-problems\" hidden></ul>"), std::string::npos);
  const json charts = report::reader_report_charts(r);
  ASSERT_GE(charts.size(), 2u);
  EXPECT_EQ(charts[0]["id"], "chart-reader-accuracy");
}

TEST(ReaderReportHtml, RefusesOtherReports) {
  json r = analyse_study(small_study(), config());
  r["format"] = "scintigen-audit";
  EXPECT_EQ(testing::input_error_reason([&] { report::reader_report_html(r, report::WebAssets{}); }),
            "format is \"scintigen-audit\", not \"scintigen-reader-report\"");
  r = analyse_study(small_study(), config());
  r.erase("study");
  EXPECT_NE(testing::input_error_reason([&] {
              report::reader_report_html(r, report::WebAssets{});
            }).find("not a complete scintigen reader report"),
            std::string::npos);
}

}  // namespace
}  // namespace scintigen::reader
