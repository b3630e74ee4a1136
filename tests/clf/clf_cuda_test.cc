// CUDA checks of the downstream classifier (label gpu; every test skips without a CUDA device):
// the network's forward pass, embedding, a few AdamW training steps and predict_probabilities
// on CUDA agree with the CPU from the same weights. Run on a GPU machine by scripts/gpu/check.sh.
#include <gtest/gtest.h>

#include "clf/model.h"
#include "run/torch.h"

namespace scintigen::clf {
namespace {

#define REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

ClassifierNetConfig small(const std::string& norm) {
  ClassifierNetConfig c;
  c.height = 128;
  c.width = 32;
  c.base_width = 8;
  c.blocks = {1, 1, 1};
  c.norm = norm;
  return c;
}

// The same initial weights on both devices: copy the CPU network's parameters and buffers.
ClassifierNet clone_to(ClassifierNet& src, const ClassifierNetConfig& cfg, const torch::Device& device) {
  ClassifierNet dst(cfg);
  torch::NoGradGuard g;
  auto sp = src->named_parameters(), dp = dst->named_parameters();
  for (auto& p : dp) p.value().copy_(*sp.find(p.key()));
  auto sb = src->named_buffers(), db = dst->named_buffers();
  for (auto& b : db) b.value().copy_(*sb.find(b.key()));
  dst->to(device);
  return dst;
}

class CudaTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaTest, ForwardEmbedAndTrainingStepsMatchTheCpu) {
  REQUIRE_CUDA();
  torch::manual_seed(5);
  const auto cfg = small(GetParam());
  ClassifierNet cpu(cfg);
  ClassifierNet gpu = clone_to(cpu, cfg, torch::kCUDA);
  auto x = torch::poisson(torch::rand({6, 2, 128, 32}) * 40);  // (B, 2, H, W) counts
  auto y = torch::tensor({0.f, 1.f, 0.f, 1.f, 1.f, 0.f});
  cpu->eval();
  gpu->eval();
  {
    torch::NoGradGuard g;
    const auto lc = cpu->forward(x), lg = gpu->forward(x.cuda()).cpu();
    EXPECT_LT((lc - lg).abs().max().item<double>(), 1e-3 * (1 + lc.abs().max().item<double>()));
    const auto ec = cpu->embed(x), eg = gpu->embed(x.cuda()).cpu();
    EXPECT_LT((ec - eg).abs().max().item<double>(), 1e-3 * (1 + ec.abs().max().item<double>()));
    const auto pc = predict_probabilities(cpu, x.contiguous().data_ptr<float>(), 6, 4, torch::kCPU);
    const auto pg = predict_probabilities(gpu, x.contiguous().data_ptr<float>(), 6, 4, torch::kCUDA);
    for (size_t i = 0; i < pc.size(); ++i) EXPECT_NEAR(pg[i], pc[i], 1e-3) << i;
  }
  // Training in fp32 on both (cuDNN's TF32 off): the first step's gradients agree parameter by
  // parameter and the losses of three AdamW steps agree. Weights after AdamW are not compared:
  // where a gradient is rounding noise around zero (a bias ahead of BatchNorm has a true gradient
  // of 0), Adam moves by +-lr whatever the noise's size, so the devices legitimately part there.
  const bool tf32 = at::globalContext().allowTF32CuDNN();
  at::globalContext().setAllowTF32CuDNN(false);
  cpu->train();
  gpu->train();
  torch::optim::AdamW oc(cpu->parameters(), torch::optim::AdamWOptions(1e-3));
  torch::optim::AdamW og(gpu->parameters(), torch::optim::AdamWOptions(1e-3));
  double loss_c = 0, loss_g = 0;
  for (int i = 0; i < 3; ++i) {
    auto l1 = torch::binary_cross_entropy_with_logits(cpu->forward(x), y);
    oc.zero_grad();
    l1.backward();
    oc.step();
    auto l2 = torch::binary_cross_entropy_with_logits(gpu->forward(x.cuda()), y.cuda());
    og.zero_grad();
    l2.backward();
    if (i == 0) {
      auto pc = cpu->parameters(), pg = gpu->parameters();
      double gmax = 0;
      for (auto& p : pc) gmax = std::max(gmax, p.grad().abs().max().item<double>());
      for (size_t k = 0; k < pc.size(); ++k) {
        const double scale = pc[k].grad().abs().max().item<double>();
        EXPECT_LE((pc[k].grad() - pg[k].grad().cpu()).abs().max().item<double>(), 1e-3 * scale + 1e-6 * gmax)
            << "parameter " << k;
      }
    }
    og.step();
    loss_c = l1.item<double>();
    loss_g = l2.item<double>();
    EXPECT_NEAR(loss_g, loss_c, 1e-4 * (1 + loss_c)) << "step " << i;
  }
  at::globalContext().setAllowTF32CuDNN(tf32);
}

INSTANTIATE_TEST_SUITE_P(Norms, CudaTest, ::testing::Values("group", "batch"));

TEST(Cuda, ResolveDevice) {
  REQUIRE_CUDA();
  EXPECT_TRUE(run::resolve_device("auto").is_cuda());
  EXPECT_TRUE(run::resolve_device("cuda").is_cuda());
  EXPECT_EQ(run::resolve_device("cuda:0"), torch::Device(torch::kCUDA, 0));
}

}  // namespace
}  // namespace scintigen::clf
