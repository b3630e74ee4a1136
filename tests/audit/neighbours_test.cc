// Nearest neighbours of the audit (src/audit/neighbours.h): the float32 search against a
// double brute force, exact and shifted copies, a re-acquired copy among similar scans, ties.
#include "audit/neighbours.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "clf/augment.h"
#include "core/error.h"
#include "core/rng.h"
#include "test_util.h"

namespace scintigen::audit {
namespace {

// The two nearest by brute force in double: (distance, index) ascending, ties to the lower index.
std::pair<size_t, size_t> brute_force_two(const std::vector<double>& d) {
  size_t i1 = 0;
  for (size_t j = 1; j < d.size(); ++j)
    if (d[j] < d[i1]) i1 = j;
  size_t i2 = i1 == 0 ? 1 : 0;
  for (size_t j = 0; j < d.size(); ++j)
    if (j != i1 && d[j] < d[i2]) i2 = j;
  return {i1, i2};
}

Features random_features(size_t n, size_t d, double offset, Rng& rng) {
  Features f(n, d);
  for (double& x : f.x) x = offset + rng.normal();
  return f;
}

TEST(NearestTwo, EqualsBruteForce) {
  Rng rng(5);
  const size_t d = 40;
  const Features refs = random_features(700, d, 100.0, rng);  // a large offset: float32 cancellation
  Features queries = random_features(300, d, 100.0, rng);
  for (size_t k = 0; k < 10; ++k)  // exact copies
    for (size_t c = 0; c < d; ++c) queries.at(k * 7, c) = refs.at(k * 50, c);
  const std::vector<Neighbour> nn = nearest_two(queries, refs);
  ASSERT_EQ(nn.size(), queries.n);
  for (size_t q = 0; q < queries.n; ++q) {
    std::vector<double> dist(refs.n);
    for (size_t j = 0; j < refs.n; ++j) {
      double s = 0.0;
      for (size_t c = 0; c < d; ++c) s += (queries.at(q, c) - refs.at(j, c)) * (queries.at(q, c) - refs.at(j, c));
      dist[j] = std::sqrt(s);
    }
    const auto [i1, i2] = brute_force_two(dist);
    ASSERT_EQ(nn[q].index, i1) << q;
    ASSERT_EQ(nn[q].second, i2) << q;
    EXPECT_NEAR(nn[q].d1, dist[i1], 1e-12 * (1 + dist[i1])) << q;
    EXPECT_NEAR(nn[q].d2, dist[i2], 1e-12 * (1 + dist[i2])) << q;
    EXPECT_NEAR(nn[q].ratio, dist[i1] / dist[i2], 1e-12) << q;
  }
  for (size_t k = 0; k < 10; ++k) {
    EXPECT_EQ(nn[k * 7].index, k * 50);
    EXPECT_EQ(nn[k * 7].d1, 0.0);
    EXPECT_EQ(nn[k * 7].ratio, 0.0);
  }
}

TEST(NearestTwo, TiesGoToTheLowestIndex) {
  Features refs(5, 2);
  // refs 1 and 3 are the same point, 4 another point at the same distance from the query.
  const double pts[5][2] = {{10, 10}, {1, 0}, {5, 5}, {1, 0}, {-1, 0}};
  for (int j = 0; j < 5; ++j) refs.at(j, 0) = pts[j][0], refs.at(j, 1) = pts[j][1];
  Features q(1, 2);
  const std::vector<Neighbour> nn = nearest_two(q, refs);
  EXPECT_EQ(nn[0].index, 1u);
  EXPECT_EQ(nn[0].second, 3u);
  EXPECT_EQ(nn[0].d1, 1.0);
  EXPECT_EQ(nn[0].d2, 1.0);
  EXPECT_EQ(nn[0].ratio, 1.0);
  // A query equal to two identical references: d1 = d2 = 0, ratio 0.
  q.at(0, 0) = 1.0;
  const std::vector<Neighbour> copy = nearest_two(q, refs);
  EXPECT_EQ(copy[0].index, 1u);
  EXPECT_EQ(copy[0].second, 3u);
  EXPECT_EQ(copy[0].d2, 0.0);
  EXPECT_EQ(copy[0].ratio, 0.0);
}

TEST(NearestTwo, RefusesBadInput) {
  EXPECT_EQ(testing::input_error([] { nearest_two(Features(3, 2), Features(1, 2)); }),
            "references: 1 reference vectors (hint: nearest-two distances need at least 2 references)");
  EXPECT_EQ(testing::input_error([] { nearest_two(Features(3, 2), Features(4, 3)); }),
            "queries: vectors of 2 values, the references 3 (hint: compare features of one kind)");
}

constexpr int kH = 64, kW = 32;

// A simulated-like expected scan: a body of random length and width (a smooth profile inside a
// zero border), a brighter spine and a few hot spots; about 1e6 counts in all.
Scan expected_scan(uint64_t seed) {
  Rng rng(seed);
  Scan s = make_scan(kH, kW);
  const double len = rng.uniform(40, 54), half_w = rng.uniform(6, 10), top = rng.uniform(4, 8);
  const double spine = rng.uniform(1.5, 3.0);
  double hot_r[3], hot_c[3], hot_a[3];
  for (int k = 0; k < 3; ++k)
    hot_r[k] = rng.uniform(top, top + len), hot_c[k] = rng.uniform(10, 22), hot_a[k] = rng.uniform(2, 8);
  for (int v = 0; v < 2; ++v)
    for (int r = 0; r < kH; ++r)
      for (int c = 0; c < kW; ++c) {
        const double u = (r - top) / len, w = (c - 16.0) / half_w;
        if (u < 0 || u > 1 || std::fabs(w) > 1) continue;
        double x = 1.0 - 0.5 * w * w + spine * std::exp(-8.0 * w * w);
        for (int k = 0; k < 3; ++k)
          x += hot_a[k] * std::exp(-((r - hot_r[k]) * (r - hot_r[k]) + (c - hot_c[k]) * (c - hot_c[k])) / 4.0);
        s.pixels[(static_cast<size_t>(v) * kH + r) * kW + c] = static_cast<float>(300.0 * x * (v ? 0.8 : 1.0));
      }
  return s;
}

Scan acquire(const Scan& mean, uint64_t seed) {
  Scan s = mean;
  Rng rng(seed);
  clf::poisson_resample(s.pixels.data(), s.pixels.size(), rng);
  return s;
}

TEST(NearestTwoShifted, ShiftedDistanceEqualsAnIndependentShift) {
  const Scan a = acquire(expected_scan(1), 11), b = acquire(expected_scan(2), 12);
  const PixelSet p = pixel_vectors({a, b});
  for (int dr = -1; dr <= 1; ++dr)
    for (int dc = -1; dc <= 1; ++dc) {
      std::vector<float> sb(p.row(1), p.row(1) + p.dim());
      clf::shift_views(sb.data(), kH, kW, dr, dc);
      double s = 0.0;
      for (size_t k = 0; k < p.dim(); ++k) s += (double(p.row(0)[k]) - sb[k]) * (double(p.row(0)[k]) - sb[k]);
      EXPECT_NEAR(shifted_distance(p.row(0), p.row(1), kH, kW, dr, dc), std::sqrt(s / p.dim()), 1e-12);
    }
}

TEST(NearestTwoShifted, EqualsBruteForceAndFindsCopies) {
  std::vector<Scan> refs, queries;
  for (int j = 0; j < 40; ++j) refs.push_back(acquire(expected_scan(100 + j), 1000 + j));
  for (int i = 0; i < 30; ++i) queries.push_back(acquire(expected_scan(200 + i), 2000 + i));
  queries[3] = refs[17];                                      // an exact copy
  queries[4] = refs[8];                                       // a copy moved one pixel
  clf::shift_views(queries[4].pixels.data(), kH, kW, 1, -1);  // down and left
  queries[5] = acquire(expected_scan(100 + 25), 99);          // re-acquired copy of 25
  const PixelSet r = pixel_vectors(refs), q = pixel_vectors(queries);
  ASSERT_EQ(q.dim(), 2u * kH * kW);
  const std::vector<Neighbour> nn = nearest_two_shifted(q, r);
  for (size_t i = 0; i < q.n; ++i) {
    std::vector<double> dist(r.n);
    std::vector<std::pair<int, int>> shift(r.n);
    for (size_t j = 0; j < r.n; ++j) {
      dist[j] = INFINITY;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          const double d = shifted_distance(q.row(i), r.row(j), kH, kW, dr, dc);
          if (d < dist[j] || (d == dist[j] && dr == 0 && dc == 0)) dist[j] = d, shift[j] = {dr, dc};
        }
    }
    const auto [i1, i2] = brute_force_two(dist);
    ASSERT_EQ(nn[i].index, i1) << i;
    ASSERT_EQ(nn[i].second, i2) << i;
    EXPECT_EQ(nn[i].d1, dist[i1]) << i;
    EXPECT_EQ(nn[i].d2, dist[i2]) << i;
    EXPECT_EQ(nn[i].shift_row, shift[i1].first) << i;
    EXPECT_EQ(nn[i].shift_col, shift[i1].second) << i;
  }
  EXPECT_EQ(nn[3].index, 17u);
  EXPECT_EQ(nn[3].d1, 0.0);
  EXPECT_EQ(nn[3].ratio, 0.0);
  EXPECT_EQ(nn[3].shift_row, 0);
  EXPECT_EQ(nn[3].shift_col, 0);
  EXPECT_EQ(nn[4].index, 8u);
  EXPECT_EQ(nn[4].d1, 0.0);
  EXPECT_EQ(nn[4].shift_row, 1);
  EXPECT_EQ(nn[4].shift_col, -1);
  EXPECT_EQ(nn[5].index, 25u);
  // A fresh acquisition of the same patient is far nearer than any other patient's scan.
  EXPECT_LT(nn[5].ratio, 0.3) << "d1 " << nn[5].d1 << " d2 " << nn[5].d2;
  for (size_t i = 0; i < q.n; ++i) {
    if (i == 3 || i == 4 || i == 5) continue;
    EXPECT_GT(nn[i].d1, nn[5].d1) << i;
  }
}

TEST(PixelVectors, NormaliseDoseAndRefuseOtherGrids) {
  Scan a = acquire(expected_scan(1), 1);
  Scan b = a;
  for (float& v : b.pixels) v *= 3.0f;  // three times the dose, same image
  const PixelSet p = pixel_vectors({a, b});
  double sum_sq = 0.0;
  for (size_t k = 0; k < p.dim(); ++k) {
    sum_sq += double(p.row(0)[k]) * p.row(0)[k];
    EXPECT_NEAR(p.row(0)[k], p.row(1)[k], 1e-4 * (1 + p.row(0)[k]));
  }
  EXPECT_NEAR(sum_sq, 1e6, 1.0);  // every scan holds 1e6 counts
  a.id = "a";
  Scan c = make_scan(32, 32);
  c.id = "c";
  EXPECT_EQ(testing::input_error([&] {
              pixel_vectors({a, c}, "synthetic");
            }),
            "synthetic: scan c is 32 x 32 pixels but scan a is 64 x 32 (hint: pixel-space distances need one grid; "
            "resample the scans to one size first)");
  EXPECT_EQ(testing::input_error([&] { pixel_vectors({make_scan(kH, kW)}, "real"); }),
            "real: scan 0 holds no counts (hint: drop empty scans)");
}

// 2000 x 2000 scans of 2 x 256 x 64 (the brief's target: under ~60 s on one core). Runs only
// with SCINTIGEN_BENCH=1 (it takes a minute); reports the time.
TEST(NearestTwoShifted, Speed) {
  if (!std::getenv("SCINTIGEN_BENCH")) GTEST_SKIP() << "set SCINTIGEN_BENCH=1 to run";
  const size_t n = std::getenv("SCINTIGEN_BENCH_N") ? std::stoul(std::getenv("SCINTIGEN_BENCH_N")) : 2000;
  PixelSet q, r;
  for (PixelSet* p : {&q, &r}) {
    p->n = n;
    p->height = 256;
    p->width = 64;
    p->x.resize(n * p->dim());
  }
  Rng rng(3);
  for (float& v : q.x) v = static_cast<float>(10 + rng.normal());
  for (float& v : r.x) v = static_cast<float>(10 + rng.normal());
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Neighbour> nn = nearest_two_shifted(q, r);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("nearest_two_shifted %zu x %zu at 2 x 256 x 64: %.1f s\n", n, n, s);
  EXPECT_EQ(nn.size(), n);
}

}  // namespace
}  // namespace scintigen::audit
