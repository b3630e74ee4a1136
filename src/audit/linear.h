// L2-regularised logistic regression on feature sets, and grouped stratified cross-validation:
// the audit's classifier two-sample test (real vs synthetic) and its label probes. No LibTorch
// here (linear.cc uses it for the matrix products and the Cholesky solve).
//
//   Features x = ...;                               // n x d (audit/features.h)
//   std::vector<int> y = ...;                       // 0/1 per row
//   std::vector<std::string> subject = ...;         // "" = a scan of its own
//   std::vector<int> fold = grouped_folds(subject, y, 5, seed);
//   std::vector<double> p = cross_validated_scores(x, y, fold, /*C=*/1.0);  // out-of-fold P(y=1)
//   double auc = stats::auc(y, p);                  // ~0.5 when the classes look alike
//
//   LogisticModel model = fit_logistic(x, y, 1.0);  // one fit; predict_proba(model, x_new)
//
// Model: the columns are standardised with the training rows' mean and population sd (ddof 0,
// as scikit-learn's StandardScaler; a column of sd 0 is divided by 1), then (w, b) minimises
//   f(w, b) = 0.5 ||w||^2 + C sum_i [ log(1 + exp(z_i)) - y_i z_i ],  z_i = x_i.w + b,
// scikit-learn's LogisticRegression(penalty="l2", C=C) objective (intercept not penalised).
// Solved by Newton's method (iteratively reweighted least squares): gradient
//   g = [w; 0] + C X1^T (p - y), Hessian H = diag(1, ..., 1, 0) + C X1^T diag(p (1 - p)) X1,
// X1 = [X, 1]; step -H^-1 g by a Cholesky solve, halved while f rises (beyond its rounding);
// stops after the step whose Newton decrement g^T H^-1 g / 2 (an estimate of f - min f) was
// below tol, that last step squaring the error (quadratic convergence), or after max_iter steps.
//   Ref: Hastie, Tibshirani & Friedman, "The Elements of Statistical Learning", 2nd ed. 2009,
//        sec. 4.4.1 (IRLS); Boyd & Vandenberghe, "Convex Optimization", 2004, sec. 9.5.
//
// Folds: grouped_folds cuts the rows with core/split.h's grouped_stratified_split (k parts of
// fraction 1/k, strata = y, units = groups, fill_every_part, stream kAuditFolds): rows sharing a
// non-empty group share a fold, and each fold holds about 1/k of each class.
//   Ref: Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR 2017.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/features.h"

namespace scintigen::audit {

// Per-column mean and sd (population, ddof 0; 0 -> 1) of training rows.
struct Standardizer {
  std::vector<double> mean, sd;

  static Standardizer fit(const Features& x);
  // (x - mean) / sd column by column; throws InputError when x has another width.
  Features apply(const Features& x, const std::string& where = "features") const;
};

struct LogisticModel {
  Standardizer scale;        // applied to the features before the linear part
  std::vector<double> coef;  // w, on the standardised features
  double intercept = 0.0;    // b
  double C = 1.0;
  int iterations = 0;      // Newton steps taken
  bool converged = false;  // the Newton decrement fell below tol
};

// Fits the model above. y holds 0/1 and both classes; C > 0. Throws InputError (where names
// the feature set) or ConfigError (C, max_iter, tol).
LogisticModel fit_logistic(const Features& x, const std::vector<int>& y, double C, int max_iter = 100,
                           double tol = 1e-10, const std::string& where = "features");

// P(y = 1) per row of x.
std::vector<double> predict_proba(const LogisticModel& model, const Features& x, const std::string& where = "features");

// Fold (0..k-1) of every row: groups kept together, stratified by y (see above). k >= 2.
std::vector<int> grouped_folds(const std::vector<std::string>& groups, const std::vector<int>& y, int k, uint64_t seed);

// Out-of-fold P(y = 1): for each fold f, a model fitted on the rows of the other folds scores
// the rows of f. Throws InputError when a fold's training rows hold one class only.
std::vector<double> cross_validated_scores(const Features& x, const std::vector<int>& y, const std::vector<int>& folds,
                                           double C, const std::string& where = "features");

}  // namespace scintigen::audit
