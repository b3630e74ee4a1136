// `scintigen autoencoder train|reconstruct`: the first stage of a latent diffusion model
// (autoencoder.h; docs/MODEL.md, "Latent diffusion").
//
//   AutoencoderRunConfig c;  c.data.datasets = {"sim"};  c.out = "ae";
//   AutoencoderRunResult r = run_autoencoder_training(c, callbacks, &sink);
//   ReconstructConfig rc;  rc.autoencoder = "ae";  rc.data = "real";  rc.out = "recon";
//   ReconstructResult rr = reconstruct_dataset(rc, &sink);
//
// Training folder, through the run harness (run/run.h) as `train`'s: run.json, checkpoint/
// (weights, EMA, AdamW state, step; every checkpoint_every steps, atomic), metrics.jsonl,
// samples/step_NNNNNN.png (validation scans above their reconstructions), and at the end
// autoencoder.json (format, config, training record, the latent statistics a diffusion model
// needs, validation deviance, versions, the SHA-256 of ema.pt) and ema.pt (the EMA weights).
// Exact resume: the data order and each step's latent noise are functions of (seed, step), as in
// `train`; a resume refuses a changed setting (only --steps may change, as in `train`).
//
// The objective (autoencoder_loss): the Poisson likelihood of the scan's observed counts under
// the decoded expected counts, plus kl_weight times the KL divergence of the latent from N(0, I).
// Validation: the mean Poisson deviance per pixel of the validation scans under the EMA model's
// reconstruction from the latent mean (0 would mean reproducing the noise itself; a Poisson
// sample scores about 1 per pixel under its own expectation where counts are large).
//
// Reconstruction: each two-view scan of a dataset, resampled to the autoencoder's grid, encoded
// (latent mean) and decoded; the counts written are Poisson draws around the decoded expectation
// (scan i's from a stream seeded by (seed, i)), or the expectation itself with --counts
// continuous. Labels, ids and split are kept; each scan's provenance names the autoencoder. What
// the audit then measures between real scans and their reconstructions is the ceiling a latent
// diffusion model on this autoencoder can reach.
//
// No LibTorch in this header.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/progress.h"
#include "gen/autoencoder_config.h"
#include "gen/train_config.h"
#include "gen/train_loop.h"

namespace scintigen::gen {

inline constexpr const char* kAutoencoderFormat = "scintigen-autoencoder";
inline constexpr int kAutoencoderFormatVersion = 1;

// The adversarial term of the autoencoder's objective (off unless weight > 0; docs/MODEL.md,
// "Latent diffusion"): a patch discriminator (Isola et al. 2017; as in the first stages of Esser
// et al. 2021 and Rombach et al. 2022) learns to tell the training scans from Poisson draws around
// their reconstructions, both in model space, with the hinge loss; from step `start` on, the
// autoencoder's loss adds weight * lambda * (-mean D(draw)), where lambda balances the term's
// gradient at the decoder's last layer against the Poisson likelihood's (Esser et al. 2021's
// adaptive weight). The draw's gradient reaches the expected counts straight through (the draw
// itself is not differentiable; d draw / d rate is taken as 1).
struct AdversarialConfig {
  double weight = 0;    // 0 = off
  int64_t start = 500;  // the step at which the discriminator and the term start
  int channels = 32;    // the discriminator's first-layer channels (doubling per layer, at most 8x)
  int layers = 3;       // its stride-2 convolutions (receptive field 70 pixels at 3)

  bool enabled() const { return weight > 0; }
  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

struct AutoencoderRunConfig {
  // The default config with count_max 0: fitted to the training data.
  static AutoencoderConfig fitted_count_max() {
    AutoencoderConfig m;
    m.transform.count_max = 0;
    return m;
  }

  DataConfig data;
  std::string out;                               // folder to create (or resume)
  AutoencoderConfig model = fitted_count_max();  // architecture and grid; transform.count_max 0 = fit to the data
  TrainConfig train;              // steps, lr, warm-up, AdamW, clipping, EMA, seed, bf16 (cond_drop unused)
  double kl_weight = 1e-6;        // weight of the KL term against the Poisson term
  AdversarialConfig adversarial;  // off by default
  int batch = 16;
  bool resume = false;
  bool warmup_from_run = false;  // on resume, take train.warmup_steps from the run (flag not given)
  int64_t stop_at = 0;           // checkpoint and stop at this step (0 = train to the end)
  double time_limit_min = 0;     // checkpoint and stop at the first log point past this (0 = none)
  int64_t log_every = 20, checkpoint_every = 250, val_every = 250, sample_every = 1000;
  std::string device = "cpu";
  int threads = 0;

  void validate() const;  // throws ConfigError naming the flag
  // Everything that determines the weights (resume compares it).
  nlohmann::json to_json() const;
};

struct AutoencoderRunResult {
  int64_t steps_done = 0, start_step = 0;
  bool finished = false, stopped_by_time_limit = false, already_finished = false;
  double final_loss = 0, final_val_deviance = -1, images_per_s = 0;
  size_t train_scans = 0, val_scans = 0;
  std::string out;
};

// Trains one process on config.device; reports progress lines and validation to `events`.
// `callbacks.write_sheet` draws the sample sheets (none when unset).
AutoencoderRunResult run_autoencoder_training(const AutoencoderRunConfig& config, const TrainCallbacks& callbacks = {},
                                              EventSink* events = nullptr);

// An autoencoder folder's description: autoencoder.json read and ema.pt's SHA-256 checked.
struct AutoencoderFolder {
  std::string dir;
  AutoencoderConfig config;
  nlohmann::json info;  // autoencoder.json
  std::string sha256;   // of ema.pt: the autoencoder's identity in provenance records
};
// Throws InputError naming the file and the problem.
AutoencoderFolder check_autoencoder_folder(const std::string& dir);

struct ReconstructConfig {
  std::string autoencoder;                     // folder
  std::string data;                            // dataset to reconstruct
  std::string out;                             // dataset to create
  CountOutput counts = CountOutput::kPoisson;  // kPoisson (a camera's counts) or kContinuous (the expectation)
  uint64_t seed = 0;
  // Gaussian noise of this many standard deviations of each latent channel (the autoencoder's
  // recorded statistics) added to every latent mean before decoding, scan i's from (seed, i)
  // alone: how sensitive the decoder is to a latent that is slightly wrong (0 = none).
  double latent_noise = 0;
  int batch = 16;
  int64_t max_scans = 0;  // 0 = all
  std::string device = "cpu";
  int threads = 0;

  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

struct ReconstructResult {
  size_t scans = 0, skipped_single_view = 0;
  double mean_deviance = 0;  // per pixel, of the input counts under the decoded expectation
  std::string out, autoencoder_sha256;
};

ReconstructResult reconstruct_dataset(const ReconstructConfig& config, EventSink* events = nullptr);

}  // namespace scintigen::gen
