// `scintigen train`: train the conditional generative model (src/gen/train_loop.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <tuple>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "gen/train_loop.h"
#include "run_guard.h"

namespace scintigen::cli {

int cmd_train_model(int argc, char** argv) {
  CLI::App app(
      "Train the conditional diffusion model (docs/MODEL.md) on one or more datasets: AdamW with warm-up and cosine\n"
      "decay, gradient clipping and accumulation, EMA, atomic checkpoints every --checkpoint-every steps, exact\n"
      "--resume, a metrics.jsonl log, validation loss on held-out scans ('val' split rows, else --val-fraction) and a\n"
      "sample grid per condition under OUT/samples/. The finished folder is a model for `scintigen generate`.\n"
      "Data parallel over ranks: launch one process per rank with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE set\n"
      "(torchrun style; OMPI_COMM_WORLD_* or SLURM_PROCID/SLURM_NTASKS also work): Gloo on CPU, NCCL on CUDA.\n"
      "--resume continues a run from its last checkpoint with the same flags; only --steps may change: a larger\n"
      "--steps also extends a finished run (its folder keeps checkpoint/), with the warm-up + cosine learning rate\n"
      "recomputed over the new total from the resumed step on (docs/MODEL.md, \"Extending a run\"). --resume on a\n"
      "finished run at its own --steps does nothing.\n"
      "--init-from MODEL (a model folder or 'builtin') fine-tunes: a new run starting from MODEL's EMA weights with a\n"
      "fresh optimiser, step 0 and its own schedule; MODEL fixes the architecture, grid, conditions and count_max,\n"
      "and every label of the data must be in MODEL's condition vocabulary.\n"
      "--distill-from TEACHER step-distils (Salimans & Ho 2022): a student starting from TEACHER's weights learns to\n"
      "take in one DDIM step what TEACHER's DPM-Solver++(2M) with its guidance takes in --distill-substeps steps, so\n"
      "it samples in --distill-steps steps at guidance 1; its model.json names those settings, which generate and\n"
      "model check then use for the flags not given (docs/MODEL.md, 'Distillation').\n"
      "Exit status: 0 done (or stopped at --stop-at or --time-limit), 2 bad input.\n",
      "scintigen train");
  gen::TrainRunConfig c;
  std::vector<std::string> data, conditions;
  app.add_option("--data", data, "training dataset folder(s), comma-separated or repeated")->required();
  app.add_option("--out,-o", c.out, "model folder to create (or continue with --resume)")->required();
  app.add_option("--preset", c.preset,
                 "tiny | cpu | full, or a model config JSON file (configs/gen/); with --init-from: the model's")
      ->capture_default_str();
  app.add_option("--init-from", c.init_from,
                 "fine-tune: start a new run from this model's EMA weights (a model folder or 'builtin'); its\n"
                 "architecture, grid, conditions and count_max are kept");
  app.add_option("--distill-from", c.distill.teacher,
                 "distil this model (a model folder or 'builtin') into a student of its architecture that samples\n"
                 "in --distill-steps DDIM steps; the student starts from its weights");
  app.add_option("--distill-steps", c.distill.steps, "the student's sampler steps (with --distill-from)")
      ->capture_default_str();
  app.add_option("--distill-substeps", c.distill.substeps,
                 "teacher DPM-Solver++(2M) steps per student step, 2-16 (with --distill-from)")
      ->capture_default_str();
  std::string distill_spacing = gen::to_string(c.distill.spacing), distill_interval;
  app.add_option("--distill-spacing", distill_spacing, "time steps of both samplers: logsnr | quadratic | uniform")
      ->capture_default_str();
  app.add_option("--distill-guidance", c.distill.guidance, "the teacher's classifier-free guidance scale")
      ->capture_default_str();
  app.add_option("--distill-guidance-interval", distill_interval,
                 "LO,HI: the teacher guides only at times t in [LO, HI], as generate's --guidance-interval")
      ->default_str("0.05,0.7");
  app.add_option("--autoencoder", c.autoencoder,
                 "latent diffusion: denoise this autoencoder folder's latents (`scintigen autoencoder train`); the\n"
                 "preset's grid must be the autoencoder's, and the model generates expected counts that generate\n"
                 "draws Poisson counts around (docs/MODEL.md, 'Latent diffusion')");
  app.add_option("--latent-norm", c.latent_norm,
                 "with --autoencoder: standardise the latents as one (global: divided by their RMS) or channel by\n"
                 "channel (channel: each by its own mean and std), from the autoencoder's recorded statistics")
      ->capture_default_str();
  app.add_option("--steps", c.train.steps, "optimiser steps")->capture_default_str();
  app.add_option("--batch", c.batch, "global batch size (all ranks and micro-batches)")->capture_default_str();
  app.add_option("--accum", c.train.accum, "micro-batches per step (gradient accumulation)")->capture_default_str();
  app.add_option("--lr", c.train.lr, "peak AdamW learning rate")->capture_default_str();
  app.add_option("--warmup", c.train.warmup_steps, "linear warm-up steps (default: min(200, steps / 10))")
      ->capture_default_str();
  app.add_option("--min-lr-ratio", c.train.min_lr_ratio, "final learning rate / peak (cosine decay)")
      ->capture_default_str();
  app.add_option("--weight-decay", c.train.weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--grad-clip", c.train.grad_clip, "max gradient L2 norm (0 = off)")->capture_default_str();
  app.add_option("--ema", c.train.ema_decay, "EMA decay per step")->capture_default_str();
  app.add_option("--cond-drop", c.train.cond_drop_prob, "probability of dropping each condition (guidance)")
      ->capture_default_str();
  app.add_option("--conditions", conditions,
                 "attributes to condition on (default: metastasis,cardiac_grade,tracer,sex,age_band)");
  app.add_flag("--condition-on-site", c.condition_on_site, "add the datasets' site labels as a condition");
  app.add_option("--count-max", c.count_max,
                 "counts mapped to +1 by the Anscombe transform (0 = fit: 99.5th percentile)")
      ->capture_default_str();
  app.add_option("--target", c.target,
                 "what the model generates: counts (Poisson noise included, learned) | expected (noiseless\n"
                 "expected counts, trained on `simulate --noiseless` scans; generate draws the Poisson counts)\n"
                 "(default: the preset's, counts for the shipped presets)");
  app.add_option("--oversample", c.data.oversample,
                 "CONDITION:FACTOR, e.g. metastasis=1:2: training scans matching CONDITION come FACTOR (2-100) times\n"
                 "in each epoch, so a rare condition is seen more often; the label mix generate fills from stays\n"
                 "the data's own (docs/MODEL.md, 'Oversampling')");
  app.add_option("--val-fraction", c.data.val_fraction, "held-out fraction when no scan has split 'val'")
      ->capture_default_str();
  app.add_option("--val-max", c.data.val_max, "at most this many random validation scans")->capture_default_str();
  app.add_option("--max-memory", c.data.max_memory_gb, "refuse data needing more memory than this (GB)")
      ->capture_default_str();
  app.add_option("--seed", c.train.seed, "seed for weights, data order, noise and the validation draw")
      ->capture_default_str();
  app.add_flag("--resume", c.resume,
               "continue the run in --out from its last checkpoint (same flags required; a larger --steps extends it,\n"
               "also a finished run)");
  app.add_option("--stop-at", c.stop_at, "checkpoint and stop at this step (0 = train to --steps)")
      ->capture_default_str();
  app.add_option("--time-limit", c.time_limit_min,
                 "minutes: checkpoint and stop at the first log point past this much training time (0 = none);\n"
                 "--resume continues exactly, --resume --steps DONE finishes the model where it stopped")
      ->capture_default_str();
  app.add_option("--log-every", c.log_every, "steps per progress line and metrics.jsonl entry")->capture_default_str();
  app.add_option("--checkpoint-every", c.checkpoint_every, "steps per checkpoint")->capture_default_str();
  app.add_option("--val-every", c.val_every, "steps per validation loss (0 = at the end only)")->capture_default_str();
  app.add_option("--sample-every", c.sample_every, "steps per sample grid PNG (0 = at the end only)")
      ->capture_default_str();
  app.add_option("--sample-steps", c.sample_steps, "sampler steps for the sample grids")->capture_default_str();
  app.add_flag("--bf16", c.train.bf16,
               "bf16 autocast (GroupNorm and loss in fp32); about 3x faster on AVX-512 BF16 CPUs");
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  app.add_option("--threads", c.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress lines");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  if (app.count("--warmup") == 0) {
    c.train.warmup_steps = std::min(c.train.warmup_steps, c.train.steps / 10);
    c.warmup_from_run = c.resume;  // a resumed (or extended) run keeps its own warm-up
  }
  if ((!c.init_from.empty() || !c.distill.teacher.empty()) && app.count("--preset") == 0)
    c.preset.clear();  // the starting model's
  c.distill.spacing = gen::spacing_from_string(distill_spacing, "--distill-spacing");
  if (!distill_interval.empty())
    std::tie(c.distill.guidance_t_lo, c.distill.guidance_t_hi) =
        gen::parse_guidance_interval(distill_interval, "--distill-guidance-interval");
  c.data.datasets = split_commas(data);
  c.data.seed = c.train.seed;
  c.data.threads = c.threads;
  c.conditions = split_commas(conditions);

  const gen::TrainCallbacks cb = png_sheet_callbacks();
  Console console(quiet);
  const gen::TrainRunResult r = gen::run_training_from_environment(c, cb, &console);
  if (r.rank == 0) {
    const std::string val_loss = r.final_val_loss >= 0 ? fmt::format("{:.4f}", r.final_val_loss) : "n/a";
    if (r.already_finished)
      std::printf("nothing to do: %s is finished at step %lld (give --steps > %lld to extend it)\n", r.out.c_str(),
                  static_cast<long long>(r.steps_done), static_cast<long long>(r.steps_done));
    else if (r.finished && r.steps_done == r.start_step)
      std::printf("finished %s at step %lld without further training (--steps %lld), validation loss %s\n",
                  r.out.c_str(), static_cast<long long>(r.steps_done), static_cast<long long>(r.steps_done),
                  val_loss.c_str());
    else if (r.finished)
      std::printf(
          "trained %s: %lld steps%s, %zu training / %zu validation scans, final loss %.4f, validation loss %s; "
          "%.1f images/s\n",
          r.out.c_str(), static_cast<long long>(r.steps_done),
          (r.start_step ? fmt::format(" (resumed at {}{})", r.start_step,
                                      r.extended_from ? fmt::format(", extended from {} steps", r.extended_from) : "")
                        : std::string())
              .c_str(),
          r.train_scans, r.val_scans, r.final_loss, val_loss.c_str(), r.images_per_s);
    else
      std::printf(
          "stopped %s at step %lld of %lld%s (checkpointed; continue with --resume)\n", r.out.c_str(),
          static_cast<long long>(r.steps_done), static_cast<long long>(c.train.steps),
          r.stopped_by_time_limit ? fmt::format(" by the --time-limit of {} min", c.time_limit_min).c_str() : "");
  }
  return kExitOk;
}

}  // namespace scintigen::cli
