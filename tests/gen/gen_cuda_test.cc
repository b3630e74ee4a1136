// CUDA checks of the generative model (label gpu; every test skips without a CUDA device):
// the same training step and sampler on CUDA and on the CPU agree, bf16 autocast on CUDA runs
// and tracks fp32; the training loop on CUDA resumes exactly (with deterministic kernels) and
// its model generates the same scans on both devices; the gradient all-reduce over NCCL.
// Run on a GPU machine by scripts/gpu/check.sh.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "data/dataset.h"
#include "gen/distributed.h"
#include "gen/gen_data_fixture.h"
#include "gen/gen_test_util.h"
#include "gen/generate.h"
#include "gen/sampler.h"
#include "gen/trainer.h"
#include "test_util.h"

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

// fp32 on both devices (cuDNN's TF32 off for the comparison): the first step's gradients agree
// parameter by parameter, and so do the losses of three steps. The weights after AdamW are not
// compared: where a gradient is rounding noise around zero (e.g. a bias ahead of a
// normalisation), Adam's update is +-lr whatever its size, so devices legitimately part there.
TEST(Cuda, TrainingStepMatchesTheCpu) {
  REQUIRE_CUDA();
  const bool tf32 = at::globalContext().allowTF32CuDNN();
  at::globalContext().setAllowTF32CuDNN(false);
  TrainConfig tc;
  tc.steps = 10;
  tc.warmup_steps = 0;
  Trainer cpu(small(), tc, torch::kCPU), gpu(small(), tc, torch::kCUDA);
  torch::manual_seed(4);
  auto x0 = torch::randn({4, 2, 64, 16}), noise = torch::randn({4, 2, 64, 16});
  auto t = torch::rand({4});
  auto cond = torch::ones({4, 5}, torch::kLong);
  for (int i = 0; i < 3; ++i) {
    const double lc = cpu.step(x0, cond, t, noise), lg = gpu.step(x0, cond, t, noise);
    EXPECT_NEAR(lg, lc, 1e-4 * lc) << "step " << i;
    if (i > 0) continue;
    auto pc = cpu.model()->parameters(), pg = gpu.model()->parameters();
    double gmax = 0;
    for (auto& p : pc) gmax = std::max(gmax, p.grad().abs().max().item<double>());
    for (size_t k = 0; k < pc.size(); ++k) {
      const double scale = pc[k].grad().abs().max().item<double>();
      EXPECT_LE(testing::max_abs_diff(pc[k].grad(), pg[k].grad().cpu()), 1e-3 * scale + 1e-6 * gmax)
          << "parameter " << k;
    }
  }
  at::globalContext().setAllowTF32CuDNN(tf32);
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
  auto a = sample(with_guidance(model_denoiser(net, Schedule::from(cfg)), 2.0), Schedule::from(cfg), sc, cond,
                  {2, 2, 64, 16});
  net->to(torch::kCUDA);
  auto b = sample(with_guidance(model_denoiser(net, Schedule::from(cfg)), 2.0), Schedule::from(cfg), sc,
                  cond.to(torch::kCUDA), {2, 2, 64, 16});
  EXPECT_LT((a - b.cpu()).abs().max().item<double>(), 1e-2 * a.abs().max().item<double>());
}

// The loop on CUDA: stop at step 5 and resume to 8 equals an uninterrupted 8-step run. cuDNN's
// default convolution backward and the embedding backward accumulate with atomics, so the
// comparison runs with deterministic kernels (then it is bitwise; the bound 1e-6 is far below
// one step's move of ~2e-4, which a resume that lost the optimiser state or the data order
// would show). The model trained on CUDA loads on the CPU and generates the same scans there.
TEST(Cuda, TrainLoopResumesExactlyAndItsModelGeneratesOnBothDevices) {
  REQUIRE_CUDA();
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  scintigen::testing::TempDir t;
  testing::make_dataset(t / "ds", 24);
  TrainRunConfig full = testing::micro_run(t.path(), t / "ds", t / "full", 8);
  full.device = "cuda";
  TrainRunResult rf = run_training(full);
  ASSERT_TRUE(rf.finished);
  TrainRunConfig part = testing::micro_run(t.path(), t / "ds", t / "part", 8);
  part.device = "cuda";
  part.stop_at = 5;
  run_training(part);
  part.stop_at = 0;
  part.resume = true;
  TrainRunResult r2 = run_training(part);
  ASSERT_TRUE(r2.finished);
  EXPECT_EQ(r2.start_step, 5);
  double worst = 0;
  for (const char* file : {"ema.pt", "raw.pt"}) {
    auto a = testing::model_weights(t / "full", file), b = testing::model_weights(t / "part", file);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, testing::max_abs_diff(a[i], b[i]));
  }
  EXPECT_LE(worst, 1e-6) << "resumed vs uninterrupted CUDA run";
  std::printf("[ info ] CUDA resume: max |weight difference| %.3g (0 = bitwise)\n", worst);
  EXPECT_NE(load_model(t / "full").info.dump().find("cuda"), std::string::npos) << "the card records the device";

  GenerateConfig g = testing::micro_generate(t / "full", 4, "metastasis=1,cardiac_grade=2", 6);
  g.counts = CountOutput::kContinuous;
  g.out = t / "gen_cpu";
  generate_dataset(g);
  g.device = "cuda";
  g.out = t / "gen_cuda";
  generate_dataset(g);
  Dataset a = Dataset::open(t / "gen_cpu"), b = Dataset::open(t / "gen_cuda");
  auto ra = a.records(), rb = b.records();
  ASSERT_EQ(ra.size(), 4u);
  ASSERT_EQ(rb.size(), 4u);
  for (size_t i = 0; i < ra.size(); ++i) {
    Scan sa = a.load(ra[i]), sb = b.load(rb[i]);
    EXPECT_EQ(rb[i].labels.metastasis.value_or(-1), 1);
    EXPECT_EQ(rb[i].labels.cardiac_grade.value_or(-1), 2);
    EXPECT_EQ(rb[i].meta["provenance"]["model_sha256"], ra[i].meta["provenance"]["model_sha256"]);
    double peak = 0, diff = 0;
    for (size_t k = 0; k < sa.pixels.size(); ++k) {
      peak = std::max(peak, std::abs(static_cast<double>(sa.pixels[k])));
      diff = std::max(diff, std::abs(static_cast<double>(sa.pixels[k]) - sb.pixels[k]));
    }
    EXPECT_LT(diff, 1e-2 * peak) << "scan " << i << ": CUDA and CPU generation differ";
  }
}

// NCCL: a one-rank process group over a TCPStore averages CUDA gradients (identity for one
// rank) and a Trainer step through it equals a step without it. Two ranks need two GPUs (NCCL
// refuses two ranks on one device); the two-rank arithmetic is tested with Gloo on the CPU.
TEST(Cuda, NcclProcessGroupReducesCudaGradients) {
  REQUIRE_CUDA();
#ifndef SCINTIGEN_WITH_NCCL
  GTEST_SKIP() << "built without SCINTIGEN_WITH_NCCL";
#else
  auto d = Distributed::connect(0, 1, "127.0.0.1", 29517, torch::kCUDA);
  auto x = torch::arange(10, torch::TensorOptions().dtype(torch::kFloat).device(torch::kCUDA));
  d->all_reduce_sum(x);
  EXPECT_TRUE(torch::equal(x.cpu(), torch::arange(10, torch::kFloat)));
  TrainConfig tc;
  tc.steps = 10;
  tc.warmup_steps = 0;
  at::globalContext().setDeterministicCuDNN(true);
  Trainer plain(small(), tc, torch::kCUDA), reduced(small(), tc, torch::kCUDA);
  reduced.set_grad_reducer(d->reducer());
  torch::manual_seed(8);
  auto x0 = torch::randn({4, 2, 64, 16}), noise = torch::randn({4, 2, 64, 16});
  auto t = torch::rand({4});
  auto cond = torch::ones({4, 5}, torch::kLong);
  plain.step(x0, cond, t, noise);
  reduced.step(x0, cond, t, noise);
  auto pa = plain.model()->parameters(), pb = reduced.model()->parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, testing::max_abs_diff(pa[i], pb[i]));
  EXPECT_LE(worst, 1e-6);
#endif
}

}  // namespace
}  // namespace scintigen::gen
