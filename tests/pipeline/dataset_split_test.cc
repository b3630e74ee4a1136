// `scintigen dataset split` (split_dataset) on a small dataset with subjects and labels: subjects
// stay whole, every stratum is cut within one unit of its quotas, the same seed gives the same
// split, another seed another one, and --ignore-subjects splits scans one by one.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/scan.h"
#include "data/dataset.h"
#include "pipeline/dataset_ops.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::TempDir;

// 90 subjects with 1-3 scans each; metastasis on every third subject; 12 scans without subject.
void make_subject_dataset(const std::string& dir) {
  Dataset ds = Dataset::create(dir, {{"command", "test"}});
  int id = 0;
  for (int s = 0; s < 90; ++s)
    for (int k = 0; k <= s % 3; ++k) {
      Scan scan = make_scan(8, 4);
      scan.id = "x" + std::to_string(id++);
      scan.labels.metastasis = s % 3 == 0;
      scan.labels.cardiac_grade = s % 2;
      scan.meta["subject"] = "p" + std::to_string(s);
      ds.add(scan);
    }
  for (int k = 0; k < 12; ++k) {
    Scan scan = make_scan(8, 4);
    scan.id = "x" + std::to_string(id++);
    scan.labels.metastasis = k % 2;
    ds.add(scan);
  }
  ds.commit();
}

std::map<std::string, std::string> splits_of(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (const auto& r : Dataset::open(dir).records()) m[r.id] = r.split;
  return m;
}

TEST(DatasetSplit, KeepsSubjectsWholeAndStrataWithinOneUnitOfTheQuotas) {
  TempDir t;
  make_subject_dataset(t / "ds");
  SplitConfig cfg;
  cfg.fractions = {{"train", 0.7}, {"val", 0.15}, {"test", 0.15}};
  cfg.stratify = {"metastasis"};
  cfg.seed = 4;
  const auto counts = split_dataset(t / "ds", cfg);
  size_t total = 0;
  for (const auto& [name, n] : counts) total += n;
  EXPECT_EQ(total, 192u);  // 90 subjects: 30 x (1 + 2 + 3) scans, plus 12
  std::map<std::string, std::string> subject_split;
  std::map<std::string, std::map<std::string, std::set<std::string>>> units;  // stratum -> split -> units
  for (const auto& r : Dataset::open(t / "ds").records()) {
    ASSERT_FALSE(r.split.empty()) << r.id;
    std::string unit = r.id;
    if (r.meta.contains("subject")) {
      unit = r.meta["subject"].get<std::string>();
      auto [it, added] = subject_split.emplace(unit, r.split);
      EXPECT_EQ(it->second, r.split) << "subject " << unit << " is split";
    }
    units[label_value(r.labels, "metastasis")][r.split].insert(unit);
  }
  ASSERT_EQ(units.size(), 2u);
  for (const auto& [stratum, by_split] : units) {
    size_t n = 0;
    for (const auto& [split, u] : by_split) n += u.size();
    for (const auto& [name, f] : cfg.fractions) {
      const size_t got = by_split.count(name) ? by_split.at(name).size() : 0;
      EXPECT_LT(std::fabs(static_cast<double>(got) - f * n), 1.0)
          << stratum << " " << name << ": " << got << " of " << n;
    }
  }
}

TEST(DatasetSplit, IsDeterministicForASeedAndDiffersForAnother) {
  TempDir t;
  make_subject_dataset(t / "ds");
  SplitConfig cfg;
  cfg.seed = 9;
  split_dataset(t / "ds", cfg);
  const auto a = splits_of(t / "ds");
  split_dataset(t / "ds", cfg);
  EXPECT_EQ(splits_of(t / "ds"), a);
  cfg.seed = 10;
  split_dataset(t / "ds", cfg);
  EXPECT_NE(splits_of(t / "ds"), a);
}

TEST(DatasetSplit, IgnoreSubjectsSplitsScansOneByOne) {
  TempDir t;
  make_subject_dataset(t / "ds");
  SplitConfig cfg;
  cfg.fractions = {{"a", 0.5}, {"b", 0.5}};
  cfg.stratify = {};
  cfg.by_subject = false;
  const auto counts = split_dataset(t / "ds", cfg);
  EXPECT_EQ(counts, (std::vector<std::pair<std::string, size_t>>{{"a", 96}, {"b", 96}}));
  // scans of one subject now land in different splits
  bool some_subject_split = false;
  std::map<std::string, std::string> seen;
  for (const auto& r : Dataset::open(t / "ds").records())
    if (r.meta.contains("subject")) {
      auto [it, added] = seen.emplace(r.meta["subject"].get<std::string>(), r.split);
      some_subject_split |= it->second != r.split;
    }
  EXPECT_TRUE(some_subject_split);
}

}  // namespace
}  // namespace scintigen
