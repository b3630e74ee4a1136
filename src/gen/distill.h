// Step distillation: the training pairs of a student that takes in one DDIM step what its
// teacher's guided sampler takes in several (DistillConfig in train_config.h; the loop in
// train_loop.cc; docs/MODEL.md, "Distillation").
//
//   Denoise teacher = with_guidance(model_denoiser(net, s), 1.5, 0.05, 0.7);
//   DistillPairs p = distill_pairs(teacher, s, cfg, x0, cond, u, noise);
//   // the student's v-prediction at (p.z, p.t, cond) is trained toward p.v
//
// Ref: Salimans & Ho 2022, "Progressive distillation for fast sampling of diffusion models",
// Algorithm 2. For a student step from t to t' (the next time of the student's grid) the
// teacher runs its sampler from z_t to z_t'; the student's data estimate x~ that makes one DDIM
// step land on z_t' is
//   x~ = (z_t' - (sigma' / sigma) z_t) / (alpha' - (sigma' / sigma) alpha),
// and the student learns it through its v-prediction, v~ = (alpha z_t - x~) / sigma (the
// training objective's loss on v, objective.h).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "gen/sampler.h"
#include "gen/schedule.h"
#include "gen/train_config.h"

namespace scintigen::gen {

// The student's DDIM data estimate that moves z (at time t) to z_next (at t_next < t) in one
// step. z, z_next (B, 2, H, W) -> (B, 2, H, W).
torch::Tensor ddim_x0_target(const torch::Tensor& z, const torch::Tensor& z_next, const Schedule& s, double t,
                             double t_next);

// The teacher's state at t_next from z at t: DPM-Solver++(2M) over the `substeps` steps of the
// teacher's grid between them (first order at the first, second order after it, and first
// order again at a last step that ends at t = 0, as the full sampler does below 15 steps).
torch::Tensor teacher_steps(const Denoise& teacher, const Schedule& s, const torch::Tensor& z,
                            const torch::Tensor& cond, const std::vector<double>& times);

struct DistillPairs {
  torch::Tensor z;  // (B, 2, H, W) noised data at each row's student time
  torch::Tensor t;  // (B) float: the student times
  torch::Tensor v;  // (B, 2, H, W) the v-prediction the student is trained toward
};

// One batch of pairs: row b takes student step i = min(steps - 1, floor(u_b steps)) of the
// student's grid (sampling_times(steps, spacing)); z = alpha x0 + sigma noise at its time; the
// teacher (already guided as the config says) runs from there over the teacher's grid
// (sampling_times(steps x substeps, spacing), which contains the student's) to the next student
// time. Rows sharing a step go through the teacher together. x0, noise (B, 2, H, W); cond (B, A)
// (already dropped); u (B) in [0, 1). No gradients.
DistillPairs distill_pairs(const Denoise& teacher, const Schedule& s, const DistillConfig& c, const torch::Tensor& x0,
                           const torch::Tensor& cond, const torch::Tensor& u, const torch::Tensor& noise);

}  // namespace scintigen::gen
