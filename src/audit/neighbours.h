// Nearest neighbours of synthetic scans among training scans, in feature space and in pixel
// space: a synthetic scan much nearer to one training scan than to any other is a copy
// (memorisation).
//
//   PixelSet train = pixel_vectors(train_scans);        // sqrt(dose-normalised counts), float
//   PixelSet synth = pixel_vectors(synth_scans);        // same H x W required
//   std::vector<Neighbour> nn = nearest_two_shifted(synth, train);
//   // nn[i].index: the training scan nearest to synthetic scan i; nn[i].d1, d2, ratio = d1 / d2;
//   // nn[i].shift_row / shift_col: the one-pixel shift of the training scan that matched best
//   std::vector<Neighbour> fe = nearest_two(synth_embeddings, train_embeddings);  // Features
//
// Pixel vectors: x = sqrt(c * 1e6 / T) per pixel over both views (anterior then posterior),
// c the counts (negative counts read as 0), T the scan's total counts: the dose is normalised
// (every scan holds 1e6 counts) and the square root makes Poisson noise about equal everywhere
// (variance ~ 1/4 in units of sqrt(counts); Anscombe). Ref: F. J. Anscombe, The transformation
// of Poisson, binomial and negative-binomial data, Biometrika 35(3/4):246-254, 1948.
//
// Distances: feature space, the Euclidean ||q - r||. Pixel space, tolerant to a patient lying a
// pixel higher or lower:
//   d(a, b) = min over (dr, dc) in {-1, 0, 1}^2 of ||a - shift(b, dr, dc)|| / sqrt(P),
// P = 2 H W, shift(b, dr, dc)[r][c] = b[r - dr][c - dc] in both views (zero fill; +dr moves
// down), so d is a root-mean-square difference per pixel.
// Per query: d1 = the smallest distance to any reference (its index), d2 = the smallest
// distance to any other reference, ratio = d1 / d2 (0 when d1 = 0). Ties go to the lowest
// reference index; in pixel space among equal shifts to the first of (0, 0), then (dr, dc) in
// row-major order from (-1, -1).
// Ref: (the nearest training image as the test of a copy, with its distance compared to that of
//      the other training images) N. Carlini et al., Extracting training data from diffusion
//      models, USENIX Security 2023; G. Somepalli et al., Diffusion art or digital forgery?
//      Investigating data replication in diffusion models, CVPR 2023.
//
// Method: the search computes every squared distance as |q|^2 + |r|^2 - 2 q.r, the norms in
// double and q.r by float32 matrix products (LibTorch; the references in place, the queries in
// blocks of up to 256, in pixel space one product per shift: a . shift(b, dr, dc) =
// shift(a, -dr, -dc) . b). For each query it keeps every reference within 2 e of the second
// smallest approximate value, e = (2 + 4 sqrt(d)) 2^-24 |q| max|r| (several times the float32
// rounding error of a d-term dot product in practice; feature vectors are first centred on the
// references' mean to keep |q| and |r| small), and recomputes those candidates exactly in double
// (in pixel space the shifts within the same bound). The reported indices, distances and shifts
// are those of the exact computation whenever the float32 error stays below e.
// Memory: the inputs, plus per block of queries the products and their nine approximate values
// per reference (capped near 64 MB by taking fewer queries per block) and one shifted copy.
// Speed (pixel space, 2000 x 2000 scans of 2 x 256 x 64, one core): dominated by the nine
// float32 products (2.4e12 flops); see tests/audit/neighbours_test.cc (Speed). LibTorch's threads
// apply (OMP_NUM_THREADS or at::set_num_threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audit/features.h"
#include "core/scan.h"

namespace scintigen::audit {

// n pixel vectors of 2 * height * width float values, row-major, vector i at x[i * dim()].
struct PixelSet {
  size_t n = 0;
  int height = 0, width = 0;
  std::vector<float> x;
  size_t dim() const { return 2 * static_cast<size_t>(height) * width; }
  const float* row(size_t i) const { return x.data() + i * dim(); }
  float* row(size_t i) { return x.data() + i * dim(); }
};

// Throws InputError when the scans' grids differ (naming both scans and grids), or when a scan
// holds no counts (T <= 0) or a non-finite count. `where` names the set in messages.
PixelSet pixel_vectors(const std::vector<Scan>& scans, const std::string& where = "scans");
// Feature-space copy of a pixel set (double), e.g. for the metrics of audit/metrics.h.
Features to_features(const PixelSet& p);

struct Neighbour {
  size_t index = 0;   // nearest reference
  size_t second = 0;  // second nearest reference (another index)
  double d1 = 0.0, d2 = 0.0;
  double ratio = 0.0;                // d1 / d2; 0 when d1 = 0
  int shift_row = 0, shift_col = 0;  // pixel space: the shift of reference `index` that matched
};

// One entry per query (none for no queries). Throws InputError when there are fewer than 2
// references, the dimensions (grids) differ, or a feature value is not finite (pixel sets are
// checked by pixel_vectors).
std::vector<Neighbour> nearest_two(const Features& queries, const Features& refs);
std::vector<Neighbour> nearest_two_shifted(const PixelSet& queries, const PixelSet& refs);

// The exact pixel-space distance d(a, b) at one shift (dr, dc in {-1, 0, 1}), in double:
// ||a - shift(b, dr, dc)|| / sqrt(P). a and b are 2 * height * width values.
double shifted_distance(const float* a, const float* b, int height, int width, int dr, int dc);

}  // namespace scintigen::audit
