// How a library reports what it is doing without printing anything itself: counted progress of a
// task, and lines of news (epoch summaries, resume notices). The caller passes an EventSink; the
// command line's sink (apps/scintigen/console.h) draws a bar with rate and ETA on a terminal and
// prints the news on stderr; tests and library callers pass nothing and hear nothing.
//
//   void ingest(const IngestConfig& cfg, EventSink* events = nullptr);
//   ...
//   Progress p(events, "ingest", files.size());
//   for (...) { ...; p.advance(); }
//   p.finish();
//   note(events, fmt::format("resuming after epoch {}", epoch));
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace scintigen {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // `done` of `total` units of `task`; `final` once, when the task ends. Calls for one task are
  // serialised (Progress holds a lock) but may come from any thread.
  virtual void progress(const std::string& task, uint64_t done, uint64_t total, bool final) {}
  // One line of news, without a trailing newline.
  virtual void note(const std::string& text) {}
};

// Sends `text` to `sink` when there is one.
inline void note(EventSink* sink, const std::string& text) {
  if (sink) sink->note(text);
}

// Counts units of one task and reports them to a sink, at most every 200 ms and once at the end.
// Thread-safe `advance`. Without a sink it only counts.
class Progress {
 public:
  Progress(EventSink* sink, std::string task, uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void advance(uint64_t n = 1);
  void finish();
  uint64_t done() const { return done_.load(); }

 private:
  EventSink* sink_;
  std::string task_;
  uint64_t total_;
  std::atomic<uint64_t> done_{0};
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_report_;
  std::mutex mu_;
};

// Formats seconds as "1h02m", "3m05s" or "12s" ("?" when negative or NaN).
std::string format_duration(double seconds);

}  // namespace scintigen
