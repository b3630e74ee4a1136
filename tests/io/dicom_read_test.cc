// Tests of read_wholebody_dicom: transfer syntaxes, views and orientation, rejections with
// their exact reasons, header labels and the privacy of meta. Fixtures are built in memory
// (dicom_fixtures.h); the real samples come from ../shared/data/dicom.
#include "io/dicom_read.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/scan.h"
#include "io/dicom_fixtures.h"
#include "io/read_test_util.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::FixtureSpec;
using testing::FixtureSyntax;
using testing::mirror_columns;
using testing::reason_of;
using testing::shared_data;
using testing::synthetic_counts;
using testing::TempDir;
using testing::to_float;
using testing::ViewEncoding;
using testing::write_nm_fixture;

// A small whole-body matrix (aspect 4:1) keeps the tests fast.
constexpr int kRows = 256;
constexpr int kCols = 64;

FixtureSpec small_spec() {
  FixtureSpec s;
  s.rows = kRows;
  s.cols = kCols;
  return s;
}

std::vector<std::vector<uint16_t>> make_frames(const FixtureSpec& s, uint32_t seed = 7) {
  std::vector<std::vector<uint16_t>> frames;
  for (size_t k = 0; k < s.views.size(); ++k) frames.push_back(synthetic_counts(s.rows, s.cols, seed + k));
  return frames;
}

std::string fixture_reason(const FixtureSpec& spec, const ReadOptions& opt = {}) {
  TempDir dir;
  const std::string path = dir / "f.dcm";
  write_nm_fixture(path, spec, make_frames(spec));
  return reason_of(path, opt);
}

const DicomView& view_of(const DicomObject& o, View v) {
  for (const DicomView& d : o.views)
    if (d.view == v) return d;
  ADD_FAILURE() << "view missing";
  return o.views.at(0);
}

// ---------------------------------------------------------------------------------------
// Transfer syntaxes: every one round-trips the exact counts of a two-view object.

struct SyntaxCase {
  FixtureSyntax syntax;
  bool is_signed;
};

void PrintTo(const SyntaxCase& c, std::ostream* os) {
  *os << testing::to_string(c.syntax) << (c.is_signed ? " signed" : " unsigned");
}

class TransferSyntaxTest : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(TransferSyntaxTest, RoundTripsExactCounts) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.syntax = GetParam().syntax;
  spec.is_signed = GetParam().is_signed;
  auto frames = make_frames(spec);
  if (spec.is_signed) {  // negative values too: subtract a constant
    for (auto& f : frames)
      for (auto& v : f) v = static_cast<uint16_t>(static_cast<int16_t>(v) - 20);
  }
  const std::string path = dir / "f.dcm";
  write_nm_fixture(path, spec, frames);
  const DicomObject o = read_wholebody_dicom(path);
  ASSERT_EQ(o.views.size(), 2u);
  EXPECT_EQ(o.views[0].view, kAnterior);
  EXPECT_EQ(o.views[1].view, kPosterior);
  EXPECT_EQ(o.views[0].height, kRows);
  EXPECT_EQ(o.views[0].width, kCols);
  EXPECT_EQ(o.views[0].view_basis, "ViewCodeSequence");
  // Negative samples are clamped to 0 (counts cannot be negative), with one warning.
  auto clamped = [](std::vector<float> v) {
    for (float& x : v) x = std::max(x, 0.f);
    return v;
  };
  EXPECT_EQ(o.views[0].counts, clamped(to_float(frames[0], spec.is_signed)));
  EXPECT_EQ(o.views[1].counts, clamped(mirror_columns(to_float(frames[1], spec.is_signed), kRows, kCols)));
  EXPECT_DOUBLE_EQ(o.spacing_row_mm, 2.4);
  if (spec.is_signed) {
    ASSERT_EQ(o.warnings.size(), 1u);
    EXPECT_NE(o.warnings[0].find(" set to 0: counts cannot be negative"), std::string::npos) << o.warnings[0];
    EXPECT_GT(o.meta["negative_pixels_clamped"].get<int>(), 0);
  } else {
    EXPECT_TRUE(o.warnings.empty()) << o.warnings.front();
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, TransferSyntaxTest,
    ::testing::Values(SyntaxCase{FixtureSyntax::kExplicitLE, false}, SyntaxCase{FixtureSyntax::kExplicitLE, true},
                      SyntaxCase{FixtureSyntax::kImplicitLE, false}, SyntaxCase{FixtureSyntax::kExplicitBE, false},
                      SyntaxCase{FixtureSyntax::kExplicitBE, true}, SyntaxCase{FixtureSyntax::kDeflated, false},
                      SyntaxCase{FixtureSyntax::kRle, false}, SyntaxCase{FixtureSyntax::kRle, true},
                      SyntaxCase{FixtureSyntax::kJpegLossless, false}, SyntaxCase{FixtureSyntax::kJpegLossless, true},
                      SyntaxCase{FixtureSyntax::kJpegLsLossless, false},
                      SyntaxCase{FixtureSyntax::kJpegLsLossless, true},
                      SyntaxCase{FixtureSyntax::kJpeg2000Lossless, false},
                      SyntaxCase{FixtureSyntax::kJpeg2000Lossless, true}),
    [](const ::testing::TestParamInfo<SyntaxCase>& info) {
      return std::string(testing::to_string(info.param.syntax)) + (info.param.is_signed ? "_signed" : "_unsigned");
    });

TEST(DicomRead, EightBitExplicitAndRle) {
  for (FixtureSyntax syntax : {FixtureSyntax::kExplicitLE, FixtureSyntax::kRle, FixtureSyntax::kJpegLsLossless}) {
    TempDir dir;
    FixtureSpec spec = small_spec();
    spec.syntax = syntax;
    spec.bits_allocated = spec.bits_stored = 8;
    auto frames = make_frames(spec);
    for (auto& f : frames)
      for (auto& v : f) v = std::min<uint16_t>(v, 255);
    write_nm_fixture(dir / "f.dcm", spec, frames);
    const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
    EXPECT_EQ(o.views[0].counts, to_float(frames[0], false)) << testing::to_string(syntax);
    EXPECT_EQ(o.views[1].counts, mirror_columns(to_float(frames[1], false), kRows, kCols));
  }
}

TEST(DicomRead, JpegBaselineEightBitIsClose) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.syntax = FixtureSyntax::kJpegBaseline;
  spec.bits_allocated = spec.bits_stored = 8;
  auto frames = make_frames(spec);
  for (auto& f : frames)
    for (auto& v : f) v = std::min<uint16_t>(v, 255);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  const std::vector<float> expect = to_float(frames[0], false);
  double mad = 0;
  for (size_t i = 0; i < expect.size(); ++i) mad += std::fabs(expect[i] - o.views[0].counts[i]);
  EXPECT_LT(mad / expect.size(), 3.0);  // lossy, quality 95
}

TEST(DicomRead, BitsStoredBelowBitsAllocatedIsMaskedAndSignExtended) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.bits_stored = 12;
  spec.is_signed = true;
  std::vector<uint16_t> f = synthetic_counts(kRows, kCols, 3);
  f[0] = 0xF000 | 0x0FFF;  // -1 in 12 bits, garbage above the high bit
  f[1] = 0x0800;           // -2048
  f[2] = 0xA07F;           // 127 with garbage above
  write_nm_fixture(dir / "f.dcm", spec, {f});
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].counts[0], 0.f);  // -1, clamped
  EXPECT_EQ(o.views[0].counts[1], 0.f);  // -2048, clamped
  EXPECT_EQ(o.views[0].counts[2], 127.f);
  EXPECT_EQ(o.views[0].counts[3], static_cast<float>(f[3]));
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_EQ(o.warnings[0], "2 pixel value(s) below 0 (lowest -2048) set to 0: counts cannot be negative");
}

TEST(DicomRead, AppliesRescaleSlopeAndIntercept) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.is_signed = true;
  spec.write_rescale = true;
  spec.slope = 0.5;
  spec.intercept = -3;
  std::vector<uint16_t> f = synthetic_counts(kRows, kCols, 5);
  f[0] = static_cast<uint16_t>(int16_t{-100});
  write_nm_fixture(dir / "f.dcm", spec, {f});
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].counts[0], 0.f);  // -100 * 0.5 - 3 = -53, clamped
  EXPECT_EQ(o.views[0].counts[1], static_cast<float>(std::max(0.0, static_cast<int16_t>(f[1]) * 0.5 - 3)));
  EXPECT_NE(o.warnings.at(0).find("(lowest -53) set to 0"), std::string::npos) << o.warnings[0];
  EXPECT_EQ(o.meta["rescale_slope"], 0.5);
  EXPECT_EQ(o.meta["rescale_intercept"], -3);
}

// ---------------------------------------------------------------------------------------
// Views and orientation.

TEST(DicomRead, PosteriorFirstFoundByViewCode) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kPosterior, kAnterior};
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  ASSERT_EQ(o.views.size(), 2u);
  EXPECT_EQ(o.views[0].view, kAnterior);  // anterior first, whatever the frame order
  EXPECT_EQ(o.views[0].counts, to_float(frames[1], false));
  EXPECT_EQ(o.views[1].counts, mirror_columns(to_float(frames[0], false), kRows, kCols));
  EXPECT_EQ(o.views[1].view_basis, "ViewCodeSequence");
}

TEST(DicomRead, PosteriorFirstFoundByOrientation) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kPosterior, kAnterior};
  spec.view_encoding = ViewEncoding::kOrientation;
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(view_of(o, kAnterior).counts, to_float(frames[1], false));
  EXPECT_EQ(view_of(o, kPosterior).counts, mirror_columns(to_float(frames[0], false), kRows, kCols));
  EXPECT_EQ(view_of(o, kPosterior).view_basis, "ImageOrientationPatient");
  EXPECT_TRUE(o.warnings.empty());
}

TEST(DicomRead, FollowsDetectorVector) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.detector_vector = {2, 1};  // frame 0 is described by detector item 2
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(view_of(o, kAnterior).counts, to_float(frames[0], false));
  EXPECT_EQ(view_of(o, kPosterior).counts, mirror_columns(to_float(frames[1], false), kRows, kCols));
}

TEST(DicomRead, VendorMirroredPosteriorIsNotMirroredAgain) {
  // Image Orientation (Patient) of the posterior frame says rows run toward L: already mirrored.
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.view_encoding = ViewEncoding::kBoth;
  spec.orientation = {{1, 0, 0, 0, 0, -1}, {1, 0, 0, 0, 0, -1}};
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(view_of(o, kPosterior).counts, to_float(frames[1], false));
  EXPECT_EQ(view_of(o, kPosterior).view_basis, "ViewCodeSequence");
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_NE(o.warnings[0].find("disagree"), std::string::npos) << o.warnings[0];
}

TEST(DicomRead, HeadDownOrientationIsFlipped) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.view_encoding = ViewEncoding::kOrientation;
  spec.orientation = {{-1, 0, 0, 0, 0, 1}};  // anterior rotated 180 degrees: rows R, columns H
  const std::vector<uint16_t> upright = synthetic_counts(kRows, kCols, 9);
  std::vector<uint16_t> stored(upright.rbegin(), upright.rend());
  write_nm_fixture(dir / "f.dcm", spec, {stored});
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].view, kAnterior);
  EXPECT_EQ(o.views[0].counts, to_float(upright, false));
}

TEST(DicomRead, LandscapeWithPatientOrientationIsRotatedUpright) {
  // An anterior view rotated 90 degrees counter-clockwise (head on the left): rows run toward
  // the feet (F), columns toward the patient's right (R).
  TempDir dir;
  const std::vector<uint16_t> upright = synthetic_counts(kRows, kCols, 11);  // (256, 64)
  std::vector<uint16_t> stored(upright.size());                              // (64, 256)
  for (int i = 0; i < kCols; ++i)
    for (int j = 0; j < kRows; ++j) stored[i * kRows + j] = upright[j * kCols + (kCols - 1 - i)];
  FixtureSpec spec;
  spec.rows = kCols;
  spec.cols = kRows;
  spec.views = {kAnterior};
  spec.view_encoding = ViewEncoding::kNone;
  spec.patient_orientation = "F\\R";
  write_nm_fixture(dir / "f.dcm", spec, {stored});
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].view, kAnterior);
  EXPECT_EQ(o.views[0].view_basis, "PatientOrientation");
  EXPECT_EQ(o.views[0].height, kRows);
  EXPECT_EQ(o.views[0].width, kCols);
  EXPECT_EQ(o.views[0].counts, to_float(upright, false));
}

TEST(DicomRead, LandscapeWithoutOrientationIsRejected) {
  FixtureSpec spec;
  spec.rows = kCols;
  spec.cols = kRows;
  spec.views = {kAnterior};
  spec.view_encoding = ViewEncoding::kNone;
  EXPECT_EQ(fixture_reason(spec),
            "image is landscape (256 x 64) and no Image Orientation (Patient) or Patient Orientation says where the "
            "head is");
}

TEST(DicomRead, TwoFramesWithoutViewsAreAssumedFromFrameOrder) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.view_encoding = ViewEncoding::kNone;
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].view_basis, "assumed");
  EXPECT_EQ(o.views[1].counts, mirror_columns(to_float(frames[1], false), kRows, kCols));
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_EQ(o.warnings[0], "views assumed from frame order (frame 0 anterior, frame 1 posterior)");
}

TEST(DicomRead, SingleFrameWithoutViewIsAssumedAnterior) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.view_encoding = ViewEncoding::kNone;
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].view, kAnterior);
  EXPECT_EQ(o.views[0].view_basis, "assumed");
  EXPECT_EQ(o.warnings.size(), 1u);
}

TEST(DicomRead, SingleFramePosteriorFromImageId) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kPosterior};
  spec.view_encoding = ViewEncoding::kNone;
  spec.image_id = "WB_POST";
  auto frames = make_frames(spec);
  write_nm_fixture(dir / "f.dcm", spec, frames);
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].view, kPosterior);
  EXPECT_EQ(o.views[0].view_basis, "text:ImageID");
  EXPECT_EQ(o.views[0].counts, mirror_columns(to_float(frames[0], false), kRows, kCols));
}

TEST(DicomRead, AnteroPosteriorCodeIsAmbiguous) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.views = {kPosterior};
  spec.view_codes = {{"399348003", "SCT", "antero-posterior"}};
  write_nm_fixture(dir / "f.dcm", spec, make_frames(spec));
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  EXPECT_EQ(o.views[0].view_basis, "assumed");
  ASSERT_EQ(o.warnings.size(), 2u);
  EXPECT_NE(o.warnings[0].find("ambiguous"), std::string::npos) << o.warnings[0];
}

TEST(DicomRead, MultiFragmentJpeg2000WithAndWithoutOffsetTable) {
  for (bool table : {true, false}) {
    TempDir dir;
    FixtureSpec spec = small_spec();
    spec.syntax = FixtureSyntax::kJpeg2000Lossless;
    spec.jpeg2000_fragments_per_frame = 3;
    spec.jpeg2000_offset_table = table;
    auto frames = make_frames(spec);
    write_nm_fixture(dir / "f.dcm", spec, frames);
    const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
    EXPECT_EQ(o.views[0].counts, to_float(frames[0], false)) << "offset table " << table;
    EXPECT_EQ(o.views[1].counts, mirror_columns(to_float(frames[1], false), kRows, kCols));
  }
}

// ---------------------------------------------------------------------------------------
// Rejections, with their exact reasons.

TEST(DicomReadReject, OtherModality) {
  FixtureSpec spec = small_spec();
  spec.modality = "CT";
  EXPECT_EQ(fixture_reason(spec), "modality is CT, not NM");
}

TEST(DicomReadReject, OtherSopClass) {
  FixtureSpec spec = small_spec();
  spec.sop_class_uid = "1.2.840.10008.5.1.4.1.1.128";  // PET
  EXPECT_EQ(fixture_reason(spec).rfind("SOP class 1.2.840.10008.5.1.4.1.1.128", 0), 0u);
}

TEST(DicomReadReject, SpectImageType) {
  FixtureSpec spec = small_spec();
  spec.image_type = {"ORIGINAL", "PRIMARY", "TOMO", "EMISSION"};
  EXPECT_EQ(fixture_reason(spec),
            "ImageType ORIGINAL\\PRIMARY\\TOMO\\EMISSION is a SPECT (TOMO) acquisition, not a whole-body planar scan");
}

TEST(DicomReadReject, GatedAndDynamicImageType) {
  FixtureSpec spec = small_spec();
  spec.image_type = {"ORIGINAL", "PRIMARY", "GATED", "EMISSION"};
  EXPECT_NE(fixture_reason(spec).find("is a gated acquisition"), std::string::npos);
  spec.image_type = {"ORIGINAL", "PRIMARY", "DYNAMIC", "EMISSION"};
  EXPECT_NE(fixture_reason(spec).find("is a dynamic acquisition"), std::string::npos);
}

TEST(DicomReadReject, ThreeFrames) {
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior, kPosterior, kAnterior};
  EXPECT_EQ(fixture_reason(spec), "NumberOfFrames is 3; a whole-body scan has 1 or 2 frames (anterior, posterior)");
}

TEST(DicomReadReject, TwoAnteriorFrames) {
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior, kAnterior};
  EXPECT_EQ(fixture_reason(spec), "both frames are anterior views");
}

TEST(DicomReadReject, FloodImage) {
  FixtureSpec spec;
  spec.rows = spec.cols = 256;
  spec.views = {kAnterior};
  spec.image_type = {"ORIGINAL", "PRIMARY", "EMISSION"};
  spec.body_part = "";
  spec.whole_body_technique = false;
  EXPECT_EQ(
      fixture_reason(spec),
      "static spot view / flood image — not a whole-body scan (ImageType ORIGINAL\\PRIMARY\\EMISSION, 256 x 256)");
  spec.image_type = {"ORIGINAL", "PRIMARY", "STATIC", "EMISSION"};
  EXPECT_EQ(
      fixture_reason(spec),
      "ImageType ORIGINAL\\PRIMARY\\STATIC\\EMISSION is a static spot view / flood image — not a whole-body scan");
}

TEST(DicomReadReject, AcceptsWholeBodyTechniqueWithLongMatrixOnly) {
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.image_type = {"ORIGINAL", "PRIMARY", "EMISSION"};
  EXPECT_EQ(fixture_reason(spec), "no error");
  spec.rows = spec.cols = 128;
  EXPECT_NE(fixture_reason(spec).find("not a whole-body scan"), std::string::npos);
}

TEST(DicomReadReject, Monochrome1) {
  FixtureSpec spec = small_spec();
  spec.photometric = "MONOCHROME1";
  EXPECT_EQ(fixture_reason(spec), "PhotometricInterpretation MONOCHROME1 (inverted grey) is not used for NM counts");
}

TEST(DicomReadReject, NumberOfFramesNotAnInteger) {
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.number_of_frames = "1A";
  EXPECT_EQ(fixture_reason(spec), "NumberOfFrames '1A' is not an integer");
}

TEST(DicomReadReject, PixelDataShorterThanDeclared) {
  FixtureSpec spec = small_spec();
  spec.views = {kAnterior};
  spec.number_of_frames = "2";
  EXPECT_EQ(fixture_reason(spec), "PixelData holds 32768 bytes but Rows x Columns x Frames x 2 needs 65536");
}

TEST(DicomReadReject, RowsBeyondTheLimit) {
  FixtureSpec spec = small_spec();
  spec.declared_rows = 65535;
  EXPECT_EQ(fixture_reason(spec), "Rows x Columns 65535 x 64 exceeds the limit 8192 x 8192");
  ReadOptions small;
  small.max_decoded_bytes = 1000;
  EXPECT_EQ(fixture_reason(small_spec(), small), "decoded pixel data would take 65536 bytes, more than the limit 1000");
}

// Rewrites the first explicit-VR-LE US element (group, element) of a file in place.
void patch_us(const std::string& path, uint16_t group, uint16_t element, uint16_t value) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const char tag[] = {static_cast<char>(group & 0xff),
                      static_cast<char>(group >> 8),
                      static_cast<char>(element & 0xff),
                      static_cast<char>(element >> 8),
                      'U',
                      'S',
                      2,
                      0};
  const size_t at = bytes.find(std::string(tag, sizeof tag));
  ASSERT_NE(at, std::string::npos);
  f.seekp(static_cast<std::streamoff>(at + sizeof tag));
  const char v[] = {static_cast<char>(value & 0xff), static_cast<char>(value >> 8)};
  f.write(v, 2);
}

TEST(DicomReadReject, CompressedDataDisagreeingWithTheHeader) {
  for (FixtureSyntax syntax : {FixtureSyntax::kRle, FixtureSyntax::kJpegLsLossless, FixtureSyntax::kJpeg2000Lossless,
                               FixtureSyntax::kJpegLossless}) {
    for (uint16_t rows : {128, 512}) {
      TempDir dir;
      FixtureSpec spec = small_spec();
      spec.syntax = syntax;
      write_nm_fixture(dir / "f.dcm", spec, make_frames(spec));
      patch_us(dir / "f.dcm", 0x0028, 0x0010, rows);  // the compressed frames hold 256 rows
      const std::string reason = reason_of(dir / "f.dcm");
      EXPECT_NE(reason, "no error") << testing::to_string(syntax) << " rows " << rows;
      RecordProperty(std::string(testing::to_string(syntax)) + "_" + std::to_string(rows), reason);
    }
  }
  // The JPEG 2000 size check happens before OpenJPEG decodes anything.
  TempDir dir;
  FixtureSpec spec = small_spec();
  spec.syntax = FixtureSyntax::kJpeg2000Lossless;
  write_nm_fixture(dir / "f.dcm", spec, make_frames(spec));
  patch_us(dir / "f.dcm", 0x0028, 0x0010, 512);
  EXPECT_EQ(reason_of(dir / "f.dcm"),
            "JPEG 2000 frame 0: codestream holds 1 component(s) of 64 x 256, expected 1 of 64 x 512");
}

TEST(DicomReadReject, TruncatedFile) {
  TempDir dir;
  FixtureSpec spec = small_spec();
  write_nm_fixture(dir / "f.dcm", spec, make_frames(spec));
  const auto size = std::filesystem::file_size(dir / "f.dcm");
  for (uintmax_t cut : {size / 2, size - 2, uintmax_t{400}}) {
    std::filesystem::copy_file(dir / "f.dcm", dir / "cut.dcm", std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(dir / "cut.dcm", cut);
    EXPECT_EQ(reason_of(dir / "cut.dcm"), "file is truncated") << "cut at " << cut;
  }
}

TEST(DicomReadReject, NotDicomAndMissing) {
  TempDir dir;
  std::ofstream(dir / "text.dcm") << "this is not a DICOM file\n";
  EXPECT_EQ(reason_of(dir / "text.dcm"), "not a DICOM file");
  std::ofstream(dir / "empty.dcm").close();
  EXPECT_EQ(reason_of(dir / "empty.dcm"), "not a DICOM file");
  EXPECT_EQ(reason_of(dir / "missing.dcm"), "file not found");
}

TEST(DicomReadReject, SharedMalformedAndOtherNmFilesFailCleanly) {
  const std::vector<std::string> files = {"dicom/malformed/orthanc_oob_monochrome_65535.dcm",
                                          "dicom/malformed/pydicom_MR_truncated.dcm",
                                          "dicom/malformed/pydicom_badVR.dcm",
                                          "dicom/malformed/pydicom_meta_missing_tsyntax.dcm",
                                          "dicom/malformed/pydicom_no_meta.dcm",
                                          "dicom/other-nm/nmqc_UNIFORMIDAD_1.dcm"};
  for (const std::string& rel : files) {
    const std::string reason = reason_of(shared_data(rel));
    EXPECT_NE(reason, "no error") << rel;
    RecordProperty(rel, reason);
  }
  EXPECT_EQ(reason_of(shared_data("dicom/malformed/pydicom_MR_truncated.dcm")), "file is truncated");
  EXPECT_EQ(reason_of(shared_data("dicom/malformed/pydicom_no_meta.dcm")), "not a DICOM file");
  EXPECT_NE(reason_of(shared_data("dicom/other-nm/nmqc_UNIFORMIDAD_1.dcm")).find("not a whole-body scan"),
            std::string::npos);
  // With generous limits the 65535 x 65535 header still fails on its 256 bytes of pixel data.
  ReadOptions big;
  big.max_rows = big.max_columns = 65535;
  big.max_decoded_bytes = ~0ull;
  const std::string oob = reason_of(shared_data("dicom/malformed/orthanc_oob_monochrome_65535.dcm"), big);
  EXPECT_NE(oob, "no error");
}

// ---------------------------------------------------------------------------------------
// Header labels, meta and keys.

DicomObject read_fixture(const FixtureSpec& spec) {
  TempDir dir;
  write_nm_fixture(dir / "f.dcm", spec, make_frames(spec));
  return read_wholebody_dicom(dir / "f.dcm");
}

TEST(DicomReadLabels, AgeSexSizeTracer) {
  FixtureSpec spec = small_spec();
  spec.patient_age = "067Y";
  DicomObject o = read_fixture(spec);
  EXPECT_EQ(o.header_labels.age, 67.0);
  EXPECT_EQ(o.header_labels.sex, "F");
  EXPECT_EQ(o.header_labels.tracer, "MDP");
  EXPECT_DOUBLE_EQ(*o.header_labels.height, 168.0);
  EXPECT_DOUBLE_EQ(*o.header_labels.weight, 71.5);

  spec.patient_age = "";  // from 1952-03-14 to 2021-06-09
  EXPECT_EQ(read_fixture(spec).header_labels.age, 69.0);
  spec.birth_date = "19200101";
  EXPECT_EQ(read_fixture(spec).header_labels.age, 90.0);  // capped
  spec.patient_age = "095Y";
  EXPECT_EQ(read_fixture(spec).header_labels.age, 90.0);
  spec.patient_age = "";
  spec.birth_date = "00000000";
  EXPECT_FALSE(read_fixture(spec).header_labels.age.has_value());

  spec.patient_sex = "X";
  spec.radiopharmaceutical = "Tc-99m HDP (oxidronate)";
  spec.patient_size_m = 0;
  o = read_fixture(spec);
  EXPECT_EQ(o.header_labels.sex, "");
  EXPECT_EQ(o.header_labels.tracer, "HDP");
  EXPECT_FALSE(o.header_labels.height.has_value());
}

TEST(DicomReadLabels, MetaIsAWhitelistWithoutIdentifiers) {
  FixtureSpec spec = small_spec();
  spec.patient_age = "067Y";
  const DicomObject o = read_fixture(spec);
  const std::string meta = o.meta.dump();
  for (const char* secret :
       {"Fakename", "Fixture^", "FIXTURE-ID", "4711", "ACC-FIXTURE", "19520314", "20210609", "1.2.826.0.1.3680043",
        "Institute", "FIXSTATION", "SN-FIXTURE", "Privatename", "Secret", "fixture for", "067Y"}) {
    EXPECT_EQ(meta.find(secret), std::string::npos) << secret << " in " << meta;
  }
  EXPECT_EQ(o.meta["manufacturer"], "SCINTIGEN");
  EXPECT_EQ(o.meta["radionuclide"], "Tc-99m");
  EXPECT_EQ(o.meta["tracer"], "MDP");
  EXPECT_EQ(o.meta["collimator_type"], "PARA");
  EXPECT_EQ(o.meta["whole_body_technique"], "1PS");
  EXPECT_DOUBLE_EQ(o.meta["scan_velocity_cm_min"].get<double>(), 15.0);
  EXPECT_EQ(o.meta["energy_windows_kev"], nlohmann::json::parse("[[126.0, 154.0]]"));
  EXPECT_EQ(o.meta["transfer_syntax"], "1.2.840.10008.1.2.1");
  EXPECT_EQ(o.meta["n_frames"], 2);
  // The keys do carry the identifiers, in memory only.
  EXPECT_EQ(o.keys.patient_id, "FIXTURE-ID-4711");
  EXPECT_EQ(o.keys.accession_number, "ACC-FIXTURE-99");
  EXPECT_EQ(o.keys.study_uid.rfind("1.2.826.0.1.3680043.10.1234.1.", 0), 0u);
}

// ---------------------------------------------------------------------------------------
// The real sample, stored five ways.

const std::vector<std::string>& nm1_files() {
  static const std::vector<std::string> files = {"NM1_UNC.dcm", "NM1_RLE.dcm", "NM1_JPLL.dcm", "NM1_J2KR.dcm",
                                                 "NM1_JLSL.dcm"};
  return files;
}

std::string hash_of(const DicomObject& o) {
  Scan s = make_scan(o.views[0].height, o.views[0].width);
  s.views = ViewSet::kAnteriorOnly;
  std::copy(o.views[0].counts.begin(), o.views[0].counts.end(), s.view(kAnterior));
  return compute_pixel_sha256(s);
}

TEST(DicomReadNm1, AllFiveDecodeIdentically) {
  const DicomObject ref = read_wholebody_dicom(shared_data("dicom/wholebody/NM1_UNC.dcm"));
  ASSERT_EQ(ref.views.size(), 1u);
  EXPECT_EQ(ref.views[0].view, kAnterior);
  EXPECT_EQ(ref.views[0].view_basis, "assumed");
  EXPECT_EQ(ref.views[0].height, 1024);
  EXPECT_EQ(ref.views[0].width, 256);
  EXPECT_EQ(*std::max_element(ref.views[0].counts.begin(), ref.views[0].counts.end()), 278.f);
  EXPECT_EQ(*std::min_element(ref.views[0].counts.begin(), ref.views[0].counts.end()), 0.f);
  EXPECT_DOUBLE_EQ(ref.spacing_row_mm, 2.26);
  EXPECT_EQ(ref.header_labels.sex, "M");
  EXPECT_FALSE(ref.header_labels.age.has_value());
  EXPECT_NEAR(ref.meta["scan_velocity_cm_min"].get<double>(), 10.03, 0.01);
  EXPECT_EQ(ref.meta["manufacturer_model"], "MILLENNIUM MG");
  EXPECT_EQ(ref.meta.dump().find("St. John"), std::string::npos);
  for (const std::string& f : nm1_files()) {
    const DicomObject o = read_wholebody_dicom(shared_data("dicom/wholebody/" + f));
    EXPECT_EQ(o.views[0].counts, ref.views[0].counts) << f;
  }
}

TEST(DicomReadNm1, ThreadSafe) {
  const std::string expect = hash_of(read_wholebody_dicom(shared_data("dicom/wholebody/NM1_UNC.dcm")));
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &got] {
      try {
        got[t] = hash_of(read_wholebody_dicom(shared_data("dicom/wholebody/" + nm1_files()[t % 5])));
      } catch (const std::exception& e) {
        got[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(got[t], expect) << nm1_files()[t % 5];
}

TEST(DicomRead, IoVersions) {
  const nlohmann::json v = io_versions();
  EXPECT_EQ(v["dcmtk"], "3.6.7");
  EXPECT_EQ(v["openjpeg"].get<std::string>().rfind("2.", 0), 0u);
}

}  // namespace
}  // namespace scintigen
