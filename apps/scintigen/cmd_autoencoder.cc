// `scintigen autoencoder train|reconstruct`: the count-image autoencoder of a latent diffusion
// model (src/gen/autoencoder_train.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "core/error.h"
#include "gen/autoencoder_train.h"
#include "run_guard.h"

namespace scintigen::cli {

namespace {

std::vector<int> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  for (const auto& item : split_commas({text})) {
    try {
      size_t used = 0;
      out.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ConfigError(flag, "'" + item + "' is not an integer", "give comma-separated integers, e.g. 1,2,2");
    }
  }
  return out;
}

int cmd_train(int argc, char** argv) {
  CLI::App app(
      "Train the count-image autoencoder of a latent diffusion model (docs/MODEL.md, 'Latent diffusion'): the\n"
      "encoder maps a scan to a latent image 2^(levels-1) times smaller per side (--channel-mult), the decoder maps\n"
      "it back to the scan's expected counts, and the loss is the Poisson likelihood of the observed counts plus\n"
      "--kl-weight times the latent's KL divergence from N(0, I), so the latent holds anatomy and uptake and the\n"
      "camera's noise is drawn exactly after decoding. AdamW with warm-up and cosine decay, EMA, atomic checkpoints,\n"
      "exact --resume (only --steps may change), metrics.jsonl, validation deviance and sheets of validation scans\n"
      "over their reconstructions under OUT/samples/. The finished folder holds autoencoder.json and ema.pt.\n"
      "--adv-weight > 0 adds an adversarial term from step --adv-start: a patch discriminator tells the scans from\n"
      "Poisson draws around their reconstructions, and the autoencoder's loss adds --adv-weight times its hinge\n"
      "generator loss, balanced against the likelihood's gradient at the decoder's last layer (adaptive weight).\n"
      "Exit status: 0 done (or stopped at --stop-at or --time-limit), 2 bad input.\n",
      "scintigen autoencoder train");
  gen::AutoencoderRunConfig c;
  std::vector<std::string> data;
  std::string size = "64x256", mult = "1,2,2";
  app.add_option("--data", data, "training dataset folder(s), comma-separated or repeated")->required();
  app.add_option("--out,-o", c.out, "autoencoder folder to create (or continue with --resume)")->required();
  app.add_option("--size", size, "WxH grid the scans are resampled to (counts preserved)")->capture_default_str();
  app.add_option("--base-channels", c.model.base_channels, "channels at full resolution")->capture_default_str();
  app.add_option("--channel-mult", mult,
                 "channel multiplier per level; the latent is 2^(levels-1) times smaller per side")
      ->capture_default_str();
  app.add_option("--res-blocks", c.model.res_blocks, "residual blocks per level")->capture_default_str();
  app.add_option("--latent-channels", c.model.latent_channels, "channels of the latent image")->capture_default_str();
  app.add_option("--groups", c.model.groups, "GroupNorm groups")->capture_default_str();
  app.add_option("--kl-weight", c.kl_weight, "weight of the KL term (per image pixel) against the Poisson term")
      ->capture_default_str();
  app.add_option("--adv-weight", c.adversarial.weight,
                 "weight of the adversarial term after its adaptive balance (0 = none)")
      ->capture_default_str();
  app.add_option("--adv-start", c.adversarial.start, "step at which the discriminator and the term start")
      ->capture_default_str();
  app.add_option("--disc-channels", c.adversarial.channels, "the discriminator's first-layer channels")
      ->capture_default_str();
  app.add_option("--disc-layers", c.adversarial.layers, "the discriminator's stride-2 layers (patch size)")
      ->capture_default_str();
  app.add_option("--count-max", c.model.transform.count_max,
                 "counts mapped to +1 by the input's Anscombe transform (0 = fit: 99.5th percentile)")
      ->capture_default_str();
  app.add_option("--steps", c.train.steps, "optimiser steps")->capture_default_str();
  app.add_option("--batch", c.batch, "batch size")->capture_default_str();
  app.add_option("--accum", c.train.accum, "micro-batches per step (gradient accumulation)")->capture_default_str();
  app.add_option("--lr", c.train.lr, "peak AdamW learning rate")->capture_default_str();
  app.add_option("--warmup", c.train.warmup_steps, "linear warm-up steps (default: min(200, steps / 10))")
      ->capture_default_str();
  app.add_option("--weight-decay", c.train.weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--grad-clip", c.train.grad_clip, "max gradient L2 norm (0 = off)")->capture_default_str();
  app.add_option("--ema", c.train.ema_decay, "EMA decay per step")->capture_default_str();
  app.add_option("--val-fraction", c.data.val_fraction, "held-out fraction when no scan has split 'val'")
      ->capture_default_str();
  app.add_option("--val-max", c.data.val_max, "at most this many random validation scans")->capture_default_str();
  app.add_option("--max-memory", c.data.max_memory_gb, "refuse data needing more memory than this (GB)")
      ->capture_default_str();
  app.add_option("--seed", c.train.seed, "seed for weights, data order, latent noise and the validation draw")
      ->capture_default_str();
  app.add_flag("--resume", c.resume,
               "continue the run in --out from its last checkpoint (same flags; --steps may grow)");
  app.add_option("--stop-at", c.stop_at, "checkpoint and stop at this step (0 = train to --steps)")
      ->capture_default_str();
  app.add_option("--time-limit", c.time_limit_min,
                 "minutes: checkpoint and stop at the first log point past this much training time (0 = none)")
      ->capture_default_str();
  app.add_option("--log-every", c.log_every, "steps per progress line and metrics.jsonl entry")->capture_default_str();
  app.add_option("--checkpoint-every", c.checkpoint_every, "steps per checkpoint")->capture_default_str();
  app.add_option("--val-every", c.val_every, "steps per validation deviance (0 = at the end only)")
      ->capture_default_str();
  app.add_option("--sample-every", c.sample_every, "steps per reconstruction sheet PNG (0 = at the end only)")
      ->capture_default_str();
  app.add_flag("--bf16", c.train.bf16, "bf16 autocast (GroupNorm and the loss in fp32)");
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  app.add_option("--threads", c.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress lines");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  if (app.count("--warmup") == 0) {
    c.train.warmup_steps = std::min(c.train.warmup_steps, c.train.steps / 10);
    c.warmup_from_run = c.resume;
  }
  std::tie(c.model.width, c.model.height) = parse_size(size, "--size");
  c.model.channel_mult = parse_int_list(mult, "--channel-mult");
  c.data.datasets = split_commas(data);
  c.data.seed = c.train.seed;
  c.data.threads = c.threads;
  const gen::TrainCallbacks cb = png_sheet_callbacks();
  Console console(quiet);
  const gen::AutoencoderRunResult r = gen::run_autoencoder_training(c, cb, &console);
  const std::string dev = r.final_val_deviance >= 0 ? fmt::format("{:.4f}", r.final_val_deviance) : "n/a";
  if (r.already_finished)
    std::printf("nothing to do: %s is finished at step %lld\n", r.out.c_str(), static_cast<long long>(r.steps_done));
  else if (r.finished)
    std::printf(
        "trained %s: %lld steps, %zu training / %zu validation scans, final loss %.4f, validation deviance %s "
        "per pixel; %.1f images/s\n",
        r.out.c_str(), static_cast<long long>(r.steps_done), r.train_scans, r.val_scans, r.final_loss, dev.c_str(),
        r.images_per_s);
  else
    std::printf("stopped %s at step %lld of %lld (checkpointed; continue with --resume)\n", r.out.c_str(),
                static_cast<long long>(r.steps_done), static_cast<long long>(c.train.steps));
  return kExitOk;
}

int cmd_reconstruct(int argc, char** argv) {
  CLI::App app(
      "Reconstruct a dataset through an autoencoder: each two-view scan, resampled to the autoencoder's grid, is\n"
      "encoded and decoded; the counts written are Poisson draws around the decoded expectation (--counts poisson,\n"
      "a camera's counts) or the expectation itself (--counts continuous). Labels, ids and splits are kept. Auditing\n"
      "real scans against their reconstructions measures the best a latent diffusion model on this autoencoder can\n"
      "do (docs/MODEL.md, 'Latent diffusion'). Exit status: 0 done, 2 bad input.\n",
      "scintigen autoencoder reconstruct");
  gen::ReconstructConfig c;
  std::string counts = "poisson";
  app.add_option("autoencoder", c.autoencoder, "autoencoder folder")->required();
  app.add_option("--data", c.data, "dataset to reconstruct")->required();
  app.add_option("--out,-o", c.out, "dataset folder to create")->required();
  app.add_option("--counts", counts, "poisson | continuous")->capture_default_str();
  app.add_option("--seed", c.seed, "seed of the Poisson draws (and of --latent-noise)")->capture_default_str();
  app.add_option("--latent-noise", c.latent_noise,
                 "add Gaussian noise of this many standard deviations of each latent channel to every latent before\n"
                 "decoding (scan i's from --seed and i alone): how the decoder treats a latent that is slightly wrong")
      ->capture_default_str();
  app.add_option("--max-scans", c.max_scans, "reconstruct at most this many scans (0 = all)")->capture_default_str();
  app.add_option("--batch", c.batch, "scans per network batch")->capture_default_str();
  app.add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0 = all cores)")->capture_default_str();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress lines");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  c.counts = gen::count_output_from_string(counts, "--counts");
  Console console(quiet);
  const gen::ReconstructResult r = gen::reconstruct_dataset(c, &console);
  std::printf("reconstructed %zu scans into %s (skipped %zu single-view), mean deviance %.4f per pixel\n", r.scans,
              r.out.c_str(), r.skipped_single_view, r.mean_deviance);
  return kExitOk;
}

}  // namespace

int cmd_autoencoder(int argc, char** argv) {
  static const std::vector<Command> kCommands = {
      {"train", "train the count-image autoencoder of a latent diffusion model", cmd_train},
      {"reconstruct", "encode and decode a dataset (the latent model's ceiling, for the audit)", cmd_reconstruct},
  };
  return dispatch("scintigen autoencoder", "the first stage of a latent diffusion model", kCommands, argc, argv);
}

}  // namespace scintigen::cli
