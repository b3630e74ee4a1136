// A progress bar with rate and ETA on stderr; silent when stderr is not a terminal or when
// quiet. Thread-safe `advance`.
//
//   Progress p("ingest", files.size(), quiet);
//   for (...) { ...; p.advance(); }
//   p.finish();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace scintigen {

class Progress {
 public:
  Progress(std::string label, uint64_t total, bool quiet = false);
  ~Progress();
  void advance(uint64_t n = 1);
  void finish();
  bool enabled() const { return enabled_; }

 private:
  void draw(bool final);
  std::string label_;
  uint64_t total_;
  std::atomic<uint64_t> done_{0};
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mu_;
};

// Formats seconds as "1h02m", "3m05s" or "12s".
std::string format_duration(double seconds);

}  // namespace scintigen
