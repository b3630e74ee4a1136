// Exact Poisson sampling (see rng.h): the simulator's counting noise, the classifier's
// Poisson resampling.
//
// lambda = q + f with a tabulated mean q (multiples of 1/8 below 64, integers up to 255) and
// 0 <= f < 1/8 (f < 1 above 64): Poisson(lambda) = Poisson(q) + Poisson(f) (sums of
// independent Poisson variables are Poisson). Poisson(q) is drawn from its exact distribution
// by the alias method (one random word, one table load); means above 255 as sums of such
// draws. Poisson(f) by inversion: u < 1 - f <= exp(-f) gives 0 without evaluating anything
// (probability >= 7/8 below 64), otherwise the cumulative sum from exp(-f) (table + Taylor).
// Every probability is exact up to 2^-53 (the resolution of the uniforms and thresholds).
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace scintigen {

namespace {

// Tabulated means: q = j / 8 for j = 1..kFineSteps (q < 64, where almost all pixels are), then
// q = 64..kMaxTableMean in unit steps. The residual lambda - q is below 1/8 (below 1 for
// q >= 64), so Poisson(residual) is 0 without further work with probability >= 7/8.
constexpr int kFineSteps = 512;  // 1/8 .. 64
constexpr int kMaxTableMean = 255;
constexpr int kTables = kFineSteps + (kMaxTableMean - 64);  // last: mean 255

// Poisson(q) by the alias method: one 64-bit random word, one table load, no search loop.
// The table has N = 2^bits columns (the support lo..lo+len-1 padded with empty columns); the
// top `bits` bits pick column i, the next 53 bits are compared with the column's 53-bit
// threshold: below it the result is i, otherwise the column's alias. Every outcome's
// probability is therefore a sum of multiples of 2^-(53+bits): exact up to the rounding of
// the thresholds to 53 bits (2^-53), as exact as inversion with a 53-bit uniform.
// Ref: Walker, ACM TOMS 1977;3:253; Vose, IEEE TSE 1991;17:972 (linear-time construction).
struct PoissonTable {
  const uint64_t* entry = nullptr;  // (threshold << 11) | alias
  uint32_t shift = 0;               // 64 - bits
  uint32_t lo = 0;
};

struct PoissonTables {
  std::vector<uint64_t> store;
  PoissonTable table[kTables];  // table[i]: mean table_mean(i)
  double exp_tab[1025];         // exp(-k / 1024)

  static double table_mean(int i) { return i < kFineSteps ? (i + 1) / 8.0 : 64.0 + (i - kFineSteps + 1); }

  PoissonTables() {
    std::vector<size_t> off(kTables);
    for (int i = 0; i < kTables; ++i) {
      const double m = table_mean(i);
      // Support: from where the lower tail is below 1e-17 (lumped into the first value) up to
      // where the pmf falls below 1e-22 past the mode (the rest, < 1e-21, is dropped).
      std::vector<long double> pmf;
      for (int k = 0;; ++k) {
        pmf.push_back(std::exp(static_cast<long double>(k) * std::log(static_cast<long double>(m)) - m -
                               std::lgamma(static_cast<long double>(k) + 1)));
        if (k > m + 1 && pmf.back() < 1e-22L) break;
      }
      int lo = 0;
      long double below = 0;
      while (lo < m && below + pmf[lo] < 1e-17L) below += pmf[lo++];
      std::vector<long double> p(pmf.begin() + lo, pmf.end());
      p[0] += below;
      long double total = 0;
      for (long double x : p) total += x;
      int bits = 0;
      while ((size_t{1} << bits) < p.size()) ++bits;
      const size_t N = size_t{1} << bits;  // <= 2048: the alias fits in 11 bits
      // Vose's construction on N columns.
      std::vector<long double> q(N, 0.0L);
      for (size_t k = 0; k < p.size(); ++k) q[k] = p[k] / total * N;
      std::vector<size_t> small, large;
      for (size_t k = 0; k < N; ++k) (q[k] < 1 ? small : large).push_back(k);
      std::vector<long double> prob(N, 1.0L);
      std::vector<uint32_t> alias(N);
      for (size_t k = 0; k < N; ++k) alias[k] = static_cast<uint32_t>(k);
      while (!small.empty() && !large.empty()) {
        const size_t l = small.back(), g = large.back();
        small.pop_back();
        prob[l] = q[l], alias[l] = static_cast<uint32_t>(g);
        q[g] = (q[g] + q[l]) - 1;
        if (q[g] < 1) large.pop_back(), small.push_back(g);
      }
      off[i] = store.size();
      for (size_t k = 0; k < N; ++k) {
        uint64_t thr;
        if (prob[k] >= 1) {  // a full column: every draw gives k
          thr = (uint64_t{1} << 53) - 1, alias[k] = static_cast<uint32_t>(k);
        } else {
          thr = static_cast<uint64_t>(std::llround(prob[k] * 9007199254740992.0L));  // 2^53
        }
        store.push_back(thr << 11 | alias[k]);
      }
      table[i].shift = 64 - bits;
      table[i].lo = lo;
    }
    for (int i = 0; i < kTables; ++i) table[i].entry = store.data() + off[i];
    for (int k = 0; k <= 1024; ++k) exp_tab[k] = std::exp(-k / 1024.0);
  }
};

const PoissonTables& tables() {
  static const PoissonTables t;  // thread-safe initialisation (C++11 magic static)
  return t;
}

inline uint32_t draw_table(const PoissonTable& t, uint64_t r) {
  const uint32_t i = t.shift < 64 ? static_cast<uint32_t>(r >> t.shift) : 0;
  const uint64_t frac = ((r << (64 - t.shift)) >> 11) & ((uint64_t{1} << 53) - 1);  // next 53 bits
  const uint64_t e = t.entry[i];
  const uint32_t k = frac < (e >> 11) ? i : static_cast<uint32_t>(e & 2047);
  return k + t.lo;
}

// exp(-f) for 0 <= f < 1 to double precision: exp(-k/1024) from a table times a 5-term
// Taylor series of exp(-r), r < 1/1024 (truncation error < 1e-18).
inline double exp_neg_frac(const PoissonTables& t, double f) {
  const double x = f * 1024;
  const int k = static_cast<int>(x);
  const double r = (x - k) * (1.0 / 1024);
  return t.exp_tab[k] * (1 - r * (1 - r * (0.5 - r * (1.0 / 6 - r * (1.0 / 24)))));
}

// Poisson(f), 0 < f < 1, given the uniform u >= 1 - f (the caller handled u < 1 - f -> 0):
// sequential inversion from P(X = 0) = exp(-f).
inline uint32_t small_tail(const PoissonTables& t, double f, double u) {
  double p = exp_neg_frac(t, f), s = p;
  uint32_t k = 0;
  while (u > s && k < 40) {
    ++k;
    p *= f / k;
    s += p;
  }
  return k;
}

inline uint32_t draw(const PoissonTables& t, double lambda, Rng& rng) {
  if (lambda < 0.125) {  // background pixels: one uniform, one well-predicted compare
    const double u = rng.uniform();
    return u < 1 - lambda ? 0u : small_tail(t, lambda, u);
  }
  uint32_t k = 0;
  double rest;
  if (lambda < 64) {
    const int j = static_cast<int>(lambda * 8);  // 1..511, mean j/8
    rest = lambda - j * 0.125;
    k = draw_table(t.table[j - 1], rng.next());
  } else {
    double whole = std::floor(lambda);
    rest = lambda - whole;
    while (whole > kMaxTableMean) {
      k += draw_table(t.table[kTables - 1], rng.next());
      whole -= kMaxTableMean;
    }
    if (whole >= 64) {
      k += draw_table(t.table[kFineSteps + static_cast<int>(whole) - 65], rng.next());
    } else {  // what is left of a mean above 255: 1..63
      k += draw_table(t.table[static_cast<int>(whole) * 8 - 1], rng.next());
    }
  }
  if (rest > 0) {
    const double u = rng.uniform();
    if (u >= 1 - rest) k += small_tail(t, rest, u);
  }
  return k;
}

}  // namespace

uint32_t poisson(double lambda, Rng& rng) {
  if (!(lambda > 0) || !std::isfinite(lambda)) return 0;
  return draw(tables(), lambda, rng);
}

void poisson_fill(float* x, size_t n, Rng& rng) {
  const PoissonTables& t = tables();
  for (size_t i = 0; i < n; ++i) {
    const float lam = x[i];
    if (!(lam > 0) || !std::isfinite(lam)) {
      x[i] = 0.f;
      continue;
    }
    x[i] = static_cast<float>(draw(t, lam, rng));
  }
}

}  // namespace scintigen
