// Agreement between raters on categorical labels: Fleiss' kappa (any number of raters) with its
// standard error, Cohen's kappa (two raters, optionally weighted), percent agreement, and
// accuracy against a reference with a Wilson CI.
//
//   // subjects x raters; categories are any strings ("0", "1", "mets", ...)
//   std::vector<std::vector<std::string>> r = {{"1", "1", "0"}, {"0", "0", "0"}, {"1", "1", "1"}};
//   FleissKappa f = fleiss_kappa(r);        // f.kappa, f.se, f.z, f.p_value, f.percent_agreement
//   CohenKappa c = cohen_kappa({"1", "0", "1"}, {"1", "0", "0"});
//   Proportion acc = accuracy({"1", "0", "1"}, {"1", "1", "1"});   // 2 of 3, Wilson CI
//
// Empty input, ragged rows, fewer than 2 raters, empty labels and mismatched lengths throw
// InputError naming `where`.
#pragma once

#include <string>
#include <vector>

#include "stats/distributions.h"

namespace scintigen::stats {

// kappa = (P - Pe) / (1 - Pe), P the mean pairwise agreement per subject, Pe = sum p_j^2; equals
// statsmodels fleiss_kappa(method = "fleiss") on the subjects x categories count table.
// se is the standard error under kappa = 0 used for the z test (z = kappa / se, two-sided p):
//   se = sqrt(2) / (sum p_j q_j sqrt(N n (n - 1))) * sqrt((sum p_j q_j)^2 - sum p_j q_j (q_j - p_j))
// When all ratings fall in one category (Pe = 1) kappa is undefined and InputError is thrown.
// Ref: J. L. Fleiss, Measuring nominal scale agreement among many raters, Psychological
//      Bulletin 76(5):378-382, 1971 (kappa).
// Ref: J. L. Fleiss, J. C. M. Nee, J. R. Landis, Large sample variance of kappa in the case of
//      different sets of raters, Psychological Bulletin 86(5):974-977, 1979 (se), as in R irr's
//      kappam.fleiss.
struct FleissKappa {
  size_t subjects = 0, raters = 0;
  std::vector<std::string> categories;  // sorted
  std::vector<double> proportions;      // p_j, share of all ratings in each category
  double observed_agreement = 0.0;      // P (mean over subjects of pairwise agreement)
  double expected_agreement = 0.0;      // Pe
  double kappa = 0.0, se = 0.0, z = 0.0, p_value = 1.0;
};
FleissKappa fleiss_kappa(const std::vector<std::vector<std::string>>& ratings, const std::string& where = "ratings");

// Cohen's kappa of two raters; with weights "linear" or "quadratic" over the categories in
// sorted order (numeric order when every category is a number). Equals scikit-learn
// cohen_kappa_score(a, b, weights=None | "linear" | "quadratic").
// Ref: J. Cohen, A coefficient of agreement for nominal scales, Educational and Psychological
//      Measurement 20(1):37-46, 1960; J. Cohen, Weighted kappa, Psychological Bulletin
//      70(4):213-220, 1968.
struct CohenKappa {
  size_t subjects = 0;
  std::string weights = "none";
  double observed_agreement = 0.0, expected_agreement = 0.0, kappa = 0.0;
};
CohenKappa cohen_kappa(const std::vector<std::string>& rater1, const std::vector<std::string>& rater2,
                       const std::string& weights = "none", const std::string& where = "ratings");

// Share of subjects on which every rater gives the same category, with a Wilson CI.
Proportion percent_agreement(const std::vector<std::vector<std::string>>& ratings, double conf_level = 0.95,
                             const std::string& where = "ratings");

// Share of predictions equal to the truth, with a Wilson CI.
Proportion accuracy(const std::vector<std::string>& predicted, const std::vector<std::string>& truth,
                    double conf_level = 0.95, const std::string& where = "ratings");

// The categories in the order used for weights: numeric ascending when all parse as numbers,
// else byte-wise sorted.
std::vector<std::string> ordered_categories(std::vector<std::string> categories);

}  // namespace scintigen::stats
