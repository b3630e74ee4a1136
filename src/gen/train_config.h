// The settings of a training run that callers fill without tensors: the optimiser and its
// schedule (TrainConfig, used by trainer.h), the training data (DataConfig, train_data.h).
// No LibTorch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gen/sampler_config.h"

namespace scintigen::gen {

struct TrainConfig {
  int64_t steps = 10000;       // total optimiser steps (the cosine reaches min_lr here)
  int64_t warmup_steps = 200;  // linear warm-up from lr / warmup_steps to lr
  double lr = 2e-4;
  double min_lr_ratio = 0.05;  // final learning rate = lr * min_lr_ratio
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.01;
  double grad_clip = 1.0;       // max global L2 norm of the gradients (0 = off)
  double ema_decay = 0.999;     // per step, ramped up as min(decay, (1 + n) / (10 + n))
  double cond_drop_prob = 0.1;  // each condition token dropped independently (CFG)
  uint64_t seed = 0;
  int accum = 1;      // micro-batches per optimiser step (gradient accumulation)
  bool bf16 = false;  // bf16 autocast for forward and backward (GroupNorm, loss in fp32)

  void validate() const;  // throws ConfigError naming the field
  nlohmann::json to_json() const;
};

// Ref: Goyal et al. 2017 (linear warm-up), Loshchilov & Hutter 2017 (SGDR cosine decay).
// The learning rate of optimiser step `step` (0-based).
double learning_rate(const TrainConfig& c, int64_t step);

// The seed of the generator that draws step `step`'s condition dropout, times and noise, so a
// resumed run draws exactly what an uninterrupted one would.
uint64_t step_seed(uint64_t seed, int64_t step);

// Training data: dataset folders, the held-out validation split, loading (train_data.h).
struct DataConfig {
  std::vector<std::string> datasets;  // dataset folders
  double val_fraction = 0.05;         // used when no scan has split "val"
  int val_max = 256;                  // cap on the random validation set
  uint64_t seed = 0;                  // validation draw
  int threads = 0;                    // loading threads (0 = all cores)
  double max_memory_gb = 16.0;        // refuse to hold more than this in memory
  // "CONDITION:FACTOR", e.g. "metastasis=1:2": training scans whose labels match CONDITION come
  // FACTOR times in each epoch of the data order, so a rare condition is seen more often
  // ("" = every scan once). The label counts generate fills conditions from stay the data's own.
  std::string oversample;

  void validate() const;  // throws ConfigError naming the field
  nlohmann::json to_json() const;
};

// Step distillation (train --distill-from; gen/distill.h, docs/MODEL.md "Distillation"). Ref:
// Salimans & Ho 2022, "Progressive distillation for fast sampling of diffusion models": a
// student, starting from the teacher's weights, learns to take in one DDIM step what the
// teacher's sampler takes in `substeps` steps, so `steps` student steps stand for steps x
// substeps teacher steps. Here the teacher's steps are its own DPM-Solver++(2M) steps with its
// guidance (scale and interval) applied, so the student also learns the guided sampler and
// samples at guidance 1: one network evaluation of B per step.
struct DistillConfig {
  std::string teacher;                                // model folder or "builtin" ("" = not distilling)
  int steps = 5;                                      // the student's DDIM steps
  int substeps = 2;                                   // teacher DPM-Solver++(2M) steps per student step
  TimeSpacing spacing = TimeSpacing::kLogSnrUniform;  // of both grids
  double guidance = 1.5;                              // the teacher's classifier-free guidance
  double guidance_t_lo = 0.05, guidance_t_hi = 0.7;   // ... at times t in [lo, hi]

  bool enabled() const { return !teacher.empty(); }
  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
  // The student's: DDIM, `steps` steps on the same spacing, guidance 1.
  SamplerConfig student_sampler() const;
};

}  // namespace scintigen::gen
