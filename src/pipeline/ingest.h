// Ingest: DICOM files and folders -> a de-identified dataset.
//
//   IngestConfig cfg;
//   cfg.inputs = {"/pacs/export"};
//   cfg.out = "ds";
//   IngestResult r = ingest(cfg);          // throws only for unusable config/output
//   // r.rejected lists files that failed, with reasons; r.scans_added the scans written
//
// Files are read in parallel (worker processes, or threads with isolate = false) and committed
// in file order (sorted paths), so scan ids depend neither on the worker count nor on isolation. Two single-view
// instances of one series (anterior and posterior, same size) become one two-view scan. De-identification is by
// construction: only pixels and a whitelist of non-identifying attributes are read out of a file (see docs/PRIVACY.md);
// identifying keys live in memory only, or in the optional key file. Files that scintigen exported itself are refused
// unless allow_synthetic (apply_origin). See docs/INGEST.md for crash isolation and messages.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/scan.h"
#include "io/dicom_read.h"

namespace scintigen {

struct IngestConfig {
  std::vector<std::string> inputs;                 // files and folders (walked recursively)
  std::string out;                                 // dataset folder to create (or extend with append)
  bool append = false;                             // add to an existing dataset
  bool dry_run = false;                            // decode and check every file, write no dataset
  std::string labels_csv;                          // optional labels CSV (ingest/labels_csv.h)
  std::vector<std::string> labels_ignore_columns;  // CSV columns that are not label fields
  int target_width = 0;                            // 0: keep the native grid
  int target_height = 0;
  std::string key_file;   // optional re-identification key (CSV), outside `out`
  std::string report;     // default: <out>/ingest_report.json
  int threads = 0;        // 0: all cores
  int commit_every = 64;  // scans per transaction
  uint64_t seed = 0;      // recorded; ingest itself draws nothing at random
  // Files that scintigen exported itself (simulated or synthetic scans) are refused unless
  // this is set; then they keep their origin, source and provenance (see apply_origin).
  bool allow_synthetic = false;
  // Crash isolation (docs/INGEST.md): each file is decoded, assembled and prepared in a
  // supervised worker process, so that a decoder that crashes, hangs or balloons on one file
  // rejects that file only. Off (--no-isolation): decoded on threads of this process.
  bool isolate = true;
  double decode_timeout_s = 60;       // per file, in a worker
  uint64_t decode_memory_mib = 2048;  // per worker, beyond its size at start

  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

struct Rejection {
  std::string path;
  std::string reason;
};

struct IngestResult {
  size_t files_seen = 0;
  size_t files_skipped = 0;  // side files (.json, .csv, .png...) passed over in folder walks
  size_t files_accepted = 0;
  size_t scans_added = 0;
  size_t two_view_scans = 0;
  size_t single_view_scans = 0;
  size_t simulated_scans = 0;  // of scans_added: scintigen's own exports (--allow-synthetic)
  size_t synthetic_scans = 0;
  std::vector<Rejection> rejected;
  std::vector<std::string> label_errors;  // "<csv>:<line>: ..." rows that matched no scan
  // The unmatched rows in one line: "<csv>: 2 rows match no ingested scan: file 'a.dcm'
  // (line 2), 'b.dcm' (line 3)" (the first three, then "and N more"); "" when all matched.
  std::string unmatched_labels;
  std::vector<std::string> warnings;
  std::string report;  // where the report was written; "" when it was not (a dry run or an empty run without --report)
  nlohmann::json to_json() const;
  // 0 all went in, 1 some inputs rejected or label rows unmatched, 2 nothing could be ingested.
  int exit_code() const;
};

// What a user reads first about rejected files: "<n> of <m> files rejected, by reason:", then
// one line per distinct reason, most common first: "  <count> x <reason> (first: <file>)".
// Empty when nothing was rejected. (The report lists every file.)
std::vector<std::string> rejection_summary(const IngestResult& result);

// Sets the origin of a scan assembled from `obj` (the first part of a scan). A patient's file:
// origin real, source "ingest". A file scintigen made (obj.scintigen_mark): refused with
// InputError(obj.path, "a synthetic scan made by scintigen, not a patient's", "ingest it with
// --allow-synthetic") ("a simulated scan" for a simulated one), or with allow_synthetic the
// mark's origin and source, and meta["provenance"] from the mark when it has one.
void apply_origin(const DicomObject& obj, bool allow_synthetic, Scan& scan);

// The de-identification method recorded in datasets and exports.
const char* deidentification_method();

IngestResult ingest(const IngestConfig& config, EventSink* events = nullptr);

}  // namespace scintigen
