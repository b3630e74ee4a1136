// Training objective: v-prediction on the cosine schedule, with per-attribute condition dropout
// for classifier-free guidance.
//
//   auto cond_d = drop_conditions(cond, 0.1, gen);          // (B, A): each token -> 0 with p
//   auto t = torch::rand({B}, gen);                          // (B) in [0, 1)
//   auto noise = torch::randn_like(x0);                      // (B, 2, H, W)
//   torch::Tensor loss = v_loss(net, schedule, x0, cond_d, t, noise);  // scalar
//
// Why v-prediction on a variance-preserving cosine schedule (not flow matching): its
// probability-flow ODE is the one DDIM and DPM-Solver++(2M) integrate exactly in the
// semi-linear (exponential-integrator) form, so both fast samplers apply unchanged; v keeps
// the loss well scaled at both ends of the schedule, where eps- or x0-prediction degrade
// (Ref: Salimans & Ho 2022, "Progressive distillation", v = alpha eps - sigma x0). The
// unweighted v-MSE equals an x0-MSE weighted by (SNR + 1). Flow matching with a linear path is
// the same family up to a reparameterisation of time and would serve as well.
#pragma once

#include <torch/torch.h>

#include "gen/schedule.h"
#include "gen/unet.h"

namespace scintigen::gen {

// t (B) -> alpha (B), sigma (B), computed in float64 then cast to t's dtype.
std::pair<torch::Tensor, torch::Tensor> alpha_sigma(const Schedule& s, const torch::Tensor& t);

// Ref: Salimans & Ho 2022. x_t = alpha x0 + sigma eps, v = alpha eps - sigma x0,
// x0 = alpha x_t - sigma v. All (B, 2, H, W); alpha, sigma (B).
torch::Tensor v_target(const torch::Tensor& x0, const torch::Tensor& eps, const torch::Tensor& alpha,
                       const torch::Tensor& sigma);
torch::Tensor x0_from_v(const torch::Tensor& x_t, const torch::Tensor& v, const torch::Tensor& alpha,
                        const torch::Tensor& sigma);

// cond (B, A) int64 -> (B, A): each token independently replaced by 0 (unknown) with
// probability p, so guidance works with any subset of attributes at sampling time
// (Ref: Ho & Salimans 2022, classifier-free guidance).
torch::Tensor drop_conditions(const torch::Tensor& cond, double p, c10::optional<at::Generator> gen);

// Mean over all elements of (net(x_t, t, cond) - v)^2 for an x_t and v target given as they are
// (distillation's, distill.h). x_t, v (B, 2, H, W); cond (B, A); t (B) -> scalar.
torch::Tensor v_loss_toward(UNet& net, const torch::Tensor& x_t, const torch::Tensor& cond, const torch::Tensor& t,
                            const torch::Tensor& v);

// Mean over all elements of (net(x_t, t, cond) - v)^2. x0, noise (B, 2, H, W); cond (B, A)
// (already dropped); t (B) -> scalar.
torch::Tensor v_loss(UNet& net, const Schedule& s, const torch::Tensor& x0, const torch::Tensor& cond,
                     const torch::Tensor& t, const torch::Tensor& noise);

}  // namespace scintigen::gen
