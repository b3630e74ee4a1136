// `scintigen generate`: labelled synthetic scans from a model folder (src/gen/generate.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "core/error.h"
#include "gen/generate.h"
#include "phantom/phantom.h"
#include "pipeline/dataset_ops.h"
#include "run/run.h"
#include "run_guard.h"

namespace fs = std::filesystem;

namespace scintigen::cli {

int cmd_generate(int argc, char** argv) {
  CLI::App app(
      "Generate labelled synthetic scans from a trained model (docs/MODEL.md). Each scan carries its conditions as\n"
      "labels and its provenance (model SHA-256, seed, index, sampler, steps, guidance) in its metadata. Scan k is a\n"
      "function of (model, sampler settings, --seed, k) alone, so --shard runs merge into the unsharded set.\n"
      "Attributes the condition leaves unnamed are drawn from the training data's joint label distribution (so every\n"
      "scan is fully labelled and generated as such) unless --no-fill.\n"
      "Formats: dataset (OUT is a dataset), dicom or png (OUT/dataset plus the export in OUT/dicom or OUT/png, and a\n"
      "contact sheet OUT/contact_sheet.png).\n"
      "--resume completes an interrupted run (killed, or stopped by --stop-after) into the same --out: it checks that\n"
      "every setting that changes a scan is the one stored with the run (a difference is refused, naming the field;\n"
      "--batch and --threads may differ) and generates only the scans still missing, so the result equals an\n"
      "uninterrupted run (same ids, pixels, labels, provenance); on a complete run it does nothing and says so.\n"
      "Exit status: 0 done (or stopped at --stop-after), 2 bad input.\n",
      "scintigen generate");
  gen::GenerateConfig g;
  std::string format = "dataset", sampler = gen::to_string(g.sampler.kind), spacing = gen::to_string(g.sampler.spacing),
              shard, counts = "auto";
  bool no_fill = false, no_channels_last = false;
  app.add_option("--model,-m", g.model, "model folder, or 'builtin' (the shipped model)")->capture_default_str();
  app.add_option("--n", g.n, "number of scans (over all shards)")->capture_default_str();
  app.add_option(
      "--condition,-c", g.condition,
      "conditions, e.g. \"metastasis=1,cardiac_grade=3,tracer=DPD\" (attributes: metastasis 0|1, cardiac_grade\n"
      "0-3, tracer MDP|HDP|DPD|PYP, sex M|F, age_band <50|50-64|65-79|>=80; those of the model)");
  app.add_option("--mix", g.mix,
                 "file of '<weight> <condition>' lines: scans split by weight (instead of --condition)");
  app.add_option("--out,-o", g.out, "output folder (must not exist, or be empty)")->required();
  app.add_option("--format", format, "dataset | dicom | png")->capture_default_str();
  app.add_option(
         "--sampler", sampler,
         "dpmpp2m (DPM-Solver++(2M)) | ddim | dpmpp2m-sde (its stochastic SDE variant: fresh noise at each step, "
         "drawn per scan)")
      ->capture_default_str();
  app.add_option("--spacing", spacing, "time steps: quadratic | uniform | logsnr")->capture_default_str();
  app.add_option("--steps", g.sampler.steps, "network evaluations per scan (production: <= 25)")->capture_default_str();
  app.add_option("--guidance", g.sampler.guidance, "classifier-free guidance scale (1 = conditional only)")
      ->capture_default_str();
  std::string interval;
  app.add_option("--guidance-interval", interval,
                 "LO,HI: guide only the steps at times t in [LO, HI] (t = 1 is pure noise; the others run the\n"
                 "conditional prediction alone, half the work; 0,1 guides every step; docs/MODEL.md, 'Samplers')")
      ->default_str("0.05,0.7");
  std::string guidance_on;
  app.add_option("--guidance-on", guidance_on,
                 "NAME[,NAME...] | all: guide only these conditions, e.g. metastasis: the guided steps' second\n"
                 "prediction drops only their tokens and keeps the others; all: every condition, classifier-free\n"
                 "guidance against the unconditional prediction (default: the model's own setting, `model sampler`,\n"
                 "else all; docs/MODEL.md, 'Samplers')");
  app.add_option("--guide-model", g.guide_model,
                 "autoguidance: guide with this weaker model of the same data (smaller or trained less) instead of\n"
                 "the unconditional prediction: x0 = bad + guidance (good - bad), both conditional, at the steps of\n"
                 "--guidance-interval (Karras et al. 2024; docs/MODEL.md, 'Samplers'). Same image size, conditions\n"
                 "and schedule as --model required");
  app.add_option("--seed", g.sampler.seed, "seed: scan k starts from noise seeded by (seed, k)")->capture_default_str();
  app.add_option("--batch", g.batch, "scans per network batch")->capture_default_str();
  app.add_option("--shard", shard, "i/n: generate only scans k = i, i+n, i+2n, ... (default 0/1)");
  app.add_option("--counts", counts,
                 "auto (the model's own: round for a counts model, poisson for an expected-count model) | round\n"
                 "(integer counts, as a camera stores) | poisson (exact Poisson draws around the generated image) |\n"
                 "continuous (the generated image itself)")
      ->capture_default_str();
  app.add_flag("--no-fill", no_fill, "leave attributes the condition does not name unlabelled");
  std::string precision = "auto";
  bool bf16 = false;
  auto* prec_opt = app.add_option("--precision", precision,
                                  "the network's precision: auto (bf16 on a CPU with AVX-512 BF16 or AMX, fp32 "
                                  "elsewhere\nand on CUDA) | fp32 | bf16 (autocast)")
                       ->capture_default_str();
  app.add_flag("--bf16", bf16, "same as --precision bf16")->excludes(prec_opt);
  app.add_flag("--no-channels-last", no_channels_last, "keep the default memory layout on the CPU");
  app.add_option("--device", g.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  app.add_option("--threads", g.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  bool quiet = false;
  app.add_flag("--quiet,-q", quiet, "no progress bar");
  app.add_flag("--resume", g.resume, "complete the interrupted run in --out (same flags required)");
  app.add_option("--stop-after", g.stop_after,
                 "stop after the batch that brings the new scans to this many (0 = no stop; to test --resume)")
      ->capture_default_str();
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  g.sampler.kind = gen::sampler_from_string(sampler);
  g.sampler.spacing = gen::spacing_from_string(spacing);
  if (!interval.empty())
    std::tie(g.sampler.guidance_t_lo, g.sampler.guidance_t_hi) = gen::parse_guidance_interval(interval);
  if (app.count("--guidance-on") > 0) g.sampler.guidance_on = gen::parse_guidance_on(guidance_on);
  take_model_sampler(app, g.model, g.sampler);  // a distilled model's own steps, for the flags left out
  if (!shard.empty()) std::tie(g.shard_index, g.shard_count) = phantom::parse_shard(shard);
  g.fill_labels = !no_fill;
  g.channels_last = !no_channels_last;
  g.counts = gen::count_output_from_string(counts);
  g.precision = bf16 ? gen::Precision::kBf16 : gen::precision_from_string(precision);
  if (format != "dataset" && format != "dicom" && format != "png")
    throw ConfigError("--format", "'" + format + "'", "allowed: dataset, dicom, png");

  const std::string out = g.out;
  if (format != "dataset") {
    std::error_code ec;
    if (!g.resume) run::check_new_out_folder(out);
    if (g.resume && !fs::is_directory(out + "/dataset", ec))
      throw InputError(out, "holds no dataset folder: nothing to resume", "start without --resume");
    g.out = out + "/dataset";
  }
  Console console(quiet);
  const gen::GenerateResult r = gen::generate_dataset(g, &console);
  for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!r.complete) {
    std::printf("stopped after %zu new scans: %s holds %zu of this run's scans (continue with --resume)\n", r.scans,
                g.out.c_str(), r.total);
    return kExitOk;
  }
  if (g.resume && r.scans == 0)
    std::printf("nothing to generate: %s already holds all %zu scans of this run (shard %d/%d)\n", g.out.c_str(),
                r.total, g.shard_index, g.shard_count);
  else
    std::printf(
        "generated %zu scans%s (shard %d/%d, seed %llu, %s %d steps, guidance %.2f%s%s%s) from model %.16s into %s: "
        "%.2f scans/s\n",
        r.scans, r.already_done ? fmt::format(", resumed after {}", r.already_done).c_str() : "", g.shard_index,
        g.shard_count, static_cast<unsigned long long>(g.sampler.seed), gen::to_string(g.sampler.kind), g.sampler.steps,
        g.sampler.guidance,
        g.sampler.guides_every_step() || g.sampler.guidance == 1.0
            ? ""
            : fmt::format(" at t in [{}, {}]", g.sampler.guidance_t_lo, g.sampler.guidance_t_hi).c_str(),
        g.sampler.guidance_on.empty() ? "" : fmt::format(" on {}", fmt::join(g.sampler.guidance_on, ",")).c_str(),
        r.guide_model_sha256.empty() ? "" : fmt::format(", autoguided by model {:.16}", r.guide_model_sha256).c_str(),
        r.model_sha256.c_str(), g.out.c_str(), r.scans_per_s);
  if (format == "dataset") return kExitOk;
  ExportConfig e;
  e.out = out + (format == "dicom" ? "/dicom" : "/png");
  // export.json is written after every file and the sheet is renamed last, so both present
  // means an earlier call finished the export of this (already complete) dataset.
  if (g.resume && r.scans == 0 && fs::exists(e.out + "/export.json") && fs::exists(out + "/contact_sheet.png")) {
    std::printf("nothing to export: %s and %s/contact_sheet.png are complete\n", e.out.c_str(), out.c_str());
    return kExitOk;
  }
  e.format = format == "dicom" ? ExportFormat::kDicom : ExportFormat::kPng16;
  ExportResult x = export_dataset(g.out, e, &console);
  ExportConfig sheet;
  sheet.out = out + "/sheet";
  sheet.format = ExportFormat::kContactSheet;
  ExportResult s = export_dataset(g.out, sheet);
  std::error_code ec;
  if (!s.files.empty()) {
    fs::rename(s.files.front(), out + "/contact_sheet.png", ec);
    fs::remove_all(out + "/sheet", ec);
  }
  std::printf("wrote %zu %s files to %s and %s/contact_sheet.png\n", x.files.size(), format.c_str(), e.out.c_str(),
              out.c_str());
  for (const auto& f : x.failures) std::fprintf(stderr, "error: %s\n", f.c_str());
  return x.failures.empty() ? kExitOk : kExitPartial;
}

}  // namespace scintigen::cli
