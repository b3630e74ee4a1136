// The few distribution functions and interval formulas the statistics need, in double precision.
//
//   double z = normal_quantile(0.975);               // 1.959963984540054
//   double p = two_sided_normal_p(2.1);              // 0.0357...
//   double q = chi_square_sf(3.84, 1);               // 0.0500...
//   Proportion s = wilson_interval(45, 50, 0.95);    // s.estimate 0.9, s.lower, s.upper
//
// Accuracy: normal_quantile ~1e-16 relative (Wichura AS241), chi_square_sf ~1e-14 relative.
#pragma once

#include <cstddef>
#include <optional>

namespace scintigen::stats {

// Standard normal CDF and upper tail, via erfc (no cancellation in the tails).
double normal_cdf(double z);
double normal_sf(double z);
// 2 * P(Z > |z|): the two-sided p-value of a z statistic.
double two_sided_normal_p(double z);
// Inverse of normal_cdf for 0 < p < 1.
// Ref: M. J. Wichura, Algorithm AS 241: The percentage points of the normal distribution,
//      Applied Statistics 37(3):477-484, 1988 (PPND16).
double normal_quantile(double p);
// The critical value z_{1-(1-conf)/2} of a two-sided interval (1.96 for conf = 0.95).
// Throws InputError unless 0 < conf_level < 1.
double two_sided_z(double conf_level);

// Upper tail P(X > x) of the chi-square distribution with `df` > 0 degrees of freedom.
// Ref: regularised incomplete gamma by series / Lentz continued fraction
//      (Press et al., Numerical Recipes, 3rd ed., section 6.2).
double chi_square_sf(double x, double df);

// Two-sided p-value 2 * P(T > |t|) of Student's t with `df` > 0 degrees of freedom (df may be
// fractional, as in Welch's test).
// Ref: I_x(a, b) by the continued fraction of Press et al., Numerical Recipes, 3rd ed., 6.4;
//      P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2).
double student_t_two_sided_p(double t, double df);

// A binomial proportion x / n with a two-sided confidence interval. `estimate`, `lower` and
// `upper` are empty when n = 0 (the proportion is undefined, e.g. PPV with no positive calls).
struct Proportion {
  size_t successes = 0;
  size_t trials = 0;
  double conf_level = 0.95;
  std::optional<double> estimate, lower, upper;
};

// Wilson score interval without continuity correction; equals statsmodels
// proportion_confint(x, n, alpha, method="wilson").
// Ref: E. B. Wilson, Probable inference, the law of succession, and statistical inference,
//      JASA 22(158):209-212, 1927.
Proportion wilson_interval(size_t successes, size_t trials, double conf_level = 0.95);

}  // namespace scintigen::stats
