// Tests of PNG output: 8/16-bit round trips (byte order checked against the raw stream),
// previews, contact sheets, and broken files that must fail with InputError.
#include "io/png.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "core/error.h"
#include "core/fs_util.h"
#include "io/write_test_scan.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::make_body_scan;
using testing::TempDir;

uint32_t be32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 | static_cast<unsigned char>(s[at + 3]);
}

void put_be32(std::string& s, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>(v >> (24 - 8 * k));
}

// Offset of the first chunk of `type` (its length field), or npos.
size_t find_chunk(const std::string& png, const char* type) {
  for (size_t at = 8; at + 12 <= png.size(); at += 12 + be32(png, at))
    if (png.compare(at + 4, 4, type) == 0) return at;
  return std::string::npos;
}

std::vector<uint16_t> read(const std::string& path, int* w, int* h, int* depth) {
  return read_png_gray(path, w, h, depth);
}

TEST(Png, RoundTrip16IsExactAndBigEndian) {
  TempDir dir;
  const int w = 7, h = 5;
  std::vector<uint16_t> s(w * h);
  for (int i = 0; i < w * h; ++i) s[i] = static_cast<uint16_t>(i * 1901 + 3);
  s[0] = 0x0102;
  s[1] = 65535;
  s[2] = 0;
  write_png_gray(dir / "a.png", w, h, 16, s.data());
  int rw = 0, rh = 0, depth = 0;
  EXPECT_EQ(read(dir / "a.png", &rw, &rh, &depth), s);
  EXPECT_EQ(rw, w);
  EXPECT_EQ(rh, h);
  EXPECT_EQ(depth, 16);

  // Independent of libpng: inflate the IDAT stream; row 0 is a filter byte, then MSB first.
  const std::string png = read_file(dir / "a.png");
  std::string idat;
  for (size_t at = 8; at + 12 <= png.size(); at += 12 + be32(png, at))
    if (png.compare(at + 4, 4, "IDAT") == 0) idat += png.substr(at + 8, be32(png, at));
  std::vector<unsigned char> raw(h * (1 + 2 * w));
  uLongf raw_len = raw.size();
  ASSERT_EQ(uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  // Whatever the filter of row 0, its first sample's bytes are stored unchanged (no left or
  // upper neighbour to predict from).
  EXPECT_LE(raw[0], 4);
  EXPECT_EQ(raw[1], 0x01);
  EXPECT_EQ(raw[2], 0x02);
}

TEST(Png, RoundTrip8) {
  TempDir dir;
  std::vector<uint8_t> s(300);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7);
  write_png_gray(dir / "b.png", 20, 15, 8, s.data());
  int w = 0, h = 0, depth = 0;
  std::vector<uint16_t> back = read(dir / "b.png", &w, &h, &depth);
  EXPECT_EQ(depth, 8);
  ASSERT_EQ(back.size(), s.size());
  for (size_t i = 0; i < s.size(); ++i) ASSERT_EQ(back[i], s[i]);
}

TEST(Png, WritePng16RoundsAndClampsCounts) {
  TempDir dir;
  Scan s = make_scan(2, 3);
  float* a = s.view(kAnterior);
  const float in[6] = {2.6f, -3.f, 70000.f, 65535.f, 0.49f, 12.f};
  std::copy(in, in + 6, a);
  write_png16(s, kAnterior, dir / "c.png");
  int w = 0, h = 0, depth = 0;
  EXPECT_EQ(read(dir / "c.png", &w, &h, &depth), (std::vector<uint16_t>{3, 0, 65535, 65535, 0, 12}));
  EXPECT_EQ(w, 3);
  EXPECT_EQ(h, 2);

  s.views = ViewSet::kAnteriorOnly;
  EXPECT_THROW(write_png16(s, kPosterior, dir / "d.png"), InputError);
}

TEST(Png, PreviewHasBothViewsSideBySideInvertedGrey) {
  TempDir dir;
  Scan s = make_body_scan(256, 64, 1);
  s.view(kAnterior)[0] = 0.f;
  PreviewOptions opt;
  write_preview_png(s, dir / "p.png", opt);
  int w = 0, h = 0, depth = 0;
  std::vector<uint16_t> px = read(dir / "p.png", &w, &h, &depth);
  EXPECT_EQ(w, 2 * 64 + opt.gap);
  EXPECT_EQ(h, 256);
  EXPECT_EQ(depth, 8);
  EXPECT_EQ(px[0], 255);                                  // no counts at the corner: white
  EXPECT_EQ(px[64 + opt.gap / 2], 255);                   // the gap is blank
  EXPECT_EQ(*std::min_element(px.begin(), px.end()), 0);  // the hottest pixels are black

  // A single-view scan shows the missing view blank.
  s.views = ViewSet::kAnteriorOnly;
  write_preview_png(s, dir / "q.png", opt);
  px = read(dir / "q.png", &w, &h, &depth);
  for (int r = 0; r < h; ++r)
    for (int c = 64 + opt.gap; c < w; ++c) ASSERT_EQ(px[r * w + c], 255) << r << "," << c;

  opt.upper_percentile = 0;
  EXPECT_THROW(write_preview_png(s, dir / "r.png", opt), ConfigError);
}

TEST(Png, ContactSheetGridAndCaptions) {
  TempDir dir;
  Scan a = make_body_scan(256, 64, 2), b = make_body_scan(256, 64, 3), c = make_body_scan(128, 64, 4);
  ContactSheetOptions opt;
  opt.columns = 2;
  opt.tile_height = 128;
  write_contact_sheet({&a, &b, &c}, {"normal, age=67", "MET (4 lesions) 50%", "cardiac_grade=2 / DPD"}, dir / "s.png",
                      opt);
  int w = 0, h = 0, depth = 0;
  std::vector<uint16_t> px = read(dir / "s.png", &w, &h, &depth);
  const int widest_tile = (2 * 64 + opt.preview.gap) * 128 / 128;  // c: 128 rows scaled to 128
  EXPECT_GE(w, 2 * widest_tile);
  EXPECT_LT(w, 2 * (widest_tile + 64));
  EXPECT_GE(h, 2 * (128 + 7));
  EXPECT_LT(h, 2 * (128 + 64));
  // The empty fourth cell is white; the sheet holds black (hot skeleton, caption text).
  for (int r = h / 2 + 1; r < h; ++r)
    for (int x = w / 2 + 1; x < w; ++x) ASSERT_EQ(px[r * w + x], 255);
  EXPECT_EQ(*std::min_element(px.begin(), px.end()), 0);

  EXPECT_THROW(write_contact_sheet({&a, &b}, {"one"}, dir / "t.png", opt), InputError);
  EXPECT_THROW(write_contact_sheet({}, {}, dir / "t.png", opt), InputError);
}

class BrokenPng : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<uint16_t> s(64 * 48);
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint16_t>(i * 13);
    write_png_gray(dir_ / "good.png", 64, 48, 16, s.data());
    good_ = read_file(dir_ / "good.png");
  }
  // Writes `bytes` and expects read_png_gray to throw InputError naming the file.
  void expect_input_error(const std::string& bytes, const std::string& reason_part) {
    const std::string path = dir_ / "bad.png";
    write_file_atomic(path, bytes);
    int w = 0, h = 0, d = 0;
    try {
      read_png_gray(path, &w, &h, &d);
      FAIL() << "no error for " << reason_part;
    } catch (const InputError& e) {
      EXPECT_EQ(e.where(), path);
      EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.reason();
    }
  }
  TempDir dir_;
  std::string good_;
};

TEST_F(BrokenPng, NotAPng) {
  expect_input_error("GIF89a not a png at all", "not a PNG");
}

TEST_F(BrokenPng, Truncated) {
  expect_input_error(good_.substr(0, good_.size() / 2), "truncated");
}

TEST_F(BrokenPng, CorruptImageData) {
  std::string bad = good_;
  const size_t idat = find_chunk(bad, "IDAT");
  ASSERT_NE(idat, std::string::npos);
  bad[idat + 8 + 10] ^= 0x5a;  // breaks the CRC (and the deflate stream)
  expect_input_error(bad, "broken PNG");
}

TEST_F(BrokenPng, HugeDeclaredSizeIsRejectedBeforeAllocating) {
  std::string bad = good_;
  const size_t ihdr = find_chunk(bad, "IHDR");
  put_be32(bad, ihdr + 8, 1000000);   // width
  put_be32(bad, ihdr + 12, 1000000);  // height
  put_be32(bad, ihdr + 8 + 13,
           static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(bad.data() + ihdr + 4), 17)));
  expect_input_error(bad, "too large");
}

TEST_F(BrokenPng, MissingFile) {
  int w = 0, h = 0, d = 0;
  EXPECT_THROW(read_png_gray(dir_ / "nope.png", &w, &h, &d), InputError);
}

}  // namespace
}  // namespace scintigen
