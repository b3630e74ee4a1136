// Classifier data handling without LibTorch: augmentation, the balanced sampler, resampling to
// the input grid, task labels, configs and calibration.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "clf/augment.h"
#include "clf/eval.h"
#include "clf/train.h"
#include "core/error.h"

namespace scintigen::clf {
namespace {

double total(const std::vector<float>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

std::vector<float> flat_scan(int h, int w, float value) {
  return std::vector<float>(2 * static_cast<size_t>(h) * w, value);
}

TEST(Augment, ScalingMultipliesTotalCounts) {
  std::vector<float> v = flat_scan(16, 8, 7.0f);
  const double before = total(v);
  scale_counts(v.data(), v.size(), 1.25);
  EXPECT_NEAR(total(v), 1.25 * before, 1e-9 * before);
}

TEST(Augment, PoissonResamplingKeepsTheMean) {
  // Per pixel mean lambda, variance lambda; over 2 x 128 x 128 pixels the relative error of the
  // total is ~ 1 / sqrt(total): allow 5 standard errors.
  for (double lambda : {0.3, 4.0, 25.0, 600.0}) {
    std::vector<float> v = flat_scan(128, 128, static_cast<float>(lambda));
    Rng rng(11);
    poisson_resample(v.data(), v.size(), rng);
    const double n = static_cast<double>(v.size());
    const double mean = total(v) / n;
    double var = 0;
    for (float x : v) {
      EXPECT_EQ(x, std::floor(x));
      var += (x - mean) * (x - mean);
    }
    var /= n - 1;
    EXPECT_NEAR(mean, lambda, 5 * std::sqrt(lambda / n)) << lambda;
    EXPECT_NEAR(var / lambda, 1.0, 0.05) << lambda;  // Poisson: variance = mean
  }
}

TEST(Augment, FullAugmentationKeepsExpectedTotalTimesScale) {
  // E[total] = E[s] * total for s ~ U(0.7, 1.3) without shifts: mean over many draws.
  AugmentConfig cfg;
  cfg.shift = false;
  Rng rng(5);
  const std::vector<float> base = flat_scan(32, 16, 20.0f);
  double sum = 0;
  const int reps = 400;
  for (int r = 0; r < reps; ++r) {
    std::vector<float> v = base;
    augment_scan(v.data(), 32, 16, cfg, rng);
    sum += total(v);
  }
  // s has sd 0.6 / sqrt(12) = 0.173; its mean over 400 draws has sd 0.0087.
  EXPECT_NEAR(sum / reps / total(base), 1.0, 0.035);
}

TEST(Augment, ShiftMovesBothViewsAndFillsZeros) {
  const int h = 4, w = 3;
  std::vector<float> v(2 * h * w);
  std::iota(v.begin(), v.end(), 1.0f);
  std::vector<float> s = v;
  shift_views(s.data(), h, w, 1, -1);  // down one row, left one column
  for (int view = 0; view < 2; ++view)
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) {
        const float got = s[view * h * w + r * w + c];
        const int sr = r - 1, sc = c + 1;
        const float want = (sr >= 0 && sc < w) ? v[view * h * w + sr * w + sc] : 0.0f;
        EXPECT_EQ(got, want) << view << " " << r << " " << c;
      }
}

TEST(Augment, DeterministicForASeed) {
  AugmentConfig cfg;
  std::vector<float> a = flat_scan(32, 16, 9.0f), b = a;
  Rng r1(42), r2(42);
  augment_scan(a.data(), 32, 16, cfg, r1);
  augment_scan(b.data(), 32, 16, cfg, r2);
  EXPECT_EQ(a, b);
}

TEST(BalancedSampler, DrawsClassesAboutEqually) {
  std::vector<int> labels(1000, 0);
  for (int i = 0; i < 50; ++i) labels[i * 20] = 1;  // 5% positives
  BalancedSampler s(labels);
  Rng rng(3);
  const auto idx = s.draw(20000, rng);
  size_t pos = 0;
  for (size_t i : idx) pos += labels[i];
  // Binomial(20000, 0.5): sd 71; allow 5 sd.
  EXPECT_NEAR(static_cast<double>(pos), 10000.0, 355.0);
  EXPECT_THROW(BalancedSampler(std::vector<int>(10, 1)), InputError);
}

TEST(BalancedSampler, MixingWeightsSetEachSourcesShareOfAClass) {
  // Source 0: 900 real scans, 10% positive; source 1: 100 synthetic positives only.
  std::vector<int> labels;
  std::vector<size_t> sources;
  for (int i = 0; i < 900; ++i) labels.push_back(i % 10 == 0), sources.push_back(0);
  for (int i = 0; i < 100; ++i) labels.push_back(1), sources.push_back(1);
  Rng rng(9);
  const size_t n = 40000;
  // Weights 1:3: positives come from source 1 with probability 3/4, negatives only from source 0.
  BalancedSampler s(labels, sources, {1.0, 3.0});
  size_t pos = 0, pos_from_1 = 0;
  for (size_t i : s.draw(n, rng)) {
    pos += labels[i];
    pos_from_1 += labels[i] && sources[i] == 1;
  }
  EXPECT_NEAR(static_cast<double>(pos) / n, 0.5, 5 * 0.0025);            // sd 0.0025
  EXPECT_NEAR(static_cast<double>(pos_from_1) / pos, 0.75, 5 * 0.0031);  // sd sqrt(.75*.25/20000)
  const auto shares = s.source_shares();
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_NEAR(shares[0], 0.5 + 0.5 * 0.25, 1e-12);
  EXPECT_NEAR(shares[1], 0.5 * 0.75, 1e-12);
  // Without weights the draw is uniform within a class, whatever the source.
  BalancedSampler pooled(labels, sources);
  size_t pooled_from_1 = 0, pooled_pos = 0;
  for (size_t i : pooled.draw(n, rng)) {
    pooled_pos += labels[i];
    pooled_from_1 += labels[i] && sources[i] == 1;
  }
  EXPECT_NEAR(static_cast<double>(pooled_from_1) / pooled_pos, 100.0 / 190.0, 5 * 0.0036);
  // A weight of 0 removes a source; a class left without any source is an error.
  EXPECT_THROW(BalancedSampler(labels, sources, {0.0, 1.0}), InputError);  // no negatives
  EXPECT_THROW(BalancedSampler(labels, sources, {1.0}), InputError);       // source 1 has no weight
}

TEST(Grid, ResamplingPreservesCountsPerView) {
  Scan s = make_scan(64, 16);
  for (size_t i = 0; i < s.pixels.size(); ++i) s.pixels[i] = static_cast<float>(i % 17);
  const double ant = std::accumulate(s.view(kAnterior), s.view(kAnterior) + s.view_size(), 0.0);
  std::vector<float> g = scan_to_grid(s, 32, 8);
  ASSERT_EQ(g.size(), 2u * 32 * 8);
  EXPECT_NEAR(std::accumulate(g.begin(), g.begin() + 32 * 8, 0.0), ant, 1e-3 * ant);
  EXPECT_EQ(scan_to_grid(s, 64, 16), s.pixels);
}

TEST(Task, Labels) {
  Labels l;
  EXPECT_FALSE(task_label(l, Task::kMetastasis));
  EXPECT_FALSE(task_label(l, Task::kCardiac));
  l.metastasis = 1;
  l.cardiac_grade = 1;
  EXPECT_EQ(*task_label(l, Task::kMetastasis), 1);
  EXPECT_EQ(*task_label(l, Task::kCardiac), 0);
  l.cardiac_grade = 2;
  EXPECT_EQ(*task_label(l, Task::kCardiac), 1);
  try {
    task_from_string("bone");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), "--task: unknown task 'bone' (hint: expected metastasis | cardiac)");
  }
}

TEST(Config, ValidateAndRoundTrip) {
  ClassifierConfig c;
  c.train = {"a", "b"};
  c.out = "o";
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(ClassifierConfig::from_json(c.to_json(), "t").to_json(), c.to_json());
  ClassifierConfig bad = c;
  bad.batch = 1;
  EXPECT_THROW(bad.validate(), ConfigError);
  bad = c;
  bad.task = "x";
  EXPECT_THROW(bad.validate(), ConfigError);
  bad = c;
  bad.augment.scale_min = 2;
  bad.augment.scale_max = 1;
  EXPECT_THROW(bad.validate(), ConfigError);
}

TEST(Calibration, TableAndBrier) {
  std::vector<int> y = {0, 0, 1, 1};
  std::vector<double> p = {0.05, 0.15, 0.85, 1.0};
  const auto c = calibration_json(y, p, 10);
  ASSERT_EQ(c["bins"].size(), 10u);
  EXPECT_EQ(c["bins"][0]["n"], 1);
  EXPECT_EQ(c["bins"][9]["n"], 1);  // 1.0 lands in the last, closed bin
  EXPECT_EQ(c["bins"][8]["n"], 1);
  EXPECT_DOUBLE_EQ(c["bins"][9]["observed_rate"].get<double>(), 1.0);
  EXPECT_TRUE(c["bins"][5]["mean_predicted"].is_null());
  EXPECT_NEAR(c["brier"].get<double>(), (0.05 * 0.05 + 0.15 * 0.15 + 0.15 * 0.15 + 0) / 4, 1e-12);
}

}  // namespace
}  // namespace scintigen::clf
