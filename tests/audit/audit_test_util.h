// Helpers the audit's reference tests share: features as JSON rows, and running the NumPy/SciPy/
// scikit-learn reference script (tests/ref/audit_metrics_reference.py) on a case file.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/features.h"
#include "test_util.h"

namespace scintigen::audit_testing {

inline nlohmann::json rows_json(const audit::Features& f) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < f.n; ++i) rows.push_back(std::vector<double>(f.row(i), f.row(i) + f.d));
  return rows;
}

struct Reference {
  int exit_code = 0;
  std::string output;     // the script's stdout + stderr when it failed
  nlohmann::json values;  // its JSON answer when it succeeded
};

// Writes `cases` to a temporary file and runs the reference script on it.
inline Reference run_reference(const nlohmann::json& cases) {
  scintigen::testing::TempDir dir;
  std::ofstream(dir / "cases.json") << cases.dump();
  const auto r = scintigen::testing::run_command(
      scintigen::testing::python() + " " + scintigen::testing::source_path("tests/ref/audit_metrics_reference.py") +
      " " + (dir / "cases.json") + " > " + (dir / "ref.json"));
  Reference out{r.exit_code, r.output, nullptr};
  if (r.exit_code == 0) {
    std::ifstream f(dir / "ref.json");
    out.values = nlohmann::json::parse(f);
  }
  return out;
}

}  // namespace scintigen::audit_testing
