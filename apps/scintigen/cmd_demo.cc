// `scintigen demo`: the main job on the built-in default. Generates a labelled synthetic set of
// every class from the shipped model (models/builtin) and writes it as a dataset, DICOM and a
// contact sheet; when the public sample scans are present (../shared/data) it also ingests them
// beside it, so real and synthetic can be looked at together.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "commands.h"
#include "console.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/resources.h"
#include "data/dataset.h"
#include "gen/generate.h"
#include "gen/model_io.h"
#include "pipeline/dataset_ops.h"
#include "pipeline/ingest.h"
#include "run_guard.h"

namespace fs = std::filesystem;

namespace scintigen::cli {

namespace {
std::string default_sample_dir() {
  for (const std::string& base : {std::string("../shared"), build_source_dir() + "/../shared"}) {
    const std::string p = base + "/data/dicom/wholebody";
    if (fs::is_directory(p)) return p;
  }
  return "";
}

// Every class the shipped model knows, as a mix (weights are scan counts of the default 16).
const char* kDemoMix =
    "# scintigen demo: every class of the shipped model\n"
    "4 metastasis=0,cardiac_grade=0\n"
    "4 metastasis=1,cardiac_grade=0\n"
    "2 cardiac_grade=1,tracer=DPD\n"
    "2 cardiac_grade=2,tracer=DPD\n"
    "2 cardiac_grade=3,tracer=DPD\n"
    "1 metastasis=1,tracer=MDP\n"
    "1 metastasis=0,tracer=MDP,sex=F\n";
}  // namespace

int cmd_demo(int argc, char** argv) {
  CLI::App app(
      "Run the main job on the built-in default: generate a labelled synthetic set of every class (normal, "
      "metastatic,\n"
      "Perugini grades 1-3, MDP) from the shipped model, and write it as a dataset, DICOM files and a contact sheet.\n"
      "The public sample scans (../shared/data/dicom/wholebody), when present, are ingested beside it.\n",
      "scintigen demo");
  std::string out = "demo-out", data, model = "builtin";
  int threads = 0, n = 16, steps = gen::SamplerConfig{}.steps;
  uint64_t seed = 0;
  bool quiet = false;
  app.add_option("--out,-o", out, "output folder (its synthetic/ and real/ are replaced)")->capture_default_str();
  app.add_option("--model", model, "model folder, or 'builtin'")->capture_default_str();
  app.add_option("--n", n, "synthetic scans")->capture_default_str();
  app.add_option("--steps", steps, "sampler steps (DPM-Solver++(2M))")->capture_default_str();
  app.add_option("--data", data,
                 "DICOM files or folder to ingest (default: ../shared/data/dicom/wholebody, if present)");
  app.add_option("--threads", threads, "threads (0 = all cores)")->capture_default_str();
  app.add_option("--seed", seed, "seed of the synthetic scans")->capture_default_str();
  app.add_flag("--quiet,-q", quiet, "no progress bars");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

  for (const char* sub : {"/synthetic", "/real"}) {
    const std::string d = out + sub;
    if (fs::exists(d) && !fs::exists(d + "/dataset/dataset.json") && !fs::is_empty(d))
      throw InputError(d, "exists but is not a scintigen demo folder; not replacing it", "choose another --out");
  }
  std::error_code ec;
  for (const char* sub : {"/synthetic", "/real"}) fs::remove_all(out + sub, ec);
  fs::create_directories(out + "/synthetic", ec);
  if (ec) throw InputError(out, "cannot create folder: " + ec.message());
  const auto t0 = std::chrono::steady_clock::now();
  Console console(quiet);

  // 1. Synthetic: every class from the shipped model.
  write_file_atomic(out + "/demo_mix.txt", kDemoMix);
  gen::GenerateConfig g;
  g.model = model;
  g.n = n;
  g.mix = out + "/demo_mix.txt";
  g.out = out + "/synthetic/dataset";
  // The model's own sampler settings where it names them (the shipped model's: its audit's choice).
  if (const std::optional<gen::SamplerConfig> own = gen::model_sampler(model)) g.sampler = *own;
  if (app.count("--steps") > 0) g.sampler.steps = steps;
  g.sampler.seed = seed;
  g.threads = threads;
  const gen::GenerateResult r = gen::generate_dataset(g, &console);
  for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  ExportConfig ex;
  ex.out = out + "/synthetic/dicom";
  ex.format = ExportFormat::kDicom;
  ExportResult d = export_dataset(g.out, ex, &console);
  ex.out = out + "/synthetic/sheet";
  ex.format = ExportFormat::kContactSheet;
  export_dataset(g.out, ex, &console);
  std::printf("generated %zu labelled synthetic scans (model %.16s) in %.1f s\n", r.scans, r.model_sha256.c_str(),
              r.seconds);
  std::printf("  contact sheet: %s/synthetic/sheet/contact_sheet.png\n", out.c_str());
  std::printf("  DICOM:         %s/synthetic/dicom (%zu files)\n", out.c_str(), d.files.size());
  std::printf(
      "  dataset:       %s/synthetic/dataset (labels and provenance: scintigen dataset info %s/synthetic/dataset)\n",
      out.c_str(), out.c_str());

  // 2. Real: the public sample, de-identified, beside the synthetic set.
  if (data.empty()) data = default_sample_dir();
  int rc = kExitOk;
  if (!data.empty()) {
    IngestConfig cfg;
    cfg.inputs = {data};
    cfg.out = out + "/real/dataset";
    cfg.threads = threads;
    cfg.seed = seed;
    IngestResult ir = ingest(cfg, &console);
    rc = ir.exit_code();
    if (ir.scans_added > 0) {
      ex.out = out + "/real/sheet";
      ex.format = ExportFormat::kContactSheet;
      export_dataset(cfg.out, ex, &console);
      std::printf("ingested %zu real sample scans from %s: %s/real/sheet/contact_sheet.png\n", ir.scans_added,
                  data.c_str(), out.c_str());
    }
  }
  std::printf("demo done in %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return d.failures.empty() ? rc : kExitPartial;
}

}  // namespace scintigen::cli
