// Helpers for the gen tests: raw float32/int64 tensor files with a JSON index, as read by
// tests/ref/gen_unet_reference.py, and deterministic non-trivial weights.
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gen/model_weights.h"
#include "gen/unet.h"

namespace scintigen::gen::testing {

// Writes `t` (contiguous, float32 or int64) to dir/file; returns its index entry.
inline nlohmann::json write_tensor(const std::string& dir, const std::string& file, const torch::Tensor& t) {
  auto c = t.detach().contiguous().cpu();
  std::ofstream f(dir + "/" + file, std::ios::binary);
  f.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
  if (!f) throw std::runtime_error("cannot write " + dir + "/" + file);
  return {{"shape", c.sizes().vec()}, {"dtype", c.scalar_type() == torch::kLong ? "int64" : "float32"}, {"file", file}};
}

// Reads a float32 entry written by write_tensor or the Python script.
inline torch::Tensor read_tensor(const std::string& dir, const nlohmann::json& e) {
  std::vector<int64_t> shape = e.at("shape").get<std::vector<int64_t>>();
  auto t = torch::empty(shape, torch::kFloat);
  std::ifstream f(dir + "/" + e.at("file").get<std::string>(), std::ios::binary);
  f.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
  if (!f) throw std::runtime_error("cannot read " + dir + "/" + e.at("file").get<std::string>());
  return t;
}

// Re-randomises the parameters that start constant (zero-initialised convolutions, GroupNorm
// affine) so that every gradient path is exercised; deterministic under torch::manual_seed.
inline void perturb_constant_parameters(UNet& net, double scale = 0.1) {
  torch::NoGradGuard g;
  for (auto& p : net->parameters())
    if (p.numel() > 0 && (p.max() - p.min()).item<double>() == 0) p.add_(torch::randn_like(p) * scale);
}

// max |a - b|
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// The parameters stored in `file` (ema.pt or raw.pt) of a model folder, in parameter order.
inline std::vector<torch::Tensor> model_weights(const std::string& model_dir, const std::string& file) {
  UNet net(load_model(model_dir).config);
  torch::serialize::InputArchive a;
  a.load_from(model_dir + "/" + file);
  net->load(a);
  std::vector<torch::Tensor> w;
  for (auto& p : net->parameters()) w.push_back(p.detach().clone());
  return w;
}

}  // namespace scintigen::gen::testing
