// `scintigen audit` and `scintigen audit encoder` through the binary: the files they write, the
// summary lines, the membership section with the shipped model, and bad input (exit 2, one
// error line naming the flag).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "test_util.h"

namespace scintigen {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::scintigen_binary;
using testing::TempDir;

class AuditCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string b = scintigen_binary(), d = dir_->path();
    for (const auto& [name, n, seed] : std::vector<std::tuple<std::string, int, int>>{
             {"enc_data", 160, 201}, {"real", 60, 202}, {"train", 60, 203}}) {
      const auto r = run_command(b + " simulate --site generator_train --n " + std::to_string(n) + " --seed " +
                                 std::to_string(seed) + " --size 64x256 -q --out " + d + "/" + name);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    ASSERT_EQ(
        run_command(b + " dataset split " + d + "/enc_data --fractions train=0.6,val=0.2,test=0.2 --seed 1").exit_code,
        0);
    const auto e =
        run_command(b + " audit encoder --data " + d + "/enc_data --out " + d + "/enc --epochs 2 --threads 1 -q");
    ASSERT_EQ(e.exit_code, 0) << e.output;
    encoder_output_ = new std::string(e.output);
    const auto g =
        run_command(b + " generate --model builtin --n 24 --steps 4 --seed 5 --threads 1 -q --out " + d + "/syn");
    ASSERT_EQ(g.exit_code, 0) << g.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete encoder_output_;
  }
  static TempDir* dir_;
  static std::string* encoder_output_;
};
TempDir* AuditCli::dir_ = nullptr;
std::string* AuditCli::encoder_output_ = nullptr;

TEST_F(AuditCli, EncoderFolderAndProbes) {
  const std::string d = dir_->path();
  EXPECT_TRUE(fs::is_regular_file(d + "/enc/encoder.json"));
  EXPECT_TRUE(fs::is_regular_file(d + "/enc/ENCODER_CARD.md"));
  EXPECT_TRUE(fs::is_regular_file(d + "/enc/metastasis/best.pt"));
  EXPECT_TRUE(fs::is_regular_file(d + "/enc/cardiac/best.pt"));
  EXPECT_NE(encoder_output_->find("probe metastasis"), std::string::npos) << *encoder_output_;
  EXPECT_NE(encoder_output_->find("probe perugini_ge2"), std::string::npos) << *encoder_output_;
  const auto info = nlohmann::json::parse(read_file(d + "/enc/encoder.json"));
  EXPECT_EQ(info["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(info["feature_map"]["dim"].get<int>(), 36);  // 32 whitened components + 4 image statistics
  EXPECT_EQ(info["feature_map"]["embedding_dim"].get<int>(), 512);
}

TEST_F(AuditCli, AuditWritesJsonHtmlAndSheetWithTheGenerator) {
  const std::string d = dir_->path();
  const auto r = run_command(scintigen_binary() + " audit --real " + d + "/real --synthetic " + d + "/syn --train " +
                             d + "/train --encoder " + d + "/enc --out " + d +
                             "/audit --bootstrap 20 --membership-n 8 --membership-times 0.3 --membership-draws 1 "
                             "--threads 1 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"audit.json", "audit.html", "closest_pairs.png"})
    EXPECT_TRUE(fs::is_regular_file(d + "/audit/" + f)) << f;
  const auto a = nlohmann::json::parse(read_file(d + "/audit/audit.json"));
  // The generator came from the synthetic set's dataset.json: the shipped model.
  EXPECT_EQ(a["inputs"]["model"]["sha256"].get<std::string>().size(), 64u);
  for (const char* k : {"fd", "fd_baseline", "kd", "precision", "recall", "density", "coverage"})
    EXPECT_TRUE(a[k].is_number()) << k;
  EXPECT_TRUE(a["c2st"]["auc"].is_number());
  EXPECT_TRUE(a["membership"]["auc"].is_number());
  EXPECT_TRUE(a["memorisation"]["flagged"].is_number());
  for (const char* s : {"fidelity", "image_stats", "c2st", "label_fidelity", "memorisation", "membership"}) {
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
    EXPECT_TRUE(a["verdicts"].contains(s)) << s;
  }
}

// A synthetic set resampled with `dataset resample` (here twice, 64x256 -> 32x128 -> 64x256) still
// names its generator: membership runs with the shipped model that made it, found through the
// resampled sets' dataset.json. A set on another grid is refused with the command that fixes it,
// and membership is refused when the sets are not on the generator's grid.
TEST_F(AuditCli, AResampledSyntheticSetStillNamesItsGenerator) {
  const std::string d = dir_->path(), b = scintigen_binary();
  auto r = run_command(b + " dataset resample " + d + "/syn --size 32x128 -q --out " + d + "/syn32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(b + " audit --real " + d + "/real --synthetic " + d + "/syn32 --out " + d + "/bad_grid");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--synthetic: its scans are 32 x 128 but --real's are 64 x 256"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("scintigen dataset resample --size"), std::string::npos) << r.output;
  // All three sets at 32 x 128: membership would score the 64 x 256 model on upsampled scans
  for (const char* set : {"real", "train"}) {
    r = run_command(b + " dataset resample " + d + "/" + set + " --size 32x128 -q --out " + d + "/" + set + "32");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  r = run_command(b + " audit --real " + d + "/real32 --synthetic " + d + "/syn32 --train " + d +
                  "/train32 --encoder " + d + "/enc --out " + d + "/bad_model_grid");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("makes 64 x 256 scans but --train is 32 x 128: membership scores the model on its training "
                          "scans at its own grid (hint: --skip membership"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(d + "/bad_model_grid"));
  r = run_command(b + " dataset resample " + d + "/syn32 --size 64x256 -q --out " + d + "/syn64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(b + " audit --real " + d + "/real --synthetic " + d + "/syn64 --train " + d + "/train --out " + d +
                  "/audit_resampled --encoder " + d +
                  "/enc --skip fidelity,image_stats,c2st,label_fidelity,memorisation "
                  "--membership-n 8 "
                  "--membership-times 0.3 --membership-draws 1 --threads 1 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto a = nlohmann::json::parse(read_file(d + "/audit_resampled/audit.json"));
  const auto made = nlohmann::json::parse(read_file(d + "/syn/dataset.json"));
  EXPECT_EQ(a["inputs"]["model"]["sha256"], made["config"]["config"]["model_sha256"]) << a["inputs"].dump(1);
  EXPECT_TRUE(a["membership"]["auc"].is_number());
}

TEST_F(AuditCli, BadInputExitsTwoNamingTheFlag) {
  const std::string d = dir_->path(), b = scintigen_binary();
  auto r = run_command(b + " audit --real " + d + "/nope --synthetic " + d + "/syn --encoder " + d + "/enc --out " + d +
                       "/bad1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: --real"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/bad1"));
  r = run_command(b + " audit --real " + d + "/real --synthetic " + d + "/syn --out " + d + "/bad2 --skip fidelty");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: --skip: unknown section 'fidelty'"), std::string::npos) << r.output;
  r = run_command(b + " audit encoder --data " + d + "/real --out " + d + "/bad3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("holds no scans of split \"test\""), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/bad3"));
}

}  // namespace
}  // namespace scintigen
