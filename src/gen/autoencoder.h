// The count-image autoencoder of a latent diffusion model (docs/MODEL.md, "Latent diffusion";
// Ref: Rombach et al. 2022, "High-resolution image synthesis with latent diffusion models", the
// KL-regularised first stage; Pinaya et al. 2023, MONAI Generative, for medical images).
//
//   AutoencoderConfig cfg;                                  // 2 x 256 x 64 -> 4 x 64 x 16
//   Autoencoder ae(cfg);
//   auto [mean, logvar] = ae->encode(x);                    // x (B, 2, H, W) in model space
//   torch::Tensor log_rate = ae->decode(mean);              // (B, 2, H, W): log expected counts
//   AutoencoderLoss l = autoencoder_loss(ae, x, counts, eps, 1e-6);   // l.total.backward()
//
// Layout: encoder conv_in -> levels (res blocks, stride-2 conv between levels) -> middle res
// block -> GroupNorm, SiLU, conv to 2 x latent channels (mean, log variance); decoder conv_in ->
// middle res block -> levels in reverse (res blocks, nearest x2 + conv between levels) ->
// GroupNorm, SiLU, conv to the 2 views' log expected counts. No attention: the latent grid is a
// few pixels per lesion, and the diffusion model's attention sees the whole body.
// Parameter names (state dict) are those of tests/ref/gen_autoencoder_reference.py.
#pragma once

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "gen/autoencoder_config.h"
#include "gen/autoencoder_train.h"
#include "gen/config.h"

namespace scintigen::gen {

// GroupNorm, SiLU, 3x3 conv, GroupNorm, SiLU, 3x3 conv, plus the input (1x1 conv when the
// channels change).
class AeBlockImpl : public torch::nn::Module {
 public:
  AeBlockImpl(int in_ch, int out_ch, int groups);
  torch::Tensor forward(const torch::Tensor& x);  // (B, Cin, H, W) -> (B, Cout, H, W)

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, skip{nullptr};
};
TORCH_MODULE(AeBlock);

// One level: residual blocks, then an optional resample (stride-2 conv down; nearest x2 + conv up).
class AeLevelImpl : public torch::nn::Module {
 public:
  torch::nn::ModuleList res{nullptr};
  torch::nn::Conv2d resample{nullptr};
};
TORCH_MODULE(AeLevel);

class AutoencoderImpl : public torch::nn::Module {
 public:
  explicit AutoencoderImpl(const AutoencoderConfig& cfg);
  // x (B, 2, H, W) in model space -> mean, log variance (B, latent_channels, H / f, W / f); the
  // log variance is clamped to [-30, 20].
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  // z (B, latent_channels, H / f, W / f) -> log expected counts (B, 2, H, W).
  torch::Tensor decode(const torch::Tensor& z);

  const AutoencoderConfig& config() const { return cfg_; }
  int64_t parameter_count() const;

  torch::nn::Conv2d enc_in{nullptr}, enc_out{nullptr}, dec_in{nullptr}, dec_out{nullptr};
  torch::nn::ModuleList enc_levels{nullptr}, dec_levels{nullptr};
  AeBlock enc_mid{nullptr}, dec_mid{nullptr};
  torch::nn::GroupNorm enc_norm{nullptr}, dec_norm{nullptr};

 private:
  AutoencoderConfig cfg_;
};
TORCH_MODULE(Autoencoder);

struct AutoencoderLoss {
  torch::Tensor total;     // nll + kl_weight * kl
  torch::Tensor nll;       // mean over pixels of exp(r) - c r (Poisson, without the log c! term)
  torch::Tensor kl;        // KL(q(z|x) || N(0, I)) summed over a scan's latent, per image pixel
  torch::Tensor log_rate;  // the decoded log expected counts of the sampled latent (B, 2, H, W), fp32
};

// x (B, 2, H, W) in model space, counts (B, 2, H, W) the observed counts x stands for, eps
// (B, latent_channels, h, w) standard normal: z = mean + exp(logvar / 2) eps, r = decode(z).
// The Poisson term is torch's poisson_nll_loss(r, counts, log_input = true, full = false); the
// KL term 0.5 sum(mean^2 + exp(logvar) - 1 - logvar) / (2 H W) per scan, averaged over the batch.
AutoencoderLoss autoencoder_loss(Autoencoder& ae, const torch::Tensor& x, const torch::Tensor& counts,
                                 const torch::Tensor& eps, double kl_weight);

// The patch discriminator of the adversarial term (autoencoder_train.h, AdversarialConfig;
// Isola et al. 2017's PatchGAN, GroupNorm for BatchNorm): conv 4x4 stride 2 (2 -> C), LeakyReLU
// 0.2; layers - 1 times conv 4x4 stride 2 (no bias), GroupNorm, LeakyReLU; conv 4x4 stride 1 (no
// bias), GroupNorm, LeakyReLU; conv 4x4 stride 1 to one logit per patch. Channels C, 2C, 4C, ...
// at most 8C. Parameter names: convs.K.weight/bias, norms.K.weight/bias (norms.K follows convs.K+1).
class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  PatchDiscriminatorImpl(int channels, int layers, int groups);
  torch::Tensor forward(const torch::Tensor& x);  // (B, 2, H, W) model space -> (B, 1, h, w) logits

  torch::nn::ModuleList convs{nullptr}, norms{nullptr};

 private:
  std::vector<torch::nn::Conv2d> conv_;  // the same modules as convs and norms, typed
  std::vector<torch::nn::GroupNorm> norm_;
};
TORCH_MODULE(PatchDiscriminator);

// The fake scans the discriminator sees, in model space: counts_to_model of `draw` (Poisson
// counts drawn around exp(log_rate)), with the gradient of exp(log_rate) passed straight through
// (value: the draw; d value / d rate: 1). log_rate is clamped at log 1e6 as generation does.
torch::Tensor straight_through_fake(const torch::Tensor& log_rate, const torch::Tensor& draw,
                                    const TransformConfig& tc);
// The hinge loss of the discriminator's logits on real and fake scans:
// 0.5 (mean relu(1 - real) + mean relu(1 + fake)).
torch::Tensor hinge_discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits);
// Esser et al. 2021's adaptive weight: |d nll / d w| / (|d gen / d w| + 1e-4), clamped to [0, 1e4]
// and detached, with w the decoder's last convolution weight; both losses keep their graphs.
torch::Tensor adaptive_weight(const torch::Tensor& nll, const torch::Tensor& gen, const torch::Tensor& last_weight);

// Mean Poisson deviance per pixel, 2 (c log(c / m) - (c - m)) with 0 log 0 = 0, of counts under
// the expected counts m = exp(log_rate): what validation reports (0 only for m = c).
torch::Tensor poisson_deviance(const torch::Tensor& log_rate, const torch::Tensor& counts);

// The denoiser's space of a model (config.h, LatentSpace): the scans' model space for a pixel
// model (`ae` may be null), the autoencoder's latent means standardised as LatentSpace says for
// a latent diffusion model. x (B, 2, H, W) in model space, on `ae`'s device; in batches of `batch`, fp32.
torch::Tensor to_diffusion_space(const torch::Tensor& x, const ModelConfig& cfg, Autoencoder ae, int64_t batch = 64);
// The counts (B, 2, H, W), on the CPU, of the denoiser's images x0: model_to_counts for a pixel
// model; for a latent model the decoded expected counts of x0 unstandardised (`ae` on x0's
// device; at most 1e6 a pixel), rounded with kRound; kPoisson's draws are the caller's (draw_poisson_counts).
torch::Tensor diffusion_to_counts(const torch::Tensor& x0, const ModelConfig& cfg, Autoencoder ae, CountOutput mode);

// An autoencoder folder (autoencoder_train.h) with its EMA weights, eval mode, on the CPU.
struct LoadedAutoencoder : AutoencoderFolder {
  Autoencoder net{nullptr};
};
// Throws InputError naming the file and the problem (missing, altered, another architecture).
LoadedAutoencoder load_autoencoder(const std::string& dir);

// The per-channel statistics of the training scans' latent means that autoencoder.json records
// (latent.channel_mean, latent.channel_std), one value per latent channel. Throws InputError
// naming the file when they are missing or of the wrong length; `hint` says what to do instead.
struct LatentChannelStatistics {
  std::vector<double> mean, std;
};
LatentChannelStatistics recorded_latent_statistics(const LoadedAutoencoder& ae, const std::string& hint);

}  // namespace scintigen::gen
