#include "gen/distill.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "gen/objective.h"

namespace scintigen::gen {

void DistillConfig::validate() const {
  if (!enabled()) return;
  if (steps < 1 || steps > 100)
    throw ConfigError("--distill-steps", std::to_string(steps), "must be in 1..100 (the student's sampler steps)");
  if (substeps < 2 || substeps > 16)
    throw ConfigError("--distill-substeps", std::to_string(substeps),
                      "must be in 2..16 (teacher steps per student step)");
  if (!std::isfinite(guidance) || guidance < 0 || guidance > 30)
    throw ConfigError("--distill-guidance", std::to_string(guidance), "must be in 0..30 (1 = conditional only)");
  if (!(guidance_t_lo >= 0.0 && guidance_t_lo < guidance_t_hi && guidance_t_hi <= 1.0))
    throw ConfigError("--distill-guidance-interval", fmt::format("[{}, {}]", guidance_t_lo, guidance_t_hi),
                      "use LO,HI with 0 <= LO < HI <= 1");
}

nlohmann::json DistillConfig::to_json() const {
  return {{"teacher", teacher},   {"steps", steps},
          {"substeps", substeps}, {"spacing", to_string(spacing)},
          {"guidance", guidance}, {"guidance_interval", {guidance_t_lo, guidance_t_hi}}};
}

SamplerConfig DistillConfig::student_sampler() const {
  SamplerConfig c;
  c.kind = SamplerKind::kDdim;
  c.spacing = spacing;
  c.steps = steps;
  c.guidance = 1.0;
  c.guidance_t_lo = 0.0;
  c.guidance_t_hi = 1.0;
  return c;
}

torch::Tensor ddim_x0_target(const torch::Tensor& z, const torch::Tensor& z_next, const Schedule& s, double t,
                             double t_next) {
  const double a = s.alpha(t), g = s.sigma(t), a_n = s.alpha(t_next), g_n = s.sigma(t_next);
  const double r = g_n / g;                 // < 1: the next time is less noisy
  return (z_next - r * z) / (a_n - r * a);  // a_n - r a > 0 as the SNR grows
}

torch::Tensor teacher_steps(const Denoise& teacher, const Schedule& s, const torch::Tensor& z,
                            const torch::Tensor& cond, const std::vector<double>& times) {
  return sample_dpmpp_2m(teacher, s, z, cond, times, /*lower_order_final=*/times.back() == 0.0);
}

DistillPairs distill_pairs(const Denoise& teacher, const Schedule& s, const DistillConfig& c, const torch::Tensor& x0,
                           const torch::Tensor& cond, const torch::Tensor& u, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t B = x0.size(0);
  const std::vector<double> coarse = sampling_times(c.steps, c.spacing, s);
  const std::vector<double> fine = sampling_times(c.steps * c.substeps, c.spacing, s);
  auto uc = u.to(torch::kCPU).to(torch::kDouble).contiguous();
  const auto ua = uc.accessor<double, 1>();
  std::vector<int64_t> step_of(B);
  for (int64_t b = 0; b < B; ++b)
    step_of[b] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ua[b] * c.steps)), 0, c.steps - 1);
  auto opts = x0.options().dtype(torch::kFloat);
  DistillPairs p;
  p.z = torch::empty_like(x0, opts);
  p.v = torch::empty_like(x0, opts);
  std::vector<float> t_rows(B);
  for (int64_t i = 0; i < c.steps; ++i) {
    std::vector<int64_t> rows;
    for (int64_t b = 0; b < B; ++b)
      if (step_of[b] == i) rows.push_back(b);
    if (rows.empty()) continue;
    // The student grid's points are the teacher grid's points i x substeps (both uniform in the
    // same variable): check rather than trust the rounding.
    const double t = coarse[i], t_next = coarse[i + 1];
    if (fine[i * c.substeps] != t || fine[(i + 1) * c.substeps] != t_next)
      throw InternalError("distill_pairs", fmt::format("the teacher's grid misses the student's time {}", t));
    std::vector<double> sub(fine.begin() + i * c.substeps, fine.begin() + (i + 1) * c.substeps + 1);
    auto idx = torch::tensor(rows, torch::kLong).to(x0.device());
    auto x0_i = x0.index_select(0, idx).to(torch::kFloat), n_i = noise.index_select(0, idx).to(torch::kFloat);
    const double a = s.alpha(t), g = s.sigma(t);
    auto z = a * x0_i + g * n_i;                                                 // (b, 2, H, W)
    auto z_next = teacher_steps(teacher, s, z, cond.index_select(0, idx), sub);  // (b, 2, H, W)
    auto x_tilde = ddim_x0_target(z, z_next.to(torch::kFloat), s, t, t_next);
    p.z.index_copy_(0, idx, z);
    p.v.index_copy_(0, idx, (a * z - x_tilde) / g);
    for (int64_t b : rows) t_rows[b] = static_cast<float>(t);
  }
  p.t = torch::tensor(t_rows, torch::kFloat).to(x0.device());
  return p;
}

}  // namespace scintigen::gen
