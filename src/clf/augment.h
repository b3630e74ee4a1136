// Training-time data handling for the classifier, without LibTorch: a portable seeded RNG,
// count augmentation (scaling, small shifts, Poisson resampling), the class-balanced sampler
// and the count-preserving resampling of a scan to the network's input grid.
//
//   Rng rng(7);
//   AugmentConfig aug;                                   // scale 0.7..1.3, shift, Poisson on
//   augment_scan(pixels.data(), 256, 64, aug, rng);      // (2, H, W) counts, in place
//   BalancedSampler s(labels, /*seed=*/7);
//   std::vector<size_t> idx = s.draw(64);                // classes drawn about equally
//
// Everything is deterministic for a seed on every platform: std::mt19937_64 with our own
// uniform, normal and Poisson transforms (the std:: distributions are implementation-defined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/resample.h"
#include "core/scan.h"

namespace scintigen::clf {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double uniform();                  // [0, 1), 53 random bits
  size_t below(size_t n);            // uniform integer in [0, n), rejection sampling
  int integer(int lo, int hi);       // uniform in [lo, hi]
  // Poisson variate: multiplication method below 10, else PTRS transformed rejection.
  // Ref: W. Hörmann, The transformed rejection method for generating Poisson random
  //      variables, Insurance: Mathematics and Economics 12(1):39-45, 1993.
  double poisson(double lambda);

 private:
  std::mt19937_64 engine_;
};

struct AugmentConfig {
  bool scale = true;             // multiply counts by s ~ U(scale_min, scale_max) (dose / time)
  double scale_min = 0.7, scale_max = 1.3;
  bool shift = true;             // shift both views together by whole pixels, zero fill
  int max_shift_rows = 4, max_shift_cols = 2;
  bool poisson = true;           // replace counts c by Poisson(c): a new acquisition's noise

  bool any() const { return scale || shift || poisson; }
  void validate(const std::string& where = "augmentation") const;
  nlohmann::json to_json() const;
  static AugmentConfig from_json(const nlohmann::json& j, const std::string& where);
};

// In place on one (2, H, W) scan: shift, then counts * s, then Poisson resampling; so the
// expected total after augmentation is s * (total of the shifted scan).
void augment_scan(float* pixels, int height, int width, const AugmentConfig& config, Rng& rng);
// The building blocks (in place on `n` or (2, H, W) values).
void scale_counts(float* values, size_t n, double factor);
void poisson_resample(float* values, size_t n, Rng& rng);
void shift_views(float* pixels, int height, int width, int rows, int cols);  // +rows moves down

// Draws indices with probability proportional to 1 / (count of the index's class), so every
// class is drawn equally often in expectation (with replacement). Labels are 0/1.
class BalancedSampler {
 public:
  BalancedSampler(const std::vector<int>& labels, uint64_t seed);
  std::vector<size_t> draw(size_t n);

 private:
  std::vector<size_t> by_class_[2];
  Rng rng_;
};

}  // namespace scintigen::clf
