// The command line's EventSink: progress bars with rate and ETA on stderr when it is a terminal,
// news lines on stderr; `--quiet` silences both (summaries printed by the commands remain).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/progress.h"

namespace scintigen::cli {

class Console : public EventSink {
 public:
  explicit Console(bool quiet = false);
  void progress(const std::string& task, uint64_t done, uint64_t total, bool final) override;
  void note(const std::string& text) override;

 private:
  bool quiet_;
  bool tty_;
  bool bar_open_ = false;  // a bar is drawn on the current line
  std::map<std::string, std::chrono::steady_clock::time_point> started_;
  std::mutex mu_;
};

}  // namespace scintigen::cli
