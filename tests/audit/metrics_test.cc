// Feature-space metrics (src/audit/metrics.h) against NumPy/SciPy (tests/ref/audit_metrics_reference.py)
// and known answers.
#include "audit/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/audit_test_util.h"
#include "core/error.h"
#include "core/rng.h"
#include "test_util.h"

namespace scintigen::audit {
namespace {

// n x d standard normals (times sd, plus shift), from a fixed generator.
Features normals(size_t n, size_t d, uint64_t seed, double shift = 0.0, double sd = 1.0) {
  Rng rng(seed);
  Features f(n, d);
  for (double& v : f.x) v = shift + sd * rng.normal();
  return f;
}

// n x d integers in [0, levels): many exact ties and duplicate rows.
Features grid(size_t n, size_t d, uint64_t seed, int levels) {
  Rng rng(seed);
  Features f(n, d);
  for (double& v : f.x) v = static_cast<double>(rng.next() % static_cast<uint64_t>(levels));
  return f;
}

using audit_testing::rows_json;

struct Case {
  std::string name;
  Features real, fake;
  int k_pr = 3, k_dc = 5;
};

// The cases compared with the reference: generic, d > n, exact ties, duplicate rows, wider d.
std::vector<Case> reference_cases() {
  std::vector<Case> cases;
  cases.push_back({"generic 60x8 vs 50x8", normals(60, 8, 1), normals(50, 8, 2, 0.3, 1.2)});
  cases.push_back({"d > n: 20x40 vs 25x40", normals(20, 40, 3), normals(25, 40, 4, 0.1)});
  cases.push_back({"ties: integer grid 40x3", grid(40, 3, 5, 3), grid(45, 3, 6, 3)});
  Features dup = normals(30, 5, 7);
  for (size_t i = 0; i < 10; ++i)
    for (size_t j = 0; j < 5; ++j) dup.at(20 + i, j) = dup.at(i, j);  // rows 20..29 repeat rows 0..9
  Features dup_fake = normals(35, 5, 8, 0.2);
  for (size_t j = 0; j < 5; ++j) dup_fake.at(0, j) = dup.at(3, j);  // a fake row equal to a real one
  cases.push_back({"duplicate rows 30x5", dup, dup_fake});
  cases.push_back({"wide 200x64 vs 150x64", normals(200, 64, 9), normals(150, 64, 10, 0.05, 0.9), 3, 5});
  cases.push_back({"k 1 and 2: 12x4", normals(12, 4, 11), normals(10, 4, 12), 1, 2});
  return cases;
}

class MetricsReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cases_ = new std::vector<Case>(reference_cases());
    nlohmann::json in;
    in["metrics"] = nlohmann::json::array();
    for (const Case& c : *cases_)
      in["metrics"].push_back(
          {{"real", rows_json(c.real)}, {"fake", rows_json(c.fake)}, {"k_pr", c.k_pr}, {"k_dc", c.k_dc}});
    const audit_testing::Reference r = audit_testing::run_reference(in);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ref_ = new nlohmann::json(r.values);
  }
  static void TearDownTestSuite() {
    delete cases_;
    delete ref_;
  }
  static std::vector<Case>* cases_;
  static nlohmann::json* ref_;
};
std::vector<Case>* MetricsReference::cases_ = nullptr;
nlohmann::json* MetricsReference::ref_ = nullptr;

double trace_scale(const Features& f) {
  // sum of column variances: the natural scale of an FD between sets like f
  double s = 0.0;
  for (size_t j = 0; j < f.d; ++j) {
    double m = 0.0, q = 0.0;
    for (size_t i = 0; i < f.n; ++i) m += f.at(i, j);
    m /= f.n;
    for (size_t i = 0; i < f.n; ++i) q += (f.at(i, j) - m) * (f.at(i, j) - m);
    s += q / (f.n - 1);
  }
  return s;
}

TEST_F(MetricsReference, FrechetMatchesScipySqrtm) {
  for (size_t c = 0; c < cases_->size(); ++c) {
    const Case& cs = (*cases_)[c];
    const double ref = (*ref_)["metrics"][c]["fd"].get<double>();
    const double got = frechet_distance(cs.real, cs.fake);
    // 1e-6 relative to the FD, or to the sets' total variance when the FD is small.
    EXPECT_NEAR(got, ref, 1e-6 * std::max(std::abs(ref), trace_scale(cs.real))) << cs.name;
  }
}

TEST_F(MetricsReference, Mmd2MatchesNumpy) {
  for (size_t c = 0; c < cases_->size(); ++c) {
    const Case& cs = (*cases_)[c];
    const double ref = (*ref_)["metrics"][c]["mmd2"].get<double>();
    const double got = mmd2_unbiased(cs.real, cs.fake);
    // MMD^2 is a difference of kernel means of size ~1: 1e-6 relative or 1e-9 absolute.
    EXPECT_NEAR(got, ref, std::max(1e-6 * std::abs(ref), 1e-9)) << cs.name;
  }
}

TEST_F(MetricsReference, PrecisionRecallDensityCoverageMatchExactly) {
  for (size_t c = 0; c < cases_->size(); ++c) {
    const Case& cs = (*cases_)[c];
    const nlohmann::json& ref = (*ref_)["metrics"][c];
    const Prdc p = precision_recall_density_coverage(cs.real, cs.fake, cs.k_pr, cs.k_dc);
    EXPECT_EQ(p.precision, ref["precision"].get<double>()) << cs.name;
    EXPECT_EQ(p.recall, ref["recall"].get<double>()) << cs.name;
    EXPECT_NEAR(p.density, ref["density"].get<double>(), 1e-15) << cs.name;
    EXPECT_EQ(p.coverage, ref["coverage"].get<double>()) << cs.name;
    EXPECT_EQ(std::vector<int>(p.items.fake_in_real.begin(), p.items.fake_in_real.end()),
              ref["fake_in_real"].get<std::vector<int>>())
        << cs.name;
    EXPECT_EQ(p.items.fake_real_balls, ref["fake_real_balls"].get<std::vector<int>>()) << cs.name;
    EXPECT_EQ(std::vector<int>(p.items.real_in_fake.begin(), p.items.real_in_fake.end()),
              ref["real_in_fake"].get<std::vector<int>>())
        << cs.name;
    EXPECT_EQ(std::vector<int>(p.items.real_covered.begin(), p.items.real_covered.end()),
              ref["real_covered"].get<std::vector<int>>())
        << cs.name;
  }
}

TEST_F(MetricsReference, FidelityMetricsEstimatesEqualTheSingleFunctions) {
  const Case& cs = (*cases_)[0];
  FidelityConfig cfg;
  cfg.bootstrap = 20;
  cfg.kd_subsets = 5;
  cfg.kd_subset_size = 30;
  const FidelityResult r = fidelity_metrics(cs.real, cs.fake, cfg);
  const nlohmann::json& ref = (*ref_)["metrics"][0];
  EXPECT_NEAR(r.frechet.estimate, ref["fd"].get<double>(), 1e-6 * ref["fd"].get<double>());
  EXPECT_NEAR(r.kernel.estimate, ref["mmd2"].get<double>(), 1e-9);
  EXPECT_EQ(r.precision.estimate, ref["precision"].get<double>());
  EXPECT_EQ(r.recall.estimate, ref["recall"].get<double>());
  EXPECT_NEAR(r.density.estimate, ref["density"].get<double>(), 1e-15);
  EXPECT_EQ(r.coverage.estimate, ref["coverage"].get<double>());
}

// Rows with sample mean exactly mu and sample covariance exactly R diag(var) R^T: orthonormalised
// (Gram-Schmidt) centred normals, scaled by sqrt(n - 1).
Features exact_moments(size_t n, const std::vector<double>& mu, const std::vector<double>& var, uint64_t seed) {
  const size_t d = mu.size();
  Features z = normals(n, d, seed);
  std::vector<std::vector<double>> q(d, std::vector<double>(n));
  for (size_t j = 0; j < d; ++j) {
    double m = 0.0;
    for (size_t i = 0; i < n; ++i) m += z.at(i, j);
    for (size_t i = 0; i < n; ++i) q[j][i] = z.at(i, j) - m / n;
    for (int pass = 0; pass < 2; ++pass)
      for (size_t k = 0; k < j; ++k) {
        double dot = 0.0;
        for (size_t i = 0; i < n; ++i) dot += q[j][i] * q[k][i];
        for (size_t i = 0; i < n; ++i) q[j][i] -= dot * q[k][i];
      }
    double norm = 0.0;
    for (size_t i = 0; i < n; ++i) norm += q[j][i] * q[j][i];
    for (size_t i = 0; i < n; ++i) q[j][i] /= std::sqrt(norm);
  }
  // R: Givens rotations (0,1) by 0.5 and (1,2) by 1.1 (d = 3).
  const double c1 = std::cos(0.5), s1 = std::sin(0.5), c2 = std::cos(1.1), s2 = std::sin(1.1);
  const double r[3][3] = {{c1, -s1 * c2, s1 * s2}, {s1, c1 * c2, -c1 * s2}, {0, s2, c2}};
  Features out(n, d);
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) {
      double v = mu[a];
      for (size_t k = 0; k < d; ++k) v += r[a][k] * std::sqrt(var[k] * (n - 1)) * q[k][i];
      out.at(i, a) = v;
    }
  return out;
}

TEST(Frechet, IsZeroForASetAgainstItself) {
  const Features a = normals(50, 10, 21);
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-9);
  const Features w = normals(10, 30, 22);  // d > n
  EXPECT_NEAR(frechet_distance(w, w), 0.0, 1e-9);
}

TEST(Frechet, EqualsTheClosedFormForGaussianMoments) {
  // Commuting covariances R diag(va) R^T, R diag(vb) R^T: FD = |mu_a - mu_b|^2 + sum (sqrt va - sqrt vb)^2.
  const std::vector<double> mu_a = {0.0, 1.0, -0.5}, mu_b = {0.5, 0.0, 0.5}, va = {1.0, 4.0, 0.25},
                            vb = {2.0, 1.0, 0.5};
  double closed = 0.0;
  for (size_t k = 0; k < 3; ++k)
    closed += (mu_a[k] - mu_b[k]) * (mu_a[k] - mu_b[k]) + std::pow(std::sqrt(va[k]) - std::sqrt(vb[k]), 2);
  const Features a = exact_moments(500, mu_a, va, 31), b = exact_moments(700, mu_b, vb, 32);
  EXPECT_NEAR(frechet_distance(a, b), closed, 1e-9);
  // Plain samples converge to it: error ~ d / n.
  Features sa = normals(20000, 3, 33), sb = normals(20000, 3, 34);
  const double c1 = std::cos(0.5), s1 = std::sin(0.5), c2 = std::cos(1.1), s2 = std::sin(1.1);
  const double r[3][3] = {{c1, -s1 * c2, s1 * s2}, {s1, c1 * c2, -c1 * s2}, {0, s2, c2}};
  auto colour = [&](Features& f, const std::vector<double>& mu, const std::vector<double>& var) {
    for (size_t i = 0; i < f.n; ++i) {
      double z[3] = {f.at(i, 0), f.at(i, 1), f.at(i, 2)};
      for (size_t a = 0; a < 3; ++a) {
        double v = mu[a];
        for (size_t k = 0; k < 3; ++k) v += r[a][k] * std::sqrt(var[k]) * z[k];
        f.at(i, a) = v;
      }
    }
  };
  colour(sa, mu_a, va);
  colour(sb, mu_b, vb);
  EXPECT_NEAR(frechet_distance(sa, sb), closed, 0.05 * closed);
}

TEST(Prdc, IdenticalSetsHaveFullPrecisionRecallAndCoverage) {
  const Features a = normals(80, 6, 41);
  const Prdc p = precision_recall_density_coverage(a, a);
  EXPECT_EQ(p.precision, 1.0);
  EXPECT_EQ(p.recall, 1.0);
  EXPECT_EQ(p.coverage, 1.0);
  EXPECT_GT(p.density, 0.5);
}

TEST(Prdc, AShiftedSetHasNoPrecisionNorRecall) {
  const Features a = normals(80, 6, 42), b = normals(80, 6, 43, 50.0);
  const Prdc p = precision_recall_density_coverage(a, b);
  EXPECT_EQ(p.precision, 0.0);
  EXPECT_EQ(p.recall, 0.0);
  EXPECT_EQ(p.density, 0.0);
  EXPECT_EQ(p.coverage, 0.0);
  // A partly shifted set: about half of it lies in the real manifold.
  Features c = normals(80, 6, 44);
  for (size_t i = 0; i < 40; ++i)
    for (size_t j = 0; j < 6; ++j) c.at(i, j) += 50.0;
  const Prdc q = precision_recall_density_coverage(a, c);
  EXPECT_LE(q.precision, 0.5);
  EXPECT_GT(q.precision, 0.3);
}

TEST(Prdc, DuplicatesAreAtDistanceZeroAndBallsAreStrict) {
  // Real: 4 copies of the origin and 2 other points; with k = 3 the radius of an origin copy is 0
  // (3 other copies at distance 0), so nothing is strictly inside its ball, not even the origin.
  Features real(6, 2), fake(4, 2);
  real.at(4, 0) = 1.0;
  real.at(5, 1) = 1.0;
  fake.at(1, 0) = 0.5;
  fake.at(2, 0) = 10.0;
  fake.at(3, 0) = 10.0;
  const Prdc p = precision_recall_density_coverage(real, fake, 3, 3);
  // Radii (k = 3): origin copies 0; (1,0) and (0,1): 1 (the origin copies). Fake (0,0): not
  // inside a zero ball, inside the two radius-1 balls (distance 1 < 1 is false!) -> outside.
  // Fake (0.5,0): distance 0.5 < 1 to (1,0), and sqrt(1.25) > 1 to (0,1) -> inside one ball.
  EXPECT_EQ(std::vector<int>(p.items.fake_in_real.begin(), p.items.fake_in_real.end()), (std::vector<int>{0, 1, 0, 0}));
  EXPECT_EQ(p.items.fake_real_balls, (std::vector<int>{0, 1, 0, 0}));
}

TEST(KernelDistance, SubsetsOfAllRowsGiveTheFullEstimate) {
  const Features a = normals(40, 7, 51), b = normals(30, 7, 52, 0.4);
  const KernelDistance k = kernel_distance(a, b, 4, 1000, 3);
  EXPECT_EQ(k.subset_size, 30u);
  const KernelDistance all = kernel_distance(a.rows([] {
    std::vector<size_t> i(30);
    for (size_t t = 0; t < 30; ++t) i[t] = t;
    return i;
  }()),
                                             b, 3, 30, 3);
  EXPECT_NEAR(all.subset_mean, all.mmd2, 1e-12);
  EXPECT_NEAR(all.subset_sd, 0.0, 1e-12);
  EXPECT_NEAR(k.mmd2, mmd2_unbiased(a, b), 1e-12);
  // Subsets are seeded: same seed, same values; another seed, others.
  const KernelDistance again = kernel_distance(a, b, 4, 20, 3), other = kernel_distance(a, b, 4, 20, 4);
  EXPECT_EQ(again.subset_mean, kernel_distance(a, b, 4, 20, 3).subset_mean);
  EXPECT_NE(again.subset_mean, other.subset_mean);
  EXPECT_GT(again.subset_sd, 0.0);
}

TEST(KernelDistance, IsNearZeroForOneDistributionAndPositiveForAShift) {
  const Features a = normals(300, 8, 53), b = normals(300, 8, 54), c = normals(300, 8, 55, 0.5);
  EXPECT_LT(std::abs(mmd2_unbiased(a, b)), 0.02);
  EXPECT_GT(mmd2_unbiased(a, c), 0.1);
}

TEST(Fidelity, BootstrapIsSeededAndItsIntervalsHoldTheEstimates) {
  const Features a = normals(120, 6, 61), b = normals(100, 6, 62, 0.6, 1.3);
  FidelityConfig cfg;
  cfg.bootstrap = 100;
  cfg.kd_subsets = 10;
  cfg.kd_subset_size = 50;
  cfg.seed = 5;
  const FidelityResult r = fidelity_metrics(a, b, cfg);
  for (const MetricCi* m : {&r.frechet, &r.kernel, &r.precision, &r.recall, &r.density, &r.coverage}) {
    EXPECT_LE(m->lower, m->estimate);
    EXPECT_GE(m->upper, m->estimate);
    EXPECT_LT(m->lower, m->upper);
  }
  const FidelityResult same = fidelity_metrics(a, b, cfg);
  EXPECT_EQ(to_json(same).dump(), to_json(r).dump());
  cfg.seed = 6;
  const FidelityResult other = fidelity_metrics(a, b, cfg);
  EXPECT_EQ(other.frechet.estimate, r.frechet.estimate);
  EXPECT_NE(other.frechet.lower, r.frechet.lower);
  EXPECT_NE(other.kernel.upper, r.kernel.upper);
  EXPECT_NE(other.kd_subset_mean, r.kd_subset_mean);
}

TEST(Fidelity, KernelIntervalHoldsTheEstimateInHighDimensions) {
  // d = 64, n = m = 200, one distribution: k(x, x) ~ 8 against k(x, x') ~ 1, so pairing a scan
  // drawn twice with itself would shift the replicates up by ~7 (2 / 200) = 0.07, several
  // interval widths; pairs of distinct scans keep the replicates centred on the estimate.
  const Features a = normals(200, 64, 63), b = normals(200, 64, 64);
  FidelityConfig cfg;
  cfg.bootstrap = 200;
  cfg.kd_subsets = 2;
  cfg.kd_subset_size = 100;
  const FidelityResult r = fidelity_metrics(a, b, cfg);
  EXPECT_LE(r.kernel.lower, r.kernel.estimate);
  EXPECT_GE(r.kernel.upper, r.kernel.estimate);
  EXPECT_LT(r.kernel.upper - r.kernel.lower, 0.07);
  for (const MetricCi* m : {&r.precision, &r.recall, &r.density, &r.coverage}) {
    EXPECT_LE(m->lower, m->estimate);
    EXPECT_GE(m->upper, m->estimate);
  }
}

TEST(Fidelity, JsonFollowsTheStatisticsScheme) {
  const Features a = normals(30, 4, 71), b = normals(30, 4, 72, 0.5);
  FidelityConfig cfg;
  cfg.bootstrap = 10;
  cfg.kd_subsets = 3;
  cfg.kd_subset_size = 10;
  cfg.conf_level = 0.9;
  const nlohmann::json j = to_json(fidelity_metrics(a, b, cfg));
  for (const char* m : {"frechet", "kernel", "precision", "recall", "density", "coverage"}) {
    ASSERT_TRUE(j.contains(m)) << m;
    EXPECT_TRUE(j[m]["estimate"].is_number()) << m;
    EXPECT_EQ(j[m]["ci"]["level"], 0.9) << m;
    EXPECT_EQ(j[m]["ci"]["method"],
              std::string(m) == "frechet" ? "percentile bootstrap, re-centred on the estimate" : "percentile bootstrap")
        << m;
    EXPECT_LE(j[m]["ci"]["lower"].get<double>(), j[m]["ci"]["upper"].get<double>()) << m;
  }
  EXPECT_EQ(j["kernel"]["subsets"], 3);
  EXPECT_EQ(j["kernel"]["subset_size"], 10);
  EXPECT_EQ(j["n_real"], 30);
  EXPECT_EQ(j["dim"], 4);
  EXPECT_EQ(j["config"]["bootstrap"], 10);
  cfg.bootstrap = 0;
  const nlohmann::json none = to_json(fidelity_metrics(a, b, cfg));
  EXPECT_TRUE(none["frechet"]["ci"].is_null());
}

TEST(Metrics, RejectBadInputNamingTheSet) {
  const Features a = normals(10, 3, 81), wide = normals(10, 4, 82), empty;
  EXPECT_EQ(testing::input_error([&] { frechet_distance(a, empty, "real.csv", "fake.csv"); }),
            "fake.csv: the feature set is empty (hint: give at least 2 scans)");
  EXPECT_EQ(testing::input_error([&] { mmd2_unbiased(a, wide, "real.csv", "fake.csv"); }),
            "fake.csv: has 4 features per scan but real.csv has 3 (hint: embed both sets with the same encoder)");
  Features nan = a;
  nan.at(2, 1) = std::nan("");
  EXPECT_EQ(testing::input_error([&] { frechet_distance(nan, a, "real.csv", "fake.csv"); }),
            "real.csv: feature 1 of vector 2 is not finite (hint: check the encoder's output for NaN or infinity)");
  const Features five = normals(5, 3, 83);
  EXPECT_EQ(testing::input_error([&] { precision_recall_density_coverage(a, five, 3, 5, "real.csv", "fake.csv"); }),
            "fake.csv: 5 feature vectors are too few for 5-nearest-neighbour radii (hint: give at least 6 scans)");
  FidelityConfig cfg;
  cfg.conf_level = 1.0;
  EXPECT_THROW(fidelity_metrics(a, a, cfg), ConfigError);
}

// Not run by default: the timing asked for (2000 x 2000 at d = 512, B = 200).
// Run: audit_metrics_test --gtest_also_run_disabled_tests --gtest_filter='*Speed*'
TEST(Fidelity, DISABLED_Speed) {
  const Features a = normals(2000, 512, 91), b = normals(2000, 512, 92, 0.05);
  FidelityConfig cfg;
  const auto t0 = std::chrono::steady_clock::now();
  const FidelityResult r = fidelity_metrics(a, b, cfg);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "fidelity_metrics 2000 x 2000, d 512, B 200: " << s << " s; " << to_json(r).dump() << "\n";
  FidelityConfig nob = cfg;
  nob.bootstrap = 0;
  const auto t1 = std::chrono::steady_clock::now();
  fidelity_metrics(a, b, nob);
  std::cout << "without bootstrap: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count()
            << " s\n";
}

// FD's interval is re-centred on the estimate: with d close to n a resample's FD carries more
// small-sample bias than the estimate (a plain percentile interval lies wholly above it), and
// without fd_bootstrap FD has no interval while the others keep theirs.
TEST(Fidelity, FrechetIntervalIsRecentredAndOptional) {
  Features a(80, 48), b(80, 48);
  Rng rng(21);
  for (double& v : a.x) v = rng.normal();
  for (double& v : b.x) v = rng.normal();
  FidelityConfig cfg;
  cfg.bootstrap = 60;
  cfg.kd_subsets = 2;
  cfg.kd_subset_size = 40;
  cfg.seed = 4;
  const FidelityResult r = fidelity_metrics(a, b, cfg);
  EXPECT_LE(r.frechet.lower, r.frechet.estimate);
  EXPECT_GE(r.frechet.upper, r.frechet.estimate);
  cfg.fd_bootstrap = false;
  const nlohmann::json j = to_json(fidelity_metrics(a, b, cfg));
  EXPECT_TRUE(j["frechet"]["ci"].is_null());
  EXPECT_DOUBLE_EQ(j["frechet"]["estimate"].get<double>(), r.frechet.estimate);
  EXPECT_TRUE(j["kernel"]["ci"].is_object());
  EXPECT_TRUE(j["precision"]["ci"].is_object());
}

}  // namespace
}  // namespace scintigen::audit
