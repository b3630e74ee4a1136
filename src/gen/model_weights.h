// The tensor side of the model folder (model_io.h), inside src/gen and its tests: loading the
// EMA network, saving weights, writing the finished folder.
//
//   LoadedModel m = load_model("models/mine");      // or "builtin"
//   torch::Tensor v = m.net->forward(x, t, cond);
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "gen/autoencoder.h"
#include "gen/config.h"
#include "gen/model_io.h"
#include "gen/unet.h"

namespace scintigen::gen {

struct LoadedModel : ModelFolder {
  UNet net{nullptr};             // EMA weights, eval mode, on the CPU
  Autoencoder decoder{nullptr};  // a latent model's autoencoder (autoencoder.pt), eval mode, on the CPU
};

// Saves a module's parameters and buffers to `path` atomically (temp + rename); returns the
// SHA-256 of the file written.
std::string save_weights(torch::nn::Module& net, const std::string& path);

// Loads `path` into `net`, checking the file's SHA-256 against `expected_sha` (unless empty), as
// recorded in the folder's `record` file, and every parameter's and buffer's shape. InputError
// naming the file when it cannot be read, is altered or holds another architecture's weights.
void load_weights(torch::nn::Module& net, const std::string& path, const std::string& expected_sha,
                  const std::string& record = "model.json");

// Writes ema.pt, raw.pt, model.json (info + config + hashes) and MODEL_CARD.md into `dir`; a
// latent model's autoencoder as autoencoder.pt (with model.json "autoencoder": its config and
// its source's record, which `info` carries).
void write_model_folder(const std::string& dir, UNet& ema, UNet& raw, const ModelConfig& cfg, nlohmann::json info,
                        Autoencoder autoencoder = nullptr);

// `dir` may be "builtin" (builtin_model_dir()). Throws InputError.
LoadedModel load_model(const std::string& dir);

// A guide model for autoguidance (sampler.h, with_autoguidance) of `main`: loaded as load_model,
// then checked to denoise the same images in the same space: the same image size, channels,
// conditions, count transform and noise schedule (the architecture may differ). A difference
// is an InputError naming `dir`, `flag` and the setting.
LoadedModel load_guide_model(const std::string& dir, const ModelFolder& main, const std::string& flag);

}  // namespace scintigen::gen
