// A seeded shuffle that gives the same permutation with every compiler and standard library.
//
//   Rng rng = stream_rng(seed, RandomStream::kGenDataOrder, epoch);  // core/random_streams.h
//   std::vector<int64_t> p = random_permutation<int64_t>(n, rng);     // a permutation of 0..n-1
//   shuffle(items.begin(), items.end(), rng);                         // in place
//
// std::shuffle and std::uniform_int_distribution are not used: the standard fixes neither
// algorithm, so libstdc++, libc++ and MSVC give different orders for one seed.
//
// Algorithm (tests/ref/shuffle_reference.py implements it independently):
//   - bounded(rng, n), a uniform integer in [0, n): Lemire's multiply-and-reject. Take a 64-bit
//     word x from the generator; m = x * n as a 128-bit product; l = m mod 2^64. If l < n, let
//     t = 2^64 mod n, and while l < t draw a new x and recompute. Return m / 2^64. Exactly
//     uniform (the rejected words are the 2^64 mod n that would give some values one extra
//     preimage); at most one 64-bit multiply per word and a division only when l < n.
//     Ref: D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 29(1), 2019.
//   - shuffle: Fisher-Yates from the back: for i = n-1 down to 1, j = bounded(rng, i + 1), swap
//     elements i and j. Every permutation has probability 1/n! (up to the generator's quality).
//     Ref: Knuth, TAOCP vol. 2, 3.4.2, Algorithm P.
// Rng::below (core/rng.h) is a different, floating-point draw that the simulator and the
// classifier's sampler keep for their fixed values; new code draws integers with bounded().
#pragma once

#include <cstdint>
#include <iterator>
#include <numeric>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace scintigen {

namespace detail {
// The high and low 64 bits of the 128-bit product a * b, in portable C++.
inline void mul_64x64(uint64_t a, uint64_t b, uint64_t* hi, uint64_t* lo) {
  const uint64_t a0 = a & 0xFFFFFFFFull, a1 = a >> 32, b0 = b & 0xFFFFFFFFull, b1 = b >> 32;
  const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFull) + (p10 & 0xFFFFFFFFull);
  *lo = (mid << 32) | (p00 & 0xFFFFFFFFull);
  *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
}  // namespace detail

// A uniform integer in [0, n), n >= 1 (n = 0 gives 0 and draws nothing).
inline uint64_t bounded(Rng& rng, uint64_t n) {
  if (n == 0) return 0;
  uint64_t hi, lo;
  detail::mul_64x64(rng.next(), n, &hi, &lo);
  if (lo < n) {
    const uint64_t t = (0 - n) % n;  // 2^64 mod n
    while (lo < t) detail::mul_64x64(rng.next(), n, &hi, &lo);
  }
  return hi;
}

// Fisher-Yates over [first, last) (random-access iterators), drawing with bounded().
template <class It>
void shuffle(It first, It last, Rng& rng) {
  using std::swap;
  const auto n = static_cast<uint64_t>(std::distance(first, last));
  for (uint64_t i = n; i > 1; --i) {
    const uint64_t j = bounded(rng, i);
    if (j != i - 1)
      swap(first[static_cast<typename std::iterator_traits<It>::difference_type>(i - 1)],
           first[static_cast<typename std::iterator_traits<It>::difference_type>(j)]);
  }
}

// 0, 1, ..., n-1 shuffled.
template <class Int = size_t>
std::vector<Int> random_permutation(size_t n, Rng& rng) {
  std::vector<Int> p(n);
  std::iota(p.begin(), p.end(), Int{0});
  shuffle(p.begin(), p.end(), rng);
  return p;
}

}  // namespace scintigen
