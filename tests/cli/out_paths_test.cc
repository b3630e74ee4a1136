// Every command that writes takes an output path whose parent folders do not exist yet
// (`--out a/b/c`) and creates them, as `mkdir -p` would; a path through a file is refused
// with the file named, exit 2, nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

// One small simulated dataset (two classes present), shared by the tests below.
class OutPaths : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto r = sg("simulate --site generator_train --n 40 --seed 5 --size 32x128 -q --out " + (*dir_ / "deep/er/sim"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string sim() { return *dir_ / "deep/er/sim"; }
  static TempDir* dir_;
  TempDir t_;
};
TempDir* OutPaths::dir_ = nullptr;

TEST_F(OutPaths, SimulateCreatesParents) {
  EXPECT_TRUE(fs::exists(sim() + "/dataset.json"));
}

TEST_F(OutPaths, IngestDatasetReportAndKeyFile) {
  auto r = sg("ingest " + shared_data("dicom/wholebody/NM1_UNC.dcm") + " -q --out " + (t_ / "a/b/ds") + " --report " +
              (t_ / "r/s/report.json") + " --key-file " + (t_ / "k/l/keys.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "a/b/ds/dataset.json"));
  EXPECT_TRUE(fs::exists(t_ / "r/s/report.json"));
  EXPECT_TRUE(fs::exists(t_ / "k/l/keys.csv"));
  r = sg("ingest " + shared_data("dicom/wholebody/NM1_UNC.dcm") + " -q --dry-run --report " + (t_ / "d/e/dry.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "d/e/dry.json"));
}

TEST_F(OutPaths, DatasetExportAndMerge) {
  for (const std::string fmt : {"dicom", "png16", "preview", "sheet"}) {
    auto r = sg("dataset export " + sim() + " --format " + fmt + " -q --out " + (t_ / ("x/" + fmt + "/out")));
    ASSERT_EQ(r.exit_code, 0) << fmt << ": " << r.output;
    EXPECT_TRUE(fs::exists(t_ / ("x/" + fmt + "/out/export.json"))) << fmt;
  }
  auto r = sg("simulate --site small_centre --n 2 --seed 6 --size 32x128 -q --out " + (t_ / "other"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = sg("dataset merge " + sim() + " " + (t_ / "other") + " -q --out " + (t_ / "m/n/merged"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "m/n/merged/dataset.json"));
}

TEST_F(OutPaths, TrainGenerateAndModelCheck) {
  auto r =
      sg("train --data " + sim() + " --preset tiny --steps 2 --batch 4 --threads 1 -q --out " + (t_ / "a/b/model"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "a/b/model/model.json"));
  r = sg("generate --model " + (t_ / "a/b/model") + " --n 2 --steps 2 --seed 1 -q --out " + (t_ / "c/d/gen"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "c/d/gen/dataset.json"));
  r = sg("generate --model " + (t_ / "a/b/model") + " --n 2 --steps 2 --seed 1 --format dicom -q --out " +
         (t_ / "e/f/dcm"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "e/f/dcm"));
}

TEST_F(OutPaths, ClassifyTrainAndEvalReportAndHtml) {
  const std::string flags = " --height 128 --width 32 --base-width 8 --batch 8 --threads 1 --epochs 1 --seed 1 --quiet";
  auto r = sg("classify train --task metastasis --train " + sim() + flags + " --out " + (t_ / "a/b/clf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = sg("classify eval --model " + (t_ / "a/b/clf") + " --data " + sim() + " --quiet --out " + (t_ / "r/s/rep.json") +
         " --html " + (t_ / "h/i/rep.html"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "r/s/rep.json"));
  EXPECT_TRUE(fs::exists(t_ / "h/i/rep.html"));
}

TEST_F(OutPaths, StatsCurves) {
  std::ofstream(t_ / "s.csv") << "label,score\n1,0.9\n0,0.1\n1,0.4\n0,0.6\n1,0.8\n0,0.3\n";
  auto r = sg("stats auc --scores " + (t_ / "s.csv") + " --roc " + (t_ / "a/b/roc.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "a/b/roc.csv"));
}

TEST_F(OutPaths, DemoCreatesParents) {
  auto r = sg("demo -q --out " + (t_ / "a/b/demo"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t_ / "a/b/demo/synthetic"));
}

TEST_F(OutPaths, APathThroughAFileIsRefused) {
  std::ofstream(t_ / "file") << "x";
  auto r = sg("simulate --site small_centre --n 1 --seed 1 --size 32x128 -q --out " + (t_ / "file/sub/ds"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: " + (t_ / "file/sub/ds")), std::string::npos) << r.output;
  r = sg("stats auc --scores " + (t_ / "file") + " --roc " + (t_ / "file/roc.csv"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_regular_file(t_ / "file"));
}

}  // namespace
}  // namespace scintigen
