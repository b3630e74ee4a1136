// The Poisson sampler is exactly Poisson: mean, variance and a chi-square goodness of fit.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "phantom/rng.h"

namespace scintigen::phantom {
namespace {

TEST(Poisson, ZeroAndInvalidMeansGiveZero) {
  Rng rng(1);
  EXPECT_EQ(poisson(0, rng), 0u);
  EXPECT_EQ(poisson(-3, rng), 0u);
  EXPECT_EQ(poisson(std::nan(""), rng), 0u);
}

TEST(Poisson, MeanVarianceAndDistributionMatch) {
  for (double lambda : {0.05, 0.37, 2.5, 17.2, 63.97, 64.0, 99.99, 254.6, 255.0, 300.3, 1234.5}) {
    Rng rng(static_cast<uint64_t>(lambda * 1000));
    const int n = 200000;
    std::map<long, long> hist;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double k = poisson(lambda, rng);
      s += k, s2 += k * k;
      ++hist[static_cast<long>(k)];
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    // Mean: 5 standard errors. Variance: 5 standard errors of the sample variance
    // (var(s^2) ~ (mu4 - sigma^4)/n with mu4 = lambda(1 + 3 lambda) for Poisson).
    EXPECT_NEAR(mean, lambda, 5 * std::sqrt(lambda / n)) << lambda;
    EXPECT_NEAR(var, lambda, 5 * std::sqrt((lambda * (1 + 3 * lambda) - lambda * lambda) / n)) << lambda;
    // Chi-square over bins with expected count >= 20, against the exact pmf.
    double chi2 = 0;
    int bins = 0;
    for (long k = 0; k < static_cast<long>(lambda + 12 * std::sqrt(lambda) + 20); ++k) {
      const double e = n * std::exp(k * std::log(lambda) - lambda - std::lgamma(k + 1.0));
      if (e < 20) continue;
      const double o = hist.count(k) ? hist[k] : 0;
      chi2 += (o - e) * (o - e) / e;
      ++bins;
    }
    ASSERT_GT(bins, 1);
    // 99.99% quantile of chi2(df) is below df + 6 sqrt(2 df) + 10 for these df.
    EXPECT_LT(chi2, bins + 6 * std::sqrt(2.0 * bins) + 10) << "lambda " << lambda << " bins " << bins;
  }
}

TEST(Rng, ForScanIsAPureFunctionOfSeedIndexStream) {
  Rng a = Rng::for_scan(1, 2, Rng::kNoiseStream), b = Rng::for_scan(1, 2, Rng::kNoiseStream);
  Rng c = Rng::for_scan(1, 2, Rng::kPatientStream), d = Rng::for_scan(1, 3, Rng::kNoiseStream);
  const uint64_t x = a.next();
  EXPECT_EQ(x, b.next());
  EXPECT_NE(x, c.next());
  EXPECT_NE(x, d.next());
}

}  // namespace
}  // namespace scintigen::phantom
