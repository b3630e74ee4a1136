#include "audit/neighbours.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace scintigen::audit {

namespace {

constexpr size_t kQueryBlock = 256;
// Queries per block in pixel space: 256, fewer when the block's nine approximate distances per
// reference would pass ~64 MB (many references).
size_t pixel_query_block(size_t refs) {
  return std::clamp<size_t>(size_t{64} * 1000 * 1000 / (refs * 9 * sizeof(double)), 16, kQueryBlock);
}
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Shift {
  int dr, dc;
};
// The order ties between shifts resolve in: (0, 0) first, then row-major.
constexpr Shift kShifts[9] = {{0, 0}, {-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}};

// The float32 error bound e of q.r (neighbours.h).
double dot_error_bound(double q_norm, double r_norm, size_t d) {
  return (2.0 + 4.0 * std::sqrt(static_cast<double>(d))) * std::ldexp(1.0, -24) * q_norm * r_norm;
}

// dst = shift(src, dr, dc): dst[r][c] = src[r - dr][c - dc] in both views, zero fill.
void shift_into(const float* src, float* dst, int H, int W, int dr, int dc) {
  for (int v = 0; v < 2; ++v) {
    const size_t base = static_cast<size_t>(v) * H * W;
    for (int r = 0; r < H; ++r) {
      float* out = dst + base + static_cast<size_t>(r) * W;
      const int sr = r - dr;
      if (sr < 0 || sr >= H) {
        std::fill(out, out + W, 0.0f);
        continue;
      }
      const float* in = src + base + static_cast<size_t>(sr) * W;
      for (int c = 0; c < W; ++c) {
        const int sc = c - dc;
        out[c] = sc >= 0 && sc < W ? in[sc] : 0.0f;
      }
    }
  }
}

// The second smallest of nr >= 2 values.
double second_smallest(const double* approx, size_t nr) {
  double a1 = kInf, a2 = kInf;
  for (size_t j = 0; j < nr; ++j) {
    if (approx[j] < a1) {
      a2 = a1;
      a1 = approx[j];
    } else if (approx[j] < a2) {
      a2 = approx[j];
    }
  }
  return a2;
}

// The references whose approximate squared distance (one per reference in `approx`) is within
// 2 error of the second smallest: they hold the exact two nearest (neighbours.h).
std::vector<size_t> candidates(const double* approx, size_t nr, double error) {
  const double threshold = second_smallest(approx, nr) + 2.0 * error;
  std::vector<size_t> out;
  for (size_t j = 0; j < nr; ++j)
    if (approx[j] <= threshold) out.push_back(j);
  return out;
}

// The two nearest of (squared distance, index, shift) candidates: by distance, then index.
struct Scored {
  double d2;
  size_t index;
  int shift;
};
// Distances are sqrt(d2 / denominator).
Neighbour best_two(std::vector<Scored> s, double denominator) {
  std::sort(s.begin(), s.end(),
            [](const Scored& a, const Scored& b) { return a.d2 < b.d2 || (a.d2 == b.d2 && a.index < b.index); });
  Neighbour n;
  n.index = s[0].index;
  n.second = s[1].index;
  n.d1 = std::sqrt(s[0].d2 / denominator);
  n.d2 = std::sqrt(s[1].d2 / denominator);
  n.ratio = n.d1 == 0.0 ? 0.0 : n.d1 / n.d2;
  n.shift_row = kShifts[s[0].shift].dr;
  n.shift_col = kShifts[s[0].shift].dc;
  return n;
}

// (rows, d) float tensor over `data` without a copy.
at::Tensor float_matrix(const float* data, size_t rows, size_t d) {
  return at::from_blob(const_cast<float*>(data), {static_cast<int64_t>(rows), static_cast<int64_t>(d)}, at::kFloat);
}

}  // namespace

PixelSet pixel_vectors(const std::vector<Scan>& scans, const std::string& where) {
  PixelSet p;
  p.n = scans.size();
  if (scans.empty()) return p;
  p.height = scans[0].height;
  p.width = scans[0].width;
  const size_t d = p.dim();
  p.x.resize(p.n * d);
  for (size_t i = 0; i < scans.size(); ++i) {
    const Scan& s = scans[i];
    const std::string name = s.id.empty() ? fmt::format("scan {}", i) : "scan " + s.id;
    if (s.height != p.height || s.width != p.width)
      throw InputError(
          where,
          fmt::format("{} is {} x {} pixels but {} is {} x {}", name, s.height, s.width,
                      scans[0].id.empty() ? std::string("scan 0") : "scan " + scans[0].id, p.height, p.width),
          "pixel-space distances need one grid; resample the scans to one size first");
    if (s.pixels.size() != d)
      throw InputError(where,
                       fmt::format("{} holds {} values, not 2 x {} x {}", name, s.pixels.size(), p.height, p.width),
                       "a scan stores (2, H, W) counts");
    double total = 0.0;
    for (float v : s.pixels) {
      if (!std::isfinite(v)) throw InputError(where, fmt::format("{} holds a non-finite count", name));
      total += std::max(0.0f, v);
    }
    if (!(total > 0.0)) throw InputError(where, fmt::format("{} holds no counts", name), "drop empty scans");
    const double k = 1e6 / total;
    float* out = p.row(i);
    for (size_t j = 0; j < d; ++j) out[j] = static_cast<float>(std::sqrt(std::max(0.0f, s.pixels[j]) * k));
  }
  return p;
}

Features to_features(const PixelSet& p) {
  Features f(p.n, p.dim());
  for (size_t i = 0; i < p.x.size(); ++i) f.x[i] = p.x[i];
  return f;
}

namespace {
// sum (a - shift(b, dr, dc))^2 in double, row by row: the rows and columns that b's shift
// leaves empty add a^2.
double shifted_square_sum(const float* a, const float* b, int H, int W, int dr, int dc) {
  double s = 0.0;
  const int c0 = std::max(0, dc), c1 = std::min(W, W + dc);  // columns that receive b
  for (int v = 0; v < 2; ++v) {
    const size_t base = static_cast<size_t>(v) * H * W;
    for (int r = 0; r < H; ++r) {
      const float* ar = a + base + static_cast<size_t>(r) * W;
      const int sr = r - dr;
      if (sr < 0 || sr >= H) {
        for (int c = 0; c < W; ++c) s += static_cast<double>(ar[c]) * ar[c];
        continue;
      }
      const float* br = b + base + static_cast<size_t>(sr) * W - dc;  // br[c] = b[sr][c - dc]
      double t = 0.0;
      for (int c = 0; c < c0; ++c) t += static_cast<double>(ar[c]) * ar[c];
      for (int c = c0; c < c1; ++c) {
        const double e = static_cast<double>(ar[c]) - static_cast<double>(br[c]);
        t += e * e;
      }
      for (int c = c1; c < W; ++c) t += static_cast<double>(ar[c]) * ar[c];
      s += t;
    }
  }
  return s;
}
}  // namespace

double shifted_distance(const float* a, const float* b, int H, int W, int dr, int dc) {
  return std::sqrt(shifted_square_sum(a, b, H, W, dr, dc) / (2.0 * H * W));
}

std::vector<Neighbour> nearest_two(const Features& queries, const Features& refs) {
  if (refs.n < 2)
    throw InputError("references", fmt::format("{} reference vectors", refs.n),
                     "nearest-two distances need at least 2 references");
  if (queries.n == 0) return {};
  if (queries.d != refs.d)
    throw InputError("queries", fmt::format("vectors of {} values, the references {}", queries.d, refs.d),
                     "compare features of one kind");
  for (const Features* f : {&queries, &refs})
    for (double v : f->x)
      if (!std::isfinite(v))
        throw InputError(f == &queries ? "queries" : "references", "a feature value is not finite");
  const size_t d = refs.d, nr = refs.n;
  // Centre on the references' mean (distances do not change; float32 cancellation does).
  std::vector<double> mean(d, 0.0);
  for (size_t j = 0; j < nr; ++j)
    for (size_t k = 0; k < d; ++k) mean[k] += refs.at(j, k);
  for (double& m : mean) m /= static_cast<double>(nr);
  auto centred = [&](const Features& f, std::vector<double>* norms) {
    std::vector<float> out(f.n * d);
    norms->assign(f.n, 0.0);
    for (size_t i = 0; i < f.n; ++i)
      for (size_t k = 0; k < d; ++k) {
        const float v = static_cast<float>(f.at(i, k) - mean[k]);
        out[i * d + k] = v;
        (*norms)[i] += static_cast<double>(v) * v;
      }
    return out;
  };
  std::vector<double> qn, rn;
  const std::vector<float> qf = centred(queries, &qn), rf = centred(refs, &rn);
  const double r_max = std::sqrt(*std::max_element(rn.begin(), rn.end()));
  const at::Tensor R = float_matrix(rf.data(), nr, d);

  std::vector<Neighbour> out(queries.n);
  std::vector<double> approx(nr);
  for (size_t q0 = 0; q0 < queries.n; q0 += kQueryBlock) {
    const size_t bq = std::min(kQueryBlock, queries.n - q0);
    const at::Tensor G = at::mm(float_matrix(qf.data() + q0 * d, bq, d), R.t()).contiguous();
    const float* g = G.data_ptr<float>();
    for (size_t i = 0; i < bq; ++i) {
      const size_t q = q0 + i;
      for (size_t j = 0; j < nr; ++j) approx[j] = qn[q] + rn[j] - 2.0 * g[i * nr + j];
      std::vector<Scored> s;
      for (size_t j : candidates(approx.data(), nr, dot_error_bound(std::sqrt(qn[q]), r_max, d))) {
        double e = 0.0;
        for (size_t k = 0; k < d; ++k) {
          const double t = queries.at(q, k) - refs.at(j, k);
          e += t * t;
        }
        s.push_back({e, j, 0});
      }
      out[q] = best_two(std::move(s), 1.0);
    }
  }
  return out;
}

std::vector<Neighbour> nearest_two_shifted(const PixelSet& queries, const PixelSet& refs) {
  if (refs.n < 2)
    throw InputError("references", fmt::format("{} reference scans", refs.n),
                     "nearest-two distances need at least 2 references");
  if (queries.n == 0) return {};
  if (queries.height != refs.height || queries.width != refs.width)
    throw InputError("queries",
                     fmt::format("the scans are {} x {} pixels, the references {} x {}", queries.height, queries.width,
                                 refs.height, refs.width),
                     "pixel-space distances need one grid; resample the scans to one size first");
  const int H = refs.height, W = refs.width;
  const size_t d = refs.dim(), nr = refs.n;
  if (queries.x.size() != queries.n * d || refs.x.size() != nr * d)
    throw InputError("pixel vectors", "the values do not match n x 2 x H x W", "make them with pixel_vectors");

  // |shift(b, s)|^2 for every reference and shift, from per-row sums of squares.
  std::vector<double> rn(9 * nr);
  for (size_t j = 0; j < nr; ++j) {
    const float* b = refs.row(j);
    for (int s = 0; s < 9; ++s) {
      const int dr = kShifts[s].dr, dc = kShifts[s].dc;
      double t = 0.0;
      for (int v = 0; v < 2; ++v)
        for (int sr = std::max(0, -dr); sr < std::min(H, H - dr); ++sr) {
          const float* br = b + (static_cast<size_t>(v) * H + sr) * W;
          for (int sc = std::max(0, -dc); sc < std::min(W, W - dc); ++sc) t += static_cast<double>(br[sc]) * br[sc];
        }
      rn[s * nr + j] = t;
    }
  }
  double r_max = 0.0;
  for (size_t j = 0; j < nr; ++j) r_max = std::max(r_max, rn[j]);
  r_max = std::sqrt(r_max);
  const at::Tensor R = float_matrix(refs.x.data(), nr, d);

  std::vector<Neighbour> out(queries.n);
  const size_t block = pixel_query_block(nr);
  std::vector<float> shifted(block * d);
  std::vector<double> approx(block * nr * 9), best(block * nr), qn(block);
  for (size_t q0 = 0; q0 < queries.n; q0 += block) {
    const size_t bq = std::min(block, queries.n - q0);
    for (size_t i = 0; i < bq; ++i) {
      const float* a = queries.row(q0 + i);
      double t = 0.0;
      for (size_t k = 0; k < d; ++k) t += static_cast<double>(a[k]) * a[k];
      qn[i] = t;
    }
    std::fill(best.begin(), best.end(), kInf);
    for (int s = 0; s < 9; ++s) {
      // a . shift(b, dr, dc) = shift(a, -dr, -dc) . b
      for (size_t i = 0; i < bq; ++i)
        shift_into(queries.row(q0 + i), shifted.data() + i * d, H, W, -kShifts[s].dr, -kShifts[s].dc);
      const at::Tensor G = at::mm(float_matrix(shifted.data(), bq, d), R.t()).contiguous();
      const float* g = G.data_ptr<float>();
      for (size_t i = 0; i < bq; ++i)
        for (size_t j = 0; j < nr; ++j) {
          const double v = qn[i] + rn[s * nr + j] - 2.0 * g[i * nr + j];
          approx[(i * nr + j) * 9 + s] = v;
          best[i * nr + j] = std::min(best[i * nr + j], v);
        }
    }
    for (size_t i = 0; i < bq; ++i) {
      const float* a = queries.row(q0 + i);
      std::vector<Scored> sc;
      const double error = dot_error_bound(std::sqrt(qn[i]), r_max, d);
      const double threshold = second_smallest(best.data() + i * nr, nr) + 2.0 * error;
      for (size_t j : candidates(best.data() + i * nr, nr, error)) {
        Scored e{kInf, j, 0};
        for (int s = 0; s < 9; ++s) {
          // A shift whose approximate value exceeds the threshold is farther than the true
          // second nearest, so it can decide nothing.
          if (approx[(i * nr + j) * 9 + s] > threshold) continue;
          const double e2 = shifted_square_sum(a, refs.row(j), H, W, kShifts[s].dr, kShifts[s].dc);
          if (e2 < e.d2) e = {e2, j, s};
        }
        sc.push_back(e);
      }
      out[q0 + i] = best_two(std::move(sc), 2.0 * H * W);
    }
  }
  return out;
}

}  // namespace scintigen::audit
