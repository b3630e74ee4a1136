// The simulator's generator and exact Poisson sampler live in core (core/rng.h); the phantom
// code uses them under its own namespace.
#pragma once

#include "core/rng.h"

namespace scintigen::phantom {

using scintigen::poisson;
using scintigen::poisson_fill;
using scintigen::Rng;
using scintigen::splitmix64;

}  // namespace scintigen::phantom
