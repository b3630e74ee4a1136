// The sampler settings of `scintigen generate` and the sample grids: which sampler, where its
// steps fall in t, how many, the guidance scale and the seed. No LibTorch here (the samplers
// themselves are in sampler.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace scintigen::gen {

enum class SamplerKind { kDdim, kDpmpp2m };
const char* to_string(SamplerKind k);
// "ddim" | "dpmpp2m" (also "dpm++2m"); throws ConfigError listing them.
SamplerKind sampler_from_string(const std::string& s, const std::string& where = "--sampler");

// Where the steps fall in t. kTimeQuadratic (t_i = (1 - i / N)^2) puts more steps near the
// data end, where the ODE bends; on a two-Gaussian mixture it gave DPM-Solver++(2M) 3-13x
// lower error than uniform t or uniform logSNR at 10-25 steps (docs/MODEL.md); on a single
// Gaussian at 10 steps uniform logSNR did better, so the choice stays a setting.
enum class TimeSpacing { kTimeUniform, kTimeQuadratic, kLogSnrUniform };
const char* to_string(TimeSpacing s);
// "uniform" | "quadratic" | "logsnr"; throws ConfigError listing them.
TimeSpacing spacing_from_string(const std::string& s, const std::string& where = "--spacing");

struct SamplerConfig {
  SamplerKind kind = SamplerKind::kDpmpp2m;
  TimeSpacing spacing = TimeSpacing::kTimeQuadratic;
  int steps = 20;         // network evaluations (<= 25 for production)
  double guidance = 2.0;  // classifier-free guidance scale (1 = conditional only)
  uint64_t seed = 0;

  void validate() const;  // throws ConfigError naming the field
  nlohmann::json to_json() const;
};

}  // namespace scintigen::gen
