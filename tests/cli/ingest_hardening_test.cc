// The binary on the files that used to crash it (alone and in a batch with the public NM1
// sample), and scintigen's own exports going round export -> ingest with their origin kept.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/dataset.h"
#include "io/dicom_fixtures.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace scintigen {
namespace {

using testing::run_command;
using testing::shared_data;
using testing::TempDir;

testing::CommandResult sg(const std::string& args) {
  return run_command(testing::scintigen_binary() + " " + args);
}

// The two crash classes of the issue, written by the io fixtures: sequences nested 20,000
// deep (closed and truncated), and 16-bit signed lossy JPEG 2000 whole-body images.
class CrashFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(t_ / "crash");
    files_ = testing::write_crash_files(t_ / "crash");
    ASSERT_EQ(files_.size(), 4u);
  }
  std::string file(const std::string& name) const { return t_ / ("crash/" + name); }
  TempDir t_;
  std::vector<std::string> files_;
};

TEST_F(CrashFiles, EachAloneFailsCleanlyOrGoesIn) {
  for (const std::string name : {"deep_nesting_20000.dcm", "deep_nesting_truncated.dcm"})
    for (const std::string& mode : {std::string("--dry-run"), "--out " + (t_ / ("ds_" + name))}) {
      auto r = sg("ingest " + file(name) + " " + mode + " -q");
      EXPECT_EQ(r.exit_code, 2) << name << " " << mode << "\n" << r.output;
      EXPECT_EQ(
          r.output,
          "error: 1 of 1 files rejected, by reason:\n  1 x sequences nested deeper than 64 levels (hint: no image "
          "needs this; the file is corrupt or crafted) (first: " +
              file(name) + ")\n");
    }
  for (const std::string name : {"signed_jp2k_1024x256.dcm", "signed_jp2k_256x1024.dcm"})
    for (const std::string& mode : {std::string("--dry-run"), "--out " + (t_ / ("ds_" + name))}) {
      auto r = sg("ingest " + file(name) + " " + mode + " -q");
      EXPECT_EQ(r.exit_code, 0) << name << " " << mode << "\n" << r.output;
    }
  const auto recs = Dataset::open(t_ / "ds_signed_jp2k_1024x256.dcm").records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].origin, Origin::kReal);
}

// With the five NM1 files (one real whole-body scan in five transfer syntaxes): the NM1 files
// and the signed JPEG 2000 files go in, the nested files are rejected, exit 1; isolated or
// not, the same ids and pixels.
TEST_F(CrashFiles, InABatchWithTheFiveNm1FilesTheGoodOnesGoIn) {
  std::error_code ec;
  fs::create_directories(t_ / "batch", ec);
  for (const std::string& f : files_) fs::copy_file(f, t_ / ("batch/" + fs::path(f).filename().string()), ec);
  for (auto& e : fs::directory_iterator(shared_data("dicom/wholebody")))
    if (e.path().extension() == ".dcm") fs::copy_file(e.path(), t_ / ("batch/" + e.path().filename().string()), ec);
  std::vector<std::vector<std::pair<std::string, std::string>>> runs;
  for (const std::string mode : {"", "--no-isolation", "--threads 1"}) {
    const std::string out = t_ / ("out" + std::to_string(runs.size()));
    auto r = sg("ingest " + (t_ / "batch") + " " + mode + " -q --out " + out);
    EXPECT_EQ(r.exit_code, 1) << mode << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("error: 2 of 9 files rejected, by reason:\n", 0), 0u) << r.output;
    std::vector<std::pair<std::string, std::string>> recs;
    for (const auto& rec : Dataset::open(out).records()) recs.emplace_back(rec.id, rec.pixel_sha256);
    EXPECT_EQ(recs.size(), 7u) << mode;
    runs.push_back(recs);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  auto r = sg("ingest " + (t_ / "batch") + " --dry-run -q");
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

// Provenance survives export -> ingest: a simulated scan and a synthetic one, exported to
// DICOM, are refused as patients' scans, and with --allow-synthetic keep origin and source.
TEST(OwnExports, SimulatedAndSyntheticScansKeepTheirOriginThroughDicom) {
  TempDir t;
  ASSERT_EQ(sg("simulate --site small_centre --n 2 --seed 3 --size 32x128 -q --out " + (t / "sim")).exit_code, 0);
  ASSERT_EQ(sg("dataset export " + (t / "sim") + " --format dicom -q --out " + (t / "sim_dcm")).exit_code, 0);
  ASSERT_EQ(sg("generate --model builtin --n 2 --steps 2 --seed 4 --condition metastasis=1 --format dicom -q --out " +
               (t / "gen_dcm"))
                .exit_code,
            0);
  for (const std::string dir : {"sim_dcm", "gen_dcm"}) {
    const std::string kind = dir == "sim_dcm" ? "simulated" : "synthetic";
    auto r = sg("ingest " + (t / dir) + " -q --out " + (t / (dir + "_refused")));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("a " + kind +
                            " scan made by scintigen, not a patient's (hint: ingest it with --allow-synthetic)"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(t / (dir + "_refused")));
    r = sg("ingest " + (t / dir) + " --allow-synthetic -q --out " + (t / (dir + "_ds")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const Dataset sim = Dataset::open(t / "sim"), back = Dataset::open(t / "sim_dcm_ds");
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Scan a = sim.load(sim.records()[i].id), b = back.load(back.records()[i].id);
    EXPECT_EQ(b.origin, Origin::kSimulated);
    EXPECT_EQ(b.source, a.source);
    EXPECT_EQ(b.pixels, a.pixels);
  }
  const Dataset gen = Dataset::open(t / "gen_dcm_ds");
  ASSERT_EQ(gen.size(), 2u);
  for (const auto& rec : gen.records()) {
    const Scan s = gen.load(rec.id);
    EXPECT_EQ(s.origin, Origin::kSynthetic);
    EXPECT_EQ(s.source.rfind("model:", 0), 0u) << s.source;
    ASSERT_TRUE(s.meta.contains("provenance")) << s.meta.dump();
    EXPECT_EQ(s.meta["provenance"]["seed"], 4) << s.meta.dump();
    EXPECT_EQ(s.meta["provenance"]["model_sha256"].get<std::string>().size(), 64u) << s.meta.dump();
  }
}

}  // namespace
}  // namespace scintigen
