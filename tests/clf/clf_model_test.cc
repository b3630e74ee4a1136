// The classifier network against tests/ref/clf_reference.py (plain PyTorch functional ops in
// float64 on the same weights and input), plus shapes, the input transform and save/load.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "clf/model.h"
#include "core/error.h"
#include "test_util.h"

namespace scintigen::clf {
namespace {

using testing::TempDir;

void write_f32(const std::string& path, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat32).contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * sizeof(float));
}

torch::Tensor read_f32(const std::string& path, std::vector<int64_t> shape) {
  auto t = torch::empty(shape, torch::kFloat32);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(t.data_ptr<float>()), t.numel() * sizeof(float));
  EXPECT_TRUE(f.good()) << path;
  return t;
}

ClassifierNetConfig small_config(const std::string& norm) {
  ClassifierNetConfig c;
  c.height = 64;
  c.width = 32;
  c.base_width = 8;
  c.blocks = {1, 2, 1};
  c.norm = norm;
  c.pool = norm == "batch" ? "avgmax" : "avg";         // both poolings and both transforms
  c.transform = norm == "batch" ? "anscombe" : "log";  // against the reference
  return c;
}

// Random weights, BatchNorm statistics and affine parameters, so every term matters.
void randomize(ClassifierNet& net) {
  torch::NoGradGuard g;
  for (auto& p : net->named_parameters()) {
    if (p.key().find("norm") != std::string::npos)
      p.value().copy_(p.key().find("weight") != std::string::npos ? 1 + 0.2 * torch::randn_like(p.value())
                                                                  : 0.1 * torch::randn_like(p.value()));
    else
      p.value().copy_(0.2 * torch::randn_like(p.value()));
  }
  for (auto& b : net->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().copy_(0.1 * torch::randn_like(b.value()));
    if (b.key().find("running_var") != std::string::npos) b.value().copy_(0.5 + torch::rand_like(b.value()));
  }
}

class ReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceTest, ForwardAndEmbedMatchPlainPyTorch) {
  torch::manual_seed(3);
  ClassifierNetConfig cfg = small_config(GetParam());
  ClassifierNet net(cfg);
  randomize(net);
  net->eval();
  // Counts of very different totals, and one scan with a zero view.
  auto x = torch::floor(torch::rand({3, 2, cfg.height, cfg.width}) * 50);  // (B, 2, H, W)
  x[1] *= 20;
  x[2][1].zero_();

  TempDir dir;
  nlohmann::json index = {{"config", cfg.to_json()}};
  int k = 0;
  auto put = [&](const std::string& name, const torch::Tensor& t) {
    const std::string file = "t" + std::to_string(k++) + ".bin";
    write_f32(dir / file, t);
    index["tensors"][name] = {{"file", file}, {"shape", t.sizes().vec()}};
  };
  for (auto& p : net->named_parameters()) put(p.key(), p.value());
  for (auto& b : net->named_buffers())
    if (b.key().find("num_batches_tracked") == std::string::npos) put(b.key(), b.value());
  write_f32(dir / "input.bin", x);
  index["input"] = {{"file", "input.bin"}, {"shape", x.sizes().vec()}};
  std::ofstream(dir / "index.json") << index.dump(1);

  auto r = testing::run_command(testing::python() + " " + testing::source_path("tests/ref/clf_reference.py") + " " +
                                dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;

  torch::NoGradGuard g;
  auto logits = net->forward(x);  // (B)
  auto emb = net->embed(x);       // (B, D)
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3}));
  ASSERT_EQ(emb.sizes(), (std::vector<int64_t>{3, cfg.embedding_dim()}));
  auto ref_logits = read_f32(dir / "logits.bin", {3});
  auto ref_emb = read_f32(dir / "embed.bin", {3, cfg.embedding_dim()});
  // Tolerance: float32 LibTorch against the float64 reference, |a - b| <= 1e-4 + 1e-4 |b|.
  EXPECT_TRUE(torch::allclose(logits, ref_logits, 1e-4, 1e-4))
      << logits << "\nvs\n"
      << ref_logits << "\nmax diff " << (logits - ref_logits).abs().max().item<float>();
  EXPECT_TRUE(torch::allclose(emb, ref_emb, 1e-4, 1e-4)) << "max diff " << (emb - ref_emb).abs().max().item<float>();
}

INSTANTIATE_TEST_SUITE_P(Norms, ReferenceTest, ::testing::Values("batch", "group"));

TEST(ClassifierNet, InputTransformIgnoresTotalCounts) {
  torch::manual_seed(1);
  auto x = torch::rand({2, 2, 32, 16}) * 30;  // (B, 2, H, W)
  for (const char* t : {"anscombe", "log"}) {
    auto a = normalize_counts(x, t);
    EXPECT_NEAR(a[0].mean().item<float>(), 0.0f, 1e-5) << t;
    EXPECT_NEAR(a[0].std(/*unbiased=*/false).item<float>(), 1.0f, 1e-3) << t;
  }
  // A constant offset in log space cancels: log1p(c) ~ log(c) for large counts, so scaling by
  // 100 gives nearly the same input; sqrt(c + 3/8) ~ sqrt(c) is scaled by 10, which the
  // standardisation removes.
  auto big = torch::rand({1, 2, 32, 16}) * 1000 + 1000;
  for (const char* t : {"anscombe", "log"})
    EXPECT_LT((normalize_counts(big, t) - normalize_counts(big * 100, t)).abs().max().item<float>(), 1e-2) << t;
}

TEST(ClassifierNet, SaveLoadRoundTripAndErrors) {
  torch::manual_seed(2);
  ClassifierNetConfig cfg = small_config("batch");
  ClassifierNet a(cfg), b(cfg);
  randomize(a);
  a->eval();
  b->eval();
  TempDir dir;
  save_net(a, dir / "w.pt");
  load_net(b, dir / "w.pt", torch::kCPU);
  auto x = torch::rand({2, 2, cfg.height, cfg.width}) * 10;
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
  EXPECT_THROW(load_net(b, dir / "missing.pt", torch::kCPU), InputError);
  ClassifierNetConfig other = cfg;
  other.base_width = 16;
  ClassifierNet c(other);
  EXPECT_THROW(load_net(c, dir / "w.pt", torch::kCPU), InputError);
  EXPECT_THROW(load_classifier(dir / "nope", torch::kCPU), InputError);
}

TEST(ClassifierNet, ConfigValidation) {
  ClassifierNetConfig c;
  EXPECT_NO_THROW(c.validate());
  c.norm = "layer";
  EXPECT_THROW(c.validate(), ConfigError);
  c = ClassifierNetConfig();
  c.pool = "max";
  EXPECT_THROW(c.validate(), ConfigError);
  c = ClassifierNetConfig();
  c.height = 8;  // four stages need 16
  EXPECT_THROW(c.validate(), ConfigError);
  c = ClassifierNetConfig();
  EXPECT_EQ(ClassifierNetConfig::from_json(c.to_json(), "t").to_json(), c.to_json());
}

}  // namespace
}  // namespace scintigen::clf
