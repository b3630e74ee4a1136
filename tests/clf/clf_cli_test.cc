// `scintigen classify` on bad input: exit status 2 and a message naming the problem.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "clf_fixtures.h"
#include "core/fs_util.h"
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
  EXPECT_NE(r.output.find("error: --task: unknown task 'bone' (hint: expected metastasis | cardiac)"),
            std::string::npos)
      << r.output;
}

TEST(ClassifyCli, DatasetWithoutLabels) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 6;
  spec.metastasis_labels = false;
  make_blob_dataset(t / "ds", spec);
  auto r = run_command(scintigen_binary() + " classify train --task metastasis --train " + (t / "ds") + " --out " +
                       (t / "o") + " --quiet");
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
  auto r = run_command(scintigen_binary() + " classify train --task metastasis --train " + (t / "ds") + " --out " +
                       (t / "o") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("0 of them positive: both classes are needed"), std::string::npos) << r.output;
}

TEST(ClassifyCli, MissingModelFolder) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 4;
  make_blob_dataset(t / "ds", spec);
  auto r = run_command(scintigen_binary() + " classify eval --model " + (t / "nope") + " --data " + (t / "ds") +
                       " --out " + (t / "r.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no such classifier folder"), std::string::npos) << r.output;
  r = run_command(scintigen_binary() + " classify eval --model " + (t / "ds") + " --data " + (t / "ds") + " --out " +
                  (t / "r.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a classifier folder"), std::string::npos) << r.output;
}

TEST(ClassifyCli, MixAndResumeThroughTheBinary) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 40;
  make_blob_dataset(t / "real", spec);
  spec.n = 10;
  spec.prevalence = 1.0;
  spec.seed = 3;
  spec.origin = Origin::kSynthetic;
  make_blob_dataset(t / "synth", spec);
  const std::string small = " --height 128 --width 32 --base-width 8 --batch 8 --threads 1 --quiet";
  const std::string train_to = scintigen_binary() + " classify train --task metastasis --train " + (t / "real") + "," +
                               (t / "synth") + small + " --out ";
  const std::string train = train_to + (t / "o");
  auto r = run_command(train + " --mix 1,1 --epochs 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("10 of the training scans are synthetic"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("synth 25%"), std::string::npos) << r.output;  // half of the positive draws
  // Continue with the run's own settings, two more epochs.
  r = run_command(scintigen_binary() + " classify train --out " + (t / "o") + " --resume --epochs 3 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("best epoch"), std::string::npos) << r.output;
  const auto info = nlohmann::json::parse(read_file(t / "o/classifier.json"));
  EXPECT_EQ(info["training"]["epochs_run"], 3);
  EXPECT_EQ(info["training"]["resumed_from_epoch"], 1);
  EXPECT_EQ(info["config"]["mix"], nlohmann::json::array({1.0, 1.0}));
  // Full flags with a changed setting: refused, naming it.
  r = run_command(train + " --mix 1,2 --epochs 4 --resume");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: " + (t / "o") +
                          ": --resume with a changed setting: mix was [1.0,1.0], now [1.0,2.0] (hint: "),
            std::string::npos)
      << r.output;
  // Bad --mix: wrong count, not a number, all zero.
  r = run_command(train_to + (t / "x") + " --mix 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--mix: has 1 weights for 2 --train datasets"), std::string::npos) << r.output;
  r = run_command(train_to + (t / "y") + " --mix 1,a");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_command(train_to + (t / "z") + " --mix 0,0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("every weight is 0"), std::string::npos) << r.output;
  // Nothing to resume.
  r = run_command(scintigen_binary() + " classify train --out " + (t / "none") + " --resume");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nothing to resume"), std::string::npos) << r.output;
}

// kill -9 during training, then --resume: the finished run's history equals an uninterrupted
// run's exactly (every epoch's loss and validation AUC, the best epoch and the threshold).
TEST(ClassifyCli, KillNineThenResumeEqualsAnUninterruptedRun) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 200;
  make_blob_dataset(t / "ds", spec);
  const std::string flags =
      " classify train --task metastasis --train " + (t / "ds") +
      " --height 128 --width 32 --base-width 8 --batch 8 --threads 1 --epochs 10 --patience 10 --seed 4 --quiet --out ";
  auto r = run_command(scintigen_binary() + flags + (t / "full"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string out = t / "killed";
  pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = scintigen_binary() + flags + out;
    execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int killed_after = -1;
  for (int i = 0; i < 6000 && killed_after < 0; ++i) {  // up to 60 s
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    try {
      const int epochs = nlohmann::json::parse(read_file(out + "/classifier.json"))["training"]["epochs_run"];
      if (epochs >= 3) {
        kill(pid, SIGKILL);
        killed_after = epochs;
      }
    } catch (const std::exception&) {  // not written yet
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_GE(killed_after, 3) << "the run never finished epoch 3";
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before the kill; the test did not test anything";
  r = run_command(scintigen_binary() + " classify train --out " + out + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming"), std::string::npos) << r.output;
  const auto a = nlohmann::json::parse(read_file(t / "full/classifier.json"))["training"];
  const auto b = nlohmann::json::parse(read_file(out + "/classifier.json"))["training"];
  ASSERT_EQ(a["history"].size(), b["history"].size());
  for (size_t e = 0; e < a["history"].size(); ++e) {
    EXPECT_EQ(a["history"][e]["loss"], b["history"][e]["loss"]) << "epoch " << e + 1;
    EXPECT_EQ(a["history"][e]["val_auc"], b["history"][e]["val_auc"]) << "epoch " << e + 1;
  }
  EXPECT_EQ(a["best_epoch"], b["best_epoch"]);
  EXPECT_EQ(a["threshold"], b["threshold"]);
  EXPECT_GE(b["resumed_from_epoch"].get<int>(), 3);
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
