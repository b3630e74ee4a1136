#include "clf/model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/fs_util.h"

namespace scintigen::clf {

void ClassifierNetConfig::validate(const std::string& where) const {
  auto bad = [&](const std::string& field, const std::string& what) {
    throw ConfigError(where, fmt::format("{} {}", field, what));
  };
  if (in_channels != 2) bad("in_channels", fmt::format("is {}, expected 2 (anterior + posterior)", in_channels));
  if (blocks.empty() || blocks.size() > 6) bad("blocks", "needs 1 to 6 stages");
  for (int b : blocks)
    if (b < 1 || b > 8) bad("blocks", fmt::format("has {} blocks in a stage, expected 1..8", b));
  if (base_width < 4 || base_width > 256) bad("base_width", fmt::format("is {}, expected 4..256", base_width));
  if (norm == "group" && base_width % 8 != 0) bad("base_width", "must be a multiple of 8 with GroupNorm");
  if (norm != "batch" && norm != "group") bad("norm", fmt::format("is '{}', expected batch | group", norm));
  if (pool != "avgmax" && pool != "avg") bad("pool", fmt::format("is '{}', expected avgmax | avg", pool));
  if (transform != "anscombe" && transform != "log")
    bad("transform", fmt::format("is '{}', expected anscombe | log", transform));
  // The stem halves the grid, every stage after the first halves it again.
  const int down = 1 << static_cast<int>(blocks.size());
  if (height < down || width < down || height > 8192 || width > 8192)
    bad("height/width",
        fmt::format("is {}x{} (HxW), expected {}..8192 for {} stages", height, width, down, blocks.size()));
}

nlohmann::json ClassifierNetConfig::to_json() const {
  return {{"in_channels", in_channels},
          {"height", height},
          {"width", width},
          {"base_width", base_width},
          {"blocks", blocks},
          {"norm", norm},
          {"pool", pool},
          {"transform", transform},
          {"embedding_dim", embedding_dim()}};
}

ClassifierNetConfig ClassifierNetConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ClassifierNetConfig c;
  try {
    c.in_channels = j.value("in_channels", c.in_channels);
    c.height = j.at("height").get<int>();
    c.width = j.at("width").get<int>();
    c.base_width = j.at("base_width").get<int>();
    c.blocks = j.at("blocks").get<std::vector<int>>();
    c.norm = j.at("norm").get<std::string>();
    c.pool = j.value("pool", std::string("avg"));            // folders from before the options: mean pooling,
    c.transform = j.value("transform", std::string("log"));  // log1p
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, fmt::format("bad network config: {}", e.what()));
  }
  c.validate(where);
  return c;
}

torch::Tensor normalize_counts(const torch::Tensor& counts, const std::string& transform) {
  auto c = counts.clamp_min(0);  // (B, C, H, W)
  auto x = transform == "log" ? torch::log1p(c) : 2 * torch::sqrt(c + 0.375);
  auto flat = x.flatten(1);                      // (B, C*H*W)
  auto mean = flat.mean(1).view({-1, 1, 1, 1});  // (B, 1, 1, 1)
  auto std = flat.std(1, /*unbiased=*/false).view({-1, 1, 1, 1});
  return (x - mean) / (std + 1e-5);
}

namespace {

torch::nn::AnyModule make_norm(const std::string& norm, int channels) {
  if (norm == "group") return torch::nn::AnyModule(torch::nn::GroupNorm(torch::nn::GroupNormOptions(8, channels)));
  return torch::nn::AnyModule(torch::nn::BatchNorm2d(channels));
}

torch::nn::Conv2d conv3x3(int in_ch, int out_ch, int stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch, out_ch, 3).stride(stride).padding(1).bias(false));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int in_ch, int out_ch, int stride, const std::string& norm) {
  conv1_ = register_module("conv1", conv3x3(in_ch, out_ch, stride));
  norm1_ = make_norm(norm, out_ch);
  register_module("norm1", norm1_.ptr());
  conv2_ = register_module("conv2", conv3x3(out_ch, out_ch, 1));
  norm2_ = make_norm(norm, out_ch);
  register_module("norm2", norm2_.ptr());
  has_proj_ = stride != 1 || in_ch != out_ch;
  if (has_proj_) {
    proj_ = register_module("proj",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch, out_ch, 1).stride(stride).bias(false)));
    proj_norm_ = make_norm(norm, out_ch);
    register_module("proj_norm", proj_norm_.ptr());
  }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(norm1_.forward(conv1_->forward(x)));  // (B, Cout, H/s, W/s)
  h = norm2_.forward(conv2_->forward(h));                    // (B, Cout, H/s, W/s)
  auto skip = has_proj_ ? proj_norm_.forward(proj_->forward(x)) : x;
  return torch::relu(h + skip);
}

ClassifierNetImpl::ClassifierNetImpl(const ClassifierNetConfig& config) : config_(config) {
  config_.validate();
  const int w0 = config_.base_width;
  stem_conv_ = register_module("stem_conv", conv3x3(config_.in_channels, w0, 2));
  stem_norm_ = make_norm(config_.norm, w0);
  register_module("stem_norm", stem_norm_.ptr());
  stages_ = register_module("stages", torch::nn::Sequential());
  int in_ch = w0;
  for (size_t s = 0; s < config_.blocks.size(); ++s) {
    const int out_ch = w0 << s;
    for (int b = 0; b < config_.blocks[s]; ++b) {
      stages_->push_back(ResidualBlock(in_ch, out_ch, (s > 0 && b == 0) ? 2 : 1, config_.norm));
      in_ch = out_ch;
    }
  }
  head_ = register_module("head", torch::nn::Linear(config_.embedding_dim(), 1));
}

torch::Tensor ClassifierNetImpl::embed(const torch::Tensor& counts) {
  auto x = normalize_counts(counts, config_.transform);         // (B, 2, H, W)
  x = torch::relu(stem_norm_.forward(stem_conv_->forward(x)));  // (B, w0, H/2, W/2)
  x = stages_->forward(x);                                      // (B, D, H/2^S, W/2^S)
  if (config_.pool == "avg") return x.mean({2, 3});             // (B, D)
  return torch::cat({x.mean({2, 3}), x.amax({2, 3})}, 1);       // (B, 2D)
}

torch::Tensor ClassifierNetImpl::forward(const torch::Tensor& counts) {
  return head_->forward(embed(counts)).squeeze(1);  // (B)
}

}  // namespace scintigen::clf

namespace scintigen::clf {

void save_net(ClassifierNet& net, torch::serialize::OutputArchive& root, torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive model;
  net->save(model);
  root.write("model", model);
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    root.write("optimizer", opt);
  }
}

void load_net(ClassifierNet& net, torch::serialize::InputArchive& root, const std::string& where,
              torch::optim::Optimizer* optimizer) {
  // Module::load replaces tensors whatever their shape: check them against the network's.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& p : net->named_parameters()) shapes.push_back({p.key(), p.value().sizes().vec()});
  for (const auto& b : net->named_buffers()) shapes.push_back({b.key(), b.value().sizes().vec()});
  try {
    torch::serialize::InputArchive model;
    root.read("model", model);
    net->load(model);
    auto params = net->named_parameters();
    auto buffers = net->named_buffers();
    for (const auto& [name, shape] : shapes) {
      const torch::Tensor* t = params.find(name);
      if (!t) t = buffers.find(name);
      if (!t || t->sizes().vec() != shape)
        throw InputError(where,
                         fmt::format("tensor '{}' has shape {}, the network expects {}", name,
                                     t ? fmt::format("{}", fmt::join(t->sizes().vec(), "x")) : "none",
                                     fmt::format("{}", fmt::join(shape, "x"))),
                         "the weights were written for another network shape");
    }
    if (optimizer) {
      torch::serialize::InputArchive opt;
      root.read("optimizer", opt);
      optimizer->load(opt);
    }
  } catch (const c10::Error& e) {
    throw InputError(where, fmt::format("cannot read the weights: {}", e.what_without_backtrace()),
                     "the file is damaged or was written for another network shape");
  }
}

void save_net(ClassifierNet& net, const std::string& path) {
  torch::serialize::OutputArchive root;
  save_net(net, root);
  std::ostringstream os;
  root.save_to(os);
  write_file_atomic(path, os.str());
}

void load_net(ClassifierNet& net, const std::string& path, const torch::Device& device) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError(path, "missing", "is this a folder written by `scintigen classify train`?");
  torch::serialize::InputArchive root;
  try {
    root.load_from(path, device);
  } catch (const c10::Error& e) {
    throw InputError(path, fmt::format("cannot read the weights: {}", e.what_without_backtrace()),
                     "the file is damaged or was written for another network shape");
  }
  load_net(net, root, path);
}

LoadedClassifier load_classifier(const std::string& dir, const torch::Device& device) {
  if (!std::filesystem::is_directory(dir))
    throw InputError(dir, "no such classifier folder", "pass the --out folder of `scintigen classify train`");
  const std::string info_path = dir + "/classifier.json";
  if (!std::filesystem::is_regular_file(info_path))
    throw InputError(dir, "not a classifier folder (no classifier.json)",
                     "pass the --out folder of `scintigen classify train`");
  LoadedClassifier c;
  try {
    c.info = nlohmann::json::parse(read_file(info_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(info_path, fmt::format("not valid JSON: {}", e.what()));
  }
  if (c.info.value("format", "") != "scintigen-classifier")
    throw InputError(info_path, "format is not scintigen-classifier");
  if (!c.info.contains("net") || !c.info.contains("training") || !c.info["training"].contains("threshold"))
    throw InputError(info_path, "incomplete (no net or no finished epoch)",
                     "training was interrupted before its first epoch ended");
  c.net = ClassifierNet(ClassifierNetConfig::from_json(c.info["net"], info_path));
  load_net(c.net, dir + "/best.pt", device);
  c.net->to(device);
  c.net->eval();
  return c;
}

}  // namespace scintigen::clf

namespace scintigen::clf {

std::vector<double> predict_probabilities(ClassifierNet& net, const float* pixels, size_t n, int batch,
                                          const torch::Device& device) {
  const bool was_training = net->is_training();
  net->eval();
  torch::NoGradGuard no_grad;
  const int h = net->config().height, w = net->config().width;
  const size_t per_scan = 2 * static_cast<size_t>(h) * w;
  std::vector<double> out;
  out.reserve(n);
  for (size_t i = 0; i < n; i += batch) {
    const int64_t b = static_cast<int64_t>(std::min<size_t>(batch, n - i));
    // from_blob wraps the caller's memory without copying; the network only reads it.
    auto x = torch::from_blob(const_cast<float*>(pixels + i * per_scan), {b, 2, h, w}, torch::kFloat32)
                 .to(device);  // (b, 2, H, W)
    auto p =
        torch::sigmoid(net->forward(x).to(torch::kCPU).to(torch::kFloat64)).contiguous();  // (b), no float32 saturation
    const double* d = p.data_ptr<double>();
    out.insert(out.end(), d, d + b);
  }
  if (was_training) net->train();
  return out;
}

nlohmann::json torch_versions() {
  return {{"libtorch", TORCH_VERSION}, {"cuda_available", torch::cuda::is_available()}};
}

}  // namespace scintigen::clf
