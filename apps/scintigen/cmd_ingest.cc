#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli_util.h"
#include "commands.h"
#include "pipeline/ingest.h"
#include "run_guard.h"

namespace scintigen::cli {

int cmd_ingest(int argc, char** argv) {
  CLI::App app(
      "Read whole-body planar bone scans (DICOM NM, any common transfer syntax) from files and folders into a\n"
      "de-identified dataset. Anterior and posterior views are found from View Code Sequence, detector\n"
      "orientation or image text; two single-view instances of one series become one two-view scan.\n"
      "Rejected files are listed with reasons in <DATASET>/ingest_report.json.\n"
      "Exit status: 0 all ingested, 1 some inputs rejected, 2 nothing ingested or bad usage.\n",
      "scintigen ingest");
  IngestConfig cfg;
  std::string size;
  bool json = false;
  app.add_option("paths", cfg.inputs, "DICOM files and folders (walked recursively)")->required();
  app.add_option("--out,-o", cfg.out, "dataset folder to create (required unless --dry-run)");
  app.add_flag("--append", cfg.append, "add to an existing dataset instead of creating one");
  app.add_flag("--dry-run", cfg.dry_run, "decode and check every file (what would be ingested or rejected), write nothing");
  app.add_option("--labels", cfg.labels_csv,
                 "labels CSV; first column is the join key: file (path relative to the folder given), study_uid,\n"
                 "series_uid, sop_uid, accession_number or patient_id; other columns: label fields or split");
  app.add_option("--target-size", size, "resample every view to WIDTHxHEIGHT, count-preserving (default: native grid)");
  app.add_option("--key-file", cfg.key_file,
                 "write a re-identification key (scan id -> source file and original UIDs) here; must be outside the dataset");
  app.add_option("--report", cfg.report, "where to write the ingest report (default: <out>/ingest_report.json)");
  app.add_option("--threads", cfg.threads, "decoding threads (0 = all cores)")->capture_default_str();
  app.add_option("--seed", cfg.seed, "recorded in the dataset config (ingest draws nothing at random)")->capture_default_str();
  app.add_option("--commit-every", cfg.commit_every, "scans per durable commit")->capture_default_str();
  app.add_flag("--quiet,-q", cfg.quiet, "no progress bar, no per-file messages");
  app.add_flag("--json", json, "print the report as JSON on stdout");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  if (!size.empty()) std::tie(cfg.target_width, cfg.target_height) = parse_size(size, "--target-size");

  IngestResult r = ingest(cfg);
  for (const auto& e : r.label_errors) std::fprintf(stderr, "error: %s\n", e.c_str());
  if (json) {
    std::printf("%s\n", r.to_json().dump(2).c_str());
  } else if (!cfg.quiet) {
    std::printf("%s %zu scans (%zu two-view, %zu single-view) from %zu of %zu files%s%s\n",
                cfg.dry_run ? "dry run: would ingest" : "ingested", r.scans_added, r.two_view_scans,
                r.single_view_scans, r.files_accepted, r.files_seen, cfg.dry_run ? "" : " into ", cfg.out.c_str());
    if (!r.rejected.empty() && !cfg.dry_run)
      std::printf("rejected %zu files: see %s\n", r.rejected.size(),
                  (cfg.report.empty() ? cfg.out + "/ingest_report.json" : cfg.report).c_str());
    else if (!r.rejected.empty())
      std::printf("would reject %zu files (listed above)\n", r.rejected.size());
    if (!r.warnings.empty() && cfg.dry_run)
      for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    else if (!r.warnings.empty())
      std::printf("%zu warnings in the report\n", r.warnings.size());
  }
  return r.exit_code();
}

}  // namespace scintigen::cli
