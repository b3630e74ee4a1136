// simulate_dataset: a whole dataset or nothing at `out`.
#include "pipeline/simulate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "data/dataset.h"
#include "test_util.h"

namespace scintigen {
namespace {

namespace fs = std::filesystem;

phantom::SimConfig small_run(uint64_t n) {
  phantom::SimConfig cfg;
  cfg.n = n;
  cfg.seed = 3;
  cfg.size.width = 64;
  cfg.size.height = 256;
  cfg.threads = 1;
  return cfg;
}

// The names in `dir`: the finished dataset only, no temporary folder beside it.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

TEST(SimulateDataset, WritesTheWholeDatasetThenRenamesIt) {
  testing::TempDir t;
  const SimulateResult r =
      simulate_dataset(phantom::load_site_profile("large_centre"), small_run(2), t / "a/ds", nullptr);
  EXPECT_EQ(r.scans, 2u);
  EXPECT_EQ(Dataset::open(t / "a/ds").records().size(), 2u);
  EXPECT_EQ(entries(t / "a"), std::vector<std::string>{"ds"});
}

TEST(SimulateDataset, RefusesAnExistingOutputAndBadConfigLeavingNothing) {
  testing::TempDir t;
  fs::create_directories(t / "old");
  const phantom::SiteProfile site = phantom::load_site_profile("large_centre");
  try {
    simulate_dataset(site, small_run(1), t / "old", nullptr);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), (t / "old") +
                                ": already exists; simulate writes a new dataset (hint: choose a new --out or "
                                "remove the old one)");
  }
  phantom::SimConfig bad = small_run(1);
  bad.shard_index = 5;
  EXPECT_THROW(simulate_dataset(site, bad, t / "new", nullptr), ConfigError);
  EXPECT_EQ(entries(t.path()), std::vector<std::string>{"old"});
}

}  // namespace
}  // namespace scintigen
