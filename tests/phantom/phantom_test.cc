// Determinism, sharding, threads, labels and ground truth of the simulator.
#include "phantom/phantom.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>

namespace scintigen::phantom {
namespace {

SimConfig small_config(uint64_t n, uint64_t seed) {
  SimConfig c;
  c.n = n;
  c.seed = seed;
  c.size = {64, 256};
  return c;
}

std::vector<std::pair<std::string, std::string>> run(const SiteProfile& site, const SimConfig& cfg) {
  std::vector<std::pair<std::string, std::string>> out;
  simulate(site, cfg, [&](Scan&& s) { out.emplace_back(s.id, s.pixel_sha256); });
  return out;
}

TEST(Simulate, SameSeedGivesIdenticalPixels) {
  const SiteProfile site = load_site_profile("large_centre");
  const SimConfig cfg = small_config(4, 42);
  for (uint64_t i : {0, 3}) {
    const Scan a = simulate_one(site, cfg, i), b = simulate_one(site, cfg, i);
    EXPECT_EQ(a.pixel_sha256, b.pixel_sha256);
    EXPECT_EQ(a.pixels, b.pixels);
    EXPECT_EQ(a.meta.dump(), b.meta.dump());
  }
}

TEST(Simulate, DifferentSeedsAndIndicesDiffer) {
  const SiteProfile site = load_site_profile("large_centre");
  std::set<std::string> hashes;
  for (uint64_t seed : {1, 2})
    for (uint64_t i = 0; i < 3; ++i) hashes.insert(simulate_one(site, small_config(3, seed), i).pixel_sha256);
  EXPECT_EQ(hashes.size(), 6u);
}

// Scan i of site S is a function of (S, seed, i): two sites simulated with the same seed draw
// independent patients (they used to share every draw, so their ages moved together).
TEST(Simulate, SitesWithTheSameSeedDrawIndependentPatients) {
  const SiteProfile a = load_site_profile("small_centre"), b = load_site_profile("large_centre");
  EXPECT_NE(site_seed(a.name, 7), site_seed(b.name, 7));
  EXPECT_EQ(site_seed(a.name, 7), site_seed("small_centre", 7));
  // The ages of scans 0..n-1 of both sites, as simulate_one drew them (with one shared seed
  // they correlated at r = 0.93).
  const int n = 200;
  SimConfig cfg = small_config(n, 7);
  cfg.size = {16, 64};
  std::vector<double> age_a, age_b;
  for (int i = 0; i < n; ++i) {
    age_a.push_back(simulate_one(a, cfg, i).meta["patient"]["age"].get<double>());
    age_b.push_back(simulate_one(b, cfg, i).meta["patient"]["age"].get<double>());
  }
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); };
  const double ma = mean(age_a), mb = mean(age_b);
  double sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < n; ++i) {
    sab += (age_a[i] - ma) * (age_b[i] - mb);
    saa += (age_a[i] - ma) * (age_a[i] - ma);
    sbb += (age_b[i] - mb) * (age_b[i] - mb);
  }
  // Independent draws: r ~ N(0, 1/sqrt(n)) = sd 0.071; 0.25 is 3.5 sd.
  EXPECT_LT(std::abs(sab / std::sqrt(saa * sbb)), 0.25);
  // And the whole scan: the same index and seed at two sites differs in pixels and patient.
  const Scan sa = simulate_one(a, small_config(1, 7), 0), sb = simulate_one(b, small_config(1, 7), 0);
  EXPECT_NE(sa.pixel_sha256, sb.pixel_sha256);
}

TEST(Simulate, UnionOfShardsEqualsUnshardedRun) {
  const SiteProfile site = load_site_profile("small_centre");
  SimConfig cfg = small_config(7, 5);
  const auto whole = run(site, cfg);
  ASSERT_EQ(whole.size(), 7u);
  std::set<std::pair<std::string, std::string>> merged;
  for (int i = 0; i < 3; ++i) {
    cfg.shard_index = i, cfg.shard_count = 3;
    for (const auto& x : run(site, cfg)) EXPECT_TRUE(merged.insert(x).second) << x.first;
  }
  const std::set<std::pair<std::string, std::string>> expected(whole.begin(), whole.end());
  EXPECT_EQ(merged, expected);
  EXPECT_EQ(whole[0].first, "sim000000");
  EXPECT_EQ(whole[6].first, "sim000006");
}

TEST(Simulate, ThreadCountDoesNotMatter) {
  const SiteProfile site = load_site_profile("ext_a");
  SimConfig cfg = small_config(6, 9);
  cfg.threads = 1;
  const auto one = run(site, cfg);
  cfg.threads = 3;
  EXPECT_EQ(one, run(site, cfg));
}

TEST(Simulate, CountsAreIntegersAndLabelsComplete) {
  const SiteProfile site = load_site_profile("large_centre");
  SimConfig cfg = small_config(1, 3);
  cfg.prevalence.metastasis = 1;
  const Scan s = simulate_one(site, cfg, 0);
  for (float v : s.pixels) ASSERT_EQ(v, std::floor(v));
  EXPECT_EQ(s.origin, Origin::kSimulated);
  EXPECT_EQ(s.labels.metastasis, 1);
  EXPECT_EQ(s.labels.site, "large_centre");
  ASSERT_TRUE(s.labels.lesion_count.has_value());
  EXPECT_GE(*s.labels.lesion_count, 1);
  EXPECT_EQ(s.meta["patient"]["lesions"].size(), static_cast<size_t>(*s.labels.lesion_count));
  for (const char* k : {"x_mm", "y_mm", "depth_mm", "size_mm", "intensity", "cold", "bone", "row", "col"})
    EXPECT_TRUE(s.meta["patient"]["lesions"][0].contains(k)) << k;
  EXPECT_TRUE(s.labels.cardiac_grade && s.labels.age && s.labels.height && s.labels.weight && s.labels.outcome_time &&
              s.labels.outcome_event);
  EXPECT_FALSE(s.labels.tracer.empty());
  EXPECT_EQ(s.source, "phantom:site=large_centre seed=3 index=0");
}

TEST(Simulate, SizeOverrideScalesThePixelSpacing) {
  const SiteProfile site = load_site_profile("ext_b");  // native 512x2048 at 1.2 mm
  SimConfig cfg = small_config(1, 1);
  cfg.size = {256, 1024};
  const Scan s = simulate_one(site, cfg, 0);
  EXPECT_EQ(s.width, 256);
  EXPECT_EQ(s.height, 1024);
  EXPECT_DOUBLE_EQ(s.spacing_col_mm, 2.4);
  EXPECT_DOUBLE_EQ(s.spacing_row_mm, 2.4);
}

TEST(Simulate, PrevalenceOverrideIsHonoured) {
  const SiteProfile site = load_site_profile("large_centre");
  PrevalenceOverride o = parse_prevalence("metastasis=0,cardiac_grade=0:0/1:0/2:0/3:1");
  for (uint64_t i = 0; i < 20; ++i) {
    Rng rng = Rng::for_scan(1, i, Rng::kPatientStream);
    const PatientParams p = sample_patient(site, o, rng);
    EXPECT_FALSE(p.metastasis);
    EXPECT_EQ(p.cardiac_grade, 3);
  }
}

TEST(Simulate, OutcomesAreCensoredWithinFollowUp) {
  const SiteProfile site = load_site_profile("large_centre");
  int events_met = 0, events_none = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    Rng rng = Rng::for_scan(8, i, Rng::kPatientStream);
    PrevalenceOverride o;
    o.metastasis = i % 2 ? 1.0 : 0.0;
    o.cardiac_grade = std::array<double, 4>{1, 0, 0, 0};
    const PatientParams p = sample_patient(site, o, rng);
    EXPECT_GE(p.outcome_days, 0);
    EXPECT_LE(p.outcome_days, site.outcome.followup_days.hi);
    (p.metastasis ? events_met : events_none) += p.outcome_event;
  }
  EXPECT_GT(events_met, 2 * events_none);  // hazard rises with disease burden
}

}  // namespace
}  // namespace scintigen::phantom
