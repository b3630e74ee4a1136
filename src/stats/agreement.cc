#include "stats/agreement.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "core/error.h"

namespace scintigen::stats {

namespace {

void check_ratings(const std::vector<std::vector<std::string>>& ratings, const std::string& where) {
  if (ratings.empty()) throw InputError(where, "no subjects", "give one row of ratings per subject");
  const size_t raters = ratings[0].size();
  if (raters < 2)
    throw InputError(where, "fewer than 2 raters (" + std::to_string(raters) + ")",
                     "agreement needs at least 2 raters");
  for (size_t i = 0; i < ratings.size(); ++i) {
    if (ratings[i].size() != raters)
      throw InputError(where,
                       "subject " + std::to_string(i + 1) + " has " + std::to_string(ratings[i].size()) +
                           " ratings, subject 1 has " + std::to_string(raters),
                       "every subject needs one rating from every rater");
    for (size_t r = 0; r < raters; ++r)
      if (ratings[i][r].empty())
        throw InputError(where,
                         "subject " + std::to_string(i + 1) + " has no rating from rater " + std::to_string(r + 1),
                         "missing ratings are not supported; drop the subject or the rater");
  }
}

void check_pair(const std::vector<std::string>& a, const std::vector<std::string>& b, const std::string& where,
                const char* what) {
  if (a.empty() && b.empty()) throw InputError(where, "no subjects", "give at least one subject");
  if (a.size() != b.size())
    throw InputError(
        where, std::string(what) + ": " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " labels",
        "both lists need one label per subject");
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].empty() || b[i].empty())
      throw InputError(where, "subject " + std::to_string(i + 1) + " has an empty label",
                       "fill it or drop the subject");
}

bool parse_number(const std::string& s, double* v) {
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*v);
}

}  // namespace

std::vector<std::string> ordered_categories(std::vector<std::string> categories) {
  std::sort(categories.begin(), categories.end());
  categories.erase(std::unique(categories.begin(), categories.end()), categories.end());
  bool numeric = true;
  double v;
  for (const auto& c : categories) numeric = numeric && parse_number(c, &v);
  if (numeric)
    std::stable_sort(categories.begin(), categories.end(), [](const std::string& a, const std::string& b) {
      return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
    });
  return categories;
}

FleissKappa fleiss_kappa(const std::vector<std::vector<std::string>>& ratings, const std::string& where) {
  check_ratings(ratings, where);
  FleissKappa f;
  f.subjects = ratings.size();
  f.raters = ratings[0].size();
  std::set<std::string> cats;
  for (const auto& row : ratings) cats.insert(row.begin(), row.end());
  f.categories.assign(cats.begin(), cats.end());
  std::map<std::string, size_t> index;
  for (size_t j = 0; j < f.categories.size(); ++j) index[f.categories[j]] = j;
  const size_t k = f.categories.size();
  const double n = static_cast<double>(f.raters), big_n = static_cast<double>(f.subjects);
  // Ref: Fleiss (1971): n_ij counts, P_i = (sum_j n_ij^2 - n) / (n (n - 1)).
  std::vector<double> counts(k), total(k, 0.0);
  double p_sum = 0.0;
  for (const auto& row : ratings) {
    std::fill(counts.begin(), counts.end(), 0.0);
    for (const auto& c : row) counts[index[c]] += 1.0;
    double sq = 0.0;
    for (size_t j = 0; j < k; ++j) sq += counts[j] * counts[j], total[j] += counts[j];
    p_sum += (sq - n) / (n * (n - 1.0));
  }
  f.observed_agreement = p_sum / big_n;
  double pe = 0.0, pq = 0.0, pq_qp = 0.0;
  for (size_t j = 0; j < k; ++j) {
    const double pj = total[j] / (big_n * n), qj = 1.0 - pj;
    f.proportions.push_back(pj);
    pe += pj * pj;
    pq += pj * qj;
    pq_qp += pj * qj * (qj - pj);
  }
  f.expected_agreement = pe;
  if (k < 2)
    throw InputError(where, "every rating is '" + f.categories[0] + "'",
                     "kappa is undefined when only one category occurs (expected agreement is 1)");
  f.kappa = (f.observed_agreement - pe) / (1.0 - pe);
  // Ref: Fleiss, Nee & Landis (1979), variance under the null hypothesis kappa = 0.
  f.se = std::sqrt(2.0) / (pq * std::sqrt(big_n * n * (n - 1.0))) * std::sqrt(pq * pq - pq_qp);
  f.z = f.kappa / f.se;
  f.p_value = two_sided_normal_p(f.z);
  return f;
}

CohenKappa cohen_kappa(const std::vector<std::string>& rater1, const std::vector<std::string>& rater2,
                       const std::string& weights, const std::string& where) {
  check_pair(rater1, rater2, where, "the two raters differ in length");
  if (weights != "none" && weights != "linear" && weights != "quadratic")
    throw InputError(where, "unknown kappa weights '" + weights + "'", "use none, linear or quadratic");
  std::vector<std::string> all(rater1);
  all.insert(all.end(), rater2.begin(), rater2.end());
  const std::vector<std::string> cats = ordered_categories(all);
  std::map<std::string, size_t> index;
  for (size_t j = 0; j < cats.size(); ++j) index[cats[j]] = j;
  const size_t k = cats.size();
  // Ref: as scikit-learn: kappa = 1 - sum(w * O) / sum(w * E), E = outer(row, col) / N.
  std::vector<double> confusion(k * k, 0.0), rows(k, 0.0), cols(k, 0.0);
  for (size_t i = 0; i < rater1.size(); ++i) {
    const size_t a = index[rater1[i]], b = index[rater2[i]];
    confusion[a * k + b] += 1.0;
    rows[a] += 1.0;
    cols[b] += 1.0;
  }
  const double total = static_cast<double>(rater1.size());
  double wo = 0.0, we = 0.0;
  for (size_t a = 0; a < k; ++a)
    for (size_t b = 0; b < k; ++b) {
      const double d = std::fabs(static_cast<double>(a) - static_cast<double>(b));
      const double w = weights == "none" ? (a == b ? 0.0 : 1.0) : weights == "linear" ? d : d * d;
      wo += w * confusion[a * k + b] / total;
      we += w * rows[a] * cols[b] / (total * total);
    }
  CohenKappa c;
  c.subjects = rater1.size();
  c.weights = weights;
  c.observed_agreement = 1.0 - wo;  // for unweighted kappa: the share of identical labels
  c.expected_agreement = 1.0 - we;
  if (!(we > 0.0))
    throw InputError(where, "both raters use a single, identical category",
                     "Cohen's kappa is undefined when expected agreement is 1");
  c.kappa = 1.0 - wo / we;
  return c;
}

Proportion percent_agreement(const std::vector<std::vector<std::string>>& ratings, double conf_level,
                             const std::string& where) {
  check_ratings(ratings, where);
  size_t agree = 0;
  for (const auto& row : ratings)
    agree += std::all_of(row.begin(), row.end(), [&](const std::string& c) { return c == row[0]; });
  return wilson_interval(agree, ratings.size(), conf_level);
}

Proportion accuracy(const std::vector<std::string>& predicted, const std::vector<std::string>& truth, double conf_level,
                    const std::string& where) {
  check_pair(predicted, truth, where, "predictions and truth differ in length");
  size_t right = 0;
  for (size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == truth[i];
  return wilson_interval(right, predicted.size(), conf_level);
}

}  // namespace scintigen::stats
