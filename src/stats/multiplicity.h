// Multiple-testing corrections of a family of p-values.
//
//   std::vector<double> adj = holm_adjust({0.01, 0.04, 0.03});   // {0.03, 0.06, 0.06}
//
// Ref: S. Holm, A simple sequentially rejective multiple test procedure, Scandinavian Journal of
//      Statistics 6(2):65-70, 1979.
#pragma once

#include <string>
#include <vector>

namespace scintigen::stats {

// Holm's step-down adjusted p-values, in input order: with p sorted ascending,
// adj_(i) = max_{j <= i} min(1, (k - j + 1) p_(j)) for k p-values (monotone, capped at 1), as R's
// p.adjust(method = "holm") and statsmodels' multipletests(method = "holm"). Rejecting where
// adj <= alpha controls the family-wise error rate at alpha. An empty family gives an empty
// result; a p-value that is NaN or outside [0, 1] throws InputError naming `where`.
std::vector<double> holm_adjust(const std::vector<double>& p, const std::string& where = "p-values");

}  // namespace scintigen::stats
