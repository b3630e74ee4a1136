#include "core/progress.h"

#include <fmt/format.h>

namespace scintigen {

std::string format_duration(double s) {
  if (s < 0 || s != s) return "?";
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, static_cast<int>((t % 3600) / 60));
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, static_cast<int>(t % 60));
  return fmt::format("{}s", t);
}

Progress::Progress(EventSink* sink, std::string task, uint64_t total)
    : sink_(sink), task_(std::move(task)), total_(total), last_report_(std::chrono::steady_clock::now()) {
  if (sink_) sink_->progress(task_, 0, total_, false);
}

Progress::~Progress() {
  finish();
}

void Progress::advance(uint64_t n) {
  const uint64_t done = done_ += n;
  if (!sink_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_report_ < std::chrono::milliseconds(200)) return;
  last_report_ = now;
  sink_->progress(task_, done, total_, false);
}

void Progress::finish() {
  if (!sink_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  sink_->progress(task_, done_.load(), total_, true);
}

}  // namespace scintigen
