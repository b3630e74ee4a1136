#include "stats/multiplicity.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace scintigen::stats {

std::vector<double> holm_adjust(const std::vector<double>& p, const std::string& where) {
  for (size_t i = 0; i < p.size(); ++i)
    if (!(p[i] >= 0.0 && p[i] <= 1.0))
      throw InputError(where, "p-value " + std::to_string(i + 1) + " is " + std::to_string(p[i]),
                       "p-values must be numbers in [0, 1] (no NaN)");
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adj(p.size());
  double running = 0.0;  // the step-down maximum keeps the adjusted values monotone
  const size_t k = p.size();
  for (size_t r = 0; r < k; ++r) {
    running = std::max(running, std::min(1.0, static_cast<double>(k - r) * p[order[r]]));
    adj[order[r]] = running;
  }
  return adj;
}

}  // namespace scintigen::stats
