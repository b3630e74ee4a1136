#include <cmath>
#include <cstdint>
#include <vector>

#include "phantom/rng.h"

namespace scintigen::phantom {

namespace {

constexpr int kMaxTableMean = 255;

// Cumulative distribution of Poisson(m) for k in [lo, hi] with a guide table for O(1) search.
// Ref: Devroye, "Non-Uniform Random Variate Generation" (1986), III.2.4 (guide tables).
struct PoissonTable {
  int lo = 0;
  std::vector<double> cdf;      // cdf[k - lo] = P(X <= k); last entry forced to 1
  std::vector<uint16_t> guide;  // guide[j] = first index with cdf > j / guide.size()
};

struct PoissonTables {
  std::vector<PoissonTable> by_mean;  // index m = 1..kMaxTableMean
  PoissonTables() : by_mean(kMaxTableMean + 1) {
    for (int m = 1; m <= kMaxTableMean; ++m) {
      PoissonTable& t = by_mean[m];
      const int hi = m + static_cast<int>(14 * std::sqrt(m)) + 24;
      std::vector<double> cdf(hi + 1);
      double acc = 0;
      for (int k = 0; k <= hi; ++k) {
        acc += std::exp(k * std::log(static_cast<double>(m)) - m - std::lgamma(k + 1.0));
        cdf[k] = acc;
      }
      int lo = 0;
      while (lo < m && cdf[lo] < 1e-17) ++lo;
      t.lo = lo;
      t.cdf.assign(cdf.begin() + lo, cdf.end());
      t.cdf.back() = 1.0;
      const size_t n = 4 * t.cdf.size();  // 4 guide entries per value: the search rarely steps
      t.guide.resize(n);
      size_t k = 0;
      for (size_t j = 0; j < n; ++j) {
        const double u = static_cast<double>(j) / static_cast<double>(n);
        while (t.cdf[k] <= u) ++k;
        t.guide[j] = static_cast<uint16_t>(k);
      }
    }
  }
};

const PoissonTables& tables() {
  static const PoissonTables t;  // thread-safe initialisation (C++11 magic static)
  return t;
}

inline uint32_t draw_table(const PoissonTable& t, double u) {
  size_t k = t.guide[static_cast<size_t>(u * static_cast<double>(t.guide.size()))];
  while (t.cdf[k] <= u) ++k;
  return static_cast<uint32_t>(k + t.lo);
}

// exp(-f) for 0 <= f < 1 to double precision: exp(-k/1024) from a table times a 5-term
// Taylor series of exp(-r), r < 1/1024 (truncation error < 1e-18).
struct ExpTable {
  double v[1025];
  ExpTable() {
    for (int k = 0; k <= 1024; ++k) v[k] = std::exp(-k / 1024.0);
  }
};

inline double exp_neg_frac(double f) {
  static const ExpTable t;
  const double x = f * 1024;
  const int k = static_cast<int>(x);
  const double r = (x - k) / 1024;
  return t.v[k] * (1 - r * (1 - r * (0.5 - r * (1.0 / 6 - r * (1.0 / 24)))));
}

// Poisson(f) for 0 < f < 1 by sequential inversion (expected f + 1 steps).
inline uint32_t draw_small(double f, Rng& rng) {
  const double u = rng.uniform();
  if (u < 1 - f) return 0;  // exp(-f) >= 1 - f: certainly below P(X = 0), no exp needed
  double p = exp_neg_frac(f), s = p;
  uint32_t k = 0;
  while (u > s && k < 40) {
    ++k;
    p *= f / k;
    s += p;
  }
  return k;
}

}  // namespace

uint32_t poisson(double lambda, Rng& rng) {
  if (!(lambda > 0) || !std::isfinite(lambda)) return 0;
  const PoissonTables& t = tables();
  double whole = std::floor(lambda);
  const double frac = lambda - whole;
  uint32_t k = 0;
  while (whole >= kMaxTableMean) {
    k += draw_table(t.by_mean[kMaxTableMean], rng.uniform());
    whole -= kMaxTableMean;
  }
  if (whole >= 1) k += draw_table(t.by_mean[static_cast<int>(whole)], rng.uniform());
  if (frac > 0) k += draw_small(frac, rng);
  return k;
}

}  // namespace scintigen::phantom
