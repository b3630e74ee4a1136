// The model folder: what `train` writes and `generate` reads (docs/MODEL.md).
//
//   model.json     format + version, model config, training config, data summary (label counts,
//                  the joint distribution of conditions), steps, final losses, versions,
//                  SHA-256 of every weights file
//   ema.pt         EMA weights (what generate samples from)
//   raw.pt         raw (non-EMA) weights
//   MODEL_CARD.md  the model card, for people
//
//   LoadedModel m = load_model("models/mine");      // or "builtin"
//   torch::Tensor v = m.net->forward(x, t, cond);
//
// Loading checks the format, parses the config, checks each weights file's SHA-256 against
// model.json (catching truncation and corruption) and that every parameter is present with
// its shape; failures are InputErrors naming the file and the problem.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "gen/config.h"
#include "gen/unet.h"

namespace scintigen::gen {

inline constexpr const char* kModelFormat = "scintigen-model";
inline constexpr int kModelFormatVersion = 1;

struct LoadedModel {
  std::string dir;
  ModelConfig config;
  nlohmann::json info;      // model.json
  std::string ema_sha256;   // the model's identity in provenance records
  UNet net{nullptr};        // EMA weights, eval mode, on the CPU
};

// Saves a module's parameters and buffers to `path` atomically (temp + rename); returns the
// SHA-256 of the file written.
std::string save_weights(torch::nn::Module& net, const std::string& path);

// Writes ema.pt, raw.pt, model.json (info + config + hashes) and MODEL_CARD.md into `dir`.
void write_model_folder(const std::string& dir, UNet& ema, UNet& raw, const ModelConfig& cfg, nlohmann::json info);

// `dir` may be "builtin" (builtin_model_dir()). Throws InputError.
LoadedModel load_model(const std::string& dir);

// The shipped model's folder (core/resources.h: $SCINTIGEN_BUILTIN_MODEL, the installed
// share/scintigen/models/builtin, or the source tree's models/builtin).
std::string builtin_model_dir();

// The model card (Markdown) from model.json.
std::string model_card(const nlohmann::json& info);

}  // namespace scintigen::gen
