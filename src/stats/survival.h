// Time-to-event statistics: Kaplan-Meier curves with Greenwood CIs and median survival, the
// log-rank test for two or more groups, and Cox proportional hazards (Efron ties).
//
//   SurvivalData d{{5, 8, 8, 12, 20}, {1, 1, 0, 1, 0}};     // time, event (1 event, 0 censored)
//   KaplanMeier km = kaplan_meier(d);                       // km.rows, km.median
//   LogRank lr = log_rank_test(d, {"neg", "neg", "pos", "pos", "pos"});   // lr.chi_square, lr.p_value
//   CoxModel cox = cox_ph(d, {{0, 0, 1, 1, 1}}, {"pos"});   // cox.hazard_ratio[0], its CI, Wald p
//
// Everything matches R's survival package defaults: survfit (conf.type = "log"), survdiff
// (rho = 0), coxph (ties = "efron"). Empty input, mismatched lengths, negative or non-finite
// times and events other than 0/1 throw InputError naming `where`. Groups are ordered by a
// byte-wise sort of their names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace scintigen::stats {

struct SurvivalData {
  std::vector<double> time;  // >= 0, e.g. days from scan to event or censoring
  std::vector<int> event;    // 1 event, 0 censored
};

// One row per distinct time (event or censoring), as survfit reports.
struct KmRow {
  double time = 0.0;
  size_t n_risk = 0, n_event = 0, n_censor = 0;
  double survival = 1.0;
  // Greenwood standard error of the survival, S * sqrt(sum d / (n (n - d))); empty once S = 0.
  std::optional<double> std_err;
  // exp(log S -/+ z * sqrt(sum d / (n (n - d)))), upper clipped to 1; empty once S = 0.
  std::optional<double> lower, upper;
};

// Median survival and its CI as survfit prints them: the first time the curve (its lower or
// upper CI curve) reaches 0.5, the midpoint to the next drop when it sits exactly at 0.5;
// empty when not reached (NA).
struct MedianSurvival {
  std::optional<double> median, lower, upper;
};

// Ref: E. L. Kaplan, P. Meier, Nonparametric estimation from incomplete observations, JASA
//      53(282):457-481, 1958. M. Greenwood, The natural duration of cancer, Reports on Public
//      Health and Medical Subjects 33, 1926. Median CI: R. Brookmeyer, J. Crowley, A
//      confidence interval for the median survival time, Biometrics 38(1):29-41, 1982, read
//      off the pointwise CI curves as survival's quantile.survfit does.
struct KaplanMeier {
  size_t n = 0, events = 0;
  double conf_level = 0.95;
  std::vector<KmRow> rows;
  MedianSurvival median;
};
KaplanMeier kaplan_meier(const SurvivalData& data, double conf_level = 0.95,
                         const std::string& where = "survival data");

// Log-rank test of equal hazards across groups (survdiff, rho = 0). chi_square uses the groups
// with expected events > 0; df = their number - 1 (chi_square = 0 and df = 0 when fewer than two).
// Ref: N. Mantel, Evaluation of survival data and two new rank order statistics arising in its
//      consideration, Cancer Chemotherapy Reports 50(3):163-170, 1966; R. Peto, J. Peto,
//      Asymptotically efficient rank invariant test procedures, JRSS A 135(2):185-207, 1972.
struct LogRank {
  std::vector<std::string> groups;  // sorted
  std::vector<size_t> n;            // subjects per group
  std::vector<double> observed, expected;
  std::vector<std::vector<double>> variance;  // of observed - expected, groups x groups
  double chi_square = 0.0;
  int df = 0;
  double p_value = 1.0;
};
LogRank log_rank_test(const SurvivalData& data, const std::vector<std::string>& group,
                      const std::string& where = "survival data");

// Cox proportional hazards by Newton-Raphson on the Efron partial likelihood (step halving
// when the log-likelihood falls; converged when it changes by < 1e-12 relative). Wald CI
// exp(beta -/+ z * se) and two-sided Wald p per covariate; likelihood-ratio test against
// beta = 0. A constant or collinear covariate, no events, or a likelihood whose maximum is at
// infinity (a covariate that separates events, "monotone likelihood") throws InputError.
// Ref: D. R. Cox, Regression models and life-tables, JRSS B 34(2):187-220, 1972.
// Ref: B. Efron, The efficiency of Cox's likelihood function for censored data, JASA
//      72(359):557-565, 1977 (tied event times).
struct CoxModel {
  std::vector<std::string> names;
  std::vector<double> beta, se, z, p_value, hazard_ratio, hr_lower, hr_upper;
  std::vector<std::vector<double>> covariance;  // of beta
  double conf_level = 0.95;
  double loglik_null = 0.0, loglik = 0.0;
  double lr_chi_square = 0.0, lr_p_value = 1.0;
  int lr_df = 0, iterations = 0;
  size_t n = 0, events = 0;
};
// covariates: one vector per covariate, each as long as the data.
CoxModel cox_ph(const SurvivalData& data, const std::vector<std::vector<double>>& covariates,
                const std::vector<std::string>& names, double conf_level = 0.95,
                const std::string& where = "survival data");

// Harrell's concordance index of a risk score (higher score = higher risk = shorter survival):
// over the comparable pairs, the share whose shorter time has the higher score, a tie in score
// counting 1/2. A pair is comparable when its shorter time is an event; at equal times an event
// and a censoring are comparable (the censored subject outlived the time), two events are not
// (tied in time). This is R survival's concordance(Surv(time, event) ~ score, reverse = TRUE)
// with its default timewt = "n": (concordant + tied_score / 2) / (concordant + discordant +
// tied_score). O(n x events). No comparable pair, a NaN or infinite score, or a score vector of
// another length throws InputError naming `where`.
// Ref: F. E. Harrell, R. M. Califf, D. B. Pryor, K. L. Lee, R. A. Rosati, Evaluating the yield of
//      medical tests, JAMA 247(18):2543-2546, 1982.
struct Concordance {
  double c_index = 0.5;
  size_t concordant = 0, discordant = 0, tied_score = 0;  // comparable pairs, as R's count
  size_t tied_time = 0;                                   // two events at one time: not comparable
};
Concordance concordance_index(const SurvivalData& data, const std::vector<double>& score,
                              const std::string& where = "survival data");

}  // namespace scintigen::stats
