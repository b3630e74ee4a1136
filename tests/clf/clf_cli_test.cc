// `scintigen classify` on bad input: exit status 2 and a message naming the problem.
#include <gtest/gtest.h>

#include "clf_fixtures.h"
#include "test_util.h"

namespace scintigen::clf {
namespace {

using scintigen::testing::run_command;
using scintigen::testing::scintigen_binary;
using scintigen::testing::TempDir;


TEST(ClassifyCli, UnknownTask) {
  TempDir t;
  auto r = run_command(scintigen_binary() + " classify train --task bone --train " + t.path() + " --out " + (t / "o"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: --task: unknown task 'bone' (hint: expected metastasis | cardiac)"), std::string::npos) << r.output;
}

TEST(ClassifyCli, DatasetWithoutLabels) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 6;
  spec.metastasis_labels = false;
  make_blob_dataset(t / "ds", spec);
  auto r = run_command(scintigen_binary() + " classify train --task metastasis --train " + (t / "ds") + " --out " + (t / "o") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no scan carries the label needed by task 'metastasis'"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(t / "o"));
}

TEST(ClassifyCli, OneClassOnly) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 8;
  spec.prevalence = 0.0;
  make_blob_dataset(t / "ds", spec);
  auto r = run_command(scintigen_binary() + " classify train --task metastasis --train " + (t / "ds") + " --out " + (t / "o") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("0 of them positive: both classes are needed"), std::string::npos) << r.output;
}

TEST(ClassifyCli, MissingModelFolder) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 4;
  make_blob_dataset(t / "ds", spec);
  auto r = run_command(scintigen_binary() + " classify eval --model " + (t / "nope") + " --data " + (t / "ds") + " --out " + (t / "r.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no such classifier folder"), std::string::npos) << r.output;
  r = run_command(scintigen_binary() + " classify eval --model " + (t / "ds") + " --data " + (t / "ds") + " --out " + (t / "r.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a classifier folder"), std::string::npos) << r.output;
}

TEST(ClassifyCli, MissingDatasetAndBadFlags) {
  TempDir t;
  auto r = run_command(scintigen_binary() + " classify train --train " + (t / "none") + " --out " + (t / "o"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_command(scintigen_binary() + " classify train --train x --out " + (t / "o") + " --batch 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--batch"), std::string::npos) << r.output;
  r = run_command(scintigen_binary() + " classify tran");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_command(scintigen_binary() + " classify --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace scintigen::clf
