#include "clf/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/resample.h"

namespace scintigen::clf {

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

size_t Rng::below(size_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do r = engine_(); while (r >= limit);
  return static_cast<size_t>(r % n);
}

int Rng::integer(int lo, int hi) { return lo + static_cast<int>(below(static_cast<size_t>(hi - lo + 1))); }

double Rng::poisson(double lambda) {
  if (!(lambda > 0)) return 0.0;
  if (lambda < 10) {
    const double l = std::exp(-lambda);
    double p = 1.0;
    int k = -1;
    do {
      ++k;
      p *= uniform();
    } while (p > l);
    return k;
  }
  const double slam = std::sqrt(lambda), loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const double vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const double u = uniform() - 0.5, v = uniform();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <= -lambda + k * loglam - std::lgamma(k + 1))
      return k;
  }
}

void AugmentConfig::validate(const std::string& where) const {
  if (!(scale_min > 0) || !(scale_max >= scale_min) || scale_max > 100)
    throw ConfigError(where, fmt::format("scale range is [{}, {}], expected 0 < min <= max <= 100", scale_min, scale_max));
  if (max_shift_rows < 0 || max_shift_cols < 0 || max_shift_rows > 256 || max_shift_cols > 256)
    throw ConfigError(where, fmt::format("max shift is {} rows, {} cols; expected 0..256", max_shift_rows, max_shift_cols));
}

nlohmann::json AugmentConfig::to_json() const {
  return {{"scale", scale}, {"scale_min", scale_min}, {"scale_max", scale_max}, {"shift", shift},
          {"max_shift_rows", max_shift_rows}, {"max_shift_cols", max_shift_cols}, {"poisson", poisson}};
}

AugmentConfig AugmentConfig::from_json(const nlohmann::json& j, const std::string& where) {
  AugmentConfig c;
  try {
    c.scale = j.value("scale", c.scale);
    c.scale_min = j.value("scale_min", c.scale_min);
    c.scale_max = j.value("scale_max", c.scale_max);
    c.shift = j.value("shift", c.shift);
    c.max_shift_rows = j.value("max_shift_rows", c.max_shift_rows);
    c.max_shift_cols = j.value("max_shift_cols", c.max_shift_cols);
    c.poisson = j.value("poisson", c.poisson);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, fmt::format("bad augmentation config: {}", e.what()));
  }
  c.validate(where);
  return c;
}

void scale_counts(float* values, size_t n, double factor) {
  const float f = static_cast<float>(factor);
  for (size_t i = 0; i < n; ++i) values[i] *= f;
}

void poisson_resample(float* values, size_t n, Rng& rng) {
  for (size_t i = 0; i < n; ++i) values[i] = static_cast<float>(rng.poisson(values[i]));
}

void shift_views(float* pixels, int height, int width, int rows, int cols) {
  if (rows == 0 && cols == 0) return;
  std::vector<float> src(pixels, pixels + 2 * static_cast<size_t>(height) * width);
  std::fill(pixels, pixels + src.size(), 0.0f);
  for (int v = 0; v < 2; ++v) {
    const size_t base = static_cast<size_t>(v) * height * width;
    for (int r = 0; r < height; ++r) {
      const int sr = r - rows;
      if (sr < 0 || sr >= height) continue;
      const int c0 = std::max(0, cols), c1 = std::min(width, width + cols);  // destination columns
      if (c1 <= c0) continue;
      std::memcpy(pixels + base + static_cast<size_t>(r) * width + c0,
                  src.data() + base + static_cast<size_t>(sr) * width + (c0 - cols), sizeof(float) * (c1 - c0));
    }
  }
}

void augment_scan(float* pixels, int height, int width, const AugmentConfig& config, Rng& rng) {
  const size_t n = 2 * static_cast<size_t>(height) * width;
  if (config.shift) {
    const int dr = rng.integer(-config.max_shift_rows, config.max_shift_rows);
    const int dc = rng.integer(-config.max_shift_cols, config.max_shift_cols);
    shift_views(pixels, height, width, dr, dc);
  }
  if (config.scale) scale_counts(pixels, n, config.scale_min + (config.scale_max - config.scale_min) * rng.uniform());
  if (config.poisson) poisson_resample(pixels, n, rng);
}

BalancedSampler::BalancedSampler(const std::vector<int>& labels, uint64_t seed) : rng_(seed) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw InputError("balanced sampler", fmt::format("label {} at index {} is not 0/1", labels[i], i));
    by_class_[labels[i]].push_back(i);
  }
  if (by_class_[0].empty() || by_class_[1].empty())
    throw InputError("balanced sampler", "needs both classes");
}

std::vector<size_t> BalancedSampler::draw(size_t n) {
  // Weight 1 / n_c per index: pick the class with probability 1/2, then an index within it.
  std::vector<size_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& pool = by_class_[rng_.uniform() < 0.5 ? 1 : 0];
    out[i] = pool[rng_.below(pool.size())];
  }
  return out;
}

}  // namespace scintigen::clf
