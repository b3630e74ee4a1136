#include "audit/image_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/random_streams.h"
#include "core/shuffle.h"
#include "stats/json.h"
#include "stats/roc.h"

namespace scintigen::audit {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// R's type-7 quantile of unsorted values (as stats::quantile_type7 of the sorted ones), by
// selection: x[lo] + (h - lo) (x[lo + 1] - x[lo]), h = (n - 1) prob, lo = floor(h).
double quantile_of(std::vector<double> v, double prob) {
  const double h = (static_cast<double>(v.size()) - 1.0) * prob;
  const size_t lo = static_cast<size_t>(std::floor(h));
  std::nth_element(v.begin(), v.begin() + lo, v.end());
  const double x_lo = v[lo];
  if (lo + 1 >= v.size()) return x_lo;
  const double x_hi = *std::min_element(v.begin() + lo + 1, v.end());
  return x_lo + (h - static_cast<double>(lo)) * (x_hi - x_lo);
}

// The body mask of one view: x > 0.02 * q99 of the view.
std::vector<char> body_mask(const float* x, size_t n) {
  const double q99 = quantile_of(std::vector<double>(x, x + n), 0.99);
  const double thr = 0.02 * q99;
  std::vector<char> mask(n);
  for (size_t i = 0; i < n; ++i) mask[i] = x[i] > thr;
  return mask;
}

void check_values(const std::vector<double>& v, const std::string& where, const char* which) {
  if (v.empty()) throw InputError(where, fmt::format("the {} set is empty", which), "pass at least one value per set");
  for (double x : v)
    if (!std::isfinite(x))
      throw InputError(where, fmt::format("the {} set holds a non-finite value", which),
                       "drop scans whose statistics are undefined");
}

// D of two sorted sets.
double ks_sorted(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  size_t i = 0, j = 0;
  double d = 0.0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
  return d;
}

// W1 of two sorted sets: the integral of |F_a - F_b| between consecutive pooled values.
double w1_sorted(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  size_t i = 0, j = 0;
  double w = 0.0;
  double prev = std::min(a.front(), b.front());
  while (i < a.size() || j < b.size()) {
    double x;
    if (j >= b.size() || (i < a.size() && a[i] <= b[j]))
      x = a[i];
    else
      x = b[j];
    w += std::fabs(static_cast<double>(i) / n - static_cast<double>(j) / m) * (x - prev);
    prev = x;
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
  }
  return w;
}

// num / den for a spread den >= 0: 0 / 0 is 0 (no difference where nothing varies), x / 0 infinite.
double ratio_or_inf(double num, double den) {
  if (den > 0.0) return num / den;
  if (num == 0.0) return 0.0;
  return std::copysign(std::numeric_limits<double>::infinity(), num);
}

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return kNaN;
  const double m = mean_of(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// The values of `sorted` at the bootstrap indices `idx`, in sorted order (a counting pass over
// the indices: the indices of a sorted array, sorted, give sorted values).
std::vector<double> resample_sorted(const std::vector<double>& sorted, const std::vector<size_t>& counts) {
  std::vector<double> out;
  out.reserve(sorted.size());
  for (size_t k = 0; k < sorted.size(); ++k) out.insert(out.end(), counts[k], sorted[k]);
  return out;
}

std::vector<double> mean_histogram(const std::vector<ScanStats>& set, const std::vector<size_t>& counts) {
  std::vector<double> h(kHistogramBins, 0.0);
  double total = 0.0;
  for (size_t i = 0; i < set.size(); ++i) {
    if (counts[i] == 0) continue;
    for (int k = 0; k < kHistogramBins; ++k) h[k] += static_cast<double>(counts[i]) * set[i].histogram[k];
    total += static_cast<double>(counts[i]);
  }
  for (double& x : h) x /= total;
  return h;
}

nlohmann::json summary_json(const ValueSummary& s) {
  using stats::json_number;
  return {{"mean", json_number(s.mean)}, {"sd", json_number(s.sd)},         {"min", json_number(s.min)},
          {"q1", json_number(s.q1)},     {"median", json_number(s.median)}, {"q3", json_number(s.q3)},
          {"max", json_number(s.max)}};
}

}  // namespace

std::vector<double> histogram_edges() {
  std::vector<double> e(kHistogramBins + 1);
  for (int k = 0; k <= kHistogramBins; ++k) e[k] = std::pow(10.0, -2.0 + k / 10.0);
  return e;
}

ScanStats scan_stats(const Scan& scan) {
  const std::string where = scan.id.empty() ? std::string("scan") : "scan " + scan.id;
  if (scan.height < 3 || scan.width < 3)
    throw InputError(where, fmt::format("the image is {} x {} pixels", scan.height, scan.width),
                     "image statistics need at least 3 x 3 pixels per view");
  const size_t n = scan.view_size();
  if (scan.pixels.size() != 2 * n)
    throw InputError(where, fmt::format("holds {} values for 2 x {} x {}", scan.pixels.size(), scan.height, scan.width),
                     "a scan stores (2, H, W) counts");
  ScanStats s;
  for (float v : scan.pixels) {
    if (!std::isfinite(v)) throw InputError(where, "holds a non-finite count", "check how the scan was made");
    s.total_counts += v;
  }
  const View main = scan.has_view(kAnterior) ? kAnterior : kPosterior;
  const float* x = scan.view(main);
  const std::vector<char> mask = body_mask(x, n);
  std::vector<double> body;
  for (size_t i = 0; i < n; ++i)
    if (mask[i]) body.push_back(x[i]);
  std::sort(body.begin(), body.end());
  const double median = body.empty() ? 0.0 : stats::quantile_type7(body, 0.5);
  if (!(median > 0.0))
    throw InputError(where, fmt::format("the {} view holds no counts", main == kAnterior ? "anterior" : "posterior"),
                     "image statistics need a scan with counts");

  // Bone-to-soft-tissue ratio.
  const size_t top = std::max<size_t>(1, static_cast<size_t>(std::ceil(0.05 * static_cast<double>(body.size()))));
  double top_sum = 0.0;
  for (size_t k = body.size() - top; k < body.size(); ++k) top_sum += body[k];
  s.bone_soft_ratio = top_sum / static_cast<double>(top) / median;

  // Body length.
  const int H = scan.height, W = scan.width;
  std::vector<double> row_sum(H, 0.0);
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) row_sum[r] += x[static_cast<size_t>(r) * W + c];
  const double max_row = *std::max_element(row_sum.begin(), row_sum.end());
  int rows = 0;
  for (double v : row_sum) rows += v > 0.1 * max_row;
  s.body_length_rows = rows;

  // High-frequency excess over Poisson, over the present views.
  double r2 = 0.0, sx = 0.0;
  for (View v : {kAnterior, kPosterior}) {
    if (!scan.has_view(v)) continue;
    const float* p = scan.view(v);
    const std::vector<char> m = v == main ? mask : body_mask(p, n);
    for (int r = 1; r + 1 < H; ++r)
      for (int c = 1; c + 1 < W; ++c) {
        const size_t i = static_cast<size_t>(r) * W + c;
        if (!m[i]) continue;
        double box = 0.0;
        for (int dr = -1; dr <= 1; ++dr)
          for (int dc = -1; dc <= 1; ++dc) box += p[i + static_cast<ptrdiff_t>(dr) * W + dc];
        const double res = p[i] - box / 9.0;
        r2 += res * res;
        sx += p[i];
      }
  }
  s.high_frequency_ratio = sx > 0.0 ? r2 / (8.0 / 9.0 * sx) : kNaN;

  // Count histogram.
  s.histogram.assign(kHistogramBins, 0.0);
  for (double v : body) {
    const double t = std::log10(v / median);
    const int k = std::clamp(static_cast<int>(std::floor((t + 2.0) * 10.0)), 0, kHistogramBins - 1);
    s.histogram[k] += 1.0;
  }
  for (double& h : s.histogram) h /= static_cast<double>(body.size());
  return s;
}

const std::vector<std::string>& scan_stat_names() {
  static const std::vector<std::string> names = {"total_counts", "bone_soft_ratio", "body_length_rows",
                                                 "high_frequency_ratio"};
  return names;
}

std::vector<double> scan_stat_values(const ScanStats& s) {
  return {s.total_counts, s.bone_soft_ratio, s.body_length_rows, s.high_frequency_ratio};
}

double kolmogorov_sf(double z) {
  if (!(z > 0.0)) return 1.0;
  if (z < 1.0) {
    // 1 - sqrt(2 pi) / z sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 z^2)): the CDF's series converges fast here.
    const double w = M_PI * M_PI / (8.0 * z * z);
    double cdf = 0.0;
    for (int k = 1; k <= 50; ++k) {
      const double t = std::exp(-(2.0 * k - 1) * (2.0 * k - 1) * w);
      cdf += t;
      if (t < 1e-300) break;
    }
    return 1.0 - std::sqrt(2.0 * M_PI) / z * cdf;
  }
  double sf = 0.0;
  for (int k = 1; k <= 100; ++k) {
    const double t = std::exp(-2.0 * k * k * z * z);
    sf += (k % 2 ? 2.0 : -2.0) * t;
    if (t < 1e-300) break;
  }
  return std::clamp(sf, 0.0, 1.0);
}

namespace {

// One-sided Smirnov P(D_n^+ >= d) by the Birnbaum-Tingey sum
// d sum_{j=0}^{floor(n (1 - d))} C(n, j) (1 - d - j/n)^(n - j) (d + j/n)^(j - 1), in logs
// (every term is positive). Ref: Z. W. Birnbaum, F. H. Tingey, One-sided confidence contours
// for probability distribution functions, Ann. Math. Statist. 22(4):592-596, 1951.
double smirnov_sf(int n, double d) {
  if (d <= 0.0) return 1.0;
  if (d >= 1.0) return 0.0;
  const double nd = static_cast<double>(n);
  const int jmax = static_cast<int>(std::floor(nd * (1.0 - d)));
  const double lg_n = std::lgamma(nd + 1.0);
  double sum = 0.0;
  for (int j = 0; j <= jmax; ++j) {
    const double a = 1.0 - d - j / nd, b = d + j / nd;
    if (a <= 0.0 && n - j > 0) continue;
    const double log_term = lg_n - std::lgamma(j + 1.0) - std::lgamma(nd - j + 1.0) +
                            (n - j > 0 ? (n - j) * std::log(a) : 0.0) + (j - 1) * std::log(b);
    sum += std::exp(log_term);
  }
  return std::clamp(d * sum, 0.0, 1.0);
}

// P(D_n <= d) by Durbin's matrix, as computed by Marsaglia, Tsang and Wang (scaled powers).
// Ref: J. Durbin, The probability that the sample distribution function lies between two
//      parallel straight lines, Ann. Math. Statist. 39:398-411, 1968; G. Marsaglia, W. W. Tsang,
//      J. Wang, Evaluating Kolmogorov's distribution, J. Stat. Softw. 8(18), 2003.
double kolmogorov_n_cdf_durbin(int n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = n * d;
  if (nd <= 0.5) return 0.0;
  const int k = static_cast<int>(std::ceil(nd));
  const double h = k - nd;
  const int m = 2 * k - 1;
  using Matrix = std::vector<double>;  // m x m, row-major
  auto mul = [m](const Matrix& a, const Matrix& b) {
    Matrix c(static_cast<size_t>(m) * m, 0.0);
    for (int i = 0; i < m; ++i)
      for (int l = 0; l < m; ++l) {
        const double x = a[i * m + l];
        if (x == 0.0) continue;
        for (int j = 0; j < m; ++j) c[i * m + j] += x * b[l * m + j];
      }
    return c;
  };
  std::vector<double> v(m), w(m);
  double fac = 1.0;
  for (int j = 1; j <= m; ++j) {
    v[j - 1] = 1.0 - std::pow(h, j);
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  const double tt = std::pow(std::max(2 * h - 1.0, 0.0), m) - 2 * std::pow(h, m);
  v[m - 1] = (1.0 + tt) * fac;
  Matrix H(static_cast<size_t>(m) * m, 0.0);
  for (int i = 1; i < m; ++i)
    for (int r = i - 1; r < m; ++r) H[r * m + i] = w[r - (i - 1)];
  for (int r = 0; r < m; ++r) H[r * m] = v[r];
  for (int c = 0; c < m; ++c) H[(m - 1) * m + c] = v[m - 1 - c];
  const double big = std::ldexp(1.0, 128);
  Matrix P(static_cast<size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i) P[i * m + i] = 1.0;
  int e = 0, he = 0;
  for (int left = n; left > 0; left /= 2) {
    if (left % 2) {
      P = mul(P, H);
      e += he;
    }
    H = mul(H, H);
    he *= 2;
    if (std::fabs(H[(k - 1) * m + k - 1]) > big) {
      for (double& x : H) x /= big;
      he += 128;
    }
  }
  double p = P[(k - 1) * m + k - 1];
  for (int i = 1; i <= n; ++i) {  // times n! / n^n
    p = i * p / n;
    if (std::fabs(p) < 1.0 / big) {
      p *= big;
      e -= 128;
    }
  }
  return std::clamp(std::ldexp(p, e), 0.0, 1.0);
}

// P(D_n <= x) by the Pelz-Good asymptotic series (as scipy.stats._ksstats).
// Ref: W. Pelz, I. J. Good, Approximating the lower tail-areas of the Kolmogorov-Smirnov
//      one-sample statistic, J. R. Statist. Soc. B 38(2):152-156, 1976.
double kolmogorov_n_cdf_pelz_good(int n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double pi2 = M_PI * M_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2, sqrt2pi = std::sqrt(2 * M_PI);
  const double z = std::sqrt(static_cast<double>(n)) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0.0;
  double q = std::exp(qlog);
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
  const double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * std::pow(z, 8);
  double K[4] = {0, 0, 0, 0};
  const int maxk = static_cast<int>(std::ceil(16 * z / M_PI));
  for (int k = maxk; k >= 1; --k) {
    const double mm = 2.0 * k - 1, m2 = mm * mm, m4 = m2 * m2, m6 = m4 * m2;
    const double qp = std::pow(q, 8.0 * k);
    const double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; ++i) K[i] = K[i] * qp + c[i];
  }
  const double den[4] = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int i = 0; i < 4; ++i) K[i] = K[i] * q * sqrt2pi / den[i];
  q = std::exp(-pi2 / 2 / z2);
  double k2extra = 0.0, k3extra = 0.0;
  const double s3z = std::sqrt(3.0) * z;
  for (int k = maxk; k >= 1; --k) {
    const double k2 = static_cast<double>(k) * k, qk = std::pow(q, k2), kpi = M_PI * k;
    k2extra += k2 * qk;
    k3extra += (s3z + kpi) * (s3z - kpi) * k2 * qk;
  }
  K[2] += k2extra * (pi2 * sqrt2pi / (-36 * z3));
  K[3] += k3extra * (pi2 * sqrt2pi / (216 * z6));
  double sum = 0.0;
  for (int i = 0; i < 4; ++i) sum += K[i] / std::pow(static_cast<double>(n), i / 2.0);
  return sum;
}

// log(n! / n^n) by Stirling's series (as scipy.stats._ksstats).
double log_nfactorial_div_n_pow_n(int n) {
  static const double c[8] = {-2.955065359477124183e-2,  6.4102564102564102564e-3, -1.9175269175269175269e-3,
                              8.4175084175084175084e-4,  -5.952380952380952381e-4, 7.9365079365079365079e-4,
                              -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n, t = rn / n;
  double poly = 0.0;
  for (double ci : c) poly = poly * t + ci;
  return std::log(static_cast<double>(n)) / 2 - n + std::log(2 * M_PI) / 2 + rn * poly;
}

}  // namespace

double kolmogorov_n_sf(int n, double x) {
  if (n <= 0) throw InternalError("kolmogorov_n_sf", fmt::format("n = {}", n), "n must be positive");
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double t = n * x;
  if (t <= 1.0) {  // Ruben-Gambino
    if (t <= 0.5) return 1.0;
    double cdf;
    if (n <= 140) {
      cdf = 1.0;
      for (int i = 1; i <= n; ++i) cdf *= i * (1.0 / n) * (2 * t - 1);
    } else {
      cdf = std::exp(log_nfactorial_div_n_pow_n(n) + n * std::log(2 * t - 1));
    }
    return std::clamp(1.0 - cdf, 0.0, 1.0);
  }
  if (t >= n - 1) return std::clamp(2 * std::pow(1.0 - x, n), 0.0, 1.0);
  if (x >= 0.5) return std::clamp(2 * smirnov_sf(n, x), 0.0, 1.0);
  const double nxx = t * x;
  if (n <= 140) {
    // scipy uses Durbin's matrix up to n x^2 = 0.754693 and Pomeranz's recursion up to 4; both are
    // exact, Durbin's matrix serves both here.
    if (nxx <= 4.0) return std::clamp(1.0 - kolmogorov_n_cdf_durbin(n, x), 0.0, 1.0);
    return std::clamp(2 * smirnov_sf(n, x), 0.0, 1.0);
  }
  if (nxx >= 370.0) return 0.0;
  if (nxx >= 2.2) return std::clamp(2 * smirnov_sf(n, x), 0.0, 1.0);
  double cdf;
  if (n <= 100000 && n * std::pow(x, 1.5) <= 1.4)
    cdf = kolmogorov_n_cdf_durbin(n, x);
  else
    cdf = kolmogorov_n_cdf_pelz_good(n, x);
  return std::clamp(1.0 - cdf, 0.0, 1.0);
}

KsResult ks_two_sample(const std::vector<double>& a, const std::vector<double>& b, const std::string& where) {
  check_values(a, where, "reference");
  check_values(b, where, "other");
  std::vector<double> sa = a, sb = b;
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  KsResult r;
  r.statistic = ks_sorted(sa, sb);
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  // As scipy.stats.ks_2samp(method='asymp'): the one-sample law at n m / (n + m), rounded half to even.
  const double en = std::nearbyint(std::max(n, m) * std::min(n, m) / (n + m));
  r.p_value = kolmogorov_n_sf(static_cast<int>(std::max(1.0, en)), r.statistic);
  return r;
}

double wasserstein1(const std::vector<double>& a, const std::vector<double>& b, const std::string& where) {
  check_values(a, where, "reference");
  check_values(b, where, "other");
  std::vector<double> sa = a, sb = b;
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  return w1_sorted(sa, sb);
}

double total_variation(const std::vector<double>& p, const std::vector<double>& q, const std::string& where) {
  if (p.size() != q.size())
    throw InputError(where, fmt::format("the histograms have {} and {} bins", p.size(), q.size()),
                     "compare histograms on the same bins");
  double s = 0.0;
  for (size_t k = 0; k < p.size(); ++k) s += std::fabs(p[k] - q[k]);
  return 0.5 * s;
}

ValueSummary summarize(const std::vector<double>& values) {
  ValueSummary s;
  s.n = values.size();
  if (values.empty()) return s;
  std::vector<double> v = values;
  std::sort(v.begin(), v.end());
  s.mean = mean_of(v);
  s.sd = sd_of(v);
  s.min = v.front();
  s.max = v.back();
  s.q1 = stats::quantile_type7(v, 0.25);
  s.median = stats::quantile_type7(v, 0.5);
  s.q3 = stats::quantile_type7(v, 0.75);
  return s;
}

ImageStatsComparison compare_image_stats(const std::vector<ScanStats>& reference, const std::vector<ScanStats>& other,
                                         int bootstrap, double conf_level, uint64_t seed) {
  if (reference.size() < 2)
    throw InputError("reference", fmt::format("{} scans", reference.size()), "image statistics need at least 2 scans");
  if (other.size() < 2)
    throw InputError("other", fmt::format("{} scans", other.size()), "image statistics need at least 2 scans");
  if (bootstrap < 0)
    throw ConfigError("bootstrap", fmt::format("{} replicates", bootstrap), "use 0 (no intervals) or more");
  if (!(conf_level > 0.0 && conf_level < 1.0))
    throw ConfigError("conf_level", fmt::format("{} is not in (0, 1)", conf_level), "use e.g. 0.95");
  for (const auto* set : {&reference, &other})
    for (const ScanStats& s : *set)
      if (s.histogram.size() != static_cast<size_t>(kHistogramBins))
        throw InputError(set == &reference ? "reference" : "other",
                         fmt::format("a histogram has {} bins, not {}", s.histogram.size(), kHistogramBins),
                         "make the statistics with scan_stats");

  ImageStatsComparison c;
  c.bootstrap = bootstrap;
  c.conf_level = conf_level;
  c.seed = seed;
  c.histogram_edges = histogram_edges();
  const auto& names = scan_stat_names();
  const size_t ns = names.size(), n = reference.size(), m = other.size();

  // Per statistic: the values of each set, sorted, with the permutation that sorted them.
  std::vector<std::vector<double>> ref_sorted(ns), oth_sorted(ns);
  std::vector<std::vector<size_t>> ref_order(ns), oth_order(ns);
  auto sorted_column = [&](const std::vector<ScanStats>& set, size_t k, std::vector<double>* vals,
                           std::vector<size_t>* order) {
    std::vector<double> col(set.size());
    for (size_t i = 0; i < set.size(); ++i) col[i] = scan_stat_values(set[i])[k];
    order->resize(set.size());
    std::iota(order->begin(), order->end(), size_t{0});
    std::stable_sort(order->begin(), order->end(), [&](size_t x, size_t y) { return col[x] < col[y]; });
    vals->resize(set.size());
    for (size_t i = 0; i < set.size(); ++i) (*vals)[i] = col[(*order)[i]];
    return col;
  };
  for (size_t k = 0; k < ns; ++k) {
    StatDistance d;
    d.name = names[k];
    const std::vector<double> a = sorted_column(reference, k, &ref_sorted[k], &ref_order[k]);
    const std::vector<double> b = sorted_column(other, k, &oth_sorted[k], &oth_order[k]);
    const std::string where = "image statistic " + names[k];
    d.ks = ks_two_sample(a, b, where);
    d.wasserstein = w1_sorted(ref_sorted[k], oth_sorted[k]);
    d.reference = summarize(a);
    d.other = summarize(b);
    d.wasserstein_sd = ratio_or_inf(d.wasserstein, d.reference.sd);
    const double pooled = std::sqrt(0.5 * (d.reference.sd * d.reference.sd + d.other.sd * d.other.sd));
    d.smd = ratio_or_inf(d.other.mean - d.reference.mean, pooled);
    d.ci_lower = d.ci_upper = kNaN;
    c.statistics.push_back(d);
  }
  const std::vector<size_t> ones_n(n, 1), ones_m(m, 1);
  c.reference_histogram = mean_histogram(reference, ones_n);
  c.other_histogram = mean_histogram(other, ones_m);
  c.histogram_tv = total_variation(c.reference_histogram, c.other_histogram);
  c.tv_ci_lower = c.tv_ci_upper = kNaN;
  if (bootstrap == 0) return c;

  std::vector<std::vector<double>> w_rep(ns, std::vector<double>(bootstrap));
  std::vector<double> tv_rep(bootstrap);
  std::vector<size_t> cnt_ref(n), cnt_oth(m), sorted_cnt_ref(n), sorted_cnt_oth(m);
  for (int rep = 0; rep < bootstrap; ++rep) {
    Rng rng = stream_rng(seed, RandomStream::kAuditBootstrap, static_cast<uint64_t>(rep));
    std::fill(cnt_ref.begin(), cnt_ref.end(), 0);
    std::fill(cnt_oth.begin(), cnt_oth.end(), 0);
    for (size_t i = 0; i < n; ++i) ++cnt_ref[bounded(rng, n)];
    for (size_t i = 0; i < m; ++i) ++cnt_oth[bounded(rng, m)];
    for (size_t k = 0; k < ns; ++k) {
      for (size_t i = 0; i < n; ++i) sorted_cnt_ref[i] = cnt_ref[ref_order[k][i]];
      for (size_t i = 0; i < m; ++i) sorted_cnt_oth[i] = cnt_oth[oth_order[k][i]];
      const std::vector<double> a = resample_sorted(ref_sorted[k], sorted_cnt_ref);
      const std::vector<double> b = resample_sorted(oth_sorted[k], sorted_cnt_oth);
      w_rep[k][rep] = ratio_or_inf(w1_sorted(a, b), sd_of(a));
    }
    tv_rep[rep] = total_variation(mean_histogram(reference, cnt_ref), mean_histogram(other, cnt_oth));
  }
  const double lo = (1.0 - conf_level) / 2.0, hi = 1.0 - lo;
  for (size_t k = 0; k < ns; ++k) {
    std::sort(w_rep[k].begin(), w_rep[k].end());
    c.statistics[k].ci_lower = stats::quantile_type7(w_rep[k], lo);
    c.statistics[k].ci_upper = stats::quantile_type7(w_rep[k], hi);
  }
  std::sort(tv_rep.begin(), tv_rep.end());
  c.tv_ci_lower = stats::quantile_type7(tv_rep, lo);
  c.tv_ci_upper = stats::quantile_type7(tv_rep, hi);
  return c;
}

nlohmann::json to_json(const ImageStatsComparison& c) {
  using stats::json_number;
  auto ci = [&](double lower, double upper) {
    return stats::interval_json(c.conf_level, lower, upper, "percentile bootstrap");
  };
  auto set_json = [&](bool ref) {
    nlohmann::json s = nlohmann::json::object();
    for (const StatDistance& d : c.statistics) s[d.name] = summary_json(ref ? d.reference : d.other);
    nlohmann::json h = nlohmann::json::array();
    for (double v : ref ? c.reference_histogram : c.other_histogram) h.push_back(json_number(v));
    const size_t n = c.statistics.empty() ? 0 : (ref ? c.statistics[0].reference.n : c.statistics[0].other.n);
    return nlohmann::json{{"n", n}, {"statistics", s}, {"histogram", h}};
  };
  nlohmann::json distances = nlohmann::json::object();
  for (const StatDistance& d : c.statistics) {
    distances[d.name] = {
        {"ks",
         {{"statistic", json_number(d.ks.statistic)},
          {"p_value", json_number(d.ks.p_value)},
          {"method", "two-sample Kolmogorov-Smirnov, asymptotic (as scipy ks_2samp method=asymp)"}}},
        {"wasserstein", json_number(d.wasserstein)},
        {"wasserstein_sd", {{"estimate", json_number(d.wasserstein_sd)}, {"ci", ci(d.ci_lower, d.ci_upper)}}},
        {"smd", json_number(d.smd)}};
  }
  nlohmann::json edges = nlohmann::json::array();
  for (double e : c.histogram_edges) edges.push_back(e);
  return {{"reference", set_json(true)},
          {"other", set_json(false)},
          {"histogram_edges", edges},
          {"distances", distances},
          {"histogram_tv", {{"estimate", json_number(c.histogram_tv)}, {"ci", ci(c.tv_ci_lower, c.tv_ci_upper)}}},
          {"bootstrap", {{"replicates", c.bootstrap}, {"seed", c.seed}, {"rng", "xoshiro256** kAuditBootstrap"}}}};
}

}  // namespace scintigen::audit
