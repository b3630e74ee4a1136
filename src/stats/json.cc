#include "stats/json.h"

#include <cmath>
#include <limits>

namespace scintigen::stats {

using json = nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A number written by json_number: NaN for null.
double number(const json& j, const char* key) {
  const json& v = j.at(key);
  return v.is_null() ? kNaN : v.get<double>();
}

std::optional<double> optional_number(const json& v) {
  return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
}

// Reads an interval written by interval_json; a null interval keeps `level` and unsets the limits.
void read_ci(const json& ci, double& level, std::optional<double>& lower, std::optional<double>& upper) {
  lower = upper = std::nullopt;
  if (ci.is_null()) return;
  level = ci.at("level").get<double>();
  lower = optional_number(ci.at("lower"));
  upper = optional_number(ci.at("upper"));
}

// The same for results whose limits are doubles: NaN when unset.
void read_ci(const json& ci, double& level, double& lower, double& upper) {
  std::optional<double> lo, hi;
  read_ci(ci, level, lo, hi);
  lower = lo.value_or(kNaN);
  upper = hi.value_or(kNaN);
}

std::optional<double> finite(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

}  // namespace

json json_number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json json_number(const std::optional<double>& v) {
  return v ? json_number(*v) : json(nullptr);
}

json interval_json(double level, const std::optional<double>& lower, const std::optional<double>& upper,
                   const char* method) {
  const json lo = json_number(lower), hi = json_number(upper);
  if (lo.is_null() && hi.is_null()) return nullptr;
  return {{"level", level}, {"lower", lo}, {"upper", hi}, {"method", method}};
}

json to_json(const Proportion& p) {
  return {{"estimate", json_number(p.estimate)},
          {"successes", p.successes},
          {"trials", p.trials},
          {"ci", interval_json(p.conf_level, p.lower, p.upper, "wilson")}};
}

Proportion proportion_from_json(const json& j) {
  Proportion p;
  p.successes = j.at("successes").get<size_t>();
  p.trials = j.at("trials").get<size_t>();
  p.estimate = optional_number(j.at("estimate"));
  read_ci(j.at("ci"), p.conf_level, p.lower, p.upper);
  return p;
}

json to_json(const AucResult& a) {
  return {{"estimate", a.auc},
          {"se", json_number(a.se)},
          {"variance", json_number(a.variance)},
          {"positives", a.positives},
          {"negatives", a.negatives},
          {"ci", interval_json(a.conf_level, finite(a.ci_lower), finite(a.ci_upper), "delong")}};
}

AucResult auc_from_json(const json& j) {
  AucResult a;
  a.auc = j.at("estimate").get<double>();
  a.se = number(j, "se");
  a.variance = number(j, "variance");
  a.positives = j.at("positives").get<size_t>();
  a.negatives = j.at("negatives").get<size_t>();
  read_ci(j.at("ci"), a.conf_level, a.ci_lower, a.ci_upper);
  return a;
}

json to_json(const BootstrapCi& b) {
  return {{"replicates", b.replicates},
          {"seed", b.seed},
          {"rng", "std::mt19937_64"},
          {"mean", json_number(b.mean)},
          {"sd", json_number(b.sd)},
          {"ci", interval_json(b.conf_level, b.lower, b.upper, "stratified percentile bootstrap")}};
}

json to_json(const ThresholdMetrics& m) {
  return {{"threshold", json_number(m.threshold)},
          {"tp", m.tp},
          {"fp", m.fp},
          {"tn", m.tn},
          {"fn", m.fn},
          {"youden_j", json_number(m.youden)},
          {"sensitivity", to_json(m.sensitivity)},
          {"specificity", to_json(m.specificity)},
          {"ppv", to_json(m.ppv)},
          {"npv", to_json(m.npv)}};
}

ThresholdMetrics threshold_metrics_from_json(const json& j) {
  ThresholdMetrics m;
  m.threshold = number(j, "threshold");
  m.tp = j.at("tp").get<size_t>();
  m.fp = j.at("fp").get<size_t>();
  m.tn = j.at("tn").get<size_t>();
  m.fn = j.at("fn").get<size_t>();
  m.youden = number(j, "youden_j");
  m.sensitivity = proportion_from_json(j.at("sensitivity"));
  m.specificity = proportion_from_json(j.at("specificity"));
  m.ppv = proportion_from_json(j.at("ppv"));
  m.npv = proportion_from_json(j.at("npv"));
  return m;
}

json to_json(const DelongTest& t) {
  return {{"method", t.paired ? "DeLong paired z test" : "DeLong unpaired t test (Welch df)"},
          {"paired", t.paired},
          {"auc1", t.auc1},
          {"auc2", t.auc2},
          {"estimate", t.difference},
          {"se", json_number(t.se)},
          {"statistic", json_number(t.z)},
          {"df", t.paired ? json(nullptr) : json_number(t.df)},
          {"p_value", json_number(t.p_value)},
          {"covariance", json_number(t.covariance)},
          {"ci", t.paired ? interval_json(t.conf_level, t.ci_lower, t.ci_upper, "delong") : json(nullptr)}};
}

DelongTest delong_test_from_json(const json& j) {
  DelongTest t;
  t.paired = j.at("paired").get<bool>();
  t.auc1 = j.at("auc1").get<double>();
  t.auc2 = j.at("auc2").get<double>();
  t.difference = j.at("estimate").get<double>();
  t.se = number(j, "se");
  t.z = number(j, "statistic");
  t.df = t.paired ? 0.0 : number(j, "df");
  t.p_value = number(j, "p_value");
  t.covariance = number(j, "covariance");
  read_ci(j.at("ci"), t.conf_level, t.ci_lower, t.ci_upper);
  return t;
}

json to_json(const KaplanMeier& km) {
  json rows = json::array();
  for (const auto& r : km.rows)
    rows.push_back({{"time", r.time},
                    {"n_risk", r.n_risk},
                    {"n_event", r.n_event},
                    {"n_censor", r.n_censor},
                    {"estimate", r.survival},
                    {"se", json_number(r.std_err)},
                    {"ci", interval_json(km.conf_level, r.lower, r.upper, "log")}});
  return {{"n", km.n},
          {"events", km.events},
          {"median",
           {{"estimate", json_number(km.median.median)},
            {"ci", interval_json(km.conf_level, km.median.lower, km.median.upper, "brookmeyer-crowley")}}},
          {"curve", rows}};
}

KaplanMeier kaplan_meier_from_json(const json& j) {
  KaplanMeier km;
  km.n = j.at("n").get<size_t>();
  km.events = j.at("events").get<size_t>();
  const json& median = j.at("median");
  km.median.median = optional_number(median.at("estimate"));
  read_ci(median.at("ci"), km.conf_level, km.median.lower, km.median.upper);
  for (const auto& r : j.at("curve")) {
    KmRow row;
    row.time = r.at("time").get<double>();
    row.n_risk = r.at("n_risk").get<size_t>();
    row.n_event = r.at("n_event").get<size_t>();
    row.n_censor = r.at("n_censor").get<size_t>();
    row.survival = r.at("estimate").get<double>();
    row.std_err = optional_number(r.at("se"));
    read_ci(r.at("ci"), km.conf_level, row.lower, row.upper);
    km.rows.push_back(row);
  }
  return km;
}

json to_json(const LogRank& lr) {
  return {{"groups", lr.groups},         {"n", lr.n},   {"observed", lr.observed},           {"expected", lr.expected},
          {"chi_square", lr.chi_square}, {"df", lr.df}, {"p_value", json_number(lr.p_value)}};
}

LogRank log_rank_from_json(const json& j) {
  LogRank lr;
  lr.groups = j.at("groups").get<std::vector<std::string>>();
  lr.n = j.at("n").get<std::vector<size_t>>();
  lr.observed = j.at("observed").get<std::vector<double>>();
  lr.expected = j.at("expected").get<std::vector<double>>();
  lr.chi_square = j.at("chi_square").get<double>();
  lr.df = j.at("df").get<int>();
  lr.p_value = number(j, "p_value");
  return lr;
}

json to_json(const CoxModel& m) {
  json terms = json::array();
  for (size_t k = 0; k < m.names.size(); ++k)
    terms.push_back({{"name", m.names[k]},
                     {"beta", m.beta[k]},
                     {"se", json_number(m.se[k])},
                     {"z", json_number(m.z[k])},
                     {"p_value", json_number(m.p_value[k])},
                     {"hazard_ratio",
                      {{"estimate", json_number(m.hazard_ratio[k])},
                       {"ci", interval_json(m.conf_level, m.hr_lower[k], m.hr_upper[k], "wald")}}}});
  return {{"ties", "efron"},
          {"n", m.n},
          {"events", m.events},
          {"terms", terms},
          {"loglik_null", m.loglik_null},
          {"loglik", m.loglik},
          {"lr_chi_square", m.lr_chi_square},
          {"lr_df", m.lr_df},
          {"lr_p_value", json_number(m.lr_p_value)},
          {"iterations", m.iterations}};
}

json to_json(const FleissKappa& f) {
  return {{"estimate", f.kappa},
          {"se", json_number(f.se)},
          {"z", json_number(f.z)},
          {"p_value", json_number(f.p_value)},
          {"subjects", f.subjects},
          {"raters", f.raters},
          {"categories", f.categories},
          {"proportions", f.proportions},
          {"observed_agreement", f.observed_agreement},
          {"expected_agreement", f.expected_agreement}};
}

json to_json(const CohenKappa& c) {
  return {{"estimate", json_number(c.kappa)},
          {"weights", c.weights},
          {"subjects", c.subjects},
          {"observed_agreement", c.observed_agreement},
          {"expected_agreement", c.expected_agreement}};
}

}  // namespace scintigen::stats
