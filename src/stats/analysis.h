// The analyses behind `scintigen stats auc | compare | survival | agreement`: typed columns
// read from a CSV table (core/csv.h), the rules that decide what is computed, and one JSON
// form per analysis (built from the serialisers of stats/json.h).
//
//   AucOptions o;
//   o.score_col = "p_mets";
//   AucAnalysis a = analyse_auc(read_csv("scores.csv"), o);
//   nlohmann::json j = to_json(a);   // what `stats auc --json` prints
//
// The rules: an AUC gets a DeLong CI only when each class has 2 cases or more (else se,
// variance and the CI are NaN: the variance is undefined); the Cox model codes a group column
// as one 0/1 covariate per group against the first group name in byte order; a Cox model that
// cannot be fitted is reported as an error and leaves the Kaplan-Meier curves and the log-rank
// test standing. Bad cells throw InputError naming `file:line`, the column and the value.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/csv.h"
#include "stats/agreement.h"
#include "stats/roc.h"
#include "stats/survival.h"

namespace scintigen::stats {

// ---- auc -------------------------------------------------------------------------------------

struct AucOptions {
  std::string label_col = "label";  // 0/1, 1 = positive
  std::string score_col = "score";  // higher = more likely positive
  double conf_level = 0.95;
  std::optional<double> threshold;  // also report metrics here
  size_t bootstrap = 0;             // stratified bootstrap replicates, 0 = none
  uint64_t seed = 0;
  bool roc = false;  // keep the ROC curve
};

struct AucAnalysis {
  std::string input, label_col, score_col;
  AucResult auc;
  std::optional<BootstrapCi> bootstrap;
  ThresholdMetrics youden;
  std::optional<ThresholdMetrics> at_threshold;
  std::optional<RocCurve> roc;
};

AucAnalysis analyse_auc(const CsvTable& table, const AucOptions& options);

// The AUC, with its DeLong variance and CI when each class has 2 cases or more; otherwise
// se, variance and the CI limits are NaN.
AucResult auc_with_delong_ci(const std::vector<int>& labels, const std::vector<double>& scores, double conf_level,
                             const std::string& where);

// ---- compare ---------------------------------------------------------------------------------

struct NamedAuc {
  std::string name;  // the score column (paired) or the file (unpaired)
  AucResult auc;
};

struct CompareAnalysis {
  std::vector<std::string> inputs;  // one file (paired) or two (unpaired)
  NamedAuc first, second;
  DelongTest test;
};

// Two score columns of one table, the same cases (paired DeLong test).
CompareAnalysis compare_paired(const CsvTable& table, const std::string& label_col, const std::string& score_col1,
                               const std::string& score_col2, double conf_level);
// One score column in each of two tables, different cohorts (unpaired DeLong test).
CompareAnalysis compare_unpaired(const CsvTable& table1, const CsvTable& table2, const std::string& label_col,
                                 const std::string& score_col, double conf_level);

// ---- survival --------------------------------------------------------------------------------

struct SurvivalOptions {
  std::string time_col = "time";    // >= 0
  std::string event_col = "event";  // 1 event, 0 censored
  std::string group_col;            // optional
  std::vector<std::string> covariates;
  bool cox = true;
  double conf_level = 0.95;
};

struct NamedKaplanMeier {
  std::string name;  // the group, or "all" without a group column
  KaplanMeier km;
};

struct SurvivalAnalysis {
  std::string input;
  double conf_level = 0.95;
  size_t subjects = 0;
  std::vector<NamedKaplanMeier> groups;  // in byte order of their names
  std::optional<LogRank> log_rank;       // with 2 groups or more
  std::optional<CoxModel> cox;
  std::string reference_group;  // of the Cox group coding; empty without
  std::string cox_error;        // why the Cox model could not be fitted; empty otherwise
};

SurvivalAnalysis analyse_survival(const CsvTable& table, const SurvivalOptions& options);

// ---- agreement -------------------------------------------------------------------------------

struct AgreementOptions {
  std::vector<std::string> raters;  // default: every column but id_col and truth_col
  std::string id_col, truth_col;
  std::string weights = "none";  // of Cohen's kappa: none, linear or quadratic
  double conf_level = 0.95;
};

struct RaterPair {
  std::string rater1, rater2;
  CohenKappa kappa;
};

struct AgreementAnalysis {
  std::string input;
  std::vector<std::string> raters;
  FleissKappa fleiss;
  Proportion all_agree;              // subjects on which every rater agrees
  std::vector<RaterPair> cohen;      // every pair, in column order
  std::vector<Proportion> accuracy;  // per rater, with a truth column
};

AgreementAnalysis analyse_agreement(const CsvTable& table, const AgreementOptions& options);

// ---- output ----------------------------------------------------------------------------------

// What `stats <command> --json` prints (docs/STATS.md).
nlohmann::json to_json(const AucAnalysis& a);
nlohmann::json to_json(const CompareAnalysis& c);
nlohmann::json to_json(const SurvivalAnalysis& s);
nlohmann::json to_json(const AgreementAnalysis& a);

// The ROC curve as CSV: threshold,fpr,tpr,tp,fp (threshold "inf" for the first point).
std::string roc_csv(const RocCurve& curve);
// The Kaplan-Meier curves as CSV: group,time,n_risk,n_event,n_censor,survival,std_err,lower,upper
// ("NA" where undefined).
std::string kaplan_meier_csv(const SurvivalAnalysis& s);

}  // namespace scintigen::stats
