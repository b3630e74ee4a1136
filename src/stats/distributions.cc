#include "stats/distributions.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace scintigen::stats {

double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}
double normal_sf(double z) {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}
double two_sided_normal_p(double z) {
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

namespace {

// Horner evaluation of c[0] + c[1] x + ... + c[7] x^7.
double poly8(const double (&c)[8], double x) {
  double v = c[7];
  for (int i = 6; i >= 0; --i) v = v * x + c[i];
  return v;
}

// Ref: Wichura (1988), AS 241 PPND16 coefficients, lowest order first.
constexpr double kA[8] = {3.387132872796366608,  133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
                          45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727};
constexpr double kB[8] = {1.0,
                          42.313330701600911252,
                          687.1870074920579083,
                          5394.1960214247511077,
                          21213.794301586595867,
                          39307.89580009271061,
                          28729.085735721942674,
                          5226.495278852545925};
constexpr double kC[8] = {1.42343711074968357734,   4.6303378461565452959,   5.7694972214606914055,
                          3.64784832476320460504,   1.27045825245236838258,  0.24178072517745061177,
                          0.0227238449892691845833, 7.7454501427834140764e-4};
constexpr double kD[8] = {1.0,
                          2.05319162663775882187,
                          1.6763848301838038494,
                          0.68976733498510000455,
                          0.14810397642748007459,
                          0.0151986665636164571966,
                          5.475938084995344946e-4,
                          1.05075007164441684324e-9};
constexpr double kE[8] = {6.6579046435011037772,     5.4637849111641143699,    1.7848265399172913358,
                          0.29656057182850489123,    0.026532189526576123093,  0.0012426609473880784386,
                          2.71155556874348757815e-5, 2.01033439929228813265e-7};
constexpr double kF[8] = {1.0,
                          0.59983220655588793769,
                          0.13692988092273580531,
                          0.0148753612908506148525,
                          7.868691311456132591e-4,
                          1.8463183175100546818e-5,
                          1.4215117583164458887e-7,
                          2.04426310338993978564e-15};

}  // namespace

double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) {
    if (p == 0.0) return -std::numeric_limits<double>::infinity();
    if (p == 1.0) return std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q * poly8(kA, r) / poly8(kB, r);
  }
  double r = std::sqrt(-std::log(q < 0 ? p : 1.0 - p));
  const double x = r <= 5.0 ? poly8(kC, r - 1.6) / poly8(kD, r - 1.6) : poly8(kE, r - 5.0) / poly8(kF, r - 5.0);
  return q < 0 ? -x : x;
}

double two_sided_z(double conf_level) {
  if (!(conf_level > 0.0 && conf_level < 1.0))
    throw InputError("confidence level", "must lie strictly between 0 and 1, got " + std::to_string(conf_level),
                     "use e.g. 0.95");
  return normal_quantile(1.0 - (1.0 - conf_level) / 2.0);
}

namespace {

// P(a, x) by its series, for x < a + 1.
double gamma_p_series(double a, double x) {
  double ap = a, sum = 1.0 / a, del = sum;
  for (int n = 0; n < 100000; ++n) {
    ap += 1.0;
    del *= x / ap;
    sum += del;
    if (std::fabs(del) < std::fabs(sum) * 1e-17) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1.
double gamma_q_fraction(double a, double x) {
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-17) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double chi_square_sf(double x, double df) {
  if (!(df > 0.0) || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double a = df / 2.0, y = x / 2.0;
  return y < a + 1.0 ? 1.0 - gamma_p_series(a, y) : gamma_q_fraction(a, y);
}

namespace {

// Continued fraction of the incomplete beta function (modified Lentz).
double beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < 100000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-16) break;
  }
  return h;
}

// Regularised incomplete beta I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_fraction(a, b, x) / a;
  return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

}  // namespace

double student_t_two_sided_p(double t, double df) {
  if (!(df > 0.0) || std::isnan(t)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return 0.0;
  return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

Proportion wilson_interval(size_t successes, size_t trials, double conf_level) {
  const double z = two_sided_z(conf_level);
  Proportion p;
  p.successes = successes;
  p.trials = trials;
  p.conf_level = conf_level;
  if (successes > trials)
    throw InternalError("wilson_interval",
                        std::to_string(successes) + " successes in " + std::to_string(trials) + " trials");
  if (trials == 0) return p;
  // Ref: Wilson (1927); written as in statsmodels proportion_confint(method="wilson").
  const double n = static_cast<double>(trials), q = successes / n, z2 = z * z;
  const double denom = 1.0 + z2 / n;
  const double center = (q + z2 / (2.0 * n)) / denom;
  const double half = z * std::sqrt(q * (1.0 - q) / n + z2 / (4.0 * n * n)) / denom;
  p.estimate = q;
  p.lower = std::max(0.0, center - half);
  p.upper = std::min(1.0, center + half);
  return p;
}

}  // namespace scintigen::stats
