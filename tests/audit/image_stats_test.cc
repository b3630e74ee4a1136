// Image statistics of the audit (src/audit/image_stats.h): known answers on built images, the
// high-frequency ratio on Poisson draws around a smooth image, and the distribution distances
// against SciPy (scipy.stats.ks_2samp, scipy.special.kolmogorov, scipy.stats.wasserstein_distance).
#include "audit/image_stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "test_util.h"

namespace scintigen::audit {
namespace {

constexpr int kH = 256, kW = 64;

// A smooth whole-body-like expected image: a wide Gaussian blob over a flat 20-count floor,
// peak 420 counts, both views (the posterior a little dimmer).
Scan smooth_expected() {
  Scan s = make_scan(kH, kW);
  for (int v = 0; v < 2; ++v)
    for (int r = 0; r < kH; ++r)
      for (int c = 0; c < kW; ++c) {
        const double u = (r - 128.0) / 60.0, w = (c - 32.0) / 15.0;
        s.pixels[(static_cast<size_t>(v) * kH + r) * kW + c] =
            static_cast<float>((v ? 0.8 : 1.0) * (20.0 + 400.0 * std::exp(-0.5 * (u * u + w * w))));
      }
  return s;
}

Scan poisson_draw(const Scan& mean, uint64_t seed) {
  Scan s = mean;
  Rng rng(seed);
  poisson_fill(s.pixels.data(), s.pixels.size(), rng);
  return s;
}

TEST(ScanStats, TotalCountsAreExact) {
  Scan s = make_scan(kH, kW);
  double expected = 0.0;
  for (size_t i = 0; i < s.pixels.size(); ++i) {
    s.pixels[i] = static_cast<float>((i * 7919) % 1000);
    expected += static_cast<double>((i * 7919) % 1000);
  }
  EXPECT_EQ(scan_stats(s).total_counts, expected);
}

TEST(ScanStats, RectangleGivesExactLengthRatioAndHistogram) {
  // Rows 40..199 (160 rows), columns 10..49 at 100 counts; every 10th body pixel at 500.
  Scan s = make_scan(kH, kW);
  size_t k = 0;
  for (int r = 40; r < 200; ++r)
    for (int c = 10; c < 50; ++c) s.view(kAnterior)[r * kW + c] = (k++ % 10 == 0) ? 500.f : 100.f;
  const ScanStats st = scan_stats(s);
  EXPECT_EQ(st.body_length_rows, 160.0);
  EXPECT_DOUBLE_EQ(st.bone_soft_ratio, 5.0);  // top 5% are all 500, median 100
  ASSERT_EQ(st.histogram.size(), static_cast<size_t>(kHistogramBins));
  // 100 / median = 1 -> log10 0 -> bin 20; 500 / 100 = 5 -> log10 0.699 -> bin 26.
  EXPECT_DOUBLE_EQ(st.histogram[20], 0.9);
  EXPECT_DOUBLE_EQ(st.histogram[26], 0.1);
  const std::vector<double> e = histogram_edges();
  EXPECT_DOUBLE_EQ(e.front(), 0.01);
  EXPECT_DOUBLE_EQ(e.back(), 100.0);
  EXPECT_NEAR(e[20], 1.0, 1e-15);
}

TEST(ScanStats, HighFrequencyRatioIsOneForPoissonNoise) {
  const Scan mean = smooth_expected();
  for (uint64_t seed : {1, 2, 3}) {
    const Scan x = poisson_draw(mean, seed);
    const double ratio = scan_stats(x).high_frequency_ratio;
    EXPECT_NEAR(ratio, 1.0, 0.03) << "seed " << seed;

    // 3x3-blurred (denoised-looking): neighbours correlate, the residual shrinks.
    Scan blurred = x;
    for (int v = 0; v < 2; ++v)
      for (int r = 1; r + 1 < kH; ++r)
        for (int c = 1; c + 1 < kW; ++c) {
          double b = 0.0;
          for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc) b += x.pixels[(static_cast<size_t>(v) * kH + r + dr) * kW + c + dc];
          blurred.pixels[(static_cast<size_t>(v) * kH + r) * kW + c] = static_cast<float>(b / 9.0);
        }
    EXPECT_LT(scan_stats(blurred).high_frequency_ratio, 0.3) << "seed " << seed;

    // Extra pixel noise of the Poisson size: the ratio about doubles.
    Scan noisy = x;
    Rng rng(100 + seed);
    for (size_t i = 0; i < noisy.pixels.size(); ++i)
      noisy.pixels[i] = static_cast<float>(noisy.pixels[i] + std::sqrt(mean.pixels[i]) * rng.normal());
    EXPECT_GT(scan_stats(noisy).high_frequency_ratio, 1.7) << "seed " << seed;
    std::printf("seed %d: high-frequency ratio %.4f, blurred %.4f, extra noise %.4f\n", static_cast<int>(seed), ratio,
                scan_stats(blurred).high_frequency_ratio, scan_stats(noisy).high_frequency_ratio);
  }
}

TEST(ScanStats, BlankViewIsRefused) {
  Scan s = make_scan(kH, kW);
  s.id = "blank";
  EXPECT_EQ(testing::input_error([&] { scan_stats(s); }),
            "scan blank: the anterior view holds no counts (hint: image statistics need a scan with counts)");
}

// SciPy's answers for two samples: D, p (ks_2samp asymp), p of the Kolmogorov distribution, W1.
nlohmann::json scipy_distances(const std::vector<double>& a, const std::vector<double>& b) {
  testing::TempDir dir;
  {
    std::ofstream f(dir / "samples.json");
    f << nlohmann::json{{"a", a}, {"b", b}}.dump();
  }
  const std::string script =
      "import json, sys, numpy as np; from scipy import stats, special; "
      "d = json.load(open(sys.argv[1])); a, b = np.array(d['a']), np.array(d['b']); "
      "r = stats.ks_2samp(a, b, method='asymp'); n, m = len(a), len(b); "
      "print(json.dumps({'D': float(r.statistic), 'p_asymp': float(r.pvalue), "
      "'p_kolmogorov': float(special.kolmogorov(np.sqrt(n * m / (n + m)) * r.statistic)), "
      "'w1': float(stats.wasserstein_distance(a, b))}))";
  const testing::CommandResult r =
      testing::run_command(testing::python() + " -c \"" + script + "\" " + (dir / "samples.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(ImageStatsDistances, KsAndWassersteinEqualScipy) {
  Rng rng(42);
  struct Case {
    size_t n, m;
    double shift;
    bool ties;
  };
  for (const Case& k : {Case{37, 53, 0.3, true}, Case{500, 300, 0.1, false}, Case{200, 200, 0.0, false},
                        Case{1000, 800, 0.15, false}}) {
    std::vector<double> a(k.n), b(k.m);
    for (double& x : a) x = k.ties ? std::round(3 * rng.normal()) : rng.normal();
    for (double& x : b) x = k.ties ? std::round(3 * rng.normal(k.shift, 1.2)) : rng.normal(k.shift, 1.2);
    const nlohmann::json ref = scipy_distances(a, b);
    const KsResult ks = ks_two_sample(a, b);
    EXPECT_NEAR(ks.statistic, ref["D"].get<double>(), 1e-12) << k.n;
    EXPECT_NEAR(ks.p_value, ref["p_asymp"].get<double>(), 1e-9) << k.n;
    const double en = double(k.n) * k.m / (k.n + k.m);
    EXPECT_NEAR(kolmogorov_sf(std::sqrt(en) * ks.statistic), ref["p_kolmogorov"].get<double>(), 1e-9) << k.n;
    EXPECT_NEAR(wasserstein1(a, b), ref["w1"].get<double>(), 1e-9) << k.n;
  }
}

TEST(ImageStatsDistances, OneSampleLawEqualsScipyKstwo) {
  // Every branch of scipy's method choice: Ruben-Gambino ends, x >= 0.5, n <= 140 (Durbin's matrix,
  // Pomeranz's range, Smirnov's tail), n > 140 (Durbin, Pelz-Good, Smirnov, 0).
  const std::vector<int> ns = {1, 5, 50, 140, 141, 500, 3000, 200000};
  const std::vector<double> xs = {0.0005, 0.004, 0.01, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.45, 0.6, 0.9, 0.99};
  const std::string script =
      "import json; from scipy import stats; "
      "print(json.dumps([[float(stats.kstwo.sf(x, n)) for x in " +
      nlohmann::json(xs).dump() + "] for n in " + nlohmann::json(ns).dump() + "]))";
  const testing::CommandResult r = testing::run_command(testing::python() + " -c \"" + script + "\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json ref = nlohmann::json::parse(r.output);
  for (size_t i = 0; i < ns.size(); ++i)
    for (size_t j = 0; j < xs.size(); ++j)
      EXPECT_NEAR(kolmogorov_n_sf(ns[i], xs[j]), ref[i][j].get<double>(), 1e-9) << "n " << ns[i] << " x " << xs[j];
}

TEST(ImageStatsDistances, KolmogorovKnownValues) {
  // scipy.special.kolmogorov(0.5), (1.0), (1.36), (2.0)
  EXPECT_NEAR(kolmogorov_sf(0.5), 0.9639452436648751, 1e-12);
  EXPECT_NEAR(kolmogorov_sf(1.0), 0.26999967167735456, 1e-12);
  EXPECT_NEAR(kolmogorov_sf(1.36), 0.049485876755377876, 1e-12);
  EXPECT_NEAR(kolmogorov_sf(2.0), 0.0006709252557796953, 1e-14);
  EXPECT_EQ(kolmogorov_sf(0.0), 1.0);
}

TEST(ImageStatsDistances, TotalVariation) {
  const std::vector<double> p = {0.1, 0.2, 0.7}, q = {0.3, 0.2, 0.5};
  EXPECT_DOUBLE_EQ(total_variation(p, p), 0.0);
  EXPECT_DOUBLE_EQ(total_variation(p, q), 0.2);
  EXPECT_EQ(testing::input_error([&] {
              total_variation(p, {0.5, 0.5});
            }),
            "histograms: the histograms have 3 and 2 bins (hint: compare histograms on the same bins)");
}

std::vector<ScanStats> stats_of_draws(const Scan& mean, uint64_t first_seed, int n, double scale) {
  std::vector<ScanStats> out;
  for (int i = 0; i < n; ++i) {
    Scan m = mean;
    for (float& v : m.pixels) v = static_cast<float>(v * scale * (1.0 + 0.05 * ((i * 37) % 11 - 5) / 5.0));
    out.push_back(scan_stats(poisson_draw(m, first_seed + i)));
  }
  return out;
}

TEST(ImageStatsCompare, IdenticalSetsHaveZeroDistances) {
  const std::vector<ScanStats> a = stats_of_draws(smooth_expected(), 1, 12, 1.0);
  const ImageStatsComparison c = compare_image_stats(a, a, 200, 0.95, 7);
  ASSERT_EQ(c.statistics.size(), scan_stat_names().size());
  EXPECT_EQ(c.histogram_tv, 0.0);
  for (const StatDistance& d : c.statistics) {
    EXPECT_EQ(d.ks.statistic, 0.0) << d.name;
    EXPECT_EQ(d.ks.p_value, 1.0) << d.name;
    EXPECT_EQ(d.wasserstein, 0.0) << d.name;
    EXPECT_EQ(d.smd, 0.0) << d.name;
    EXPECT_LE(d.ci_lower, d.ci_upper) << d.name;
  }
}

TEST(ImageStatsCompare, DoseDifferenceIsFoundWithDeterministicIntervals) {
  const Scan mean = smooth_expected();
  const std::vector<ScanStats> a = stats_of_draws(mean, 1, 15, 1.0), b = stats_of_draws(mean, 100, 15, 1.5);
  const ImageStatsComparison c = compare_image_stats(a, b, 300, 0.9, 11);
  const StatDistance& total = c.statistics[0];
  ASSERT_EQ(total.name, "total_counts");
  EXPECT_EQ(total.ks.statistic, 1.0);  // disjoint doses
  EXPECT_LT(total.ks.p_value, 1e-4);
  EXPECT_NEAR(total.wasserstein, total.other.mean - total.reference.mean, 1e-6 * total.other.mean);
  EXPECT_GT(total.smd, 5.0);
  EXPECT_GT(total.ci_lower, 3.0);
  EXPECT_GE(total.ci_upper, total.ci_lower);
  // The count histogram is scaled by the body median: dose alone barely moves it.
  EXPECT_LT(c.histogram_tv, 0.05);
  // Same seed, same intervals; another seed, others.
  const ImageStatsComparison again = compare_image_stats(a, b, 300, 0.9, 11);
  const ImageStatsComparison other = compare_image_stats(a, b, 300, 0.9, 12);
  EXPECT_EQ(again.statistics[0].ci_lower, total.ci_lower);
  EXPECT_EQ(again.tv_ci_upper, c.tv_ci_upper);
  EXPECT_NE(other.statistics[0].ci_lower, total.ci_lower);

  const nlohmann::json j = to_json(c);
  EXPECT_EQ(j["reference"]["n"], 15);
  EXPECT_EQ(j["reference"]["histogram"].size(), static_cast<size_t>(kHistogramBins));
  EXPECT_EQ(j["histogram_edges"].size(), static_cast<size_t>(kHistogramBins + 1));
  EXPECT_EQ(j["distances"]["total_counts"]["wasserstein_sd"]["ci"]["level"], 0.9);
  EXPECT_EQ(j["distances"]["total_counts"]["wasserstein_sd"]["ci"]["method"], "percentile bootstrap");
  EXPECT_DOUBLE_EQ(j["histogram_tv"]["estimate"].get<double>(), c.histogram_tv);
  EXPECT_EQ(j["bootstrap"]["replicates"], 300);
  EXPECT_TRUE(j["other"]["statistics"]["high_frequency_ratio"].contains("median"));
}

TEST(ImageStatsCompare, RefusesTooFewScansAndBadConfig) {
  const std::vector<ScanStats> a = stats_of_draws(smooth_expected(), 1, 3, 1.0);
  EXPECT_EQ(testing::input_error([&] { compare_image_stats({a[0]}, a, 10, 0.95, 1); }),
            "reference: 1 scans (hint: image statistics need at least 2 scans)");
  EXPECT_THROW(compare_image_stats(a, a, -1, 0.95, 1), ConfigError);
  EXPECT_THROW(compare_image_stats(a, a, 10, 1.0, 1), ConfigError);
  const ImageStatsComparison c = compare_image_stats(a, a, 0, 0.95, 1);
  EXPECT_TRUE(std::isnan(c.tv_ci_lower));
  EXPECT_TRUE(to_json(c)["histogram_tv"]["ci"].is_null());
}

// Speed of scan_stats on 2 x 256 x 64 scans and of compare_image_stats on 2000 + 2000 scans with
// 1000 replicates. Runs only with SCINTIGEN_BENCH=1; reports the times.
TEST(ImageStatsCompare, Speed) {
  if (!std::getenv("SCINTIGEN_BENCH")) GTEST_SKIP() << "set SCINTIGEN_BENCH=1 to run";
  const Scan x = poisson_draw(smooth_expected(), 1);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<ScanStats> a;
  for (int i = 0; i < 200; ++i) a.push_back(scan_stats(x));
  const double per_scan = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200;
  std::vector<ScanStats> ref, oth;
  Rng rng(9);
  for (int i = 0; i < 2000; ++i) {
    ScanStats s = a[0];
    s.total_counts *= 1 + 0.1 * rng.normal();
    s.bone_soft_ratio *= 1 + 0.1 * rng.normal();
    ref.push_back(s);
    s.high_frequency_ratio *= 1 + 0.1 * rng.normal();
    oth.push_back(s);
  }
  t0 = std::chrono::steady_clock::now();
  const ImageStatsComparison c = compare_image_stats(ref, oth, 1000, 0.95, 1);
  const double cmp = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("scan_stats %.2f ms per scan; compare_image_stats 2000 + 2000 scans, 1000 replicates: %.1f s\n",
              1e3 * per_scan, cmp);
  EXPECT_EQ(c.statistics.size(), scan_stat_names().size());
}

}  // namespace
}  // namespace scintigen::audit
