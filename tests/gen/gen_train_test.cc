// The training loop, data order, exact resume, accumulation, bf16 and channels-last, the model
// folder and generation (library level; the CLI runs are in tests/cli/gen_cli_test.cc).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "data/dataset.h"
#include "gen/gen_data_fixture.h"
#include "gen/gen_test_util.h"
#include "gen/generate.h"
#include "gen/model_weights.h"
#include "gen/train_data.h"
#include "gen/train_loop.h"
#include "gen/trainer.h"
#include "run/run.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace scintigen::gen {
namespace {

using gen::testing::make_dataset;
using gen::testing::micro_run;
using scintigen::testing::TempDir;

TEST(DataOrder, EveryEpochIsAPermutationAndTheOrderIsAFunctionOfSeedAndStep) {
  const int64_t n = 10, batch = 4;
  std::vector<int64_t> seq;
  for (int64_t step = 0; step < 5; ++step) {
    auto b = batch_indices(n, 42, step, batch);
    ASSERT_EQ(b.size(), 4u);
    seq.insert(seq.end(), b.begin(), b.end());
    EXPECT_EQ(b, batch_indices(n, 42, step, batch));  // no hidden state
  }
  std::set<int64_t> e0(seq.begin(), seq.begin() + n), e1(seq.begin() + n, seq.begin() + 2 * n);
  EXPECT_EQ(e0.size(), 10u);
  EXPECT_EQ(e1.size(), 10u);
  EXPECT_NE(std::vector<int64_t>(seq.begin(), seq.begin() + n),
            std::vector<int64_t>(seq.begin() + n, seq.begin() + 2 * n));
  EXPECT_NE(batch_indices(n, 42, 0, batch), batch_indices(n, 43, 0, batch));
}

TEST(DataOrder, CountMaxIsThe995thPercentileOfNonZeroCountsRoundedUp) {
  auto c = torch::arange(1, 1001, torch::kFloat).reshape({1, 2, 25, 20});  // 1..1000
  auto z = torch::cat({c, torch::zeros_like(c)});                          // zeros are ignored
  const double q = fit_count_max(z);
  EXPECT_GE(q, 995.0);
  EXPECT_LE(q, 1000.0);
  EXPECT_DOUBLE_EQ(fit_count_max(torch::full({1, 2, 4, 4}, 1234.0f)), 1300.0);  // two significant digits, up
}

// The random validation set (core/split.h, stream kGenValSplit): round(val_fraction n) scans,
// half to validation, at most val_max, none below 20 scans; a function of the seed.
TEST(DataOrder, ValidationIsASeededRoundedFractionCappedByValMax) {
  TempDir t;
  make_dataset(t / "d25", 25);
  make_dataset(t / "d19", 19);
  auto load = [&](const std::string& data, double fraction, int val_max, uint64_t seed) {
    ModelConfig cfg = model_preset("tiny");
    cfg.height = 64;
    cfg.width = 16;
    DataConfig dc;
    dc.datasets = {data};
    dc.val_fraction = fraction;
    dc.val_max = val_max;
    dc.seed = seed;
    dc.threads = 1;
    return load_training_data(dc, cfg);
  };
  const TrainingData a = load(t / "d25", 0.1, 256, 1);  // 2.5 -> 3
  EXPECT_EQ(a.val_source, "random fraction");
  EXPECT_EQ(a.val.size(), 3);
  EXPECT_EQ(a.train.size(), 22);
  EXPECT_TRUE(torch::equal(a.val.x, load(t / "d25", 0.1, 256, 1).val.x));
  EXPECT_FALSE(torch::equal(a.val.x, load(t / "d25", 0.1, 256, 2).val.x));
  EXPECT_EQ(load(t / "d25", 0.1, 2, 1).val.size(), 2);                          // val_max
  EXPECT_EQ(load(t / "d25", 0.3, 256, 1).val.size(), 8);                        // 7.5 -> 8
  EXPECT_EQ(load(t / "d25", 0.01, 256, 1).val_source, "none (too few scans)");  // 0.25 -> 0
  const TrainingData c = load(t / "d19", 0.5, 256, 1);
  EXPECT_EQ(c.val_source, "none (too few scans)");
  EXPECT_EQ(c.train.size(), 19);
}

TEST(Mix, CountsSumToNByLargestRemainder) {
  std::vector<MixEntry> mix = {{1, "metastasis=1"}, {1, "metastasis=0"}, {1, "cardiac_grade=3"}};
  auto c = mix_counts(mix, 10);
  EXPECT_EQ(std::accumulate(c.begin(), c.end(), int64_t{0}), 10);
  EXPECT_EQ(c, (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(mix_counts({{3, "a"}, {1, "b"}}, 8), (std::vector<int64_t>{6, 2}));
}

TEST(Mix, FileErrorsNameTheLine) {
  TempDir t;
  const ConditionSpec spec = default_conditions();
  write_file_atomic(t / "ok.txt", "# comment\n0.7 metastasis=1,tracer=DPD\n\n0.3 \n");
  auto mix = read_mix_file(t / "ok.txt", spec);
  ASSERT_EQ(mix.size(), 2u);
  EXPECT_EQ(mix[0].condition, "metastasis=1,tracer=DPD");
  EXPECT_EQ(mix[1].condition, "");
  write_file_atomic(t / "bad.txt", "1 metastasis=1\n1 cardiac_grade=5\n");
  try {
    read_mix_file(t / "bad.txt", spec);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(),
              t / "bad.txt" +
                  ":2: value '5' is not allowed for cardiac_grade (hint: allowed values of cardiac_grade: "
                  "0, 1, 2, 3)");
  }
  write_file_atomic(t / "w.txt", "x metastasis=1\n");
  EXPECT_THROW(read_mix_file(t / "w.txt", spec), InputError);
}

void expect_same_weights(const std::string& a_dir, const std::string& b_dir) {
  for (const char* file : {"ema.pt", "raw.pt"}) {
    auto a = gen::testing::model_weights(a_dir, file), b = gen::testing::model_weights(b_dir, file);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(torch::equal(a[i], b[i])) << file << " parameter " << i;
  }
}

TEST(TrainLoop, ResumeAfterAStopEqualsAnUninterruptedRun) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig full = micro_run(t.path(), t / "ds", t / "full", 8);
  TrainRunResult rf = run_training(full);
  ASSERT_TRUE(rf.finished);
  EXPECT_EQ(rf.steps_done, 8);

  TrainRunConfig part = micro_run(t.path(), t / "ds", t / "part", 8);
  part.stop_at = 5;  // checkpoint every 3 plus at the stop
  TrainRunResult r1 = run_training(part);
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(r1.steps_done, 5);
  EXPECT_EQ(run::find_checkpoint(t / "part")->state["step"], 5);
  EXPECT_FALSE(fs::exists(t / "part/model.json"));
  part.stop_at = 0;
  part.resume = true;
  TrainRunResult r2 = run_training(part);
  EXPECT_TRUE(r2.finished);
  EXPECT_EQ(r2.start_step, 5);
  expect_same_weights(t / "full", t / "part");
  // The metrics log holds each step once.
  std::ifstream m(t / "part/metrics.jsonl");
  std::string line;
  std::vector<int64_t> steps;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) steps.push_back(j["step"]);
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 4, 5, 6, 8}));
  // The model folder is complete and its card names the data.
  EXPECT_TRUE(fs::exists(t / "part/MODEL_CARD.md"));
  EXPECT_NE(read_file(t / "part/MODEL_CARD.md").find("metastasis"), std::string::npos);
  EXPECT_EQ(run::find_checkpoint(t / "part")->state["step"], 8)
      << "a finished run keeps its training state, to be extended";
}

// --time-limit: a limit already passed stops the run at the first log point (step 2 here, not
// a checkpoint step), checkpointed there; --resume continues it exactly, and --resume with
// --steps at the step reached finishes the model there.
TEST(TrainLoop, TimeLimitStopsAtALogPointAndTheRunContinuesExactly) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig full = micro_run(t.path(), t / "ds", t / "full", 8);
  ASSERT_TRUE(run_training(full).finished);
  for (const char* name : {"part", "short"}) {
    TrainRunConfig part = micro_run(t.path(), t / "ds", t / name, 8);
    part.time_limit_min = 1e-9;
    TrainRunResult r1 = run_training(part);
    EXPECT_FALSE(r1.finished);
    EXPECT_TRUE(r1.stopped_by_time_limit);
    EXPECT_EQ(r1.steps_done, 2);
    EXPECT_EQ(run::find_checkpoint(t / name)->state["step"], 2);
    EXPECT_FALSE(fs::exists(t / (std::string(name) + "/model.json")));
  }
  TrainRunConfig part = micro_run(t.path(), t / "ds", t / "part", 8);
  part.resume = true;
  TrainRunResult r2 = run_training(part);
  EXPECT_TRUE(r2.finished);
  EXPECT_FALSE(r2.stopped_by_time_limit);
  EXPECT_EQ(r2.start_step, 2);
  expect_same_weights(t / "full", t / "part");
  TrainRunConfig finish = micro_run(t.path(), t / "ds", t / "short", 2);
  finish.resume = true;
  TrainRunResult r3 = run_training(finish);
  EXPECT_TRUE(r3.finished);
  EXPECT_EQ(r3.steps_done, 2);
  EXPECT_TRUE(fs::exists(t / "short/model.json"));
  TrainRunConfig bad = micro_run(t.path(), t / "ds", t / "bad", 8);
  bad.time_limit_min = -1;
  try {
    run_training(bad);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), "--time-limit: -1 (hint: must be >= 0 minutes (0 = no limit))");
  }
}

// The (metrics.jsonl) learning rate of each logged step, in step order.
std::map<int64_t, double> logged_lr(const std::string& model_dir) {
  std::ifstream m(model_dir + "/metrics.jsonl");
  std::map<int64_t, double> lr;
  std::string line;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("lr")) lr[j["step"].get<int64_t>()] = j["lr"].get<double>();
  }
  return lr;
}

// Extension (docs/MODEL.md, "Extending a run"): steps <= 8 keep the 8-step schedule, steps > 8
// follow the warm-up + cosine schedule of 12 steps; an extension stopped and resumed equals an
// uninterrupted one; it is not a fresh 12-step run (whose steps 1-8 had the 12-step rates)
// unless it starts within the warm-up.
TEST(TrainLoop, ExtendingAFinishedRunRecomputesTheScheduleOverTheNewTotal) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "ext", 8);
  c.log_every = 1;
  ASSERT_TRUE(run_training(c).finished);
  const TrainConfig plan8 = c.train;
  c.resume = true;
  TrainRunResult same = run_training(c);  // at its own steps: nothing to do
  EXPECT_TRUE(same.already_finished);
  EXPECT_EQ(same.steps_done, 8);
  c.train.steps = 12;
  TrainRunResult r = run_training(c);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.start_step, 8);
  EXPECT_EQ(r.extended_from, 8);
  EXPECT_EQ(r.steps_done, 12);
  const TrainConfig plan12 = c.train;
  const auto lr = logged_lr(t / "ext");
  ASSERT_EQ(lr.size(), 12u);
  for (const auto& [step, value] : lr)  // logged at step s: the rate of optimiser step s - 1
    EXPECT_DOUBLE_EQ(value, learning_rate(step <= 8 ? plan8 : plan12, step - 1)) << "step " << step;
  EXPECT_GT(lr.at(9), 2 * lr.at(8)) << "the rate jumps at the resumed step";
  const auto info = nlohmann::json::parse(read_file(t / "ext/model.json"));
  EXPECT_EQ(info["training"]["steps_done"], 12);
  ASSERT_EQ(info["training"]["steps_changes"].size(), 1u);
  EXPECT_EQ(info["training"]["steps_changes"][0]["at_step"], 8);
  EXPECT_EQ(info["training"]["steps_changes"][0]["from"], 8);
  EXPECT_EQ(info["training"]["steps_changes"][0]["to"], 12);

  // The same extension, stopped at 10 and resumed: bit for bit the uninterrupted extension.
  TrainRunConfig p = micro_run(t.path(), t / "ds", t / "part", 8);
  run_training(p);
  p.resume = true;
  p.train.steps = 12;
  p.stop_at = 10;
  EXPECT_FALSE(run_training(p).finished);
  p.stop_at = 0;
  EXPECT_TRUE(run_training(p).finished);
  expect_same_weights(t / "ext", t / "part");

  // Not a fresh 12-step run: same data order and noise per step, other rates in steps 1-8.
  TrainRunConfig fresh = micro_run(t.path(), t / "ds", t / "fresh", 12);
  run_training(fresh);
  auto a = gen::testing::model_weights(t / "ext", "raw.pt"), b = gen::testing::model_weights(t / "fresh", "raw.pt");
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, gen::testing::max_abs_diff(a[i], b[i]));
  EXPECT_GT(diff, 0);
  // ... unless the run is extended within its warm-up (2 steps here), where both plans give the
  // same rates: `--steps 8 --stop-at 2`, then `--resume --steps 12` is the fresh 12-step run.
  TrainRunConfig early = micro_run(t.path(), t / "ds", t / "early", 8);
  early.stop_at = 2;
  run_training(early);
  early.resume = true;
  early.stop_at = 0;
  early.train.steps = 12;
  EXPECT_TRUE(run_training(early).finished);
  expect_same_weights(t / "fresh", t / "early");

  // Every other change is still refused, naming the field; fewer steps than done too.
  c.train.steps = 16;
  c.train.lr = 1e-3;
  try {
    run_training(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), t / "ext" +
                                ": --resume with a changed setting: train.lr was 0.0002, now 0.001 (hint: resume with "
                                "the run's own flags (only --steps may change), or start a new --out)");
  }
  c.train.lr = 2e-4;
  c.train.steps = 10;
  try {
    run_training(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), "--steps: 10 is below the 12 steps of the finished run in " + t / "ext" +
                                " (hint: give --steps > 12 to extend it)");
  }
  // Without checkpoint/ (the shipped model) a finished run cannot be extended.
  fs::remove_all(t / "ext/checkpoint");
  c.train.steps = 16;
  try {
    run_training(c);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(),
              t / "ext" +
                  "/checkpoint: is missing, so the finished run cannot be extended (it holds the optimiser "
                  "state) (hint: fine-tune from its weights instead: train --init-from " +
                  t / "ext" + " --out NEW)");
  }
}

// Fine-tuning: a new run starts from the model's EMA weights (raw and EMA) with the model's
// config, and records where it started; mismatching flags and unknown labels are refused.
TEST(TrainLoop, InitFromStartsANewRunFromAModelsWeightsAndChecksItsVocabulary) {
  TempDir t;
  make_dataset(t / "a", 24, "", "SITE_A");
  make_dataset(t / "b", 24, "", "SITE_B");
  TrainRunConfig base = micro_run(t.path(), t / "a", t / "base", 6);
  base.condition_on_site = true;
  base.train.seed = 11;  // another initialisation than the fine-tuning run's seed 3
  ASSERT_TRUE(run_training(base).finished);
  const LoadedModel bm = load_model(t / "base");

  TrainRunConfig c = micro_run(t.path(), t / "a", t / "tuned", 1);
  c.init_from = t / "base";
  c.preset = "";
  c.train.lr = 1e-6;  // one step of about 1e-6: the weights stay those of the base model's EMA
  c.train.warmup_steps = 0;
  ASSERT_TRUE(run_training(c).finished);
  const LoadedModel tm = load_model(t / "tuned");
  EXPECT_EQ(tm.config.to_json(), bm.config.to_json());
  auto start = bm.net->parameters(), tuned = gen::testing::model_weights(t / "tuned", "raw.pt");
  double worst = 0;
  for (size_t i = 0; i < start.size(); ++i) worst = std::max(worst, gen::testing::max_abs_diff(start[i], tuned[i]));
  EXPECT_LT(worst, 1e-5);
  torch::manual_seed(c.train.seed);  // what the run would have started from without init_from
  UNet scratch(bm.config);
  double from_scratch = 0;
  for (size_t i = 0; i < start.size(); ++i)
    from_scratch = std::max(from_scratch, gen::testing::max_abs_diff(scratch->parameters()[i], tuned[i]));
  EXPECT_GT(from_scratch, 1e-2);
  EXPECT_EQ(tm.info["init_from"]["ema_sha256"], bm.ema_sha256);
  EXPECT_EQ(tm.info["init_from"]["steps_done"], 6);
  EXPECT_EQ(tm.info["training"]["steps_done"], 1);
  EXPECT_NE(read_file(t / "tuned/MODEL_CARD.md").find("fine-tuned from"), std::string::npos);

  auto expect_refused = [&](TrainRunConfig bad, const std::string& text) {
    bad.out = t / "bad";
    try {
      run_training(bad);
      ADD_FAILURE() << "accepted; expected: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(t / "bad/run.json"));
  };
  TrainRunConfig other_site = c;
  other_site.data.datasets = {t / "b"};
  expect_refused(other_site, "has site=SITE_B, a value the --init-from model");
  TrainRunConfig other_preset = c;
  other_preset.preset = "tiny";
  expect_refused(other_preset, "model_config.height: 64 -> 128");
  TrainRunConfig other_count = c;
  other_count.count_max = 12345;
  expect_refused(other_count, "--count-max: 12345 differs from the count_max");
  TrainRunConfig other_conditions = c;
  other_conditions.conditions = {"metastasis"};
  expect_refused(other_conditions, "--conditions: metastasis differs");
}

// --oversample: each matching training scan comes FACTOR times in every epoch, the others once;
// the order stays a function of (seed, step); the label counts are the data's own; bad values are
// refused naming the flag, and a condition no training scan carries is refused naming the data.
TEST(DataOrder, OversampledScansComeFactorTimesInEveryEpoch) {
  TempDir t;
  make_dataset(t / "ds", 24);  // metastasis = i % 2
  ModelConfig cfg = model_preset("tiny");
  cfg.height = 64;
  cfg.width = 16;
  DataConfig dc;
  dc.datasets = {t / "ds"};
  dc.val_fraction = 0;
  dc.threads = 1;
  dc.oversample = "metastasis=1,tracer=DPD:3";  // i odd and i % 3 == 0: i = 3, 9, 15, 21
  const TrainingData d = load_training_data(dc, cfg);
  ASSERT_EQ(d.train.size(), 24);
  ASSERT_EQ(d.epoch.size(), 24u + 2 * 4);
  EXPECT_EQ(d.summary["oversample"]["matching_scans"], 4);
  EXPECT_EQ(d.summary["oversample"]["epoch_scans"], 32);
  EXPECT_EQ(d.summary["oversample"]["condition"], "metastasis=1,tracer=DPD");
  EXPECT_EQ(d.summary["label_counts"]["metastasis"]["1"], 12) << "label counts stay the data's own";
  const auto met = d.train.cond.select(1, 0), tracer = d.train.cond.select(1, 2);  // tokens: 2 = "1", 3 = DPD
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::map<int64_t, int> seen;
    for (int64_t step = epoch * 8; step < (epoch + 1) * 8; ++step)  // 32 scans = 8 steps of 4
      for (int64_t i : training_batch(d, 5, step, 4)) ++seen[i];
    ASSERT_EQ(seen.size(), 24u);
    for (const auto& [i, n] : seen) {
      const bool match = met[i].item<int64_t>() == 2 && tracer[i].item<int64_t>() == 3;
      EXPECT_EQ(n, match ? 3 : 1) << "scan " << i << " in epoch " << epoch;
    }
  }
  EXPECT_EQ(training_batch(d, 5, 11, 4), training_batch(d, 5, 11, 4));  // no hidden state
  DataConfig plain = dc;
  plain.oversample = "";
  const TrainingData p = load_training_data(plain, cfg);
  EXPECT_TRUE(p.epoch.empty());
  EXPECT_FALSE(p.summary.contains("oversample"));
  EXPECT_EQ(training_batch(p, 5, 2, 4), batch_indices(24, 5, 2, 4));
  EXPECT_FALSE(plain.to_json().contains("oversample")) << "runs without it keep their old record";
  EXPECT_EQ(dc.to_json()["oversample"], "metastasis=1,tracer=DPD:3");

  auto refused = [&](const std::string& value, const std::string& message) {
    DataConfig bad = dc;
    bad.oversample = value;
    try {
      load_training_data(bad, cfg);
      ADD_FAILURE() << value;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.where(), "--oversample") << value;
      EXPECT_NE(e.describe().find(message), std::string::npos) << e.describe();
    }
  };
  refused("metastasis=1", "has no ':FACTOR'");
  refused("metastasis=1:1", "factor '1' is not a whole number in 2..100");
  refused("metastasis=1:2.5", "factor '2.5' is not a whole number in 2..100");
  refused("metastasis=1:101", "is not a whole number in 2..100");
  refused(":2", "names no condition");
  refused("lesions=3:2", "lesions");
  dc.oversample = "tracer=PYP:2";
  try {
    load_training_data(dc, cfg);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), t / "ds" +
                                ": no training scan matches --oversample tracer=PYP (hint: oversample a condition the "
                                "training scans carry)");
  }
}

TEST(TrainLoop, OversampleIsRecordedAndAResumeMustKeepIt) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 6);
  c.data.oversample = "metastasis=1:2";
  c.stop_at = 3;
  run_training(c);
  auto run = nlohmann::json::parse(read_file(t / "m/run.json"));
  EXPECT_EQ(run["config"]["data"]["oversample"], "metastasis=1:2");
  c.resume = true;
  c.stop_at = 0;
  c.data.oversample = "metastasis=1:3";
  try {
    run_training(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(e.reason().find("--resume with a changed setting: data.oversample"), std::string::npos) << e.describe();
  }
  c.data.oversample = "metastasis=1:2";
  ASSERT_TRUE(run_training(c).finished);
  auto model = nlohmann::json::parse(read_file(t / "m/model.json"));
  EXPECT_EQ(model["data"]["oversample"]["factor"], 2) << model["data"].dump();
}

TEST(TrainLoop, ResumeRefusesADifferentConfigAndNamesTheField) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 6);
  c.stop_at = 3;
  run_training(c);
  c.resume = true;
  c.stop_at = 0;
  c.train.lr = 1e-3;
  try {
    run_training(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where(), t / "m");
    EXPECT_NE(e.reason().find("--resume with a changed setting: train.lr was 0.0002, now 0.001"), std::string::npos)
        << e.describe();
  }
  // a new run into a folder holding a run is refused too
  c.resume = false;
  c.train.lr = 2e-4;
  EXPECT_THROW(run_training(c), InputError);
}

TEST(TrainLoop, DataWithoutAConditionsLabelsIsRefusedNamingIt) {
  TempDir t;
  make_dataset(t / "ds", 24, "tracer");
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 2);
  try {
    run_training(c);
    FAIL();
  } catch (const InputError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("'tracer' label"), std::string::npos) << w;
    EXPECT_NE(w.find("--conditions metastasis,cardiac_grade,sex,age_band"), std::string::npos) << w;
  }
  c.conditions = {"metastasis", "cardiac_grade", "sex", "age_band"};  // the hint works
  EXPECT_TRUE(run_training(c).finished);
  EXPECT_EQ(load_model(t / "m").config.conditions.index_of("tracer"), -1);
}

TEST(Trainer, AccumulatedMicroBatchesGiveTheFullBatchsStep) {
  ModelConfig cfg = model_preset("tiny");
  cfg.height = 64;
  cfg.width = 16;
  TrainConfig tc;
  tc.steps = 10;
  tc.warmup_steps = 0;
  tc.grad_clip = 0;  // clipping is applied to the summed gradient either way; off keeps it simple
  Trainer a(cfg, tc);
  tc.accum = 3;
  Trainer b(cfg, tc);
  torch::manual_seed(1);
  auto x0 = torch::randn({6, 2, 64, 16}), noise = torch::randn({6, 2, 64, 16});
  auto t = torch::rand({6});
  auto cond = torch::ones({6, 5}, torch::kLong);
  const double la = a.step(x0, cond, t, noise), lb = b.step(x0, cond, t, noise);
  EXPECT_NEAR(la, lb, 1e-6 * std::abs(la));
  auto pa = a.model()->parameters(), pb = b.model()->parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  EXPECT_LT(worst, 1e-6);  // AdamW moves each weight by about lr; the micro-batch sums agree to float rounding
}

TEST(Trainer, Bf16AutocastTrainsAndTracksFp32) {
  ModelConfig cfg = model_preset("tiny");
  cfg.height = 64;
  cfg.width = 16;
  TrainConfig tc;
  tc.steps = 10;
  tc.warmup_steps = 0;
  Trainer f(cfg, tc);
  tc.bf16 = true;
  Trainer h(cfg, tc);
  torch::manual_seed(2);
  auto x0 = torch::randn({4, 2, 64, 16}), noise = torch::randn({4, 2, 64, 16});
  auto t = torch::rand({4});
  auto cond = torch::ones({4, 5}, torch::kLong);
  const double lf = f.step(x0, cond, t, noise), lh = h.step(x0, cond, t, noise);
  EXPECT_NEAR(lh, lf, 0.02 * lf);  // bf16 keeps 8 bits of mantissa: about 0.4% per operation
  for (auto& p : h.model()->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);  // master weights stay fp32
}

TEST(Unet, ChannelsLastGivesTheSameOutput) {
  ModelConfig cfg = model_preset("tiny");
  torch::manual_seed(3);
  UNet net(cfg);
  net->eval();
  torch::NoGradGuard g;
  auto x = torch::randn({2, 2, 128, 32});
  auto t = torch::rand({2});
  auto cond = torch::ones({2, 5}, torch::kLong);
  for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.05);  // non-trivial zero-initialised layers
  auto ref = net->forward(x, t, cond);
  to_channels_last(*net);
  auto out = net->forward(x.contiguous(torch::MemoryFormat::ChannelsLast), t, cond);
  EXPECT_LT((out - ref).abs().max().item<double>(), 1e-4 * ref.abs().max().item<double>());
}

TEST(ModelFolder, CorruptTruncatedOrForeignFilesAreClearErrors) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 2);
  run_training(c);
  ASSERT_NO_THROW(load_model(t / "m"));
  auto expect_error = [&](const std::string& dir, const std::string& text) {
    try {
      load_model(dir);
      ADD_FAILURE() << "no error for " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  fs::copy(t / "m", t / "trunc", fs::copy_options::recursive);
  const std::string w = read_file(t / "trunc/ema.pt");
  write_file_atomic(t / "trunc/ema.pt", w.substr(0, w.size() / 2));
  expect_error(t / "trunc", "truncated or corrupt");
  fs::copy(t / "m", t / "json", fs::copy_options::recursive);
  write_file_atomic(t / "json/model.json", "{\"format\": \"scintigen-model\", ");
  expect_error(t / "json", "is not valid JSON");
  expect_error(t / "nothing", "is not a folder");
  fs::create_directories(t / "empty");
  expect_error(t / "empty", "has no model.json");
  // weights of another architecture with a matching hash: the shapes do not fit
  fs::copy(t / "m", t / "foreign", fs::copy_options::recursive);
  ModelConfig other = model_preset("tiny");
  other.base_channels = 8;
  other.head_channels = 16;
  UNet o(other);
  const std::string sha = save_weights(*o, t / "foreign/ema.pt");
  auto info = nlohmann::json::parse(read_file(t / "foreign/model.json"));
  info["files"]["ema.pt"] = sha;
  write_file_atomic(t / "foreign/model.json", info.dump());
  expect_error(t / "foreign", "does not hold this model's weights");
}

TEST(Generate, ShardsAndBatchSizeDoNotChangeScansAndLabelsAreFilled) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 2);
  run_training(c);
  // pixel SHA-256 by scan id: the whole run at batch 16, and two shards at batch 2
  auto run = [&](SamplerKind kind, const std::string& name) {
    GenerateConfig g = gen::testing::micro_generate(t / "m", 5, "metastasis=1", 3);
    g.sampler.kind = kind;
    g.out = t / (name + "all");
    generate_dataset(g);
    g.batch = 2;
    g.shard_count = 2;
    g.out = t / (name + "s0");
    generate_dataset(g);
    g.shard_index = 1;
    g.out = t / (name + "s1");
    generate_dataset(g);
    std::map<std::string, std::string> all, shards;
    for (const auto& r : Dataset::open(t / (name + "all")).records()) all[r.id] = r.pixel_sha256;
    for (const char* s : {"s0", "s1"})
      for (const auto& r : Dataset::open(t / (name + s)).records()) shards[r.id] = r.pixel_sha256;
    return std::make_pair(all, shards);
  };
  const auto [all, shards] = run(SamplerKind::kDpmpp2m, "ode-");
  for (const auto& r : Dataset::open(t / "ode-all").records()) {
    EXPECT_EQ(r.labels.metastasis.value_or(-1), 1);
    EXPECT_TRUE(r.labels.cardiac_grade.has_value()) << "unnamed attributes are filled from the training data";
    EXPECT_FALSE(r.labels.tracer.empty());
    EXPECT_EQ(r.origin, Origin::kSynthetic);
    EXPECT_EQ(r.meta["provenance"]["steps"], 3);
    EXPECT_EQ(r.meta["provenance"]["model_sha256"].get<std::string>().size(), 64u);
  }
  EXPECT_EQ(all.size(), 5u);
  EXPECT_EQ(all, shards);
  // The SDE sampler draws each scan's step noise from that scan's own generator: shards and
  // batches still do not change a scan, and the scans differ from the ODE sampler's.
  const auto [sde_all, sde_shards] = run(SamplerKind::kDpmpp2mSde, "sde-");
  EXPECT_EQ(sde_all.size(), 5u);
  EXPECT_EQ(sde_all, sde_shards);
  for (const auto& [id, sha] : sde_all) EXPECT_NE(sha, all.at(id)) << id;
  EXPECT_EQ(Dataset::open(t / "sde-all").records().front().meta["provenance"]["sampler"], "dpmpp2m-sde");
  // An unknown condition value is refused before anything is written.
  GenerateConfig g = gen::testing::micro_generate(t / "m", 5, "cardiac_grade=5", 3);
  g.out = t / "bad";
  EXPECT_THROW(generate_dataset(g), ConfigError);
  EXPECT_FALSE(fs::exists(t / "bad"));
}

// A model of expected counts (docs/MODEL.md, "Noise as physics"): refused on integer-count
// data, trained on noiseless data; its scans are exact Poisson draws (integers), a function of
// (seed, k) whatever the batch; --counts continuous gives the generated expectation itself.
TEST(Generate, AnExpectedCountModelLearnsNoiselessScansAndDrawsItsPoissonCounts) {
  TempDir t;
  make_dataset(t / "noisy", 24);
  TrainRunConfig c = micro_run(t.path(), t / "noisy", t / "m", 2);
  c.target = "expected";
  try {
    run_training(c);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), t / "noisy" +
                                ": holds integer counts (Poisson draws), but the model's target is 'expected': it "
                                "learns noiseless expected-count images and draws the Poisson counts itself (hint: "
                                "train it on noiseless scans (scintigen simulate --noiseless), or train a counts "
                                "model (--target counts))");
  }
  EXPECT_FALSE(fs::exists(t / "m/model.json"));
  make_dataset(t / "clean", 24, "", "", /*noiseless=*/true);
  c.data.datasets = {t / "clean"};
  c.out = t / "m2";
  ASSERT_TRUE(run_training(c).finished);
  const LoadedModel m = load_model(t / "m2");
  EXPECT_EQ(m.config.transform.target, ModelTarget::kExpected);

  GenerateConfig g = gen::testing::micro_generate(t / "m2", 4, "metastasis=1", 3);
  g.out = t / "a";
  generate_dataset(g);
  g.batch = 1;
  g.out = t / "b";
  generate_dataset(g);
  g.counts = CountOutput::kContinuous;
  g.out = t / "c";
  generate_dataset(g);
  Dataset a = Dataset::open(t / "a"), b = Dataset::open(t / "b"), cont = Dataset::open(t / "c");
  EXPECT_EQ(a.info().at("config").at("config").at("counts"), "poisson") << a.info().dump();
  bool any_fraction = false;
  const auto ra = a.records(), rb = b.records(), rc = cont.records();
  ASSERT_EQ(ra.size(), 4u);
  for (size_t i = 0; i < ra.size(); ++i) {
    const ScanRecord& r = ra[i];
    EXPECT_EQ(r.dtype, PixelDtype::kUint16) << "Poisson draws are integers";
    EXPECT_EQ(r.meta.at("provenance").at("counts"), "poisson");
    EXPECT_EQ(r.pixel_sha256, rb[i].pixel_sha256) << "the batch does not change a scan";
    const Scan e = cont.load(rc[i]), p = a.load(r);
    double sum_e = 0, sum_p = 0;
    for (size_t j = 0; j < e.pixels.size(); ++j) {
      sum_e += e.pixels[j];
      sum_p += p.pixels[j];
      any_fraction = any_fraction || e.pixels[j] != std::round(e.pixels[j]);
    }
    // Poisson total around the expectation's: within 5 standard deviations.
    EXPECT_NEAR(sum_p, sum_e, 5 * std::sqrt(sum_e) + 1) << r.id;
  }
  EXPECT_TRUE(any_fraction) << "continuous output is the expectation, not counts";
}

// A run stopped part way (as a killed one leaves it: whole batches) and resumed equals an
// uninterrupted run; a complete run resumes to nothing; a changed setting is refused.
TEST(Generate, ResumeCompletesAnInterruptedRunAsIfUninterrupted) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 2);
  run_training(c);
  GenerateConfig g = gen::testing::micro_generate(t / "m", 7, "metastasis=1", 3);
  g.batch = 2;
  g.out = t / "all";
  const GenerateResult whole = generate_dataset(g);
  EXPECT_TRUE(whole.complete);
  g.out = t / "part";
  g.stop_after = 3;  // two batches of 2
  const GenerateResult first = generate_dataset(g);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.scans, 4u);
  EXPECT_EQ(Dataset::open(t / "part").size(), 4u);
  g.stop_after = 0;
  g.resume = true;
  g.batch = 3;  // batch size and threads do not change a scan
  const GenerateResult rest = generate_dataset(g);
  EXPECT_TRUE(rest.complete);
  EXPECT_EQ(rest.already_done, 4u);
  EXPECT_EQ(rest.scans, 3u);
  auto rows = [](const std::string& dir) {
    std::map<std::string, nlohmann::json> m;
    for (const auto& r : Dataset::open(dir).records())
      m[r.id] = {{"sha", r.pixel_sha256}, {"labels", labels_to_json(r.labels)}, {"meta", r.meta}, {"source", r.source}};
    return m;
  };
  const auto expected = rows(t / "all");
  EXPECT_EQ(expected.size(), 7u);
  EXPECT_EQ(rows(t / "part"), expected);
  const auto history = Dataset::open(t / "part").history();
  EXPECT_EQ(history.back()["command"], "generate");
  EXPECT_EQ(history.back()["config"]["resumed_with"], 4);

  const GenerateResult again = generate_dataset(g);  // complete: nothing to do
  EXPECT_TRUE(again.complete);
  EXPECT_EQ(again.scans, 0u);
  EXPECT_EQ(again.already_done, 7u);
  EXPECT_EQ(Dataset::open(t / "part").history().size(), history.size());

  g.sampler.steps = 4;
  try {
    generate_dataset(g);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), t / "part" +
                                ": --resume with a changed setting: sampler.steps was 3, now 4 (hint: resume with the "
                                "same flags (--batch and --threads may differ), or generate into a new --out)");
  }
  g.sampler.steps = 3;
  g.out = t / "nowhere";
  EXPECT_THROW(generate_dataset(g), InputError);

  // Killed inside Dataset::create (dataset.json not yet written): starts over.
  fs::create_directories(t / "early");
  for (const char* f : {"lock", "images.bin", "manifest.db"}) write_file_atomic(t / "early" + "/" + f, "");
  g.out = t / "early";
  EXPECT_TRUE(generate_dataset(g).complete);
  EXPECT_EQ(rows(t / "early"), expected);
}

// The precision that ran is recorded, auto resolved: bf16 on a CPU that runs it natively, fp32
// elsewhere; auto makes the same scans as the precision it resolves to; resume refuses a change.
TEST(Generate, PrecisionIsRecordedAsItRan) {
  TempDir t;
  make_dataset(t / "ds", 24);
  TrainRunConfig c = micro_run(t.path(), t / "ds", t / "m", 2);
  run_training(c);
  GenerateConfig g = gen::testing::micro_generate(t / "m", 4, "metastasis=1", 3);
  auto made = [&](Precision p, const std::string& out) {
    g.precision = p;
    g.out = t / out;
    generate_dataset(g);
    Dataset d = Dataset::open(g.out);
    std::vector<std::string> shas;
    for (const auto& r : d.records()) shas.push_back(r.pixel_sha256);
    return std::make_pair(d.info().at("config").at("config").at("precision").get<std::string>(), shas);
  };
  const auto fp32 = made(Precision::kFp32, "fp32");
  const auto bf16 = made(Precision::kBf16, "bf16");
  const auto automatic = made(Precision::kAuto, "auto");
  EXPECT_EQ(fp32.first, "fp32");
  EXPECT_EQ(bf16.first, "bf16");
  const bool native = cpu_has_native_bf16();
  EXPECT_EQ(automatic.first, native ? "bf16" : "fp32");
  EXPECT_EQ(automatic.second, native ? bf16.second : fp32.second);

  g.precision = native ? Precision::kFp32 : Precision::kBf16;  // what auto did not resolve to
  g.out = t / "auto";
  g.resume = true;
  try {
    generate_dataset(g);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(e.describe().find(std::string("precision was \"") + (native ? "bf16" : "fp32") + "\""), std::string::npos)
        << e.describe();
  }
}

}  // namespace
}  // namespace scintigen::gen
