// Counter-based seeding, a small fast generator and an exact Poisson sampler: the simulator's
// noise and the classifier's augmentation draw from these.
//
//   Rng rng = Rng::for_scan(seed, index, Rng::kNoiseStream);  // independent of threads/shards
//   double u = rng.uniform();                                  // [0, 1)
//   uint32_t k = poisson(12.7, rng);                           // exactly Poisson(12.7)
//
// Every scan draws from its own generator derived from (seed, index, stream) with SplitMix64,
// so a scan's pixels depend on nothing but its seed and index.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/splitmix.h"

namespace scintigen {

// Ref: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021): xoshiro256**.
class Rng {
 public:
  enum Stream : uint64_t { kPatientStream = 1, kNoiseStream = 2 };

  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) {
      x = splitmix64(x);
      s = x;
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }
  // The generator of one scan: a pure function of (seed, index, stream).
  static Rng for_scan(uint64_t seed, uint64_t index, uint64_t stream) {
    return Rng(splitmix64(splitmix64(seed) ^ splitmix64(index * 0x9E3779B97F4A7C15ull + stream)) ^ stream);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Log-uniform in [lo, hi] (both > 0).
  double log_uniform(double lo, double hi) { return lo * std::exp(std::log(hi / lo) * uniform()); }
  bool bernoulli(double p) { return uniform() < p; }
  // Integer in [0, n).
  uint64_t below(uint64_t n) { return n ? static_cast<uint64_t>(uniform() * static_cast<double>(n)) % n : 0; }
  // Integer in [lo, hi] (lo <= hi).
  int integer(int lo, int hi) { return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo) + 1)); }
  // Standard normal (Marsaglia polar method; the spare value is dropped to keep the state simple).
  double normal() {
    for (;;) {
      const double a = 2 * uniform() - 1, b = 2 * uniform() - 1, s = a * a + b * b;
      if (s > 0 && s < 1) return a * std::sqrt(-2 * std::log(s) / s);
    }
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Exact Poisson(lambda) sample for any lambda >= 0 (non-finite or negative lambda gives 0).
// lambda = q + f with a tabulated mean q (multiples of 1/8 below 64, integers up to 255; larger
// means as sums of table draws; sums of independent Poisson variables are Poisson): Poisson(q)
// by the alias method (one random word, one table load), plus Poisson(f), f < 1/8 (< 1 above
// 64), by inversion that is a single compare with probability >= 7/8. Probabilities are exact
// up to 2^-53. Cost: ~3 ns for a background pixel, ~6-8 ns inside the body (see poisson.cc).
uint32_t poisson(double lambda, Rng& rng);
// x[i] <- Poisson(x[i]) for i < n, in order (identical to calling poisson() on each element).
void poisson_fill(float* x, size_t n, Rng& rng);

}  // namespace scintigen
