// Configuration of the count-image autoencoder, the first stage of a latent diffusion model
// (docs/MODEL.md, "Latent diffusion"). No LibTorch here.
//
//   AutoencoderConfig a;                        // 2 x 64 x 256 scans -> 4 x 16 x 64 latents
//   a.validate();                               // throws ConfigError naming the field
//   nlohmann::json j = a.to_json();
//   AutoencoderConfig b = AutoencoderConfig::from_json(j, "ae/autoencoder.json");
//
// The encoder reads a scan in the diffusion models' model space (the Anscombe transform of its
// counts, transform.h); the decoder returns the log of the *expected* counts per pixel, and the
// training loss is the Poisson likelihood of the observed counts under them, so the latent space
// holds the anatomy and uptake, and the camera's noise is drawn, exactly, after decoding.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gen/config.h"

namespace scintigen::gen {

struct AutoencoderConfig {
  int height = 256, width = 64;               // the scans' grid (H = 4 W for whole-body scans)
  int base_channels = 32;                     // channels at level 0
  std::vector<int> channel_mult = {1, 2, 2};  // per level; the latent grid is the grid / 2^(levels-1)
  int res_blocks = 1;                         // residual blocks per level, encoder and decoder
  int latent_channels = 4;                    // channels of the latent image
  int groups = 8;                             // GroupNorm groups
  TransformConfig transform;                  // the encoder's input scaling (count_max; target unused)

  int levels() const { return static_cast<int>(channel_mult.size()); }
  int factor() const { return 1 << (levels() - 1); }  // downsampling factor per side
  int latent_height() const { return height / factor(); }
  int latent_width() const { return width / factor(); }

  // Throws ConfigError (where = "autoencoder config") naming the field and the allowed range.
  void validate() const;
  nlohmann::json to_json() const;
  // Unknown keys and wrong types are errors naming `where` and the key.
  static AutoencoderConfig from_json(const nlohmann::json& j, const std::string& where);
};

}  // namespace scintigen::gen
