// The sampler settings of `scintigen generate` and the sample grids: which sampler, where its
// steps fall in t, how many, the guidance scale and the seed. No LibTorch here (the samplers
// themselves are in sampler.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace scintigen::gen {

// kDpmpp2mSde is stochastic: it draws fresh noise at every step but the last (sampler.h).
enum class SamplerKind { kDdim, kDpmpp2m, kDpmpp2mSde };
const char* to_string(SamplerKind k);
// "ddim" | "dpmpp2m" (also "dpm++2m") | "dpmpp2m-sde"; throws ConfigError listing them.
SamplerKind sampler_from_string(const std::string& s, const std::string& where = "--sampler");

// Where the steps fall in t. kTimeQuadratic (t_i = (1 - i / N)^2) puts more steps near the
// data end; on a two-Gaussian mixture it gave DPM-Solver++(2M) 3-13x lower error than uniform t
// or uniform logSNR at 10-25 steps, on a single Gaussian uniform logSNR did better (docs/MODEL.md).
// On the shipped model's scans uniform logSNR won the audit (C2ST 0.743 against 0.810 with the
// same weights: docs/experiments/fidelity.md, "Time spacing: results"), so it is the default.
enum class TimeSpacing { kTimeUniform, kTimeQuadratic, kLogSnrUniform };
const char* to_string(TimeSpacing s);
// "uniform" | "quadratic" | "logsnr"; throws ConfigError listing them.
TimeSpacing spacing_from_string(const std::string& s, const std::string& where = "--spacing");

// The network's precision when sampling. kAuto: bf16 autocast on a CPU that runs bf16 natively
// (AVX-512 BF16 or AMX), fp32 elsewhere and on CUDA. bf16 changed no audit number by more than
// 0.01 and is 1.2x as fast on such a CPU (docs/experiments/fidelity.md, "Fewer sampler steps").
enum class Precision { kAuto, kFp32, kBf16 };
const char* to_string(Precision p);
// "auto" | "fp32" | "bf16"; throws ConfigError listing them.
Precision precision_from_string(const std::string& s, const std::string& where = "--precision");
// Whether this CPU runs bf16 natively: avx512_bf16 or amx_bf16 among /proc/cpuinfo's flags
// (false where the file cannot be read). Read once.
bool cpu_has_native_bf16();
// kAuto resolved: bf16 on a native-bf16 CPU, fp32 on CUDA or any other CPU.
bool use_bf16(Precision p, bool cuda);

// The defaults are the sampler settings chosen by the audit (docs/experiments/fidelity.md,
// "Fewer sampler steps: results", "Guidance in a limited interval: results" and "Time spacing:
// results"): guidance 1.5 with 10 DPM-Solver++(2M) steps uniform in logSNR, guiding only the
// steps at t in [0.05, 0.7] (two of the ten). They apply to a model that names no settings of its
// own (model_io.h, model_sampler); the shipped model names guidance 2 on metastasis alone ("Guidance
// on the metastasis condition alone: results").
struct SamplerConfig {
  SamplerKind kind = SamplerKind::kDpmpp2m;
  TimeSpacing spacing = TimeSpacing::kLogSnrUniform;
  int steps = 10;         // network evaluations (<= 25 for production)
  double guidance = 1.5;  // classifier-free guidance scale (1 = conditional only)
  // Ref: Kynkaanniemi et al. 2024. Guidance applies only to the network evaluations at times t
  // in [guidance_t_lo, guidance_t_hi]; elsewhere the conditional prediction alone runs (one
  // batch of B, not 2B). [0, 1] guides every step.
  double guidance_t_lo = 0.05, guidance_t_hi = 0.7;
  // The conditions guidance pushes: the guided steps' second prediction drops only these tokens,
  // the others kept as requested (empty = every condition: classifier-free guidance against the
  // unconditional prediction). Names are checked against a model's conditions where it is loaded
  // (guided_columns, generate_tensors.h).
  std::vector<std::string> guidance_on;
  uint64_t seed = 0;

  bool guides_every_step() const { return guidance_t_lo <= 0.0 && guidance_t_hi >= 1.0; }

  void validate() const;  // throws ConfigError naming the field
  // The interval appears (as "guidance_interval": [lo, hi]) only where it is not [0, 1], and
  // "guidance_on" only where it names conditions, so older runs keep the provenance and resume
  // checks they had.
  nlohmann::json to_json() const;
  // The inverse of to_json (seed optional, no interval = [0, 1]), validated; a missing or
  // malformed field is an InputError naming `where` and the field.
  static SamplerConfig from_json(const nlohmann::json& j, const std::string& where);
};

// "LO,HI" with 0 <= LO < HI <= 1 -> (LO, HI); throws ConfigError naming `where`.
std::pair<double, double> parse_guidance_interval(const std::string& s,
                                                  const std::string& where = "--guidance-interval");

// "metastasis" or "metastasis,tracer" -> the names, each non-empty and named once; "all" -> {}
// (every condition). Throws ConfigError naming `where`. Whether they are a model's conditions is
// checked where it is loaded.
std::vector<std::string> parse_guidance_on(const std::string& s, const std::string& where = "--guidance-on");

}  // namespace scintigen::gen
