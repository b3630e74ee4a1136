// Count-preserving resampling of a view to a new grid.
//
//   std::vector<float> out = resample_counts(in, 1024, 256, 512, 128);  // sum(out) == sum(in)
//
// Each output pixel receives the counts of the input area it covers (box integration with
// fractional overlaps), so total counts are preserved up to float rounding and Poisson
// statistics keep their meaning. Used only when the user asks for a target grid.
#pragma once

#include <vector>

#include "core/scan.h"

namespace scintigen {

// in: (in_h, in_w) row-major -> (out_h, out_w).
std::vector<float> resample_counts(const std::vector<float>& in, int in_h, int in_w, int out_h, int out_w);
// Same on a raw pointer.
std::vector<float> resample_counts(const float* in, int in_h, int in_w, int out_h, int out_w);

// Both views of `scan` at (height, width), counts preserved: (2, height, width) row-major
// (a copy of the pixels when the grid already matches).
std::vector<float> scan_to_grid(const Scan& scan, int height, int width);

}  // namespace scintigen
