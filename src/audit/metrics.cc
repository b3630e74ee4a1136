// Feature-space metrics of the audit (metrics.h): FD, KD, precision/recall, density/coverage and
// their bootstrap intervals. Matrix products and eigendecompositions go through ATen in float64.
#include "audit/metrics.h"

#include <ATen/ATen.h>
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

constexpr double kEps = std::numeric_limits<double>::epsilon();

void check_set(const Features& f, const std::string& where, size_t min_rows, const std::string& why) {
  if (f.n == 0 || f.d == 0)
    throw InputError(where, "the feature set is empty", "give at least " + std::to_string(min_rows) + " scans");
  if (f.x.size() != f.n * f.d)
    throw InputError(where, fmt::format("holds {} values for {} x {} features", f.x.size(), f.n, f.d),
                     "build it with Features(n, d)");
  if (f.n < min_rows)
    throw InputError(where, fmt::format("{} feature vectors are too few for {}", f.n, why),
                     "give at least " + std::to_string(min_rows) + " scans");
  for (size_t i = 0; i < f.x.size(); ++i)
    if (!std::isfinite(f.x[i]))
      throw InputError(where, fmt::format("feature {} of vector {} is not finite", i % f.d, i / f.d),
                       "check the encoder's output for NaN or infinity");
}

void check_pair(const Features& a, const Features& b, const std::string& where_a, const std::string& where_b,
                size_t min_rows, const std::string& why) {
  check_set(a, where_a, min_rows, why);
  check_set(b, where_b, min_rows, why);
  if (a.d != b.d)
    throw InputError(where_b, fmt::format("has {} features per scan but {} has {}", b.d, where_a, a.d),
                     "embed both sets with the same encoder");
}

// (n, d) view of the features; read only.
at::Tensor as_tensor(const Features& f) {
  return at::from_blob(const_cast<double*>(f.x.data()), {static_cast<int64_t>(f.n), static_cast<int64_t>(f.d)},
                       at::TensorOptions().dtype(at::kDouble));
}

// Eigenvalues below the decomposition's rounding level (d eps max |lambda|) set to 0: square roots
// would turn that noise (~1e-16) into errors of ~1e-8 where a covariance is rank-deficient (d > n).
at::Tensor clip_eigenvalues(const at::Tensor& l) {
  const double tol = static_cast<double>(l.size(0)) * kEps * l.abs().max().item<double>();
  return at::where(l > tol, l, at::zeros_like(l));
}

// tr (S_a^1/2 S_b S_a^1/2)^1/2 of two symmetric PSD (d, d) matrices: the sum of the square roots
// of the eigenvalues of R^T S_b R for any R with R R^T = S_a (R^T S_b R is similar to S_a S_b).
// R is the Cholesky factor when S_a is clearly positive definite (n > d: a quarter of the cost of
// an eigendecomposition), else V L^1/2 from eigh, which handles rank deficiency.
double trace_sqrt_product(const at::Tensor& sa, const at::Tensor& sb) {
  const int64_t d = sa.size(0);
  at::Tensor r;
  auto [chol, info] = at::linalg_cholesky_ex(sa);
  const double max_diag = sa.diagonal().max().item<double>();
  if (info.item<int>() == 0 &&
      chol.diagonal().pow(2).min().item<double>() > 1e3 * static_cast<double>(d) * kEps * max_diag) {
    r = chol;  // (d, d) lower triangular
  } else {
    auto [la, va] = at::linalg_eigh(sa);
    r = va * clip_eigenvalues(la).sqrt().unsqueeze(0);  // (d, d): V L^1/2
  }
  at::Tensor m = at::matmul(r.t(), at::matmul(sb, r));
  m = (m + m.t()) * 0.5;
  return clip_eigenvalues(at::linalg_eigvalsh(m)).sqrt().sum().item<double>();
}

double frechet_from_moments(const at::Tensor& mu_a, const at::Tensor& sa, const at::Tensor& mu_b,
                            const at::Tensor& sb) {
  const double mean_term = (mu_a - mu_b).pow(2).sum().item<double>();
  const double tr = sa.trace().item<double>() + sb.trace().item<double>();
  return mean_term + tr - 2.0 * trace_sqrt_product(sa, sb);
}

// Sample covariance (d, d) of the rows of x (n, d), denominator n - 1.
at::Tensor covariance(const at::Tensor& xc, int64_t n) {
  return at::matmul(xc.t(), xc) / static_cast<double>(n - 1);
}

// Sum of squared differences of two rows, in index order: exact ties give equal values.
double exact_sq_dist(const double* x, const double* y, size_t d) {
  double s = 0.0;
  for (size_t k = 0; k < d; ++k) {
    const double t = x[k] - y[k];
    s += t * t;
  }
  return s;
}

std::vector<double> sq_norms(const Features& f) {
  std::vector<double> out(f.n);
  for (size_t i = 0; i < f.n; ++i) {
    double s = 0.0;
    const double* r = f.row(i);
    for (size_t k = 0; k < f.d; ++k) s += r[k] * r[k];
    out[i] = s;
  }
  return out;
}

// Bound on |Gram-based squared distance - exact| for rows of squared norms p and q: the dot
// product's rounding (gamma_d |x||y|) plus the norms' and the sum's (Higham, Accuracy and
// Stability of Numerical Algorithms, 2002, sec. 3.1), with a factor 2 to spare.
double distance_slack(double p, double q, size_t d) {
  return 2.0 * (2.0 * static_cast<double>(d) + 8.0) * kEps * (p + q) + std::numeric_limits<double>::min();
}

// Squared radii (exact) of the k-th nearest neighbour within the set, itself excluded, for each
// k in ks, from the set's Gram matrix g (n, n).
std::vector<std::vector<double>> knn_sq_radii(const Features& f, const std::vector<double>& norms, const double* g,
                                              const std::vector<int>& ks) {
  const size_t n = f.n;
  const int kmax = *std::max_element(ks.begin(), ks.end());
  const double max_norm = *std::max_element(norms.begin(), norms.end());
  std::vector<std::vector<double>> out(ks.size(), std::vector<double>(n));
  std::vector<double> approx(n - 1), sorted, exact;
  std::vector<size_t> idx(n - 1);
  for (size_t i = 0; i < n; ++i) {
    const double* gi = g + i * n;
    size_t c = 0;
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      approx[c] = std::max(0.0, norms[i] + norms[j] - 2.0 * gi[j]);
      idx[c++] = j;
    }
    sorted = approx;
    std::nth_element(sorted.begin(), sorted.begin() + (kmax - 1), sorted.end());
    const double v = sorted[kmax - 1];
    // Every point whose exact distance is <= the exact kmax-th lies within v + 2 slack.
    const double cut = v + 2.0 * distance_slack(norms[i], max_norm, f.d);
    exact.clear();
    for (size_t c2 = 0; c2 < n - 1; ++c2)
      if (approx[c2] <= cut) exact.push_back(exact_sq_dist(f.row(i), f.row(idx[c2]), f.d));
    std::sort(exact.begin(), exact.end());
    for (size_t t = 0; t < ks.size(); ++t) out[t][i] = exact[ks[t] - 1];
  }
  return out;
}

// d(x, y)^2 < r2, decided exactly: from the Gram value when rounding cannot change it.
bool inside(double approx, double r2, double slack, const double* x, const double* y, size_t d) {
  if (approx < r2 - slack) return true;
  if (approx > r2 + slack) return false;
  return exact_sq_dist(x, y, d) < r2;
}

// The Gram matrices of a pair of sets, reused for distances and kernels.
struct Grams {
  at::Tensor aa, bb, ab;  // (n, n), (m, m), (n, m), contiguous
};

Grams grams(const Features& a, const Features& b) {
  const at::Tensor ta = as_tensor(a), tb = as_tensor(b);
  return {at::matmul(ta, ta.t()).contiguous(), at::matmul(tb, tb.t()).contiguous(),
          at::matmul(ta, tb.t()).contiguous()};
}

Prdc prdc_from_grams(const Features& real, const Features& fake, const Grams& g, int k_pr, int k_dc) {
  const size_t n = real.n, m = fake.n, d = real.d;
  const std::vector<double> nr = sq_norms(real), nf = sq_norms(fake);
  const auto rr = knn_sq_radii(real, nr, g.aa.data_ptr<double>(), {k_pr, k_dc});
  const auto rf = knn_sq_radii(fake, nf, g.bb.data_ptr<double>(), {k_pr});
  const std::vector<double>&real_pr = rr[0], &real_dc = rr[1], &fake_pr = rf[0];

  Prdc out;
  out.k_pr = k_pr;
  out.k_dc = k_dc;
  PrdcItems& it = out.items;
  it.fake_in_real.assign(m, 0);
  it.fake_real_balls.assign(m, 0);
  it.real_in_fake.assign(n, 0);
  it.real_covered.assign(n, 0);
  const double* gab = g.ab.data_ptr<double>();
  for (size_t i = 0; i < n; ++i) {
    const double* gi = gab + i * m;
    for (size_t j = 0; j < m; ++j) {
      const double approx = std::max(0.0, nr[i] + nf[j] - 2.0 * gi[j]);
      const double slack = distance_slack(nr[i], nf[j], d);
      if (!it.fake_in_real[j] && inside(approx, real_pr[i], slack, real.row(i), fake.row(j), d)) it.fake_in_real[j] = 1;
      if (inside(approx, real_dc[i], slack, real.row(i), fake.row(j), d)) {
        ++it.fake_real_balls[j];
        it.real_covered[i] = 1;
      }
      if (!it.real_in_fake[i] && inside(approx, fake_pr[j], slack, real.row(i), fake.row(j), d)) it.real_in_fake[i] = 1;
    }
  }
  const double nd = static_cast<double>(n), md = static_cast<double>(m);
  out.precision = std::accumulate(it.fake_in_real.begin(), it.fake_in_real.end(), 0.0) / md;
  out.recall = std::accumulate(it.real_in_fake.begin(), it.real_in_fake.end(), 0.0) / nd;
  out.density = std::accumulate(it.fake_real_balls.begin(), it.fake_real_balls.end(), 0.0) / (k_dc * md);
  out.coverage = std::accumulate(it.real_covered.begin(), it.real_covered.end(), 0.0) / nd;
  return out;
}

// Gram (in place) -> cubic polynomial kernel (x.y / d + 1)^3.
void to_kernel(at::Tensor& g, size_t d) {
  g.div_(static_cast<double>(d)).add_(1.0);
  g.copy_(g * g * g);
}

// Unbiased MMD^2 from kernel matrices (contiguous).
double mmd2_from_kernels(const Grams& k) {
  const double n = static_cast<double>(k.aa.size(0)), m = static_cast<double>(k.bb.size(0));
  const double saa = k.aa.sum().item<double>() - k.aa.trace().item<double>();
  const double sbb = k.bb.sum().item<double>() - k.bb.trace().item<double>();
  const double sab = k.ab.sum().item<double>();
  return saa / (n * (n - 1)) + sbb / (m * (m - 1)) - 2.0 * sab / (n * m);
}

// Unbiased MMD^2 over subsets ia of a and ib of b (distinct indices each).
double mmd2_subset(const Grams& k, const std::vector<size_t>& ia, const std::vector<size_t>& ib) {
  const size_t n = k.aa.size(0), m = k.bb.size(0), s = ia.size();
  const double *kaa = k.aa.data_ptr<double>(), *kbb = k.bb.data_ptr<double>(), *kab = k.ab.data_ptr<double>();
  double saa = 0.0, sbb = 0.0, sab = 0.0;
  for (size_t p = 0; p < s; ++p) {
    const double* ra = kaa + ia[p] * n;
    const double* rb = kbb + ib[p] * m;
    const double* rab = kab + ia[p] * m;
    for (size_t q = 0; q < s; ++q) {
      if (q != p) {
        saa += ra[ia[q]];
        sbb += rb[ib[q]];
      }
      sab += rab[ib[q]];
    }
  }
  const double sd = static_cast<double>(s);
  return (saa + sbb) / (sd * (sd - 1)) - 2.0 * sab / (sd * sd);
}

// The first s entries of a partial Fisher-Yates shuffle of 0..n-1.
std::vector<size_t> draw_without_replacement(size_t n, size_t s, Rng& rng) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t{0});
  for (size_t i = 0; i < s; ++i) std::swap(p[i], p[i + bounded(rng, n - i)]);
  p.resize(s);
  return p;
}

KernelDistance kernel_distance_from_kernels(const Grams& k, int subsets, size_t subset_size, uint64_t seed) {
  const size_t n = k.aa.size(0), m = k.bb.size(0);
  KernelDistance out;
  out.mmd2 = mmd2_from_kernels(k);
  out.subsets = subsets;
  out.subset_size = std::min({subset_size, n, m});
  std::vector<double> v(subsets);
  for (int s = 0; s < subsets; ++s) {
    Rng rng = stream_rng(seed, RandomStream::kAuditSubsets, static_cast<uint64_t>(s));
    const std::vector<size_t> ia = draw_without_replacement(n, out.subset_size, rng);
    const std::vector<size_t> ib = draw_without_replacement(m, out.subset_size, rng);
    v[s] = mmd2_subset(k, ia, ib);
  }
  out.subset_mean = std::accumulate(v.begin(), v.end(), 0.0) / subsets;
  double ss = 0.0;
  for (double x : v) ss += (x - out.subset_mean) * (x - out.subset_mean);
  out.subset_sd = subsets > 1 ? std::sqrt(ss / (subsets - 1)) : 0.0;
  return out;
}

void check_k(int k, const char* name) {
  if (k < 1) throw ConfigError(name, fmt::format("is {}", k), "use a neighbour count of at least 1");
}

// The percentile interval; with `recentre`, shifted by estimate - mean(replicates), so that a
// statistic whose bias grows as a resample holds fewer distinct rows (FD) keeps the replicates'
// spread without their extra bias.
MetricCi percentile_ci(double estimate, std::vector<double> reps, double level, bool recentre = false) {
  MetricCi out{estimate, std::nan(""), std::nan("")};
  if (reps.empty()) return out;
  std::sort(reps.begin(), reps.end());
  double shift = 0.0;
  if (recentre) {
    double mean = 0.0;
    for (double v : reps) mean += v;
    shift = estimate - mean / static_cast<double>(reps.size());
  }
  out.lower = stats::quantile_type7(reps, (1.0 - level) / 2.0) + shift;
  out.upper = stats::quantile_type7(reps, (1.0 + level) / 2.0) + shift;
  return out;
}

nlohmann::json metric_json(const MetricCi& m, double level, const char* method = "percentile bootstrap") {
  nlohmann::json ci = nullptr;
  if (std::isfinite(m.lower) || std::isfinite(m.upper)) ci = stats::interval_json(level, m.lower, m.upper, method);
  return {{"estimate", stats::json_number(m.estimate)}, {"ci", ci}};
}

}  // namespace

double frechet_distance(const Features& a, const Features& b, const std::string& where_a, const std::string& where_b) {
  check_pair(a, b, where_a, where_b, 2, "a covariance");
  at::NoGradGuard no_grad;
  const at::Tensor ta = as_tensor(a), tb = as_tensor(b);
  const at::Tensor mu_a = ta.mean(0), mu_b = tb.mean(0);
  return frechet_from_moments(mu_a, covariance(ta - mu_a, ta.size(0)), mu_b, covariance(tb - mu_b, tb.size(0)));
}

double mmd2_unbiased(const Features& a, const Features& b, const std::string& where_a, const std::string& where_b) {
  check_pair(a, b, where_a, where_b, 2, "the unbiased MMD^2");
  at::NoGradGuard no_grad;
  Grams k = grams(a, b);
  to_kernel(k.aa, a.d);
  to_kernel(k.bb, a.d);
  to_kernel(k.ab, a.d);
  return mmd2_from_kernels(k);
}

KernelDistance kernel_distance(const Features& a, const Features& b, int subsets, size_t subset_size, uint64_t seed,
                               const std::string& where_a, const std::string& where_b) {
  if (subsets < 1) throw ConfigError("kd_subsets", fmt::format("is {}", subsets), "use at least 1 subset");
  if (subset_size < 2) throw ConfigError("kd_subset_size", fmt::format("is {}", subset_size), "use at least 2");
  check_pair(a, b, where_a, where_b, 2, "the unbiased MMD^2");
  at::NoGradGuard no_grad;
  Grams k = grams(a, b);
  to_kernel(k.aa, a.d);
  to_kernel(k.bb, a.d);
  to_kernel(k.ab, a.d);
  return kernel_distance_from_kernels(k, subsets, subset_size, seed);
}

Prdc precision_recall_density_coverage(const Features& real, const Features& fake, int k_pr, int k_dc,
                                       const std::string& where_real, const std::string& where_fake) {
  check_k(k_pr, "k_pr");
  check_k(k_dc, "k_dc");
  const size_t need = static_cast<size_t>(std::max(k_pr, k_dc)) + 1;
  check_pair(real, fake, where_real, where_fake, need, fmt::format("{}-nearest-neighbour radii", need - 1));
  at::NoGradGuard no_grad;
  return prdc_from_grams(real, fake, grams(real, fake), k_pr, k_dc);
}

void FidelityConfig::validate() const {
  check_k(k_pr, "k_pr");
  check_k(k_dc, "k_dc");
  if (kd_subsets < 1) throw ConfigError("kd_subsets", fmt::format("is {}", kd_subsets), "use at least 1 subset");
  if (kd_subset_size < 2) throw ConfigError("kd_subset_size", fmt::format("is {}", kd_subset_size), "use at least 2");
  if (bootstrap < 0) throw ConfigError("bootstrap", fmt::format("is {}", bootstrap), "use 0 (no intervals) or more");
  if (!(conf_level > 0.0 && conf_level < 1.0))
    throw ConfigError("conf_level", fmt::format("is {}", conf_level), "use a level between 0 and 1, e.g. 0.95");
}

nlohmann::json FidelityConfig::to_json() const {
  return {{"k_pr", k_pr},
          {"k_dc", k_dc},
          {"kd_subsets", kd_subsets},
          {"kd_subset_size", kd_subset_size},
          {"bootstrap", bootstrap},
          {"fd_bootstrap", fd_bootstrap},
          {"conf_level", conf_level},
          {"seed", seed}};
}

FidelityResult fidelity_metrics(const Features& real, const Features& fake, const FidelityConfig& cfg,
                                const std::string& where_real, const std::string& where_fake) {
  cfg.validate();
  const size_t need = static_cast<size_t>(std::max(cfg.k_pr, cfg.k_dc)) + 1;
  check_pair(real, fake, where_real, where_fake, need, fmt::format("{}-nearest-neighbour radii", need - 1));
  at::NoGradGuard no_grad;
  const size_t n = real.n, m = fake.n, d = real.d;
  FidelityResult out;
  out.config = cfg;
  out.n_real = n;
  out.n_fake = m;
  out.dim = d;

  // Estimates.
  const at::Tensor ta = as_tensor(real), tb = as_tensor(fake);
  const at::Tensor mu_a = ta.mean(0), mu_b = tb.mean(0);
  const at::Tensor ac = ta - mu_a, bc = tb - mu_b;  // (n, d), (m, d) centred
  const double fd = frechet_from_moments(mu_a, covariance(ac, n), mu_b, covariance(bc, m));
  Grams g = grams(real, fake);
  const Prdc p = prdc_from_grams(real, fake, g, cfg.k_pr, cfg.k_dc);
  to_kernel(g.aa, d);
  to_kernel(g.bb, d);
  to_kernel(g.ab, d);
  const KernelDistance kd = kernel_distance_from_kernels(g, cfg.kd_subsets, cfg.kd_subset_size, cfg.seed);
  out.kd_subset_mean = kd.subset_mean;
  out.kd_subset_sd = kd.subset_sd;
  out.kd_subset_size = kd.subset_size;
  out.items = p.items;

  // Bootstrap: replicate r resamples both sets from one stream; counts per row.
  const int B = cfg.bootstrap;
  std::vector<double> r_fd(B), r_kd(B), r_p(B), r_r(B), r_d(B), r_c(B);
  if (B > 0) {
    at::Tensor ca = at::zeros({B, static_cast<int64_t>(n)}, at::kDouble);  // (B, n) counts
    at::Tensor cb = at::zeros({B, static_cast<int64_t>(m)}, at::kDouble);  // (B, m)
    double *pa = ca.data_ptr<double>(), *pb = cb.data_ptr<double>();
    for (int r = 0; r < B; ++r) {
      Rng rng = stream_rng(cfg.seed, RandomStream::kAuditBootstrap, static_cast<uint64_t>(r));
      double sp = 0, sr = 0, sd = 0, sc = 0;
      for (size_t i = 0; i < n; ++i) {
        const size_t t = bounded(rng, n);
        pa[r * n + t] += 1.0;
        sr += p.items.real_in_fake[t];
        sc += p.items.real_covered[t];
      }
      for (size_t j = 0; j < m; ++j) {
        const size_t t = bounded(rng, m);
        pb[r * m + t] += 1.0;
        sp += p.items.fake_in_real[t];
        sd += p.items.fake_real_balls[t];
      }
      r_p[r] = sp / m;
      r_d[r] = sd / (static_cast<double>(cfg.k_dc) * m);
      r_r[r] = sr / n;
      r_c[r] = sc / n;
    }
    // KD: within a set, the pairs of positions holding distinct scans, sum_{a != b} c_a c_b K_ab =
    // c^T K c - sum_a c_a^2 K_aa, over their number n^2 - sum_a c_a^2; between sets, all pairs.
    const double nd = static_cast<double>(n), md = static_cast<double>(m);
    const at::Tensor ca2 = ca * ca, cb2 = cb * cb;
    const at::Tensor saa = (at::matmul(ca, g.aa) * ca).sum(1) - at::matmul(ca2, g.aa.diagonal());
    const at::Tensor sbb = (at::matmul(cb, g.bb) * cb).sum(1) - at::matmul(cb2, g.bb.diagonal());
    const at::Tensor sab = (at::matmul(ca, g.ab) * cb).sum(1);
    const at::Tensor kd_rep =
        (saa / (nd * nd - ca2.sum(1)) + sbb / (md * md - cb2.sum(1)) - 2.0 * sab / (nd * md)).contiguous();
    std::copy(kd_rep.data_ptr<double>(), kd_rep.data_ptr<double>() + B, r_kd.begin());
    // FD: weighted moments of the centred rows (rows drawn 0 times dropped).
    auto moments = [](const at::Tensor& xc, const at::Tensor& c, double cnt, at::Tensor* mu, at::Tensor* s) {
      const at::Tensor keep = c.nonzero().squeeze(1);
      const at::Tensor x = xc.index_select(0, keep), w = c.index_select(0, keep);  // (k, d), (k)
      *mu = at::matmul(w, x) / cnt;                                                // (d)
      *s = (at::matmul(x.t(), x * w.unsqueeze(1)) - cnt * at::outer(*mu, *mu)) / (cnt - 1);
    };
    for (int r = 0; r < (cfg.fd_bootstrap ? B : 0); ++r) {
      at::Tensor ma, sa, mb, sb;
      moments(ac, ca[r], nd, &ma, &sa);
      moments(bc, cb[r], md, &mb, &sb);
      r_fd[r] = frechet_from_moments(ma + mu_a, (sa + sa.t()) * 0.5, mb + mu_b, (sb + sb.t()) * 0.5);
    }
  }
  if (!cfg.fd_bootstrap) r_fd.clear();
  out.frechet = percentile_ci(fd, r_fd, cfg.conf_level, /*recentre=*/true);
  out.kernel = percentile_ci(kd.mmd2, r_kd, cfg.conf_level);
  out.precision = percentile_ci(p.precision, r_p, cfg.conf_level);
  out.recall = percentile_ci(p.recall, r_r, cfg.conf_level);
  out.density = percentile_ci(p.density, r_d, cfg.conf_level);
  out.coverage = percentile_ci(p.coverage, r_c, cfg.conf_level);
  return out;
}

nlohmann::json to_json(const FidelityResult& r) {
  const double level = r.config.conf_level;
  nlohmann::json j;
  j["n_real"] = r.n_real;
  j["n_fake"] = r.n_fake;
  j["dim"] = r.dim;
  j["config"] = r.config.to_json();
  j["frechet"] = metric_json(r.frechet, level, "percentile bootstrap, re-centred on the estimate");
  nlohmann::json kd = metric_json(r.kernel, level);
  kd["subset_mean"] = stats::json_number(r.kd_subset_mean);
  kd["subset_sd"] = stats::json_number(r.kd_subset_sd);
  kd["subsets"] = r.config.kd_subsets;
  kd["subset_size"] = r.kd_subset_size;
  j["kernel"] = kd;
  j["precision"] = metric_json(r.precision, level);
  j["recall"] = metric_json(r.recall, level);
  j["density"] = metric_json(r.density, level);
  j["coverage"] = metric_json(r.coverage, level);
  return j;
}

}  // namespace scintigen::audit
