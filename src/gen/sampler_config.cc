#include "gen/sampler_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/names.h"

namespace scintigen::gen {

const char* to_string(SamplerKind k) {
  return k == SamplerKind::kDdim ? "ddim" : "dpmpp2m";
}

SamplerKind sampler_from_string(const std::string& s, const std::string& where) {
  if (s == "ddim") return SamplerKind::kDdim;
  if (s == "dpmpp2m" || s == "dpm++2m") return SamplerKind::kDpmpp2m;
  throw ConfigError(where, "unknown sampler '" + s + "'", "allowed samplers: ddim, dpmpp2m");
}

void SamplerConfig::validate() const {
  if (steps < 1 || steps > 1000)
    throw ConfigError("sampler config", "steps: " + std::to_string(steps) + " is out of range",
                      "use 1..1000 (20-25 for production quality)");
  if (!std::isfinite(guidance) || guidance < 0 || guidance > 30)
    throw ConfigError("sampler config", "guidance: " + std::to_string(guidance) + " is out of range",
                      "use 0..30 (1 = conditional only)");
}

nlohmann::json SamplerConfig::to_json() const {
  return {{"sampler", to_string(kind)},
          {"spacing", to_string(spacing)},
          {"steps", steps},
          {"guidance", guidance},
          {"seed", seed}};
}

const char* to_string(TimeSpacing s) {
  switch (s) {
    case TimeSpacing::kTimeUniform:
      return "uniform";
    case TimeSpacing::kTimeQuadratic:
      return "quadratic";
    case TimeSpacing::kLogSnrUniform:
      return "logsnr";
  }
  return "?";
}

TimeSpacing spacing_from_string(const std::string& s, const std::string& where) {
  if (s == "uniform") return TimeSpacing::kTimeUniform;
  if (s == "quadratic") return TimeSpacing::kTimeQuadratic;
  if (s == "logsnr") return TimeSpacing::kLogSnrUniform;
  throw ConfigError(where, "unknown time spacing '" + s + "'", "allowed spacings: uniform, quadratic, logsnr");
}

constexpr NamedValue<Precision> kPrecisionNames[] = {
    {Precision::kAuto, "auto"}, {Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}};

const char* to_string(Precision p) {
  return name_of(kPrecisionNames, p);
}

Precision precision_from_string(const std::string& s, const std::string& where) {
  return value_named<ConfigError>(kPrecisionNames, s, where, "precision");
}

bool cpu_has_native_bf16() {
  static const bool native = [] {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      const size_t colon = line.find(':');
      std::istringstream words(colon == std::string::npos ? line : line.substr(colon + 1));
      for (std::string w; words >> w;)
        if (w == "avx512_bf16" || w == "amx_bf16") return true;
      return false;  // the first processor's flags speak for all
    }
    return false;
  }();
  return native;
}

bool use_bf16(Precision p, bool cuda) {
  if (p != Precision::kAuto) return p == Precision::kBf16;
  return !cuda && cpu_has_native_bf16();
}

}  // namespace scintigen::gen
