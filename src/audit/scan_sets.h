// The scans of one dataset held in memory for the audit, with what the audit needs beside the
// pixels: the dataset's identity, each scan's subject (the unit of every split and fold) and
// grid checks with clear errors.
//
//   ScanSet real = load_scan_set("real", "--real");       // every scan of the dataset
//   ScanSet held = real.take_split("test");                // moves the "test" scans out
//   check_same_grid({&real, &synthetic});                  // InputError naming both grids
//
// Memory: 2 x H x W float32 per scan (256 KiB at 64 x 256), so 4,000 scans take about 1 GiB.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen::audit {

struct ScanSet {
  std::string dir;                                 // dataset folder ("" for a set made in memory)
  std::string where;                               // the flag or name errors use ("--real")
  nlohmann::json info = nlohmann::json::object();  // dataset.json
  std::vector<Scan> scans;

  // meta.subject when the scan has one, else "scan:<dataset>/<id>": the unit that stays on one
  // side of every split and fold.
  std::string subject(size_t i) const;
  std::vector<std::string> subjects() const;
  int height() const;  // of the first scan (0 when empty)
  int width() const;
  // Moves the scans of split `name` into a new set (same dir and info); keeps the others.
  ScanSet take_split(const std::string& name);
  void drop_split(const std::string& name);
  ScanSet subset(const std::vector<size_t>& idx) const;  // copies, in the given order
  nlohmann::json describe() const;                       // {dataset, uid, scans, grid}
};

// Opens the dataset and loads every scan. InputError naming `where` and the folder when it is
// not a dataset, is empty, or its scans do not share one grid.
ScanSet load_scan_set(const std::string& dir, const std::string& where);

// InputError when the sets' grids differ ("--real is 64 x 256 but --synthetic is 128 x 512")
// with a hint to resample one set (`scintigen dataset resample --size`).
void check_same_grid(const std::vector<const ScanSet*>& sets);

}  // namespace scintigen::audit
