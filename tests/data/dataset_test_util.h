// Helpers for the dataset tests: small deterministic scans and file snapshots.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "core/fs_util.h"
#include "core/scan.h"

namespace scintigen::testing {

// A (2, h, w) scan of Poisson-like integer counts (stored as uint16), or of fractional
// counts (stored as float32) when `fractional`.
inline Scan test_scan(const std::string& id, int h, int w, uint32_t seed, bool fractional = false) {
  Scan s = make_scan(h, w);
  s.id = id;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> counts(0, fractional ? 400 : 3000);
  for (auto& v : s.pixels) v = static_cast<float>(counts(rng)) + (fractional ? 0.25f : 0.f);
  s.spacing_row_mm = 2.26;
  s.spacing_col_mm = 2.26;
  s.source = "test seed=" + std::to_string(seed);
  return s;
}

// name -> size, mtime (ns) and contents of every file in `dir` (recursively).
inline std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    std::string key = std::to_string(st.st_size) + "@" + std::to_string(st.st_mtim.tv_sec) + "." +
                      std::to_string(st.st_mtim.tv_nsec) + "#";
    if (e.is_regular_file()) key += read_file(e.path().string());
    out[e.path().string()] = key;
  }
  return out;
}

}  // namespace scintigen::testing
