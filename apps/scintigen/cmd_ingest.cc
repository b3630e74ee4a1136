#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli_util.h"
#include "commands.h"
#include "console.h"
#include "pipeline/ingest.h"
#include "run_guard.h"

namespace scintigen::cli {

int cmd_ingest(int argc, char** argv) {
  CLI::App app(
      "Read whole-body planar bone scans (DICOM NM, any common transfer syntax) from files and folders into a\n"
      "de-identified dataset. Anterior and posterior views are found from View Code Sequence, detector\n"
      "orientation or image text; two single-view instances of one series become one two-view scan.\n"
      "Each file is decoded in a supervised worker process: a file whose decoder crashes, hangs or runs\n"
      "out of memory is rejected (\"decoder crashed (signal 11)\", \"decoder timed out after 60 s\", \"decoder\n"
      "went over the memory limit (2048 MiB)\") and the other files go in.\n"
      "Rejected files are summarised first (count by reason, with the first file of each), then listed;\n"
      "all are in <DATASET>/ingest_report.json. See docs/INGEST.md.\n"
      "Exit status: 0 all ingested, 1 some inputs rejected, 2 nothing ingested or bad usage.\n",
      "scintigen ingest");
  IngestConfig cfg;
  std::string size;
  std::vector<std::string> ignore_columns;
  bool json = false;
  bool no_isolation = false, quiet = false;
  app.add_option("paths", cfg.inputs, "DICOM files and folders (walked recursively)")->required();
  app.add_option("--out,-o", cfg.out, "dataset folder to create (required unless --dry-run)");
  app.add_flag("--append", cfg.append, "add to an existing dataset instead of creating one");
  app.add_flag("--dry-run", cfg.dry_run,
               "decode and check every file (what would be ingested or rejected), write nothing");
  app.add_option("--labels", cfg.labels_csv,
                 "labels CSV; first column is the join key: file (path relative to the folder given), study_uid,\n"
                 "series_uid, sop_uid, accession_number or patient_id; other columns: label fields or split");
  app.add_option("--labels-ignore-columns", ignore_columns,
                 "labels CSV columns to skip, comma-separated (e.g. a site's own comment or reader columns);\n"
                 "any other column that is not a label field or split is an error");
  app.add_flag("--allow-synthetic", cfg.allow_synthetic,
               "accept simulated or synthetic scans that scintigen exported (refused by default, so that they cannot\n"
               "pass as patients' scans); they keep their origin, source and provenance");
  app.add_option("--target-size", size, "resample every view to WIDTHxHEIGHT, count-preserving (default: native grid)");
  app.add_option(
      "--key-file", cfg.key_file,
      "write a re-identification key (scan id -> source file and original UIDs) here; must be outside the dataset");
  app.add_option("--report", cfg.report, "where to write the ingest report (default: <out>/ingest_report.json)");
  app.add_option("--threads", cfg.threads, "decoding worker processes (0 = all cores)")->capture_default_str();
  app.add_option("--decode-timeout", cfg.decode_timeout_s, "seconds a worker may take for one file before it is killed")
      ->capture_default_str();
  app.add_option("--decode-memory", cfg.decode_memory_mib,
                 "MiB a worker may allocate for one file (RLIMIT_DATA above its size at start)")
      ->capture_default_str();
  app.add_flag("--no-isolation", no_isolation,
               "decode on threads of this process instead of worker processes (for debugging a decoder:\n"
               "a crash or hang then takes the whole run with it)");
  app.add_option("--seed", cfg.seed, "recorded in the dataset config (ingest draws nothing at random)")
      ->capture_default_str();
  app.add_option("--commit-every", cfg.commit_every, "scans per durable commit")->capture_default_str();
  app.add_flag("--quiet,-q", quiet, "no progress bar, no per-file lines (summaries are still printed)");
  app.add_flag("--json", json, "print the report as JSON on stdout");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  if (!size.empty()) std::tie(cfg.target_width, cfg.target_height) = parse_size(size, "--target-size");
  cfg.labels_ignore_columns = split_commas(ignore_columns);
  cfg.isolate = !no_isolation;

  Console console(quiet);
  IngestResult r = ingest(cfg, &console);
  // What a user can act on first: rejections by reason and unmatched label rows, one line
  // each; the per-file lines after them, capped.
  for (const auto& line : rejection_summary(r))
    std::fprintf(stderr, "%s%s\n", line[0] == ' ' ? "" : "error: ", line.c_str());
  if (!r.unmatched_labels.empty()) std::fprintf(stderr, "error: %s\n", r.unmatched_labels.c_str());
  if (!quiet) {
    constexpr size_t kMaxFileLines = 20;
    for (size_t i = 0; i < r.rejected.size() && i < kMaxFileLines; ++i)
      std::fprintf(stderr, "error: %s: %s\n", r.rejected[i].path.c_str(), r.rejected[i].reason.c_str());
    if (r.rejected.size() > kMaxFileLines)
      std::fprintf(stderr, "... and %zu more rejected files (%s)\n", r.rejected.size() - kMaxFileLines,
                   r.report.empty() ? "--report FILE lists them all" : ("all in " + r.report).c_str());
  }
  if (json) {
    std::printf("%s\n", r.to_json().dump(2).c_str());
  } else if (!quiet) {
    std::printf("%s %zu scans (%zu two-view, %zu single-view) from %zu of %zu files%s%s\n",
                cfg.dry_run ? "dry run: would ingest" : "ingested", r.scans_added, r.two_view_scans,
                r.single_view_scans, r.files_accepted, r.files_seen, cfg.dry_run ? "" : " into ", cfg.out.c_str());
    if (!r.rejected.empty() && !r.report.empty())
      std::printf("rejected %zu files: see %s\n", r.rejected.size(), r.report.c_str());
    if (!r.warnings.empty() && cfg.dry_run)
      for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    else if (!r.warnings.empty())
      std::printf("%zu warnings in the report\n", r.warnings.size());
  }
  return r.exit_code();
}

}  // namespace scintigen::cli
