// The portable shuffle (core/shuffle.h) and the named streams (core/random_streams.h): golden
// values from tests/ref/shuffle_reference.py, uniformity, and stream independence.
#include "core/shuffle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "core/random_streams.h"
#include "test_util.h"

namespace scintigen {
namespace {

// Computed by tests/ref/shuffle_reference.py (an independent Python implementation of
// xoshiro256**, the stream derivation, Lemire's draw and Fisher-Yates):
//   {"kind": "perm", "seed": 42, "stream": 32, "index": 0 | 1, "n": 20}
//   {"kind": "bounded", "seed": 7, "stream": 21, "index": 3, "n": 12297829382473034411, "count": 5}
// core_ref_test runs the script itself on many more cases.
TEST(Shuffle, GoldenPermutationMatchesThePythonReference) {
  Rng r0 = stream_rng(42, RandomStream::kGenDataOrder, 0);
  EXPECT_EQ(random_permutation<int>(20, r0),
            (std::vector<int>{7, 17, 0, 18, 2, 1, 11, 15, 3, 19, 4, 12, 14, 10, 16, 5, 8, 9, 6, 13}));
  Rng r1 = stream_rng(42, RandomStream::kGenDataOrder, 1);
  EXPECT_EQ(random_permutation<int>(20, r1),
            (std::vector<int>{14, 8, 13, 0, 5, 4, 15, 6, 18, 1, 3, 19, 7, 9, 2, 12, 11, 16, 17, 10}));
  Rng b = stream_rng(7, RandomStream::kDatasetSplit, 3);
  std::vector<uint64_t> draws;
  for (int i = 0; i < 5; ++i) draws.push_back(bounded(b, 12297829382473034411ull));
  EXPECT_EQ(draws, (std::vector<uint64_t>{5722558369311838820ull, 4769472403957074367ull, 431746425568886193ull,
                                          513952410172127819ull, 3533186814578018136ull}));
}

TEST(Shuffle, Mul64x64IsTheFullProduct) {
  uint64_t hi, lo;
  detail::mul_64x64(~0ull, ~0ull, &hi, &lo);  // (2^64 - 1)^2 = 2^128 - 2^65 + 1
  EXPECT_EQ(hi, ~0ull - 1);
  EXPECT_EQ(lo, 1u);
  detail::mul_64x64(0x123456789abcdef0ull, 0x0fedcba987654321ull, &hi, &lo);
  EXPECT_EQ(hi, 0x0121fa00ad77d742ull);
  EXPECT_EQ(lo, 0x2236d88fe5618cf0ull);
  detail::mul_64x64(1ull << 63, 2, &hi, &lo);
  EXPECT_EQ(hi, 1u);
  EXPECT_EQ(lo, 0u);
}

// All 24 orders of 4 items from 240000 shuffles of one stream: chi-square with 23 degrees of
// freedom below 71 (P(chi2_23 > 71) = 8.5e-7 under uniformity; the stream gives 21.95 in
// the Python reference).
TEST(Shuffle, AllPermutationsOfFourAreEquallyLikely) {
  Rng rng = stream_rng(1, RandomStream::kGenDataOrder, 0);
  std::map<std::vector<int>, int> counts;
  const int n = 240000;
  for (int k = 0; k < n; ++k) counts[random_permutation<int>(4, rng)]++;
  ASSERT_EQ(counts.size(), 24u);
  const double expected = n / 24.0;
  double chi2 = 0;
  for (const auto& [perm, c] : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_NEAR(chi2, 21.9548, 1e-9) << "the reference's value for this stream";
  EXPECT_LT(chi2, 71.0);
}

// n = 0xAAAAAAAAAAAAAAAB (about 2/3 of 2^64), where biased draws show plainly: `x % n` falls
// below n/2 with probability 2/3, and Lemire's multiply without the rejection step gives every
// other value two preimages, so even results with probability 2/3. The exact draw gives 1/2 for
// both (100000 draws: sd 0.0016, tolerance 0.008).
TEST(Shuffle, BoundedIsUnbiasedForALargeBound) {
  const uint64_t n = 0xAAAAAAAAAAAAAAABull;
  Rng rng = stream_rng(3, RandomStream::kDatasetSplit, 0);
  int below_half = 0, even = 0;
  const int draws = 100000;
  for (int k = 0; k < draws; ++k) {
    const uint64_t x = bounded(rng, n);
    ASSERT_LT(x, n);
    below_half += x < n / 2;
    even += x % 2 == 0;
  }
  EXPECT_NEAR(below_half / static_cast<double>(draws), 0.5, 0.008);
  EXPECT_NEAR(even / static_cast<double>(draws), 0.5, 0.008);
  EXPECT_EQ(bounded(rng, 0), 0u);
  EXPECT_EQ(bounded(rng, 1), 0u);
}

TEST(Shuffle, SmallBoundsAreUniform) {
  Rng rng = stream_rng(5, RandomStream::kGenValSplit, 0);
  std::vector<int> c(7, 0);
  for (int k = 0; k < 70000; ++k) c[bounded(rng, 7)]++;
  for (int v : c) EXPECT_NEAR(v, 10000, 500);  // sd 93
}

TEST(Shuffle, EmptyAndSingleRangesAndIteratorForm) {
  Rng rng(1);
  EXPECT_TRUE(random_permutation(0, rng).empty());
  EXPECT_EQ(random_permutation(1, rng), std::vector<size_t>{0});
  std::vector<std::string> v = {"a", "b", "c", "d", "e"};
  Rng a = stream_rng(9, RandomStream::kDatasetSplit), b = stream_rng(9, RandomStream::kDatasetSplit);
  shuffle(v.begin(), v.end(), a);
  const std::vector<size_t> p = random_permutation(5, b);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(v[i], std::string(1, static_cast<char>('a' + p[i])));
}

TEST(RandomStreams, AreForScanAndDistinct) {
  // stream_rng is Rng::for_scan, so the simulator's streams keep their values.
  Rng a = stream_rng(11, RandomStream::kSimNoise, 5), b = Rng::for_scan(11, 5, Rng::kNoiseStream);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(a.next(), b.next());
  const RandomStream all[] = {RandomStream::kSimPatient,  RandomStream::kSimNoise,    RandomStream::kClfEpochSampler,
                              RandomStream::kClfAugment,  RandomStream::kClfValSplit, RandomStream::kDatasetSplit,
                              RandomStream::kGenValSplit, RandomStream::kGenDataOrder};
  std::set<uint64_t> first;
  for (RandomStream s : all)
    for (uint64_t index : {0, 1})
      for (uint64_t seed : {0, 1}) first.insert(stream_rng(seed, s, index).next());
  EXPECT_EQ(first.size(), 8u * 2 * 2);
}

// docs/ARCHITECTURE.md rule 5: no std::shuffle or standard distributions in the libraries and
// the app (their output differs between standard libraries; the engines, such as the ROC
// bootstrap's std::mt19937_64, are fixed by the standard and allowed).
TEST(RandomStreams, NoStandardLibraryShuffleOrDistributionInTheSources) {
  for (const char* dir : {"src", "apps"})
    for (const auto& e : std::filesystem::recursive_directory_iterator(testing::source_path(dir))) {
      const std::string ext = e.path().extension().string();
      if (ext != ".cc" && ext != ".h") continue;
      const std::string text = read_file(e.path().string());
      for (const char* banned : {"std::shuffle(", "_distribution<", "std::random_shuffle", "std::rand("})
        EXPECT_EQ(text.find(banned), std::string::npos) << e.path() << " uses " << banned;
    }
}

}  // namespace
}  // namespace scintigen
