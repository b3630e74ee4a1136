#include "core/scan.h"

#include <gtest/gtest.h>

#include "core/sha256.h"

namespace scintigen {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(std::string("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(std::string("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Scan, PixelHashCoversPresentViewsOnly) {
  Scan s = make_scan(2, 3);
  for (size_t i = 0; i < s.view_size(); ++i) s.view(kAnterior)[i] = static_cast<float>(i);
  s.views = ViewSet::kAnteriorOnly;
  std::vector<float> ant(s.view(kAnterior), s.view(kAnterior) + s.view_size());
  // Little-endian float32 bytes of the anterior view alone (x86 is little endian).
  EXPECT_EQ(compute_pixel_sha256(s), sha256_hex(ant.data(), ant.size() * 4));
  s.view(kPosterior)[0] = 99;  // absent view: ignored
  EXPECT_EQ(compute_pixel_sha256(s), sha256_hex(ant.data(), ant.size() * 4));
  s.views = ViewSet::kBoth;
  EXPECT_NE(compute_pixel_sha256(s), sha256_hex(ant.data(), ant.size() * 4));
  EXPECT_EQ(compute_pixel_sha256(s), sha256_hex(s.pixels.data(), s.pixels.size() * 4));
}

TEST(Scan, EnumStringsRoundTrip) {
  for (Origin o : {Origin::kReal, Origin::kSimulated, Origin::kSynthetic})
    EXPECT_EQ(origin_from_string(to_string(o), "t"), o);
  for (ViewSet v : {ViewSet::kBoth, ViewSet::kAnteriorOnly, ViewSet::kPosteriorOnly})
    EXPECT_EQ(view_set_from_string(to_string(v), "t"), v);
}

}  // namespace
}  // namespace scintigen
