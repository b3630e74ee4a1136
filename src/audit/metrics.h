// Feature-space fidelity and diversity of a synthetic set against a real one: the Fréchet
// distance, the kernel distance (KID), precision/recall and density/coverage, each with a
// percentile bootstrap interval. No LibTorch here (metrics.cc uses it for the linear algebra).
//
//   Features real = ..., fake = ...;             // n x d and m x d (audit/features.h)
//   FidelityConfig cfg;                          // k_pr 3, k_dc 5, 100 KD subsets of 1000, B 200
//   cfg.seed = 7;
//   FidelityResult r = fidelity_metrics(real, fake, cfg);
//   double fd = r.frechet.estimate, lo = r.frechet.lower, hi = r.frechet.upper;
//   nlohmann::json j = to_json(r);               // {"frechet": {"estimate", "ci": {...}}, ...}
//
// Formulas (a = real, b = fake; n, m rows; d columns):
// - Fréchet distance: FD = ||mu_a - mu_b||^2 + tr S_a + tr S_b - 2 tr (S_a^1/2 S_b S_a^1/2)^1/2,
//   S the sample covariance (denominator n - 1). Computed with symmetric eigendecompositions:
//   tr(...)^1/2 = sum sqrt(eig(R^T S_b R)) for any R with R R^T = S_a (R^T S_b R is similar to
//   S_a^1/2 S_b S_a^1/2): R = V L^1/2 from S_a = V L V^T, or the Cholesky factor of S_a when it
//   is clearly positive definite (cheaper; both backward stable). Eigenvalues below the rounding
//   level d eps max|lambda| count as 0, so that rank-deficient covariances (d > n) give
//   FD(a, a) = 0 rather than sqrt(rounding) ~ 1e-8.
//   Ref: Dowson & Landau, "The Fréchet distance between multivariate normal distributions",
//        J. Multivariate Anal. 12, 1982.
//   Ref: Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash
//        equilibrium", NeurIPS 2017 (FID).
// - Kernel distance: the unbiased estimate of MMD^2 with the cubic polynomial kernel
//   k(x, y) = (x.y / d + 1)^3:
//     MMD^2 = sum_{i != j} k(a_i, a_j) / (n (n-1)) + sum_{i != j} k(b_i, b_j) / (m (m-1))
//             - 2 sum_{i, j} k(a_i, b_j) / (n m).
//   kernel_distance also reports the mean and sample sd over `subsets` random subsets of size
//   s = min(subset_size, n, m), drawn without replacement from each set (KID as published).
//   Ref: Gretton et al., "A kernel two-sample test", JMLR 13, 2012 (unbiased MMD^2).
//   Ref: Binkowski et al., "Demystifying MMD GANs", ICLR 2018 (KID).
// - Precision/recall (k = k_pr) and density/coverage (k = k_dc), with the conventions of the
//   `prdc` package: the radius of a point is the Euclidean distance to its k-th nearest
//   neighbour within its own set, itself excluded (a duplicate of it counts, at distance 0);
//   a point lies inside a ball when its distance to the centre is < the radius (strict).
//     precision = share of fake points inside the union of the real balls (radii k_pr);
//     recall    = share of real points inside the union of the fake balls (radii k_pr);
//     density   = 1 / (k_dc m) * sum over fake points of the number of real balls (radii k_dc)
//                 holding it;
//     coverage  = share of real points whose ball (radius k_dc) holds at least one fake point.
//   Distances come from Gram matrices (||x||^2 + ||y||^2 - 2 x.y); every comparison whose
//   outcome that rounding could change (radii included) is redone with the exact sum of squared
//   differences, so ties and duplicates are decided exactly.
//   Ref: Kynkäänniemi et al., "Improved precision and recall metric for assessing generative
//        models", NeurIPS 2019.
//   Ref: Naeem et al., "Reliable fidelity and diversity metrics for generative models",
//        ICML 2020.
// - Bootstrap (fidelity_metrics): replicate r draws, from stream_rng(seed, kAuditBootstrap, r),
//   n real then m fake indices with replacement (core/shuffle.h bounded()); every metric of
//   replicate r uses that one resample.
//   - FD: covariances of the resampled sets. A resample holds ~63% distinct scans, so its FD
//     carries more of the estimator's d/n bias than the estimate: for d comparable to n the
//     whole interval lies above the estimate (2000 x 2000 at d = 512, one distribution: FD 67.7,
//     interval [123.9, 128.7]). Read it as spread, and compare like with like (the real-vs-real
//     baseline at the same sizes). Cost: O(n d^2 + d^3) per replicate, the bootstrap's bulk.
//   - KD: the unbiased MMD^2 of the resample, from kernel matrices computed once, the within-set
//     means taken over pairs of positions holding distinct scans:
//       sum_{a != b} c_a c_b k(x_a, x_b) / (n^2 - sum_a c_a^2), c the draw counts.
//     Pairing a scan drawn twice with itself would add k(x, x) - k(x, x') (~7 at d = 512) per
//     coincidence and lift every replicate by ~7 (1/n + 1/m): measured at 2000 x 2000, estimate
//     0.0081 against an interval [0.0141, 0.0162]; with distinct pairs [0.0070, 0.0090].
//   - Precision and density resample the fake points with the real balls fixed; recall and
//     coverage resample the real points with the fake balls fixed: those intervals are
//     conditional on the manifolds.
//   Interval: the (1 -+ level) / 2 type-7 quantiles of the replicates (stats::quantile_type7).
//   FD's interval is re-centred: shifted by FD - mean(replicates). A resample holds only ~63% distinct
//   rows, and FD's small-sample bias (which grows with d / n) lifts every replicate: measured at
//   2000 x 2000, d = 512, one distribution, FD 67.7 with a plain percentile interval of
//   [123.9, 128.7] that misses it. The shift keeps the replicates' spread without that extra bias.
//   (FD itself stays biased upwards at small n: compare FDs only at equal sizes, as the audit's
//   matched comparison does.)
//   Ref: Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13 (percentile).
//
// Every function validates its input and throws InputError(where, ...) naming the set it was
// given (`where_real`, `where_fake`): no rows, fewer rows than a metric needs (2 for FD and KD,
// k + 1 for the neighbour metrics), different dimensions, or a value that is not finite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/features.h"

namespace scintigen::audit {

// FD between the rows of a and b (same d, at least 2 rows each).
double frechet_distance(const Features& a, const Features& b, const std::string& where_a = "real",
                        const std::string& where_b = "fake");

// Unbiased MMD^2 with the cubic polynomial kernel (same d, at least 2 rows each).
double mmd2_unbiased(const Features& a, const Features& b, const std::string& where_a = "real",
                     const std::string& where_b = "fake");

struct KernelDistance {
  double mmd2 = 0.0;         // unbiased MMD^2 over all rows
  double subset_mean = 0.0;  // mean of the subsets' MMD^2 (KID)
  double subset_sd = 0.0;    // their sample sd (0 with one subset)
  int subsets = 0;
  size_t subset_size = 0;  // min(requested size, n, m)
};
// Subset s (0-based) draws, from stream_rng(seed, kAuditSubsets, s), its rows of a and then of b
// by a partial Fisher-Yates shuffle (position i takes the element at i + bounded(rng, n - i)).
// subsets >= 1, subset_size >= 2.
KernelDistance kernel_distance(const Features& a, const Features& b, int subsets, size_t subset_size, uint64_t seed,
                               const std::string& where_a = "real", const std::string& where_b = "fake");

// Per-item values of precision/recall and density/coverage: a bootstrap over items is a mean of
// a resample of these.
struct PrdcItems {
  std::vector<uint8_t> fake_in_real;  // per fake point: inside a real ball of radius k_pr (precision)
  std::vector<int> fake_real_balls;   // per fake point: number of real balls of radius k_dc holding it
  std::vector<uint8_t> real_in_fake;  // per real point: inside a fake ball of radius k_pr (recall)
  std::vector<uint8_t> real_covered;  // per real point: its k_dc ball holds a fake point (coverage)
};
struct Prdc {
  double precision = 0.0, recall = 0.0, density = 0.0, coverage = 0.0;
  int k_pr = 3, k_dc = 5;
  PrdcItems items;
};
// Both sets need at least max(k_pr, k_dc) + 1 rows.
Prdc precision_recall_density_coverage(const Features& real, const Features& fake, int k_pr = 3, int k_dc = 5,
                                       const std::string& where_real = "real", const std::string& where_fake = "fake");

struct FidelityConfig {
  int k_pr = 3;                  // neighbours for precision/recall
  int k_dc = 5;                  // neighbours for density/coverage
  int kd_subsets = 100;          // KID subsets
  size_t kd_subset_size = 1000;  // KID subset size (capped at the set sizes)
  int bootstrap = 200;           // replicates; 0 = no intervals
  bool fd_bootstrap = true;      // false: FD without an interval (each replicate costs ~0.2 s at d = 512)
  double conf_level = 0.95;      // interval level, in (0, 1)
  uint64_t seed = 0;             // bootstrap and subsets

  // Throws ConfigError naming the field.
  void validate() const;
  nlohmann::json to_json() const;
};

// An estimate with its percentile bootstrap interval (lower = upper = NaN without a bootstrap).
struct MetricCi {
  double estimate = 0.0, lower = 0.0, upper = 0.0;
};

struct FidelityResult {
  FidelityConfig config;
  size_t n_real = 0, n_fake = 0, dim = 0;
  MetricCi frechet, kernel, precision, recall, density, coverage;
  double kd_subset_mean = 0.0, kd_subset_sd = 0.0;  // kernel.estimate is the MMD^2 over all rows
  size_t kd_subset_size = 0;
  PrdcItems items;  // per-item values of the estimates
};

// All metrics and intervals (see the header comment). Throws ConfigError for a bad cfg and
// InputError for bad sets.
FidelityResult fidelity_metrics(const Features& real, const Features& fake, const FidelityConfig& cfg,
                                const std::string& where_real = "real", const std::string& where_fake = "fake");

// {"n_real", "n_fake", "dim", "config", "frechet": {"estimate", "ci"}, "kernel": {"estimate",
//  "ci", "subset_mean", "subset_sd", "subsets", "subset_size"}, "precision", "recall",
//  "density", "coverage": {"estimate", "ci"}}; ci as stats::interval_json (method "percentile
//  bootstrap"), null without a bootstrap.
nlohmann::json to_json(const FidelityResult& r);

}  // namespace scintigen::audit
