// Logistic regression and grouped cross-validation of the audit (linear.h). Matrix products and
// the Cholesky solve go through ATen in float64.
#include "audit/linear.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.h"
#include "core/random_streams.h"
#include "core/split.h"

namespace scintigen::audit {
namespace {

void check_features(const Features& x, const std::string& where) {
  if (x.n == 0 || x.d == 0) throw InputError(where, "the feature set is empty", "give at least one scan of each class");
  if (x.x.size() != x.n * x.d)
    throw InputError(where, fmt::format("holds {} values for {} x {} features", x.x.size(), x.n, x.d),
                     "build it with Features(n, d)");
  for (size_t i = 0; i < x.x.size(); ++i)
    if (!std::isfinite(x.x[i]))
      throw InputError(where, fmt::format("feature {} of vector {} is not finite", i % x.d, i / x.d),
                       "check the encoder's output for NaN or infinity");
}

void check_labels(const std::vector<int>& y, size_t n, const std::string& where) {
  if (y.size() != n)
    throw InputError(where, fmt::format("has {} feature vectors but {} labels", n, y.size()), "give one label per row");
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] != 0 && y[i] != 1)
      throw InputError(where, fmt::format("label {} of row {} is not 0 or 1", y[i], i), "use 0/1 labels");
}

// (n, d) tensor copy of the features.
at::Tensor to_tensor(const Features& f) {
  return at::from_blob(const_cast<double*>(f.x.data()), {static_cast<int64_t>(f.n), static_cast<int64_t>(f.d)},
                       at::TensorOptions().dtype(at::kDouble))
      .clone();
}

// sum_i log(1 + exp(z_i)) - y_i z_i, stably.
double log_loss(const at::Tensor& z, const at::Tensor& y) {
  return (at::log1p(at::exp(-z.abs())) + z.clamp_min(0) - y * z).sum().item<double>();
}

}  // namespace

Standardizer Standardizer::fit(const Features& x) {
  Standardizer s;
  s.mean.assign(x.d, 0.0);
  s.sd.assign(x.d, 1.0);
  if (x.n == 0) return s;
  for (size_t j = 0; j < x.d; ++j) {
    double m = 0.0;
    for (size_t i = 0; i < x.n; ++i) m += x.at(i, j);
    m /= static_cast<double>(x.n);
    double ss = 0.0;
    for (size_t i = 0; i < x.n; ++i) ss += (x.at(i, j) - m) * (x.at(i, j) - m);
    const double sd = std::sqrt(ss / static_cast<double>(x.n));
    s.mean[j] = m;
    s.sd[j] = sd > 0.0 ? sd : 1.0;
  }
  return s;
}

Features Standardizer::apply(const Features& x, const std::string& where) const {
  if (x.d != mean.size())
    throw InputError(where, fmt::format("has {} features per scan but the model was fitted on {}", x.d, mean.size()),
                     "use features from the same encoder");
  Features out(x.n, x.d);
  for (size_t i = 0; i < x.n; ++i)
    for (size_t j = 0; j < x.d; ++j) out.at(i, j) = (x.at(i, j) - mean[j]) / sd[j];
  return out;
}

LogisticModel fit_logistic(const Features& x, const std::vector<int>& y, double C, int max_iter, double tol,
                           const std::string& where) {
  if (!(C > 0.0) || !std::isfinite(C)) throw ConfigError("C", fmt::format("is {}", C), "use a positive C, e.g. 1");
  if (max_iter < 1) throw ConfigError("max_iter", fmt::format("is {}", max_iter), "use at least 1");
  if (!(tol > 0.0)) throw ConfigError("tol", fmt::format("is {}", tol), "use a small positive tolerance, e.g. 1e-10");
  check_features(x, where);
  check_labels(y, x.n, where);
  const size_t pos = static_cast<size_t>(std::count(y.begin(), y.end(), 1));
  if (pos == 0 || pos == y.size())
    throw InputError(where, fmt::format("all {} rows are of class {}", y.size(), pos ? 1 : 0),
                     "give scans of both classes");

  at::NoGradGuard no_grad;
  LogisticModel model;
  model.C = C;
  model.scale = Standardizer::fit(x);
  const int64_t n = static_cast<int64_t>(x.n), d = static_cast<int64_t>(x.d);
  const Features xs = model.scale.apply(x, where);
  const at::Tensor x1 = at::cat({to_tensor(xs), at::ones({n, 1}, at::kDouble)}, 1);  // (n, d+1)
  std::vector<double> yd(y.begin(), y.end());
  const at::Tensor yt = at::from_blob(yd.data(), {n}, at::kDouble).clone();  // (n)
  at::Tensor penalty = at::ones({d + 1}, at::kDouble);                       // (d+1): 1, ..., 1, 0
  penalty[d] = 0.0;

  auto objective = [&](const at::Tensor& theta, at::Tensor* z) {
    *z = at::matmul(x1, theta);
    return 0.5 * (theta * theta * penalty).sum().item<double>() + C * log_loss(*z, yt);
  };
  at::Tensor theta = at::zeros({d + 1}, at::kDouble), z;
  double f = objective(theta, &z);
  for (int it = 0; it < max_iter; ++it) {
    const at::Tensor p = at::sigmoid(z);                                         // (n)
    const at::Tensor g = theta * penalty + C * at::matmul(x1.t(), p - yt);       // (d+1)
    const at::Tensor w = C * p * (1 - p);                                        // (n)
    at::Tensor h = at::matmul(x1.t(), x1 * w.unsqueeze(1)) + at::diag(penalty);  // (d+1, d+1)
    auto [chol, info] = at::linalg_cholesky_ex(h);
    if (info.item<int>() != 0) {
      // Saturated probabilities can leave the intercept's row numerically singular.
      h = h + at::eye(d + 1, at::kDouble) * (1e-12 * h.diagonal().abs().max().item<double>() + 1e-300);
      std::tie(chol, info) = at::linalg_cholesky_ex(h);
      if (info.item<int>() != 0)
        throw InternalError(where, "the logistic regression's Hessian is not positive definite",
                            "standardised features should prevent this; report the data");
    }
    const at::Tensor step = at::cholesky_solve(g.unsqueeze(1), chol).squeeze(1);  // (d+1)
    const double decrement = 0.5 * (g * step).sum().item<double>();
    double t = 1.0;
    at::Tensor next = theta - step, zn;
    double fn = objective(next, &zn);
    const double noise = 8.0 * std::numeric_limits<double>::epsilon() * std::abs(f);  // rounding of f
    while (fn > f + noise && t > 1e-12) {
      t *= 0.5;
      next = theta - t * step;
      fn = objective(next, &zn);
    }
    theta = next;
    z = zn;
    f = fn;
    model.iterations = it + 1;
    // The step just taken squares the error of a decrement below tol: stop after it.
    if (decrement < tol) {
      model.converged = true;
      break;
    }
  }
  const at::Tensor th = theta.contiguous();
  const double* pt = th.data_ptr<double>();
  model.coef.assign(pt, pt + d);
  model.intercept = pt[d];
  return model;
}

std::vector<double> predict_proba(const LogisticModel& model, const Features& x, const std::string& where) {
  if (x.n == 0) return {};
  check_features(x, where);
  const Features xs = model.scale.apply(x, where);
  std::vector<double> out(x.n);
  for (size_t i = 0; i < x.n; ++i) {
    double z = model.intercept;
    const double* r = xs.row(i);
    for (size_t j = 0; j < x.d; ++j) z += r[j] * model.coef[j];
    out[i] = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
  }
  return out;
}

std::vector<int> grouped_folds(const std::vector<std::string>& groups, const std::vector<int>& y, int k,
                               uint64_t seed) {
  if (k < 2) throw ConfigError("folds", fmt::format("is {}", k), "use at least 2 folds, e.g. 5");
  if (groups.size() != y.size())
    throw InputError("groups", fmt::format("has {} entries but there are {} labels", groups.size(), y.size()),
                     "give one group per row (\"\" for a scan of its own)");
  std::vector<SplitItem> items(y.size());
  for (size_t i = 0; i < y.size(); ++i) items[i] = {groups[i], std::to_string(y[i])};
  SplitSpec spec{std::vector<double>(static_cast<size_t>(k), 1.0 / k), seed, RandomStream::kAuditFolds, true};
  const std::vector<size_t> part = grouped_stratified_split(items, spec);
  return std::vector<int>(part.begin(), part.end());
}

std::vector<double> cross_validated_scores(const Features& x, const std::vector<int>& y, const std::vector<int>& folds,
                                           double C, const std::string& where) {
  check_features(x, where);
  check_labels(y, x.n, where);
  if (folds.size() != x.n)
    throw InputError(where, fmt::format("has {} rows but {} fold indices", x.n, folds.size()),
                     "give one fold per row (grouped_folds)");
  int k = 0;
  for (int f : folds) {
    if (f < 0) throw InputError(where, fmt::format("fold index {} is negative", f), "use folds 0..k-1");
    k = std::max(k, f + 1);
  }
  std::vector<double> out(x.n, 0.0);
  for (int f = 0; f < k; ++f) {
    std::vector<size_t> train, test;
    std::vector<int> ytrain;
    for (size_t i = 0; i < x.n; ++i) {
      if (folds[i] == f) {
        test.push_back(i);
      } else {
        train.push_back(i);
        ytrain.push_back(y[i]);
      }
    }
    if (test.empty()) continue;
    const size_t pos = static_cast<size_t>(std::count(ytrain.begin(), ytrain.end(), 1));
    if (pos == 0 || pos == ytrain.size())
      throw InputError(
          where,
          fmt::format("the training rows of fold {} ({} rows) hold class {} only", f, ytrain.size(), pos ? 1 : 0),
          "use fewer folds or more scans of each class");
    const std::string fold_where = fmt::format("{} (fold {})", where, f);
    const LogisticModel m = fit_logistic(x.rows(train), ytrain, C, 100, 1e-10, fold_where);
    const std::vector<double> p = predict_proba(m, x.rows(test), fold_where);
    for (size_t t = 0; t < test.size(); ++t) out[test[t]] = p[t];
  }
  return out;
}

}  // namespace scintigen::audit
