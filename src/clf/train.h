// Training the downstream classifier (metastasis, or cardiac uptake Perugini grade >= 2) on one
// or more datasets, with class-balanced sampling, count augmentation, a validation split and
// early stopping on validation AUC. No LibTorch in this header.
//
//   ClassifierConfig c;
//   c.task = "metastasis";
//   c.train = {"sim_small"};
//   c.out = "clf_small";
//   c.validate();
//   TrainResult r = train_classifier(c, &sink);   // r.best_val_auc, r.threshold, r.images_per_s
//
// Output folder (docs/CLASSIFY.md), through the run harness (run/run.h): run.json (the run's
// config, written first; what --resume compares), classifier.json (format, config, network,
// training history, chosen threshold, versions), best.pt (weights of the best validation
// epoch, what `classify eval` loads) and checkpoint/ (state.json with the training state of the
// latest epoch, and the archive of model + optimizer; what --resume continues from). Every file
// is replaced atomically, so a killed run leaves a consistent last epoch. Scans of origin
// "synthetic" only ever train: they are never in the validation set, whatever their split.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "clf/augment.h"
#include "core/labels.h"
#include "core/progress.h"

namespace scintigen::clf {

inline constexpr const char* kClassifierFormat = "scintigen-classifier";
inline constexpr int kClassifierFormatVersion = 1;

enum class Task { kMetastasis, kCardiac };
Task task_from_string(const std::string& s, const std::string& where = "--task");
const char* to_string(Task t);
// The binary target of a scan for a task; empty when the scan lacks the label.
// metastasis: labels.metastasis; cardiac: 1 when cardiac_grade >= 2 (Perugini), else 0.
std::optional<int> task_label(const Labels& labels, Task task);

struct ClassifierConfig {
  std::string task = "metastasis";  // metastasis | cardiac
  std::vector<std::string> train;   // dataset folders (scans of split "test" are never used)
  // Mixing weights, one per `train` dataset (classify train --mix): the share of class-balanced
  // draws each dataset gets among those holding the drawn class (clf/augment.h BalancedSampler).
  // Empty: all training scans pooled.
  std::vector<double> mix;
  std::string val;  // optional validation dataset (all its labelled scans)
  std::string out;  // classifier folder to create (must not exist, or be empty)
  // Network input grid and shape (see clf/model.h); scans are resampled count-preservingly.
  int height = 256, width = 64;
  int base_width = 16;
  std::vector<int> blocks = {1, 1, 1, 1};
  std::string norm = "group";          // group | batch
  std::string pool = "avgmax";         // avgmax | avg (clf/model.h)
  std::string transform = "anscombe";  // anscombe | log (clf/model.h)
  int epochs = 30;
  int batch = 16;
  double lr = 1e-3;  // AdamW
  double weight_decay = 1e-4;
  uint64_t seed = 0;
  int threads = 0;            // intra-op threads (0 = all cores)
  double val_fraction = 0.2;  // used only without --val and without "val" split rows
  int patience = 5;           // epochs without a better validation AUC before stopping
  // Optimiser steps per epoch (0 = one pass: ceil(training scans / batch)). A fixed value gives
  // runs on training sets of different sizes the same step budget and the same validation
  // schedule (scintigen study compares arms so). Stored in run.json only when set.
  int steps_per_epoch = 0;
  AugmentConfig augment;
  std::string device = "cpu";  // cpu | cuda | cuda:N | auto
  // Continue the run in `out` from its last finished epoch (checkpoint/), bit-identical to an
  // uninterrupted run; the config must equal the one in run.json except epochs (may grow),
  // threads, device and out.
  bool resume = false;

  // Throws ConfigError naming the field and the allowed values.
  void validate() const;
  nlohmann::json to_json() const;
  static ClassifierConfig from_json(const nlohmann::json& j, const std::string& where);
};

struct EpochLog {
  int epoch = 0;
  double loss = 0.0;  // mean training BCE
  double val_auc = 0.0;
  double seconds = 0.0;       // training + validation
  double images_per_s = 0.0;  // training images (forward + backward + step) per second
  bool best = false;
};

struct TrainResult {
  size_t train_scans = 0, train_positives = 0, val_scans = 0, val_positives = 0;
  size_t skipped_unlabelled = 0, skipped_test_split = 0;
  size_t train_synthetic = 0;         // training scans of origin "synthetic"
  std::vector<double> source_shares;  // expected share of draws per --train dataset
  std::string val_source;             // "dataset", "split column" or "stratified random"
  int best_epoch = 0;
  double best_val_auc = 0.0;
  double threshold = 0.5;     // Youden-optimal on validation at the best epoch (probability)
  double images_per_s = 0.0;  // mean over epochs
  bool early_stopped = false;
  int resumed_from_epoch = 0;  // 0: a fresh run
  std::vector<EpochLog> history;
  nlohmann::json to_json() const;
};

// The settings the run in `out` was started with (its run.json; for `classify train --out CLF
// --resume`). Throws InputError "nothing to resume" when there is no run, or naming the damaged
// file.
ClassifierConfig resumable_run_config(const std::string& out);

// Trains and writes the classifier folder, reporting each epoch's progress and summary (and a
// resume) to `events`. Throws InputError for unusable data (no labelled scan, one class only
// in the training or validation set), ConfigError for a bad config.
TrainResult train_classifier(const ClassifierConfig& config, EventSink* events = nullptr);

}  // namespace scintigen::clf
