// The noise schedule: continuous time t in [0, 1] (0 = data, 1 = noise), x_t = alpha_t x0 +
// sigma_t eps with alpha_t^2 + sigma_t^2 = 1 (variance preserving). No LibTorch here.
//
//   Schedule s = Schedule::from(cfg);     // cfg: ModelConfig
//   double a = s.alpha(0.3), g = s.sigma(0.3), l = s.logsnr(0.3);
//
// Ref: Nichol & Dhariwal 2021 (cosine schedule); Kingma et al. 2021 (VDM, logSNR view);
// Hoogeboom et al. 2023 ("simple diffusion": cosine logSNR truncated to [lmin, lmax] and
// shifted by 2 log(shift) for larger images). With shift 1 and no truncation this is exactly
// alpha = cos(pi t / 2), sigma = sin(pi t / 2).
#pragma once

#include <cmath>

#include "gen/config.h"

namespace scintigen::gen {

struct Schedule {
  double logsnr_min = -15.0;
  double logsnr_max = 15.0;
  double shift = 1.0;

  static Schedule from(const ModelConfig& c) { return {c.logsnr_min, c.logsnr_max, c.schedule_shift}; }

  // Ref: Hoogeboom et al. 2023, eq. (logsnr_schedule_cosine) + shift.
  // logSNR(t) = -2 log tan(a + t (b - a)) + 2 log shift,
  // a = atan(exp(-lmax / 2)), b = atan(exp(-lmin / 2)); decreasing in t.
  double t_min_angle() const { return std::atan(std::exp(-0.5 * logsnr_max)); }
  double t_max_angle() const { return std::atan(std::exp(-0.5 * logsnr_min)); }
  double logsnr(double t) const {
    const double a = t_min_angle(), b = t_max_angle();
    return -2.0 * std::log(std::tan(a + t * (b - a))) + 2.0 * std::log(shift);
  }
  // alpha^2 = sigmoid(logSNR), sigma^2 = sigmoid(-logSNR).
  double alpha(double t) const { return std::sqrt(1.0 / (1.0 + std::exp(-logsnr(t)))); }
  double sigma(double t) const { return std::sqrt(1.0 / (1.0 + std::exp(logsnr(t)))); }
};

}  // namespace scintigen::gen
