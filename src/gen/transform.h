// Intensity transform between counts and the model's space.
//
//   TransformConfig tc = cfg.transform;
//   torch::Tensor y = counts_to_model(counts, tc);        // (B, 2, H, W), about [-1, 1]
//   torch::Tensor c = model_to_counts(y, tc);             // counts >= 0
//   torch::Tensor r = model_to_counts(y, tc, CountOutput::kRound);   // integer counts
//
// Forward: the Anscombe transform A(c) = 2 sqrt(c + 3/8) makes Poisson noise roughly unit
// variance at every count level (Ref: Anscombe 1948), so the network sees noise of the same
// size in dim soft tissue and hot bone; it is then scaled so [0, count_max] maps to [-1, 1]:
//   y = 2 (A(c) - A(0)) / (A(count_max) - A(0)) - 1.
// count_max is per preset (config.cc): counts per pixel grow with the pixel's area.
//
// Inverse: the algebraic inverse c = (A / 2)^2 - 3/8, clamped at 0. A kCounts model generates a
// *sample* of the noisy data (its Poisson noise included), and the Anscombe map is a bijection
// on samples, so inverting pointwise returns a sample on the count scale. The exact unbiased
// inverse (Ref: Makitalo & Foi 2011) is for a different problem, mapping a denoised estimate of
// E[A(c)] back to E[c] (asymptotically (A / 2)^2 - 1/8); applied to samples it would shift
// every generated count up by about 1/4. A kExpected model is trained on A(E[c]) of noiseless
// images, a pointwise map of the expectation itself, so the algebraic inverse is exact there too.
// Options here: kContinuous (float counts) and kRound (nearest integer, what a camera stores);
// kPoisson draws per scan from seeded streams (draw_poisson_counts, generate_tensors.h).
#pragma once

#include <torch/torch.h>

#include <cmath>

#include "gen/config.h"

namespace scintigen::gen {

inline double anscombe(double c) {
  return 2.0 * std::sqrt(c + 0.375);
}

// Counts -> model space (scalar).
inline double count_to_model(double c, const TransformConfig& tc) {
  const double a0 = anscombe(0.0), a1 = anscombe(tc.count_max);
  return 2.0 * (anscombe(c) - a0) / (a1 - a0) - 1.0;
}

// Model space -> counts (scalar; algebraic inverse, clamped at 0).
inline double model_to_count(double y, const TransformConfig& tc) {
  const double a0 = anscombe(0.0), a1 = anscombe(tc.count_max);
  const double a = std::max(0.0, (y + 1.0) * 0.5 * (a1 - a0) + a0);
  return std::max(0.0, 0.25 * a * a - 0.375);
}

// counts (any shape, >= 0) -> same shape in model space.
inline torch::Tensor counts_to_model(const torch::Tensor& counts, const TransformConfig& tc) {
  const double a0 = anscombe(0.0), a1 = anscombe(tc.count_max);
  return (2.0 * torch::sqrt(counts.clamp_min(0) + 0.375) - a0) * (2.0 / (a1 - a0)) - 1.0;
}

// model space (any shape) -> counts >= 0; kRound rounds them, any other mode leaves them
// continuous (kPoisson's draws are made per scan by the caller).
inline torch::Tensor model_to_counts(const torch::Tensor& y, const TransformConfig& tc,
                                     CountOutput mode = CountOutput::kContinuous) {
  const double a0 = anscombe(0.0), a1 = anscombe(tc.count_max);
  auto a = ((y + 1.0) * (0.5 * (a1 - a0)) + a0).clamp_min(0);  // Anscombe value
  auto c = (0.25 * a * a - 0.375).clamp_min(0);
  if (mode == CountOutput::kRound) c = torch::round(c);
  return c;
}

}  // namespace scintigen::gen
