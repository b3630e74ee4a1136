#include "console.h"

#include <unistd.h>

#include <cstdio>

namespace scintigen::cli {

Console::Console(bool quiet) : quiet_(quiet), tty_(::isatty(2) != 0) {}

void Console::progress(const std::string& task, uint64_t done, uint64_t total, bool final) {
  if (quiet_ || !tty_) return;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  const auto start = started_.emplace(task, now).first->second;
  const double elapsed = std::chrono::duration<double>(now - start).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double frac = total ? static_cast<double>(done) / total : 0;
  const int width = 30;
  std::string bar(static_cast<size_t>(frac * width), '#');
  bar.resize(width, '.');
  const double eta = rate > 0 && total >= done ? (total - done) / rate : -1;
  std::fprintf(stderr, "\r%s [%s] %llu/%llu %.1f/s %s %s", task.c_str(), bar.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate,
               final ? "elapsed" : "ETA", format_duration(final ? elapsed : eta).c_str());
  bar_open_ = !final;
  if (final) {
    std::fputc('\n', stderr);
    started_.erase(task);
  }
  std::fflush(stderr);
}

void Console::note(const std::string& text) {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (bar_open_) std::fputc('\n', stderr);
  bar_open_ = false;
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace scintigen::cli
