// Throughput of the downstream classifier (src/clf) on the CPU: training images/s (forward, BCE
// with logits, backward, AdamW: the step of src/clf/train.cc), inference images/s
// (predict_probabilities, batch 64) and the CPU augmentation (augment_scan) per image.
//
//   clf_bench <threads> [train_steps] [repeats] [infer_images]
//
// Network: ClassifierConfig's defaults (2 x 256 x 64 input, base width 16, blocks {1,1,1,1},
// GroupNorm, avgmax pooling, Anscombe); batch 16, AdamW lr 1e-3, weight decay 1e-4. Input: one
// fixed batch of Poisson counts (mean 100 per pixel, the level of a whole-body scan resampled to
// 256 x 64), labels half 0, half 1. Warm-up steps are not timed; each figure is the median over
// `repeats` timed runs. Prints one JSON line; bench/clf_python_baseline.py runs the same network
// and loop in PyTorch (bench/run_clf_bench.sh runs both).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "clf/augment.h"
#include "clf/model.h"
#include "clf/train.h"

using namespace scintigen;
using namespace scintigen::clf;
using clk = std::chrono::steady_clock;

namespace {

double seconds_since(clk::time_point t0) {
  return std::chrono::duration<double>(clk::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: clf_bench <threads> [train_steps=5] [repeats=5] [infer_images=128]\n");
    return 2;
  }
  const int threads = std::stoi(argv[1]);
  const int train_steps = argc > 2 ? std::stoi(argv[2]) : 5;
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 5;
  const int infer_images = argc > 4 ? std::stoi(argv[4]) : 128;
  constexpr int kWarmupSteps = 2;

  const ClassifierConfig c;  // the defaults `scintigen classify train` uses
  at::set_num_threads(threads);
  torch::manual_seed(0);
  ClassifierNet net(ClassifierNetConfig{2, c.height, c.width, c.base_width, c.blocks, c.norm, c.pool, c.transform});
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();

  const int h = c.height, w = c.width, batch = c.batch;
  auto x = torch::poisson(torch::full({batch, 2, h, w}, 100.0f));  // (B, 2, H, W) counts
  auto y = torch::arange(batch).remainder(2).to(torch::kFloat32);  // (B)

  // The training step of src/clf/train.cc, without the batch assembly (timed apart below).
  net->train();
  auto step = [&] {
    auto logits = net->forward(x);  // (B)
    auto loss = torch::binary_cross_entropy_with_logits(logits, y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    return loss.item<double>();
  };
  for (int i = 0; i < kWarmupSteps; ++i) step();
  std::vector<double> train_rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = clk::now();
    for (int i = 0; i < train_steps; ++i) step();
    train_rates.push_back(batch * train_steps / seconds_since(t0));
  }

  // Inference: predict_probabilities over `infer_images` scans, 64 at a time.
  auto scans = torch::poisson(torch::full({infer_images, 2, h, w}, 100.0f)).contiguous();  // (N, 2, H, W)
  const float* pixels = scans.data_ptr<float>();
  predict_probabilities(net, pixels, std::min(infer_images, 64), 64, torch::kCPU);  // warm-up
  std::vector<double> infer_rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = clk::now();
    predict_probabilities(net, pixels, infer_images, 64, torch::kCPU);
    infer_rates.push_back(infer_images / seconds_since(t0));
  }

  // Batch assembly of train.cc per image: copy the stored scan, then augment_scan (shift, scale,
  // Poisson resampling), on the calling thread.
  const size_t per_scan = 2 * static_cast<size_t>(h) * w;
  const float* src = scans.data_ptr<float>();
  std::vector<float> buf(per_scan);
  Rng rng(0);
  constexpr int kAugmentImages = 256;
  std::vector<double> augment_ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = clk::now();
    for (int i = 0; i < kAugmentImages; ++i) {
      std::copy_n(src + (i % infer_images) * per_scan, per_scan, buf.data());
      augment_scan(buf.data(), h, w, c.augment, rng);
    }
    augment_ms.push_back(1e3 * seconds_since(t0) / kAugmentImages);
  }

  nlohmann::json out = {{"impl", "c++"},
                        {"torch", TORCH_VERSION},
                        {"params", params},
                        {"batch", batch},
                        {"threads", at::get_num_threads()},
                        {"train_images_per_s", median(train_rates)},
                        {"train_images_per_s_runs", train_rates},
                        {"infer_images_per_s", median(infer_rates)},
                        {"augment_ms_per_image", median(augment_ms)}};
  std::printf("%s\n", out.dump().c_str());
}
