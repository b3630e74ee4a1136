// core/shuffle.h and core/split.h against tests/ref/shuffle_reference.py, an independent Python
// implementation: permutations, bounded draws, quotas and whole splits must match exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "core/random_streams.h"
#include "core/shuffle.h"
#include "core/split.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::TempDir;

TEST(RandomReference, ShuffleBoundedQuotasAndSplitMatchPython) {
  nlohmann::json cases = nlohmann::json::array();
  nlohmann::json expected = nlohmann::json::array();
  const uint64_t streams[] = {1, 2, 11, 12, 13, 21, 31, 32};
  // Permutations.
  for (uint64_t seed : {0ull, 1ull, 42ull, ~0ull})
    for (uint64_t stream : streams)
      for (uint64_t index : {0ull, 1ull, 1000ull})
        for (size_t n : {0, 1, 2, 3, 10, 257}) {
          cases.push_back({{"kind", "perm"}, {"seed", seed}, {"stream", stream}, {"index", index}, {"n", n}});
          Rng rng = stream_rng(seed, static_cast<RandomStream>(stream), index);
          expected.push_back(random_permutation(n, rng));
        }
  // Bounded draws, including bounds where the rejection step runs often.
  for (uint64_t n : {1ull, 2ull, 3ull, 7ull, (1ull << 32) + 1, 0xAAAAAAAAAAAAAAABull, (1ull << 63) + 1, ~0ull}) {
    cases.push_back({{"kind", "bounded"}, {"seed", 9}, {"stream", 21}, {"index", n % 5}, {"n", n}, {"count", 200}});
    Rng rng = stream_rng(9, RandomStream::kDatasetSplit, n % 5);
    std::vector<uint64_t> d;
    for (int k = 0; k < 200; ++k) d.push_back(bounded(rng, n));
    expected.push_back(d);
  }
  // Quotas.
  const std::vector<std::vector<double>> fractions = {{0.8, 0.1, 0.1},
                                                      {0.7, 0.15, 0.15},
                                                      {0.05, 0.95},
                                                      {0.2, 0.8},
                                                      {1 / 3.0, 1 / 3.0, 1 / 3.0},
                                                      {0.5, 0.0, 0.5},
                                                      {1.0}};
  std::vector<std::vector<double>> weights = fractions;
  weights.push_back({3.0, 1.0, 0.0, 2.5});  // weights need not sum to 1 (generate --mix)
  for (const auto& f : weights)
    for (size_t n = 0; n < 60; ++n) {
      cases.push_back({{"kind", "quotas"}, {"n", n}, {"fractions", f}});
      expected.push_back(largest_remainder_quotas(n, f));
    }
  // Whole splits of random cohorts: subjects, single scans, strata, with and without the fill.
  Rng gen(5);
  for (int c = 0; c < 24; ++c) {
    nlohmann::json items = nlohmann::json::array();
    std::vector<SplitItem> split_items;
    const size_t n = 1 + bounded(gen, 300);
    for (size_t i = 0; i < n; ++i) {
      SplitItem it;
      if (bounded(gen, 3) != 0) it.unit = "s" + std::to_string(bounded(gen, n / 2 + 1));
      it.stratum = std::to_string(bounded(gen, 1 + c % 4)) + "|";
      items.push_back({it.unit, it.stratum});
      split_items.push_back(it);
    }
    const auto& f = fractions[c % fractions.size()];
    const bool fill = c % 2 == 1;
    const uint64_t seed = gen.next(), stream = streams[c % 8];
    cases.push_back(
        {{"kind", "split"}, {"seed", seed}, {"stream", stream}, {"fractions", f}, {"fill", fill}, {"items", items}});
    expected.push_back(
        grouped_stratified_split(split_items, SplitSpec{f, seed, static_cast<RandomStream>(stream), fill}));
  }

  TempDir dir;
  write_file_atomic(dir / "cases.json", cases.dump());
  const auto r = testing::run_command(testing::python() + " " + testing::source_path("tests/ref/shuffle_reference.py") +
                                      " " + (dir / "cases.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json got = nlohmann::json::parse(r.output);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], expected[k]) << cases[k].dump().substr(0, 300);
}

}  // namespace
}  // namespace scintigen
