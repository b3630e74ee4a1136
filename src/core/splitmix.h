// Counter-based seeding: the SplitMix64 finaliser, which turns (seed, counter) pairs into
// well-mixed, independent-looking 64-bit seeds. Used wherever a result must depend only on a
// seed and an index (simulated scan i, training step s, generated scan k), never on history.
//
//   uint64_t s = splitmix64(splitmix64(seed) ^ index);
#pragma once

#include <cstdint>

namespace scintigen {

// Ref: Steele, Lea, Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace scintigen
