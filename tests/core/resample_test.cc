#include "core/resample.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace scintigen {
namespace {

double sum(const std::vector<float>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

TEST(Resample, PreservesTotalCountsForAnyRatio) {
  std::mt19937 rng(7);
  std::poisson_distribution<int> pois(20);
  std::vector<float> in(1024 * 256);
  for (auto& x : in) x = static_cast<float>(pois(rng));
  for (auto [h, w] : std::vector<std::pair<int, int>>{{256, 64}, {512, 128}, {1000, 250}, {2048, 512}, {777, 333}}) {
    auto out = resample_counts(in, 1024, 256, h, w);
    ASSERT_EQ(out.size(), static_cast<size_t>(h) * w);
    EXPECT_NEAR(sum(out), sum(in), 1e-6 * sum(in)) << h << "x" << w;
  }
}

TEST(Resample, IntegerDownsamplingSumsBlocks) {
  // 4x4 -> 2x2: each output is the sum of a 2x2 block (exact reference).
  std::vector<float> in(16);
  std::iota(in.begin(), in.end(), 0.f);
  auto out = resample_counts(in, 4, 4, 2, 2);
  EXPECT_FLOAT_EQ(out[0], 0 + 1 + 4 + 5);
  EXPECT_FLOAT_EQ(out[1], 2 + 3 + 6 + 7);
  EXPECT_FLOAT_EQ(out[2], 8 + 9 + 12 + 13);
  EXPECT_FLOAT_EQ(out[3], 10 + 11 + 14 + 15);
}

TEST(Resample, UpsamplingSplitsCountsEvenly) {
  std::vector<float> in = {8.f};
  auto out = resample_counts(in, 1, 1, 2, 2);
  for (float v : out) EXPECT_FLOAT_EQ(v, 2.f);
  // Identity grid changes nothing.
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(resample_counts(a, 2, 3, 2, 3), a);
}

}  // namespace
}  // namespace scintigen
