// The downstream classifier network: a small ResNet on the two-view count image.
//
//   ClassifierNetConfig nc;                       // 2 x 256 x 64 input, widths 16-32-64-128
//   ClassifierNet net(nc);
//   torch::Tensor counts = torch::rand({8, 2, 256, 64}) * 100;   // (B, 2, H, W) raw counts
//   torch::Tensor logit = net->forward(counts);   // (B)
//   torch::Tensor feat = net->embed(counts);      // (B, D), D = nc.embedding_dim()
//
// The network owns its input transform (docs/CLASSIFY.md): x = 2 sqrt(max(counts, 0) + 3/8)
// (Anscombe; or log1p), then each scan is standardised over both views, (x - mean) / (std +
// 1e-5), so a scan's total counts (dose, acquisition time) do not set the activation scale.
//
// Architecture: stem conv3x3/2 + norm + ReLU; stages of basic residual blocks (two conv3x3 +
// norm, identity or 1x1/stride-2 projection shortcut), the first stage at stride 1, every later
// one halving H and W and doubling the width; global pooling (mean and max concatenated, or the
// mean) -> embedding (B, D); linear head -> one logit. Norm: BatchNorm (default) or GroupNorm.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scintigen::clf {

struct ClassifierNetConfig {
  int in_channels = 2;                     // anterior + mirrored posterior
  int height = 256;                        // input rows the network is trained on (scans are resampled)
  int width = 64;                          // input columns
  int base_width = 16;                     // channels of the stem and the first stage
  std::vector<int> blocks = {1, 1, 1, 1};  // residual blocks per stage
  std::string norm = "group";              // group (default: no running statistics) | batch
  // Global pooling of the last stage: "avgmax" concatenates the spatial mean and maximum (a
  // focal hot spot covers a few cells of the last map; the mean alone dilutes it), "avg" is the
  // plain mean (classifier folders written before the option existed).
  std::string pool = "avgmax";  // avgmax | avg
  // Input transform before the per-scan standardisation: "anscombe" 2 sqrt(c + 3/8) (variance-
  // stabilising: Poisson noise has sd ~1 at every count level, so a hot spot in bone stands
  // out against noisy soft tissue), or "log" log1p(c) (folders from before the option).
  std::string transform = "anscombe";  // anscombe | log

  int last_width() const { return base_width << (static_cast<int>(blocks.size()) - 1); }
  int embedding_dim() const { return pool == "avgmax" ? 2 * last_width() : last_width(); }
  // Throws ConfigError naming `where` and the field.
  void validate(const std::string& where = "classifier net") const;
  nlohmann::json to_json() const;
  static ClassifierNetConfig from_json(const nlohmann::json& j, const std::string& where);
};

// Transform ("anscombe" or "log") + per-scan standardisation (see above).
// (B, C, H, W) counts -> (B, C, H, W).
torch::Tensor normalize_counts(const torch::Tensor& counts, const std::string& transform = "anscombe");

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int in_ch, int out_ch, int stride, const std::string& norm);
  torch::Tensor forward(const torch::Tensor& x);  // (B, Cin, H, W) -> (B, Cout, H/s, W/s)

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, proj_{nullptr};
  torch::nn::AnyModule norm1_, norm2_, proj_norm_;
  bool has_proj_ = false;
};
TORCH_MODULE(ResidualBlock);

class ClassifierNetImpl : public torch::nn::Module {
 public:
  explicit ClassifierNetImpl(const ClassifierNetConfig& config);
  // (B, 2, H, W) raw counts -> (B) logits.
  torch::Tensor forward(const torch::Tensor& counts);
  // (B, 2, H, W) raw counts -> (B, D) penultimate features (after global pooling).
  torch::Tensor embed(const torch::Tensor& counts);
  const ClassifierNetConfig& config() const { return config_; }

 private:
  ClassifierNetConfig config_;
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::AnyModule stem_norm_;
  torch::nn::Sequential stages_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ClassifierNet);

// The network's parameters and buffers into (out of) `root` under the key "model", and, when
// given, the optimizer's state under "optimizer": best.pt and the training checkpoint's archive.
void save_net(ClassifierNet& net, torch::serialize::OutputArchive& root, torch::optim::Optimizer* optimizer = nullptr);
// Checks every tensor's shape against the network's; InputError naming `where` otherwise.
void load_net(ClassifierNet& net, torch::serialize::InputArchive& root, const std::string& where,
              torch::optim::Optimizer* optimizer = nullptr);
// The network alone as a file (best.pt), written atomically (temporary file, fsync, rename).
void save_net(ClassifierNet& net, const std::string& path);
// Reads what save_net(net, path) wrote into `net`. Throws InputError naming the file.
void load_net(ClassifierNet& net, const std::string& path, const torch::Device& device);

// A trained classifier folder (clf/train.h): classifier.json + best.pt, loaded in eval mode.
struct LoadedClassifier {
  nlohmann::json info;  // classifier.json
  ClassifierNet net{nullptr};
};
// Throws InputError naming the folder or file when it is not a classifier folder.
LoadedClassifier load_classifier(const std::string& dir, const torch::Device& device);
// Sigmoid scores of `n` scans stored contiguously as (n, 2, H, W) counts, in eval mode and
// without gradients, `batch` scans at a time. Restores the module's training mode.
std::vector<double> predict_probabilities(ClassifierNet& net, const float* pixels, size_t n, int batch,
                                          const torch::Device& device);

// {"libtorch": "1.13.1", "cuda": true|false} for provenance records.
nlohmann::json torch_versions();

}  // namespace scintigen::clf
