// `reader report`'s analysis (src/reader/report.h) against independent implementations, run at
// test time on the same answers: 4 readers x 40 cases (20 real, 20 synthetic), task "both",
// answers drawn from a fixed seed, three answers missing.
//   tests/ref/reader_reference.py: statsmodels (proportion_confint wilson, binom_tost,
//     fleiss_kappa), scikit-learn (cohen_kappa_score, roc_auc_score), SciPy (norm), and a NumPy
//     implementation of the bootstraps' definitions with its own generator (pooled realness: the
//     three bootstraps of Beiden, Wagner & Campbell and their combination; diagnosis: cases);
//   tests/ref/reader_reference.R: pROC ci.auc(method = "delong") and var(method = "delong").
// Tolerances: closed forms (proportions, Wilson limits, exact TOST p-values, AUCs, DeLong CIs,
// kappas, means over readers, the z-TOST and the normal CI given the SE) 1e-9 absolute; the
// bootstraps, being Monte Carlo (4000 replicates here, 10000 in NumPy): SEs (and the square roots
// of the variance components) within 15% relative, percentile limits within 0.03 absolute. The
// corrected SE is a difference of three Monte Carlo variances, hence the 4000 replicates: its
// relative Monte Carlo error is then ~4% here, ~2% in NumPy. answers.csv is read back by `scintigen stats agreement`,
// whose kappas must equal the report's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "core/rng.h"
#include "reader/report.h"
#include "test_util.h"

namespace scintigen::reader {
namespace {

using nlohmann::json;
using testing::python;
using testing::run_command;
using testing::source_path;

constexpr double kClosed = 1e-9;   // closed forms, absolute
constexpr double kSeRel = 0.15;    // bootstrap SE, relative
constexpr double kCiAbs = 0.03;    // bootstrap percentile limits, absolute
constexpr int kReplicates = 4000;  // of the C++ bootstraps

const std::vector<std::string> kReaders = {"ann", "ben", "cho", "dia"};
const std::vector<double> kSkill = {0.5, 0.62, 0.7, 0.55};  // chance of a right call

// 20 real then 20 synthetic cases with metastasis and grade labels (every 7th case has no grade);
// each reader calls right with its skill, a confidence of 1-5, the metastasis right with 0.8,
// the grade right with 0.6 (else a uniform grade). cho misses c10; dia misses c03 and c27.
StudyData reference_study() {
  StudyData d;
  d.meta = {{"format", "scintigen-reader-study"},
            {"config", {{"task", "both"}, {"margin", 0.15}}},
            {"created", "2026-12-03T00:00:00Z"}};
  Rng rng(20261203);
  for (size_t i = 0; i < 40; ++i) {
    StudyCase c;
    c.index = i;
    c.case_id = (i < 10 ? "c0" : "c") + std::to_string(i);
    c.origin = i < 20 ? "real" : "synthetic";
    c.labels.metastasis = rng.bernoulli(0.4) ? 1 : 0;
    if (i % 7 != 3) c.labels.cardiac_grade = static_cast<int>(rng.below(4));
    d.cases.push_back(c);
  }
  for (size_t r = 0; r < kReaders.size(); ++r) {
    d.readers.push_back({kReaders[r], "reader"});
    for (const StudyCase& c : d.cases) {
      const bool right = rng.bernoulli(kSkill[r]);
      const int confidence = 1 + static_cast<int>(rng.below(5));
      const bool mets_right = rng.bernoulli(0.8);
      const bool grade_right = rng.bernoulli(0.6);
      const int other_grade = static_cast<int>(rng.below(4));
      if ((kReaders[r] == "cho" && c.case_id == "c10") ||
          (kReaders[r] == "dia" && (c.case_id == "c03" || c.case_id == "c27")))
        continue;
      Answer a;
      a.reader = kReaders[r];
      a.case_id = c.case_id;
      a.call = (c.origin == "synthetic") == right ? "synthetic" : "real";
      a.confidence = confidence;
      a.metastasis = mets_right ? *c.labels.metastasis : 1 - *c.labels.metastasis;
      a.grade = grade_right && c.labels.cardiac_grade ? *c.labels.cardiac_grade : other_grade;
      d.answers.push_back(a);
    }
  }
  return d;
}

std::string opt(const std::optional<int>& v) {
  return v ? std::to_string(*v) : "";
}

// The answers in long form for the references: one row per answer with its case's origin and labels.
void write_inputs(const StudyData& d, const json& report, const std::string& dir) {
  std::map<std::string, const StudyCase*> cases;
  for (const auto& c : d.cases) cases[c.case_id] = &c;
  std::ofstream a(dir + "/answers_long.csv");
  a << "reader,case,origin,call,confidence,metastasis,grade,label_metastasis,label_grade\n";
  for (const auto& x : d.answers) {
    const StudyCase& c = *cases[x.case_id];
    a << x.reader << "," << x.case_id << "," << c.origin << "," << x.call << "," << x.confidence << ","
      << opt(x.metastasis) << "," << opt(x.grade) << "," << opt(c.labels.metastasis) << ","
      << opt(c.labels.cardiac_grade) << "\n";
  }
  json study = {{"readers", kReaders}, {"margin", 0.15}, {"conf_level", 0.95}, {"cases", json::array()}};
  for (const auto& c : d.cases) study["cases"].push_back(c.case_id);
  std::ofstream(dir + "/study.json") << study.dump(2);
  std::ofstream(dir + "/report.json") << report.dump(2);
}

std::map<std::string, double> read_tsv(const std::string& path) {
  std::map<std::string, double> m;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string k, v;
    if (!std::getline(s, k, '\t') || !std::getline(s, v)) continue;
    m[k] = v == "NA" ? std::nan("") : std::stod(v);
  }
  return m;
}

class ReaderReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>();
    data_ = std::make_unique<StudyData>(reference_study());
    ReportConfig c;
    c.study = "study";
    c.out = "out";
    c.bootstrap = kReplicates;
    c.seed = 7;
    report_ = std::make_unique<json>(analyse_study(*data_, c));
    write_inputs(*data_, *report_, dir_->path());
    const auto py = run_command(python() + " " + source_path("tests/ref/reader_reference.py") + " " + dir_->path());
    ASSERT_EQ(py.exit_code, 0) << py.output;
    const auto r = run_command("Rscript " + source_path("tests/ref/reader_reference.R") + " " + dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    py_ = read_tsv(*dir_ / "expected_python.tsv");
    r_ = read_tsv(*dir_ / "expected_r.tsv");
  }
  static void TearDownTestSuite() {
    std::printf("largest deviations from the references:\n");
    for (const auto& [k, v] : max_dev_) std::printf("  %-28s %.3g\n", k.c_str(), v);
    dir_.reset();
    data_.reset();
    report_.reset();
  }

  static double ref(const std::map<std::string, double>& m, const std::string& k) {
    auto it = m.find(k);
    if (it == m.end()) ADD_FAILURE() << "no reference value " << k;
    return it == m.end() ? std::nan("") : it->second;
  }
  static double py(const std::string& k) { return ref(py_, k); }
  static double r(const std::string& k) { return ref(r_, k); }
  static const json& report() { return *report_; }

  // |got - want| <= tol, the largest deviation of each kind kept for the summary.
  static void expect_close(double got, double want, double tol, const std::string& what, const std::string& kind) {
    const double dev = std::fabs(got - want);
    max_dev_[kind] = std::max(max_dev_[kind], dev);
    EXPECT_LE(dev, tol) << what << ": got " << got << ", reference " << want;
  }

  // A proportion {"estimate", "successes", "trials", "ci"} against key.{est,lo,hi}.
  static void expect_wilson(const json& p, const std::string& key) {
    expect_close(p["estimate"].get<double>(), py(key + ".est"), kClosed, key, "proportion");
    expect_close(p["ci"]["lower"].get<double>(), py(key + ".lo"), kClosed, key, "Wilson limit");
    expect_close(p["ci"]["upper"].get<double>(), py(key + ".hi"), kClosed, key, "Wilson limit");
  }
  // A bootstrapped {"estimate", "se", "ci"} against key.{est,se,lo,hi}.
  static void expect_bootstrap(const json& m, const std::string& key) {
    expect_close(m["estimate"].get<double>(), py(key + ".est"), kClosed, key, "mean over readers");
    const double se = py(key + ".se");
    expect_close(m["se"].get<double>() / se, 1.0, kSeRel, key, "bootstrap SE ratio - 1");
    expect_close(m["ci"]["lower"].get<double>(), py(key + ".lo"), kCiAbs, key, "bootstrap limit");
    expect_close(m["ci"]["upper"].get<double>(), py(key + ".hi"), kCiAbs, key, "bootstrap limit");
  }

  static std::unique_ptr<testing::TempDir> dir_;
  static std::unique_ptr<StudyData> data_;
  static std::unique_ptr<json> report_;
  static std::map<std::string, double> py_, r_, max_dev_;
};

std::unique_ptr<testing::TempDir> ReaderReference::dir_;
std::unique_ptr<StudyData> ReaderReference::data_;
std::unique_ptr<json> ReaderReference::report_;
std::map<std::string, double> ReaderReference::py_, ReaderReference::r_, ReaderReference::max_dev_;

TEST_F(ReaderReference, PerReaderRealness) {
  const json& readers = report()["realness"]["readers"];
  ASSERT_EQ(readers.size(), kReaders.size());
  for (const auto& x : readers) {
    const std::string k = "reader." + x["reader"].get<std::string>();
    expect_wilson(x["accuracy"], k + ".accuracy");
    expect_wilson(x["sensitivity"], k + ".sensitivity");
    expect_wilson(x["specificity"], k + ".specificity");
    expect_close(x["auc"]["estimate"].get<double>(), py(k + ".auc"), kClosed, k, "AUC (DeLong)");
    expect_close(x["auc"]["estimate"].get<double>(), r(k + ".auc"), kClosed, k, "AUC (DeLong)");
    expect_close(x["auc"]["variance"].get<double>(), r(k + ".var"), kClosed, k, "AUC (DeLong)");
    expect_close(x["auc"]["ci"]["lower"].get<double>(), r(k + ".auc.lo"), kClosed, k, "AUC (DeLong)");
    expect_close(x["auc"]["ci"]["upper"].get<double>(), r(k + ".auc.hi"), kClosed, k, "AUC (DeLong)");
    const json& e = x["equivalence"];
    expect_close(e["p_value_low"].get<double>(), py(k + ".tost.low"), kClosed, k, "TOST p-value");
    expect_close(e["p_value_high"].get<double>(), py(k + ".tost.high"), kClosed, k, "TOST p-value");
    expect_close(e["p_value"].get<double>(), py(k + ".tost.p"), kClosed, k, "TOST p-value");
    EXPECT_EQ(e["equivalent"].get<bool>(), py(k + ".tost.p") < 0.05) << k;
  }
}

TEST_F(ReaderReference, PooledRealnessComponentsOfVariance) {
  const json& p = report()["realness"]["pooled"];
  EXPECT_EQ(p["complete_cases"], 37);
  for (const char* s : {"accuracy", "sensitivity", "specificity", "auc"}) {
    const std::string k = std::string("pooled.") + s;
    const json& m = p[s];
    expect_close(m["estimate"].get<double>(), py(k + ".est"), kClosed, k, "mean over readers");
    expect_close(m["se"].get<double>() / py(k + ".se"), 1.0, kSeRel, k, "corrected SE ratio - 1");
    for (const char* v : {"v_readers", "v_cases", "v_both"})
      expect_close(std::sqrt(m["components"][v].get<double>() / py(k + "." + v)), 1.0, kSeRel, k + "." + v,
                   "sqrt component ratio - 1");
    // the normal CI from the report's own estimate and SE, as SciPy computes it
    expect_close(m["ci"]["lower"].get<double>(), py(k + ".ci.lo"), kClosed, k, "normal CI limit");
    expect_close(m["ci"]["upper"].get<double>(), py(k + ".ci.hi"), kClosed, k, "normal CI limit");
    // the two-way bootstrap kept for comparison
    const json& w = m["two_way_percentile"];
    std::printf("%s: corrected SE %.4f (NumPy %.4f), two-way bootstrap SE %.4f (NumPy %.4f)\n", k.c_str(),
                m["se"].get<double>(), py(k + ".se"), w["se"].get<double>(), py(k + ".two_way.se"));
    expect_close(w["se"].get<double>() / py(k + ".two_way.se"), 1.0, kSeRel, k, "bootstrap SE ratio - 1");
    expect_close(w["ci"]["lower"].get<double>(), py(k + ".two_way.lo"), kCiAbs, k, "bootstrap limit");
    expect_close(w["ci"]["upper"].get<double>(), py(k + ".two_way.hi"), kCiAbs, k, "bootstrap limit");
  }
  // the z-TOST from the report's own estimate and SE, as SciPy computes it
  expect_close(p["equivalence"]["p_value_low"].get<double>(), py("pooled.tost.low"), kClosed, "pooled z-TOST",
               "TOST p-value");
  expect_close(p["equivalence"]["p_value_high"].get<double>(), py("pooled.tost.high"), kClosed, "pooled z-TOST",
               "TOST p-value");
}

TEST_F(ReaderReference, Agreement) {
  const json& g = report()["realness"]["agreement"];
  expect_close(g["fleiss"]["estimate"].get<double>(), py("agreement.fleiss"), kClosed, "Fleiss", "kappa");
  ASSERT_EQ(g["cohen"].size(), 6u);
  for (const auto& k : g["cohen"]) {
    const std::string key =
        "agreement.cohen." + k["reader1"].get<std::string>() + "." + k["reader2"].get<std::string>();
    expect_close(k["estimate"].get<double>(), py(key), kClosed, key, "kappa");
  }
}

TEST_F(ReaderReference, Diagnosis) {
  for (const auto& x : report()["diagnosis"]["readers"])
    for (const char* origin : {"real", "synthetic"}) {
      const std::string k = "diagnosis." + x["reader"].get<std::string>() + "." + origin;
      const json &m = x[origin]["metastasis"], &g = x[origin]["grade"];
      expect_wilson(m["accuracy"], k + ".mets.accuracy");
      expect_wilson(m["sensitivity"], k + ".mets.sensitivity");
      expect_wilson(m["specificity"], k + ".mets.specificity");
      expect_close(m["kappa"]["estimate"].get<double>(), py(k + ".mets.kappa"), kClosed, k, "kappa");
      expect_wilson(g["accuracy"], k + ".grade.accuracy");
      expect_close(g["kappa"]["estimate"].get<double>(), py(k + ".grade.kappa"), kClosed, k, "kappa");
    }
  const json& p = report()["diagnosis"]["pooled"];
  for (const char* label : {"metastasis_accuracy", "grade_accuracy"})
    for (const char* part : {"real", "synthetic", "difference"})
      expect_bootstrap(p[label][part], std::string("diagnosis.pooled.") + label + "." + part);
}

// answers.csv of the complete cases, read by `scintigen stats agreement`: the same kappas.
TEST_F(ReaderReference, StatsAgreementReadsAnswersCsv) {
  StudyData d = *data_;
  const std::vector<std::string> missing = {"c03", "c10", "c27"};
  auto gone = [&](const std::string& id) { return std::find(missing.begin(), missing.end(), id) != missing.end(); };
  d.cases.erase(std::remove_if(d.cases.begin(), d.cases.end(), [&](const StudyCase& c) { return gone(c.case_id); }),
                d.cases.end());
  d.answers.erase(std::remove_if(d.answers.begin(), d.answers.end(), [&](const Answer& a) { return gone(a.case_id); }),
                  d.answers.end());
  const std::string csv = *dir_ / "answers.csv";
  std::ofstream(csv) << answers_csv(d);
  const auto out = run_command(testing::scintigen_binary() + " stats agreement --ratings " + csv +
                               " --id-col case --truth truth --json");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  const json s = json::parse(out.output);
  const json& g = report()["realness"]["agreement"];
  EXPECT_NEAR(s["fleiss"]["estimate"].get<double>(), g["fleiss"]["estimate"].get<double>(), 1e-12) << s.dump(2);
  ASSERT_EQ(s["cohen"].size(), g["cohen"].size());
  for (size_t i = 0; i < g["cohen"].size(); ++i)
    EXPECT_NEAR(s["cohen"][i]["estimate"].get<double>(), g["cohen"][i]["estimate"].get<double>(), 1e-12);
}

}  // namespace
}  // namespace scintigen::reader
