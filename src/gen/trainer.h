// One training step of the conditional model: condition dropout, v-loss, gradient accumulation,
// an optional gradient all-reduce across ranks, gradient clipping, AdamW with linear warm-up and
// cosine decay, EMA of the weights; and the trainer's full state for checkpoints. The loop,
// data order, validation and the model folder live in train_loop.h.
//
//   Trainer tr(model_preset("tiny"), TrainConfig{});
//   for (...) double loss = tr.step(x0, cond);   // x0 (B, 2, H, W) in model space, cond (B, A)
//   UNet ema = tr.ema();                          // the weights to sample from
//   tr.save(archive); tr2.load(archive);          // weights, EMA, AdamW moments, step
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gen/config.h"
#include "gen/schedule.h"
#include "gen/train_config.h"
#include "gen/unet.h"

namespace scintigen::gen {

// ema <- d ema + (1 - d) net, parameter by parameter (same architecture).
void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double decay);
inline void ema_update(UNet& ema, const UNet& net, double decay) {
  ema_update(*ema, *net, decay);
}

// AdamW over `params` with `c`'s betas, eps and weight decay (the learning rate is set per step
// from learning_rate): Trainer's optimiser, and the autoencoder's.
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const TrainConfig& c);

// The full training state of a network with its EMA copy, as checkpoints hold it ("net", "ema",
// "optimizer", "step"): Trainer's, and the autoencoder's (autoencoder_train.cc). Loading throws
// InputError naming `where` when the archive holds another architecture's state (`what` names
// the model in the message), and returns the step.
void save_training_state(torch::serialize::OutputArchive& archive, const torch::nn::Module& net,
                         const torch::nn::Module& ema, const torch::optim::Optimizer& opt, int64_t step);
int64_t load_training_state(torch::serialize::InputArchive& archive, torch::nn::Module& net, torch::nn::Module& ema,
                            torch::optim::Optimizer& opt, const std::string& where, const std::string& what);

// Averages gradients across ranks in place (distributed.h); called after the backward passes
// of a step, before clipping. `grads` are the parameters' gradients in parameter order.
using GradReducer = std::function<void(std::vector<torch::Tensor>& grads)>;

class Trainer {
 public:
  // Weights are initialised from torch's global generator seeded with train.seed.
  Trainer(const ModelConfig& model, const TrainConfig& train, torch::Device device = torch::kCPU);

  // Draws condition dropout, t ~ U[0, 1) and noise from a generator seeded by (seed, step),
  // then steps. x0 (B, 2, H, W) in model space (transform.h), cond (B, A) int64. Returns the loss.
  double step(const torch::Tensor& x0, const torch::Tensor& cond);
  // Fully specified step: cond already dropped, t (B), noise (B, 2, H, W), all on any device
  // (moved to the trainer's). The batch is split into `accum` micro-batches whose gradients
  // add up to those of the whole batch's mean loss; with a reducer, the gradients are then
  // averaged across ranks. Returns the mean loss of this rank's batch.
  double step(const torch::Tensor& x0, const torch::Tensor& cond, const torch::Tensor& t, const torch::Tensor& noise);
  // A step toward given v targets at given noised inputs (distillation, distill.h): x_t, v
  // (B, 2, H, W), cond (B, A), t (B); otherwise as the step above.
  double step_toward(const torch::Tensor& x_t, const torch::Tensor& cond, const torch::Tensor& t,
                     const torch::Tensor& v);

  void set_grad_reducer(GradReducer r) { reducer_ = std::move(r); }
  const torch::Device& device() const { return device_; }
  const TrainConfig& config() const { return cfg_; }

  // Full state: weights, EMA weights, AdamW moments and step counts, the step counter.
  void save(torch::serialize::OutputArchive& archive) const;
  // Throws InputError (naming `where`) when the archive does not match this architecture.
  void load(torch::serialize::InputArchive& archive, const std::string& where);
  // Starts from another model's weights (same architecture; `where` names it in errors): the
  // raw and the EMA weights both become `weights`; AdamW state and the step stay fresh (0).
  void init_weights(UNet& weights, const std::string& where);

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
  torch::Device device_;
  GradReducer reducer_;
  int64_t step_ = 0;
  // The shared step: `loss(begin, end)` is the mean loss of rows [begin, end) of the batch of B
  // (already on the device); micro-batches, reduction, clipping, AdamW and EMA around it.
  double step_with(int64_t B, const std::function<torch::Tensor(int64_t, int64_t)>& loss);
  double grad_norm_ = 0, lr_ = 0;
};

}  // namespace scintigen::gen
