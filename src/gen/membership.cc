#include "gen/membership.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "core/random_streams.h"
#include "core/resample.h"
#include "gen/model_weights.h"
#include "gen/objective.h"
#include "gen/schedule.h"
#include "gen/transform.h"
#include "run/run.h"
#include "run/torch.h"

namespace scintigen::gen {

using json = nlohmann::json;

void DenoisingLossConfig::validate() const {
  if (model.empty()) throw ConfigError("--model", "is empty", "give a model folder or 'builtin'");
  if (times.empty() || times.size() > 1000)
    throw ConfigError("--membership-times", fmt::format("has {} times", times.size()),
                      "give 1..1000 diffusion times in (0, 1), e.g. 0.05,0.1,0.2,0.3,0.4,0.6");
  for (double t : times)
    if (!(t > 0 && t < 1))
      throw ConfigError("--membership-times", fmt::format("{} is outside (0, 1)", t),
                        "diffusion times lie strictly between 0 (data) and 1 (pure noise)");
  if (draws < 1 || draws > 1000)
    throw ConfigError("--membership-draws", std::to_string(draws), "must be in 1..1000 (noise draws per time)");
  if (batch < 1 || batch > 4096) throw ConfigError("--batch", std::to_string(batch), "must be in 1..4096");
  if (threads < 0) throw ConfigError("--threads", std::to_string(threads), "must be >= 0 (0 = all cores)");
  run::parse_device_name(device, "--device");
}

json DenoisingLossConfig::to_json() const {
  return {{"model", model}, {"times", times},     {"draws", draws},  {"seed", seed},
          {"batch", batch}, {"threads", threads}, {"device", device}};
}

json DenoisingLosses::to_json() const {
  const size_t n = loss.size();
  double mean = 0;
  std::vector<double> per_t(times.size(), 0.0);
  for (size_t i = 0; i < n; ++i) {
    mean += loss[i] / static_cast<double>(n);
    for (size_t k = 0; k < per_t.size() && k < per_time[i].size(); ++k)
      per_t[k] += per_time[i][k] / static_cast<double>(n);
  }
  return {{"scans", n},
          {"times", times},
          {"model_sha256", model_sha256},
          {"mean_loss", mean},
          {"mean_loss_per_time", per_t}};
}

namespace {

std::string scan_place(const std::vector<Scan>& scans, size_t i) {
  return scans[i].id.empty() ? fmt::format("scan #{}", i) : fmt::format("scan '{}'", scans[i].id);
}

void check_scan(const std::vector<Scan>& scans, size_t i) {
  const Scan& s = scans[i];
  if (s.views != ViewSet::kBoth)
    throw InputError(scan_place(scans, i), fmt::format("has only one view ({})", to_string(s.views)),
                     "the model scores two-view scans, as it was trained on");
  if (s.height < 1 || s.width < 1 || s.pixels.size() != 2 * static_cast<size_t>(s.height) * s.width)
    throw InputError(scan_place(scans, i),
                     fmt::format("has {} pixels for a {} x {} grid of two views", s.pixels.size(), s.height, s.width),
                     "a scan holds 2 x H x W counts");
  for (float c : s.pixels)
    if (!std::isfinite(c))
      throw InputError(scan_place(scans, i), "has a non-finite count", "counts must be finite numbers >= 0");
}

// The noise of (time k, draw d): (C, H, W) standard normal from stream_rng(seed, kAuditNoise,
// k * draws + d), row-major. Drawn with the library's own generator, so it is the same on every
// platform and LibTorch version.
torch::Tensor fixed_noise(uint64_t seed, uint64_t index, int64_t C, int64_t H, int64_t W) {
  Rng rng = stream_rng(seed, RandomStream::kAuditNoise, index);
  auto eps = torch::empty({C, H, W}, torch::kFloat);  // (C, H, W)
  float* p = eps.data_ptr<float>();
  for (int64_t i = 0; i < eps.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return eps;
}

}  // namespace

DenoisingLosses denoising_losses(const DenoisingLossConfig& config, const std::vector<Scan>& scans, EventSink* events) {
  config.validate();
  if (scans.empty()) throw InputError("membership", "no scan to score", "give one or more two-view scans");
  for (size_t i = 0; i < scans.size(); ++i) check_scan(scans, i);
  at::set_num_threads(resolve_threads(config.threads));
  const torch::Device device = run::resolve_device(config.device, "--device");
  LoadedModel m = load_model(config.model);
  m.net->to(device);
  m.net->eval();
  if (m.decoder) m.decoder->to(device);
  const bool channels_last = device.is_cpu();  // the faster layout for CPU convolutions (as generate)
  if (channels_last) to_channels_last(*m.net);
  torch::NoGradGuard no_grad;
  const ModelConfig& cfg = m.config;
  const int64_t H = cfg.height, W = cfg.width;
  const Schedule schedule = Schedule::from(cfg);
  const int64_t K = static_cast<int64_t>(config.times.size()), D = config.draws;

  // The denoiser's images: the scans' grid, or a latent model's latents.
  const int64_t C = cfg.diffusion_channels(), h = cfg.diffusion_height(), w = cfg.diffusion_width();
  std::vector<torch::Tensor> noise;  // [k * D + d] (C, h, w)
  for (int64_t kd = 0; kd < K * D; ++kd)
    noise.push_back(fixed_noise(config.seed, static_cast<uint64_t>(kd), C, h, w).to(device));

  DenoisingLosses out;
  out.times = config.times;
  out.model_sha256 = m.ema_sha256;
  out.loss.assign(scans.size(), 0.0);
  out.per_time.assign(scans.size(), std::vector<double>(K, 0.0));
  Progress progress(events, "membership", scans.size());
  for (size_t i0 = 0; i0 < scans.size(); i0 += config.batch) {
    const size_t i1 = std::min(scans.size(), i0 + static_cast<size_t>(config.batch));
    const int64_t B = static_cast<int64_t>(i1 - i0);
    // As the training data (train_data.cc): counts at the model's grid, then model space.
    auto counts = torch::empty({B, 2, H, W}, torch::kFloat);  // (B, 2, H, W)
    std::vector<ConditionTokens> tokens;
    for (size_t i = i0; i < i1; ++i) {
      const std::vector<float> px = scan_to_grid(scans[i], static_cast<int>(H), static_cast<int>(W));
      std::copy(px.begin(), px.end(), counts.data_ptr<float>() + (i - i0) * 2 * H * W);
      tokens.push_back(condition_from_labels(scans[i].labels, cfg.conditions));
    }
    auto x0 = to_diffusion_space(counts_to_model(counts, cfg.transform).to(device), cfg, m.decoder);  // (B, C, h, w)
    auto cond = condition_tensor(tokens, cfg.conditions).to(device);                                  // (B, A)
    for (int64_t k = 0; k < K; ++k) {
      auto t = torch::full({B}, config.times[k], torch::TensorOptions().dtype(torch::kFloat).device(device));  // (B)
      auto [alpha, sigma] = alpha_sigma(schedule, t);  // (B), (B)
      for (int64_t d = 0; d < D; ++d) {
        auto eps = noise[k * D + d].unsqueeze(0).expand({B, C, h, w});                // (B, C, h, w)
        auto x_t = alpha.view({-1, 1, 1, 1}) * x0 + sigma.view({-1, 1, 1, 1}) * eps;  // (B, C, h, w)
        if (channels_last) x_t = x_t.contiguous(torch::MemoryFormat::ChannelsLast);
        auto v = m.net->forward(x_t, t, cond).to(torch::kFloat);  // (B, C, h, w)
        // objective.h's v-MSE, per scan: the mean over its C h w values.
        auto mse = (v - v_target(x0, eps, alpha, sigma)).square().to(torch::kDouble).mean({1, 2, 3}).cpu();  // (B)
        const double* l = mse.data_ptr<double>();
        for (int64_t b = 0; b < B; ++b) out.per_time[i0 + b][k] += l[b] / static_cast<double>(D);
      }
    }
    for (size_t i = i0; i < i1; ++i) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += out.per_time[i][k];
      out.loss[i] = sum / static_cast<double>(K);
      if (!std::isfinite(out.loss[i]))
        throw InternalError(scan_place(scans, i), "has a non-finite denoising loss",
                            "the model's weights may be corrupt: check the model folder");
    }
    progress.advance(static_cast<uint64_t>(B));
  }
  progress.finish();
  return out;
}

}  // namespace scintigen::gen
