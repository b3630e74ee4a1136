#include "clf/augment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/resample.h"

namespace scintigen::clf {

void AugmentConfig::validate(const std::string& where) const {
  if (!(scale_min > 0) || !(scale_max >= scale_min) || scale_max > 100)
    throw ConfigError(where,
                      fmt::format("scale range is [{}, {}], expected 0 < min <= max <= 100", scale_min, scale_max));
  if (max_shift_rows < 0 || max_shift_cols < 0 || max_shift_rows > 256 || max_shift_cols > 256)
    throw ConfigError(where,
                      fmt::format("max shift is {} rows, {} cols; expected 0..256", max_shift_rows, max_shift_cols));
}

nlohmann::json AugmentConfig::to_json() const {
  return {{"scale", scale},    {"scale_min", scale_min},           {"scale_max", scale_max},
          {"shift", shift},    {"max_shift_rows", max_shift_rows}, {"max_shift_cols", max_shift_cols},
          {"poisson", poisson}};
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
  poisson_fill(values, n, rng);
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

BalancedSampler::BalancedSampler(const std::vector<int>& labels, const std::vector<size_t>& sources,
                                 const std::vector<double>& weights) {
  const bool mixed = !weights.empty();
  if (mixed && sources.size() != labels.size())
    throw InputError("balanced sampler", fmt::format("{} sources for {} labels", sources.size(), labels.size()));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw InputError("balanced sampler", fmt::format("label {} at index {} is not 0/1", labels[i], i));
    const size_t src = mixed ? sources[i] : 0;
    if (mixed && (src >= weights.size() || !(weights[src] >= 0)))
      throw InputError("balanced sampler", fmt::format("scan {} has source {} without a valid weight", i, src));
    auto& pools = pools_[labels[i]];
    auto it = std::find_if(pools.begin(), pools.end(), [&](const Pool& p) { return p.source == src; });
    if (it == pools.end()) it = pools.insert(pools.end(), Pool{src, 0.0, {}});
    it->indices.push_back(i);
  }
  for (int cls = 0; cls < 2; ++cls) {
    auto& pools = pools_[cls];
    for (auto& p : pools) p.weight = mixed ? weights[p.source] : static_cast<double>(p.indices.size());
    pools.erase(std::remove_if(pools.begin(), pools.end(), [](const Pool& p) { return p.weight <= 0; }), pools.end());
    for (const auto& p : pools) total_weight_[cls] += p.weight;
    if (pools.empty())
      throw InputError("balanced sampler", fmt::format("no scan of class {} in a source of positive weight", cls),
                       "both classes are needed among the weighted training datasets");
  }
}

std::vector<size_t> BalancedSampler::draw(size_t n, Rng& rng) const {
  std::vector<size_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const int cls = rng.uniform() < 0.5 ? 1 : 0;
    const auto& pools = pools_[cls];
    const Pool* pool = &pools.back();
    if (pools.size() > 1) {  // a source in proportion to its weight
      double u = rng.uniform() * total_weight_[cls];
      for (const auto& p : pools) {
        if (u < p.weight) {
          pool = &p;
          break;
        }
        u -= p.weight;
      }
    }
    out[i] = pool->indices[rng.below(pool->indices.size())];
  }
  return out;
}

std::vector<double> BalancedSampler::source_shares() const {
  std::vector<double> shares;
  for (int cls = 0; cls < 2; ++cls)
    for (const auto& p : pools_[cls]) {
      if (shares.size() <= p.source) shares.resize(p.source + 1, 0.0);
      shares[p.source] += 0.5 * p.weight / total_weight_[cls];
    }
  return shares;
}

}  // namespace scintigen::clf
