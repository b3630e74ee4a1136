// Small real-like and synthetic-like datasets for the reader-study tests, and a study made from
// them. The two origins differ on purpose in a way a compressed image would show: real-like
// scans carry Poisson noise, synthetic-like scans are smooth, so any leak of image texture into
// response sizes would separate them (the side-channel test relies on it).
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/random_streams.h"
#include "core/rng.h"
#include "core/scan.h"
#include "data/dataset.h"
#include "reader/study.h"
#include "test_util.h"

namespace scintigen::reader::testing {

// A 64 x 16 "body": a bright spine column and a soft-tissue band; noisy or smooth.
inline Scan fixture_scan(const std::string& id, bool noisy, int metastasis, int grade, uint64_t seed) {
  Scan s = make_scan(64, 16);
  s.id = id;
  Rng rng(seed);
  for (int v = 0; v < 2; ++v) {
    float* px = s.view(static_cast<View>(v));
    for (int r = 0; r < 64; ++r)
      for (int c = 0; c < 16; ++c) {
        double mean = 20.0 + 60.0 * std::exp(-0.5 * std::pow((c - 7.5) / 1.5, 2));
        if (metastasis && r == 20 + static_cast<int>(seed % 30) && c > 4 && c < 11) mean *= 3.0;
        px[r * 16 + c] = noisy ? static_cast<float>(poisson(mean, rng)) : static_cast<float>(mean);
      }
  }
  s.labels.metastasis = metastasis;
  s.labels.cardiac_grade = grade;
  s.labels.tracer = "MDP";
  s.labels.site = "fixture";
  s.origin = noisy ? Origin::kSimulated : Origin::kSynthetic;
  s.pixel_sha256 = compute_pixel_sha256(s);
  return s;
}

// `n` scans, every third metastatic, grades cycling 0..3 every fourth.
inline void make_fixture_dataset(const std::string& dir, size_t n, bool noisy, uint64_t seed) {
  Dataset ds = Dataset::create(dir, {{"command", "reader fixture"}, {"noisy", noisy}});
  for (size_t i = 0; i < n; ++i)
    ds.add(fixture_scan((noisy ? "r" : "s") + std::to_string(i), noisy, i % 3 == 0 ? 1 : 0, (i / 4) % 4 == 3 ? 2 : 0,
                        seed * 1000 + i));
  ds.commit();
}

struct FixtureStudy {
  scintigen::testing::TempDir tmp;
  std::string real, synthetic, study;
  CreateResult created;
  std::string token(const std::string& reader) const {
    for (const auto& t : created.tokens)
      if (t.reader == reader) return t.token;
    return "";
  }
};

inline void make_fixture_study(FixtureStudy& f, size_t n, const std::string& task,
                               std::vector<std::string> readers = {"a", "b", "c", "d"}) {
  f.real = f.tmp / "real";
  f.synthetic = f.tmp / "syn";
  f.study = f.tmp / "study";
  make_fixture_dataset(f.real, n, true, 1);
  make_fixture_dataset(f.synthetic, n + 6, false, 2);
  CreateConfig c;
  c.real = f.real;
  c.synthetic = f.synthetic;
  c.out = f.study;
  c.n = n;
  c.readers = std::move(readers);
  c.task = task;
  c.seed = 7;
  f.created = create_study(c);
}

}  // namespace scintigen::reader::testing
