// ROC analysis of one binary classifier: the curve, the AUC with its DeLong variance and
// confidence interval, a stratified seeded bootstrap interval, metrics at a threshold, and
// DeLong tests comparing two AUCs.
//
//   std::vector<int> y = {0, 0, 1, 1, 1};                // 1 = positive (case), 0 = negative
//   std::vector<double> p = {0.1, 0.4, 0.35, 0.8, 0.9};  // higher = more likely positive
//   AucResult a = delong_auc(y, p);                       // a.auc, a.se, a.ci_lower, a.ci_upper
//   BootstrapCi b = bootstrap_auc_ci(y, p, 2000, /*seed=*/7);
//   ThresholdMetrics m = youden_metrics(y, p);           // sensitivity, specificity, PPV, NPV
//   DelongTest t = delong_test_paired(y, p, q);          // t.z, t.p_value
//
// Conventions (as pROC with direction = "<"): a case is called positive when its score is
// >= the threshold; the AUC is never flipped, so a score that ranks backwards gives AUC < 0.5.
// Every function validates its input and throws InputError(where, ...) for: empty input,
// mismatched lengths, labels other than 0/1, NaN or infinite scores, or only one class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "stats/distributions.h"

namespace scintigen::stats {

struct RocPoint {
  double threshold;  // positive if score >= threshold; +inf for the first point (0, 0)
  size_t tp, fp;
  double tpr, fpr;  // sensitivity, 1 - specificity
};

// One point per distinct score plus the (0, 0) start, thresholds descending; tied scores move
// TPR and FPR together in one diagonal step, so the curve's trapezoid area equals the AUC.
struct RocCurve {
  size_t positives = 0, negatives = 0;
  std::vector<RocPoint> points;
};
RocCurve roc_curve(const std::vector<int>& labels, const std::vector<double>& scores,
                   const std::string& where = "scores");

// The AUC as the Mann-Whitney statistic: P(score_pos > score_neg) + 0.5 P(tie), exact
// (computed from integer counts), O(n log n).
double auc(const std::vector<int>& labels, const std::vector<double>& scores, const std::string& where = "scores");

// DeLong's structural components ("placements") of every case, in input order.
// Ref: E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson, Comparing the areas under two or more
//      correlated receiver operating characteristic curves: a nonparametric approach,
//      Biometrics 44(3):837-845, 1988.
// Ref: X. Sun, W. Xu, Fast implementation of DeLong's algorithm for comparing the areas under
//      correlated receiver operating characteristic curves, IEEE Signal Processing Letters
//      21(11):1389-1393, 2014 (midranks of positives, negatives and all scores: one sort).
struct Placements {
  double auc = 0.0;
  std::vector<double> v10;  // per positive: fraction of negatives below it (+ 0.5 per tie)
  std::vector<double> v01;  // per negative: fraction of positives above it (+ 0.5 per tie)
};
Placements delong_placements(const std::vector<int>& labels, const std::vector<double>& scores,
                             const std::string& where = "scores");

// AUC with DeLong variance Var = s10^2/m + s01^2/n (sample variances of the placements, as
// pROC var(method="delong")), and CI = AUC -/+ z * SE clipped to [0, 1], exactly as pROC
// ci.auc(method = "delong"). Needs at least 2 positives and 2 negatives (else InputError:
// with one case of a class the variance is undefined; pROC returns NA).
struct AucResult {
  size_t positives = 0, negatives = 0;
  double auc = 0.0, variance = 0.0, se = 0.0;
  double conf_level = 0.95, ci_lower = 0.0, ci_upper = 0.0;
};
AucResult delong_auc(const std::vector<int>& labels, const std::vector<double>& scores, double conf_level = 0.95,
                     const std::string& where = "scores");

// Percentile bootstrap CI of the AUC, stratified (positives and negatives resampled separately
// with replacement, so every replicate keeps the class sizes; as pROC's default
// stratified = TRUE). Quantiles are R's type 7. Deterministic for a seed on every platform:
// std::mt19937_64 seeded with `seed`, indices drawn by rejection sampling (no
// std::uniform_int_distribution, whose output is implementation-defined). Each replicate is
// O(n) after one sort, using bootstrap counts as weights over the sorted negatives.
struct BootstrapCi {
  size_t replicates = 0;
  uint64_t seed = 0;
  double conf_level = 0.95, lower = 0.0, upper = 0.0;
  double mean = 0.0, sd = 0.0;  // of the replicate AUCs
};
BootstrapCi bootstrap_auc_ci(const std::vector<int>& labels, const std::vector<double>& scores, size_t replicates,
                             uint64_t seed, double conf_level = 0.95, const std::string& where = "scores");

// Confusion counts at a threshold (positive if score >= threshold) with Wilson intervals.
// PPV (NPV) is empty when nothing is called positive (negative).
struct ThresholdMetrics {
  double threshold = 0.0;
  size_t tp = 0, fp = 0, tn = 0, fn = 0;
  Proportion sensitivity, specificity, ppv, npv;
  double youden = 0.0;  // sensitivity + specificity - 1
};
ThresholdMetrics threshold_metrics(const std::vector<int>& labels, const std::vector<double>& scores, double threshold,
                                   double conf_level = 0.95, const std::string& where = "scores");
// At the ROC threshold maximising Youden's J = sensitivity + specificity - 1; among equal J,
// the highest threshold (the first maximum scanning from the strictest threshold).
// Ref: W. J. Youden, Index for rating diagnostic tests, Cancer 3(1):32-35, 1950.
ThresholdMetrics youden_metrics(const std::vector<int>& labels, const std::vector<double>& scores,
                                double conf_level = 0.95, const std::string& where = "scores");

// Test of AUC1 - AUC2 with statistic z = (A1 - A2) / sqrt(V1 + V2 - 2 Cov), two-sided p.
// Paired (the same cases scored twice): DeLong covariance of the placements, normal p-value,
// and a CI of the difference d -/+ z * SE; as pROC roc.test(method = "delong", paired = TRUE).
// Unpaired (different cohorts): Cov = 0, and, as pROC roc.test(method = "delong",
// paired = FALSE), the p-value is Student's t with Welch-Satterthwaite degrees of freedom
// df = (V1 + V2)^2 / (V1^2 / (N1 - 1) + V2^2 / (N2 - 1)), N = all cases of a cohort.
// When both AUCs are equal and the variance of the difference is 0 (e.g. two perfect
// classifiers), z = 0 and p = 1; when the AUCs differ and that variance is 0 the test is
// undefined and InputError is thrown (pROC would report p = 0).
struct DelongTest {
  bool paired = true;
  double auc1 = 0.0, auc2 = 0.0, var1 = 0.0, var2 = 0.0, covariance = 0.0;
  double difference = 0.0, se = 0.0, z = 0.0, p_value = 1.0;
  double df = 0.0;                                           // unpaired only (t test); 0 for paired (normal)
  double conf_level = 0.95, ci_lower = 0.0, ci_upper = 0.0;  // of the difference, paired only
};
DelongTest delong_test_paired(const std::vector<int>& labels, const std::vector<double>& scores1,
                              const std::vector<double>& scores2, double conf_level = 0.95,
                              const std::string& where = "scores");
DelongTest delong_test_unpaired(const std::vector<int>& labels1, const std::vector<double>& scores1,
                                const std::vector<int>& labels2, const std::vector<double>& scores2,
                                const std::string& where1 = "scores 1", const std::string& where2 = "scores 2");

// CI of an AUC on the logit scale (Pepe, The Statistical Evaluation of Medical Tests, 2003,
// sec. 5.2.4): logit(A) -/+ z * SE / (A (1 - A)), back-transformed, so it stays inside (0, 1)
// where the Wald CI of delong_auc is clipped. At A = 0 or A = 1 the DeLong SE is 0 (every pair
// is ordered one way) and the interval is the degenerate [A, A].
struct AucInterval {
  double lower = 0.0, upper = 0.0;
};
AucInterval delong_logit_ci(const AucResult& r, double conf_level = 0.95);

// A linear contrast sum_k w_k A_k of K correlated AUCs on the same cases (DeLong et al. 1988,
// the L theta form): se = sqrt(w' S w) with S = S10 / m + S01 / n the DeLong covariance of the
// K placements, z = estimate / se, two-sided normal p, CI estimate -/+ z * se. For K = 2 and
// w = (1, -1) it is delong_test_paired. w' S w is computed as the variance of the contrast's
// placements sum_k w_k V_k, with the positive and negative weights summed apart so that two
// identical groups of scores cancel exactly (estimate 0, se 0, z 0, p 1). An estimate other
// than 0 with se 0 throws InputError, as delong_test_paired does.
struct DelongContrast {
  std::vector<double> auc;      // A_k, in input order
  std::vector<double> weights;  // w_k
  double estimate = 0.0, se = 0.0, z = 0.0, p_value = 1.0;
  double conf_level = 0.95, ci_lower = 0.0, ci_upper = 0.0;
};
DelongContrast delong_contrast(const std::vector<int>& labels, const std::vector<std::vector<double>>& scores,
                               const std::vector<double>& weights, double conf_level = 0.95,
                               const std::string& where = "scores");

// R's default (type 7) sample quantile of sorted values, 0 <= prob <= 1.
double quantile_type7(const std::vector<double>& sorted, double prob);

}  // namespace scintigen::stats
