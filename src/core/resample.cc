#include "core/resample.h"

#include <algorithm>
#include <cmath>

namespace scintigen {

namespace {

// Overlap weights along one axis: w[o] lists (input index, fraction of that input pixel that
// falls into output pixel o). Fractions of each input pixel over all outputs sum to 1.
struct Tap {
  int index;
  double weight;
};

std::vector<std::vector<Tap>> overlap_taps(int in_n, int out_n) {
  std::vector<std::vector<Tap>> taps(static_cast<size_t>(out_n));
  const double scale = static_cast<double>(in_n) / out_n;  // input pixels per output pixel
  for (int o = 0; o < out_n; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    for (int i = static_cast<int>(std::floor(lo)); i < std::min<int>(in_n, static_cast<int>(std::ceil(hi))); ++i) {
      const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      if (overlap > 1e-12) taps[static_cast<size_t>(o)].push_back({i, overlap});
    }
  }
  return taps;
}

}  // namespace

std::vector<float> resample_counts(const float* in, int in_h, int in_w, int out_h, int out_w) {
  const auto tx = overlap_taps(in_w, out_w);
  const auto ty = overlap_taps(in_h, out_h);
  // Columns first: (in_h, out_w) in double for exact-ish sums.
  std::vector<double> mid(static_cast<size_t>(in_h) * out_w, 0.0);
  for (int r = 0; r < in_h; ++r)
    for (int o = 0; o < out_w; ++o) {
      double s = 0;
      for (const Tap& t : tx[static_cast<size_t>(o)]) s += t.weight * in[static_cast<size_t>(r) * in_w + t.index];
      mid[static_cast<size_t>(r) * out_w + o] = s;
    }
  std::vector<float> out(static_cast<size_t>(out_h) * out_w, 0.f);
  for (int o = 0; o < out_h; ++o)
    for (int c = 0; c < out_w; ++c) {
      double s = 0;
      for (const Tap& t : ty[static_cast<size_t>(o)]) s += t.weight * mid[static_cast<size_t>(t.index) * out_w + c];
      out[static_cast<size_t>(o) * out_w + c] = static_cast<float>(s);
    }
  return out;
}

std::vector<float> resample_counts(const std::vector<float>& in, int in_h, int in_w, int out_h, int out_w) {
  return resample_counts(in.data(), in_h, in_w, out_h, out_w);
}

std::vector<float> scan_to_grid(const Scan& scan, int height, int width) {
  if (scan.height == height && scan.width == width) return scan.pixels;
  std::vector<float> out(2 * static_cast<size_t>(height) * width);
  for (int v = 0; v < 2; ++v) {
    std::vector<float> r = resample_counts(scan.view(static_cast<View>(v)), scan.height, scan.width, height, width);
    std::copy(r.begin(), r.end(), out.begin() + static_cast<size_t>(v) * height * width);
  }
  return out;
}

}  // namespace scintigen
