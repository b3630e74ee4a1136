#include "gen/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"
#include "gen/objective.h"

namespace scintigen::gen {

Denoise model_denoiser(UNet net, const Schedule& s) {
  return [net, s](const torch::Tensor& x, double t, const torch::Tensor& cond) mutable {
    torch::NoGradGuard no_grad;
    const int64_t B = x.size(0);
    auto opts = x.options();
    auto tt = torch::full({B}, t, opts);  // (B)
    auto alpha = torch::full({B}, s.alpha(t), opts), sigma = torch::full({B}, s.sigma(t), opts);
    return x0_from_v(x, net->forward(x, tt, cond), alpha, sigma);  // (B, 2, H, W)
  };
}

Denoise with_guidance(Denoise d, double scale, double t_lo, double t_hi, std::vector<int64_t> columns) {
  if (scale == 1.0) return d;
  return [d, scale, t_lo, t_hi, columns](const torch::Tensor& x, double t, const torch::Tensor& cond) {
    if (t < t_lo || t > t_hi) return d(x, t, cond);  // outside the interval: conditional only
    const int64_t B = x.size(0);
    torch::Tensor dropped = torch::zeros_like(cond);  // (B, A): every token dropped ...
    if (!columns.empty())                             // ... or only the guided conditions'
      dropped = cond.index_fill(1, torch::tensor(columns, torch::kLong).to(cond.device()), 0);
    auto x2 = torch::cat({x, x}, 0);                          // (2B, 2, H, W)
    auto c2 = torch::cat({cond, dropped}, 0);                 // (2B, A)
    auto out = d(x2, t, c2);                                  // (2B, 2, H, W)
    auto xc = out.narrow(0, 0, B), xu = out.narrow(0, B, B);  // (B, 2, H, W) each
    return xu + scale * (xc - xu);
  };
}

Denoise with_autoguidance(Denoise good, Denoise bad, double scale, double t_lo, double t_hi) {
  if (scale == 1.0) return good;
  return [good, bad, scale, t_lo, t_hi](const torch::Tensor& x, double t, const torch::Tensor& cond) {
    auto xg = good(x, t, cond);  // (B, 2, H, W)
    if (t < t_lo || t > t_hi) return xg;
    auto xb = bad(x, t, cond);  // (B, 2, H, W)
    return xb + scale * (xg - xb);
  };
}

std::vector<double> sampling_times(int steps, TimeSpacing spacing, const Schedule& s) {
  std::vector<double> ts(steps + 1);
  const double a = s.t_min_angle(), b = s.t_max_angle();
  const double l_hi = s.logsnr(0.0), l_lo = s.logsnr(1.0);
  for (int i = 0; i <= steps; ++i) {
    const double u = 1.0 - static_cast<double>(i) / steps;  // 1 -> 0
    if (spacing == TimeSpacing::kTimeUniform) {
      ts[i] = u;
    } else if (spacing == TimeSpacing::kTimeQuadratic) {
      ts[i] = u * u;
    } else {
      // invert logSNR(t) = -2 log tan(a + t (b - a)) + 2 log shift at uniform logSNR
      const double l = l_lo + (1.0 - u) * (l_hi - l_lo) - 2.0 * std::log(s.shift);
      ts[i] = (std::atan(std::exp(-0.5 * l)) - a) / (b - a);
    }
  }
  ts.front() = 1.0;
  ts.back() = 0.0;
  return ts;
}

torch::Tensor sample_ddim(const Denoise& d, const Schedule& s, torch::Tensor x, const torch::Tensor& cond,
                          const std::vector<double>& ts) {
  const int steps = static_cast<int>(ts.size()) - 1;
  for (int i = 0; i < steps; ++i) {
    const double a = s.alpha(ts[i]), g = s.sigma(ts[i]);
    const double a_next = s.alpha(ts[i + 1]), g_next = s.sigma(ts[i + 1]);
    auto x0 = d(x, ts[i], cond);  // (B, 2, H, W)
    auto eps = (x - a * x0) / g;  // (B, 2, H, W)
    x = a_next * x0 + g_next * eps;
  }
  return x;
}

namespace {

// DPM-Solver++(2M) (eta = 0) and its SDE variant (eta = 1) in one loop:
// x_i = (sigma_i / sigma_{i-1}) exp(-eta h_i) x_{i-1} - alpha_i expm1(-(1 + eta) h_i) D_i
//       + sigma_i sqrt(-expm1(-2 eta h_i)) z_i  (no noise at the last step).
torch::Tensor dpmpp_2m(const Denoise& d, const Schedule& s, torch::Tensor x, const torch::Tensor& cond,
                       const std::vector<double>& ts, double eta, const NoiseSource* noise,
                       bool lower_order_final = true) {
  const int steps = static_cast<int>(ts.size()) - 1;
  torch::Tensor x0_prev;
  double h_prev = 0;
  for (int i = 0; i < steps; ++i) {
    const double l = 0.5 * s.logsnr(ts[i]), l_next = 0.5 * s.logsnr(ts[i + 1]);  // lambda = log(alpha / sigma)
    const double g = s.sigma(ts[i]), a_next = s.alpha(ts[i + 1]), g_next = s.sigma(ts[i + 1]);
    const double h = l_next - l;
    auto x0 = d(x, ts[i], cond);  // (B, 2, H, W)
    const bool last = i == steps - 1;
    const bool first_order = i == 0 || (lower_order_final && steps < 15 && last);
    torch::Tensor D = x0;
    if (!first_order) {
      const double r = h_prev / h;
      D = (1.0 + 0.5 / r) * x0 - (0.5 / r) * x0_prev;
    }
    x = ((g_next / g) * std::exp(-eta * h)) * x - a_next * std::expm1(-(1.0 + eta) * h) * D;
    if (eta > 0 && !last) x = x + g_next * std::sqrt(-std::expm1(-2.0 * eta * h)) * (*noise)(x);
    x0_prev = x0;
    h_prev = h;
  }
  return x;
}

}  // namespace

torch::Tensor sample_dpmpp_2m(const Denoise& d, const Schedule& s, torch::Tensor x, const torch::Tensor& cond,
                              const std::vector<double>& ts, bool lower_order_final) {
  return dpmpp_2m(d, s, std::move(x), cond, ts, 0.0, nullptr, lower_order_final);
}

torch::Tensor sample_dpmpp_2m_sde(const Denoise& d, const Schedule& s, torch::Tensor x, const torch::Tensor& cond,
                                  const std::vector<double>& ts, const NoiseSource& noise) {
  if (!noise) throw InternalError("sample_dpmpp_2m_sde", "needs a noise source");
  return dpmpp_2m(d, s, std::move(x), cond, ts, 1.0, &noise);
}

torch::Tensor run_sampler(SamplerKind kind, const Denoise& d, const Schedule& s, torch::Tensor x_T,
                          const torch::Tensor& cond, const std::vector<double>& times, const NoiseSource& noise) {
  switch (kind) {
    case SamplerKind::kDdim:
      return sample_ddim(d, s, std::move(x_T), cond, times);
    case SamplerKind::kDpmpp2mSde:
      return sample_dpmpp_2m_sde(d, s, std::move(x_T), cond, times, noise);
    case SamplerKind::kDpmpp2m:
      break;
  }
  return sample_dpmpp_2m(d, s, std::move(x_T), cond, times);
}

torch::Tensor sample(const Denoise& d, const Schedule& s, const SamplerConfig& cfg, const torch::Tensor& cond,
                     at::IntArrayRef shape) {
  cfg.validate();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(cfg.seed);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat);
  auto x = torch::randn(shape, gen, opts).to(cond.device());
  NoiseSource noise = [gen, opts](const torch::Tensor& like) {
    return torch::randn(like.sizes(), gen, opts).to(like.options());
  };
  return run_sampler(cfg.kind, d, s, x, cond, sampling_times(cfg.steps, cfg.spacing, s), noise);
}

}  // namespace scintigen::gen
