// The tensor side of generation (generate.h), inside src/gen and its tests: counts from a
// network for given tokens and seeds, and a labelled Scan of one generated image.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/scan.h"
#include "gen/autoencoder.h"
#include "gen/config.h"
#include "gen/sampler_config.h"
#include "gen/unet.h"

namespace scintigen::gen {

// Counts (B, 2, H, W) on the CPU for the given per-scan tokens and seeds (x_T of scan i from a
// generator seeded with seeds[i]); `mode` kAuto is resolved for cfg's target, and kPoisson's
// draws come from draw_poisson_counts with the same seeds. With a `guide` network (a weaker
// model of the same data, load_guide_model), the sampler's guidance is autoguidance
// (with_autoguidance) instead of classifier-free guidance; without one, guidance pushes the
// conditions of sampler.guidance_on (guided_columns). A latent model (cfg.latent) samples
// latents and decodes them with `decoder` (its autoencoder, on `device`; diffusion_to_counts).
torch::Tensor generate_counts(UNet& net, const ModelConfig& cfg, const SamplerConfig& sampler,
                              const std::vector<ConditionTokens>& tokens, const std::vector<uint64_t>& seeds,
                              const torch::Device& device, bool bf16, bool channels_last, CountOutput mode,
                              UNet* guide = nullptr, Autoencoder decoder = nullptr);

// The attribute indices of sampler.guidance_on in `spec` (empty when it is empty: every
// condition guided). Throws ConfigError naming --guidance-on for a name that is not one of the
// model's conditions, or for any name beside autoguidance (`autoguided`), which drops no token.
std::vector<int64_t> guided_columns(const SamplerConfig& sampler, const ConditionSpec& spec, bool autoguided);

// counts[i] <- exact Poisson draws around counts[i] (float, CPU, (B, 2, H, W)), scan i from the
// stream (seeds[i], kGenCounts): a function of that seed alone, whatever the batch.
void draw_poisson_counts(torch::Tensor& counts, const std::vector<uint64_t>& seeds);

// A Scan of one generated (2, H, W) counts tensor, labelled from its tokens.
Scan scan_from_counts(const torch::Tensor& counts, const ConditionTokens& tokens, const ConditionSpec& spec);

}  // namespace scintigen::gen
