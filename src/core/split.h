// The one seeded, grouped, stratified split: `scintigen dataset split`, the classifier's
// validation split and the generator's validation split all cut their data with it.
//
//   std::vector<SplitItem> items = {{"subject:p1", "1|"}, {"subject:p1", "1|"}, {"", "0|"}, ...};
//   SplitSpec spec{{0.8, 0.1, 0.1}, seed, RandomStream::kDatasetSplit};
//   std::vector<size_t> part = grouped_stratified_split(items, spec);  // part[i]: 0, 1 or 2
//
// Algorithm:
//   1. Units. Items with the same non-empty `unit` form one unit (a subject's scans) and always
//      land in the same part; an item with an empty `unit` is a unit of its own. A unit's
//      stratum is the stratum of its first item.
//   2. Strata. Units are grouped by stratum; within a stratum they stand in the order of their
//      first items. The strata are independent: stratum s is shuffled with its own generator,
//      stream_rng(seed, stream, fnv1a64(s)) (core/random_streams.h; FNV-1a over the stratum's
//      bytes), so adding or removing units of one stratum never changes another's cut.
//   3. Shuffle. The stratum's units are shuffled by Fisher-Yates with Lemire's bounded draw
//      (core/shuffle.h): the same on every platform and standard library.
//   4. Quotas. The stratum's n units are shared by largest remainder (largest_remainder_quotas):
//      part k gets floor(f_k n) units, and the units left over go one each to the parts with
//      the largest remainders f_k n - floor(f_k n); equal remainders go to the part listed
//      first. Parts of fraction 0 get nothing. Each part's count is within one unit of f_k n.
//   5. Optional fill (fill_every_part): in a stratum with at least as many units as there are
//      parts of nonzero fraction, a part of nonzero fraction left empty takes one unit from the
//      part with the most units (equal counts: the one listed first), repeatedly, so that every
//      part sees every stratum (the classifier's validation needs both classes). Counts may
//      then differ from f_k n by more than one.
//   6. Cut. In shuffled order the first q_0 units go to part 0, the next q_1 to part 1, ...
// The result is a function of the items (their order included), the spec and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/random_streams.h"

namespace scintigen {

struct SplitItem {
  std::string unit;     // items sharing a non-empty unit stay together; "" = a unit of its own
  std::string stratum;  // balance key (e.g. the label tuple); "" = one stratum for all
};

struct SplitSpec {
  std::vector<double> fractions;  // one per part, each in [0, 1], summing to 1 within 1e-6
  uint64_t seed = 0;
  RandomStream stream = RandomStream::kDatasetSplit;
  bool fill_every_part = false;  // step 5 above
};

// Throws std::invalid_argument for fractions that are empty, negative, non-finite or do not sum
// to 1 within 1e-6 (callers validate their own flags first, with their own messages).
void check_split_fractions(const std::vector<double>& fractions);

// Shares of n in proportion to weights (>= 0, finite, positive sum) by largest remainder (step
// 4 above, with f_k = w_k / sum w; exact share n w_k / sum w). Sums to n; a weight of 0 gets 0.
// `generate --mix` shares its scans among conditions with it too. Throws std::invalid_argument.
std::vector<size_t> largest_remainder_quotas(size_t n, const std::vector<double>& weights);

// The part (index into spec.fractions) of every item.
std::vector<size_t> grouped_stratified_split(const std::vector<SplitItem>& items, const SplitSpec& spec);

}  // namespace scintigen
