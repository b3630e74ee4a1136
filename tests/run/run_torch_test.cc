// The tensor side of the run harness (src/run/torch.h): device strings resolve to devices (or a
// clear error when CUDA, or that CUDA device, is absent), and a checkpoint's archive round-trips.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fs_util.h"
#include "run/torch.h"
#include "test_util.h"

namespace scintigen::run {
namespace {

using scintigen::testing::TempDir;

TEST(ResolveDevice, CpuCudaCudaNAutoAndBadNames) {
  EXPECT_TRUE(resolve_device("cpu").is_cpu());
  const bool cuda = torch::cuda::is_available();
  const int count = cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  EXPECT_EQ(resolve_device("auto").is_cuda(), cuda);
  if (cuda) {
    EXPECT_TRUE(resolve_device("cuda").is_cuda());
    EXPECT_EQ(resolve_device("cuda:0"), torch::Device(torch::kCUDA, 0));
  } else {
    try {
      resolve_device("cuda");
      FAIL() << "cuda without a CUDA device";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.describe(),
                "--device: cuda requested but no CUDA device is available to this LibTorch (hint: use --device cpu or "
                "auto, or build against a CUDA LibTorch (docs/GPU.md))");
    }
  }
  if (count >= 2) {
    EXPECT_EQ(resolve_device("cuda:1"), torch::Device(torch::kCUDA, 1));
  } else {
    try {
      resolve_device("cuda:1");
      FAIL() << "cuda:1 with " << count << " device(s)";
    } catch (const ConfigError& e) {
      EXPECT_NE(e.reason().find("cuda:1 requested"), std::string::npos) << e.describe();
    }
  }
  try {
    resolve_device("bad", "--device");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.reason(), "is 'bad', expected cpu | cuda | cuda:N | auto");
  }
  EXPECT_THROW(resolve_device("cuda:x"), ConfigError);
}

TEST(CheckpointArchive, RoundTripsTensorsAndState) {
  TempDir t;
  torch::serialize::OutputArchive out;
  const auto w = torch::arange(12, torch::kFloat).reshape({3, 4});
  out.write("w", w);
  out.write("step", torch::tensor({int64_t{7}}));
  save_checkpoint(t.path(), out, {{"step", 7}});
  const auto c = find_checkpoint(t.path());
  ASSERT_TRUE(c.has_value());
  torch::serialize::InputArchive in;
  const nlohmann::json state = load_checkpoint(*c, in);
  EXPECT_EQ(state["step"], 7);
  torch::Tensor w2, step;
  in.read("w", w2);
  in.read("step", step);
  EXPECT_TRUE(torch::equal(w, w2));
  EXPECT_EQ(step.item<int64_t>(), 7);
  // An archive LibTorch cannot read (with a matching hash: written so) is an InputError naming it.
  write_checkpoint(t.path(), "not an archive", {{"step", 8}});
  torch::serialize::InputArchive bad;
  try {
    load_checkpoint(*find_checkpoint(t.path()), bad);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), find_checkpoint(t.path())->tensors);
  }
}

}  // namespace
}  // namespace scintigen::run
