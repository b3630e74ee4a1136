#include "stats/survival.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "core/error.h"
#include "stats/distributions.h"

namespace scintigen::stats {

namespace {

void check_survival(const SurvivalData& d, const std::string& where) {
  if (d.time.empty() && d.event.empty()) throw InputError(where, "no subjects", "give at least one time and event");
  if (d.time.size() != d.event.size())
    throw InputError(where, std::to_string(d.time.size()) + " times but " + std::to_string(d.event.size()) + " events",
                     "every subject needs exactly one time and one event indicator");
  for (size_t i = 0; i < d.time.size(); ++i) {
    if (!std::isfinite(d.time[i]))
      throw InputError(where, "subject " + std::to_string(i + 1) + " has time " + std::to_string(d.time[i]),
                       "times must be finite numbers");
    if (d.time[i] < 0.0)
      throw InputError(where, "subject " + std::to_string(i + 1) + " has negative time " + std::to_string(d.time[i]),
                       "times are durations from the scan to the event or censoring, >= 0");
    if (d.event[i] != 0 && d.event[i] != 1)
      throw InputError(where, "subject " + std::to_string(i + 1) + " has event " + std::to_string(d.event[i]),
                       "events must be 1 (event) or 0 (censored)");
  }
}

// Indices sorted by ascending time.
std::vector<size_t> time_order(const SurvivalData& d) {
  std::vector<size_t> idx(d.time.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return d.time[a] < d.time[b]; });
  return idx;
}

// In-place Cholesky factor (lower) of a symmetric k x k matrix; false unless positive definite.
bool cholesky(std::vector<double>& a, size_t k) {
  for (size_t j = 0; j < k; ++j) {
    double s = a[j * k + j];
    for (size_t m = 0; m < j; ++m) s -= a[j * k + m] * a[j * k + m];
    if (!(s > 1e-14 * std::max(1.0, std::fabs(a[j * k + j])))) return false;
    a[j * k + j] = std::sqrt(s);
    for (size_t i = j + 1; i < k; ++i) {
      double t = a[i * k + j];
      for (size_t m = 0; m < j; ++m) t -= a[i * k + m] * a[j * k + m];
      a[i * k + j] = t / a[j * k + j];
    }
  }
  return true;
}

// Solves L L^T x = b for a Cholesky factor L.
std::vector<double> cholesky_solve(const std::vector<double>& l, size_t k, std::vector<double> b) {
  for (size_t i = 0; i < k; ++i) {
    for (size_t m = 0; m < i; ++m) b[i] -= l[i * k + m] * b[m];
    b[i] /= l[i * k + i];
  }
  for (size_t i = k; i-- > 0;) {
    for (size_t m = i + 1; m < k; ++m) b[i] -= l[m * k + i] * b[m];
    b[i] /= l[i * k + i];
  }
  return b;
}

// survival's findq(): the time the distribution 1 - S first reaches p, with R's tolerance for
// curves that sit exactly at p (then the midpoint to the next drop, or to the last time).
// x[0] = 0 and y[0] = 0 are the start; y values may be empty (NA).
std::optional<double> find_quantile(const std::vector<double>& x, const std::vector<std::optional<double>>& y,
                                    double p) {
  const double tol = std::sqrt(std::numeric_limits<double>::epsilon());
  double ymax = -std::numeric_limits<double>::infinity();
  for (const auto& v : y)
    if (v) ymax = std::max(ymax, *v);
  if (ymax < p) return std::nullopt;
  const double xmax = x.back();
  // Keep the first occurrence of every y value (NA included), as duplicated() does.
  std::vector<double> xs;
  std::vector<std::optional<double>> ys;
  for (size_t i = 0; i < y.size(); ++i) {
    bool dup = false;
    for (const auto& seen : ys) dup = dup || (seen.has_value() == y[i].has_value() && (!seen || *seen == *y[i]));
    if (!dup) xs.push_back(x[i]), ys.push_back(y[i]);
  }
  // approx(y -/+ tol, index, p, "constant", f = 1): the index of the smallest y with y -/+ tol >= p.
  auto first_at_least = [&](double shift) -> std::optional<size_t> {
    std::optional<size_t> best;
    for (size_t i = 0; i < ys.size(); ++i)
      if (ys[i] && *ys[i] + shift >= p && (!best || *ys[i] < *ys[*best])) best = i;
    return best;
  };
  const auto i1 = first_at_least(tol), i2 = first_at_least(-tol);
  std::optional<double> q;
  if (i1 && i2) q = (xs[*i1] + xs[*i2]) / 2.0;
  if (ys.back() && std::fabs(p - *ys.back()) < tol && i1) q = (xs[*i1] + xmax) / 2.0;
  return q;
}

}  // namespace

KaplanMeier kaplan_meier(const SurvivalData& data, double conf_level, const std::string& where) {
  check_survival(data, where);
  const double z = two_sided_z(conf_level);
  const std::vector<size_t> order = time_order(data);
  KaplanMeier km;
  km.n = data.time.size();
  km.conf_level = conf_level;
  double s = 1.0, greenwood = 0.0;  // sum d / (n (n - d))
  size_t at_risk = km.n;
  for (size_t b = 0; b < order.size();) {
    size_t e = b;
    KmRow row;
    row.time = data.time[order[b]];
    row.n_risk = at_risk;
    while (e < order.size() && data.time[order[e]] == row.time) (data.event[order[e++]] ? row.n_event : row.n_censor)++;
    const double n = static_cast<double>(at_risk), d = static_cast<double>(row.n_event);
    if (row.n_event > 0) {
      s *= (n - d) / n;
      greenwood = row.n_event == at_risk ? std::numeric_limits<double>::infinity() : greenwood + d / (n * (n - d));
    }
    row.survival = s;
    if (s > 0.0) {
      const double se_log = std::sqrt(greenwood);
      row.std_err = s * se_log;
      row.lower = std::exp(std::log(s) - z * se_log);
      row.upper = std::min(1.0, std::exp(std::log(s) + z * se_log));
    }
    km.events += row.n_event;
    at_risk -= e - b;
    km.rows.push_back(row);
    b = e;
  }
  // Median and its CI from the curve and its CI curves, as quantile.survfit.
  std::vector<double> x{0.0};
  std::vector<std::optional<double>> f{0.0}, f_lower{0.0}, f_upper{0.0};
  for (const KmRow& r : km.rows) {
    x.push_back(r.time);
    f.push_back(1.0 - r.survival);
    f_lower.push_back(r.lower ? std::optional<double>(1.0 - *r.lower) : std::nullopt);
    f_upper.push_back(r.upper ? std::optional<double>(1.0 - *r.upper) : std::nullopt);
  }
  km.median.median = find_quantile(x, f, 0.5);
  km.median.lower = find_quantile(x, f_lower, 0.5);
  km.median.upper = find_quantile(x, f_upper, 0.5);
  return km;
}

LogRank log_rank_test(const SurvivalData& data, const std::vector<std::string>& group, const std::string& where) {
  check_survival(data, where);
  if (group.size() != data.time.size())
    throw InputError(
        where, std::to_string(data.time.size()) + " subjects but " + std::to_string(group.size()) + " group labels",
        "every subject needs a group");
  LogRank lr;
  std::map<std::string, size_t> index;
  for (const auto& g : group) index.emplace(g, 0);
  for (auto& [name, i] : index) i = lr.groups.size(), lr.groups.push_back(name);
  const size_t k = lr.groups.size();
  std::vector<size_t> g(group.size());
  for (size_t i = 0; i < group.size(); ++i) g[i] = index[group[i]];
  lr.n.assign(k, 0);
  for (size_t gi : g) ++lr.n[gi];
  lr.observed.assign(k, 0.0);
  lr.expected.assign(k, 0.0);
  lr.variance.assign(k, std::vector<double>(k, 0.0));
  std::vector<double> risk(k);
  for (size_t j = 0; j < k; ++j) risk[j] = static_cast<double>(lr.n[j]);
  double total = static_cast<double>(group.size());
  const std::vector<size_t> order = time_order(data);
  std::vector<double> dg(k);
  for (size_t b = 0; b < order.size();) {
    size_t e = b;
    std::fill(dg.begin(), dg.end(), 0.0);
    double d = 0.0;
    while (e < order.size() && data.time[order[e]] == data.time[order[b]]) {
      if (data.event[order[e]]) dg[g[order[e]]] += 1.0, d += 1.0;
      ++e;
    }
    if (d > 0.0) {
      // Ref: survdiff (rho = 0): hypergeometric mean and covariance at each event time.
      const double c = total > 1.0 ? d * (total - d) / (total - 1.0) : 0.0;
      for (size_t i = 0; i < k; ++i) {
        lr.observed[i] += dg[i];
        lr.expected[i] += d * risk[i] / total;
        for (size_t j = 0; j < k; ++j)
          lr.variance[i][j] += c * risk[i] / total * ((i == j ? 1.0 : 0.0) - risk[j] / total);
      }
    }
    for (size_t q = b; q < e; ++q) risk[g[order[q]]] -= 1.0;
    total -= static_cast<double>(e - b);
    b = e;
  }
  std::vector<size_t> used;
  for (size_t i = 0; i < k; ++i)
    if (lr.expected[i] > 0.0) used.push_back(i);
  if (used.size() < 2) return lr;  // chi_square 0, df 0, p 1 (as survdiff)
  const size_t r = used.size() - 1;
  std::vector<double> v(r * r), oe(r);
  for (size_t a = 0; a < r; ++a) {
    oe[a] = lr.observed[used[a + 1]] - lr.expected[used[a + 1]];
    for (size_t b = 0; b < r; ++b) v[a * r + b] = lr.variance[used[a + 1]][used[b + 1]];
  }
  if (!cholesky(v, r))
    throw InputError(where, "the log-rank variance matrix is singular",
                     "every event occurred with a single subject at risk, or groups are confounded with time");
  const std::vector<double> sol = cholesky_solve(v, r, oe);
  for (size_t a = 0; a < r; ++a) lr.chi_square += sol[a] * oe[a];
  lr.df = static_cast<int>(r);
  lr.p_value = chi_square_sf(lr.chi_square, lr.df);
  return lr;
}

namespace {

// Efron log partial likelihood, score and information at beta (covariates centred).
struct CoxEval {
  double loglik = 0.0;
  std::vector<double> score, info;  // p, p x p
};

CoxEval cox_evaluate(const std::vector<double>& x, size_t p, const SurvivalData& d, const std::vector<size_t>& order,
                     const std::vector<double>& beta) {
  CoxEval ev;
  ev.score.assign(p, 0.0);
  ev.info.assign(p * p, 0.0);
  std::vector<double> s1(p, 0.0), s2(p * p, 0.0), e1(p), e2(p * p), a1(p), a2(p * p);
  double s0 = 0.0;
  // Ref: Efron (1977): the l-th of d tied events sees the risk set minus l/d of the tied events.
  for (size_t end = order.size(); end > 0;) {  // descending time: the risk set grows
    size_t begin = end - 1;
    while (begin > 0 && d.time[order[begin - 1]] == d.time[order[end - 1]]) --begin;
    double e0 = 0.0;
    std::fill(e1.begin(), e1.end(), 0.0);
    std::fill(e2.begin(), e2.end(), 0.0);
    size_t deaths = 0;
    for (size_t q = begin; q < end; ++q) {
      const size_t i = order[q];
      const double* xi = &x[i * p];
      double eta = 0.0;
      for (size_t j = 0; j < p; ++j) eta += beta[j] * xi[j];
      const double w = std::exp(eta);
      s0 += w;
      for (size_t j = 0; j < p; ++j) {
        s1[j] += w * xi[j];
        for (size_t m = 0; m <= j; ++m) s2[j * p + m] += w * xi[j] * xi[m];
      }
      if (d.event[i]) {
        ++deaths;
        ev.loglik += eta;
        e0 += w;
        for (size_t j = 0; j < p; ++j) {
          ev.score[j] += xi[j];
          e1[j] += w * xi[j];
          for (size_t m = 0; m <= j; ++m) e2[j * p + m] += w * xi[j] * xi[m];
        }
      }
    }
    for (size_t l = 0; l < deaths; ++l) {
      const double f = static_cast<double>(l) / static_cast<double>(deaths);
      const double a0 = s0 - f * e0;
      ev.loglik -= std::log(a0);
      for (size_t j = 0; j < p; ++j) a1[j] = (s1[j] - f * e1[j]) / a0;
      for (size_t j = 0; j < p; ++j) {
        ev.score[j] -= a1[j];
        for (size_t m = 0; m <= j; ++m) ev.info[j * p + m] += (s2[j * p + m] - f * e2[j * p + m]) / a0 - a1[j] * a1[m];
      }
    }
    end = begin;
  }
  for (size_t j = 0; j < p; ++j)
    for (size_t m = 0; m < j; ++m) ev.info[m * p + j] = ev.info[j * p + m];
  return ev;
}

}  // namespace

CoxModel cox_ph(const SurvivalData& data, const std::vector<std::vector<double>>& covariates,
                const std::vector<std::string>& names, double conf_level, const std::string& where) {
  check_survival(data, where);
  const double zc = two_sided_z(conf_level);
  const size_t p = covariates.size(), n = data.time.size();
  if (p == 0) throw InputError(where, "no covariates for the Cox model", "give at least one covariate");
  if (names.size() != p)
    throw InternalError(where, std::to_string(p) + " covariates but " + std::to_string(names.size()) + " names");
  size_t events = 0;
  for (int e : data.event) events += e;
  if (events == 0) throw InputError(where, "no events (every subject is censored)", "a Cox model needs events");
  // Centred covariates, row-major n x p (centring leaves beta unchanged and keeps exp() tame).
  std::vector<double> x(n * p);
  for (size_t j = 0; j < p; ++j) {
    if (covariates[j].size() != n)
      throw InputError(where,
                       "covariate '" + names[j] + "' has " + std::to_string(covariates[j].size()) + " values for " +
                           std::to_string(n) + " subjects",
                       "every subject needs every covariate");
    double mean = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(covariates[j][i]))
        throw InputError(where,
                         "covariate '" + names[j] + "' of subject " + std::to_string(i + 1) + " is " +
                             std::to_string(covariates[j][i]),
                         "covariates must be finite numbers");
      mean += covariates[j][i];
    }
    mean /= static_cast<double>(n);
    bool constant = true;
    for (size_t i = 0; i < n; ++i) {
      x[i * p + j] = covariates[j][i] - mean;
      constant = constant && covariates[j][i] == covariates[j][0];
    }
    if (constant) throw InputError(where, "covariate '" + names[j] + "' is constant", "drop it from the model");
  }
  const std::vector<size_t> order = time_order(data);
  const std::string singular_hint =
      "a covariate is collinear with others, or separates subjects with and without events (monotone likelihood)";

  std::vector<double> beta(p, 0.0);
  CoxEval ev = cox_evaluate(x, p, data, order, beta);
  CoxModel m;
  m.loglik_null = ev.loglik;
  const double eps = 1e-12;
  const int max_iter = 60;
  bool converged = false;
  for (int it = 1; it <= max_iter && !converged; ++it) {
    m.iterations = it;
    std::vector<double> l = ev.info;
    if (!cholesky(l, p)) throw InputError(where, "the Cox information matrix is singular", singular_hint);
    const std::vector<double> step = cholesky_solve(l, p, ev.score);
    std::vector<double> next(p);
    for (size_t j = 0; j < p; ++j) next[j] = beta[j] + step[j];
    CoxEval nev = cox_evaluate(x, p, data, order, next);
    // Step halving while the likelihood falls (as coxph).
    for (int h = 0; h < 40 && (!std::isfinite(nev.loglik) || nev.loglik < ev.loglik - eps * std::fabs(ev.loglik));
         ++h) {
      for (size_t j = 0; j < p; ++j) next[j] = (next[j] + beta[j]) / 2.0;
      nev = cox_evaluate(x, p, data, order, next);
    }
    if (!std::isfinite(nev.loglik)) throw InputError(where, "the Cox likelihood overflowed", singular_hint);
    converged = std::fabs(nev.loglik - ev.loglik) <= eps * std::max(1.0, std::fabs(nev.loglik));
    beta = next;
    ev = std::move(nev);
  }
  std::vector<double> l = ev.info;
  if (!cholesky(l, p)) throw InputError(where, "the Cox information matrix is singular at the estimate", singular_hint);
  // A remaining Newton step that is not small means the maximum lies at infinity.
  const std::vector<double> step = cholesky_solve(l, p, ev.score);
  for (size_t j = 0; j < p; ++j)
    if (!converged || std::fabs(step[j]) > 1e-6 * (1.0 + std::fabs(beta[j])))
      throw InputError(where, "the Cox model did not converge (coefficient of '" + names[j] + "' runs to infinity)",
                       singular_hint);
  m.names = names;
  m.conf_level = conf_level;
  m.n = n;
  m.events = events;
  m.loglik = ev.loglik;
  m.covariance.assign(p, std::vector<double>(p));
  for (size_t j = 0; j < p; ++j) {
    std::vector<double> unit(p, 0.0);
    unit[j] = 1.0;
    const std::vector<double> col = cholesky_solve(l, p, unit);
    for (size_t i = 0; i < p; ++i) m.covariance[i][j] = col[i];
  }
  for (size_t j = 0; j < p; ++j) {
    const double se = std::sqrt(m.covariance[j][j]);
    m.beta.push_back(beta[j]);
    m.se.push_back(se);
    m.z.push_back(beta[j] / se);
    m.p_value.push_back(two_sided_normal_p(beta[j] / se));
    m.hazard_ratio.push_back(std::exp(beta[j]));
    m.hr_lower.push_back(std::exp(beta[j] - zc * se));
    m.hr_upper.push_back(std::exp(beta[j] + zc * se));
  }
  m.lr_df = static_cast<int>(p);
  m.lr_chi_square = 2.0 * (m.loglik - m.loglik_null);
  m.lr_p_value = chi_square_sf(m.lr_chi_square, m.lr_df);
  return m;
}

Concordance concordance_index(const SurvivalData& data, const std::vector<double>& score, const std::string& where) {
  check_survival(data, where);
  if (score.size() != data.time.size())
    throw InputError(where,
                     std::to_string(data.time.size()) + " subjects but " + std::to_string(score.size()) + " scores",
                     "every subject needs exactly one score");
  for (size_t i = 0; i < score.size(); ++i)
    if (!std::isfinite(score[i]))
      throw InputError(where, "subject " + std::to_string(i + 1) + " has score " + std::to_string(score[i]),
                       "scores must be finite numbers");
  Concordance c;
  const size_t n = score.size();
  for (size_t i = 0; i < n; ++i) {
    if (!data.event[i]) continue;  // i must be the shorter time and an event
    const double ti = data.time[i], si = score[i];
    for (size_t j = 0; j < n; ++j) {
      const double tj = data.time[j];
      if (tj < ti || j == i) continue;
      if (tj == ti) {
        if (data.event[j]) {
          if (j > i) ++c.tied_time;  // count each pair of tied events once
          continue;
        }
      }
      if (si > score[j])
        ++c.concordant;
      else if (si < score[j])
        ++c.discordant;
      else
        ++c.tied_score;
    }
  }
  const size_t comparable = c.concordant + c.discordant + c.tied_score;
  if (comparable == 0)
    throw InputError(where, "no comparable pair of subjects",
                     "the concordance needs at least one event before another subject's time");
  c.c_index =
      (static_cast<double>(c.concordant) + 0.5 * static_cast<double>(c.tied_score)) / static_cast<double>(comparable);
  return c;
}

}  // namespace scintigen::stats
