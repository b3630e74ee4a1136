#include "gen/sampler_config.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/names.h"
#include "core/text.h"

namespace scintigen::gen {

const char* to_string(SamplerKind k) {
  switch (k) {
    case SamplerKind::kDdim:
      return "ddim";
    case SamplerKind::kDpmpp2mSde:
      return "dpmpp2m-sde";
    case SamplerKind::kDpmpp2m:
      break;
  }
  return "dpmpp2m";
}

SamplerKind sampler_from_string(const std::string& s, const std::string& where) {
  if (s == "ddim") return SamplerKind::kDdim;
  if (s == "dpmpp2m" || s == "dpm++2m") return SamplerKind::kDpmpp2m;
  if (s == "dpmpp2m-sde" || s == "dpm++2m-sde") return SamplerKind::kDpmpp2mSde;
  throw ConfigError(where, "unknown sampler '" + s + "'", "allowed samplers: ddim, dpmpp2m, dpmpp2m-sde");
}

void SamplerConfig::validate() const {
  if (steps < 1 || steps > 1000)
    throw ConfigError("sampler config", "steps: " + std::to_string(steps) + " is out of range",
                      "use 1..1000 (20-25 for production quality)");
  if (!std::isfinite(guidance) || guidance < 0 || guidance > 30)
    throw ConfigError("sampler config", "guidance: " + std::to_string(guidance) + " is out of range",
                      "use 0..30 (1 = conditional only)");
  if (!(guidance_t_lo >= 0.0 && guidance_t_lo < guidance_t_hi && guidance_t_hi <= 1.0))
    throw ConfigError("sampler config",
                      "guidance interval: [" + std::to_string(guidance_t_lo) + ", " + std::to_string(guidance_t_hi) +
                          "] is not an interval in [0, 1]",
                      "use LO,HI with 0 <= LO < HI <= 1 (t = 1 is pure noise)");
  for (size_t i = 0; i < guidance_on.size(); ++i) {
    if (guidance_on[i].empty())
      throw ConfigError("sampler config", "guidance_on: an empty condition name", "name conditions, e.g. metastasis");
    for (size_t j = 0; j < i; ++j)
      if (guidance_on[j] == guidance_on[i])
        throw ConfigError("sampler config", "guidance_on: '" + guidance_on[i] + "' is named twice",
                          "name each condition once");
  }
}

std::pair<double, double> parse_guidance_interval(const std::string& s, const std::string& where) {
  const std::string hint = "use LO,HI with 0 <= LO < HI <= 1, e.g. 0.05,0.7 (t = 1 is pure noise)";
  const std::vector<std::string> parts = split(s, ',');
  if (parts.size() != 2) throw ConfigError(where, "'" + s + "' is not two numbers LO,HI", hint);
  double v[2];
  for (int i = 0; i < 2; ++i) {
    size_t used = 0;
    try {
      v[i] = std::stod(parts[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (parts[i].empty() || used != parts[i].size() || !std::isfinite(v[i]))
      throw ConfigError(where, "'" + parts[i] + "' is not a number", hint);
  }
  if (!(v[0] >= 0.0 && v[0] < v[1] && v[1] <= 1.0))
    throw ConfigError(where, "'" + s + "' is not an interval in [0, 1]", hint);
  return {v[0], v[1]};
}

std::vector<std::string> parse_guidance_on(const std::string& s, const std::string& where) {
  const std::string hint = "name conditions of the model, e.g. metastasis or metastasis,tracer, or all";
  if (trim(s) == "all") return {};  // every condition: classifier-free guidance
  std::vector<std::string> names = split(s, ',');
  if (names.empty()) throw ConfigError(where, "names no condition", hint);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) throw ConfigError(where, "'" + s + "' holds an empty name", hint);
    for (size_t j = 0; j < i; ++j)
      if (names[j] == names[i]) throw ConfigError(where, "'" + names[i] + "' is named twice", hint);
  }
  return names;
}

nlohmann::json SamplerConfig::to_json() const {
  nlohmann::json j = {{"sampler", to_string(kind)},
                      {"spacing", to_string(spacing)},
                      {"steps", steps},
                      {"guidance", guidance},
                      {"seed", seed}};
  if (!guides_every_step()) j["guidance_interval"] = {guidance_t_lo, guidance_t_hi};
  if (!guidance_on.empty()) j["guidance_on"] = guidance_on;
  return j;
}

SamplerConfig SamplerConfig::from_json(const nlohmann::json& j, const std::string& where) {
  SamplerConfig c;
  try {
    c.kind = sampler_from_string(j.at("sampler").get<std::string>(), where + ": sampler");
    c.spacing = spacing_from_string(j.at("spacing").get<std::string>(), where + ": spacing");
    c.steps = j.at("steps").get<int>();
    c.guidance = j.at("guidance").get<double>();
    c.seed = j.value("seed", uint64_t{0});
    c.guidance_t_lo = 0.0;
    c.guidance_t_hi = 1.0;
    if (j.contains("guidance_interval")) {
      const auto& iv = j.at("guidance_interval");
      if (!iv.is_array() || iv.size() != 2) throw InputError(where, "guidance_interval is not [lo, hi]");
      c.guidance_t_lo = iv[0].get<double>();
      c.guidance_t_hi = iv[1].get<double>();
    }
    if (j.contains("guidance_on")) c.guidance_on = j.at("guidance_on").get<std::vector<std::string>>();
    c.validate();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, std::string("is not a sampler setting: ") + e.what());
  } catch (const ConfigError& e) {
    throw InputError(where, std::string("is not a valid sampler setting: ") + e.what());
  }
  return c;
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
