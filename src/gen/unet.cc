#include "gen/unet.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>

#include "core/error.h"

namespace scintigen::gen {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cpu_autocast_enabled() {
  return at::autocast::is_autocast_enabled(at::kCPU);
}
void set_cpu_autocast(bool on) {
  at::autocast::set_autocast_enabled(at::kCPU, on);
}
bool cuda_autocast_enabled() {
  return at::autocast::is_autocast_enabled(at::kCUDA);
}
void set_cuda_autocast(bool on) {
  at::autocast::set_autocast_enabled(at::kCUDA, on);
}
void set_autocast_bf16(bool cuda) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, at::kBFloat16);
}
#else
bool cpu_autocast_enabled() {
  return at::autocast::is_cpu_enabled();
}
void set_cpu_autocast(bool on) {
  at::autocast::set_cpu_enabled(on);
}
bool cuda_autocast_enabled() {
  return at::autocast::is_enabled();
}
void set_cuda_autocast(bool on) {
  at::autocast::set_enabled(on);
}
void set_autocast_bf16(bool cuda) {
  if (cuda)
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  else
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
}
#endif

// Turns CPU autocast off for its scope.
class CpuAutocastOff {
 public:
  CpuAutocastOff() : prev_(cpu_autocast_enabled()) { set_cpu_autocast(false); }
  ~CpuAutocastOff() { set_cpu_autocast(prev_); }

 private:
  bool prev_;
};

nn::Conv2d conv3x3(int in, int out, int stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

void zero_(const nn::Conv2d& c) {
  torch::NoGradGuard g;
  c->weight.zero_();
  if (c->bias.defined()) c->bias.zero_();
}

}  // namespace

torch::Tensor group_norm_fp32(nn::GroupNorm& norm, const torch::Tensor& x) {
  if (x.scalar_type() == torch::kFloat && !cpu_autocast_enabled()) return norm(x);
  CpuAutocastOff off;
  return norm(x.to(torch::kFloat)).to(x.scalar_type());
}

AutocastScope::AutocastScope(bool bf16, const torch::Device& device) {
  if (!bf16) return;
  active_ = true;
  cuda_ = device.is_cuda();
  prev_ = cuda_ ? cuda_autocast_enabled() : cpu_autocast_enabled();
  set_autocast_bf16(cuda_);
  if (cuda_)
    set_cuda_autocast(true);
  else
    set_cpu_autocast(true);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (cuda_)
    set_cuda_autocast(prev_);
  else
    set_cpu_autocast(prev_);
  at::autocast::clear_cache();
}

void to_channels_last(nn::Module& net) {
  torch::NoGradGuard g;
  for (auto& p : net.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : net.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
}

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim) {
  const int half = dim / 2;
  auto freqs = torch::exp(-std::log(10000.0) *
                          torch::arange(half, torch::TensorOptions().dtype(torch::kFloat).device(t.device())) / half);
  auto args = (t.to(torch::kFloat) * 1000.f).unsqueeze(1) * freqs.unsqueeze(0);  // (B, half)
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);                    // (B, dim)
}

ResBlockImpl::ResBlockImpl(int in_ch, int out_ch, int emb_dim, int groups, bool scale_shift)
    : scale_shift_(scale_shift) {
  norm1 = register_module("norm1", nn::GroupNorm(groups, in_ch));
  conv1 = register_module("conv1", conv3x3(in_ch, out_ch));
  emb_proj = register_module("emb_proj", nn::Linear(emb_dim, scale_shift ? 2 * out_ch : out_ch));
  norm2 = register_module("norm2", nn::GroupNorm(groups, out_ch));
  conv2 = register_module("conv2", conv3x3(out_ch, out_ch));
  zero_(conv2);  // each block starts as the identity (ADM)
  if (in_ch != out_ch) skip = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in_ch, out_ch, 1)));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  auto h = conv1(torch::silu(group_norm_fp32(norm1, x)));           // (B, Cout, H, W)
  auto e = emb_proj(torch::silu(emb)).unsqueeze(-1).unsqueeze(-1);  // (B, Cout or 2 Cout, 1, 1)
  if (scale_shift_) {
    auto ss = e.chunk(2, 1);                              // scale, shift: (B, Cout, 1, 1)
    h = group_norm_fp32(norm2, h) * (1 + ss[0]) + ss[1];  // (B, Cout, H, W)
    h = conv2(torch::silu(h));
  } else {
    h = conv2(torch::silu(group_norm_fp32(norm2, h + e)));
  }
  return (skip ? skip(x) : x) + h;  // (B, Cout, H, W)
}

AttentionImpl::AttentionImpl(int channels, int head_channels, int groups) : heads_(channels / head_channels) {
  norm = register_module("norm", nn::GroupNorm(groups, channels));
  qkv = register_module("qkv", nn::Conv2d(nn::Conv2dOptions(channels, 3 * channels, 1)));
  proj = register_module("proj", nn::Conv2d(nn::Conv2dOptions(channels, channels, 1)));
  zero_(proj);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const auto B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t T = H * W, d = C / heads_;
  // qkv channels are [q heads..., k heads..., v heads...], each head d channels.
  auto qkv_ = qkv(group_norm_fp32(norm, x)).reshape({B, 3, heads_, d, T});  // (B, 3, h, d, T)
  auto q = qkv_.select(1, 0).transpose(2, 3);                               // (B, h, T, d)
  auto k = qkv_.select(1, 1).transpose(2, 3);                               // (B, h, T, d)
  auto v = qkv_.select(1, 2).transpose(2, 3);                               // (B, h, T, d)
#if TORCH_VERSION_MAJOR >= 2
  auto o = at::scaled_dot_product_attention(q, k, v);  // (B, h, T, d)
#else
  // Ref: Vaswani et al. 2017, softmax(q k^T / sqrt(d)) v.
  auto w =
      torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d)), -1);  // (B, h, T, T)
  auto o = torch::matmul(w, v);                                                                       // (B, h, T, d)
#endif
  o = o.transpose(2, 3).reshape({B, C, H, W});  // (B, C, H, W)
  return x + proj(o);
}

UNetImpl::UNetImpl(const ModelConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  const int E = cfg.time_embed_dim, G = cfg.groups, C0 = cfg.base_channels;
  time_in = register_module("time_in", nn::Linear(C0, E));
  time_out = register_module("time_out", nn::Linear(E, E));
  cond_embed = register_module("cond_embed", nn::ModuleList());
  for (const auto& a : cfg.conditions.attributes)
    cond_embed->push_back(nn::Embedding(static_cast<int64_t>(a.values.size()) + 1, E));
  conv_in = register_module("conv_in", conv3x3(cfg.diffusion_channels(), C0));

  std::vector<int> skips = {C0};
  int ch = C0;
  down = register_module("down", nn::ModuleList());
  for (int l = 0; l < cfg.levels(); ++l) {
    auto level = Level();
    level->res = level->register_module("res", nn::ModuleList());
    level->attn = level->register_module("attn", nn::ModuleList());
    const int out = C0 * cfg.channel_mult[l];
    for (int i = 0; i < cfg.res_blocks; ++i) {
      level->res->push_back(ResBlock(ch, out, E, G, cfg.scale_shift));
      ch = out;
      if (cfg.has_attention(l)) level->attn->push_back(Attention(ch, cfg.head_channels, G));
      skips.push_back(ch);
    }
    if (l + 1 < cfg.levels()) {
      level->resample = level->register_module("resample", conv3x3(ch, ch, 2));
      skips.push_back(ch);
    }
    down->push_back(level);
  }
  mid_res1 = register_module("mid_res1", ResBlock(ch, ch, E, G, cfg.scale_shift));
  mid_attn = register_module("mid_attn", Attention(ch, cfg.head_channels, G));
  mid_res2 = register_module("mid_res2", ResBlock(ch, ch, E, G, cfg.scale_shift));

  up = register_module("up", nn::ModuleList());
  for (int l = cfg.levels() - 1; l >= 0; --l) {
    auto level = Level();
    level->res = level->register_module("res", nn::ModuleList());
    level->attn = level->register_module("attn", nn::ModuleList());
    const int out = C0 * cfg.channel_mult[l];
    for (int i = 0; i < cfg.res_blocks + 1; ++i) {
      level->res->push_back(ResBlock(ch + skips.back(), out, E, G, cfg.scale_shift));
      skips.pop_back();
      ch = out;
      if (cfg.has_attention(l)) level->attn->push_back(Attention(ch, cfg.head_channels, G));
    }
    if (l > 0) level->resample = level->register_module("resample", conv3x3(ch, ch));
    up->push_back(level);
  }
  norm_out = register_module("norm_out", nn::GroupNorm(G, ch));
  conv_out = register_module("conv_out", conv3x3(ch, cfg.diffusion_channels()));
  zero_(conv_out);
}

torch::Tensor UNetImpl::embed(const torch::Tensor& t, const torch::Tensor& cond) {
  auto emb = time_out(torch::silu(time_in(timestep_embedding(t, cfg_.base_channels))));  // (B, E)
  for (size_t a = 0; a < cond_embed->size(); ++a)
    emb = emb + cond_embed[a]->as<nn::Embedding>()->forward(cond.select(1, static_cast<int64_t>(a)));  // (B, E)
  return emb;
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cond) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == cfg_.diffusion_channels() && x.size(2) == cfg_.diffusion_height() &&
                  x.size(3) == cfg_.diffusion_width(),
              "UNet: x must be (B, ", cfg_.diffusion_channels(), ", ", cfg_.diffusion_height(), ", ",
              cfg_.diffusion_width(), "), got ", x.sizes());
  TORCH_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "UNet: t must be (B)");
  TORCH_CHECK(cond.dim() == 2 && cond.size(0) == x.size(0) && cond.size(1) == static_cast<int64_t>(cond_embed->size()),
              "UNet: cond must be (B, ", cond_embed->size(), ")");
  auto emb = embed(t, cond);  // (B, E)
  auto h = conv_in(x);        // (B, C0, H, W)
  std::vector<torch::Tensor> hs = {h};
  for (const auto& m : *down) {
    auto* level = m->as<LevelImpl>();
    for (size_t i = 0; i < level->res->size(); ++i) {
      h = level->res[i]->as<ResBlockImpl>()->forward(h, emb);  // (B, C_l, H_l, W_l)
      if (!level->attn->is_empty()) h = level->attn[i]->as<AttentionImpl>()->forward(h);
      hs.push_back(h);
    }
    if (level->resample) {
      h = level->resample(h);  // (B, C_l, H_l / 2, W_l / 2)
      hs.push_back(h);
    }
  }
  h = mid_res1(h, emb);  // (B, C_L, H_L, W_L)
  h = mid_attn(h);
  h = mid_res2(h, emb);
  for (const auto& m : *up) {
    auto* level = m->as<LevelImpl>();
    for (size_t i = 0; i < level->res->size(); ++i) {
      h = torch::cat({h, hs.back()}, 1);  // (B, C + C_skip, H_l, W_l)
      hs.pop_back();
      h = level->res[i]->as<ResBlockImpl>()->forward(h, emb);  // (B, C_l, H_l, W_l)
      if (!level->attn->is_empty()) h = level->attn[i]->as<AttentionImpl>()->forward(h);
    }
    if (level->resample) {
      h = F::interpolate(h, F::InterpolateFuncOptions()
                                .scale_factor(std::vector<double>{2.0, 2.0})
                                .mode(torch::kNearest));  // (B, C_l, 2 H_l, 2 W_l)
      h = level->resample(h);
    }
  }
  return conv_out(torch::silu(group_norm_fp32(norm_out, h)));  // (B, 2, H, W)
}

int64_t count_parameters(const torch::nn::Module& net) {
  int64_t n = 0;
  for (const auto& p : net.parameters()) n += p.numel();
  return n;
}

int64_t UNetImpl::parameter_count() const {
  return count_parameters(*this);
}

torch::Tensor condition_tensor(const std::vector<ConditionTokens>& conds, const ConditionSpec& spec) {
  const int64_t A = static_cast<int64_t>(spec.size());
  auto out = torch::zeros({static_cast<int64_t>(conds.size()), A}, torch::kLong);  // (B, A)
  auto acc = out.accessor<int64_t, 2>();
  for (size_t b = 0; b < conds.size(); ++b) {
    if (static_cast<int64_t>(conds[b].size()) != A)
      throw InternalError("condition_tensor", "condition has " + std::to_string(conds[b].size()) +
                                                  " tokens, the model has " + std::to_string(A) + " attributes");
    for (int64_t a = 0; a < A; ++a) {
      const int64_t tok = conds[b][a];
      if (tok < 0 || tok > static_cast<int64_t>(spec.attributes[a].values.size()))
        throw InternalError("condition_tensor",
                            "token " + std::to_string(tok) + " out of range for " + spec.attributes[a].name);
      acc[b][a] = tok;
    }
  }
  return out;
}

}  // namespace scintigen::gen
