// `scintigen simulate`: datasets, shards, and bad input that leaves nothing behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "data/dataset.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::run_command;
using testing::scintigen_binary;
using testing::TempDir;
namespace fs = std::filesystem;

std::string sim(const std::string& args) {
  const bool sized = args.find("--size") != std::string::npos;
  return scintigen_binary() + " simulate --site large_centre " + (sized ? "" : "--size 64x256 ") + "--quiet " + args;
}

std::set<std::pair<std::string, std::string>> ids_and_hashes(const std::string& dir) {
  std::set<std::pair<std::string, std::string>> s;
  for (const auto& r : Dataset::open(dir).records()) s.emplace(r.id, r.pixel_sha256);
  return s;
}

TEST(SimulateCli, WritesADatasetAndShardsMergeToTheWholeRun) {
  TempDir t;
  auto r = run_command(sim("--n 5 --seed 3 --out " + t / "all"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto whole = ids_and_hashes(t / "all");
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(whole.begin()->first, "sim000000");
  std::set<std::pair<std::string, std::string>> merged;
  for (const char* s : {"0/2", "1/2"}) {
    r = run_command(sim("--n 5 --seed 3 --shard " + std::string(s) + " --out " + t / ("shard" + std::string(1, s[0]))));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const auto& x : ids_and_hashes(t / ("shard" + std::string(1, s[0])))) merged.insert(x);
  }
  EXPECT_EQ(merged, whole);
  const Scan s = Dataset::open(t / "all").load("sim000002");
  EXPECT_EQ(s.labels.site, "large_centre");
  EXPECT_TRUE(s.meta["patient"].contains("lesions"));
}

struct BadCase {
  std::string args, expected;
};

TEST(SimulateCli, BadInputExitsTwoAndLeavesNothing) {
  TempDir t;
  const std::string out = t / "ds";
  const std::vector<BadCase> cases = {
      {"--n 2 --site nowhere --out " + out, "error: --site: unknown site profile 'nowhere' (hint: available: ext_a"},
      {"--n 2 --prevalence metastasis=2 --out " + out, "error: --prevalence: metastasis is '2', not a probability"},
      {"--n 2 --shard 3/3 --out " + out, "error: --shard: '3/3' is not a valid shard (hint: give i/n with 0 <= i < n"},
      {"--n 2 --size 10 --out " + out, "error: --size: invalid size '10'"},
      {"--n 0 --out " + out, "error: --n: is 0, outside the allowed range (hint: allowed: 1..100000000 scans)"},
  };
  for (const auto& c : cases) {
    // --site given twice would be a usage error: the first case replaces the default one.
    std::string cmd = sim(c.args);
    if (c.args.find("--site nowhere") != std::string::npos)
      cmd = scintigen_binary() + " simulate --size 64x256 --quiet " + c.args;
    const auto r = run_command(cmd);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_TRUE(fs::is_empty(t.path())) << c.args;
  }
  // A malformed profile file names the file and the field.
  {
    std::FILE* f = std::fopen((t / "bad.json").c_str(), "w");
    std::fputs("{\"name\": \"bad\", \"camera\": {\"pixel_mm\": 0.1}}", f);
    std::fclose(f);
    const auto r =
        run_command(scintigen_binary() + " simulate --n 1 --quiet --site " + t / "bad.json" + " --out " + out);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("error: " + t / "bad.json" +
                            ": field 'camera.pixel_mm' is 0.1, outside the allowed range (hint: allowed: 0.5..6 mm)"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(out));
  }
  // An existing output is never touched.
  fs::create_directory(out);
  const auto r = run_command(sim("--n 1 --out " + out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
}

TEST(SimulateCli, UnwritableParentIsRejected) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write anywhere";
  TempDir t;
  fs::create_directory(t / "ro");
  fs::permissions(t / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  const auto r = run_command(sim("--n 1 --out " + t / "ro/ds"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("is not writable"), std::string::npos) << r.output;
  fs::permissions(t / "ro", fs::perms::owner_all);
}

}  // namespace
}  // namespace scintigen
