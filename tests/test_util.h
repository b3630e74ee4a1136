// Helpers shared by the tests: paths to ../shared/data, temporary folders, running commands.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "core/error.h"

namespace scintigen::testing {

inline std::string shared_data(const std::string& rel) {
  return std::string(SCINTIGEN_SHARED_DIR) + "/data/" + rel;
}
inline std::string source_path(const std::string& rel) {
  return std::string(SCINTIGEN_SOURCE_DIR) + "/" + rel;
}
inline std::string python() {
  return SCINTIGEN_PYTHON;
}
inline std::string scintigen_binary() {
  return SCINTIGEN_BINARY;
}

// The reason of the InputError that `f` throws, or "no error".
template <typename F>
std::string input_error_reason(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.reason();
  }
  return "no error";
}

// A fresh temporary folder, removed when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "scintigen-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `cmd` through /bin/sh, capturing stdout+stderr.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// The describe() text ("<where>: <what> (hint: ...)") of the InputError `f` throws, or ""
// when it throws none.
inline std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.describe();
  }
  return "";
}

// A reference script's results: lines "case<TAB>key<TAB>value" as {"case|key": value}, "NA" as
// NaN (the Python and R reference scripts of the *_ref tests write them).
inline std::map<std::string, double> read_tsv(const std::string& path) {
  std::map<std::string, double> m;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string c, k, v;
    if (!std::getline(s, c, '\t') || !std::getline(s, k, '\t') || !std::getline(s, v)) continue;
    m[c + "|" + k] = v == "NA" ? std::nan("") : std::stod(v);
  }
  return m;
}

}  // namespace scintigen::testing
