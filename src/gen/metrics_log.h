// OUT/metrics.jsonl of a training run (train_loop.h, autoencoder_train.h): one JSON object per
// line, appended and flushed as the run goes. No LibTorch here.
//
//   MetricsLog log(out + "/metrics.jsonl", resumed_step, is_writer);
//   log.write({{"step", 20}, {"loss", 0.031}});
//
// A resumed run keeps the lines of steps <= its checkpoint's step and drops the rest (the steps
// after the checkpoint run again), rewriting the file atomically before appending.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/fs_util.h"

namespace scintigen::gen {

class MetricsLog {
 public:
  // Keeps the lines of steps <= keep_through; a log that is not `enabled` writes nothing.
  MetricsLog(const std::string& path, int64_t keep_through, bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    std::string kept;
    if (keep_through > 0 && std::filesystem::exists(path)) {
      std::ifstream in(path);
      std::string line;
      while (std::getline(in, line)) {
        try {
          if (nlohmann::json::parse(line).value("step", int64_t{0}) <= keep_through) kept += line + "\n";
        } catch (const nlohmann::json::exception&) {
        }
      }
    }
    write_file_atomic(path, kept);
    f_ = std::fopen(path.c_str(), "a");
    if (!f_) throw InputError(path, "cannot open for appending");
  }
  ~MetricsLog() {
    if (f_) std::fclose(f_);
  }
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(const nlohmann::json& j) {
    if (!f_) return;
    std::fputs((j.dump() + "\n").c_str(), f_);
    std::fflush(f_);
  }

 private:
  bool enabled_;
  std::FILE* f_ = nullptr;
};

}  // namespace scintigen::gen
