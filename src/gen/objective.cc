#include "gen/objective.h"

#include <cmath>

namespace scintigen::gen {

std::pair<torch::Tensor, torch::Tensor> alpha_sigma(const Schedule& s, const torch::Tensor& t) {
  auto td = t.to(torch::kDouble);  // (B)
  const double a = s.t_min_angle(), b = s.t_max_angle();
  auto logsnr = -2.0 * torch::log(torch::tan(a + td * (b - a))) + 2.0 * std::log(s.shift);  // (B)
  auto alpha = torch::sqrt(torch::sigmoid(logsnr)).to(t.scalar_type());                     // (B)
  auto sigma = torch::sqrt(torch::sigmoid(-logsnr)).to(t.scalar_type());                    // (B)
  return {alpha, sigma};
}

torch::Tensor v_target(const torch::Tensor& x0, const torch::Tensor& eps, const torch::Tensor& alpha,
                       const torch::Tensor& sigma) {
  auto a = alpha.view({-1, 1, 1, 1}), g = sigma.view({-1, 1, 1, 1});
  return a * eps - g * x0;  // (B, 2, H, W)
}

torch::Tensor x0_from_v(const torch::Tensor& x_t, const torch::Tensor& v, const torch::Tensor& alpha,
                        const torch::Tensor& sigma) {
  auto a = alpha.view({-1, 1, 1, 1}), g = sigma.view({-1, 1, 1, 1});
  return a * x_t - g * v;  // (B, 2, H, W)
}

torch::Tensor drop_conditions(const torch::Tensor& cond, double p, c10::optional<at::Generator> gen) {
  if (p <= 0) return cond;
  auto keep = torch::rand(cond.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat)) >= p;  // (B, A)
  return cond * keep.to(cond.device()).to(cond.scalar_type());                                   // (B, A)
}

torch::Tensor v_loss(UNet& net, const Schedule& s, const torch::Tensor& x0, const torch::Tensor& cond,
                     const torch::Tensor& t, const torch::Tensor& noise) {
  auto [alpha, sigma] = alpha_sigma(s, t);                                        // (B), (B)
  auto x_t = alpha.view({-1, 1, 1, 1}) * x0 + sigma.view({-1, 1, 1, 1}) * noise;  // (B, 2, H, W)
  auto v = net->forward(x_t, t, cond).to(torch::kFloat);                          // (B, 2, H, W)
  return torch::mse_loss(v, v_target(x0, noise, alpha, sigma));                   // scalar
}

torch::Tensor v_loss_toward(UNet& net, const torch::Tensor& x_t, const torch::Tensor& cond, const torch::Tensor& t,
                            const torch::Tensor& v) {
  return torch::mse_loss(net->forward(x_t, t, cond).to(torch::kFloat), v);  // scalar
}

}  // namespace scintigen::gen
