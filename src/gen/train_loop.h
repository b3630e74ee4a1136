// `scintigen train`: the training loop around Trainer (trainer.h).
//
//   TrainRunConfig c;  c.data.datasets = {"sim"};  c.out = "models/mine";  c.preset = "cpu";
//   TrainRunResult r = run_training(c, callbacks, &sink);   // progress lines go to the sink
//
// Output folder (docs/MODEL.md), through the run harness (run/run.h): run.json (the run's full
// config, written first), checkpoint/ (state.json with the step, and the archive of weights,
// EMA, AdamW state; replaced atomically every checkpoint_every steps), metrics.jsonl (one line
// per log interval and per validation), samples/step_NNNNNN.png (a sample per condition of a
// fixed list, every sample_every steps), and at the end the model folder files (model_io.h).
//
// Exact resume: the data order is a function of (seed, step) (batch_indices), every step's
// dropout, times and noise of (seed, step) (step_seed), so restoring weights, EMA, AdamW state
// and the step counter continues the run as if never stopped. Resume refuses a different
// config and names the fields that differ, except train.steps:
//
// Extension: a resume may change the total steps (train.steps) to anything >= the steps done,
// also of a finished run, whose folder keeps checkpoint/ for this. The learning rate of
// step s is always learning_rate(train, s) for the steps in force when s runs: the warm-up +
// cosine schedule is recomputed over the new total, so at the resumed step it jumps to the
// value a run planned for the new total has there (docs/MODEL.md, "Extending a run"). Every
// change is recorded in run.json and model.json ("steps_changes").
//
// Fine-tuning (init_from): a new run that starts from a model folder's EMA weights (raw and
// EMA), with fresh AdamW state, step 0 and its own schedule. The model config (architecture,
// grid, condition vocabulary, count_max) is the starting model's; the data's labels must lie
// in its vocabulary. run.json and model.json record the model and its ema.pt SHA-256.
//
// Distillation (distill.enabled()): each step's rows are noised at a time of the student's
// grid and trained toward the teacher's sampler (distill.h) instead of the data's v; the
// validation loss is that distillation loss on the validation scans (fixed draws); model.json
// records "distilled" (the teacher, its settings) and "sampler" (the student's DDIM settings,
// which generate and model check take as their defaults). A distilled model cannot teach.
//
// Latent diffusion (autoencoder set): the model config takes the autoencoder's grid, count_max,
// latent channels, factor and scale (its training latents' RMS) and generates expected counts;
// the scans are encoded once (latent means / scale) and the U-Net learns those; the finished
// folder carries the autoencoder (autoencoder.pt) and its record (model.json "autoencoder": its
// folder, SHA-256, config). A resume refuses another autoencoder.
//
// Distribution: with world > 1 every rank loads the same data, takes its slice of each global
// batch (global batch = batch; rank r gets rows [r b, (r + 1) b), b = batch / world), and the
// reducer averages gradients; rank 0 alone checks and writes the output folder and reports to
// the sink (ranks share a file system when resuming: every rank reads the checkpoint).
// run_training_from_environment joins the ranks the environment names (distributed.h).
//
// No LibTorch in this header (validation_loss is in gen/train_loop_tensors.h).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/scan.h"
#include "gen/config.h"
#include "gen/train_config.h"

namespace scintigen::gen {

struct TrainRunConfig {
  DataConfig data;
  std::string out;             // model folder to create (or resume)
  std::string preset = "cpu";  // tiny | cpu | full, or a model config JSON file ("" with init_from)
  std::string init_from;       // fine-tune: start from this model folder or "builtin" ("" = from scratch)
  // Step distillation (train_config.h): the student starts from the teacher (init_from is set
  // to it; another init_from is refused) and learns the teacher's guided sampler in fewer steps.
  DistillConfig distill;
  // Latent diffusion (docs/MODEL.md, "Latent diffusion"): denoise this autoencoder folder's
  // latents ("" = the scans themselves; a fine-tuned or distilled model keeps its base's).
  std::string autoencoder;
  // How the latents are standardised (config.h, LatentSpace): "global" (one scale, the latents'
  // RMS) or "channel" (each channel by its own mean and std); only with an autoencoder.
  std::string latent_norm = "global";
  TrainConfig train;  // steps, lr, ..., seed, accum, bf16
  int batch = 16;     // global batch (all ranks, all micro-batches)
  bool resume = false;
  bool warmup_from_run = false;         // on resume, take train.warmup_steps from the run (the flag was not given)
  int64_t stop_at = 0;                  // stop (after a checkpoint) at this step; 0 = train to the end
  double time_limit_min = 0;            // checkpoint and stop at the first log point past this many minutes (0 = none)
  int64_t log_every = 20;               // steps per metrics line
  int64_t checkpoint_every = 250;       // steps per checkpoint
  int64_t val_every = 250;              // steps per validation loss (0 = only at the end)
  int64_t sample_every = 1000;          // steps per sample grid (0 = only at the end)
  int sample_steps = 20;                // sampler steps for the grids
  double count_max = 0;                 // 0: fit to the data (train_data.h)
  std::string target;                   // counts | expected ("" = the preset's or starting model's)
  std::vector<std::string> conditions;  // attributes to condition on (empty: the defaults)
  bool condition_on_site = false;       // add the datasets' sites as an attribute
  std::string device = "cpu";           // cpu | cuda | cuda:N | auto
  int threads = 0;                      // intra-op threads (0 = all cores)
  // This process's rank and the number of ranks (run_training_from_environment sets them).
  int rank = 0, world = 1;

  void validate() const;  // throws ConfigError naming the flag
  // Everything that determines the weights (resume compares it).
  nlohmann::json to_json() const;
};

struct TrainCallbacks {
  // Writes a contact sheet of `scans` with `captions` to `path` (the app supplies PNG output).
  std::function<void(const std::vector<Scan>& scans, const std::vector<std::string>& captions, const std::string& path)>
      write_sheet;
};

struct TrainRunResult {
  int64_t steps_done = 0;
  int64_t start_step = 0;  // > 0 when resumed
  bool finished = false;   // false when stopped at --stop-at or by the time limit
  bool stopped_by_time_limit = false;
  bool already_finished = false;  // resume of a finished run at its own steps: nothing was done
  int64_t extended_from = 0;      // > 0 when this call changed the run's total steps (from this value)
  double final_loss = 0, final_val_loss = -1;
  double images_per_s = 0;  // this run's training throughput (all ranks)
  size_t train_scans = 0, val_scans = 0;
  std::string out;
  int rank = 0;  // of this process (0 = the one that wrote the folder)
};

// Trains as a single process (config.world must be 1). Rank 0 reports progress lines,
// validation losses and resume notices to `events`.
TrainRunResult run_training(const TrainRunConfig& config, const TrainCallbacks& callbacks = {},
                            EventSink* events = nullptr);
// Trains as one rank of the group the environment describes (distributed.h: RANK / WORLD_SIZE,
// Open MPI, MPICH or Slurm variables; MASTER_ADDR / MASTER_PORT), or as the only process when it
// names none. config.rank and config.world are taken from the environment.
TrainRunResult run_training_from_environment(const TrainRunConfig& config, const TrainCallbacks& callbacks = {},
                                             EventSink* events = nullptr);

// The model config of a run: the preset (or JSON file), with the run's conditions and
// count_max applied (count_max 0 = to be fit to the data).
ModelConfig resolve_model_config(const TrainRunConfig& config, const std::vector<std::string>& sites);

// The conditions of the per-step sample grids ("" = unconditional).
const std::vector<std::string>& sample_grid_conditions();

}  // namespace scintigen::gen
