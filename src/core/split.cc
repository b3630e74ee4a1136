#include "core/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "core/shuffle.h"

namespace scintigen {

void check_split_fractions(const std::vector<double>& fractions) {
  if (fractions.empty()) throw std::invalid_argument("split: no parts");
  double total = 0;
  for (double f : fractions) {
    if (!(f >= 0 && f <= 1)) throw std::invalid_argument(fmt::format("split: fraction {} is not in [0, 1]", f));
    total += f;
  }
  if (std::fabs(total - 1) > 1e-6) throw std::invalid_argument(fmt::format("split: fractions sum to {}, not 1", total));
}

std::vector<size_t> largest_remainder_quotas(size_t n, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0 && std::isfinite(w))) throw std::invalid_argument(fmt::format("largest remainder: weight {}", w));
    total += w;
  }
  if (!(total > 0 && std::isfinite(total))) throw std::invalid_argument("largest remainder: no positive weight");
  std::vector<size_t> quota(weights.size(), 0);
  std::vector<std::pair<double, size_t>> remainder;  // (exact - floor(exact), k) of parts with w_k > 0
  size_t given = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    if (!(weights[k] > 0)) continue;
    const double exact = static_cast<double>(n) * weights[k] / total;
    const double whole = std::floor(exact);
    quota[k] = static_cast<size_t>(whole);
    given += quota[k];
    remainder.emplace_back(exact - whole, k);
  }
  // the exact shares sum to n, so their floors cannot exceed it (rounding errors are far below 1)
  if (given > n) throw std::logic_error("largest_remainder_quotas: floors exceed n");
  // largest remainder first; equal remainders keep the parts' order
  std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t j = 0; given < n; ++j, ++given) quota[remainder[j % remainder.size()].second]++;
  return quota;
}

std::vector<size_t> grouped_stratified_split(const std::vector<SplitItem>& items, const SplitSpec& spec) {
  check_split_fractions(spec.fractions);
  const size_t parts = spec.fractions.size();
  // 1. Units, in the order of their first items.
  std::vector<std::vector<size_t>> unit_items;
  std::unordered_map<std::string, size_t> unit_index;
  std::map<std::string, std::vector<size_t>> strata;  // stratum -> its units, in order
  for (size_t i = 0; i < items.size(); ++i) {
    size_t u;
    if (items[i].unit.empty()) {
      u = unit_items.size();
    } else {
      const auto [it, added] = unit_index.emplace(items[i].unit, unit_items.size());
      u = it->second;
      if (!added) {
        unit_items[u].push_back(i);
        continue;
      }
    }
    unit_items.emplace_back(1, i);
    strata[items[i].stratum].push_back(u);  // 2. the unit's stratum: its first item's
  }
  size_t nonzero = 0;
  for (double f : spec.fractions) nonzero += f > 0;

  std::vector<size_t> part(items.size(), 0);
  for (auto& [stratum, units] : strata) {
    // 3. Shuffle with the stratum's own generator.
    Rng rng = stream_rng(spec.seed, spec.stream, fnv1a64(stratum));
    shuffle(units.begin(), units.end(), rng);
    // 4. Quotas; 5. every part of nonzero fraction gets a unit when there are enough.
    std::vector<size_t> quota = largest_remainder_quotas(units.size(), spec.fractions);
    if (spec.fill_every_part && units.size() >= nonzero) {
      for (size_t k = 0; k < parts; ++k) {
        if (!(spec.fractions[k] > 0) || quota[k] > 0) continue;
        const size_t donor = static_cast<size_t>(std::max_element(quota.begin(), quota.end()) - quota.begin());
        --quota[donor];
        ++quota[k];
      }
    }
    // 6. Cut.
    size_t next = 0;
    for (size_t k = 0; k < parts; ++k)
      for (size_t q = 0; q < quota[k]; ++q, ++next)
        for (size_t i : unit_items[units[next]]) part[i] = k;
  }
  return part;
}

}  // namespace scintigen
