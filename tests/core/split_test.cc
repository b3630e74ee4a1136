// The grouped stratified split (core/split.h): quotas, tie-breaks, groups kept whole, strata
// balanced, independence of strata, determinism per seed and stream.
#include "core/split.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/shuffle.h"

namespace scintigen {
namespace {

TEST(Split, LargestRemainderQuotasAndTheirTieBreak) {
  using Q = std::vector<size_t>;
  EXPECT_EQ(largest_remainder_quotas(10, {0.8, 0.1, 0.1}), (Q{8, 1, 1}));
  EXPECT_EQ(largest_remainder_quotas(7, {0.8, 0.1, 0.1}), (Q{5, 1, 1}));               // 5.6, 0.7, 0.7
  EXPECT_EQ(largest_remainder_quotas(10, {1 / 3.0, 1 / 3.0, 1 / 3.0}), (Q{4, 3, 3}));  // tie: first listed
  EXPECT_EQ(largest_remainder_quotas(1, {0.5, 0.5}), (Q{1, 0}));
  EXPECT_EQ(largest_remainder_quotas(1, {0.4, 0.6}), (Q{0, 1}));
  EXPECT_EQ(largest_remainder_quotas(3, {0.5, 0.0, 0.5}), (Q{2, 0, 1}));  // a part of fraction 0 gets nothing
  EXPECT_EQ(largest_remainder_quotas(0, {0.8, 0.2}), (Q{0, 0}));
  EXPECT_EQ(largest_remainder_quotas(25, {0.1, 0.9}), (Q{3, 22}));  // 2.5 / 22.5: tie to the first
  EXPECT_EQ(largest_remainder_quotas(5, {1.0}), (Q{5}));
  for (size_t n = 0; n < 200; ++n) {
    const std::vector<double> f = {0.7, 0.2, 0.1};
    const Q q = largest_remainder_quotas(n, f);
    size_t sum = 0;
    for (size_t k = 0; k < f.size(); ++k) {
      EXPECT_LT(std::fabs(static_cast<double>(q[k]) - f[k] * n), 1.0) << n << " " << k;
      sum += q[k];
    }
    EXPECT_EQ(sum, n);
  }
  // weights need not sum to 1
  EXPECT_EQ(largest_remainder_quotas(9, {0.5, 0.4}), (Q{5, 4}));
  EXPECT_EQ(largest_remainder_quotas(10, {1, 1, 1}), (Q{4, 3, 3}));
  EXPECT_EQ(largest_remainder_quotas(7, {3, 0, 1}), (Q{5, 0, 2}));  // 5.25, 0, 1.75
  EXPECT_THROW(largest_remainder_quotas(3, {}), std::invalid_argument);
  EXPECT_THROW(largest_remainder_quotas(3, {0, 0}), std::invalid_argument);
  EXPECT_THROW(largest_remainder_quotas(3, {1.5, -0.5}), std::invalid_argument);
  EXPECT_THROW(largest_remainder_quotas(3, {NAN, 1}), std::invalid_argument);
}

// 600 items: subjects of 1-4 scans, a stratum per subject from 3 label tuples of unequal size.
std::vector<SplitItem> cohort(uint64_t seed) {
  Rng rng(seed);
  std::vector<SplitItem> items;
  for (int s = 0; items.size() < 600; ++s) {
    const std::string stratum = s % 5 == 0 ? "1|3|" : s % 5 < 3 ? "0|0|" : "0|2|";
    const int scans = 1 + static_cast<int>(bounded(rng, 4));
    for (int k = 0; k < scans; ++k) items.push_back({"subject:" + std::to_string(s), stratum});
  }
  for (int k = 0; k < 40; ++k) items.push_back({"", k % 2 ? "0|0|" : "1|3|"});  // single scans
  // interleave the subjects' scans, as in a real dataset
  shuffle(items.begin(), items.end(), rng);
  return items;
}

TEST(Split, KeepsGroupsWholeAndHitsQuotasWithinOneUnitPerStratum) {
  const auto items = cohort(1);
  const SplitSpec spec{{0.8, 0.1, 0.1}, 42, RandomStream::kDatasetSplit, false};
  const std::vector<size_t> part = grouped_stratified_split(items, spec);
  ASSERT_EQ(part.size(), items.size());
  std::map<std::string, size_t> unit_part;
  std::map<std::string, std::map<std::string, std::vector<size_t>>> per_stratum;  // stratum -> unit -> parts
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_LT(part[i], 3u);
    const std::string unit = items[i].unit.empty() ? "#" + std::to_string(i) : items[i].unit;
    auto [it, added] = unit_part.emplace(unit, part[i]);
    EXPECT_EQ(it->second, part[i]) << unit << " is split";
    if (added) per_stratum[items[i].stratum][unit].push_back(part[i]);
  }
  ASSERT_EQ(per_stratum.size(), 3u);
  for (const auto& [stratum, units] : per_stratum) {
    std::vector<size_t> count(3, 0);
    for (const auto& [unit, p] : units) count[p[0]]++;
    for (size_t k = 0; k < 3; ++k)
      EXPECT_LT(std::fabs(static_cast<double>(count[k]) - spec.fractions[k] * units.size()), 1.0)
          << stratum << " part " << k << ": " << count[k] << " of " << units.size();
  }
}

TEST(Split, IsDeterministicForASeedAndDiffersAcrossSeedsAndStreams) {
  const auto items = cohort(2);
  SplitSpec spec{{0.8, 0.1, 0.1}, 42, RandomStream::kDatasetSplit, false};
  const auto a = grouped_stratified_split(items, spec);
  EXPECT_EQ(a, grouped_stratified_split(items, spec));
  spec.seed = 43;
  const auto b = grouped_stratified_split(items, spec);
  EXPECT_NE(a, b);
  spec.seed = 42;
  spec.stream = RandomStream::kGenValSplit;
  const auto c = grouped_stratified_split(items, spec);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
  // Every seed puts scans in every part.
  spec.stream = RandomStream::kDatasetSplit;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    spec.seed = seed;
    std::vector<size_t> n(3, 0);
    for (size_t x : grouped_stratified_split(items, spec)) n[x]++;
    for (size_t k = 0; k < 3; ++k) EXPECT_GT(n[k], 0u) << seed;
  }
}

TEST(Split, StrataAreIndependent) {
  // Removing every item of one stratum leaves the other strata's parts unchanged.
  const auto items = cohort(3);
  const SplitSpec spec{{0.6, 0.2, 0.2}, 7, RandomStream::kDatasetSplit, false};
  const auto all = grouped_stratified_split(items, spec);
  std::vector<SplitItem> fewer;
  std::vector<size_t> kept;
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].stratum != "0|2|") fewer.push_back(items[i]), kept.push_back(i);
  const auto part = grouped_stratified_split(fewer, spec);
  for (size_t k = 0; k < kept.size(); ++k) EXPECT_EQ(part[k], all[kept[k]]) << k;
}

TEST(Split, GoldenSplitMatchesThePythonReference) {
  // tests/ref/shuffle_reference.py: {"kind": "split", "seed": 5, "stream": 21,
  //   "fractions": [0.6, 0.2, 0.2], "fill": false, "items": <below>}
  const std::vector<SplitItem> items = {{"a", "x"}, {"", "x"}, {"", "y"},  {"a", "y"}, {"", "x"},
                                        {"b", "x"}, {"", "x"}, {"b", "y"}, {"", "y"},  {"", "x"}};
  EXPECT_EQ(grouped_stratified_split(items, SplitSpec{{0.6, 0.2, 0.2}, 5, RandomStream::kDatasetSplit, false}),
            (std::vector<size_t>{0, 0, 0, 0, 0, 1, 0, 1, 1, 2}));
}

TEST(Split, FillEveryPartGivesEachPartAUnitWhenThereAreEnough) {
  // Two classes, 3 and 12 scans, 10% to part 0: round(0.3) = 0 would leave class 1 out of part
  // 0; with the fill each part gets at least one of each class.
  std::vector<SplitItem> items;
  for (int k = 0; k < 15; ++k) items.push_back({"", k < 3 ? "1" : "0"});
  SplitSpec spec{{0.1, 0.9}, 1, RandomStream::kClfValSplit, false};
  auto count = [&](const std::vector<size_t>& p, const std::string& stratum, size_t part) {
    size_t n = 0;
    for (size_t i = 0; i < items.size(); ++i) n += items[i].stratum == stratum && p[i] == part;
    return n;
  };
  auto p = grouped_stratified_split(items, spec);
  EXPECT_EQ(count(p, "1", 0), 0u);
  EXPECT_EQ(count(p, "0", 0), 1u);  // 1.2
  spec.fill_every_part = true;
  p = grouped_stratified_split(items, spec);
  EXPECT_EQ(count(p, "1", 0), 1u);
  EXPECT_EQ(count(p, "1", 1), 2u);
  EXPECT_EQ(count(p, "0", 0), 1u);
  // 0.9 to part 0 of two units: round gives 2 and 0; the fill moves one back.
  items = {{"", "a"}, {"", "a"}};
  spec.fractions = {0.9, 0.1};
  p = grouped_stratified_split(items, spec);
  EXPECT_EQ(count(p, "a", 0), 1u);
  EXPECT_EQ(count(p, "a", 1), 1u);
  // A single unit cannot fill two parts: it goes by the quotas.
  items = {{"", "a"}};
  p = grouped_stratified_split(items, spec);
  EXPECT_EQ(p, std::vector<size_t>{0});
}

TEST(Split, EmptyInputAndBadFractions) {
  EXPECT_TRUE(grouped_stratified_split({}, SplitSpec{{1.0}, 0, RandomStream::kDatasetSplit, false}).empty());
  EXPECT_THROW(grouped_stratified_split({{"", ""}}, SplitSpec{{0.5, 0.6}, 0, RandomStream::kDatasetSplit, false}),
               std::invalid_argument);
  EXPECT_THROW(grouped_stratified_split({{"", ""}}, SplitSpec{{}, 0, RandomStream::kDatasetSplit, false}),
               std::invalid_argument);
}

TEST(Split, Fnv1a64MatchesTheKnownVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

}  // namespace
}  // namespace scintigen
