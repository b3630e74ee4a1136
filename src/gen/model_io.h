// The model folder: what `train` writes and `generate` reads (docs/MODEL.md).
//
//   model.json     format + version, model config, training config, data summary (label counts,
//                  the joint distribution of conditions), steps, final losses, versions,
//                  SHA-256 of every weights file
//   ema.pt         EMA weights (what generate samples from)
//   raw.pt         raw (non-EMA) weights
//   MODEL_CARD.md  the model card, for people
//
//   ModelFolder m = check_model_folder("models/mine");   // or "builtin"
//   std::string card = model_card(m.info);
//
// Checking reads a folder as loading it does: the format, the config, each weights file's
// SHA-256 against model.json (catching truncation and corruption) and that every parameter is
// present with its shape; failures are InputErrors naming the file and the problem. No
// LibTorch in this header: the weights themselves (load_model, write_model_folder) are in
// gen/model_weights.h.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "gen/config.h"
#include "gen/sampler_config.h"

namespace scintigen::gen {

inline constexpr const char* kModelFormat = "scintigen-model";
inline constexpr int kModelFormatVersion = 1;

// A model folder's description.
struct ModelFolder {
  std::string dir;
  ModelConfig config;
  nlohmann::json info;     // model.json
  std::string ema_sha256;  // the model's identity in provenance records
};

// Checks the folder as load_model does (weights included) and describes it. `dir` may be
// "builtin" (builtin_model_dir()). Throws InputError.
ModelFolder check_model_folder(const std::string& dir);

// The shipped model's folder (core/resources.h: $SCINTIGEN_BUILTIN_MODEL, the installed
// share/scintigen/models/builtin, or the source tree's models/builtin).
std::string builtin_model_dir();

// The sampler settings a model names as its own (model.json "sampler": a distilled model's DDIM
// steps, train_loop.h, or settings recorded by record_model_sampler), which generate and model check take for the flags
// not given; nullopt when it names none, or when model.json cannot be read (loading the model reports that). A
// "sampler" that is not a valid setting is an InputError naming model.json.
std::optional<SamplerConfig> model_sampler(const std::string& dir);

// Records `sampler` (its seed left out) as the model's own sampler settings (model.json
// "sampler", read by model_sampler), or removes them (nullopt), and renders MODEL_CARD.md again;
// the weights are untouched. The folder is loaded first (a broken one is an InputError), and
// guidance_on must name the model's conditions (ConfigError, guided_columns). A distilled model's
// settings come from its training: refused (InputError). `dir` may be "builtin".
void record_model_sampler(const std::string& dir, const std::optional<SamplerConfig>& sampler);

// The model card (Markdown) from model.json.
std::string model_card(const nlohmann::json& info);

}  // namespace scintigen::gen
