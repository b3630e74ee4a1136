// A tiny training run on synthesised blob scans (clf_fixtures.h): it learns, it is
// deterministic for a seed, and the eval report's numbers are src/stats' numbers of its scores.
#include <gtest/gtest.h>

#include <fstream>

#include "clf/eval.h"
#include "clf/train.h"
#include "clf_fixtures.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "stats/json.h"
#include "stats/roc.h"
#include "stats/schema_check.h"
#include "test_util.h"

namespace scintigen::clf {
namespace {

using scintigen::testing::TempDir;

ClassifierConfig tiny_config(const std::string& data, const std::string& out) {
  ClassifierConfig c;
  c.task = "metastasis";
  c.train = {data};
  c.out = out;
  c.height = 128;
  c.width = 32;
  c.base_width = 8;
  c.blocks = {1, 1, 1};
  c.epochs = 10;
  c.patience = 10;
  c.batch = 8;
  c.lr = 3e-3;
  c.threads = 2;
  c.seed = 7;
  return c;
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

class TinyTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::BlobDatasetSpec spec;
    make_blob_dataset(*dir_ / "train", spec);
    spec.seed = 2;
    spec.n = 80;
    make_blob_dataset(*dir_ / "test", spec);
    first_ = new TrainResult(train_classifier(tiny_config(*dir_ / "train", *dir_ / "clf")));
  }
  static void TearDownTestSuite() {
    delete first_;
    delete dir_;
  }
  static TempDir* dir_;
  static TrainResult* first_;
};
TempDir* TinyTraining::dir_ = nullptr;
TrainResult* TinyTraining::first_ = nullptr;

TEST_F(TinyTraining, LearnsTheBlob) {
  EXPECT_EQ(first_->val_source, "stratified random");
  EXPECT_EQ(first_->train_scans + first_->val_scans, 120u);
  for (const auto& e : first_->history) std::printf("epoch %d loss %.4f val %.4f\n", e.epoch, e.loss, e.val_auc);
  EXPECT_GT(first_->best_val_auc, 0.85);
  EXPECT_GT(first_->images_per_s, 0.0);
  const auto info = read_json(*dir_ / "clf/classifier.json");
  EXPECT_EQ(info["format"], kClassifierFormat);
  EXPECT_EQ(info["task"], "metastasis");
  EXPECT_EQ(info["training"]["best_val_auc"].get<double>(), first_->best_val_auc);
  EXPECT_TRUE(std::filesystem::exists(*dir_ / "clf/best.pt"));
  EXPECT_TRUE(std::filesystem::exists(*dir_ / "clf/checkpoint/state.json"));
  EXPECT_EQ(read_json(*dir_ / "clf/run.json")["config"], read_json(*dir_ / "clf/classifier.json")["config"]);
  // The saved validation scores reproduce the saved validation AUC.
  std::vector<int> y;
  std::vector<double> s;
  for (const auto& c : info["validation_scores"]) {
    y.push_back(c["label"]);
    s.push_back(c["score"]);
  }
  EXPECT_EQ(stats::auc(y, s), first_->best_val_auc);
}

TEST_F(TinyTraining, DeterministicForASeed) {
  ClassifierConfig c = tiny_config(*dir_ / "train", *dir_ / "clf_again");
  c.epochs = 2;
  TrainResult a = train_classifier(c);
  ASSERT_GE(first_->history.size(), 2u);
  for (int e = 0; e < 2; ++e) {
    EXPECT_EQ(a.history[e].loss, first_->history[e].loss) << e;
    EXPECT_EQ(a.history[e].val_auc, first_->history[e].val_auc) << e;
  }
}

// Counts the optimiser steps of each epoch: the total of its "epoch" progress task.
class EpochSteps : public EventSink {
 public:
  std::vector<uint64_t> totals;
  void progress(const std::string& task, uint64_t, uint64_t total, bool final) override {
    if (final && task.find(" epoch ") != std::string::npos) totals.push_back(total);
  }
};

TEST_F(TinyTraining, StepsPerEpochFixesTheEpochLength) {
  // Default: one pass over the training scans (ceil(n / batch)); with --steps-per-epoch, that
  // many steps whatever the training set's size.
  ClassifierConfig c = tiny_config(*dir_ / "train", *dir_ / "clf_pass");
  c.epochs = 1;
  EpochSteps pass;
  const TrainResult r = train_classifier(c, &pass);
  ASSERT_EQ(pass.totals.size(), 1u);
  EXPECT_EQ(pass.totals[0], (r.train_scans + c.batch - 1) / c.batch);
  c.out = *dir_ / "clf_fixed";
  c.steps_per_epoch = 3;
  EpochSteps fixed;
  train_classifier(c, &fixed);
  EXPECT_EQ(fixed.totals, std::vector<uint64_t>{3});
  EXPECT_EQ(read_json(*dir_ / "clf_fixed/run.json")["config"]["steps_per_epoch"], 3);
  EXPECT_FALSE(read_json(*dir_ / "clf_pass/run.json")["config"].contains("steps_per_epoch"));  // older runs resume
}

TEST_F(TinyTraining, ResumeContinuesBitIdentically) {
  // Two epochs, then --resume to four: every epoch's loss and validation AUC equal the
  // uninterrupted run's (the fixture's first four epochs), so weights, optimizer state, data
  // order and augmentation draws were all restored.
  ClassifierConfig c = tiny_config(*dir_ / "train", *dir_ / "clf_resumed");
  c.epochs = 2;
  train_classifier(c);
  c.epochs = 4;
  c.resume = true;
  TrainResult r = train_classifier(c);
  EXPECT_EQ(r.resumed_from_epoch, 2);
  ASSERT_EQ(r.history.size(), 4u);
  ASSERT_GE(first_->history.size(), 4u);
  for (int e = 0; e < 4; ++e) {
    EXPECT_EQ(r.history[e].loss, first_->history[e].loss) << e;
    EXPECT_EQ(r.history[e].val_auc, first_->history[e].val_auc) << e;
  }
  const auto info = read_json(*dir_ / "clf_resumed/classifier.json");
  EXPECT_EQ(info["training"]["epochs_run"], 4);
  EXPECT_EQ(info["config"]["epochs"], 4);
  // A changed setting is refused, naming it.
  c.epochs = 5;
  c.lr = 1e-2;
  try {
    train_classifier(c);
    FAIL() << "resume with another lr";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where(), *dir_ / "clf_resumed");
    EXPECT_EQ(e.reason(), "--resume with a changed setting: lr was 0.003, now 0.01") << e.describe();
  }
  // Nothing to resume in an empty folder.
  c = tiny_config(*dir_ / "train", *dir_ / "clf_nothing");
  c.resume = true;
  EXPECT_THROW(train_classifier(c), InputError);
}

TEST_F(TinyTraining, MixesSyntheticScansThatNeverValidate) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 30;
  spec.prevalence = 1.0;  // synthetic positives only: the class a small centre lacks
  spec.seed = 5;
  spec.origin = Origin::kSynthetic;
  make_blob_dataset(t / "synth", spec);
  ClassifierConfig c = tiny_config(*dir_ / "train", t / "clf");
  c.train.push_back(t / "synth");
  c.mix = {1.0, 1.0};
  c.epochs = 1;
  TrainResult r = train_classifier(c);
  EXPECT_EQ(r.train_synthetic, 30u);
  EXPECT_EQ(r.val_scans, first_->val_scans);  // the same real validation scans as without them
  EXPECT_EQ(r.train_scans, first_->train_scans + 30);
  ASSERT_EQ(r.source_shares.size(), 2u);
  EXPECT_NEAR(r.source_shares[0], 0.75, 1e-12);  // all negatives + half the positives
  EXPECT_NEAR(r.source_shares[1], 0.25, 1e-12);
  for (const auto& v : read_json(t / "clf/classifier.json")["validation_scores"])
    EXPECT_EQ(v["id"].get<std::string>().find("synth"), std::string::npos) << v["id"];
  c.mix = {1.0};
  c.out = t / "clf2";
  EXPECT_THROW(train_classifier(c), ConfigError);  // one weight per dataset
}

TEST_F(TinyTraining, EvalReportMatchesStats) {
  EvalConfig e;
  e.model = *dir_ / "clf";
  e.compare = *dir_ / "clf";
  e.data = {*dir_ / "test"};
  e.out = *dir_ / "report.json";
  e.threads = 2;
  evaluate_classifier(e);
  const auto r = read_json(e.out);
  for (const char* k : {"report", "created", "config", "versions", "task", "model", "compare_model", "datasets"})
    EXPECT_TRUE(r.contains(k)) << k;
  ASSERT_EQ(r["datasets"].size(), 1u);
  const auto& d = r["datasets"][0];
  EXPECT_EQ(d["scans"], 80);
  EXPECT_EQ(d["labelled"], 80);
  std::vector<int> y;
  std::vector<double> s;
  std::map<std::string, std::pair<std::vector<int>, std::vector<double>>> site;
  for (const auto& c : d["cases"]) {
    y.push_back(c["label"]);
    s.push_back(c["score"]);
    site[c["site"]].first.push_back(c["label"]);
    site[c["site"]].second.push_back(c["score"]);
  }
  const auto a = stats::delong_auc(y, s);
  const auto written = stats::auc_from_json(d["overall"]["auc"]);
  EXPECT_EQ(written.auc, a.auc);
  EXPECT_EQ(written.ci_lower, a.ci_lower);
  EXPECT_EQ(written.ci_upper, a.ci_upper);
  EXPECT_GT(a.auc, 0.8);
  ASSERT_EQ(d["sites"].size(), 2u);
  for (const auto& g : d["sites"]) {
    const auto& [sy, ss] = site[g["site"]];
    EXPECT_EQ(stats::auc_from_json(g["auc"]).auc, stats::auc(sy, ss));
  }
  // Every statistic in the statistics JSON scheme (tests/stats/stats_schema.json); calibration
  // bins have edges, not confidence limits.
  for (nlohmann::json g : d["sites"]) {
    EXPECT_EQ(scintigen::testing::schema_errors(g, "classify_eval_group"), "");
    g.erase("calibration");
    EXPECT_EQ(scintigen::testing::scheme_errors(g), "");
  }
  EXPECT_EQ(scintigen::testing::schema_errors(d["overall"], "classify_eval_group"), "");
  EXPECT_EQ(scintigen::testing::schema_errors(d["survival"], "classify_eval_survival"), "");
  EXPECT_EQ(scintigen::testing::scheme_errors(d["survival"]), "");
  const double t = r["model"]["threshold"];
  const auto m = stats::threshold_metrics(y, s, t);
  EXPECT_EQ(d["overall"]["at_validation_threshold"]["tp"], m.tp);
  EXPECT_EQ(d["overall"]["at_validation_threshold"]["tn"], m.tn);
  EXPECT_EQ(d["overall"]["calibration"]["bins"].size(), 10u);
  EXPECT_TRUE(d["overall"]["calibration"]["brier"].is_number());
  EXPECT_EQ(d["overall"]["delong_paired"]["p_value"].get<double>(), 1.0);  // a model against itself
  ASSERT_TRUE(d["survival"].is_object());
  EXPECT_TRUE(d["survival"]["log_rank"].contains("p_value"));
  EXPECT_TRUE(d["survival"]["kaplan_meier"].contains("predicted_positive"));
}

TEST_F(TinyTraining, CardiacTaskAndSplitColumn) {
  TempDir t;
  testing::BlobDatasetSpec spec;
  spec.n = 60;
  spec.metastasis_labels = false;
  spec.cardiac_labels = true;
  make_blob_dataset(t / "cardiac", spec);
  {
    Dataset ds = Dataset::open(t / "cardiac", true);
    std::vector<std::pair<std::string, std::string>> splits;
    for (const auto& r : ds.records())
      splits.push_back({r.id, splits.size() % 4 == 0 ? "val" : (splits.size() % 4 == 1 ? "test" : "train")});
    ds.set_splits(splits);
  }
  ClassifierConfig c = tiny_config(t / "cardiac", t / "clf");
  c.task = "cardiac";
  c.epochs = 1;
  TrainResult r = train_classifier(c);
  EXPECT_EQ(r.val_source, "split column");
  EXPECT_EQ(r.val_scans, 15u);
  EXPECT_EQ(r.skipped_test_split, 15u);
  EXPECT_EQ(r.train_scans, 30u);
  // The metastasis task finds no label in this dataset.
  c.task = "metastasis";
  c.out = t / "clf2";
  try {
    train_classifier(c);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.reason().find("no scan carries the label needed by task 'metastasis'"), std::string::npos)
        << e.describe();
  }
}

}  // namespace
}  // namespace scintigen::clf
