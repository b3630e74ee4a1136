// Training data for the conditional model: scans of one or more datasets at the model's grid,
// in model space, with their condition tokens, a held-out validation split, and the data order.
//
//   DataConfig dc;  dc.datasets = {"sim"};
//   TrainingData d = load_training_data(dc, cfg);        // cfg: ModelConfig (count_max may be fit)
//   auto idx = batch_indices(d.train.size(), seed, step, batch);   // the global batch of a step
//
// Scans without both views and scans of split "test" are skipped (and counted). Validation:
// the datasets' "val" rows, else a seeded random fraction. Every attribute the model
// conditions on must be labelled on at least one training scan; otherwise the error names the
// attribute and how to leave it out, so no condition is ever silently ignored.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "gen/config.h"
#include "gen/train_config.h"

namespace scintigen::gen {

struct ScanSet {
  torch::Tensor x;     // (N, 2, H, W) float32, model space
  torch::Tensor cond;  // (N, A) int64 tokens (0 = unlabelled)
  int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

struct TrainingData {
  ScanSet train, val;
  // One epoch of the data order: indices into `train`, a scan matching DataConfig::oversample
  // FACTOR times; empty = each scan once (0..n-1).
  std::vector<int64_t> epoch;
  std::string val_source;  // "val split rows", "random fraction" or "none (too few scans)"
  size_t skipped_single_view = 0, skipped_test_split = 0;
  nlohmann::json summary;  // datasets (dir, uid, scans), label counts per attribute value
};

// Loads and converts every usable scan, reporting its progress to `events`. When
// cfg.transform.count_max <= 0 it is fit to the training data first (fit_count_max). Throws
// InputError for unusable data.
TrainingData load_training_data(const DataConfig& dc, ModelConfig& cfg, EventSink* events = nullptr);

// The 99.5th percentile of the non-zero counts of (N, 2, H, W) counts, rounded up to two
// significant digits: the count that maps to +1 in model space.
double fit_count_max(const torch::Tensor& counts);

// The scan indices of the global batch of optimiser step `step` for `data`: batch_indices over
// its epoch (data.epoch when oversampling, else 0..n-1).
std::vector<int64_t> training_batch(const TrainingData& data, uint64_t seed, int64_t step, int64_t batch);

// Indices of the scans in the global batch of optimiser step `step`: positions
// [step * batch, (step + 1) * batch) of an endless sequence of epochs, each a permutation of
// 0..n-1 drawn from (seed, epoch) alone. A resumed run therefore sees the same order.
std::vector<int64_t> batch_indices(int64_t n, uint64_t seed, int64_t step, int64_t batch);

}  // namespace scintigen::gen
