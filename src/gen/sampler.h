// Samplers: free functions over a denoise callback x0 = denoise(x, t, cond), integrating the
// probability-flow ODE of the schedule (or, for the SDE sampler, the reverse diffusion SDE) from
// t = 1 (noise) to t = 0 (data) in `steps` network evaluations (steps, or 2 x batch per
// evaluation with guidance).
//
//   Denoise d = with_guidance(model_denoiser(net, Schedule::from(cfg)), /*scale=*/3.0);
//   SamplerConfig sc;  sc.kind = SamplerKind::kDpmpp2m;  sc.steps = 20;  sc.seed = 7;
//   torch::Tensor x0 = sample(d, schedule, sc, cond, {B, 2, H, W});   // deterministic for a seed
//
// Schedules live in schedule.h, the model in unet.h; the samplers see only the callback.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "gen/sampler_config.h"
#include "gen/schedule.h"
#include "gen/unet.h"

namespace scintigen::gen {

// x (B, 2, H, W), t in [0, 1], cond (B, A) int64 -> x0 estimate (B, 2, H, W).
using Denoise = std::function<torch::Tensor(const torch::Tensor& x, double t, const torch::Tensor& cond)>;

// The network as a denoiser: x0 = alpha x - sigma v(x, t, cond), evaluated without gradients.
Denoise model_denoiser(UNet net, const Schedule& s);

// Ref: Ho & Salimans 2022. x0 = x0(uncond) + scale (x0(cond) - x0(uncond)), where uncond has
// every token 0; both halves go through `d` as one batch of 2B. scale 1 is the conditional
// prediction alone (one batch of B), scale 0 the unconditional one.
// Ref: Kynkaanniemi et al. 2024 (guidance in a limited interval): guidance applies only at times
// t in [t_lo, t_hi]; at any other t the result is d(x, t, cond) alone, one batch of B.
// `columns` (cond's attribute indices) limits guidance to those conditions: the second
// prediction drops only their tokens, the others kept (Liu et al. 2022 and Brooks et al. 2023
// guide separate conditionings separately); empty = every token dropped, as above.
Denoise with_guidance(Denoise d, double scale, double t_lo = 0.0, double t_hi = 1.0, std::vector<int64_t> columns = {});

// Ref: Karras et al. 2024, "Guiding a diffusion model with a bad version of itself"
// (autoguidance). x0 = x0(bad) + scale (x0(good) - x0(bad)), both with the same conditions, where
// `bad` is a weaker model of the same data (smaller, or trained less). Only at times t in
// [t_lo, t_hi], as with_guidance; elsewhere, and at scale 1, the result is good(x, t, cond) alone.
Denoise with_autoguidance(Denoise good, Denoise bad, double scale, double t_lo = 0.0, double t_hi = 1.0);

// Times t_0 = 1 > t_1 > ... > t_steps = 0.
std::vector<double> sampling_times(int steps, TimeSpacing spacing, const Schedule& s);

// Ref: Song et al. 2021, DDIM with eta = 0 (deterministic):
// eps = (x - alpha x0) / sigma, x' = alpha' x0 + sigma' eps.
// x_T (B, 2, H, W) noise at times[0], cond (B, A) -> x (B, 2, H, W) at times.back(); one
// network evaluation per interval.
torch::Tensor sample_ddim(const Denoise& d, const Schedule& s, torch::Tensor x_T, const torch::Tensor& cond,
                          const std::vector<double>& times);

// Ref: Lu et al. 2022, "DPM-Solver++", Algorithm 2 (multistep second order, data prediction):
// x_i = (sigma_i / sigma_{i-1}) x_{i-1} - alpha_i (exp(-h_i) - 1) D_i, h_i = lambda_i - lambda_{i-1},
// D_i = (1 + 1 / (2 r_i)) x0_{i-1} - 1 / (2 r_i) x0_{i-2}, r_i = h_{i-1} / h_i; first order at the
// first step and, with lower_order_final (below 15 steps), the last one.
torch::Tensor sample_dpmpp_2m(const Denoise& d, const Schedule& s, torch::Tensor x_T, const torch::Tensor& cond,
                              const std::vector<double>& times, bool lower_order_final = true);

// Fresh N(0, I) noise shaped and typed like `like`, for the stochastic sampler. Each scan's draws
// must depend on that scan alone (generate: one generator per scan), so that scan k is the same
// in any batch.
using NoiseSource = std::function<torch::Tensor(const torch::Tensor& like)>;

// Ref: Lu et al. 2022, "DPM-Solver++", its SDE variant (second order, multistep, data
// prediction; diffusers' "sde-dpmsolver++" with midpoint correction):
// x_i = (sigma_i / sigma_{i-1}) exp(-h_i) x_{i-1} - alpha_i expm1(-2 h_i) D_i
//       + sigma_i sqrt(-expm1(-2 h_i)) z_i,  z_i = noise(x),
// with h_i and D_i as in sample_dpmpp_2m. At first order this is the DDPM ancestral step
// (DDIM with eta = 1): a draw from q(x_i | x_{i-1}, x0 = D_i). No noise is added at the last
// step, whose output is the data estimate.
torch::Tensor sample_dpmpp_2m_sde(const Denoise& d, const Schedule& s, torch::Tensor x_T, const torch::Tensor& cond,
                                  const std::vector<double>& times, const NoiseSource& noise);

// The sampler of `kind` over `times`; `noise` is used by the stochastic one only (may be empty
// for the others).
torch::Tensor run_sampler(SamplerKind kind, const Denoise& d, const Schedule& s, torch::Tensor x_T,
                          const torch::Tensor& cond, const std::vector<double>& times, const NoiseSource& noise);

// Draws x_T ~ N(0, I) of `shape` from a CPU generator seeded with cfg.seed (so results do not
// depend on the device), moves it to cond's device and runs the chosen sampler (the SDE sampler's
// noise continues the same generator).
torch::Tensor sample(const Denoise& d, const Schedule& s, const SamplerConfig& cfg, const torch::Tensor& cond,
                     at::IntArrayRef shape);

}  // namespace scintigen::gen
