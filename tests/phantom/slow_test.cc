// Difficulty: trivial image statistics must not separate metastatic from normal scans.
#include <gtest/gtest.h>

#include <algorithm>

#include "phantom/phantom.h"

namespace scintigen::phantom {
namespace {

double auc(const std::vector<double>& score, const std::vector<int>& y) {
  double num = 0, pos = 0, neg = 0;
  for (size_t i = 0; i < score.size(); ++i)
    for (size_t j = 0; j < score.size(); ++j)
      if (y[i] && !y[j]) num += score[i] > score[j] ? 1 : (score[i] == score[j] ? 0.5 : 0);
  for (int v : y) (v ? pos : neg) += 1;
  return num / (pos * neg);
}

TEST(Difficulty, TrivialScoresDoNotSeparateMetastases) {
  const SiteProfile site = load_site_profile("large_centre");
  SimConfig cfg;
  cfg.n = 300;
  cfg.seed = 77;
  cfg.prevalence.metastasis = 0.5;
  std::vector<int> y;
  std::vector<double> max_pixel, total;
  simulate(site, cfg, [&](Scan&& s) {
    y.push_back(*s.labels.metastasis);
    double m = 0, t = 0;
    for (float v : s.pixels) m = std::max<double>(m, v), t += v;
    max_pixel.push_back(m), total.push_back(t);
  });
  const double a_max = auc(max_pixel, y), a_total = auc(total, y);
  RecordProperty("auc_max_pixel", std::to_string(a_max));
  RecordProperty("auc_total_counts", std::to_string(a_total));
  EXPECT_LT(a_max, 0.8);
  EXPECT_LT(a_total, 0.8);
}

}  // namespace
}  // namespace scintigen::phantom
