// Ingest: DICOM files and folders -> a de-identified dataset.
//
//   IngestConfig cfg;
//   cfg.inputs = {"/pacs/export"};
//   cfg.out = "ds";
//   IngestResult r = ingest(cfg);          // throws only for unusable config/output
//   // r.rejected lists files that failed, with reasons; r.scans_added the scans written
//
// Files are read in parallel and committed in file order (sorted paths), so scan ids do not
// depend on the thread count. Two single-view instances of one series (anterior and
// posterior, same size) become one two-view scan. De-identification is by construction: only
// pixels and a whitelist of non-identifying attributes are read out of a file (see
// docs/PRIVACY.md); identifying keys live in memory only, or in the optional key file.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace scintigen {

struct IngestConfig {
  std::vector<std::string> inputs;  // files and folders (walked recursively)
  std::string out;                  // dataset folder to create (or extend with append)
  bool append = false;              // add to an existing dataset
  bool dry_run = false;             // decode and check every file, write no dataset
  std::string labels_csv;           // optional labels CSV (ingest/labels_csv.h)
  int target_width = 0;             // 0: keep the native grid
  int target_height = 0;
  std::string key_file;             // optional re-identification key (CSV), outside `out`
  std::string report;               // default: <out>/ingest_report.json
  int threads = 0;                  // 0: all cores
  int commit_every = 64;            // scans per transaction
  uint64_t seed = 0;                // recorded; ingest itself draws nothing at random
  bool quiet = false;

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
  std::vector<Rejection> rejected;
  std::vector<std::string> label_errors;  // "<csv>:<line>: ..." rows that matched no scan
  std::vector<std::string> warnings;
  nlohmann::json to_json() const;
  // 0 all went in, 1 some inputs rejected or label rows unmatched, 2 nothing could be ingested.
  int exit_code() const;
};

// The de-identification method recorded in datasets and exports.
const char* deidentification_method();

IngestResult ingest(const IngestConfig& config);

}  // namespace scintigen
