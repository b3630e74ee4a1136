// Reference tests of the study analysis (src/study/analysis.h) and the src/stats parts it added,
// against independent implementations run at test time on the same files:
// tests/ref/study_reference.py (NumPy from the DeLong formulas, pairwise O(m n); statsmodels
// multipletests; a NumPy hierarchical bootstrap of the same scheme with its own generator) and
// tests/ref/study_reference.R (R survival coxph, Efron ties, and concordance(reverse = TRUE)).
// Tolerances: AUCs, logit CIs, contrasts 1e-9; Holm 1e-12; C-index 1e-9 (pair counts exact); Cox
// beta, SE, HR and its CI 1e-6 relative, Wald p 1e-6; the bootstrap (different random draws)
// replicate SD within 15% and CI ends within 15% of the reference CI's width, 4,000 replicates
// each. The largest deviations seen are printed at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "core/error.h"
#include "stats/multiplicity.h"
#include "stats/roc.h"
#include "stats/survival.h"
#include "study/analysis.h"
#include "test_util.h"

namespace scintigen::study {
namespace {

using nlohmann::json;
using testing::python;
using testing::read_tsv;
using testing::run_command;
using testing::source_path;

constexpr int kReplicates = 4000;

std::map<std::string, double> max_dev;  // kind -> largest deviation seen

// A generated CSV (header, no quoting) as rows of cells.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t col(const std::string& name) const {
    const size_t c = std::find(header.begin(), header.end(), name) - header.begin();
    if (c == header.size()) ADD_FAILURE() << "no column " << name;
    return c;
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
    (t.header.empty() ? t.header : t.rows.emplace_back()) = cells;
  }
  return t;
}

double number(const std::string& s) {
  return s == "NA" ? std::nan("") : std::stod(s);
}

class StudyReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>();
    const auto py = run_command(python() + " " + source_path("tests/ref/study_reference.py") + " " + dir_->path());
    ASSERT_EQ(py.exit_code, 0) << py.output;
    const auto r = run_command("Rscript " + source_path("tests/ref/study_reference.R") + " " + dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    py_ = read_tsv(*dir_ / "expected_python.tsv");
    r_ = read_tsv(*dir_ / "expected_r.tsv");
    ASSERT_GT(py_.size(), 200u);
    ASSERT_GT(r_.size(), 60u);
    std::ifstream in(*dir_ / "cases.tsv");
    std::string kind, name;
    while (in >> kind >> name) cases_[kind].push_back(name);
    load_study();
    AnalysisConfig cfg;
    cfg.upper = "small+donor";
    cfg.bootstrap = kReplicates;
    cfg.seed = 5;
    analysis_ = analyse_task(study_, cfg);
  }
  static void TearDownTestSuite() {
    std::printf("largest deviations from the references:\n");
    for (const auto& [k, v] : max_dev) std::printf("  %-34s %.3g\n", k.c_str(), v);
    dir_.reset();
  }

  // The small study the Python script wrote: sites in file order, scores per arm.repeat column.
  static void load_study() {
    const Csv cases = read_csv(*dir_ / "study_cases.csv");
    const Csv scores = read_csv(*dir_ / "study_scores.csv");
    ASSERT_EQ(cases.rows.size(), scores.rows.size());
    study_.task = "metastasis";
    std::ifstream in(*dir_ / "study_design.tsv");
    std::string arm, rep;
    double threshold;
    std::map<std::pair<std::string, std::string>, double> thr;
    while (in >> arm >> rep >> threshold) {
      thr[{arm, rep}] = threshold;
      if (std::find(study_.arms.begin(), study_.arms.end(), arm) == study_.arms.end()) study_.arms.push_back(arm);
      if (std::find(study_.repeats.begin(), study_.repeats.end(), rep) == study_.repeats.end())
        study_.repeats.push_back(rep);
    }
    for (size_t i = 0; i < cases.rows.size(); ++i) {
      const auto& row = cases.rows[i];
      const std::string& site = row[cases.col("site")];
      if (study_.sites.empty() || study_.sites.back().site != site)
        study_.sites.push_back({}), study_.sites.back().site = site;
      SiteCases& s = study_.sites.back();
      s.ids.push_back(row[cases.col("id")]);
      s.labels.push_back(std::stoi(row[cases.col("label")]));
      s.time.push_back(number(row[cases.col("time")]));
      s.event.push_back(std::stoi(row[cases.col("event")]));
      s.age.push_back(number(row[cases.col("age")]));
      s.male.push_back(std::stoi(row[cases.col("male")]));
      s.subgroups["older"].push_back(static_cast<char>(std::stoi(row[cases.col("older")])));
    }
    study_.scores.assign(study_.arms.size(),
                         std::vector<std::vector<std::vector<double>>>(
                             study_.repeats.size(), std::vector<std::vector<double>>(study_.sites.size())));
    study_.thresholds.assign(study_.arms.size(), std::vector<double>(study_.repeats.size()));
    for (size_t a = 0; a < study_.arms.size(); ++a)
      for (size_t r = 0; r < study_.repeats.size(); ++r) {
        study_.thresholds[a][r] = thr.at({study_.arms[a], study_.repeats[r]});
        const size_t c = scores.col(study_.arms[a] + "." + study_.repeats[r]);
        size_t row = 0;
        for (size_t s = 0; s < study_.sites.size(); ++s)
          for (size_t i = 0; i < study_.sites[s].ids.size(); ++i, ++row)
            study_.scores[a][r][s].push_back(std::stod(scores.rows[row][c]));
      }
  }

  static double ref(const std::map<std::string, double>& m, const std::string& c, const std::string& k) {
    auto it = m.find(c + "|" + k);
    if (it == m.end()) ADD_FAILURE() << "no reference value " << c << " " << k;
    return it == m.end() ? std::nan("") : it->second;
  }
  static double py(const std::string& c, const std::string& k) { return ref(py_, c, k); }
  static double r(const std::string& c, const std::string& k) { return ref(r_, c, k); }

  // |got - want| / max(1, |want|) <= tol.
  static void expect_near(double got, double want, double tol, const std::string& what, const std::string& kind) {
    const double dev = std::fabs(got - want) / std::max(1.0, std::fabs(want));
    max_dev[kind] = std::max(max_dev[kind], dev);
    EXPECT_LE(dev, tol) << what << ": got " << got << ", reference " << want;
  }
  // Relative: |got / want - 1| <= tol.
  static void expect_rel(double got, double want, double tol, const std::string& what, const std::string& kind) {
    const double dev = std::fabs(got / want - 1.0);
    max_dev[kind] = std::max(max_dev[kind], dev);
    EXPECT_LE(dev, tol) << what << ": got " << got << ", reference " << want;
  }

  static const json& arm(const std::string& name) {
    for (const json& a : analysis_.at("arms"))
      if (a.at("arm") == name) return a;
    throw std::runtime_error("no arm " + name);
  }

  static std::unique_ptr<testing::TempDir> dir_;
  static std::map<std::string, double> py_, r_;
  static std::map<std::string, std::vector<std::string>> cases_;
  static TaskScores study_;
  static json analysis_;
};

std::unique_ptr<testing::TempDir> StudyReference::dir_;
std::map<std::string, double> StudyReference::py_, StudyReference::r_;
std::map<std::string, std::vector<std::string>> StudyReference::cases_;
TaskScores StudyReference::study_;
json StudyReference::analysis_;

TEST_F(StudyReference, LogitCiAndContrastMatchTheDelongFormulasInNumpy) {
  ASSERT_EQ(cases_["contrast"].size(), 3u);
  for (const auto& c : cases_["contrast"]) {
    SCOPED_TRACE(c);
    const Csv t = read_csv(*dir_ / ("contrast_" + c + ".csv"));
    std::vector<int> y;
    std::vector<std::vector<double>> sets(t.header.size() - 1);
    for (const auto& row : t.rows) {
      y.push_back(std::stoi(row[0]));
      for (size_t k = 0; k < sets.size(); ++k) sets[k].push_back(std::stod(row[k + 1]));
    }
    std::vector<double> w;
    std::ifstream in(*dir_ / ("contrast_" + c + ".w"));
    for (double v; in >> v;) w.push_back(v);
    const stats::DelongContrast k = stats::delong_contrast(y, sets, w);
    expect_near(k.estimate, py(c, "contrast.estimate"), 1e-9, c + " estimate", "contrast (numpy)");
    expect_near(k.se, py(c, "contrast.se"), 1e-9, c + " se", "contrast (numpy)");
    expect_near(k.z, py(c, "contrast.z"), 1e-9, c + " z", "contrast (numpy)");
    expect_near(k.p_value, py(c, "contrast.p"), 1e-9, c + " p", "contrast (numpy)");
    expect_near(k.ci_lower, py(c, "contrast.lo"), 1e-9, c + " lo", "contrast (numpy)");
    expect_near(k.ci_upper, py(c, "contrast.hi"), 1e-9, c + " hi", "contrast (numpy)");
    for (size_t j = 0; j < sets.size(); ++j) {
      const std::string p = "logit." + std::to_string(j) + ".";
      const stats::AucResult a = stats::delong_auc(y, sets[j]);
      const stats::AucInterval ci = stats::delong_logit_ci(a);
      expect_near(a.auc, py(c, p + "auc"), 1e-9, c + " " + p + "auc", "AUC (numpy)");
      expect_near(a.se, py(c, p + "se"), 1e-9, c + " " + p + "se", "DeLong SE (numpy)");
      expect_near(ci.lower, py(c, p + "lo"), 1e-9, c + " " + p + "lo", "logit CI (numpy)");
      expect_near(ci.upper, py(c, p + "hi"), 1e-9, c + " " + p + "hi", "logit CI (numpy)");
    }
  }
}

TEST_F(StudyReference, HolmMatchesStatsmodelsMultipletests) {
  ASSERT_EQ(cases_["holm"].size(), 4u);
  for (const auto& c : cases_["holm"]) {
    std::vector<double> p;
    std::ifstream in(*dir_ / ("holm_" + c + ".txt"));
    for (double v; in >> v;) p.push_back(v);
    ASSERT_EQ(p.size(), static_cast<size_t>(py(c, "holm.n")));
    const std::vector<double> adj = stats::holm_adjust(p);
    for (size_t i = 0; i < p.size(); ++i)
      expect_near(adj[i], py(c, "holm." + std::to_string(i)), 1e-12, c + " " + std::to_string(i), "Holm (statsmodels)");
  }
}

TEST_F(StudyReference, ConcordanceMatchesRSurvival) {
  for (const auto& c : cases_["conc"]) {
    SCOPED_TRACE(c);
    const Csv t = read_csv(*dir_ / (c + ".csv"));
    stats::SurvivalData d;
    std::vector<double> score;
    for (const auto& row : t.rows) {
      d.time.push_back(std::stod(row[0]));
      d.event.push_back(std::stoi(row[1]));
      score.push_back(std::stod(row[2]));
    }
    const stats::Concordance k = stats::concordance_index(d, score);
    expect_near(k.c_index, r(c, "c"), 1e-9, c + " C", "C-index (R concordance)");
    EXPECT_EQ(k.concordant, r(c, "concordant"));
    EXPECT_EQ(k.discordant, r(c, "discordant"));
    EXPECT_EQ(k.tied_score, r(c, "tied_score"));
    EXPECT_EQ(k.tied_time, r(c, "tied_time"));
  }
}

TEST_F(StudyReference, PerSiteAucsAndContrastsMatchNumpy) {
  const size_t repeats = study_.repeats.size();
  int checked = 0;
  for (const auto& name : study_.arms) {
    const json& a = arm(name);
    for (const json& site : a.at("sites")) {
      const std::string s = site.at("site");
      for (size_t r = 0; r < repeats; ++r) {
        const std::string k = s + "." + name + "." + study_.repeats[r] + ".";
        const json& auc = site.at("auc").at("repeats").at(r);
        expect_near(auc.at("estimate"), py("study", k + "auc"), 1e-9, k + "auc", "AUC (numpy)");
        expect_near(auc.at("ci").at("lower"), py("study", k + "lo"), 1e-9, k + "lo", "logit CI (numpy)");
        expect_near(auc.at("ci").at("upper"), py("study", k + "hi"), 1e-9, k + "hi", "logit CI (numpy)");
      }
      if (name == study_.arms[0]) continue;
      const json& c = site.at("contrast");
      const std::string k = s + "." + name + ".contrast.";
      expect_near(c.at("estimate"), py("study", k + "estimate"), 1e-9, k + "estimate", "contrast (numpy)");
      expect_near(c.at("se"), py("study", k + "se"), 1e-9, k + "se", "contrast (numpy)");
      expect_near(c.at("statistic"), py("study", k + "z"), 1e-9, k + "z", "contrast (numpy)");
      expect_near(c.at("p_value"), py("study", k + "p"), 1e-9, k + "p", "contrast (numpy)");
      expect_near(c.at("ci").at("lower"), py("study", k + "lo"), 1e-9, k + "lo", "contrast (numpy)");
      expect_near(c.at("ci").at("upper"), py("study", k + "hi"), 1e-9, k + "hi", "contrast (numpy)");
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

TEST_F(StudyReference, SubgroupMatchesNumpy) {
  for (const auto& name : study_.arms) {
    const json& g = arm(name).at("subgroups").at(0);
    ASSERT_EQ(g.at("subgroup"), "older");
    for (size_t r = 0; r < study_.repeats.size(); ++r) {
      const std::string k = "older." + name + "." + study_.repeats[r] + ".";
      const json& auc = g.at("auc").at("repeats").at(r);
      expect_near(auc.at("estimate"), py("study", k + "auc"), 1e-9, k + "auc", "AUC (numpy)");
      expect_near(auc.at("ci").at("lower"), py("study", k + "lo"), 1e-9, k + "lo", "logit CI (numpy)");
      expect_near(auc.at("ci").at("upper"), py("study", k + "hi"), 1e-9, k + "hi", "logit CI (numpy)");
    }
    if (name == study_.arms[0]) continue;
    const std::string k = "older." + name + ".contrast.";
    const json& c = g.at("contrast");
    expect_near(c.at("estimate"), py("study", k + "estimate"), 1e-9, k + "estimate", "contrast (numpy)");
    expect_near(c.at("se"), py("study", k + "se"), 1e-9, k + "se", "contrast (numpy)");
    expect_near(c.at("p_value"), py("study", k + "p"), 1e-9, k + "p", "contrast (numpy)");
  }
}

TEST_F(StudyReference, SurvivalMatchesCoxphAndConcordance) {
  const json& surv = analysis_.at("survival");
  EXPECT_EQ(surv.at("cases"), r("study", "survival.cases"));
  EXPECT_EQ(surv.at("events"), r("study", "survival.events"));
  const auto expect_cox = [&](const json& model, const std::string& p) {
    const json& term = model.at("terms").at(0);
    expect_rel(term.at("beta"), r("study", p + ".beta"), 1e-6, p + " beta", "Cox beta (coxph)");
    expect_rel(term.at("se"), r("study", p + ".se"), 1e-6, p + " se", "Cox SE (coxph)");
    expect_rel(term.at("hazard_ratio").at("estimate"), r("study", p + ".hr"), 1e-6, p + " HR", "Cox HR (coxph)");
    expect_rel(term.at("hazard_ratio").at("ci").at("lower"), r("study", p + ".hr_lo"), 1e-6, p + " HR lo",
               "Cox HR CI (coxph)");
    expect_rel(term.at("hazard_ratio").at("ci").at("upper"), r("study", p + ".hr_hi"), 1e-6, p + " HR hi",
               "Cox HR CI (coxph)");
    expect_near(term.at("p_value"), r("study", p + ".p"), 1e-6, p + " p", "Cox Wald p (coxph)");
  };
  expect_cox(surv.at("true_label"), "cox.true_label");
  int fitted = 0;
  for (const auto& name : study_.arms) {
    const json& s = arm(name).at("survival");
    for (size_t i = 0; i < study_.repeats.size(); ++i) {
      const json& rep = s.at("repeats").at(i);
      const std::string col = name + "." + study_.repeats[i];
      expect_near(rep.at("c_index").at("estimate"), r("study", "c." + col), 1e-9, col + " C",
                  "C-index (R concordance)");
      if (!r_.count("study|cox." + col + ".beta")) {  // coxph warned: we must not give a number
        EXPECT_TRUE(rep.at("cox").contains("error")) << col;
        continue;
      }
      expect_cox(rep.at("cox"), "cox." + col);
      ++fitted;
    }
  }
  EXPECT_GE(fitted, 8);
}

TEST_F(StudyReference, HierarchicalBootstrapAgreesWithAnIndependentNumpyBootstrap) {
  // The same files again (same seed), now with the NumPy bootstrap (a few seconds, so only here).
  const auto run = run_command(python() + " " + source_path("tests/ref/study_reference.py") + " " + dir_->path() + " " +
                               std::to_string(kReplicates));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  py_ = read_tsv(*dir_ / "expected_python.tsv");
  ASSERT_EQ(py("study", "boot.replicates"), kReplicates);
  for (const std::string name : {"small+syn", "small+donor"}) {
    const json& g = arm(name).at("pooled").at("gain");
    const double lo = py("study", "boot." + name + ".lo"), hi = py("study", "boot." + name + ".hi");
    const double width = hi - lo;
    expect_rel(g.at("bootstrap").at("sd"), py("study", "boot." + name + ".sd"), 0.15, name + " sd",
               "bootstrap SD (numpy scheme)");
    const double dlo = std::fabs(g.at("ci").at("lower").get<double>() - lo) / width;
    const double dhi = std::fabs(g.at("ci").at("upper").get<double>() - hi) / width;
    max_dev["bootstrap CI / width (numpy)"] = std::max({max_dev["bootstrap CI / width (numpy)"], dlo, dhi});
    EXPECT_LE(dlo, 0.15) << name << " lower " << g.at("ci").at("lower") << " vs " << lo;
    EXPECT_LE(dhi, 0.15) << name << " upper " << g.at("ci").at("upper") << " vs " << hi;
  }
}

}  // namespace
}  // namespace scintigen::study
