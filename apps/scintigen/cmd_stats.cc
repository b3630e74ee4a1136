// `scintigen stats auc | compare | survival | agreement`: CSV in, readable text or JSON out.
// The CSV formats are documented in docs/STATS.md and in each subcommand's --help; the
// analyses live in src/stats/analysis.h.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <optional>

#include "commands.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/text.h"
#include "run_guard.h"
#include "stats/analysis.h"
#include "stats/json.h"

namespace scintigen::cli {

namespace {

namespace st = scintigen::stats;

void print_json(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(2).c_str());
}

std::string proportion_text(const st::Proportion& p) {
  if (!p.estimate) return "NA (0 of 0)";
  return fmt::format("{:.4f} ({}/{})  CI {:.4f}-{:.4f}", *p.estimate, p.successes, p.trials, *p.lower, *p.upper);
}

std::string auc_text(const st::AucResult& a) {
  if (!std::isfinite(a.se))
    return fmt::format("AUC {:.4f}  (no DeLong CI: needs at least 2 positive and 2 negative cases)", a.auc);
  return fmt::format("AUC {:.4f}  {:g}% CI {:.4f}-{:.4f} (DeLong; SE {:.4f})", a.auc, a.conf_level * 100, a.ci_lower,
                     a.ci_upper, a.se);
}

void print_metrics(const char* title, const st::ThresholdMetrics& m) {
  std::printf("%s: score >= %g is positive (TP %zu, FP %zu, TN %zu, FN %zu; Youden J %.4f)\n", title, m.threshold, m.tp,
              m.fp, m.tn, m.fn, m.youden);
  std::printf("  sensitivity  %s\n", proportion_text(m.sensitivity).c_str());
  std::printf("  specificity  %s\n", proportion_text(m.specificity).c_str());
  std::printf("  PPV          %s\n", proportion_text(m.ppv).c_str());
  std::printf("  NPV          %s\n", proportion_text(m.npv).c_str());
}

std::string na_text(const std::optional<double>& v) {
  return v ? fmt::format("{:g}", *v) : "NA";
}

// ---- auc -------------------------------------------------------------------------------------

int cmd_auc(int argc, char** argv) {
  CLI::App app(
      "ROC analysis of one score: AUC with DeLong CI, optional stratified bootstrap CI, and sensitivity,\n"
      "specificity, PPV and NPV (Wilson CIs) at a given threshold and at the Youden-optimal one.\n"
      "CSV: a header row, then one row per case with a 0/1 label column and a numeric score column\n"
      "(higher = more likely positive; a case is positive when score >= threshold).\n",
      "scintigen stats auc");
  std::string file, roc_out;
  st::AucOptions o;
  bool json_out = false;
  app.add_option("--scores", file, "CSV file with labels and scores")->required();
  app.add_option("--label-col", o.label_col, "column of 0/1 labels (1 = positive)")->capture_default_str();
  app.add_option("--score-col", o.score_col, "column of scores")->capture_default_str();
  app.add_option("--conf", o.conf_level, "confidence level of every interval")->capture_default_str();
  app.add_option("--threshold", o.threshold, "also report metrics at this threshold (positive if score >= it)");
  app.add_option("--bootstrap", o.bootstrap, "stratified percentile bootstrap replicates (0 = none)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "bootstrap seed (std::mt19937_64)")->capture_default_str();
  app.add_option("--roc", roc_out, "write the ROC curve here as CSV (threshold,fpr,tpr,tp,fp)");
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(o.conf_level);
  o.roc = !roc_out.empty();

  const st::AucAnalysis a = st::analyse_auc(read_csv(file), o);
  nlohmann::json out = st::to_json(a);
  if (a.roc) {
    write_file_atomic(roc_out, st::roc_csv(*a.roc));
    out["roc_csv"] = roc_out;
  }
  if (json_out) {
    print_json(out);
    return kExitOk;
  }
  std::printf("%s: %zu cases (%zu positive, %zu negative)\n", file.c_str(), a.auc.positives + a.auc.negatives,
              a.auc.positives, a.auc.negatives);
  std::printf("%s\n", auc_text(a.auc).c_str());
  if (a.bootstrap)
    std::printf("bootstrap %g%% CI %.4f-%.4f (%zu stratified replicates, seed %llu)\n", o.conf_level * 100,
                a.bootstrap->lower, a.bootstrap->upper, a.bootstrap->replicates,
                static_cast<unsigned long long>(a.bootstrap->seed));
  if (a.at_threshold) print_metrics("at the given threshold", *a.at_threshold);
  print_metrics("at the Youden-optimal threshold", a.youden);
  if (a.roc) std::printf("ROC curve written to %s\n", roc_out.c_str());
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
  st::CompareAnalysis c;
  if (!score_cols.empty()) {
    const std::vector<std::string> cols = split(score_cols, ',');
    if (cols.size() != 2)
      throw ConfigError("--score-cols", "needs exactly two columns, got '" + score_cols + "'",
                        "e.g. --score-cols p_a,p_b");
    c = st::compare_paired(read_csv(file), label_col, cols[0], cols[1], conf);
  } else {
    c = st::compare_unpaired(read_csv(file), read_csv(file2), label_col, score_col, conf);
  }
  if (json_out) {
    print_json(st::to_json(c));
    return kExitOk;
  }
  std::printf("1: %s: %s\n2: %s: %s\n", c.first.name.c_str(), auc_text(c.first.auc).c_str(), c.second.name.c_str(),
              auc_text(c.second.auc).c_str());
  const st::DelongTest& t = c.test;
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
  std::string file, covariates, curves_out;
  st::SurvivalOptions o;
  bool json_out = false, no_cox = false;
  app.add_option("--data", file, "CSV file, one row per subject")->required();
  app.add_option("--time-col", o.time_col, "column of times to event or censoring")->capture_default_str();
  app.add_option("--event-col", o.event_col, "column of event indicators (1 event, 0 censored)")->capture_default_str();
  app.add_option("--group-col", o.group_col, "column of group names (e.g. the model's call)");
  app.add_option("--covariates", covariates, "numeric columns for the Cox model, comma-separated");
  app.add_flag("--no-cox", no_cox, "skip the Cox model");
  app.add_option("--curves", curves_out, "write the Kaplan-Meier curves here as CSV");
  app.add_option("--conf", o.conf_level, "confidence level")->capture_default_str();
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(o.conf_level);
  o.covariates = split(covariates, ',');
  o.cox = !no_cox;

  const st::SurvivalAnalysis s = st::analyse_survival(read_csv(file), o);
  nlohmann::json out = st::to_json(s);
  if (!curves_out.empty()) {
    write_file_atomic(curves_out, st::kaplan_meier_csv(s));
    out["curves_csv"] = curves_out;
  }
  // A Cox model that cannot be fitted (e.g. a group without events) does not void the rest:
  // it is reported as an error and the exit status is 1 (partial).
  if (!s.cox_error.empty()) std::fprintf(stderr, "error: %s\n", s.cox_error.c_str());
  const int rc = s.cox_error.empty() ? kExitOk : kExitPartial;
  if (json_out) {
    print_json(out);
    return rc;
  }
  std::printf("%s: %zu subjects\n", file.c_str(), s.subjects);
  for (const auto& g : s.groups)
    std::printf("  %-12s n %-6zu events %-6zu median %s (%g%% CI %s-%s)\n", g.name.c_str(), g.km.n, g.km.events,
                na_text(g.km.median.median).c_str(), o.conf_level * 100, na_text(g.km.median.lower).c_str(),
                na_text(g.km.median.upper).c_str());
  if (s.log_rank)
    std::printf("log-rank: chi-square %.4f, df %d, p = %.4g\n", s.log_rank->chi_square, s.log_rank->df,
                s.log_rank->p_value);
  if (s.cox) {
    const st::CoxModel& cox = *s.cox;
    std::printf("Cox (Efron ties; %zu subjects, %zu events):\n", cox.n, cox.events);
    for (size_t j = 0; j < cox.names.size(); ++j)
      std::printf("  %-16s HR %.4f (%g%% CI %.4f-%.4f), p = %.4g\n", cox.names[j].c_str(), cox.hazard_ratio[j],
                  o.conf_level * 100, cox.hr_lower[j], cox.hr_upper[j], cox.p_value[j]);
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
  std::string file, raters;
  st::AgreementOptions o;
  bool json_out = false;
  app.add_option("--ratings", file, "CSV file, subjects x raters")->required();
  app.add_option("--raters", raters, "rater columns, comma-separated (default: all but --id-col and --truth)");
  app.add_option("--id-col", o.id_col, "subject id column to ignore");
  app.add_option("--truth", o.truth_col, "column of reference labels for accuracy");
  app.add_option("--weights", o.weights, "Cohen's kappa weights: none, linear or quadratic")->capture_default_str();
  app.add_option("--conf", o.conf_level, "confidence level")->capture_default_str();
  app.add_flag("--json", json_out, "machine-readable output");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  st::two_sided_z(o.conf_level);
  o.raters = split(raters, ',');

  const st::AgreementAnalysis a = st::analyse_agreement(read_csv(file), o);
  if (json_out) {
    print_json(st::to_json(a));
    return kExitOk;
  }
  const st::FleissKappa& f = a.fleiss;
  std::printf("%s: %zu subjects, %zu raters, %zu categories\n", file.c_str(), f.subjects, f.raters,
              f.categories.size());
  std::printf("Fleiss' kappa %.4f (SE %.4f under kappa = 0; z = %.3f, p = %.4g)\n", f.kappa, f.se, f.z, f.p_value);
  std::printf("all raters agree on %s\n", proportion_text(a.all_agree).c_str());
  for (const auto& p : a.cohen)
    std::printf("Cohen's kappa %s vs %s: %.4f%s\n", p.rater1.c_str(), p.rater2.c_str(), p.kappa.kappa,
                o.weights == "none" ? "" : (" (" + o.weights + " weights)").c_str());
  for (size_t k = 0; k < a.accuracy.size(); ++k) {
    const st::Proportion& acc = a.accuracy[k];
    std::printf("accuracy of %s: %.4f (%zu/%zu)  %g%% CI %.4f-%.4f\n", a.raters[k].c_str(), *acc.estimate,
                acc.successes, acc.trials, o.conf_level * 100, *acc.lower, *acc.upper);
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
