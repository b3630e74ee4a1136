// Fixtures for the training-loop tests (gen_train_test on the CPU, gen_cuda_test on CUDA): a
// micro model config, a small labelled dataset, a run config that trains in seconds, and a
// generation config for its model.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "core/fs_util.h"
#include "core/scan.h"
#include "data/dataset.h"
#include "gen/config.h"
#include "gen/generate.h"
#include "gen/train_loop.h"

namespace scintigen::gen::testing {

// A small model config (2 x 16 x 64) so that the loop tests run in seconds.
inline std::string write_micro_config(const std::string& dir) {
  ModelConfig c = model_preset("tiny");
  c.preset = "micro";
  c.height = 64;
  c.width = 16;
  c.base_channels = 16;
  const std::string path = dir + "/micro.json";
  write_file_atomic(path, c.to_json().dump());
  return path;
}

// n labelled scans of smooth shapes plus Poisson noise; labels cycle through the vocabulary.
// without: a label field left unset on every scan; site: the site label of every scan;
// noiseless: the expected counts (float, as `simulate --noiseless` stores) instead of draws.
inline void make_dataset(const std::string& dir, int n, const std::string& without = "", const std::string& site = "",
                         bool noiseless = false) {
  Dataset ds = Dataset::create(dir, {{"command", "test"}});
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    Scan s = make_scan(64, 16);
    const int met = i % 2, grade = (i / 2) % 4;
    for (int v = 0; v < 2; ++v)
      for (int r = 0; r < 64; ++r)
        for (int c = 0; c < 16; ++c) {
          double lam = 20.0 * std::exp(-std::pow((c - 7.5) / 4.0, 2)) + (met && r == 20 + i % 20 ? 80 : 0) +
                       (r > 15 && r < 22 && c < 8 ? 10.0 * grade : 0);
          s.pixels[(v * 64 + r) * 16 + c] = static_cast<float>(
              noiseless ? lam + 0.25 : static_cast<double>(std::poisson_distribution<int>(lam)(rng)));
        }
    s.id = "s" + std::to_string(i);
    s.origin = Origin::kSimulated;
    s.labels.metastasis = met;
    s.labels.cardiac_grade = grade;
    if (without != "tracer") s.labels.tracer = i % 3 == 0 ? "DPD" : "HDP";
    s.labels.sex = i % 2 ? "F" : "M";
    s.labels.age = 40 + i % 50;
    s.labels.site = site;
    ds.add(s);
  }
  ds.commit();
}

inline TrainRunConfig micro_run(const std::string& dir, const std::string& data, const std::string& out,
                                int64_t steps) {
  TrainRunConfig c;
  c.data.datasets = {data};
  c.data.val_fraction = 0.1;
  c.out = out;
  c.preset = write_micro_config(dir);
  c.train.steps = steps;
  c.train.warmup_steps = 2;
  c.train.seed = 3;
  c.batch = 4;
  c.log_every = 2;
  c.checkpoint_every = 3;
  c.val_every = 0;
  c.sample_every = 0;
  c.threads = 1;
  return c;
}

// n scans for `condition` from `model` in one batch, `steps` sampler steps, one thread.
inline GenerateConfig micro_generate(const std::string& model, int64_t n, const std::string& condition, int steps) {
  GenerateConfig g;
  g.model = model;
  g.n = n;
  g.condition = condition;
  g.sampler.steps = steps;
  g.batch = static_cast<int>(n);
  g.threads = 1;
  g.precision = Precision::kFp32;  // the same scans on every CPU (auto is bf16 where it is native)
  return g;
}

}  // namespace scintigen::gen::testing
