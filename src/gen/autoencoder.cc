#include "gen/autoencoder.h"

#include <cmath>

#include "core/error.h"
#include "gen/transform.h"
#include "gen/unet.h"

namespace scintigen::gen {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

nn::Conv2d conv(int in, int out, int k = 3, int stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2));
}

}  // namespace

AeBlockImpl::AeBlockImpl(int in_ch, int out_ch, int groups) {
  norm1 = register_module("norm1", nn::GroupNorm(groups, in_ch));
  conv1 = register_module("conv1", conv(in_ch, out_ch));
  norm2 = register_module("norm2", nn::GroupNorm(groups, out_ch));
  conv2 = register_module("conv2", conv(out_ch, out_ch));
  if (in_ch != out_ch) skip = register_module("skip", conv(in_ch, out_ch, 1));
}

torch::Tensor AeBlockImpl::forward(const torch::Tensor& x) {
  auto h = conv1(torch::silu(group_norm_fp32(norm1, x)));  // (B, Cout, H, W)
  h = conv2(torch::silu(group_norm_fp32(norm2, h)));
  return (skip ? skip(x) : x) + h;
}

AutoencoderImpl::AutoencoderImpl(const AutoencoderConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  const int G = cfg.groups, C0 = cfg.base_channels, L = cfg.levels(), Z = cfg.latent_channels;
  enc_in = register_module("enc_in", conv(2, C0));
  enc_levels = register_module("enc_levels", nn::ModuleList());
  int ch = C0;
  for (int l = 0; l < L; ++l) {
    auto level = AeLevel();
    level->res = level->register_module("res", nn::ModuleList());
    const int out = C0 * cfg.channel_mult[l];
    for (int i = 0; i < cfg.res_blocks; ++i) {
      level->res->push_back(AeBlock(ch, out, G));
      ch = out;
    }
    if (l + 1 < L) level->resample = level->register_module("resample", conv(ch, ch, 3, 2));
    enc_levels->push_back(level);
  }
  enc_mid = register_module("enc_mid", AeBlock(ch, ch, G));
  enc_norm = register_module("enc_norm", nn::GroupNorm(G, ch));
  enc_out = register_module("enc_out", conv(ch, 2 * Z));

  dec_in = register_module("dec_in", conv(Z, ch));
  dec_mid = register_module("dec_mid", AeBlock(ch, ch, G));
  dec_levels = register_module("dec_levels", nn::ModuleList());
  for (int l = L - 1; l >= 0; --l) {
    auto level = AeLevel();
    level->res = level->register_module("res", nn::ModuleList());
    const int out = C0 * cfg.channel_mult[l];
    for (int i = 0; i < cfg.res_blocks; ++i) {
      level->res->push_back(AeBlock(ch, out, G));
      ch = out;
    }
    if (l > 0) level->resample = level->register_module("resample", conv(ch, ch));
    dec_levels->push_back(level);
  }
  dec_norm = register_module("dec_norm", nn::GroupNorm(G, ch));
  dec_out = register_module("dec_out", conv(ch, 2));
}

std::pair<torch::Tensor, torch::Tensor> AutoencoderImpl::encode(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 2 && x.size(2) == cfg_.height && x.size(3) == cfg_.width,
              "Autoencoder: x must be (B, 2, ", cfg_.height, ", ", cfg_.width, "), got ", x.sizes());
  auto h = enc_in(x);  // (B, C0, H, W)
  for (const auto& m : *enc_levels) {
    auto* level = m->as<AeLevelImpl>();
    for (const auto& r : *level->res) h = r->as<AeBlockImpl>()->forward(h);  // (B, C_l, H_l, W_l)
    if (level->resample) h = level->resample(h);                             // (B, C_l, H_l / 2, W_l / 2)
  }
  h = enc_mid(h);
  auto moments = enc_out(torch::silu(group_norm_fp32(enc_norm, h))).chunk(2, 1);  // 2 x (B, Z, h, w)
  return {moments[0], moments[1].clamp(-30.0, 20.0)};
}

torch::Tensor AutoencoderImpl::decode(const torch::Tensor& z) {
  TORCH_CHECK(z.dim() == 4 && z.size(1) == cfg_.latent_channels && z.size(2) == cfg_.latent_height() &&
                  z.size(3) == cfg_.latent_width(),
              "Autoencoder: z must be (B, ", cfg_.latent_channels, ", ", cfg_.latent_height(), ", ",
              cfg_.latent_width(), "), got ", z.sizes());
  auto h = dec_mid(dec_in(z));  // (B, C_L, h, w)
  for (const auto& m : *dec_levels) {
    auto* level = m->as<AeLevelImpl>();
    for (const auto& r : *level->res) h = r->as<AeBlockImpl>()->forward(h);  // (B, C_l, H_l, W_l)
    if (level->resample) {
      h = F::interpolate(h,
                         F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
      h = level->resample(h);  // (B, C_l, 2 H_l, 2 W_l)
    }
  }
  return dec_out(torch::silu(group_norm_fp32(dec_norm, h)));  // (B, 2, H, W)
}

int64_t AutoencoderImpl::parameter_count() const {
  return count_parameters(*this);
}

AutoencoderLoss autoencoder_loss(Autoencoder& ae, const torch::Tensor& x, const torch::Tensor& counts,
                                 const torch::Tensor& eps, double kl_weight) {
  auto [mean, logvar] = ae->encode(x);
  auto z = mean + torch::exp(0.5 * logvar) * eps;  // (B, Z, h, w)
  auto r = ae->decode(z).to(torch::kFloat);        // (B, 2, H, W), fp32 under autocast
  AutoencoderLoss l;
  l.nll = F::poisson_nll_loss(r, counts.to(torch::kFloat),
                              F::PoissonNLLLossFuncOptions().log_input(true).full(false).reduction(torch::kMean));
  const double pixels = static_cast<double>(x.size(1) * x.size(2) * x.size(3));
  auto m = mean.to(torch::kFloat), lv = logvar.to(torch::kFloat);
  l.kl = 0.5 * (m * m + torch::exp(lv) - 1.0 - lv).sum() / (pixels * static_cast<double>(x.size(0)));
  l.total = l.nll + kl_weight * l.kl;
  l.log_rate = r;
  return l;
}

PatchDiscriminatorImpl::PatchDiscriminatorImpl(int channels, int layers, int groups) {
  convs = register_module("convs", nn::ModuleList());
  norms = register_module("norms", nn::ModuleList());
  auto c4 = [](int in, int out, int stride, bool bias) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(stride).padding(1).bias(bias));
  };
  conv_.push_back(c4(2, channels, 2, true));
  int ch = channels;
  for (int n = 1; n <= layers; ++n) {
    const int out = channels * std::min(1 << n, 8);
    conv_.push_back(c4(ch, out, n < layers ? 2 : 1, false));
    norm_.push_back(nn::GroupNorm(groups, out));
    ch = out;
  }
  conv_.push_back(c4(ch, 1, 1, true));
  for (auto& c : conv_) convs->push_back(c);
  for (auto& g : norm_) norms->push_back(g);
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& x) {
  const auto lrelu = F::LeakyReLUFuncOptions().negative_slope(0.2);
  auto h = F::leaky_relu(conv_.front()(x), lrelu);
  for (size_t k = 1; k + 1 < conv_.size(); ++k) h = F::leaky_relu(group_norm_fp32(norm_[k - 1], conv_[k](h)), lrelu);
  return conv_.back()(h);
}

torch::Tensor straight_through_fake(const torch::Tensor& log_rate, const torch::Tensor& draw,
                                    const TransformConfig& tc) {
  auto rate = torch::exp(log_rate.to(torch::kFloat).clamp_max(std::log(1e6)));
  return counts_to_model(rate + (draw.to(torch::kFloat) - rate).detach(), tc);
}

torch::Tensor hinge_discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits) {
  return 0.5 * (torch::relu(1.0 - real_logits.to(torch::kFloat)).mean() +
                torch::relu(1.0 + fake_logits.to(torch::kFloat)).mean());
}

torch::Tensor adaptive_weight(const torch::Tensor& nll, const torch::Tensor& gen, const torch::Tensor& last_weight) {
  auto g_nll = torch::autograd::grad({nll}, {last_weight}, {}, /*retain_graph=*/true)[0];
  auto g_gen = torch::autograd::grad({gen}, {last_weight}, {}, /*retain_graph=*/true)[0];
  return (g_nll.to(torch::kFloat).norm() / (g_gen.to(torch::kFloat).norm() + 1e-4)).clamp(0.0, 1e4).detach();
}

torch::Tensor poisson_deviance(const torch::Tensor& log_rate, const torch::Tensor& counts) {
  auto m = torch::exp(log_rate.to(torch::kFloat));
  auto c = counts.to(torch::kFloat);
  auto c_log = torch::where(c > 0, c * (torch::log(c.clamp_min(1e-30)) - log_rate.to(torch::kFloat)),
                            torch::zeros_like(c));  // c log(c / m), 0 where c = 0
  return (2.0 * (c_log - (c - m))).mean();
}

namespace {

// A per-channel standardisation of LatentSpace as a (1, Z, 1, 1) tensor on `like`'s device.
torch::Tensor per_channel(const std::vector<double>& v, const torch::Tensor& like) {
  const auto opt = torch::TensorOptions().dtype(torch::kFloat).device(like.device());
  return torch::tensor(std::vector<float>(v.begin(), v.end()), opt).view({1, -1, 1, 1});
}

// Latent means (B, Z, h, w) -> the denoiser's space, and back.
torch::Tensor standardise(const torch::Tensor& z, const LatentSpace& l) {
  if (!l.per_channel()) return z / l.scale;
  return (z - per_channel(l.channel_mean, z)) / per_channel(l.channel_std, z);
}
torch::Tensor unstandardise(const torch::Tensor& x, const LatentSpace& l) {
  if (!l.per_channel()) return x * l.scale;
  return x * per_channel(l.channel_std, x) + per_channel(l.channel_mean, x);
}

}  // namespace

torch::Tensor to_diffusion_space(const torch::Tensor& x, const ModelConfig& cfg, Autoencoder ae, int64_t batch) {
  if (!cfg.latent.enabled()) return x;
  if (!ae) throw InternalError("to_diffusion_space", "a latent model needs its autoencoder");
  torch::NoGradGuard g;
  ae->eval();
  std::vector<torch::Tensor> parts;
  for (int64_t b0 = 0; b0 < x.size(0); b0 += batch)
    parts.push_back(standardise(ae->encode(x.slice(0, b0, std::min(x.size(0), b0 + batch))).first, cfg.latent));
  return parts.empty() ? x.new_empty({0, cfg.latent.channels, cfg.diffusion_height(), cfg.diffusion_width()})
                       : torch::cat(parts);  // (B, Z, H / f, W / f)
}

torch::Tensor diffusion_to_counts(const torch::Tensor& x0, const ModelConfig& cfg, Autoencoder ae, CountOutput mode) {
  if (!cfg.latent.enabled()) return model_to_counts(x0.to(torch::kFloat).cpu(), cfg.transform, mode);
  if (!ae) throw InternalError("diffusion_to_counts", "a latent model needs its autoencoder");
  torch::NoGradGuard g;
  ae->eval();
  // Clamped at 1e6 counts a pixel: a latent far from the training latents cannot overflow.
  auto r = ae->decode(unstandardise(x0.to(torch::kFloat), cfg.latent)).to(torch::kFloat).clamp_max(std::log(1e6));
  auto c = torch::exp(r).cpu();  // (B, 2, H, W)
  if (mode == CountOutput::kRound) c = torch::round(c);
  return c;
}

}  // namespace scintigen::gen
