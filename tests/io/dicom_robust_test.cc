// Tests that nothing a user feeds crashes the DICOM reader (issue "Nothing a user feeds crashes
// scintigen"): sequences nested thousands of levels deep (DCMTK's recursive parser overflows the
// stack) in every syntax the pre-scan follows, a deflated data set that inflates without bound,
// signed lossy JPEG 2000 whole-body images (negative samples), view codes that win over a
// non-frontal orientation, reading from memory, and every file the fuzzer found
// (tests/io/fuzz_regressions/).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/dicom_fixtures.h"
#include "io/dicom_read.h"
#include "io/read_test_util.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::FixtureSpec;
using testing::FixtureSyntax;
using testing::reason_of;
using testing::TempDir;
using testing::ViewEncoding;

std::string write_bytes(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// The same, reading the bytes from memory.
std::string memory_reason_of(const std::string& bytes, const ReadOptions& opt = {}) {
  try {
    read_wholebody_dicom(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "memory.dcm", opt);
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "memory.dcm");
    return e.reason();
  }
  return "no error";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------------------------------
// Deep nesting.

constexpr const char* kTooDeep = "sequences nested deeper than 64 levels";

TEST(DicomNesting, TwentyThousandLevelsAreRefusedBeforeDcmtkParses) {
  TempDir dir;
  for (bool closed : {true, false}) {
    const std::string bytes = testing::make_deep_nesting_dicom(20000, closed);
    const std::string path = write_bytes(dir, closed ? "closed.dcm" : "open.dcm", bytes);
    try {
      read_wholebody_dicom(path);
      ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
      EXPECT_EQ(e.describe(), path + ": " + kTooDeep + " (hint: no image needs this; the file is corrupt or crafted)");
    }
    EXPECT_EQ(memory_reason_of(bytes), kTooDeep);
  }
}

TEST(DicomNesting, EverySyntaxThePreScanFollows) {
  TempDir dir;
  for (const char* xfer : {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"}) {
    SCOPED_TRACE(xfer);
    const std::string bytes = testing::make_deep_nesting_dicom(20000, true, xfer);
    EXPECT_EQ(reason_of(write_bytes(dir, "deep.dcm", bytes)), kTooDeep);
    EXPECT_EQ(memory_reason_of(bytes), kTooDeep);
  }
}

TEST(DicomNesting, SixtyFourLevelsAreReadSixtyFiveAreNot) {
  TempDir dir;
  for (const char* xfer : {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"}) {
    SCOPED_TRACE(xfer);
    // 64 levels parse; the object then fails on what it lacks (Rows is written, Columns not).
    EXPECT_EQ(reason_of(write_bytes(dir, "64.dcm", testing::make_deep_nesting_dicom(64, true, xfer))),
              "Columns is missing");
    EXPECT_EQ(reason_of(write_bytes(dir, "65.dcm", testing::make_deep_nesting_dicom(65, true, xfer))), kTooDeep);
  }
  ReadOptions opt;
  opt.max_sequence_depth = 8;
  EXPECT_EQ(reason_of(write_bytes(dir, "9.dcm", testing::make_deep_nesting_dicom(9)), opt),
            "sequences nested deeper than 8 levels");
}

TEST(DicomNesting, AStructureThatStopsParsingIsBoundedByItsItemTags) {
  TempDir dir;
  // Garbage where the first sequence should start: the pre-scan cannot follow the bytes, and
  // 20,000 item tags after that point could nest that deep.
  std::string bytes = testing::make_deep_nesting_dicom(20000, true);
  const size_t at = bytes.find(std::string("\x08\x00\x40\x11SQ", 6));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 4] = 'Q';  // VR "QQ": an unknown VR with a 4-byte length, as DCMTK reads it
  bytes[at + 5] = 'Q';
  bytes.insert(at + 12, std::string("\x01\x02\x03\x04", 4));
  const std::string reason = memory_reason_of(bytes);
  EXPECT_EQ(reason.rfind("sequences may nest deeper than 64 levels after byte ", 0), 0u) << reason;
}

TEST(DicomNesting, DeflatedDataSetsInflateWithinABound) {
  TempDir dir;
  ReadOptions opt;
  opt.max_decoded_bytes = 1 << 20;  // inflation bound: 1 MiB + 64 MiB of header room
  const std::string bomb = testing::make_deflate_bomb_dicom(70u << 20);
  EXPECT_LT(bomb.size(), 1u << 20);
  EXPECT_EQ(reason_of(write_bytes(dir, "bomb.dcm", bomb), opt),
            "the deflated data set inflates to more than 68157440 bytes");
}

TEST(DicomNesting, DeflatedDataSetsMustParseToTheirEnd) {
  // DCMTK allocates each declared length of a deflated stream before reading it: a truncated
  // or corrupt deflated data set is refused by the pre-scan.
  TempDir dir;
  FixtureSpec spec;
  spec.rows = 256;
  spec.cols = 64;
  spec.syntax = FixtureSyntax::kDeflated;
  const std::string bytes =
      testing::nm_fixture_bytes(spec, {testing::synthetic_counts(256, 64, 1), testing::synthetic_counts(256, 64, 2)});
  const std::string truncated = bytes.substr(0, bytes.size() - 200);
  EXPECT_EQ(reason_of(write_bytes(dir, "t.dcm", truncated)), "file is truncated");
  EXPECT_EQ(memory_reason_of(truncated), "file is truncated");
}

// ---------------------------------------------------------------------------------------
// Signed lossy JPEG 2000 whole-body images: counts clamped at 0 with a warning.

TEST(DicomSigned, LossyJpeg2000NegativeSamplesAreClampedToZero) {
  TempDir dir;
  for (auto [rows, cols] : {std::pair{1024, 256}, std::pair{256, 1024}}) {
    SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(cols));
    const std::string path = write_bytes(dir, "signed.dcm", testing::make_signed_jp2k_wholebody(rows, cols));
    const DicomObject o = read_wholebody_dicom(path);
    ASSERT_EQ(o.views.size(), 1u);
    EXPECT_EQ(o.views[0].view, kAnterior);
    EXPECT_EQ(o.views[0].height, 1024);  // the landscape file is turned head-up
    EXPECT_EQ(o.views[0].width, 256);
    EXPECT_EQ(*std::min_element(o.views[0].counts.begin(), o.views[0].counts.end()), 0.f);
    EXPECT_GT(*std::max_element(o.views[0].counts.begin(), o.views[0].counts.end()), 100.f);
    ASSERT_TRUE(o.meta.contains("negative_pixels_clamped"));
    const uint64_t clamped = o.meta["negative_pixels_clamped"];
    EXPECT_GT(clamped, 1000u);  // the background was -3..-1
    EXPECT_EQ(o.meta["transfer_syntax"], "1.2.840.10008.1.2.4.91");
    EXPECT_EQ(o.meta["pixel_representation"], 1);
    ASSERT_EQ(o.warnings.size(), 1u);
    EXPECT_EQ(o.warnings[0].rfind(std::to_string(clamped) + " pixel value(s) below 0 (lowest -", 0), 0u)
        << o.warnings[0];
    EXPECT_NE(o.warnings[0].find(") set to 0: counts cannot be negative"), std::string::npos) << o.warnings[0];
  }
}

TEST(DicomSigned, RescaleBeyondTheFloatRangeIsRefused) {
  TempDir dir;
  FixtureSpec spec;
  spec.rows = 256;
  spec.cols = 64;
  spec.views = {kAnterior};
  spec.write_rescale = true;
  spec.slope = 1e300;
  write_nm_fixture(dir / "f.dcm", spec, {testing::synthetic_counts(256, 64, 1)});
  EXPECT_EQ(reason_of(dir / "f.dcm"), "RescaleSlope 1e+300 and RescaleIntercept 0 give counts beyond the float range");
}

// ---------------------------------------------------------------------------------------
// An explicit view code wins over an orientation that is not a frontal projection.

FixtureSpec transverse_spec(ViewEncoding encoding) {
  FixtureSpec spec;
  spec.rows = 256;
  spec.cols = 64;
  spec.view_encoding = encoding;
  spec.orientation = {{1, 0, 0, 0, 1, 0}, {1, 0, 0, 0, 1, 0}};  // transverse, as some programs write
  return spec;
}

TEST(DicomViews, ViewCodeWinsOverATransverseOrientation) {
  TempDir dir;
  const FixtureSpec spec = transverse_spec(ViewEncoding::kBoth);
  const auto ant = testing::synthetic_counts(256, 64, 1), post = testing::synthetic_counts(256, 64, 2);
  write_nm_fixture(dir / "f.dcm", spec, {ant, post});
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  ASSERT_EQ(o.views.size(), 2u);
  EXPECT_EQ(o.views[0].view, kAnterior);
  EXPECT_EQ(o.views[0].view_basis, "ViewCodeSequence");
  // Taken as stored: anterior as is, posterior mirrored to overlay it.
  EXPECT_EQ(o.views[0].counts, testing::to_float(ant, false));
  EXPECT_EQ(o.views[1].counts, testing::mirror_columns(testing::to_float(post, false), 256, 64));
  ASSERT_EQ(o.warnings.size(), 2u);
  EXPECT_EQ(o.warnings[0],
            "frame 0: View Code Sequence (399321004, SCT, \"anterior projection\") says anterior but "
            "ImageOrientationPatient 1\\0\\0\\0\\1\\0 is not an anterior or posterior projection; the view code wins "
            "and the frame is taken as stored");
  EXPECT_EQ(o.warnings[1],
            "frame 1: View Code Sequence (399001007, SCT, \"posterior projection\") says posterior but "
            "ImageOrientationPatient 1\\0\\0\\0\\1\\0 is not an anterior or posterior projection; the view code wins "
            "and the frame is taken as stored");
}

TEST(DicomViews, SingleFrameWithViewCodeAndTransverseOrientation) {
  TempDir dir;
  FixtureSpec spec = transverse_spec(ViewEncoding::kBoth);
  spec.views = {kPosterior};
  spec.orientation.resize(1);
  write_nm_fixture(dir / "f.dcm", spec, {testing::synthetic_counts(256, 64, 3)});
  const DicomObject o = read_wholebody_dicom(dir / "f.dcm");
  ASSERT_EQ(o.views.size(), 1u);
  EXPECT_EQ(o.views[0].view, kPosterior);
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_NE(o.warnings[0].find("the view code wins"), std::string::npos);
}

TEST(DicomViews, TransverseOrientationWithoutViewCodeIsStillRefused) {
  TempDir dir;
  write_nm_fixture(dir / "f.dcm", transverse_spec(ViewEncoding::kOrientation),
                   {testing::synthetic_counts(256, 64, 1), testing::synthetic_counts(256, 64, 2)});
  EXPECT_EQ(reason_of(dir / "f.dcm"),
            "ImageOrientationPatient 1\\0\\0\\0\\1\\0 is not an anterior or posterior projection");
}

TEST(DicomViews, TomoWithViewCodesIsStillRefused) {
  TempDir dir;
  FixtureSpec spec = transverse_spec(ViewEncoding::kBoth);
  spec.image_type = {"ORIGINAL", "PRIMARY", "TOMO", "EMISSION"};
  write_nm_fixture(dir / "f.dcm", spec, {testing::synthetic_counts(256, 64, 1), testing::synthetic_counts(256, 64, 2)});
  EXPECT_EQ(reason_of(dir / "f.dcm"),
            "ImageType ORIGINAL\\PRIMARY\\TOMO\\EMISSION is a SPECT (TOMO) acquisition, not a whole-body planar scan");
}

// ---------------------------------------------------------------------------------------
// Reading from memory gives what reading the file gives.

TEST(DicomMemory, SameObjectAsFromTheFile) {
  TempDir dir;
  for (FixtureSyntax x : {FixtureSyntax::kExplicitLE, FixtureSyntax::kDeflated, FixtureSyntax::kRle,
                          FixtureSyntax::kJpegLsLossless, FixtureSyntax::kJpeg2000Lossless}) {
    SCOPED_TRACE(testing::to_string(x));
    FixtureSpec spec;
    spec.rows = 256;
    spec.cols = 64;
    spec.syntax = x;
    write_nm_fixture(dir / "f.dcm", spec,
                     {testing::synthetic_counts(256, 64, 1), testing::synthetic_counts(256, 64, 2)});
    const std::string bytes = read_file(dir / "f.dcm");
    const DicomObject a = read_wholebody_dicom(dir / "f.dcm");
    const DicomObject b = read_wholebody_dicom(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m.dcm");
    EXPECT_EQ(b.path, "m.dcm");
    ASSERT_EQ(a.views.size(), b.views.size());
    for (size_t k = 0; k < a.views.size(); ++k) EXPECT_EQ(a.views[k].counts, b.views[k].counts);
    EXPECT_EQ(a.meta, b.meta);
  }
  EXPECT_EQ(memory_reason_of(""), "not a DICOM file");
  EXPECT_EQ(memory_reason_of("this is not a DICOM file\n"), "not a DICOM file");
}

// ---------------------------------------------------------------------------------------
// Every input the fuzzer found (and the crash generators) fails cleanly, from disk and memory.

TEST(DicomFuzzRegressions, EveryFileFailsWithAnInputError) {
  TempDir dir;
  std::vector<std::string> files;
  const std::string folder = testing::source_path("tests/io/fuzz_regressions");
  for (const auto& e : std::filesystem::directory_iterator(folder))
    if (e.is_regular_file() && e.path().filename() != "README.md") files.push_back(e.path().string());
  for (const std::string& f : testing::write_crash_files(dir.path()))
    if (f.find("deep_nesting") != std::string::npos) files.push_back(f);
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    const std::string reason = reason_of(f);
    EXPECT_NE(reason, "no error");
    EXPECT_EQ(memory_reason_of(read_file(f)), reason);
    RecordProperty(std::filesystem::path(f).filename().string(), reason);
  }
}

}  // namespace
}  // namespace scintigen
