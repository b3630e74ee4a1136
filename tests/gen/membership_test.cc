// The membership-inference score (gen/membership.h): the per-scan denoising loss equals
// objective.h's v-loss under the documented noise, depends on nothing but (model, scan, seed),
// and a model overfitted to its training scans scores them apart from held-out scans of the
// same site (the audit's acceptance test (e)). Label slow: it trains a tiny model.
#include "gen/membership.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>

#include "core/error.h"
#include "core/random_streams.h"
#include "core/resample.h"
#include "data/dataset.h"
#include "gen/gen_data_fixture.h"
#include "gen/gen_test_util.h"
#include "gen/model_weights.h"
#include "gen/objective.h"
#include "gen/schedule.h"
#include "gen/train_loop.h"
#include "gen/transform.h"
#include "phantom/phantom.h"
#include "stats/roc.h"
#include "test_util.h"

namespace scintigen::gen {
namespace {

using scintigen::testing::TempDir;

// Scans first .. first + n - 1 of the simulated site "generator_train" (seed 11) at (height, width).
std::vector<Scan> simulate(uint64_t first, uint64_t n, int height, int width) {
  const phantom::SiteProfile site = phantom::load_site_profile("generator_train");
  phantom::SimConfig cfg;
  cfg.n = first + n;
  cfg.seed = 11;
  cfg.size = {width, height};
  cfg.threads = 1;
  std::vector<Scan> out;
  for (uint64_t i = first; i < first + n; ++i) out.push_back(phantom::simulate_one(site, cfg, i));
  return out;
}

// A 2 x 16 x 64 model folder with random, non-trivial weights (no training needed to test the
// loss's bookkeeping).
std::string write_random_model(const std::string& dir) {
  ModelConfig c = model_preset("tiny");
  c.preset = "micro";
  c.height = 64;
  c.width = 16;
  c.transform.count_max = 2000;
  torch::manual_seed(5);
  UNet net(c);
  gen::testing::perturb_constant_parameters(net);
  write_model_folder(dir, net, net, c, {{"name", "random micro"}, {"train_config", TrainConfig{}.to_json()}});
  return dir;
}

double max_relative_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / std::abs(b[i]));
  return worst;
}

std::string config_error(const DenoisingLossConfig& c) {
  try {
    c.validate();
  } catch (const ConfigError& e) {
    return e.describe();
  }
  return "no error";
}

TEST(Membership, BadConfigsAndInputsAreClearErrors) {
  DenoisingLossConfig c;
  c.times = {0.1, 1.0};
  EXPECT_EQ(config_error(c),
            "--membership-times: 1 is outside (0, 1) (hint: diffusion times lie strictly between 0 (data) and 1 (pure "
            "noise))");
  c.times = {};
  EXPECT_EQ(
      config_error(c),
      "--membership-times: has 0 times (hint: give 1..1000 diffusion times in (0, 1), e.g. 0.05,0.1,0.2,0.3,0.4,0.6)");
  c.times = {0.3};
  c.draws = 0;
  EXPECT_EQ(config_error(c), "--membership-draws: 0 (hint: must be in 1..1000 (noise draws per time))");
  c.draws = 1;
  EXPECT_EQ(config_error(c), "no error");

  EXPECT_EQ(scintigen::testing::input_error_reason([&] { denoising_losses(c, {}); }), "no scan to score");
  Scan one = make_scan(16, 4);
  one.id = "a1";
  one.views = ViewSet::kAnteriorOnly;
  try {
    denoising_losses(c, {one});
    ADD_FAILURE() << "a single-view scan was scored";
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(),
              "scan 'a1': has only one view (anterior) (hint: the model scores two-view scans, as it was "
              "trained on)");
  }
}

// The loss of a scan at one time and one draw is objective.h's v_loss on that scan alone, with
// the noise drawn as the header documents; batching, order and missing labels change nothing;
// another seed changes the losses.
TEST(Membership, LossIsTheVLossUnderFixedNoiseWhateverTheBatchOrOrder) {
  TempDir t;
  const std::string model = write_random_model(t / "model");
  std::vector<Scan> scans = simulate(0, 9, 128, 32);  // resampled to the model's 64 x 16
  scans[4].labels = Labels{};                         // unlabelled: tokens 0

  DenoisingLossConfig c;
  c.model = model;
  c.times = {0.3};
  c.draws = 1;
  c.seed = 3;
  c.threads = 1;
  c.batch = 4;
  const DenoisingLosses one = denoising_losses(c, scans);
  ASSERT_EQ(one.loss.size(), scans.size());

  LoadedModel m = load_model(model);
  torch::NoGradGuard no_grad;
  const int64_t H = m.config.height, W = m.config.width;
  auto eps = torch::empty({1, 2, H, W}, torch::kFloat);  // stream_rng(seed, kAuditNoise, k * draws + d)
  Rng rng = stream_rng(3, RandomStream::kAuditNoise, 0);
  for (int64_t i = 0; i < eps.numel(); ++i) eps.data_ptr<float>()[i] = static_cast<float>(rng.normal());
  for (size_t i = 0; i < scans.size(); ++i) {
    std::vector<float> px = scan_to_grid(scans[i], static_cast<int>(H), static_cast<int>(W));
    auto x0 = counts_to_model(torch::from_blob(px.data(), {1, 2, H, W}, torch::kFloat).clone(), m.config.transform);
    auto cond = condition_tensor({condition_from_labels(scans[i].labels, m.config.conditions)}, m.config.conditions);
    const double ref = v_loss(m.net, Schedule::from(m.config), x0, cond, torch::full({1}, 0.3f), eps).item<double>();
    EXPECT_NEAR(one.loss[i], ref, 1e-5 * ref) << "scan " << i;
    EXPECT_EQ(one.per_time[i].size(), 1u);
  }

  c.times = {0.05, 0.2, 0.6};
  c.draws = 2;
  c.batch = 1;
  EXPECT_EQ(c.to_json().dump(), "{\"batch\":1,\"device\":\"cpu\",\"draws\":2,\"model\":\"" + model +
                                    "\",\"seed\":3,\"threads\":1,\"times\":[0.05,0.2,0.6]}");
  const DenoisingLosses b1 = denoising_losses(c, scans);
  c.batch = 7;
  const DenoisingLosses b7 = denoising_losses(c, scans);
  EXPECT_LT(max_relative_diff(b7.loss, b1.loss), 1e-6);
  for (size_t i = 0; i < scans.size(); ++i) {
    ASSERT_EQ(b1.per_time[i].size(), 3u);
    EXPECT_NEAR(b1.loss[i], (b1.per_time[i][0] + b1.per_time[i][1] + b1.per_time[i][2]) / 3, 1e-12);
    EXPECT_LT(max_relative_diff(b7.per_time[i], b1.per_time[i]), 1e-6);
  }

  std::vector<size_t> order = {5, 2, 8, 0, 7, 3, 1, 6, 4};
  std::vector<Scan> permuted;
  for (size_t i : order) permuted.push_back(scans[i]);
  const DenoisingLosses p = denoising_losses(c, permuted);
  std::vector<double> back(scans.size());
  for (size_t j = 0; j < order.size(); ++j) back[order[j]] = p.loss[j];
  EXPECT_LT(max_relative_diff(back, b1.loss), 1e-6);

  c.seed = 4;
  const DenoisingLosses other = denoising_losses(c, scans);
  EXPECT_GT(max_relative_diff(other.loss, b1.loss), 1e-3);

  const nlohmann::json j = b1.to_json();
  EXPECT_EQ(j["scans"], 9);
  EXPECT_EQ(j["model_sha256"], m.ema_sha256);
  EXPECT_NEAR(j["mean_loss"].get<double>(), std::accumulate(b1.loss.begin(), b1.loss.end(), 0.0) / 9, 1e-12);
}

// Trains the micro model (the tiny preset at 2 x 16 x 64, gen_data_fixture.h) on `train`
// through the training loop (`scintigen train`) for `steps`.
std::string train_model(const TempDir& t, const std::string& name, const std::vector<Scan>& train, int64_t steps) {
  const std::string data = t / (name + "_data");
  {
    Dataset ds = Dataset::create(data, {{"command", "test"}});
    for (const Scan& s : train) ds.add(s);
    ds.commit();
  }
  TrainRunConfig c;
  c.data.datasets = {data};
  c.data.val_fraction = 0;  // every scan is a training member
  c.data.threads = 1;
  c.out = t / name;
  c.preset = gen::testing::write_micro_config(t.path());
  c.train.steps = steps;
  c.train.warmup_steps = std::min<int64_t>(50, steps / 10);
  c.train.lr = 1e-3;
  c.train.ema_decay = 0.99;
  c.train.seed = 1;
  c.batch = 16;
  c.log_every = steps;
  c.checkpoint_every = steps;
  c.val_every = 0;
  c.sample_every = 0;
  c.threads = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const TrainRunResult r = run_training(c);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ membership ] %s: %lld steps of batch 16 in %.1f s (final loss %.4f)\n", name.c_str(),
              static_cast<long long>(r.steps_done), s, r.final_loss);
  return c.out;
}

stats::AucResult membership_auc(const std::string& model, const std::vector<Scan>& members,
                                const std::vector<Scan>& held_out) {
  DenoisingLossConfig c;
  c.model = model;
  c.threads = 1;
  std::vector<Scan> all = members;
  all.insert(all.end(), held_out.begin(), held_out.end());
  const auto t0 = std::chrono::steady_clock::now();
  const DenoisingLosses l = denoising_losses(c, all);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<int> y;
  std::vector<double> score;
  for (size_t i = 0; i < all.size(); ++i) {
    y.push_back(i < members.size() ? 1 : 0);
    score.push_back(-l.loss[i]);
  }
  std::printf("[ membership ] scored %zu scans in %.1f s\n", all.size(), s);
  return stats::delong_auc(y, score);
}

// Acceptance test (e) of the audit. Budget fixed before the first run, from the measured cost of
// a step (one core: 0.78 s at 2 x 32 x 128, 0.17 s at 2 x 16 x 64, batch 16): the tiny preset's
// network at 2 x 16 x 64 (scans simulated at 32 x 128, resampled as training does), 32 scans,
// batch 16, 800 steps (400 epochs), lr 1e-3 with 50 warm-up steps and cosine decay, EMA 0.99;
// scored with the default 6 times x 4 draws. The briefly trained model (20 steps) is reported
// only.
TEST(Membership, AnOverfittedModelSeparatesItsTrainingScansFromHeldOutOnes) {
  const std::vector<Scan> scans = simulate(0, 64, 128, 32);
  const std::vector<Scan> members(scans.begin(), scans.begin() + 32), held_out(scans.begin() + 32, scans.end());
  TempDir t;

  const stats::AucResult brief = membership_auc(train_model(t, "brief", members, 20), members, held_out);
  std::printf("[ membership ] briefly trained (20 steps): AUC %.3f (95%% CI %.3f-%.3f)\n", brief.auc, brief.ci_lower,
              brief.ci_upper);

  const stats::AucResult a = membership_auc(train_model(t, "overfit", members, 800), members, held_out);
  std::printf("[ membership ] overfitted (800 steps): AUC %.3f (95%% CI %.3f-%.3f)\n", a.auc, a.ci_lower, a.ci_upper);
  EXPECT_GE(a.auc, 0.9);
}

// Speed at the shipped model's grid (64 x 256), 6 times x 4 draws, one thread.
TEST(Membership, TimePerScanOfTheShippedModel) {
  const std::vector<Scan> scans = simulate(100, 3, 256, 64);
  DenoisingLossConfig c;  // "builtin", 6 times x 4 draws
  c.threads = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const DenoisingLosses l = denoising_losses(c, scans);
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ membership ] shipped model, 64 x 256, %zu times x %d draws, 1 thread: %.2f s per scan (%.2f s CPU)\n",
              c.times.size(), c.draws, s / scans.size(), cpu / scans.size());
  for (double v : l.loss) EXPECT_TRUE(std::isfinite(v) && v > 0);
}

}  // namespace
}  // namespace scintigen::gen
