// The membership-inference score of a trained diffusion model: each scan's denoising loss.
// A model denoises its training scans better than scans it never saw, so a low loss marks a
// likely training member; `scintigen audit` reports AUC(score = -loss; training scans =
// positives, held-out real scans = negatives) with a DeLong CI (stats/roc.h).
//
//   DenoisingLossConfig c;  c.model = "models/mine";  c.seed = 7;
//   DenoisingLosses l = denoising_losses(c, scans, &sink);   // l.loss[i]: scan i's mean loss
//   std::vector<double> score(l.loss.size());
//   for (size_t i = 0; i < score.size(); ++i) score[i] = -l.loss[i];
//
// Each scan is prepared as the training data is (train_data.h): both views at the model's grid
// by count-preserving resampling (core/resample.h), then the Anscombe transform into model
// space (transform.h), and for a latent diffusion model into its autoencoder's scaled latent
// means (autoencoder.h, to_diffusion_space); its condition is its own labels (condition_from_labels; missing labels
// are token 0). The EMA network, in eval mode and without gradients, scores it at every time
// t_k of `times` with `draws` noise draws each:
//   x_t = alpha_k x0 + sigma_k eps_kd,   v = alpha_k eps_kd - sigma_k x0,
//   L_kd = mean over the denoiser's C H W values of (net(x_t, t_k, c) - v)^2   (objective.h's v-MSE),
//   per_time[k] = mean_d L_kd,   loss = mean_k per_time[k].
// eps_kd (C, H, W; the scans' 2 x H x W for a pixel model) is one standard normal image drawn from stream_rng(seed,
// kAuditNoise, k * draws + d) (core/random_streams.h, Rng::normal, row-major), the same for every scan: scans are
// compared under identical noise, and a scan's loss depends on neither the batch it is in nor the order of the scans
// (up to float rounding of batched convolutions, ~1e-7 relative). Ref: Carlini et al. 2023, "Extracting training data
// from diffusion models" (loss threshold attack); Matsumoto et al. 2023, "Membership inference attacks against
// diffusion models"; Duan et al. 2023, "Are diffusion models vulnerable to membership inference attacks?" (SecMI:
// losses at intermediate t separate members best, hence times well inside (0, 1)).
//
// No LibTorch in this header.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/scan.h"

namespace scintigen::gen {

struct DenoisingLossConfig {
  std::string model = "builtin";                                // model folder or "builtin"
  std::vector<double> times = {0.05, 0.1, 0.2, 0.3, 0.4, 0.6};  // diffusion times t in (0, 1)
  int draws = 4;                                                // noise draws per time
  uint64_t seed = 0;                                            // of the noise (kAuditNoise)
  int batch = 16;                                               // scans per forward pass
  int threads = 0;                                              // intra-op threads (0 = all cores)
  std::string device = "cpu";                                   // cpu | cuda | cuda:N | auto

  // Throws ConfigError naming the flag of `scintigen audit` (--membership-times, --model, ...)
  // and the allowed range.
  void validate() const;
  nlohmann::json to_json() const;
};

struct DenoisingLosses {
  std::vector<double> times;                  // the config's times (per_time's columns)
  std::vector<double> loss;                   // per scan: mean over times and draws
  std::vector<std::vector<double>> per_time;  // [scan][time]: mean over draws
  std::string model_sha256;                   // SHA-256 of the model's ema.pt
  // A summary, not the per-scan arrays: {"scans", "times", "model_sha256", "mean_loss",
  // "mean_loss_per_time"} (means over scans).
  nlohmann::json to_json() const;
};

// The losses of `scans` (any grid; both views needed) under `config`'s model. Reports its
// progress (scans scored) to `events` as task "membership". Throws ConfigError for a bad
// config, InputError for an empty scan list, a scan without both views or without pixels, and
// for a model folder that does not load (naming it).
DenoisingLosses denoising_losses(const DenoisingLossConfig& config, const std::vector<Scan>& scans,
                                 EventSink* events = nullptr);

}  // namespace scintigen::gen
