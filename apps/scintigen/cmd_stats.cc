// `scintigen stats auc | compare | survival | agreement`: CSV in, readable text or JSON out.
// The CSV formats are documented in docs/STATS.md and in each subcommand's --help.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "commands.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "pipeline/labels_csv.h"
#include "run_guard.h"
#include "stats/agreement.h"
#include "stats/json.h"
#include "stats/roc.h"
#include "stats/survival.h"

namespace scintigen::cli {

namespace {

using nlohmann::json;
namespace st = scintigen::stats;

// A CSV file with a header row: cells as text, with the line of every row for messages.
struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;

  size_t column(const std::string& name, const std::string& flag) const {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    std::string have;
    for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
    throw InputError(path, "no column '" + name + "'", "the columns are " + have + "; choose one with " + flag);
  }
  std::string where(size_t row) const { return path + ":" + std::to_string(lines[row]); }
};

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

CsvTable read_csv(const std::string& path) {
  const std::string text = read_file(path, 4ull << 30);
  CsvTable t;
  t.path = path;
  size_t pos = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    std::vector<std::string> cells = split_csv_record(line, where);
    for (auto& c : cells) c = trim(c);
    if (t.header.empty()) {
      t.header = std::move(cells);
      continue;
    }
    if (cells.size() != t.header.size())
      throw InputError(where, fmt::format("{} cells, the header has {}", cells.size(), t.header.size()),
                       "every row needs one cell per column");
    t.rows.push_back(std::move(cells));
    t.lines.push_back(line_no);
  }
  if (t.header.empty()) throw InputError(path, "the file is empty", "the first line names the columns");
  if (t.rows.empty()) throw InputError(path, "no data rows below the header", "give one row per case");
  return t;
}

double parse_double(const CsvTable& t, size_t row, size_t col) {
  const std::string& s = t.rows[row][col];
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
    throw InputError(t.where(row), fmt::format("column '{}' holds '{}', not a finite number", t.header[col], s),
                     "missing or NaN values are not allowed; drop the row or fill the value");
  return v;
}

int parse_binary(const CsvTable& t, size_t row, size_t col, const char* meaning) {
  const std::string& s = t.rows[row][col];
  if (s == "0" || s == "1") return s == "1";
  throw InputError(t.where(row), fmt::format("column '{}' holds '{}', not 0 or 1", t.header[col], s), meaning);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t b = 0;
  while (true) {
    const size_t e = s.find(',', b);
    out.push_back(trim(s.substr(b, e == std::string::npos ? std::string::npos : e - b)));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}



std::string proportion_text(const st::Proportion& p) {
  if (!p.estimate) return fmt::format("NA (0 of 0)");
  return fmt::format("{:.4f} ({}/{})  CI {:.4f}-{:.4f}", *p.estimate, p.successes, p.trials, *p.lower, *p.upper);
}

// ---- auc -------------------------------------------------------------------------------------

struct BinaryColumns {
  std::vector<int> labels;
  std::vector<std::vector<double>> scores;  // one per score column
};

BinaryColumns read_binary(const CsvTable& t, const std::string& label_col, const std::vector<std::string>& score_cols) {
  BinaryColumns b;
  const size_t lc = t.column(label_col, "--label-col");
  std::vector<size_t> sc;
  for (const auto& c : score_cols) sc.push_back(t.column(c, "--score-col"));
  b.labels.resize(t.rows.size());
  b.scores.assign(sc.size(), std::vector<double>(t.rows.size()));
  for (size_t r = 0; r < t.rows.size(); ++r) {
    b.labels[r] = parse_binary(t, r, lc, "labels must be 1 (positive) or 0 (negative)");
    for (size_t k = 0; k < sc.size(); ++k) b.scores[k][r] = parse_double(t, r, sc[k]);
  }
  return b;
}


void print_metrics(const char* title, const st::ThresholdMetrics& m) {
  std::printf("%s: score >= %g is positive (TP %zu, FP %zu, TN %zu, FN %zu; Youden J %.4f)\n", title, m.threshold, m.tp,
              m.fp, m.tn, m.fn, m.youden);
  std::printf("  sensitivity  %s\n", proportion_text(m.sensitivity).c_str());
  std::printf("  specificity  %s\n", proportion_text(m.specificity).c_str());
  std::printf("  PPV          %s\n", proportion_text(m.ppv).c_str());
  std::printf("  NPV          %s\n", proportion_text(m.npv).c_str());
}

// The AUC with DeLong CI when each class has 2 cases or more (else the CI is null, with a note).
json auc_json(const std::vector<int>& y, const std::vector<double>& s, double conf, const std::string& where,
              std::string* text) {
  json j;
  size_t pos = 0;
  for (int v : y) pos += v;
  const size_t neg = y.size() - pos;
  if (pos >= 2 && neg >= 2) {
    const st::AucResult a = st::delong_auc(y, s, conf, where);
    j = {{"cases", y.size()},
         {"positives", pos},
         {"negatives", neg},
         {"auc", a.auc},
         {"se", a.se},
         {"variance", a.variance},
         {"ci", {{"method", "delong"}, {"level", conf}, {"lower", a.ci_lower}, {"upper", a.ci_upper}}}};
    *text = fmt::format("AUC {:.4f}  {:g}% CI {:.4f}-{:.4f} (DeLong; SE {:.4f})", a.auc, conf * 100, a.ci_lower,
                        a.ci_upper, a.se);
  } else {
    const double a = st::auc(y, s, where);
    j = {{"cases", y.size()}, {"positives", pos},
         {"negatives", neg},  {"auc", a},
         {"se", nullptr},     {"variance", nullptr},
         {"ci", nullptr},     {"note", "DeLong CI needs at least 2 positive and 2 negative cases"}};
    *text = fmt::format("AUC {:.4f}  (no DeLong CI: needs at least 2 positive and 2 negative cases)", a);
  }
  return j;
}

int cmd_auc(int argc, char** argv) {
  CLI::App app(
      "ROC analysis of one score: AUC with DeLong CI, optional stratified bootstrap CI, and sensitivity,\n"
      "specificity, PPV and NPV (Wilson CIs) at a given threshold and at the Youden-optimal one.\n"
      "CSV: a header row, then one row per case with a 0/1 label column and a numeric score column\n"
      "(higher = more likely positive; a case is positive when score >= threshold).\n",
      "scintigen stats auc");
  std::string file, label_col = "label", score_col = "score", roc_out;
  double conf = 0.95;
  std::optional<double> threshold;
  size_t bootstrap = 0;
  uint64_t seed = 0;
  bool json_out = false;
  app.add_option("--scores", file, "CSV file with labels and scores")->required();
  app.add_option("--label-col", label_col, "column of 0/1 labels (1 = positive)")->capture_default_str();
  app.add_option("--score-col", score_col, "column of scores")->capture_default_str();
  app.add_option("--conf", conf, "confidence level of every interval")->capture_default_str();
  app.add_option("--threshold", threshold, "also report metrics at this threshold (positive if score >= it)");
  app.add_option("--bootstrap", bootstrap, "stratified percentile bootstrap replicates (0 = none)")
      ->capture_default_str();
  app.add_option("--seed", seed, "bootstrap seed (std::mt19937_64)")->capture_default_str();
  app.add_option("--roc", roc_out, "write the ROC curve here as CSV (threshold,fpr,tpr,tp,fp)");
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(conf);

  const CsvTable t = read_csv(file);
  const BinaryColumns b = read_binary(t, label_col, {score_col});
  const auto& y = b.labels;
  const auto& s = b.scores[0];
  std::string auc_line;
  json out = auc_json(y, s, conf, file, &auc_line);
  json head = {{"command", "auc"}, {"input", file}, {"label_col", label_col}, {"score_col", score_col}};
  head.update(out);
  out = head;
  if (bootstrap > 0) {
    const st::BootstrapCi bc = st::bootstrap_auc_ci(y, s, bootstrap, seed, conf, file);
    out["bootstrap"] = {{"method", "stratified percentile"},
                        {"replicates", bc.replicates},
                        {"seed", bc.seed},
                        {"rng", "std::mt19937_64"},
                        {"level", conf},
                        {"lower", bc.lower},
                        {"upper", bc.upper},
                        {"mean", bc.mean},
                        {"sd", bc.sd}};
  }
  const st::ThresholdMetrics youden = st::youden_metrics(y, s, conf, file);
  out["youden"] = st::to_json(youden);
  std::optional<st::ThresholdMetrics> given;
  if (threshold) {
    given = st::threshold_metrics(y, s, *threshold, conf, file);
    out["threshold"] = st::to_json(*given);
  }
  if (!roc_out.empty()) {
    const st::RocCurve c = st::roc_curve(y, s, file);
    std::string csv = "threshold,fpr,tpr,tp,fp\n";
    for (const auto& p : c.points)
      csv +=
          fmt::format("{},{:.17g},{:.17g},{},{}\n",
                      std::isinf(p.threshold) ? "inf" : fmt::format("{:.17g}", p.threshold), p.fpr, p.tpr, p.tp, p.fp);
    write_file_atomic(roc_out, csv);
    out["roc_csv"] = roc_out;
  }
  if (json_out) {
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s: %zu cases (%zu positive, %zu negative)\n", file.c_str(), y.size(), out["positives"].get<size_t>(),
              out["negatives"].get<size_t>());
  std::printf("%s\n", auc_line.c_str());
  if (bootstrap > 0)
    std::printf("bootstrap %g%% CI %.4f-%.4f (%zu stratified replicates, seed %llu)\n", conf * 100,
                out["bootstrap"]["lower"].get<double>(), out["bootstrap"]["upper"].get<double>(), bootstrap,
                static_cast<unsigned long long>(seed));
  if (given) print_metrics("at the given threshold", *given);
  print_metrics("at the Youden-optimal threshold", youden);
  if (!roc_out.empty()) std::printf("ROC curve written to %s\n", roc_out.c_str());
  return kExitOk;
}

// ---- compare ---------------------------------------------------------------------------------

int cmd_compare(int argc, char** argv) {
  CLI::App app(
      "Compare two AUCs with DeLong's test.\n"
      "  paired (same cases, two scores):   --scores FILE --score-cols A,B\n"
      "  unpaired (two cohorts):            --scores FILE1 --scores2 FILE2 [--score-col S]\n"
      "Paired: z test with DeLong covariance (as pROC roc.test(paired=TRUE)); unpaired: Welch t test on\n"
      "the DeLong variances (as pROC roc.test(paired=FALSE)).\n",
      "scintigen stats compare");
  std::string file, file2, label_col = "label", score_col = "score", score_cols;
  double conf = 0.95;
  bool json_out = false;
  app.add_option("--scores", file, "CSV file with labels and scores")->required();
  app.add_option("--scores2", file2, "second cohort's CSV (unpaired comparison)");
  app.add_option("--label-col", label_col, "column of 0/1 labels (1 = positive)")->capture_default_str();
  app.add_option("--score-cols", score_cols, "two score columns of --scores, comma-separated (paired comparison)");
  app.add_option("--score-col", score_col, "score column of both files (unpaired comparison)")->capture_default_str();
  app.add_option("--conf", conf, "confidence level")->capture_default_str();
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(conf);
  if (file2.empty() == score_cols.empty())
    throw ConfigError("scintigen stats compare", "give either --score-cols A,B (paired) or --scores2 FILE (unpaired)",
                      "run 'scintigen stats compare --help'");
  json out = {{"command", "compare"}};
  st::DelongTest t;
  std::string line1, line2;
  if (!score_cols.empty()) {
    const std::vector<std::string> cols = split_list(score_cols);
    if (cols.size() != 2)
      throw ConfigError("--score-cols", "needs exactly two columns, got '" + score_cols + "'",
                        "e.g. --score-cols p_a,p_b");
    const CsvTable tab = read_csv(file);
    const BinaryColumns b = read_binary(tab, label_col, cols);
    t = st::delong_test_paired(b.labels, b.scores[0], b.scores[1], conf, file);
    out["input"] = file;
    out["auc1"] = auc_json(b.labels, b.scores[0], conf, file + " (" + cols[0] + ")", &line1);
    out["auc2"] = auc_json(b.labels, b.scores[1], conf, file + " (" + cols[1] + ")", &line2);
    out["auc1"]["name"] = cols[0];
    out["auc2"]["name"] = cols[1];
  } else {
    const CsvTable t1 = read_csv(file), t2 = read_csv(file2);
    const BinaryColumns b1 = read_binary(t1, label_col, {score_col}), b2 = read_binary(t2, label_col, {score_col});
    t = st::delong_test_unpaired(b1.labels, b1.scores[0], b2.labels, b2.scores[0], file, file2);
    out["input"] = {file, file2};
    out["auc1"] = auc_json(b1.labels, b1.scores[0], conf, file, &line1);
    out["auc2"] = auc_json(b2.labels, b2.scores[0], conf, file2, &line2);
    out["auc1"]["name"] = file;
    out["auc2"]["name"] = file2;
  }
  out["test"] = {{"method", t.paired ? "DeLong paired z test" : "DeLong unpaired t test (Welch df)"},
                 {"paired", t.paired},
                 {"difference", t.difference},
                 {"se", t.se},
                 {"statistic", t.z},
                 {"p_value", t.p_value},
                 {"covariance", t.covariance}};
  if (t.paired)
    out["test"]["ci"] = {{"level", conf}, {"lower", t.ci_lower}, {"upper", t.ci_upper}};
  else
    out["test"]["df"] = st::json_number(t.df);
  if (json_out) {
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("1: %s: %s\n2: %s: %s\n", out["auc1"]["name"].get<std::string>().c_str(), line1.c_str(),
              out["auc2"]["name"].get<std::string>().c_str(), line2.c_str());
  if (t.paired)
    std::printf("paired DeLong test: difference %.4f (%g%% CI %.4f to %.4f), z = %.4f, p = %.4g\n", t.difference,
                conf * 100, t.ci_lower, t.ci_upper, t.z, t.p_value);
  else
    std::printf("unpaired DeLong test: difference %.4f, D = %.4f, df = %.1f, p = %.4g\n", t.difference, t.z, t.df,
                t.p_value);
  return kExitOk;
}

// ---- survival --------------------------------------------------------------------------------


int cmd_survival(int argc, char** argv) {
  CLI::App app(
      "Kaplan-Meier curves (Greenwood, log-transformed CIs) with median survival per group, the log-rank\n"
      "test across groups, and a Cox model (Efron ties) on the group (reference: first group name in\n"
      "byte order) and/or numeric covariates. Matches R survival's survfit, survdiff and coxph.\n"
      "CSV: one row per subject: time (>= 0), event (1 event, 0 censored), optional group and covariates.\n",
      "scintigen stats survival");
  std::string file, time_col = "time", event_col = "event", group_col, covariates, curves_out;
  double conf = 0.95;
  bool json_out = false, no_cox = false;
  app.add_option("--data", file, "CSV file, one row per subject")->required();
  app.add_option("--time-col", time_col, "column of times to event or censoring")->capture_default_str();
  app.add_option("--event-col", event_col, "column of event indicators (1 event, 0 censored)")->capture_default_str();
  app.add_option("--group-col", group_col, "column of group names (e.g. the model's call)");
  app.add_option("--covariates", covariates, "numeric columns for the Cox model, comma-separated");
  app.add_flag("--no-cox", no_cox, "skip the Cox model");
  app.add_option("--curves", curves_out, "write the Kaplan-Meier curves here as CSV");
  app.add_option("--conf", conf, "confidence level")->capture_default_str();
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(conf);

  const CsvTable t = read_csv(file);
  const size_t tc = t.column(time_col, "--time-col"), ec = t.column(event_col, "--event-col");
  st::SurvivalData all;
  std::vector<std::string> group;
  const bool gc = !group_col.empty();
  const size_t gi = gc ? t.column(group_col, "--group-col") : 0;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double time = parse_double(t, r, tc);
    if (time < 0)
      throw InputError(t.where(r), fmt::format("column '{}' holds negative time {}", time_col, t.rows[r][tc]),
                       "times are durations from the scan to the event or censoring, >= 0");
    all.time.push_back(time);
    all.event.push_back(parse_binary(t, r, ec, "events must be 1 (event) or 0 (censored)"));
    if (gc) {
      if (t.rows[r][gi].empty())
        throw InputError(t.where(r), fmt::format("column '{}' is empty", group_col), "every subject needs a group");
      group.push_back(t.rows[r][gi]);
    }
  }
  const std::set<std::string> names(group.begin(), group.end());
  json out = {{"command", "survival"}, {"input", file}, {"conf_level", conf}, {"groups", json::array()}};
  std::string csv = "group,time,n_risk,n_event,n_censor,survival,std_err,lower,upper\n";
  auto add_group = [&](const std::string& name, const st::KaplanMeier& km) {
    json g = st::to_json(km);
    g["name"] = name;
    out["groups"].push_back(g);
    for (const auto& r : km.rows)
      csv += fmt::format("{},{:.17g},{},{},{},{:.17g},{},{},{}\n", name, r.time, r.n_risk, r.n_event, r.n_censor,
                         r.survival, r.std_err ? fmt::format("{:.17g}", *r.std_err) : "NA",
                         r.lower ? fmt::format("{:.17g}", *r.lower) : "NA",
                         r.upper ? fmt::format("{:.17g}", *r.upper) : "NA");
  };
  if (!gc) {
    add_group("all", st::kaplan_meier(all, conf, file));
  } else {
    for (const auto& name : names) {
      st::SurvivalData d;
      for (size_t i = 0; i < group.size(); ++i)
        if (group[i] == name) d.time.push_back(all.time[i]), d.event.push_back(all.event[i]);
      add_group(name, st::kaplan_meier(d, conf, file + " (group " + name + ")"));
    }
  }
  if (gc && names.size() >= 2) {
    const st::LogRank lr = st::log_rank_test(all, group, file);
    out["log_rank"] = {
        {"groups", lr.groups},         {"n", lr.n},   {"observed", lr.observed}, {"expected", lr.expected},
        {"chi_square", lr.chi_square}, {"df", lr.df}, {"p_value", lr.p_value}};
  }
  std::vector<std::vector<double>> cov;
  std::vector<std::string> cov_names;
  if (gc && names.size() >= 2)
    for (auto it = std::next(names.begin()); it != names.end(); ++it) {
      cov_names.push_back(group_col + "=" + *it);
      std::vector<double> v(group.size());
      for (size_t i = 0; i < group.size(); ++i) v[i] = group[i] == *it;
      cov.push_back(v);
    }
  for (const auto& c : split_list(covariates)) {
    const size_t ci = t.column(c, "--covariates");
    std::vector<double> v(t.rows.size());
    for (size_t r = 0; r < t.rows.size(); ++r) v[r] = parse_double(t, r, ci);
    cov_names.push_back(c);
    cov.push_back(v);
  }
  std::optional<st::CoxModel> cox;
  std::string cox_error;
  if (!no_cox && !cov.empty()) {
    // A Cox model that cannot be fitted (e.g. a group without events) does not void the rest:
    // it is reported as an error and the exit status is 1 (partial).
    try {
      cox = st::cox_ph(all, cov, cov_names, conf, file);
    } catch (const InputError& e) {
      cox_error = e.describe();
      out["cox"] = {{"error", cox_error}};
    }
  }
  if (cox) {
    json terms = json::array();
    for (size_t j = 0; j < cox->names.size(); ++j)
      terms.push_back({{"name", cox->names[j]},
                       {"beta", cox->beta[j]},
                       {"se", cox->se[j]},
                       {"z", cox->z[j]},
                       {"p_value", cox->p_value[j]},
                       {"hazard_ratio", cox->hazard_ratio[j]},
                       {"hr_lower", cox->hr_lower[j]},
                       {"hr_upper", cox->hr_upper[j]}});
    out["cox"] = {{"ties", "efron"},
                  {"n", cox->n},
                  {"events", cox->events},
                  {"terms", terms},
                  {"reference_group", gc && names.size() >= 2 ? json(*names.begin()) : json(nullptr)},
                  {"loglik_null", cox->loglik_null},
                  {"loglik", cox->loglik},
                  {"lr_chi_square", cox->lr_chi_square},
                  {"lr_df", cox->lr_df},
                  {"lr_p_value", cox->lr_p_value},
                  {"iterations", cox->iterations}};
  }
  if (!curves_out.empty()) {
    write_file_atomic(curves_out, csv);
    out["curves_csv"] = curves_out;
  }
  if (!cox_error.empty()) std::fprintf(stderr, "error: %s\n", cox_error.c_str());
  const int rc = cox_error.empty() ? kExitOk : kExitPartial;
  if (json_out) {
    std::printf("%s\n", out.dump(2).c_str());
    return rc;
  }
  std::printf("%s: %zu subjects\n", file.c_str(), all.time.size());
  for (const auto& g : out["groups"]) {
    auto m = [&](const char* k) {
      return g["median"][k].is_null() ? std::string("NA") : fmt::format("{:g}", g["median"][k].get<double>());
    };
    std::printf("  %-12s n %-6zu events %-6zu median %s (%g%% CI %s-%s)\n", g["name"].get<std::string>().c_str(),
                g["n"].get<size_t>(), g["events"].get<size_t>(), m("estimate").c_str(), conf * 100, m("lower").c_str(),
                m("upper").c_str());
  }
  if (out.contains("log_rank"))
    std::printf("log-rank: chi-square %.4f, df %d, p = %.4g\n", out["log_rank"]["chi_square"].get<double>(),
                out["log_rank"]["df"].get<int>(), out["log_rank"]["p_value"].get<double>());
  if (cox) {
    std::printf("Cox (Efron ties; %zu subjects, %zu events):\n", cox->n, cox->events);
    for (size_t j = 0; j < cox->names.size(); ++j)
      std::printf("  %-16s HR %.4f (%g%% CI %.4f-%.4f), p = %.4g\n", cox->names[j].c_str(), cox->hazard_ratio[j],
                  conf * 100, cox->hr_lower[j], cox->hr_upper[j], cox->p_value[j]);
  }
  if (!curves_out.empty()) std::printf("curves written to %s\n", curves_out.c_str());
  return rc;
}

// ---- agreement -------------------------------------------------------------------------------

int cmd_agreement(int argc, char** argv) {
  CLI::App app(
      "Agreement between raters: Fleiss' kappa with its standard error, Cohen's kappa for every pair of\n"
      "raters, the share of subjects on which all raters agree, and with --truth each rater's accuracy\n"
      "(Wilson CIs). CSV: one row per subject, one column per rater holding category labels (any text).\n",
      "scintigen stats agreement");
  std::string file, raters_arg, id_col, truth_col, weights = "none";
  double conf = 0.95;
  bool json_out = false;
  app.add_option("--ratings", file, "CSV file, subjects x raters")->required();
  app.add_option("--raters", raters_arg, "rater columns, comma-separated (default: all but --id-col and --truth)");
  app.add_option("--id-col", id_col, "subject id column to ignore");
  app.add_option("--truth", truth_col, "column of reference labels for accuracy");
  app.add_option("--weights", weights, "Cohen's kappa weights: none, linear or quadratic")->capture_default_str();
  app.add_option("--conf", conf, "confidence level")->capture_default_str();
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(conf);

  const CsvTable t = read_csv(file);
  std::vector<std::string> raters = split_list(raters_arg);
  if (raters.empty())
    for (const auto& h : t.header)
      if (h != id_col && h != truth_col) raters.push_back(h);
  if (!id_col.empty()) t.column(id_col, "--id-col");
  std::vector<size_t> rc;
  for (const auto& r : raters) rc.push_back(t.column(r, "--raters"));
  if (rc.size() < 2)
    throw InputError(file, fmt::format("fewer than 2 raters ({})", rc.size()),
                     "agreement needs at least 2 rater columns");
  std::vector<std::vector<std::string>> ratings(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (size_t k = 0; k < rc.size(); ++k) {
      if (t.rows[r][rc[k]].empty())
        throw InputError(t.where(r), fmt::format("rater '{}' gave no rating", raters[k]),
                         "missing ratings are not supported; drop the subject or the rater");
      ratings[r].push_back(t.rows[r][rc[k]]);
    }
  const st::FleissKappa f = st::fleiss_kappa(ratings, file);
  const st::Proportion all_agree = st::percent_agreement(ratings, conf, file);
  json out = {{"command", "agreement"},
              {"input", file},
              {"subjects", f.subjects},
              {"raters", raters},
              {"categories", f.categories},
              {"fleiss",
               {{"kappa", f.kappa},
                {"se", f.se},
                {"z", f.z},
                {"p_value", f.p_value},
                {"observed_agreement", f.observed_agreement},
                {"expected_agreement", f.expected_agreement}}},
              {"percent_agreement", st::to_json(all_agree)},
              {"cohen", json::array()}};
  for (size_t a = 0; a < rc.size(); ++a)
    for (size_t b = a + 1; b < rc.size(); ++b) {
      std::vector<std::string> ra, rb;
      for (const auto& row : ratings) ra.push_back(row[a]), rb.push_back(row[b]);
      const st::CohenKappa c = st::cohen_kappa(ra, rb, weights, file);
      out["cohen"].push_back({{"raters", {raters[a], raters[b]}},
                              {"weights", weights},
                              {"kappa", c.kappa},
                              {"observed_agreement", c.observed_agreement},
                              {"expected_agreement", c.expected_agreement}});
    }
  if (!truth_col.empty()) {
    const size_t tc = t.column(truth_col, "--truth");
    std::vector<std::string> truth;
    for (size_t r = 0; r < t.rows.size(); ++r) {
      if (t.rows[r][tc].empty())
        throw InputError(t.where(r), fmt::format("column '{}' is empty", truth_col),
                         "every subject needs a reference label");
      truth.push_back(t.rows[r][tc]);
    }
    out["accuracy"] = json::array();
    for (size_t k = 0; k < rc.size(); ++k) {
      std::vector<std::string> pred;
      for (const auto& row : ratings) pred.push_back(row[k]);
      json a = st::to_json(st::accuracy(pred, truth, conf, file));
      a["rater"] = raters[k];
      out["accuracy"].push_back(a);
    }
  }
  if (json_out) {
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s: %zu subjects, %zu raters, %zu categories\n", file.c_str(), f.subjects, f.raters,
              f.categories.size());
  std::printf("Fleiss' kappa %.4f (SE %.4f under kappa = 0; z = %.3f, p = %.4g)\n", f.kappa, f.se, f.z, f.p_value);
  std::printf("all raters agree on %s\n", proportion_text(all_agree).c_str());
  for (const auto& c : out["cohen"])
    std::printf("Cohen's kappa %s vs %s: %.4f%s\n", c["raters"][0].get<std::string>().c_str(),
                c["raters"][1].get<std::string>().c_str(), c["kappa"].get<double>(),
                weights == "none" ? "" : (" (" + weights + " weights)").c_str());
  if (out.contains("accuracy"))
    for (size_t k = 0; k < rc.size(); ++k) {
      const json& a = out["accuracy"][k];
      std::printf("accuracy of %s: %.4f (%zu/%zu)  %g%% CI %.4f-%.4f\n", raters[k].c_str(), a["estimate"].get<double>(),
                  a["successes"].get<size_t>(), a["trials"].get<size_t>(), conf * 100, a["ci_lower"].get<double>(),
                  a["ci_upper"].get<double>());
    }
  return kExitOk;
}

}  // namespace

int cmd_stats(int argc, char** argv) {
  static const std::vector<Command> kTable = {
      {"auc", "ROC curve, AUC with DeLong (and bootstrap) CI, threshold metrics", cmd_auc},
      {"compare", "DeLong test of two AUCs: paired (same cases) or unpaired (two cohorts)", cmd_compare},
      {"survival", "Kaplan-Meier, median survival, log-rank test, Cox hazard ratios", cmd_survival},
      {"agreement", "Fleiss' and Cohen's kappa, percent agreement, accuracy", cmd_agreement},
  };
  return dispatch("scintigen stats", "statistics of external validation (CSV in, text or JSON out)", kTable, argc,
                  argv);
}

}  // namespace scintigen::cli
