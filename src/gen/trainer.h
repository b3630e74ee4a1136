// One training step of the conditional model: condition dropout, v-loss, gradient clipping,
// AdamW with linear warm-up and cosine decay, EMA of the weights. The loop, data loading,
// checkpoints, resume and distribution live in later code (issue 4).
//
//   Trainer tr(model_preset("tiny"), TrainConfig{});
//   for (...) double loss = tr.step(x0, cond);   // x0 (B, 2, H, W) in model space, cond (B, A)
//   UNet ema = tr.ema();                          // the weights to sample from
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "gen/config.h"
#include "gen/schedule.h"
#include "gen/unet.h"

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

  void validate() const;  // throws ConfigError naming the field
  nlohmann::json to_json() const;
};

// Ref: Goyal et al. 2017 (linear warm-up), Loshchilov & Hutter 2017 (SGDR cosine decay).
// The learning rate of optimiser step `step` (0-based).
double learning_rate(const TrainConfig& c, int64_t step);

// ema <- d ema + (1 - d) net, parameter by parameter (same architecture).
void ema_update(UNet& ema, const UNet& net, double decay);

class Trainer {
 public:
  Trainer(const ModelConfig& model, const TrainConfig& train);

  // Draws condition dropout, t ~ U[0, 1) and noise from the trainer's generator, then steps.
  // x0 (B, 2, H, W) in model space (transform.h), cond (B, A) int64. Returns the loss.
  double step(const torch::Tensor& x0, const torch::Tensor& cond);
  // Fully specified step (tests): cond already dropped, t (B), noise (B, 2, H, W).
  double step(const torch::Tensor& x0, const torch::Tensor& cond, const torch::Tensor& t,
              const torch::Tensor& noise);

  UNet& model() { return net_; }
  UNet& ema() { return ema_; }
  int64_t steps_done() const { return step_; }
  double last_grad_norm() const { return grad_norm_; }
  double last_lr() const { return lr_; }

 private:
  ModelConfig model_cfg_;
  TrainConfig cfg_;
  Schedule schedule_;
  UNet net_{nullptr}, ema_{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt_;
  at::Generator gen_;
  int64_t step_ = 0;
  double grad_norm_ = 0, lr_ = 0;
};

}  // namespace scintigen::gen
