// Training-time data handling for the classifier, without LibTorch: a portable seeded RNG,
// count augmentation (scaling, small shifts, Poisson resampling), the class-balanced sampler
// and the count-preserving resampling of a scan to the network's input grid.
//
//   Rng rng(7);
//   AugmentConfig aug;                                   // scale 0.7..1.3, shift, Poisson on
//   augment_scan(pixels.data(), 256, 64, aug, rng);      // (2, H, W) counts, in place
//   BalancedSampler s(labels);
//   std::vector<size_t> idx = s.draw(64, rng);           // classes drawn about equally
//
// Everything is deterministic for a seed on every platform: core/rng.h's xoshiro256** generator
// and its exact Poisson sampler (the same one the simulator's counting noise uses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/resample.h"
#include "core/rng.h"
#include "core/scan.h"

namespace scintigen::clf {

struct AugmentConfig {
  bool scale = true;  // multiply counts by s ~ U(scale_min, scale_max) (dose / time)
  double scale_min = 0.7, scale_max = 1.3;
  bool shift = true;  // shift both views together by whole pixels, zero fill
  int max_shift_rows = 4, max_shift_cols = 2;
  bool poisson = true;  // replace counts c by Poisson(c): a new acquisition's noise

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
void poisson_resample(float* values, size_t n, Rng& rng);                    // exact Poisson (core/rng.h)
void shift_views(float* pixels, int height, int width, int rows, int cols);  // +rows moves down

// Class-balanced sampling, with replacement, over scans from one or more sources (the training
// datasets), optionally mixed with weights. Each draw picks class 0 or 1 with probability 1/2,
// then a source among those holding scans of that class, then one of that source's scans of
// that class uniformly. Without weights a source is picked in proportion to its number of scans
// of the class (so the draw is uniform over the class's scans, each with probability
// 1 / count of its class); with weights (`classify train --mix`) in proportion to its weight, so
// a source of synthetic positives can make up a chosen share of the positive draws.
class BalancedSampler {
 public:
  // labels[i] in {0, 1}; sources[i] < weights.size() when weights are given (else ignored).
  // Throws InputError when a class has no scan in a source of positive weight.
  BalancedSampler(const std::vector<int>& labels, const std::vector<size_t>& sources = {},
                  const std::vector<double>& weights = {});
  std::vector<size_t> draw(size_t n, Rng& rng) const;
  // Expected share of draws from each source (index = source), for the training log.
  std::vector<double> source_shares() const;

 private:
  struct Pool {
    size_t source = 0;
    double weight = 0.0;
    std::vector<size_t> indices;
  };
  std::vector<Pool> pools_[2];  // per class, the sources holding scans of it
  double total_weight_[2] = {0.0, 0.0};
};

}  // namespace scintigen::clf
