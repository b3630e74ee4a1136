// Reference tests of src/stats against independent implementations, run at test time on the
// same data: R pROC (ci.auc DeLong, var, roc.test paired and unpaired), R survival (survfit,
// quantile, survdiff, coxph Efron), scikit-learn (roc_auc_score, roc_curve, cohen_kappa_score),
// statsmodels (fleiss_kappa, proportion_confint Wilson) and SciPy (norm, chi2, t).
// tests/ref/stats_cases.py writes the cases and the Python values, tests/ref/stats_reference.R
// the R values. Tolerances (docs/STATS.md): estimates and statistics 1e-6 relative, CIs and
// p-values 1e-4 absolute; the largest deviations seen are printed at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "stats/agreement.h"
#include "stats/roc.h"
#include "stats/survival.h"
#include "test_util.h"

namespace scintigen::stats {
namespace {

using testing::python;
using testing::read_tsv;
using testing::run_command;
using testing::source_path;

constexpr double kRel = 1e-6;  // estimates and statistics, relative
constexpr double kAbs = 1e-4;  // CIs and p-values, absolute

std::map<std::string, double> max_dev;  // kind -> largest deviation seen

// Cells of a CSV with a header (no quoting in the generated files).
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> col(const std::string& name) const {
    size_t c = std::find(header.begin(), header.end(), name) - header.begin();
    std::vector<std::string> v;
    for (const auto& r : rows) v.push_back(r.at(c));
    return v;
  }
  std::vector<double> num(const std::string& name) const {
    std::vector<double> v;
    for (const auto& s : col(name)) v.push_back(std::stod(s));
    return v;
  }
};

Csv read_csv(const std::string& path) {
  Csv t;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (t.header.empty())
      t.header = cells;
    else
      t.rows.push_back(cells);
  }
  return t;
}

class StatsReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>();
    const auto py = run_command(python() + " " + source_path("tests/ref/stats_cases.py") + " " + dir_->path());
    ASSERT_EQ(py.exit_code, 0) << py.output;
    const auto r = run_command("Rscript " + source_path("tests/ref/stats_reference.R") + " " + dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    py_ = read_tsv(*dir_ / "expected_python.tsv");
    r_ = read_tsv(*dir_ / "expected_r.tsv");
    ASSERT_GT(py_.size(), 1000u);
    ASSERT_GT(r_.size(), 1000u);
    std::ifstream in(*dir_ / "cases.tsv");
    std::string kind, name;
    while (in >> kind >> name) cases_[kind].push_back(name);
  }
  static void TearDownTestSuite() {
    std::printf("largest deviations from the references:\n");
    for (const auto& [k, v] : max_dev) std::printf("  %-28s %.3g\n", k.c_str(), v);
    dir_.reset();
  }

  static double ref(const std::map<std::string, double>& m, const std::string& c, const std::string& k) {
    auto it = m.find(c + "|" + k);
    if (it == m.end()) ADD_FAILURE() << "no reference value " << c << " " << k;
    return it == m.end() ? std::nan("") : it->second;
  }
  static double py(const std::string& c, const std::string& k) { return ref(py_, c, k); }
  static double r(const std::string& c, const std::string& k) { return ref(r_, c, k); }
  static bool has_r(const std::string& c, const std::string& k) { return r_.count(c + "|" + k) > 0; }

  // Statistic: relative tolerance (absolute kRel near zero).
  static void expect_stat(double got, double want, const std::string& what, const std::string& kind) {
    const double dev = std::fabs(got - want) / std::max(1.0, std::fabs(want));
    max_dev[kind] = std::max(max_dev[kind], dev);
    EXPECT_LE(dev, kRel) << what << ": got " << got << ", reference " << want;
  }
  // CI bound or p-value: absolute tolerance; NA in the reference must be NA here.
  static void expect_ci(std::optional<double> got, double want, const std::string& what, const std::string& kind) {
    if (std::isnan(want)) {
      EXPECT_FALSE(got.has_value()) << what << ": reference is NA, got " << *got;
      return;
    }
    ASSERT_TRUE(got.has_value()) << what << ": got NA, reference " << want;
    const double dev = std::fabs(*got - want);
    max_dev[kind] = std::max(max_dev[kind], dev);
    EXPECT_LE(dev, kAbs) << what << ": got " << *got << ", reference " << want;
  }

  static std::string file(const std::string& kind, const std::string& name) {
    return *dir_ / (kind + "_" + name + ".csv");
  }

  static std::unique_ptr<testing::TempDir> dir_;
  static std::map<std::string, double> py_, r_;
  static std::map<std::string, std::vector<std::string>> cases_;
};

std::unique_ptr<testing::TempDir> StatsReference::dir_;
std::map<std::string, double> StatsReference::py_, StatsReference::r_;
std::map<std::string, std::vector<std::string>> StatsReference::cases_;

struct RocData {
  std::vector<int> y;
  std::vector<double> s1, s2;
};

RocData load_roc(const std::string& path) {
  const Csv t = read_csv(path);
  RocData d;
  for (double v : t.num("label")) d.y.push_back(static_cast<int>(v));
  d.s1 = t.num("score1");
  d.s2 = t.num("score2");
  return d;
}

TEST_F(StatsReference, DistributionsMatchScipyAndStatsmodels) {
  for (int i = 0; i < 9; ++i) {
    const std::string k = "qnorm." + std::to_string(i);
    expect_stat(normal_quantile(py("dist", k + ".p")), py("dist", k + ".value"), k, "qnorm (scipy)");
  }
  for (int i = 0; i < 7; ++i) {
    const std::string k = "chi2." + std::to_string(i);
    const double want = py("dist", k + ".sf"), got = chi_square_sf(py("dist", k + ".x"), py("dist", k + ".df"));
    expect_stat(got, want, k, "chi2 sf (scipy)");
    EXPECT_NEAR(got / want, 1.0, 1e-9) << k;  // relative, also in the far tail
  }
  for (int i = 0; i < 5; ++i) {
    const std::string k = "t." + std::to_string(i);
    const double want = py("dist", k + ".p2"), got = student_t_two_sided_p(py("dist", k + ".t"), py("dist", k + ".df"));
    EXPECT_NEAR(got / want, 1.0, 1e-9) << k << " got " << got << " want " << want;
  }
  for (int i = 0; i < 5; ++i) {
    const std::string k = "wilson." + std::to_string(i);
    const Proportion p =
        wilson_interval(static_cast<size_t>(py("dist", k + ".x")), static_cast<size_t>(py("dist", k + ".n")));
    expect_ci(p.lower, py("dist", k + ".lo"), k, "wilson (statsmodels)");
    expect_ci(p.upper, py("dist", k + ".hi"), k, "wilson (statsmodels)");
  }
}

TEST_F(StatsReference, AucAndDelongCiMatchPROCAndSklearn) {
  ASSERT_GE(cases_["roc"].size(), 8u);
  for (const auto& c : cases_["roc"]) {
    SCOPED_TRACE(c);
    const RocData d = load_roc(file("roc", c));
    for (int k = 1; k <= 2; ++k) {
      const auto& s = k == 1 ? d.s1 : d.s2;
      const std::string ks = std::to_string(k);
      expect_stat(auc(d.y, s), py(c, "auc" + ks), c + " auc" + ks + " vs sklearn", "auc (sklearn)");
      expect_stat(auc(d.y, s), r(c, "proc.auc" + ks), c + " auc" + ks + " vs pROC", "auc (pROC)");
      const double var = r(c, "proc.var" + ks);
      if (std::isnan(var)) {  // one case of a class: pROC gives NA, we refuse
        EXPECT_THROW(delong_auc(d.y, s), InputError);
        continue;
      }
      const AucResult a = delong_auc(d.y, s);
      expect_stat(a.variance, var, c + " var" + ks, "DeLong variance (pROC)");
      expect_ci(a.ci_lower, r(c, "proc.ci" + ks + ".lo"), c + " ci lower", "DeLong CI (pROC)");
      expect_ci(a.ci_upper, r(c, "proc.ci" + ks + ".hi"), c + " ci upper", "DeLong CI (pROC)");
    }
  }
}

TEST_F(StatsReference, RocCurveAndThresholdMetricsMatchSklearnAndStatsmodels) {
  for (const auto& c : cases_["roc"]) {
    if (!py_.count(c + "|roc.points")) continue;  // large cases: AUC only
    SCOPED_TRACE(c);
    const RocData d = load_roc(file("roc", c));
    const RocCurve curve = roc_curve(d.y, d.s1);
    ASSERT_EQ(curve.points.size(), static_cast<size_t>(py(c, "roc.points")));
    for (size_t i = 1; i < curve.points.size(); ++i) {
      const std::string k = "roc." + std::to_string(i);
      EXPECT_EQ(curve.points[i].threshold, py(c, k + ".threshold")) << k;
      expect_stat(curve.points[i].fpr, py(c, k + ".fpr"), c + " " + k + " fpr", "ROC curve (sklearn)");
      expect_stat(curve.points[i].tpr, py(c, k + ".tpr"), c + " " + k + " tpr", "ROC curve (sklearn)");
    }
    const ThresholdMetrics youden = youden_metrics(d.y, d.s1);
    const ThresholdMetrics given = threshold_metrics(d.y, d.s1, py(c, "given.threshold"));
    EXPECT_EQ(youden.threshold, py(c, "youden.threshold"));
    for (const auto& [name, m] : {std::pair<std::string, ThresholdMetrics>{"youden", youden}, {"given", given}}) {
      const std::pair<const char*, const Proportion*> props[] = {
          {"sens", &m.sensitivity}, {"spec", &m.specificity}, {"ppv", &m.ppv}, {"npv", &m.npv}};
      for (const auto& [pn, p] : props) {
        const std::string k = name + "." + pn;
        if (std::isnan(py(c, k + ".est"))) {
          EXPECT_FALSE(p->estimate.has_value()) << k;
          continue;
        }
        ASSERT_TRUE(p->estimate.has_value()) << k;
        expect_stat(*p->estimate, py(c, k + ".est"), c + " " + k, "threshold metrics");
        expect_ci(p->lower, py(c, k + ".lo"), c + " " + k + " lo", "Wilson CI (statsmodels)");
        expect_ci(p->upper, py(c, k + ".hi"), c + " " + k + " hi", "Wilson CI (statsmodels)");
      }
    }
  }
}

TEST_F(StatsReference, DelongTestsMatchPROCRocTest) {
  for (const auto& c : cases_["roc"]) {
    if (!has_r(c, "proc.paired.z")) continue;
    SCOPED_TRACE(c);
    const RocData d = load_roc(file("roc", c));
    const DelongTest t = delong_test_paired(d.y, d.s1, d.s2);
    expect_stat(t.z, r(c, "proc.paired.z"), c + " paired z", "paired DeLong z (pROC)");
    expect_ci(t.p_value, r(c, "proc.paired.p"), c + " paired p", "paired DeLong p (pROC)");
    expect_ci(t.ci_lower, r(c, "proc.paired.ci.lo"), c + " paired ci", "paired DeLong CI (pROC)");
    expect_ci(t.ci_upper, r(c, "proc.paired.ci.hi"), c + " paired ci", "paired DeLong CI (pROC)");
  }
  int pairs = 0;
  for (const auto& [a, b] : {std::pair<std::string, std::string>{"random", "ties"},
                             {"random", "imbalanced"},
                             {"ties", "inverted"},
                             {"n4", "random"}}) {
    const std::string c = "unpaired." + a + "." + b;
    SCOPED_TRACE(c);
    const RocData da = load_roc(file("roc", a)), db = load_roc(file("roc", b));
    const DelongTest t = delong_test_unpaired(da.y, da.s1, db.y, db.s1);
    expect_stat(t.z, r(c, "proc.D"), c + " D", "unpaired DeLong D (pROC)");
    expect_stat(t.df, r(c, "proc.df"), c + " df", "unpaired DeLong df (pROC)");
    expect_ci(t.p_value, r(c, "proc.p"), c + " p", "unpaired DeLong p (pROC)");
    ++pairs;
  }
  EXPECT_EQ(pairs, 4);
}

TEST_F(StatsReference, BootstrapIsSeededAndAgreesWithDelongOnLargeData) {
  const RocData d = load_roc(file("roc", "large"));
  const BootstrapCi a = bootstrap_auc_ci(d.y, d.s1, 400, 11), b = bootstrap_auc_ci(d.y, d.s1, 400, 11);
  EXPECT_EQ(a.lower, b.lower);
  EXPECT_EQ(a.upper, b.upper);
  const AucResult de = delong_auc(d.y, d.s1);
  // Not a reference match (different resampling noise): the bootstrap agrees with DeLong.
  EXPECT_NEAR(a.mean, de.auc, 4 * de.se / std::sqrt(400.0) + 1e-4);
  EXPECT_NEAR(a.sd / de.se, 1.0, 0.15);
  EXPECT_NEAR(a.lower, de.ci_lower, 0.25 * (de.ci_upper - de.ci_lower));
  EXPECT_NEAR(a.upper, de.ci_upper, 0.25 * (de.ci_upper - de.ci_lower));
}

struct SurvData {
  SurvivalData all;
  std::vector<std::string> group;
  std::vector<double> x1, x2;
};

SurvData load_surv(const std::string& path) {
  const Csv t = read_csv(path);
  SurvData d;
  d.all.time = t.num("time");
  for (double e : t.num("event")) d.all.event.push_back(static_cast<int>(e));
  d.group = t.col("group");
  d.x1 = t.num("x1");
  d.x2 = t.num("x2");
  return d;
}

TEST_F(StatsReference, KaplanMeierAndMedianMatchSurvfit) {
  ASSERT_GE(cases_["surv"].size(), 5u);
  for (const auto& c : cases_["surv"]) {
    const SurvData d = load_surv(file("surv", c));
    std::set<std::string> groups(d.group.begin(), d.group.end());
    groups.insert("all");
    for (const auto& g : groups) {
      SCOPED_TRACE(c + " group " + g);
      SurvivalData sd;
      for (size_t i = 0; i < d.group.size(); ++i)
        if (g == "all" || d.group[i] == g) sd.time.push_back(d.all.time[i]), sd.event.push_back(d.all.event[i]);
      const KaplanMeier km = kaplan_meier(sd);
      const std::string key = "km." + g;
      ASSERT_EQ(km.rows.size(), static_cast<size_t>(r(c, key + ".rows")));
      for (size_t i = 0; i < km.rows.size(); ++i) {
        const KmRow& row = km.rows[i];
        const std::string k = key + "." + std::to_string(i);
        EXPECT_EQ(row.time, r(c, k + ".time"));
        EXPECT_EQ(row.n_risk, r(c, k + ".n_risk"));
        EXPECT_EQ(row.n_event, r(c, k + ".n_event"));
        EXPECT_EQ(row.n_censor, r(c, k + ".n_censor"));
        expect_stat(row.survival, r(c, k + ".surv"), c + " " + k + " surv", "KM survival (survfit)");
        expect_ci(row.std_err, r(c, k + ".std_err"), c + " " + k + " se", "KM Greenwood SE (survfit)");
        expect_ci(row.lower, r(c, k + ".lower"), c + " " + k + " lower", "KM CI (survfit)");
        expect_ci(row.upper, r(c, k + ".upper"), c + " " + k + " upper", "KM CI (survfit)");
      }
      expect_ci(km.median.median, r(c, key + ".median"), c + " " + key + " median", "median survival (survfit)");
      expect_ci(km.median.lower, r(c, key + ".median_lo"), c + " " + key + " median lo", "median CI (survfit)");
      expect_ci(km.median.upper, r(c, key + ".median_hi"), c + " " + key + " median hi", "median CI (survfit)");
    }
  }
}

TEST_F(StatsReference, LogRankMatchesSurvdiff) {
  int tested = 0;
  for (const auto& c : cases_["surv"]) {
    if (!has_r(c, "logrank.chisq")) continue;
    SCOPED_TRACE(c);
    const SurvData d = load_surv(file("surv", c));
    const LogRank lr = log_rank_test(d.all, d.group);
    expect_stat(lr.chi_square, r(c, "logrank.chisq"), c + " chisq", "log-rank chi2 (survdiff)");
    EXPECT_EQ(lr.df, r(c, "logrank.df"));
    expect_ci(lr.p_value, r(c, "logrank.p"), c + " p", "log-rank p (survdiff)");
    for (size_t g = 0; g < lr.groups.size(); ++g) {
      expect_stat(lr.observed[g], r(c, "logrank.obs." + lr.groups[g]), c + " observed", "log-rank O/E (survdiff)");
      expect_stat(lr.expected[g], r(c, "logrank.exp." + lr.groups[g]), c + " expected", "log-rank O/E (survdiff)");
    }
    ++tested;
  }
  EXPECT_GE(tested, 4);
}

TEST_F(StatsReference, CoxEfronMatchesCoxph) {
  int tested = 0;
  for (const auto& c : cases_["surv"]) {
    if (!has_r(c, "logrank.chisq")) continue;
    const SurvData d = load_surv(file("surv", c));
    std::set<std::string> groups(d.group.begin(), d.group.end());
    for (const std::string model : {"full", "x1"}) {
      SCOPED_TRACE(c + " " + model);
      std::vector<std::vector<double>> cov;
      std::vector<std::string> names;
      if (model == "full")
        for (auto it = std::next(groups.begin()); it != groups.end(); ++it) {
          std::vector<double> v;
          for (const auto& g : d.group) v.push_back(g == *it);
          cov.push_back(v);
          names.push_back("group" + *it);
        }
      cov.push_back(d.x1);
      names.push_back("x1");
      if (model == "full") cov.push_back(d.x2), names.push_back("x2");
      if (!has_r(c, "cox." + model + ".loglik")) {  // coxph warned (infinite coefficient): we refuse
        EXPECT_THROW(cox_ph(d.all, cov, names), InputError);
        continue;
      }
      const CoxModel m = cox_ph(d.all, cov, names);
      const std::string p = "cox." + model + ".";
      expect_stat(m.loglik_null, r(c, p + "loglik0"), c + " loglik0", "Cox loglik (coxph)");
      expect_stat(m.loglik, r(c, p + "loglik"), c + " loglik", "Cox loglik (coxph)");
      expect_ci(m.lr_p_value, r(c, p + "lr_p"), c + " LR p", "Cox LR p (coxph)");
      for (size_t j = 0; j < names.size(); ++j) {
        const std::string k = p + std::to_string(j) + ".";
        expect_stat(m.beta[j], r(c, k + "beta"), c + " " + k + "beta", "Cox beta (coxph)");
        expect_stat(m.se[j], r(c, k + "se"), c + " " + k + "se", "Cox SE (coxph)");
        expect_ci(m.p_value[j], r(c, k + "p"), c + " " + k + "p", "Cox Wald p (coxph)");
        expect_ci(m.hr_lower[j], r(c, k + "hr_lo"), c + " " + k + "hr_lo", "Cox HR CI (coxph)");
        expect_ci(m.hr_upper[j], r(c, k + "hr_hi"), c + " " + k + "hr_hi", "Cox HR CI (coxph)");
      }
      ++tested;
    }
  }
  EXPECT_GE(tested, 6);
}

TEST_F(StatsReference, AgreementMatchesStatsmodelsAndSklearn) {
  ASSERT_GE(cases_["agree"].size(), 6u);
  for (const auto& c : cases_["agree"]) {
    SCOPED_TRACE(c);
    const Csv t = read_csv(file("agree", c));
    std::vector<std::vector<std::string>> ratings(t.rows.size());
    size_t raters = 0;
    for (const auto& h : t.header)
      if (h != "truth") {
        ++raters;
        const auto col = t.col(h);
        for (size_t i = 0; i < col.size(); ++i) ratings[i].push_back(col[i]);
      }
    const FleissKappa f = fleiss_kappa(ratings);
    expect_stat(f.kappa, py(c, "fleiss.kappa"), c + " fleiss kappa", "Fleiss kappa (statsmodels)");
    expect_stat(f.se, py(c, "fleiss.se"), c + " fleiss se", "Fleiss SE (formula, numpy)");
    expect_ci(f.p_value, py(c, "fleiss.p"), c + " fleiss p", "Fleiss p (scipy)");
    if (py_.count(c + "|fleiss.se_permutation")) {  // independent: the SD of kappa under permutation
      EXPECT_NEAR(f.se / py(c, "fleiss.se_permutation"), 1.0, 0.05);
    }
    std::vector<std::string> a, b;
    for (const auto& row : ratings) a.push_back(row[0]), b.push_back(row[1]);
    for (const std::string w : {"none", "linear", "quadratic"})
      expect_stat(cohen_kappa(a, b, w).kappa, py(c, "cohen." + w), c + " cohen " + w, "Cohen kappa (sklearn)");
    const Proportion all = percent_agreement(ratings);
    expect_stat(*all.estimate, py(c, "all_agree.est"), c + " all agree", "percent agreement");
    expect_ci(all.lower, py(c, "all_agree.lo"), c + " all agree lo", "Wilson CI (statsmodels)");
    expect_ci(all.upper, py(c, "all_agree.hi"), c + " all agree hi", "Wilson CI (statsmodels)");
    const auto truth = t.col("truth");
    for (size_t j = 0; j < raters; ++j) {
      std::vector<std::string> pred;
      for (const auto& row : ratings) pred.push_back(row[j]);
      const Proportion acc = accuracy(pred, truth);
      const std::string k = "accuracy.r" + std::to_string(j + 1);
      expect_stat(*acc.estimate, py(c, k + ".est"), c + " " + k, "accuracy");
      expect_ci(acc.lower, py(c, k + ".lo"), c + " " + k + " lo", "Wilson CI (statsmodels)");
      expect_ci(acc.upper, py(c, k + ".hi"), c + " " + k + " hi", "Wilson CI (statsmodels)");
    }
  }
}

// ---- Added for the study analysis (issue 16) ------------------------------------------------------

TEST_F(StatsReference, ContrastOfTwoMatchesPROCPairedTest) {
  int tested = 0;
  for (const auto& c : cases_["roc"]) {
    if (!has_r(c, "proc.paired.z") || std::isnan(r(c, "proc.paired.z"))) continue;
    SCOPED_TRACE(c);
    const RocData d = load_roc(file("roc", c));
    const DelongContrast k = delong_contrast(d.y, {d.s1, d.s2}, {1.0, -1.0});
    expect_stat(k.z, r(c, "proc.paired.z"), c + " contrast z", "DeLong contrast z (pROC)");
    expect_ci(k.p_value, r(c, "proc.paired.p"), c + " contrast p", "DeLong contrast p (pROC)");
    expect_ci(k.ci_lower, r(c, "proc.paired.ci.lo"), c + " contrast ci", "DeLong contrast CI (pROC)");
    expect_ci(k.ci_upper, r(c, "proc.paired.ci.hi"), c + " contrast ci", "DeLong contrast CI (pROC)");
    ++tested;
  }
  EXPECT_GE(tested, 5);
}

TEST_F(StatsReference, ConcordanceMatchesRSurvivalConcordance) {
  int tested = 0;
  for (const auto& c : cases_["surv"]) {
    if (!has_r(c, "conc.x1")) continue;
    SCOPED_TRACE(c);
    const SurvData d = load_surv(file("surv", c));
    expect_stat(concordance_index(d.all, d.x1).c_index, r(c, "conc.x1"), c + " C", "Harrell's C (concordance)");
    ++tested;
  }
  EXPECT_GE(tested, 4);
}

}  // namespace
}  // namespace scintigen::stats
