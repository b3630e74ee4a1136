// Whole-dataset operations behind `scintigen dataset ...`: summary, split, merge, resample, export.
//
//   nlohmann::json s = summarize_dataset(Dataset::open("ds"));
//   split_dataset("ds", SplitConfig{{{"train", .8}, {"val", .1}, {"test", .1}}, {"metastasis"}, 42});
//   merge_datasets({"a", "b"}, "ab", MergeConfig{});
//   resample_dataset("ds128x512", "ds64x256", ResampleConfig{64, 256});
//   ExportResult r = export_dataset("ds", ExportConfig{"out", ExportFormat::kDicom});
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/progress.h"

namespace scintigen {

class Dataset;
struct ScanRecord;

// Writes the new dataset `out` through a temporary folder beside it: `out` must not exist (its
// missing parent folders are created; the parent must be writable), `fill` adds and commits the
// scans, and the folder is renamed to `out` only when `fill` returns. When `fill` throws, the
// temporary folder is removed and nothing is left at `out`. config["command"] names the command
// in the errors.
void create_dataset_atomically(const std::string& out, const nlohmann::json& config,
                               const std::function<void(Dataset&)>& fill);

// Counts by origin, split, view set, grid, and per label value; dataset.json fields.
nlohmann::json summarize_dataset(const Dataset& ds);

struct SplitConfig {
  std::vector<std::pair<std::string, double>> fractions = {{"train", 0.8}, {"val", 0.1}, {"test", 0.1}};
  std::vector<std::string> stratify = {"metastasis", "cardiac_grade"};  // label fields
  uint64_t seed = 0;
  bool by_subject = true;  // keep scans of one (pseudonymous) subject in one split
  void validate() const;
  nlohmann::json to_json() const;
};

// Parses "train=0.8,val=0.1,test=0.1" (fractions must sum to 1 within 1e-6).
std::vector<std::pair<std::string, double>> parse_fractions(const std::string& text, const std::string& flag);

// Assigns every scan a split with grouped_stratified_split (core/split.h, stream
// kDatasetSplit): units (subjects, or single scans) are grouped into strata by the label tuple
// of their first scan, shuffled with the seed (each stratum by its own generator), and cut by
// largest-remainder quotas in each stratum. Returns the number of scans per split.
std::vector<std::pair<std::string, size_t>> split_dataset(const std::string& dir, const SplitConfig& config);

struct MergeConfig {
  bool prefix_ids = false;  // always prefix ids with "d<k>_"; otherwise only when ids collide
};

// A new dataset at `out` with every scan of `inputs`, pixels and records unchanged.
size_t merge_datasets(const std::vector<std::string>& inputs, const std::string& out, const MergeConfig& config,
                      EventSink* events = nullptr);

struct ResampleConfig {
  int width = 0, height = 0;  // the new grid, 1..8192 each
  void validate() const;
  nlohmann::json to_json() const;
};

// A new dataset at `out` with every scan of `in` on the grid (width x height): each present view
// resampled count-preservingly (core/resample.h: box integration, so total counts and the
// Poisson meaning of the counts are kept), pixel spacing scaled to match; ids, labels, origin,
// source, split and meta unchanged but for meta "resampled_from" = [rows, columns] of the source
// grid, where the scan has none yet (one resampled at ingest keeps its native grid there); a scan
// already on the grid is copied. dataset.json records the source dataset's uid,
// folder and config ("source"), so a resampled synthetic set still names the model that made it.
size_t resample_dataset(const std::string& in, const std::string& out, const ResampleConfig& config,
                        EventSink* events = nullptr);

enum class ExportFormat { kDicom, kPng16, kPreview, kContactSheet };
ExportFormat export_format_from_string(const std::string& s);

struct ExportConfig {
  std::string out;
  ExportFormat format = ExportFormat::kDicom;
  bool two_instances = false;    // DICOM: two single-frame instances instead of one two-frame object
  std::vector<std::string> ids;  // empty: all
  std::string split;             // only this split
  size_t limit = 0;              // 0: no limit
  int columns = 8;               // contact sheet
  nlohmann::json to_json() const;
};

struct ExportResult {
  size_t scans = 0;
  std::vector<std::string> files;
  std::vector<std::string> failures;  // "<id>: <reason>"
};

ExportResult export_dataset(const std::string& dir, const ExportConfig& config, EventSink* events = nullptr);

// "metastasis=1 grade=2 DPD F 71y" — short caption for contact sheets.
std::string caption_of(const ScanRecord& record);

}  // namespace scintigen
