// The conditional U-Net: predicts v for two-view scans (anterior + mirrored posterior as 2
// channels) at the scans' 1:4 aspect ratio, or, in a latent diffusion model, for the
// autoencoder's latents (cfg.diffusion_channels() x diffusion_height() x diffusion_width()).
//
//   ModelConfig cfg = model_preset("tiny");
//   UNet net(cfg);
//   torch::Tensor v = net->forward(x, t, cond);  // x (B, 2, H, W), t (B) in [0, 1],
//                                                // cond (B, A) int64 tokens -> v (B, 2, H, W)
//
// Layout (ADM-style, Ref: Ho et al. 2020; Dhariwal & Nichol 2021, "Diffusion Models Beat GANs"):
//   conv_in -> down levels (res blocks [+ attention], downsample) -> middle (res, attention,
//   res) -> up levels (res blocks over concatenated skips [+ attention], upsample) ->
//   GroupNorm, SiLU, conv_out.
// Embedding: sinusoidal(1000 t) -> Linear -> SiLU -> Linear, plus the sum of one learned
// embedding per condition attribute (token 0 = unknown / dropped); every residual block adds
// a linear projection of SiLU(embedding) (or a FiLM scale and shift when scale_shift).
// Parameter names (state dict) are those of tests/ref/gen_unet_reference.py.
#pragma once

#include <torch/torch.h>

#include "gen/config.h"

namespace scintigen::gen {

// GroupNorm evaluated in float32 even under bf16 autocast (LibTorch 1.13's GroupNorm fails in
// bf16 there); the result is cast back to the input's dtype.
torch::Tensor group_norm_fp32(torch::nn::GroupNorm& norm, const torch::Tensor& x);

// The number of scalar parameters of a network (the U-Net, the autoencoder, a discriminator).
int64_t count_parameters(const torch::nn::Module& net);

// bf16 autocast on `device` (CPU or CUDA) for its scope when `bf16`; a no-op otherwise.
// Convolutions and matmuls run in bf16, GroupNorm in fp32 (group_norm_fp32), the loss in fp32.
class AutocastScope {
 public:
  AutocastScope(bool bf16, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false, cuda_ = false, prev_ = false;
};

// Moves every 4-D parameter and buffer of `net` to channels-last memory layout, the faster one
// for CPU convolutions (`generate --no-channels-last` compares); values are unchanged.
void to_channels_last(torch::nn::Module& net);

// Ref: Vaswani et al. 2017, sinusoidal position encoding, as used for time in DDPM.
// t (B) -> (B, dim): [cos(1000 t f_i), sin(1000 t f_i)], f_i = 10000^(-i / (dim / 2)).
torch::Tensor timestep_embedding(const torch::Tensor& t, int dim);

class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int in_ch, int out_ch, int emb_dim, int groups, bool scale_shift);
  // x (B, Cin, H, W), emb (B, E) -> (B, Cout, H, W)
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, skip{nullptr};
  torch::nn::Linear emb_proj{nullptr};
  bool scale_shift_;
};
TORCH_MODULE(ResBlock);

// Multi-head self-attention over the H * W positions, residual.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int channels, int head_channels, int groups);
  // x (B, C, H, W) -> (B, C, H, W)
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d qkv{nullptr}, proj{nullptr};
  int heads_;
};
TORCH_MODULE(Attention);

// One resolution level: residual blocks, optional attention after each, optional resample
// (stride-2 conv down, or nearest x2 + conv up).
class LevelImpl : public torch::nn::Module {
 public:
  torch::nn::ModuleList res{nullptr}, attn{nullptr};
  torch::nn::Conv2d resample{nullptr};  // null at the last down level / first up level
};
TORCH_MODULE(Level);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const ModelConfig& cfg);
  // x (B, 2, H, W) float, t (B) float in [0, 1], cond (B, A) int64 -> v (B, 2, H, W)
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cond);
  // t (B), cond (B, A) -> (B, E): time MLP + sum of condition embeddings.
  torch::Tensor embed(const torch::Tensor& t, const torch::Tensor& cond);

  const ModelConfig& config() const { return cfg_; }
  int64_t parameter_count() const;

  torch::nn::Linear time_in{nullptr}, time_out{nullptr};
  torch::nn::ModuleList cond_embed{nullptr};
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down{nullptr}, up{nullptr};
  ResBlock mid_res1{nullptr}, mid_res2{nullptr};
  Attention mid_attn{nullptr};
  torch::nn::GroupNorm norm_out{nullptr};

 private:
  ModelConfig cfg_;
};
TORCH_MODULE(UNet);

// (B, A) int64 tokens from parsed conditions, validated against the vocabulary.
torch::Tensor condition_tensor(const std::vector<ConditionTokens>& conds, const ConditionSpec& spec);

}  // namespace scintigen::gen
