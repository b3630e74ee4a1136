// CUDA checks of the generative model (label gpu; every test skips without a CUDA device):
// the same training step and sampler on CUDA and on the CPU agree, bf16 autocast on CUDA runs
// and tracks fp32. Run on a GPU machine by scripts/gpu/check.sh.
#include <gtest/gtest.h>

#include "gen/sampler.h"
#include "gen/trainer.h"

namespace scintigen::gen {
namespace {

#define REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

ModelConfig small() {
  ModelConfig c = model_preset("tiny");
  c.height = 64;
  c.width = 16;
  return c;
}

TEST(Cuda, TrainingStepMatchesTheCpu) {
  REQUIRE_CUDA();
  TrainConfig tc;
  tc.steps = 10;
  tc.warmup_steps = 0;
  Trainer cpu(small(), tc, torch::kCPU), gpu(small(), tc, torch::kCUDA);
  torch::manual_seed(4);
  auto x0 = torch::randn({4, 2, 64, 16}), noise = torch::randn({4, 2, 64, 16});
  auto t = torch::rand({4});
  auto cond = torch::ones({4, 5}, torch::kLong);
  double lc = 0, lg = 0;
  for (int i = 0; i < 3; ++i) {
    lc = cpu.step(x0, cond, t, noise);
    lg = gpu.step(x0, cond, t, noise);
  }
  EXPECT_NEAR(lg, lc, 1e-3 * lc);  // TF32 / cuDNN algorithms differ from the CPU's in rounding
  auto pc = cpu.model()->parameters(), pg = gpu.model()->parameters();
  double worst = 0;
  for (size_t i = 0; i < pc.size(); ++i) worst = std::max(worst, (pc[i] - pg[i].cpu()).abs().max().item<double>());
  EXPECT_LT(worst, 1e-4);  // three AdamW steps move weights by ~6e-4
}

TEST(Cuda, Bf16AutocastTracksFp32) {
  REQUIRE_CUDA();
  TrainConfig tc;
  tc.steps = 10;
  tc.warmup_steps = 0;
  Trainer f(small(), tc, torch::kCUDA);
  tc.bf16 = true;
  Trainer h(small(), tc, torch::kCUDA);
  torch::manual_seed(5);
  auto x0 = torch::randn({4, 2, 64, 16}), noise = torch::randn({4, 2, 64, 16});
  auto t = torch::rand({4});
  auto cond = torch::ones({4, 5}, torch::kLong);
  const double lf = f.step(x0, cond, t, noise), lh = h.step(x0, cond, t, noise);
  EXPECT_NEAR(lh, lf, 0.02 * lf);
}

TEST(Cuda, SamplingMatchesTheCpu) {
  REQUIRE_CUDA();
  ModelConfig cfg = small();
  torch::manual_seed(6);
  UNet net(cfg);
  for (auto& p : net->parameters()) {
    torch::NoGradGuard g;
    p.add_(torch::randn_like(p) * 0.02);
  }
  net->eval();
  SamplerConfig sc;
  sc.steps = 8;
  sc.seed = 3;
  auto cond = torch::ones({2, 5}, torch::kLong);
  auto a = sample(with_guidance(model_denoiser(net, Schedule::from(cfg)), 2.0), Schedule::from(cfg), sc, cond, {2, 2, 64, 16});
  net->to(torch::kCUDA);
  auto b = sample(with_guidance(model_denoiser(net, Schedule::from(cfg)), 2.0), Schedule::from(cfg), sc,
                  cond.to(torch::kCUDA), {2, 2, 64, 16});
  EXPECT_LT((a - b.cpu()).abs().max().item<double>(), 1e-2 * a.abs().max().item<double>());
}

}  // namespace
}  // namespace scintigen::gen
