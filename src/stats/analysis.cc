#include "stats/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <set>

#include "core/error.h"
#include "stats/json.h"

namespace scintigen::stats {

using nlohmann::json;

namespace {

// Every analysis needs a header and at least one case.
void require_rows(const CsvTable& t) {
  if (t.header.empty()) throw InputError(t.path, "the file is empty", "the first line names the columns");
  if (t.rows.empty()) throw InputError(t.path, "no data rows below the header", "give one row per case");
}

const std::string& cell(const CsvTable& t, size_t row, size_t col) {
  return t.rows[row].cells[col];
}

double parse_number(const CsvTable& t, size_t row, size_t col) {
  const std::string& s = cell(t, row, col);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
    throw InputError(t.where(row), fmt::format("column '{}' holds '{}', not a finite number", t.header[col], s),
                     "missing or NaN values are not allowed; drop the row or fill the value");
  return v;
}

int parse_binary(const CsvTable& t, size_t row, size_t col, const char* meaning) {
  const std::string& s = cell(t, row, col);
  if (s == "0" || s == "1") return s == "1";
  throw InputError(t.where(row), fmt::format("column '{}' holds '{}', not 0 or 1", t.header[col], s), meaning);
}

std::vector<double> number_column(const CsvTable& t, const std::string& name, const std::string& flag) {
  const size_t col = t.column(name, flag);
  std::vector<double> v(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) v[r] = parse_number(t, r, col);
  return v;
}

std::vector<int> label_column(const CsvTable& t, const std::string& name) {
  const size_t col = t.column(name, "--label-col");
  std::vector<int> v(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r)
    v[r] = parse_binary(t, r, col, "labels must be 1 (positive) or 0 (negative)");
  return v;
}

// A column of names (groups, ratings) in which no cell may be empty.
std::vector<std::string> text_column(const CsvTable& t, size_t col, const std::string& empty_reason, const char* hint) {
  std::vector<std::string> v(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    v[r] = cell(t, r, col);
    if (v[r].empty()) throw InputError(t.where(r), empty_reason, hint);
  }
  return v;
}

std::string na_or(const std::optional<double>& v) {
  return v ? fmt::format("{:.17g}", *v) : "NA";
}

}  // namespace

AucResult auc_with_delong_ci(const std::vector<int>& labels, const std::vector<double>& scores, double conf_level,
                             const std::string& where) {
  const size_t positives = static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
  const size_t negatives = labels.size() - positives;
  if (positives >= 2 && negatives >= 2) return delong_auc(labels, scores, conf_level, where);
  AucResult a;
  a.positives = positives;
  a.negatives = negatives;
  a.conf_level = conf_level;
  a.auc = auc(labels, scores, where);
  a.variance = a.se = a.ci_lower = a.ci_upper = std::numeric_limits<double>::quiet_NaN();
  return a;
}

AucAnalysis analyse_auc(const CsvTable& t, const AucOptions& o) {
  two_sided_z(o.conf_level);  // validates it before any cell is read
  require_rows(t);
  const std::vector<int> y = label_column(t, o.label_col);
  const std::vector<double> s = number_column(t, o.score_col, "--score-col");
  AucAnalysis a;
  a.input = t.path;
  a.label_col = o.label_col;
  a.score_col = o.score_col;
  a.auc = auc_with_delong_ci(y, s, o.conf_level, t.path);
  if (o.bootstrap > 0) a.bootstrap = bootstrap_auc_ci(y, s, o.bootstrap, o.seed, o.conf_level, t.path);
  a.youden = youden_metrics(y, s, o.conf_level, t.path);
  if (o.threshold) a.at_threshold = threshold_metrics(y, s, *o.threshold, o.conf_level, t.path);
  if (o.roc) a.roc = roc_curve(y, s, t.path);
  return a;
}

CompareAnalysis compare_paired(const CsvTable& t, const std::string& label_col, const std::string& score_col1,
                               const std::string& score_col2, double conf_level) {
  two_sided_z(conf_level);
  require_rows(t);
  const std::vector<int> y = label_column(t, label_col);
  const std::vector<double> s1 = number_column(t, score_col1, "--score-cols"),
                            s2 = number_column(t, score_col2, "--score-cols");
  CompareAnalysis c;
  c.inputs = {t.path};
  c.test = delong_test_paired(y, s1, s2, conf_level, t.path);
  c.first = {score_col1, auc_with_delong_ci(y, s1, conf_level, t.path + " (" + score_col1 + ")")};
  c.second = {score_col2, auc_with_delong_ci(y, s2, conf_level, t.path + " (" + score_col2 + ")")};
  return c;
}

CompareAnalysis compare_unpaired(const CsvTable& t1, const CsvTable& t2, const std::string& label_col,
                                 const std::string& score_col, double conf_level) {
  two_sided_z(conf_level);
  require_rows(t1);
  require_rows(t2);
  const std::vector<int> y1 = label_column(t1, label_col), y2 = label_column(t2, label_col);
  const std::vector<double> s1 = number_column(t1, score_col, "--score-col"),
                            s2 = number_column(t2, score_col, "--score-col");
  CompareAnalysis c;
  c.inputs = {t1.path, t2.path};
  c.test = delong_test_unpaired(y1, s1, y2, s2, t1.path, t2.path);
  c.first = {t1.path, auc_with_delong_ci(y1, s1, conf_level, t1.path)};
  c.second = {t2.path, auc_with_delong_ci(y2, s2, conf_level, t2.path)};
  return c;
}

SurvivalAnalysis analyse_survival(const CsvTable& t, const SurvivalOptions& o) {
  two_sided_z(o.conf_level);
  require_rows(t);
  const size_t tc = t.column(o.time_col, "--time-col"), ec = t.column(o.event_col, "--event-col");
  SurvivalData all;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double time = parse_number(t, r, tc);
    if (time < 0)
      throw InputError(t.where(r), fmt::format("column '{}' holds negative time {}", o.time_col, cell(t, r, tc)),
                       "times are durations from the scan to the event or censoring, >= 0");
    all.time.push_back(time);
    all.event.push_back(parse_binary(t, r, ec, "events must be 1 (event) or 0 (censored)"));
  }
  std::vector<std::string> group;
  if (!o.group_col.empty())
    group = text_column(t, t.column(o.group_col, "--group-col"), fmt::format("column '{}' is empty", o.group_col),
                        "every subject needs a group");
  const std::set<std::string> names(group.begin(), group.end());

  SurvivalAnalysis s;
  s.input = t.path;
  s.conf_level = o.conf_level;
  s.subjects = all.time.size();
  if (group.empty()) s.groups.push_back({"all", kaplan_meier(all, o.conf_level, t.path)});
  for (const auto& name : names) {
    SurvivalData d;
    for (size_t i = 0; i < group.size(); ++i)
      if (group[i] == name) d.time.push_back(all.time[i]), d.event.push_back(all.event[i]);
    s.groups.push_back({name, kaplan_meier(d, o.conf_level, t.path + " (group " + name + ")")});
  }
  if (names.size() >= 2) s.log_rank = log_rank_test(all, group, t.path);

  // Cox covariates: the group as 0/1 indicators against the first name, then numeric columns.
  std::vector<std::vector<double>> covariates;
  std::vector<std::string> covariate_names;
  if (names.size() >= 2) {
    s.reference_group = *names.begin();
    for (auto it = std::next(names.begin()); it != names.end(); ++it) {
      std::vector<double> v(group.size());
      for (size_t i = 0; i < group.size(); ++i) v[i] = group[i] == *it;
      covariates.push_back(std::move(v));
      covariate_names.push_back(o.group_col + "=" + *it);
    }
  }
  for (const auto& c : o.covariates) {
    covariates.push_back(number_column(t, c, "--covariates"));
    covariate_names.push_back(c);
  }
  if (o.cox && !covariates.empty()) {
    try {
      s.cox = cox_ph(all, covariates, covariate_names, o.conf_level, t.path);
    } catch (const InputError& e) {
      s.cox_error = e.describe();
    }
  }
  return s;
}

AgreementAnalysis analyse_agreement(const CsvTable& t, const AgreementOptions& o) {
  two_sided_z(o.conf_level);
  require_rows(t);
  AgreementAnalysis a;
  a.input = t.path;
  a.raters = o.raters;
  if (a.raters.empty())
    for (const auto& h : t.header)
      if (h != o.id_col && h != o.truth_col) a.raters.push_back(h);
  if (!o.id_col.empty()) t.column(o.id_col, "--id-col");
  std::vector<size_t> cols;
  for (const auto& r : a.raters) cols.push_back(t.column(r, "--raters"));
  if (cols.size() < 2)
    throw InputError(t.path, fmt::format("fewer than 2 raters ({})", cols.size()),
                     "agreement needs at least 2 rater columns");
  std::vector<std::vector<std::string>> by_rater;  // raters x subjects
  for (size_t k = 0; k < cols.size(); ++k)
    by_rater.push_back(text_column(t, cols[k], fmt::format("rater '{}' gave no rating", a.raters[k]),
                                   "missing ratings are not supported; drop the subject or the rater"));
  std::vector<std::vector<std::string>> ratings(t.rows.size());  // subjects x raters
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (const auto& column : by_rater) ratings[r].push_back(column[r]);
  a.fleiss = fleiss_kappa(ratings, t.path);
  a.all_agree = percent_agreement(ratings, o.conf_level, t.path);
  for (size_t i = 0; i < cols.size(); ++i)
    for (size_t j = i + 1; j < cols.size(); ++j)
      a.cohen.push_back({a.raters[i], a.raters[j], cohen_kappa(by_rater[i], by_rater[j], o.weights, t.path)});
  if (!o.truth_col.empty()) {
    const std::vector<std::string> truth =
        text_column(t, t.column(o.truth_col, "--truth"), fmt::format("column '{}' is empty", o.truth_col),
                    "every subject needs a reference label");
    for (const auto& column : by_rater) a.accuracy.push_back(accuracy(column, truth, o.conf_level, t.path));
  }
  return a;
}

json to_json(const AucAnalysis& a) {
  json j = {{"command", "auc"},         {"input", a.input},      {"label_col", a.label_col},
            {"score_col", a.score_col}, {"auc", to_json(a.auc)}, {"youden", to_json(a.youden)}};
  if (a.bootstrap) j["bootstrap"] = to_json(*a.bootstrap);
  if (a.at_threshold) j["threshold"] = to_json(*a.at_threshold);
  return j;
}

json to_json(const CompareAnalysis& c) {
  auto named = [](const NamedAuc& n) {
    json j = to_json(n.auc);
    j["name"] = n.name;
    return j;
  };
  return {{"command", "compare"},
          {"input", c.inputs.size() == 1 ? json(c.inputs[0]) : json(c.inputs)},
          {"auc1", named(c.first)},
          {"auc2", named(c.second)},
          {"test", to_json(c.test)}};
}

json to_json(const SurvivalAnalysis& s) {
  json j = {{"command", "survival"}, {"input", s.input}, {"conf_level", s.conf_level}, {"groups", json::array()}};
  for (const auto& g : s.groups) {
    json km = to_json(g.km);
    km["name"] = g.name;
    j["groups"].push_back(km);
  }
  if (s.log_rank) j["log_rank"] = to_json(*s.log_rank);
  if (s.cox) {
    j["cox"] = to_json(*s.cox);
    j["cox"]["reference_group"] = s.reference_group.empty() ? json(nullptr) : json(s.reference_group);
  } else if (!s.cox_error.empty()) {
    j["cox"] = {{"error", s.cox_error}};
  }
  return j;
}

json to_json(const AgreementAnalysis& a) {
  json j = {{"command", "agreement"},
            {"input", a.input},
            {"subjects", a.fleiss.subjects},
            {"raters", a.raters},
            {"categories", a.fleiss.categories},
            {"fleiss", to_json(a.fleiss)},
            {"percent_agreement", to_json(a.all_agree)},
            {"cohen", json::array()}};
  for (const auto& p : a.cohen) {
    json c = to_json(p.kappa);
    c["raters"] = {p.rater1, p.rater2};
    j["cohen"].push_back(c);
  }
  if (!a.accuracy.empty()) {
    j["accuracy"] = json::array();
    for (size_t k = 0; k < a.accuracy.size(); ++k) {
      json acc = to_json(a.accuracy[k]);
      acc["rater"] = a.raters[k];
      j["accuracy"].push_back(acc);
    }
  }
  return j;
}

std::string roc_csv(const RocCurve& curve) {
  std::string csv = "threshold,fpr,tpr,tp,fp\n";
  for (const auto& p : curve.points)
    csv += fmt::format("{},{:.17g},{:.17g},{},{}\n",
                       std::isinf(p.threshold) ? "inf" : fmt::format("{:.17g}", p.threshold), p.fpr, p.tpr, p.tp, p.fp);
  return csv;
}

std::string kaplan_meier_csv(const SurvivalAnalysis& s) {
  std::string csv = "group,time,n_risk,n_event,n_censor,survival,std_err,lower,upper\n";
  for (const auto& g : s.groups)
    for (const auto& r : g.km.rows)
      csv += fmt::format("{},{:.17g},{},{},{},{:.17g},{},{},{}\n", g.name, r.time, r.n_risk, r.n_event, r.n_censor,
                         r.survival, na_or(r.std_err), na_or(r.lower), na_or(r.upper));
  return csv;
}

}  // namespace scintigen::stats
