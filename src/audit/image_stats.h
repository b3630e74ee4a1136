// Plain image statistics of bone scans and distances between their distributions in two sets
// (real vs synthetic): they say WHAT differs (dose, contrast, size, noise texture, count range).
//
//   std::vector<ScanStats> real, synth;
//   for (const Scan& s : real_scans) real.push_back(scan_stats(s));
//   for (const Scan& s : synth_scans) synth.push_back(scan_stats(s));
//   ImageStatsComparison c = compare_image_stats(real, synth, /*bootstrap=*/1000, 0.95, /*seed=*/7);
//   nlohmann::json j = to_json(c);   // per set summaries, KS / W1 / SMD, histogram TV, CIs
//
// Per scan (scan_stats), on the counts x of a (2, H, W) scan:
// - total_counts = sum of x over both views.
// - The main view is the anterior one (the posterior when the scan has only that). Its body mask
//   is B = {x > 0.02 * q99}, q99 the type-7 99th percentile of all pixels of the view.
// - bone_soft_ratio = mean of the top ceil(5%) of the body pixels / median of the body pixels
//   (main view): a hot skeleton over soft tissue, i.e. the contrast a reader sees.
// - body_length_rows = number of rows whose sum exceeds 10% of the largest row sum (main view).
// - high_frequency_ratio = sum_B' r^2 / ((8/9) sum_B' x), over both present views, with
//   r = x - m, m the 3x3 box mean of x (edge-replicated), and B' the body pixels (each view's own
//   mask) not on the image's outer row or column (so the edge rule never matters).
//   Why 8/9: let x = mu + e with independent Poisson noise, Var e = mu, and mu smooth (locally
//   linear, so mu - box(mu) = 0). Then r = e_0 - (1/9) sum_{k in 3x3} e_k
//   = (8/9) e_0 - (1/9) sum_{8 neighbours} e_k, whose variance is (64/81 + 8/81) mu = (8/9) mu.
//   Hence E sum r^2 = (8/9) sum mu = (8/9) E sum x, and the ratio is ~1 for pure counting noise
//   on a smooth image, > 1 with extra pixel-scale speckle or structure, < 1 for a blurred or
//   denoised image (correlated neighbours cancel in r). Real anatomy adds a little (> 1).
// - histogram: the main view's body pixels divided by their median, counted on kHistogramBins
//   log-spaced bins with edges 10^(-2 + k / 10), k = 0..40 (0.01 to 100, a tenth of a decade
//   each); values below 0.01 go to the first bin, above 100 to the last; as fractions of the
//   body pixels (they sum to 1).
// A scan of the wrong size, with a non-finite count or without counts in its main view throws
// InputError naming the scan's id.
//
// Distances between two sets of scalar values a (reference, n) and b (other, m):
// - Two-sample Kolmogorov-Smirnov D = sup_x |F_a(x) - F_b(x)| (empirical CDFs) and its
//   asymptotic p-value as scipy.stats.ks_2samp(method='asymp') (scipy >= 1.5): P(D_N >= D) of
//   the one-sample Kolmogorov statistic at N = round(n m / (n + m)) (kolmogorov_n_sf, with
//   Simard and L'Ecuyer's choice of method: Ruben-Gambino closed forms at the ends, Durbin's
//   matrix or Pelz-Good in the body, 2 x Smirnov's one-sided tail in the upper tail; Durbin's
//   matrix also where scipy uses Pomeranz's recursion, both being exact).
//   Ref: N. Smirnov, Table for estimating the goodness of fit of empirical distributions,
//        Ann. Math. Statist. 19(2):279-281, 1948.
//   Ref: R. Simard, P. L'Ecuyer, Computing the two-sided Kolmogorov-Smirnov distribution,
//        J. Stat. Softw. 39(11), 2011.
// - Wasserstein-1 W1 = integral |F_a(x) - F_b(x)| dx (as scipy.stats.wasserstein_distance),
//   and W1 / sd(a): in units of the reference's spread, comparable between statistics.
// - Standardised mean difference (mean(b) - mean(a)) / sqrt((sd(a)^2 + sd(b)^2) / 2), sample
//   sd (n - 1). Ref: J. Cohen, Statistical power analysis for the behavioral sciences, 1988.
// - For the histograms: total variation TV = (1/2) sum_k |p_k - q_k| between the two sets' mean
//   histograms (0 = same count distribution, 1 = disjoint).
// - Percentile bootstrap CIs of W1 / sd(a) and of TV: replicate i resamples both sets with
//   replacement (scans, so a scan's statistics stay together), drawing from
//   stream_rng(seed, RandomStream::kAuditBootstrap, i) with core/shuffle.h's bounded() (the
//   reference's n indices, then the other's m); limits are R type-7 quantiles of the replicates.
//   Ref: B. Efron, R. J. Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen::audit {

constexpr int kHistogramBins = 40;
// The kHistogramBins + 1 edges 10^(-2 + k / 10), k = 0..40.
std::vector<double> histogram_edges();

struct ScanStats {
  double total_counts = 0.0;
  double bone_soft_ratio = 0.0;
  double body_length_rows = 0.0;
  double high_frequency_ratio = 0.0;
  std::vector<double> histogram;  // kHistogramBins fractions of the body pixels
};
ScanStats scan_stats(const Scan& scan);

// The scalar statistics of ScanStats, in a fixed order, by name (the JSON keys).
const std::vector<std::string>& scan_stat_names();
std::vector<double> scan_stat_values(const ScanStats& s);  // in scan_stat_names() order

struct KsResult {
  double statistic = 0.0;  // D
  double p_value = 1.0;    // asymptotic
};
// Throw InputError (naming `where`) when a set is empty or holds a non-finite value.
KsResult ks_two_sample(const std::vector<double>& a, const std::vector<double>& b, const std::string& where = "values");
double wasserstein1(const std::vector<double>& a, const std::vector<double>& b, const std::string& where = "values");
// P(K > z) for the limiting Kolmogorov distribution, 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 z^2)
// (scipy.special.kolmogorov).
double kolmogorov_sf(double z);
// P(D_n >= x) for the one-sample two-sided Kolmogorov-Smirnov statistic of n values
// (scipy.stats.kstwo.sf(x, n)); n >= 1.
double kolmogorov_n_sf(int n, double x);
// (1/2) sum |p_k - q_k|; InputError when the lengths differ.
double total_variation(const std::vector<double>& p, const std::vector<double>& q,
                       const std::string& where = "histograms");

struct ValueSummary {
  size_t n = 0;
  double mean = 0.0, sd = 0.0, min = 0.0, q1 = 0.0, median = 0.0, q3 = 0.0, max = 0.0;  // type-7 quartiles
};
ValueSummary summarize(const std::vector<double>& values);

// One statistic compared between the reference and the other set.
struct StatDistance {
  std::string name;
  ValueSummary reference, other;
  KsResult ks;
  double wasserstein = 0.0;
  // W1 / sd(reference) and the standardised mean difference (other minus reference); where the
  // spread is 0 they are 0 for no difference, else infinite (JSON null).
  double wasserstein_sd = 0.0;
  double smd = 0.0;
  double ci_lower = 0.0, ci_upper = 0.0;  // of wasserstein_sd; NaN without bootstrap
};

struct ImageStatsComparison {
  std::vector<StatDistance> statistics;  // in scan_stat_names() order
  std::vector<double> histogram_edges;
  std::vector<double> reference_histogram, other_histogram;  // mean histograms
  double histogram_tv = 0.0;
  double tv_ci_lower = 0.0, tv_ci_upper = 0.0;  // NaN without bootstrap
  int bootstrap = 0;
  double conf_level = 0.95;
  uint64_t seed = 0;
};

// Needs at least 2 scans per set (InputError naming "reference" or "other"); bootstrap >= 0
// (0: no intervals) and 0 < conf_level < 1 (ConfigError otherwise).
ImageStatsComparison compare_image_stats(const std::vector<ScanStats>& reference, const std::vector<ScanStats>& other,
                                         int bootstrap, double conf_level, uint64_t seed);

// {"reference": {"n", "statistics": {name: {mean, sd, min, q1, median, q3, max}}, "histogram": [...]},
//  "other": {...}, "histogram_edges": [...],
//  "distances": {name: {"ks": {"statistic", "p_value", "method"}, "wasserstein", "smd",
//                       "wasserstein_sd": {"estimate", "ci": {level, lower, upper, method}}}},
//  "histogram_tv": {"estimate", "ci"}, "bootstrap": {"replicates", "seed", "rng"}}
nlohmann::json to_json(const ImageStatsComparison& c);

}  // namespace scintigen::audit
