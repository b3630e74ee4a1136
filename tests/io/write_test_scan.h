// A fake, body-like whole-body scan for the writer tests: a skeleton of gaussian blobs
// (skull, spine, pelvis, ribs, long bones), kidneys, bladder and soft tissue, Poisson noise.
//
//   Scan s = make_body_scan(256, 64, 7);   // (2, 256, 64) integer counts, both views
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen::testing {

inline Scan make_body_scan(int height, int width, uint32_t seed, double peak = 60.0) {
  Scan s = make_scan(height, width);
  s.id = "s" + std::to_string(seed);
  s.spacing_row_mm = 2.4 * 1024.0 / height;
  s.spacing_col_mm = 2.4 * 256.0 / width;
  // Expected counts, anterior view, in units of the body height (y) and width (x, 0 = right).
  struct Blob {
    double y, x, sy, sx, a;
  };
  std::vector<Blob> blobs;
  blobs.push_back({0.06, 0.5, 0.04, 0.09, 1.0});                                            // skull
  for (double y = 0.13; y < 0.52; y += 0.015) blobs.push_back({y, 0.5, 0.008, 0.02, 0.8});  // spine
  blobs.push_back({0.56, 0.38, 0.04, 0.07, 0.9});                                           // pelvis
  blobs.push_back({0.56, 0.62, 0.04, 0.07, 0.9});
  blobs.push_back({0.60, 0.5, 0.015, 0.03, 2.5});   // bladder
  blobs.push_back({0.38, 0.40, 0.03, 0.025, 0.5});  // kidneys
  blobs.push_back({0.38, 0.60, 0.03, 0.025, 0.5});
  for (int i = 0; i < 8; ++i) {  // ribs
    double y = 0.18 + 0.025 * i;
    blobs.push_back({y, 0.36, 0.006, 0.07, 0.5});
    blobs.push_back({y, 0.64, 0.006, 0.07, 0.5});
  }
  for (double y = 0.62; y < 0.97; y += 0.02) {  // femurs and tibiae
    blobs.push_back({y, 0.40, 0.012, 0.02, 0.6});
    blobs.push_back({y, 0.60, 0.012, 0.02, 0.6});
  }
  for (double y = 0.16; y < 0.45; y += 0.02) {  // humeri
    blobs.push_back({y, 0.16, 0.012, 0.018, 0.5});
    blobs.push_back({y, 0.84, 0.012, 0.018, 0.5});
  }
  blobs.push_back({0.30, 0.30, 0.01, 0.012, 1.8});  // a hot spot (right ribs)
  std::mt19937 rng(seed);
  for (View v : {kAnterior, kPosterior}) {
    float* p = s.view(v);
    for (int r = 0; r < height; ++r) {
      const double y = (r + 0.5) / height;
      for (int c = 0; c < width; ++c) {
        const double x = (c + 0.5) / width;
        double body = std::exp(-std::pow((x - 0.5) / 0.3, 4.0)) * 0.08;
        double lam = body;
        for (const Blob& b : blobs) {
          double a = b.a;
          if (v == kPosterior && b.x == 0.5 && b.y > 0.12 && b.y < 0.52) a *= 1.6;  // spine nearer the back
          lam += a * std::exp(-0.5 * (std::pow((y - b.y) / b.sy, 2) + std::pow((x - b.x) / b.sx, 2)));
        }
        std::poisson_distribution<int> pois(lam * peak);
        p[static_cast<size_t>(r) * width + c] = static_cast<float>(pois(rng));
      }
    }
  }
  s.pixel_sha256 = compute_pixel_sha256(s);
  return s;
}

}  // namespace scintigen::testing
