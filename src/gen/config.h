// Configuration of the conditional generative model: architecture, image size, conditioning
// vocabulary and intensity transform. No LibTorch here.
//
//   ModelConfig cfg = model_preset("tiny");              // 2 x 32 x 128, trains in seconds
//   cfg.validate();                                       // throws ConfigError naming the field
//   nlohmann::json j = cfg.to_json();                     // saved next to every model
//   ModelConfig back = ModelConfig::from_json(j, "model/config.json");
//   ConditionTokens c = parse_condition("metastasis=1,cardiac_grade=3,tracer=DPD", cfg.conditions);
//
// Conditions: every attribute has its own vocabulary plus token 0, "unknown / dropped". A
// condition is one token per attribute; attributes the user does not name stay 0, so
// classifier-free guidance works with any subset (the unconditional branch is all zeros).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/labels.h"

namespace scintigen::gen {

// One conditioning attribute: its name and allowed values (token v + 1 = values[v]).
struct ConditionAttribute {
  std::string name;
  std::vector<std::string> values;
};

// The conditioning vocabulary, in token order. Defaults: metastasis, cardiac_grade, tracer,
// sex, age_band; `site` is added only when a model is trained with sites (values = site codes).
struct ConditionSpec {
  std::vector<ConditionAttribute> attributes;

  size_t size() const { return attributes.size(); }
  // Index of attribute `name`, or -1.
  int index_of(const std::string& name) const;
  // "metastasis, cardiac_grade, ..."
  std::string names() const;
};

ConditionSpec default_conditions(const std::vector<std::string>& sites = {});

// Age bands used for conditioning: "<50", "50-64", "65-79", ">=80".
const std::vector<std::string>& age_bands();
// Band of an age in years (token value index into age_bands()).
int age_band_index(double age_years);

// One token per attribute of a ConditionSpec; 0 = unknown / dropped.
using ConditionTokens = std::vector<int64_t>;

// Parses "metastasis=1,cardiac_grade=3,tracer=DPD" (spaces around items allowed; "" = all
// unknown). Throws ConfigError (where = `where`) for an unknown attribute, a value outside the
// attribute's vocabulary, a duplicate or a malformed item; messages list what is allowed.
ConditionTokens parse_condition(const std::string& text, const ConditionSpec& spec,
                                const std::string& where = "--condition");
// "metastasis=1,tracer=DPD" (unknown attributes omitted; "" when all unknown).
std::string condition_to_string(const ConditionTokens& tokens, const ConditionSpec& spec);
// Tokens of a scan's labels; labels that are missing or outside the vocabulary (sex "O",
// a site the model does not know) become 0.
ConditionTokens condition_from_labels(const Labels& labels, const ConditionSpec& spec);

// Anscombe intensity transform parameters (see transform.h): counts c map to
// y = 2 (A(c) - A(0)) / (A(count_max) - A(0)) - 1, A(c) = 2 sqrt(c + 3/8), so c in
// [0, count_max] maps to [-1, 1]; brighter pixels exceed 1 (no clipping on the way in).
// What the model's images are (docs/MODEL.md, "Noise as physics"):
// kCounts: the counts a camera stores, Poisson noise included (the network learns the noise
// pixel by pixel); kExpected: the noiseless expected counts (trained on `simulate --noiseless`
// scans), and generation draws the Poisson counts from the generated expectation.
enum class ModelTarget { kCounts, kExpected };
const char* to_string(ModelTarget t);
// "counts" | "expected"; throws ConfigError (where) listing them.
ModelTarget model_target_from_string(const std::string& s, const std::string& where = "--target");

struct TransformConfig {
  double count_max = 100.0;
  ModelTarget target = ModelTarget::kCounts;
};

// What a generated model-space image becomes on the count scale (transform.h): kContinuous
// (float counts), kRound (nearest integer, what a camera stores), kPoisson (exact Poisson
// draws around the generated image, each scan from its own seeded stream: the camera's noise
// for a kExpected model), kAuto (the model's own: kRound for kCounts, kPoisson for kExpected).
enum class CountOutput { kContinuous, kRound, kPoisson, kAuto };
const char* to_string(CountOutput c);
// "continuous" | "round" | "poisson" | "auto"; throws ConfigError (where) listing them.
CountOutput count_output_from_string(const std::string& s, const std::string& where = "--counts");
// kAuto resolved for a model of target `t`; any other value as given.
CountOutput resolve_count_output(CountOutput c, ModelTarget t);

// Latent diffusion (docs/MODEL.md, "Latent diffusion"): the denoiser works on an autoencoder's
// latents (autoencoder.h), `channels` x H / factor x W / factor, standardised either as one
// (divided by `scale`, the training latents' RMS) or channel by channel (channel c as
// (z_c - channel_mean[c]) / channel_std[c], the training latents' statistics; `scale` is then
// recorded but unused); either way they have about unit variance. 0 channels = a pixel model.
// The autoencoder itself travels in the model folder (model_weights.h).
struct LatentSpace {
  int channels = 0;
  int factor = 1;
  double scale = 1.0;
  std::vector<double> channel_mean;  // empty: one scale for every channel
  std::vector<double> channel_std;
  bool enabled() const { return channels > 0; }
  bool per_channel() const { return !channel_mean.empty(); }
};

struct ModelConfig {
  std::string preset = "tiny";
  int in_channels = 2;                        // anterior, mirrored posterior
  int height = 128;                           // H (head to feet)
  int width = 32;                             // W; H = 4 W for whole-body scans
  int base_channels = 16;                     // channels at level 0
  std::vector<int> channel_mult = {1, 2, 2};  // channels at level l = base * mult[l]
  int res_blocks = 1;                         // residual blocks per level (down path)
  std::vector<int> attention_levels = {2};    // levels with self-attention (0 = full size)
  int head_channels = 32;                     // channels per attention head
  int groups = 8;                             // GroupNorm groups
  int time_embed_dim = 64;                    // width of the time + condition embedding
  bool scale_shift = true;                    // FiLM (scale, shift) in residual blocks
  // Diffusion schedule (schedule.h): logSNR range of the cosine schedule and its shift.
  double logsnr_min = -15.0;
  double logsnr_max = 15.0;
  double schedule_shift = 1.0;  // logSNR += 2 log(shift); < 1 adds noise for larger images
  ConditionSpec conditions = default_conditions();
  TransformConfig transform;
  LatentSpace latent;  // disabled: the denoiser works on the scans themselves

  // The denoiser's images: the scans' (in_channels x height x width) or the latents'.
  int diffusion_channels() const { return latent.enabled() ? latent.channels : in_channels; }
  int diffusion_height() const { return latent.enabled() ? height / latent.factor : height; }
  int diffusion_width() const { return latent.enabled() ? width / latent.factor : width; }

  int levels() const { return static_cast<int>(channel_mult.size()); }
  bool has_attention(int level) const;

  // Throws ConfigError naming the field and the allowed range.
  void validate() const;
  nlohmann::json to_json() const;
  // Unknown keys and wrong types are errors (naming `where` and the key).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& where);
};

// "tiny" (2 x 32 x 128), "cpu" (2 x 64 x 256), "full" (2 x 256 x 1024).
// Throws ConfigError listing the presets for any other name.
ModelConfig model_preset(const std::string& name);
const std::vector<std::string>& preset_names();

}  // namespace scintigen::gen
