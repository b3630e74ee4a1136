#include "reader/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/random_streams.h"
#include "core/version.h"
#include "reader/study.h"
#include "stats/agreement.h"
#include "stats/analysis.h"
#include "stats/distributions.h"
#include "stats/json.h"
#include "stats/roc.h"

namespace scintigen::reader {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* const kWhere = "reader report";
const char* const kStudyHint = "pass a study folder made by scintigen reader create";
// Significance level of both equivalence tests, fixed before any result (docs/READER.md).
constexpr double kTostAlpha = 0.05;
// The diagnosis bootstrap draws from the same named stream as the reader x case bootstrap, at
// indices from here on, so the two never share a generator.
constexpr uint64_t kDiagnosisIndexBase = uint64_t{1} << 32;

double nan() {
  return std::numeric_limits<double>::quiet_NaN();
}

// ---- the answers as a reader x case table --------------------------------------------------------

struct Table {
  std::vector<std::string> readers;
  std::vector<const StudyCase*> cases;         // by index
  std::vector<bool> synthetic;                 // per case: origin
  std::vector<std::vector<const Answer*>> at;  // [reader][case], nullptr = not answered
  bool realness = false, diagnosis = false;
  double margin = 0.0;
  std::string task;
};

Table make_table(const StudyData& d) {
  Table t;
  const json& cfg = d.meta.contains("config") ? d.meta.at("config") : json();
  if (!cfg.is_object() || !cfg.contains("task") || !cfg.at("task").is_string())
    throw InputError(kWhere, "the study's meta has no config.task", kStudyHint);
  t.task = cfg.at("task").get<std::string>();
  t.realness = task_has_realness(t.task);
  t.diagnosis = task_has_diagnosis(t.task);
  if (!t.realness && !t.diagnosis)
    throw InputError(kWhere, fmt::format("unknown task '{}' in the study's meta", t.task),
                     "tasks: realness, diagnosis, both");
  if (t.realness) {
    if (!cfg.contains("margin") || !cfg.at("margin").is_number())
      throw InputError(kWhere, "the study's meta has no config.margin", kStudyHint);
    t.margin = cfg.at("margin").get<double>();
    if (!(t.margin > 0.0 && t.margin < 0.5))
      throw InputError(kWhere, fmt::format("config.margin {} is not between 0 and 0.5", t.margin), kStudyHint);
  }
  std::map<std::string, size_t> case_index, reader_index;
  for (size_t i = 0; i < d.cases.size(); ++i) {
    const StudyCase& c = d.cases[i];
    if (c.origin != "real" && c.origin != "synthetic")
      throw InputError(kWhere, fmt::format("case {} has origin '{}', not real or synthetic", c.case_id, c.origin),
                       kStudyHint);
    if (!case_index.emplace(c.case_id, i).second)
      throw InputError(kWhere, fmt::format("case id {} occurs twice", c.case_id), kStudyHint);
    t.cases.push_back(&c);
    t.synthetic.push_back(c.origin == "synthetic");
  }
  for (const StudyReader& r : d.readers) {
    if (!reader_index.emplace(r.name, t.readers.size()).second)
      throw InputError(kWhere, fmt::format("reader {} occurs twice", r.name), kStudyHint);
    t.readers.push_back(r.name);
  }
  t.at.assign(t.readers.size(), std::vector<const Answer*>(t.cases.size(), nullptr));
  for (const Answer& a : d.answers) {
    const auto r = reader_index.find(a.reader);
    const auto c = case_index.find(a.case_id);
    if (r == reader_index.end())
      throw InputError(kWhere, fmt::format("an answer is by '{}', who is not a reader of the study", a.reader),
                       kStudyHint);
    if (c == case_index.end())
      throw InputError(kWhere,
                       fmt::format("reader {} answered case {}, which is not in the study", a.reader, a.case_id),
                       kStudyHint);
    const Answer*& slot = t.at[r->second][c->second];
    if (slot)
      throw InputError(kWhere, fmt::format("reader {} has two answers for case {}", a.reader, a.case_id), kStudyHint);
    if (t.realness && ((a.call != "real" && a.call != "synthetic") || a.confidence < 1 || a.confidence > 5))
      throw InputError(kWhere,
                       fmt::format("reader {}'s answer for case {} has call '{}' with confidence {}", a.reader,
                                   a.case_id, a.call, a.confidence),
                       "a realness answer is real or synthetic with a confidence of 1 to 5");
    if (t.diagnosis &&
        ((a.metastasis && *a.metastasis != 0 && *a.metastasis != 1) || (a.grade && (*a.grade < 0 || *a.grade > 3))))
      throw InputError(
          kWhere,
          fmt::format("reader {}'s answer for case {} has a metastasis or grade out of range", a.reader, a.case_id),
          "metastasis is 0 or 1, the Perugini grade 0 to 3");
    slot = &a;
  }
  return t;
}

// Whether an answer counts for a task: a call for realness, a metastasis or grade for diagnosis.
bool answered_realness(const Answer* a) {
  return a && !a->call.empty();
}
bool answered_diagnosis(const Answer* a) {
  return a && (a->metastasis || a->grade);
}
using Answered = bool (*)(const Answer*);

// The cases every reader answered, by index.
std::vector<size_t> complete_cases(const Table& t, Answered answered) {
  std::vector<size_t> out;
  for (size_t c = 0; c < t.cases.size(); ++c) {
    bool all = !t.readers.empty();
    for (size_t r = 0; r < t.readers.size() && all; ++r) all = answered(t.at[r][c]);
    if (all) out.push_back(c);
  }
  return out;
}

json error_json(const std::string& message) {
  return {{"error", message}};
}

// ---- statistics not in src/stats ----------------------------------------------------------------

// P(X >= k) and P(X <= k) for X ~ Binomial(n, p), 0 < p < 1, by summing the probabilities
// (computed through lgamma, ~1e-13 relative for the n of a reader study).
double binomial_pmf(size_t k, size_t n, double p) {
  const double dn = static_cast<double>(n), dk = static_cast<double>(k);
  return std::exp(std::lgamma(dn + 1) - std::lgamma(dk + 1) - std::lgamma(dn - dk + 1) + dk * std::log(p) +
                  (dn - dk) * std::log1p(-p));
}
double binomial_upper_tail(size_t k, size_t n, double p) {
  double s = 0.0;
  for (size_t i = n + 1; i-- > k;) s += binomial_pmf(i, n, p);  // small terms first
  return std::min(1.0, s);
}
double binomial_lower_tail(size_t k, size_t n, double p) {
  double s = 0.0;
  for (size_t i = 0; i <= std::min(k, n); ++i) s += binomial_pmf(i, n, p);
  return std::min(1.0, s);
}

// Two one-sided tests of H0: p <= 0.5 - margin and H0: p >= 0.5 + margin; equivalence to
// chance is shown when both are rejected, i.e. when the larger p-value is below alpha.
// Ref: D. J. Schuirmann, A comparison of the two one-sided tests procedure and the power approach
//      for assessing the equivalence of average bioavailability, J Pharmacokinet Biopharm
//      15(6):657-680, 1987.
// The p-values are named by the bound they test: p_value_low for H0: p <= 0.5 - margin,
// p_value_high for H0: p >= 0.5 + margin.
json equivalence_json(const char* method, double margin, double p_low, double p_high) {
  const double p = std::max(p_low, p_high);
  return {{"method", method},
          {"margin", margin},
          {"bounds", {0.5 - margin, 0.5 + margin}},
          {"alpha", kTostAlpha},
          {"p_value_low", stats::json_number(p_low)},
          {"p_value_high", stats::json_number(p_high)},
          {"p_value", stats::json_number(p)},
          {"equivalent", std::isfinite(p) && p < kTostAlpha}};
}

// Exact binomial TOST of k correct of n (as statsmodels binom_tost).
json exact_tost_json(size_t k, size_t n, double margin) {
  return equivalence_json("exact binomial TOST", margin, binomial_upper_tail(k, n, 0.5 - margin),
                          binomial_lower_tail(k, n, 0.5 + margin));
}

// The rating of a realness answer on 1 (certain real) .. 10 (certain synthetic).
double rating(const Answer& a) {
  return a.call == "synthetic" ? 5.0 + a.confidence : 6.0 - a.confidence;
}

// Runs `f`; an InputError from src/stats (a statistic undefined on these answers) becomes
// {"error": reason}.
template <typename F>
json or_error(F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    return error_json(e.reason());
  }
}

// The ROC curve's points for the page: [{"threshold" (null for the start), "fpr", "tpr"}].
json roc_json(const stats::RocCurve& c) {
  json points = json::array();
  for (const auto& p : c.points)
    points.push_back({{"threshold", stats::json_number(p.threshold)}, {"fpr", p.fpr}, {"tpr", p.tpr}});
  return points;
}

// ---- realness per reader ------------------------------------------------------------------------

json realness_reader_json(const Table& t, size_t r, double conf) {
  size_t n = 0, correct = 0, syn = 0, syn_called = 0, real = 0, real_called = 0;
  std::vector<int> labels;
  std::vector<double> scores;
  for (size_t c = 0; c < t.cases.size(); ++c) {
    const Answer* a = t.at[r][c];
    if (!answered_realness(a)) continue;
    const bool says_syn = a->call == "synthetic";
    ++n;
    correct += says_syn == t.synthetic[c];
    (t.synthetic[c] ? syn : real)++;
    if (t.synthetic[c])
      syn_called += says_syn;
    else
      real_called += !says_syn;
    labels.push_back(t.synthetic[c] ? 1 : 0);
    scores.push_back(rating(*a));
  }
  const std::string where = "reader " + t.readers[r];
  return {{"reader", t.readers[r]},
          {"answered", n},
          {"missing", t.cases.size() - n},
          {"accuracy", stats::to_json(stats::wilson_interval(correct, n, conf))},
          {"sensitivity", stats::to_json(stats::wilson_interval(syn_called, syn, conf))},
          {"specificity", stats::to_json(stats::wilson_interval(real_called, real, conf))},
          {"auc", or_error([&] { return stats::to_json(stats::auc_with_delong_ci(labels, scores, conf, where)); })},
          {"roc", or_error([&] { return roc_json(stats::roc_curve(labels, scores, where)); })},
          {"equivalence", exact_tost_json(correct, n, t.margin)}};
}

// ---- the reader x case bootstrap ----------------------------------------------------------------

// The realness answers as numbers for the pooled statistics and their bootstraps: per reader and
// case (index into t.cases; filled for the complete cases) whether the call is right, and its
// rating 1..10.
struct Cells {
  std::vector<std::vector<uint8_t>> right, rating;  // [reader][case]
};

Cells make_cells(const Table& t, const std::vector<size_t>& complete) {
  Cells cells;
  cells.right.assign(t.readers.size(), std::vector<uint8_t>(t.cases.size(), 0));
  cells.rating = cells.right;
  for (size_t r = 0; r < t.readers.size(); ++r)
    for (size_t c : complete) {
      const Answer& a = *t.at[r][c];
      cells.right[r][c] = (a.call == "synthetic") == t.synthetic[c];
      cells.rating[r][c] = static_cast<uint8_t>(rating(a));
    }
  return cells;
}

// The pooled statistics, in this order.
constexpr size_t kStatistics = 4;
const char* const kStatisticNames[kStatistics] = {"accuracy", "sensitivity", "specificity", "auc"};
using Statistics = std::array<double, kStatistics>;

// A reader's accuracy, sensitivity (share right among the synthetic cases), specificity (among
// the real ones) and AUC of the rating on the cases, with multiplicity; the cases hold both
// origins. The AUC is Mann-Whitney's, counted over the 10 rating levels: the share of (synthetic,
// real) pairs in which the synthetic case rates higher, ties counting 1/2 (as stats::auc).
Statistics reader_statistics(const Table& t, const Cells& cells, size_t r, const std::vector<size_t>& cases) {
  size_t k_syn = 0, n_syn = 0, k_real = 0, n_real = 0;
  std::array<double, 11> syn_at{}, real_at{};  // cases per rating level
  for (size_t c : cases) {
    const bool right = cells.right[r][c];
    const uint8_t level = cells.rating[r][c];
    if (t.synthetic[c]) {
      ++n_syn, k_syn += right, ++syn_at[level];
    } else {
      ++n_real, k_real += right, ++real_at[level];
    }
  }
  double pairs = 0.0, below = 0.0;
  for (size_t x = 1; x <= 10; ++x) {
    pairs += syn_at[x] * (below + 0.5 * real_at[x]);
    below += real_at[x];
  }
  const auto share = [](double k, double n) { return n > 0 ? k / n : nan(); };
  return {share(static_cast<double>(k_syn + k_real), static_cast<double>(n_syn + n_real)),
          share(static_cast<double>(k_syn), static_cast<double>(n_syn)),
          share(static_cast<double>(k_real), static_cast<double>(n_real)),
          share(pairs, static_cast<double>(n_syn) * static_cast<double>(n_real))};
}

// Mean over the readers (with multiplicity) of their statistics on the cases.
Statistics reader_mean(const Table& t, const Cells& cells, const std::vector<size_t>& readers,
                       const std::vector<size_t>& cases) {
  std::vector<size_t> times(t.readers.size(), 0);
  for (size_t r : readers) ++times[r];
  Statistics mean{};
  for (size_t r = 0; r < times.size(); ++r) {
    if (!times[r]) continue;
    const Statistics s = reader_statistics(t, cells, r, cases);
    for (size_t i = 0; i < kStatistics; ++i) mean[i] += static_cast<double>(times[r]) * s[i];
  }
  for (double& m : mean) m /= static_cast<double>(readers.size());
  return mean;
}

// Cases drawn with replacement within each origin (each origin keeps its size), in the order:
// the real cases' draws, then the synthetic cases'.
std::vector<size_t> resample_cases(const std::vector<size_t>& real, const std::vector<size_t>& syn, Rng& rng) {
  std::vector<size_t> out;
  out.reserve(real.size() + syn.size());
  for (size_t i = 0; i < real.size(); ++i) out.push_back(real[rng.below(real.size())]);
  for (size_t i = 0; i < syn.size(); ++i) out.push_back(syn[rng.below(syn.size())]);
  return out;
}

// The complete cases split by origin (into `real`, `syn`) and the counts that open a pooled
// section; with an "error" when the cases lack an origin (nothing to compare).
json pooled_head(const Table& t, const std::vector<size_t>& complete, std::vector<size_t>& real,
                 std::vector<size_t>& syn) {
  for (size_t c : complete) (t.synthetic[c] ? syn : real).push_back(c);
  json out = {{"complete_cases", complete.size()},
              {"real", real.size()},
              {"synthetic", syn.size()},
              {"readers", t.readers.size()}};
  if (t.readers.empty() || real.empty() || syn.empty())
    out["error"] = fmt::format(
        "the cases every reader answered hold {} real and {} synthetic; the pooled analysis needs both origins",
        real.size(), syn.size());
  return out;
}

// A statistic's bootstrap replicates; those where it is undefined (NaN: a resample without a
// labelled case) are left out and the count kept says how many remain.
struct Replicates {
  std::vector<double> values;

  std::vector<double> finite() const {
    std::vector<double> v;
    for (double x : values)
      if (std::isfinite(x)) v.push_back(x);
    return v;
  }
  // Sample variance (n - 1) of the replicates; its square root is the bootstrap SE.
  double variance() const {
    const std::vector<double> v = finite();
    if (v.size() < 2) return nan();
    double mean = 0.0, ss = 0.0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    for (double x : v) ss += (x - mean) * (x - mean);
    return ss / static_cast<double>(v.size() - 1);
  }
  double se() const { return std::sqrt(variance()); }
  // {"estimate", "se", "replicates", "ci"}: percentile interval, R's type 7 quantiles.
  json to_json(double estimate, double conf, const char* method) const {
    std::vector<double> v = finite();
    std::sort(v.begin(), v.end());
    const double a = (1.0 - conf) / 2.0;
    json ci = v.empty()
                  ? json(nullptr)
                  : stats::interval_json(conf, stats::quantile_type7(v, a), stats::quantile_type7(v, 1.0 - a), method);
    return {{"estimate", stats::json_number(estimate)},
            {"se", stats::json_number(se())},
            {"replicates", v.size()},
            {"ci", ci}};
  }
};

const char* const kTwoWayMethod = "two-way bootstrap percentile";
const char* const kBwcMethod =
    "reader x case components of variance (Beiden-Wagner-Campbell 2000) from three bootstraps";
const char* const kBwcCiMethod = "normal (estimate -/+ z se, se from the components of variance), clipped to [0, 1]";

// One pooled statistic's replicates in the three bootstraps of Beiden, Wagner & Campbell.
struct ThreeBootstraps {
  Replicates both;     // readers and cases (within origin) resampled together
  Replicates readers;  // readers resampled, cases fixed
  Replicates cases;    // cases resampled within origin, readers fixed
};

// The variance of the pooled statistic with readers and cases both random, from the three
// bootstrap variances. Under X_rc = mu + R_r + C_c + E_rc (E: the reader x case interaction and
// the within-cell noise, which one reading per cell cannot separate)
//   V_readers ~ s_R^2 / r + s_E^2 / (r c),  V_cases ~ s_C^2 / c + s_E^2 / (r c),
//   V_both ~ s_R^2 / r + s_C^2 / c + 3 s_E^2 / (r c),
// so V = 2 (V_readers + V_cases) - V_both counts every component once. (With the bootstraps'
// plug-in variances, pure noise gives V = (1 - 1 / (r c)) s_E^2 / (r c): the (r - 1) / r and
// (c - 1) / c shrinkages cancel.) V is a difference of Monte Carlo estimates and can fall below
// the cases-only variance, or below 0, when the readers vary less than the noise predicts; it is
// then truncated at V_cases (a negative reader component estimated as 0), and `truncated` says so.
// Ref: S. V. Beiden, R. F. Wagner, G. Campbell, Components-of-variance models and
//      multiple-bootstrap experiments: an alternative method for random-effects, receiver
//      operating characteristic analysis, Academic Radiology 7(5):341-349, 2000.
struct Components {
  double v_readers, v_cases, v_both, v_combined, variance;
  bool truncated;
};

Components components_of_variance(const ThreeBootstraps& b) {
  Components c{};
  c.v_readers = b.readers.variance();
  c.v_cases = b.cases.variance();
  c.v_both = b.both.variance();
  c.v_combined = 2.0 * (c.v_readers + c.v_cases) - c.v_both;
  c.truncated = std::isfinite(c.v_combined) && c.v_combined < c.v_cases;
  c.variance = c.truncated ? c.v_cases : c.v_combined;  // NaN stays NaN
  return c;
}

// {"estimate", "se", "method", "replicates", "ci" (normal on the corrected SE), "components",
//  "two_way_percentile" (the two-way bootstrap's own SE and percentile interval, for comparison)}.
json pooled_statistic_json(double estimate, const ThreeBootstraps& b, double conf) {
  const Components c = components_of_variance(b);
  const double se = std::sqrt(c.variance);
  json ci = nullptr;
  if (std::isfinite(se) && std::isfinite(estimate)) {
    const double z = stats::normal_quantile(1.0 - (1.0 - conf) / 2.0);
    ci = stats::interval_json(conf, std::clamp(estimate - z * se, 0.0, 1.0), std::clamp(estimate + z * se, 0.0, 1.0),
                              kBwcCiMethod);
  }
  json two_way = b.both.to_json(estimate, conf, kTwoWayMethod);
  two_way.erase("estimate");
  const size_t replicates = std::min({b.both.finite().size(), b.readers.finite().size(), b.cases.finite().size()});
  return {{"estimate", stats::json_number(estimate)},
          {"se", stats::json_number(se)},
          {"method", kBwcMethod},
          {"replicates", replicates},
          {"ci", ci},
          {"components",
           {{"v_readers", stats::json_number(c.v_readers)},
            {"v_cases", stats::json_number(c.v_cases)},
            {"v_both", stats::json_number(c.v_both)},
            {"v_interaction", stats::json_number(c.v_both - c.v_readers - c.v_cases)},
            {"v_combined", stats::json_number(c.v_combined)},
            {"truncated", c.truncated}}},
          {"two_way_percentile", two_way}};
}

// Pooled realness over the readers on the cases every reader answered, its variance with readers
// and cases both random by Beiden, Wagner & Campbell's three bootstraps (components_of_variance).
// Replicate b of each bootstrap draws from its own stream at index b:
//   two-way: stream_rng(seed, kReaderBootstrap, b): the R readers, then the cases within origin;
//   readers only: stream_rng(seed, kReaderBootstrapReaders, b): the R readers;
//   cases only: stream_rng(seed, kReaderBootstrapCases, b): the cases within origin
// (readers with replacement, rng.below(R) each; cases by resample_cases).
// The two-way bootstrap alone counts the reader x case interaction three times (1.5 times the
// true SE with pure-noise answers, 4 readers x 40 cases); its percentile interval stays in the
// report as two_way_percentile.
// Ref: B. Efron, R. J. Tibshirani, An Introduction to the Bootstrap, Chapman & Hall, 1993
//      (bootstrap SE, ch. 6; percentile interval, ch. 13); Beiden, Wagner & Campbell 2000 (above).
json realness_pooled_json(const Table& t, const ReportConfig& cfg, const std::vector<size_t>& complete) {
  std::vector<size_t> real, syn;
  json out = pooled_head(t, complete, real, syn);
  if (out.contains("error")) return out;
  const Cells cells = make_cells(t, complete);
  const size_t n_readers = t.readers.size();
  std::vector<size_t> all_readers(n_readers);
  for (size_t r = 0; r < n_readers; ++r) all_readers[r] = r;
  // Each reader's statistics on the complete cases: the readers-only bootstrap reweights these.
  std::vector<Statistics> on_complete(n_readers);
  for (size_t r = 0; r < n_readers; ++r) on_complete[r] = reader_statistics(t, cells, r, complete);
  auto draw_readers = [&](Rng& rng) {
    std::vector<size_t> readers(n_readers);
    for (size_t& r : readers) r = rng.below(n_readers);
    return readers;
  };
  std::vector<ThreeBootstraps> reps(kStatistics);
  for (int b = 0; b < cfg.bootstrap; ++b) {
    const uint64_t index = static_cast<uint64_t>(b);
    Rng both_rng = stream_rng(cfg.seed, RandomStream::kReaderBootstrap, index);
    const std::vector<size_t> both_readers = draw_readers(both_rng);
    const Statistics both = reader_mean(t, cells, both_readers, resample_cases(real, syn, both_rng));
    Rng readers_rng = stream_rng(cfg.seed, RandomStream::kReaderBootstrapReaders, index);
    Statistics readers_only{};
    for (size_t r : draw_readers(readers_rng))
      for (size_t s = 0; s < kStatistics; ++s) readers_only[s] += on_complete[r][s] / static_cast<double>(n_readers);
    Rng cases_rng = stream_rng(cfg.seed, RandomStream::kReaderBootstrapCases, index);
    const Statistics cases_only = reader_mean(t, cells, all_readers, resample_cases(real, syn, cases_rng));
    for (size_t s = 0; s < kStatistics; ++s) {
      reps[s].both.values.push_back(both[s]);
      reps[s].readers.values.push_back(readers_only[s]);
      reps[s].cases.values.push_back(cases_only[s]);
    }
  }
  const Statistics estimate = reader_mean(t, cells, all_readers, complete);
  for (size_t s = 0; s < kStatistics; ++s)
    out[kStatisticNames[s]] = pooled_statistic_json(estimate[s], reps[s], cfg.conf_level);
  // z-TOST on the normal approximation with the corrected SE: z = (estimate - bound) / SE.
  const double est = estimate[0];
  const double se = std::sqrt(components_of_variance(reps[0]).variance);
  const double lo = 0.5 - t.margin, hi = 0.5 + t.margin;
  double p_low, p_high;
  if (se > 0) {
    p_low = stats::normal_sf((est - lo) / se);
    p_high = stats::normal_cdf((est - hi) / se);
  } else {  // no spread: the estimate is the whole distribution
    p_low = est > lo ? 0.0 : 1.0;
    p_high = est < hi ? 0.0 : 1.0;
  }
  out["equivalence"] =
      equivalence_json("z-TOST on the reader x case components-of-variance SE", t.margin, p_low, p_high);
  out["equivalence"]["se"] = stats::json_number(se);
  out["bootstrap"] = {
      {"replicates", cfg.bootstrap},
      {"seed", cfg.seed},
      {"rng",
       "xoshiro256**, index = replicate; streams kReaderBootstrap (51, two-way), kReaderBootstrapReaders (54, readers "
       "only), kReaderBootstrapCases (55, cases only)"},
      {"resampling",
       "three bootstraps (Beiden, Wagner & Campbell 2000): readers and cases within origin together; readers only "
       "(cases fixed); cases within origin only (readers fixed); all with replacement"}};
  return out;
}

// ---- realness agreement -------------------------------------------------------------------------

json agreement_json(const Table& t, const std::vector<size_t>& complete, double conf) {
  json out = {{"complete_cases", complete.size()}};
  std::vector<std::vector<std::string>> rows;
  for (size_t c : complete) {
    std::vector<std::string> row;
    for (size_t r = 0; r < t.readers.size(); ++r) row.push_back(t.at[r][c]->call);
    rows.push_back(std::move(row));
  }
  const std::string where = "the calls on the cases every reader answered";
  if (t.readers.size() < 2) {
    out["fleiss"] = error_json("agreement needs 2 readers or more");
    out["all_agree"] = nullptr;
  } else if (complete.empty()) {
    out["fleiss"] = error_json("no case was answered by every reader");
    out["all_agree"] = nullptr;
  } else {
    out["fleiss"] = or_error([&] { return stats::to_json(stats::fleiss_kappa(rows, where)); });
    out["all_agree"] = stats::to_json(stats::percent_agreement(rows, conf, where));
  }
  out["cohen"] = json::array();
  for (size_t a = 0; a < t.readers.size(); ++a)
    for (size_t b = a + 1; b < t.readers.size(); ++b) {
      std::vector<std::string> x, y;
      for (const auto& row : rows) {
        x.push_back(row[a]);
        y.push_back(row[b]);
      }
      json k = {{"reader1", t.readers[a]}, {"reader2", t.readers[b]}};
      k.update(complete.empty() ? error_json("no case was answered by every reader")
                                : or_error([&] { return stats::to_json(stats::cohen_kappa(x, y, "none", where)); }));
      out["cohen"].push_back(std::move(k));
    }
  return out;
}

// ---- diagnosis ----------------------------------------------------------------------------------

// A reader's metastasis and grade answers against the labels, on the cases of one origin that
// the reader answered and that carry the label.
json diagnosis_origin_json(const Table& t, size_t r, bool synthetic, double conf) {
  std::vector<std::string> mets_call, mets_label, grade_call, grade_label;
  size_t tp = 0, pos = 0, tn = 0, neg = 0;
  for (size_t c = 0; c < t.cases.size(); ++c) {
    const Answer* a = t.at[r][c];
    if (t.synthetic[c] != synthetic || !a) continue;
    const Labels& l = t.cases[c]->labels;
    if (a->metastasis && l.metastasis) {
      mets_call.push_back(std::to_string(*a->metastasis));
      mets_label.push_back(std::to_string(*l.metastasis));
      if (*l.metastasis == 1)
        ++pos, tp += *a->metastasis == 1;
      else
        ++neg, tn += *a->metastasis == 0;
    }
    if (a->grade && l.cardiac_grade) {
      grade_call.push_back(std::to_string(*a->grade));
      grade_label.push_back(std::to_string(*l.cardiac_grade));
    }
  }
  const std::string where = fmt::format("reader {}, {} cases", t.readers[r], synthetic ? "synthetic" : "real");
  auto kappa = [&](const std::vector<std::string>& x, const std::vector<std::string>& y, const char* w) {
    if (x.empty()) return error_json("no answered case with a label");
    return or_error([&] { return stats::to_json(stats::cohen_kappa(x, y, w, where)); });
  };
  auto accuracy = [&](const std::vector<std::string>& x, const std::vector<std::string>& y) {
    if (x.empty()) return stats::to_json(stats::wilson_interval(0, 0, conf));
    return stats::to_json(stats::accuracy(x, y, conf, where));
  };
  return {{"metastasis",
           {{"n", mets_call.size()},
            {"accuracy", accuracy(mets_call, mets_label)},
            {"sensitivity", stats::to_json(stats::wilson_interval(tp, pos, conf))},
            {"specificity", stats::to_json(stats::wilson_interval(tn, neg, conf))},
            {"kappa", kappa(mets_call, mets_label, "none")}}},
          {"grade",
           {{"n", grade_call.size()},
            {"accuracy", accuracy(grade_call, grade_label)},
            {"kappa", kappa(grade_call, grade_label, "quadratic")}}}};
}

// Mean over the readers of the share of the cases (with multiplicity) on which the answer
// matches the label; NaN when no case carries the label.
double diagnosis_accuracy(const Table& t, const std::vector<size_t>& cases, bool grade) {
  double s = 0.0;
  size_t m = 0;
  for (size_t c : cases) {
    const Labels& l = t.cases[c]->labels;
    const std::optional<int> truth = grade ? l.cardiac_grade : l.metastasis;
    if (!truth) continue;
    ++m;
    for (size_t r = 0; r < t.readers.size(); ++r) {
      const Answer* a = t.at[r][c];
      const std::optional<int> call = grade ? a->grade : a->metastasis;
      s += call && *call == *truth;
    }
  }
  return m ? s / static_cast<double>(m * t.readers.size()) : nan();
}

// Pooled over the readers on the cases every reader answered: per origin the metastasis and
// grade accuracy, and real - synthetic, each with a case bootstrap (cases resampled within
// origin, readers fixed; replicate b from stream_rng(seed, kReaderBootstrap, 2^32 + b)).
json diagnosis_pooled_json(const Table& t, const ReportConfig& cfg, const std::vector<size_t>& complete) {
  std::vector<size_t> real, syn;
  json out = pooled_head(t, complete, real, syn);
  if (out.contains("error")) return out;
  // per label (metastasis, grade): real, synthetic, difference
  Replicates reps[2][3];
  for (int b = 0; b < cfg.bootstrap; ++b) {
    Rng rng = stream_rng(cfg.seed, RandomStream::kReaderBootstrap, kDiagnosisIndexBase + static_cast<uint64_t>(b));
    const std::vector<size_t> cases = resample_cases(real, syn, rng);
    const std::vector<size_t> r_cases(cases.begin(), cases.begin() + static_cast<std::ptrdiff_t>(real.size()));
    const std::vector<size_t> s_cases(cases.begin() + static_cast<std::ptrdiff_t>(real.size()), cases.end());
    for (int g = 0; g < 2; ++g) {
      const double ar = diagnosis_accuracy(t, r_cases, g == 1), as = diagnosis_accuracy(t, s_cases, g == 1);
      reps[g][0].values.push_back(ar);
      reps[g][1].values.push_back(as);
      reps[g][2].values.push_back(ar - as);
    }
  }
  const char* const method = "case bootstrap percentile";
  for (int g = 0; g < 2; ++g) {
    const double ar = diagnosis_accuracy(t, real, g == 1), as = diagnosis_accuracy(t, syn, g == 1);
    json& o = out[g ? "grade_accuracy" : "metastasis_accuracy"];
    if (!std::isfinite(ar) || !std::isfinite(as)) {
      o = error_json("the cases of an origin carry no such label");
      continue;
    }
    o["real"] = reps[g][0].to_json(ar, cfg.conf_level, method);
    o["synthetic"] = reps[g][1].to_json(as, cfg.conf_level, method);
    o["difference"] = reps[g][2].to_json(ar - as, cfg.conf_level, method);
  }
  out["bootstrap"] = {{"replicates", cfg.bootstrap},
                      {"seed", cfg.seed},
                      {"rng", "xoshiro256**, stream kReaderBootstrap (51), index = 2^32 + replicate"},
                      {"resampling", "cases within origin, with replacement; readers fixed"}};
  return out;
}

// ---- missing answers ----------------------------------------------------------------------------

json missing_json(const Table& t) {
  json readers = json::array();
  for (size_t r = 0; r < t.readers.size(); ++r) {
    json ids = json::array();
    for (size_t c = 0; c < t.cases.size(); ++c)
      if (!t.at[r][c]) ids.push_back(t.cases[c]->case_id);
    readers.push_back({{"reader", t.readers[r]}, {"answered", t.cases.size() - ids.size()}, {"missing", ids}});
  }
  return {{"n", t.cases.size()}, {"readers", readers}};
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

void ReportConfig::validate() const {
  if (study.empty()) throw ConfigError("STUDY", "is required", "the study folder made by scintigen reader create");
  if (out.empty()) throw ConfigError("--out", "is required", "the report folder to create");
  if (bootstrap < 100)
    throw ConfigError("--bootstrap", fmt::format("{} is below 100", bootstrap),
                      "the percentile intervals need enough replicates; the default is 2000");
  if (!(conf_level > 0 && conf_level < 1)) throw ConfigError("--conf-level", "must lie strictly between 0 and 1");
}

json ReportConfig::to_json() const {
  return {{"study", study},         {"out", out},   {"export_csv", export_csv},
          {"bootstrap", bootstrap}, {"seed", seed}, {"conf_level", conf_level}};
}

json analyse_study(const StudyData& data, const ReportConfig& config) {
  config.validate();
  const Table t = make_table(data);
  const double conf = config.conf_level;
  json report = {{"format", kReportFormat}, {"format_version", kReportFormatVersion}, {"config", config.to_json()}};
  report["study"] = {{"meta", data.meta},
                     {"n", t.cases.size()},
                     {"readers", t.readers},
                     {"task", t.task},
                     {"margin", t.realness ? json(t.margin) : json(nullptr)}};
  if (t.realness) {
    json readers = json::array();
    for (size_t r = 0; r < t.readers.size(); ++r) readers.push_back(realness_reader_json(t, r, conf));
    const std::vector<size_t> complete = complete_cases(t, answered_realness);
    report["realness"] = {{"readers", readers},
                          {"pooled", realness_pooled_json(t, config, complete)},
                          {"agreement", agreement_json(t, complete, conf)}};
  } else {
    report["realness"] = nullptr;
  }
  if (t.diagnosis) {
    json readers = json::array();
    for (size_t r = 0; r < t.readers.size(); ++r) {
      size_t n = 0;
      for (const Answer* a : t.at[r]) n += answered_diagnosis(a);
      readers.push_back({{"reader", t.readers[r]},
                         {"answered", n},
                         {"real", diagnosis_origin_json(t, r, false, conf)},
                         {"synthetic", diagnosis_origin_json(t, r, true, conf)}});
    }
    report["diagnosis"] = {{"readers", readers},
                           {"pooled", diagnosis_pooled_json(t, config, complete_cases(t, answered_diagnosis))}};
  } else {
    report["diagnosis"] = nullptr;
  }
  report["missing"] = missing_json(t);
  report["versions"] = core_versions();
  return report;
}

std::string answers_csv(const StudyData& data, bool complete_only) {
  std::map<std::string, size_t> reader_index;
  std::string h = "case,truth";
  for (size_t r = 0; r < data.readers.size(); ++r) {
    reader_index[data.readers[r].name] = r;
    h += "," + csv_cell(data.readers[r].name);
  }
  std::map<std::string, std::vector<std::string>> calls;
  for (const StudyCase& c : data.cases) calls[c.case_id].assign(data.readers.size(), "");
  for (const Answer& a : data.answers) {
    const auto r = reader_index.find(a.reader);
    const auto c = calls.find(a.case_id);
    if (r != reader_index.end() && c != calls.end()) c->second[r->second] = a.call;
  }
  h += "\n";
  for (const StudyCase& c : data.cases) {
    const auto& row = calls[c.case_id];
    if (complete_only && std::find(row.begin(), row.end(), "") != row.end()) continue;
    h += csv_cell(c.case_id) + "," + csv_cell(c.origin);
    for (const auto& call : calls[c.case_id]) h += "," + csv_cell(call);
    h += "\n";
  }
  return h;
}

json run_report(const ReportConfig& config, EventSink* sink) {
  config.validate();
  std::error_code ec;
  if (fs::exists(config.out, ec) && !(fs::is_directory(config.out, ec) && fs::is_empty(config.out, ec)))
    throw InputError(config.out, "exists and is not an empty folder", "choose a new --out folder");
  StudyData data = StudyStore::open(config.study).snapshot();
  note(sink, fmt::format("{}: {} cases, {} readers, {} answers", config.study, data.cases.size(), data.readers.size(),
                         data.answers.size()));
  json report = analyse_study(data, config);
  fs::create_directories(config.out, ec);
  if (ec || !fs::is_directory(config.out))
    throw InputError(config.out, fmt::format("cannot create the folder: {}", ec ? ec.message() : "a part is a file"),
                     "check that the path is writable and no part of it is a file");
  write_file_atomic((fs::path(config.out) / "report.json").string(), report.dump(2) + "\n");
  if (config.export_csv && report["realness"].is_object())
    write_file_atomic((fs::path(config.out) / "answers.csv").string(), answers_csv(data));
  note(sink, fmt::format("wrote {}", (fs::path(config.out) / "report.json").string()));
  return report;
}

}  // namespace scintigen::reader
