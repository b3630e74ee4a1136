// A set of feature vectors: n rows of d values, row-major, in double precision. What every
// feature-space measure of the audit takes (encoder embeddings, pixel vectors, image statistics).
//
//   Features f(3, 2);                      // 3 vectors of 2 values, zero
//   f.at(1, 0) = 4.0;
//   Features g = f.rows({0, 2});          // a subset, in the given order (repeats allowed)
#pragma once

#include <cstddef>
#include <stdexcept>
#include <vector>

namespace scintigen::audit {

struct Features {
  size_t n = 0, d = 0;
  std::vector<double> x;  // n * d values, row i at x[i * d]

  Features() = default;
  Features(size_t rows, size_t cols) : n(rows), d(cols), x(rows * cols, 0.0) {}
  double* row(size_t i) { return x.data() + i * d; }
  const double* row(size_t i) const { return x.data() + i * d; }
  double& at(size_t i, size_t j) { return x[i * d + j]; }
  double at(size_t i, size_t j) const { return x[i * d + j]; }
  // The rows `idx` (in that order, repeats allowed). Throws std::out_of_range for an index >= n.
  Features rows(const std::vector<size_t>& idx) const {
    Features out(idx.size(), d);
    for (size_t k = 0; k < idx.size(); ++k) {
      if (idx[k] >= n) throw std::out_of_range("Features::rows: index past the end");
      for (size_t j = 0; j < d; ++j) out.x[k * d + j] = x[idx[k] * d + j];
    }
    return out;
  }
};

}  // namespace scintigen::audit
