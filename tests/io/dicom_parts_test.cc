// Unit tests of the parts of the DICOM reader (src/io/dicom_attributes.h, dicom_views.h,
// dicom_codecs.h, dicom_mark.h): the pure helpers, and the header readers on data sets built
// in memory. Whole files go through dicom_read_test.cc and dicom_robust_test.cc.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/dicom_attributes.h"
#include "io/dicom_codecs.h"
#include "io/dicom_mark.h"
#include "io/dicom_views.h"
#include "test_util.h"

namespace scintigen::detail {
namespace {

using testing::input_error_reason;

// ---------------------------------------------------------------------------------------
// Attributes: text and values.

TEST(DicomAttributes, TrimDropsWhiteSpaceAndNuls) {
  EXPECT_EQ(trim(std::string(" \tANT WB\0\0", 10)), "ANT WB");
  EXPECT_EQ(trim(" \n"), "");
  EXPECT_EQ(trim(""), "");
}

TEST(DicomAttributes, WordsAreUpperCaseRunsOfLettersAndDigits) {
  EXPECT_EQ(words("ANT_WB, Post.2"), (std::vector<std::string>{"ANT", "WB", "POST", "2"}));
  EXPECT_TRUE(words(" -_ ").empty());
}

TEST(DicomAttributes, PrintableReplacesControlBytesAndBoundsLength) {
  EXPECT_EQ(printable("a\x01"
                      "b"),
            "a?b");
  EXPECT_EQ(printable(std::string(70, 'x')), std::string(64, 'x') + "...");
  EXPECT_EQ(format_number(-3), "-3");
  EXPECT_EQ(format_number(0.5), "0.5");
  EXPECT_EQ(format_number(1e300), "1e+300");
  EXPECT_EQ(join({"ORIGINAL", "PRIMARY"}, "\\"), "ORIGINAL\\PRIMARY");
}

TEST(DicomAttributes, ValidDateChecksDigitsRangeAndDaysOfTheMonth) {
  int y = 0, m = 0, d = 0;
  EXPECT_TRUE(valid_date("20240229", y, m, d));
  EXPECT_EQ(y, 2024);
  EXPECT_EQ(m, 2);
  EXPECT_EQ(d, 29);
  EXPECT_FALSE(valid_date("20230230", y, m, d));  // 30 February
  EXPECT_FALSE(valid_date("20231301", y, m, d));
  EXPECT_FALSE(valid_date("18491231", y, m, d));  // before 1850
  EXPECT_FALSE(valid_date("2024-01-01", y, m, d));
  EXPECT_FALSE(valid_date("2024010", y, m, d));
  EXPECT_FALSE(valid_date("", y, m, d));
}

TEST(DicomAttributes, PatientAgeInEveryUnit) {
  EXPECT_EQ(parse_patient_age("067Y"), 67.0);
  EXPECT_EQ(parse_patient_age("067y"), 67.0);
  EXPECT_EQ(parse_patient_age("018M"), 1.5);
  EXPECT_EQ(parse_patient_age("003W"), 21.0 / 365.25);
  EXPECT_EQ(parse_patient_age("010D"), 10.0 / 365.25);
  for (const char* bad : {"", "Y", "0067Y", "06XY", "067Q", "-67Y"})
    EXPECT_EQ(parse_patient_age(bad), std::nullopt) << bad;
}

TEST(DicomAttributes, NumberOfFramesEmptyJunkAndOutOfRange) {
  EXPECT_EQ(parse_number_of_frames("f.dcm", ""), 1);
  EXPECT_EQ(parse_number_of_frames("f.dcm", "2"), 2);
  EXPECT_EQ(parse_number_of_frames("f.dcm", "+2"), 2);
  EXPECT_EQ(parse_number_of_frames("f.dcm", "0"), 0);  // refused by check_pixel_module
  EXPECT_EQ(parse_number_of_frames("f.dcm", "999999999"), 999999999);
  for (const char* junk : {"+", "-1", "1.5", "two", "1234567890"}) {
    EXPECT_EQ(input_error_reason([&] { parse_number_of_frames("f.dcm", junk); }),
              std::string("NumberOfFrames '") + junk + "' is not an integer");
  }
  EXPECT_EQ(input_error_reason([] { parse_number_of_frames("f.dcm", "\x01"); }),
            "NumberOfFrames '?' is not an integer");
}

TEST(DicomAttributes, RadionuclideNameShortensTechnetium99m) {
  EXPECT_EQ(radionuclide_name("^99m^Technetium"), "Tc-99m");
  EXPECT_EQ(radionuclide_name("Tc-99m"), "Tc-99m");
  EXPECT_EQ(radionuclide_name("^123^Iodine"), "^123^Iodine");
  EXPECT_EQ(radionuclide_name(""), "");
}

TEST(DicomAttributes, ImageTypeRejectionNamesTheAcquisition) {
  EXPECT_EQ(image_type_rejection({"ORIGINAL", "PRIMARY", "WHOLE BODY"}), "");
  EXPECT_EQ(image_type_rejection({"ORIGINAL", "PRIMARY", "RECON TOMO"}),
            "ImageType ORIGINAL\\PRIMARY\\RECON TOMO is a SPECT (TOMO) acquisition, not a whole-body planar scan");
  EXPECT_EQ(image_type_rejection({"ORIGINAL", "gated"}),
            "ImageType ORIGINAL\\gated is a gated acquisition, not a whole-body planar scan");
  EXPECT_EQ(image_type_rejection({"DYNAMIC"}),
            "ImageType DYNAMIC is a dynamic acquisition, not a whole-body planar scan");
  EXPECT_EQ(image_type_rejection({"STATIC"}),
            "ImageType STATIC is a static spot view / flood image — not a whole-body scan");
}

TEST(DicomAttributes, SupportedTransferSyntaxes) {
  EXPECT_TRUE(is_supported_xfer(EXS_LittleEndianImplicit));
  EXPECT_TRUE(is_supported_xfer(EXS_JPEG2000));
  EXPECT_FALSE(is_supported_xfer(EXS_MPEG2MainProfileAtMainLevel));
  EXPECT_FALSE(is_supported_xfer(EXS_Unknown));
}

// ---------------------------------------------------------------------------------------
// Attributes: access and header readers on data sets built in memory.

TEST(DicomAttributes, AccessReadsAbsentAndUnparsableAsAbsent) {
  DcmDataset ds;
  ASSERT_TRUE(ds.putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY\\ WHOLE BODY").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_PixelSpacing, "2.5\\4").good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_Rows, 1024).good());
  EXPECT_EQ(get_values(&ds, DCM_ImageType), (std::vector<std::string>{"ORIGINAL", "PRIMARY", "WHOLE BODY"}));
  EXPECT_EQ(get_string(&ds, DCM_ImageType, 2), "WHOLE BODY");
  EXPECT_EQ(get_double(&ds, DCM_PixelSpacing, 1), 4.0);
  EXPECT_EQ(get_double(&ds, DCM_PixelSpacing, 2), std::nullopt);  // no third value
  EXPECT_EQ(get_us(&ds, DCM_Rows), 1024);
  EXPECT_EQ(get_us(&ds, DCM_Columns), std::nullopt);
  EXPECT_EQ(get_string(&ds, DCM_Modality), "");
  EXPECT_TRUE(get_values(&ds, DCM_Modality).empty());
  EXPECT_EQ(count_items(&ds, DCM_DetectorInformationSequence), 0);
  EXPECT_EQ(get_item(&ds, DCM_DetectorInformationSequence), nullptr);
  EXPECT_EQ(get_string(nullptr, DCM_Modality), "");  // a missing sequence item reads as absent
  EXPECT_EQ(get_double(nullptr, DCM_PixelSpacing), std::nullopt);
}

TEST(DicomAttributes, HeaderLabelsOutOfRangeAreLeftUnsetWithAWarning) {
  DcmDataset ds;
  ASSERT_TRUE(ds.putAndInsertString(DCM_PatientSex, "f").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_PatientAge, "095Y").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_PatientSize, "3.5").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_PatientWeight, "0.5").good());
  std::vector<std::string> warnings;
  const Labels l = read_header_labels(&ds, warnings);
  EXPECT_EQ(l.sex, "F");
  EXPECT_EQ(l.age, 90.0);  // ages over 89 are grouped
  EXPECT_FALSE(l.height.has_value());
  EXPECT_FALSE(l.weight.has_value());
  EXPECT_EQ(warnings, (std::vector<std::string>{"PatientSize 3.500000 m is out of range; height not set",
                                                "PatientWeight 0.500000 kg is out of range; weight not set"}));
}

TEST(DicomAttributes, AgeFromBirthAndStudyDatesWhenPatientAgeIsJunk) {
  DcmDataset ds;
  ASSERT_TRUE(ds.putAndInsertString(DCM_PatientAge, "67").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_PatientBirthDate, "19600615").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_StudyDate, "20240614").good());
  std::vector<std::string> warnings;
  EXPECT_EQ(read_header_labels(&ds, warnings).age, 63.0);  // the day before the birthday
  EXPECT_TRUE(warnings.empty());
}

// ---------------------------------------------------------------------------------------
// Views and orientation.

const Geometry kAnteriorAsStored{{1, 0, 0}, {0, 0, -1}, "ImageOrientationPatient"};    // L\F
const Geometry kPosteriorAsStored{{-1, 0, 0}, {0, 0, -1}, "ImageOrientationPatient"};  // R\F
const Geometry kTransverse{{1, 0, 0}, {0, 1, 0}, "ImageOrientationPatient"};           // 1\0\0\0\1\0

TEST(DicomViews, PatientOrientationLettersAsVectors) {
  const auto l = letters_to_vec("L");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->x, 1);
  EXPECT_EQ(l->y, 0);
  EXPECT_EQ(l->z, 0);
  const auto hp = letters_to_vec("hp");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->x, 0);
  EXPECT_EQ(hp->y, 1);
  EXPECT_EQ(hp->z, 1);
  EXPECT_FALSE(letters_to_vec(""));
  EXPECT_FALSE(letters_to_vec("LR"));  // cancels out
  EXPECT_FALSE(letters_to_vec("X"));
}

TEST(DicomViews, OrientationCosinesGiveTheViewAndTheFrontalCheck) {
  EXPECT_EQ(view_from_geometry(kAnteriorAsStored), ViewAnswer::kAnterior);
  EXPECT_EQ(view_from_geometry(kPosteriorAsStored), ViewAnswer::kPosterior);
  EXPECT_EQ(view_from_geometry(kTransverse), ViewAnswer::kNone);
  EXPECT_EQ(view_from_geometry({{0, 0, -1}, {1, 0, 0}, "ImageOrientationPatient"}), ViewAnswer::kPosterior);  // F\L
  EXPECT_TRUE(is_frontal(kAnteriorAsStored));
  EXPECT_TRUE(is_frontal({{0, 0, 1}, {1, 0, 0}, "PatientOrientation"}));  // H\L, landscape
  EXPECT_FALSE(is_frontal(kTransverse));
  EXPECT_FALSE(is_frontal({{0, 1, 0}, {0, 0, -1}, "ImageOrientationPatient"}));  // sagittal
  EXPECT_EQ(geometry_text(kTransverse), "1\\0\\0\\0\\1\\0");
  EXPECT_EQ(geometry_text({{0.70710678, 0, 0.70710678}, {0, 0, -1}, ""}), "0.707\\0\\0.707\\0\\0\\-1");
}

TEST(DicomViews, ViewCodeMeaning) {
  EXPECT_EQ(view_from_code("399321004", ""), ViewAnswer::kAnterior);
  EXPECT_EQ(view_from_code("399001007", "whatever"), ViewAnswer::kPosterior);
  EXPECT_EQ(view_from_code("", "Anterior projection"), ViewAnswer::kAnterior);
  EXPECT_EQ(view_from_code("", "post"), ViewAnswer::kPosterior);
  // Radiographic beam directions are ambiguous, though they contain ANTERIOR / POSTERIOR.
  EXPECT_EQ(view_from_code("399348003", ""), ViewAnswer::kAmbiguous);
  EXPECT_EQ(view_from_code("R-10214", "Anterior"), ViewAnswer::kAmbiguous);
  EXPECT_EQ(view_from_code("", "antero-posterior"), ViewAnswer::kAmbiguous);
  EXPECT_EQ(view_from_code("", "Posteroanterior"), ViewAnswer::kAmbiguous);
  EXPECT_EQ(view_from_code("", "anterior and posterior"), ViewAnswer::kAmbiguous);
  EXPECT_EQ(view_from_code("", "left anterior oblique"), ViewAnswer::kNone);
  EXPECT_EQ(view_from_code("", "Left lateral"), ViewAnswer::kNone);
  EXPECT_EQ(view_from_code("", ""), ViewAnswer::kNone);
}

TEST(DicomViews, ViewNamesInText) {
  EXPECT_EQ(view_from_text("WB ANT"), ViewAnswer::kAnterior);
  EXPECT_EQ(view_from_text("anterior_wb"), ViewAnswer::kAnterior);
  EXPECT_EQ(view_from_text("Post."), ViewAnswer::kPosterior);
  EXPECT_EQ(view_from_text("WB POS"), ViewAnswer::kPosterior);
  EXPECT_EQ(view_from_text("ANT/POST"), ViewAnswer::kAmbiguous);
  EXPECT_EQ(view_from_text("PANT"), ViewAnswer::kNone);
  EXPECT_EQ(view_from_text(""), ViewAnswer::kNone);
}

TEST(DicomViews, TransformToRowsLeftColumnsFeet) {
  auto same = [](const Transform& t, bool transpose, bool flip_rows, bool flip_cols) {
    return t.transpose == transpose && t.flip_rows == flip_rows && t.flip_cols == flip_cols;
  };
  EXPECT_TRUE(same(transform_for("f.dcm", kAnteriorAsStored), false, false, false));
  EXPECT_TRUE(same(transform_for("f.dcm", kPosteriorAsStored), false, false, true));          // mirrored to overlay
  EXPECT_TRUE(same(transform_for("f.dcm", {{0, 0, 1}, {1, 0, 0}, ""}), true, true, false));   // H\L: head left
  EXPECT_TRUE(same(transform_for("f.dcm", {{1, 0, 0}, {0, 0, 1}, ""}), false, true, false));  // L\H: upside down
  EXPECT_EQ(input_error_reason([] { transform_for("f.dcm", kTransverse); }),
            "ImageOrientationPatient 1\\0\\0\\0\\1\\0 is not an anterior or posterior projection");
}

TEST(DicomViews, ApplyTransformMovesEveryPixel) {
  const std::vector<float> src = {0, 1, 2, 3, 4, 5};  // (2, 3)
  int h = 0, w = 0;
  EXPECT_EQ(apply_transform(src, 2, 3, {true, false, false}, h, w), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(h, 3);
  EXPECT_EQ(w, 2);
  EXPECT_EQ(apply_transform(src, 2, 3, {false, false, true}, h, w), (std::vector<float>{2, 1, 0, 5, 4, 3}));
  EXPECT_EQ(apply_transform(src, 2, 3, {false, true, false}, h, w), (std::vector<float>{3, 4, 5, 0, 1, 2}));
  EXPECT_EQ(h, 2);
  EXPECT_EQ(w, 3);
  EXPECT_EQ(apply_transform(src, 2, 3, {true, true, true}, h, w), (std::vector<float>{5, 2, 4, 1, 3, 0}));
}

TEST(DicomViews, ExplicitViewCodeWinsOverANonFrontalOrientation) {
  FrameView fv{kAnterior, "ViewCodeSequence", kTransverse, "(399321004, SCT, \"Anterior projection\")"};
  std::vector<std::string> warnings;
  reconcile_geometry(1, fv, warnings);
  EXPECT_FALSE(fv.geometry);  // taken as stored
  EXPECT_EQ(fv.view, kAnterior);
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "frame 1: View Code Sequence (399321004, SCT, \"Anterior projection\") says anterior but "
                          "ImageOrientationPatient 1\\0\\0\\0\\1\\0 is not an anterior or posterior projection; the "
                          "view code wins and the frame is taken as stored"}));
}

TEST(DicomViews, WithoutAViewCodeANonFrontalOrientationIsKeptForTransformToRefuse) {
  FrameView fv{kAnterior, "text:ImageID", kTransverse, ""};
  std::vector<std::string> warnings;
  reconcile_geometry(0, fv, warnings);
  EXPECT_TRUE(fv.geometry);
  EXPECT_TRUE(warnings.empty());
}

TEST(DicomViews, AViewThatContradictsTheGeometryWinsWithAWarning) {
  FrameView fv{kPosterior, "text:ImageID", Geometry{{1, 0, 0}, {0, 0, -1}, "PatientOrientation"}, ""};
  std::vector<std::string> warnings;
  reconcile_geometry(0, fv, warnings);
  EXPECT_EQ(fv.view, kPosterior);
  EXPECT_TRUE(fv.geometry);
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "frame 0: text:ImageID and PatientOrientation disagree on the view; text:ImageID used"}));
  // A view decided by the geometry itself never disagrees with it.
  FrameView own{kAnterior, "ImageOrientationPatient", kAnteriorAsStored, ""};
  warnings.clear();
  reconcile_geometry(0, own, warnings);
  EXPECT_TRUE(warnings.empty());
}

TEST(DicomViews, FrameOrderFallback) {
  std::vector<std::string> warnings;
  std::vector<FrameView> two(2);
  complete_views("f.dcm", two, warnings);
  EXPECT_EQ(two[0].view, kAnterior);
  EXPECT_EQ(two[1].view, kPosterior);
  EXPECT_EQ(two[0].basis, "assumed");
  EXPECT_EQ(two[1].basis, "assumed");
  EXPECT_EQ(warnings,
            (std::vector<std::string>{"views assumed from frame order (frame 0 anterior, frame 1 posterior)"}));

  warnings.clear();
  std::vector<FrameView> one_known(2);
  one_known[1].view = kAnterior;
  one_known[1].basis = "ViewCodeSequence";
  complete_views("f.dcm", one_known, warnings);
  EXPECT_EQ(one_known[0].view, kPosterior);
  EXPECT_EQ(one_known[0].basis, "assumed");
  EXPECT_EQ(one_known[1].basis, "ViewCodeSequence");
  EXPECT_EQ(warnings, (std::vector<std::string>{"view of frame 0 assumed opposite to frame 1"}));

  warnings.clear();
  std::vector<FrameView> single(1);
  complete_views("f.dcm", single, warnings);
  EXPECT_EQ(single[0].view, kAnterior);
  EXPECT_EQ(warnings,
            (std::vector<std::string>{"view assumed anterior: no view code, orientation or view name in the header"}));

  std::vector<FrameView> both_posterior(2);
  both_posterior[0].view = both_posterior[1].view = kPosterior;
  EXPECT_EQ(input_error_reason([&] { complete_views("f.dcm", both_posterior, warnings); }),
            "both frames are posterior views");
}

// ---------------------------------------------------------------------------------------
// Codecs.

PixelFormat format(int rows, int cols, int bits_allocated, int bits_stored, int pixel_representation) {
  PixelFormat f;
  f.rows = rows;
  f.cols = cols;
  f.bits_allocated = bits_allocated;
  f.bits_stored = bits_stored;
  f.pixel_representation = pixel_representation;
  return f;
}

std::vector<uint8_t> u16_bytes(const std::vector<uint16_t>& v) {
  std::vector<uint8_t> out(2 * v.size());
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

TEST(DicomCodecs, ToCountsMasksSignExtendsAndRescales) {
  std::vector<float> out;
  // 12 of 16 bits, signed: bits above BitsStored are ignored.
  const auto raw = u16_bytes({0x0fff, 0x0800, 0x07ff, 0xf001});
  to_counts(raw.data(), format(2, 2, 16, 12, 1), out);
  EXPECT_EQ(out, (std::vector<float>{-1, -2048, 2047, 1}));
  to_counts(raw.data(), format(2, 2, 16, 12, 0), out);
  EXPECT_EQ(out, (std::vector<float>{4095, 2048, 2047, 1}));
  PixelFormat rescaled = format(2, 2, 16, 12, 0);
  rescaled.slope = 0.5;
  rescaled.intercept = -1;
  to_counts(raw.data(), rescaled, out);
  EXPECT_EQ(out, (std::vector<float>{2046.5, 1023, 1022.5, -0.5}));
  const std::vector<uint8_t> bytes = {0, 1, 0x80, 0xff};
  to_counts(bytes.data(), format(1, 4, 8, 8, 1), out);
  EXPECT_EQ(out, (std::vector<float>{0, 1, -128, -1}));
  const uint32_t words32[] = {0xffffffffu, 7};
  to_counts(reinterpret_cast<const uint8_t*>(words32), format(1, 2, 32, 32, 1), out);
  EXPECT_EQ(out, (std::vector<float>{-1, 7}));
  to_counts(reinterpret_cast<const uint8_t*>(words32), format(1, 2, 32, 32, 0), out);
  EXPECT_EQ(out, (std::vector<float>{4294967295.0f, 7}));
}

TEST(DicomCodecs, ClampSetsNegativeCountsToZeroAndTalliesThem) {
  const PixelFormat f = format(1, 4, 16, 16, 1);
  ClampedCounts clamped;
  std::vector<float> counts = {-1.5f, 0, 3, -0.25f};
  clamp_counts("f.dcm", f, counts, clamped);
  EXPECT_EQ(counts, (std::vector<float>{0, 0, 3, 0}));
  EXPECT_EQ(clamped.n, 2u);
  EXPECT_EQ(clamped.lowest, -1.5f);
  std::vector<float> next = {-4, 1};  // the tally runs over frames
  clamp_counts("f.dcm", f, next, clamped);
  EXPECT_EQ(clamped.n, 3u);
  EXPECT_EQ(clamped.lowest, -4.0f);
}

TEST(DicomCodecs, ClampRefusesCountsBeyondTheFloatRange) {
  PixelFormat f = format(1, 2, 16, 16, 0);
  f.slope = 1e300;
  std::vector<float> counts = {0, std::numeric_limits<float>::infinity()};
  ClampedCounts clamped;
  EXPECT_EQ(input_error_reason([&] { clamp_counts("f.dcm", f, counts, clamped); }),
            "RescaleSlope 1e+300 and RescaleIntercept 0 give counts beyond the float range");
  counts = {std::nanf("")};
  EXPECT_NE(input_error_reason([&] { clamp_counts("f.dcm", f, counts, clamped); }), "no error");
}

TEST(DicomCodecs, StartsCodestream) {
  EXPECT_TRUE(starts_codestream({0xff, 0xd8, 0xff, 0xc3}));  // JPEG SOI
  EXPECT_TRUE(starts_codestream({0xff, 0x4f, 0xff, 0x51}));  // JPEG 2000 SOC
  EXPECT_TRUE(starts_codestream({0, 0, 0, 12, 'j', 'P'}));   // JP2 signature box
  EXPECT_FALSE(starts_codestream({0xff, 0xd8}));
  EXPECT_FALSE(starts_codestream({0x12, 0x34, 0x56, 0x78}));
}

// SOI, then an SOF0 header for `comps` components of h x w with `precision` bits.
std::vector<uint8_t> jpeg_header(int precision, int h, int w, int comps) {
  return {0xff,
          0xd8,
          0xff,
          0xe0,
          0x00,
          0x04,
          0x00,
          0x00,  // SOI, APP0 of 2 bytes
          0xff,
          0xc0,
          0x00,
          0x0b,
          static_cast<uint8_t>(precision),
          static_cast<uint8_t>(h >> 8),
          static_cast<uint8_t>(h),
          static_cast<uint8_t>(w >> 8),
          static_cast<uint8_t>(w),
          static_cast<uint8_t>(comps),
          1,
          0x11,
          0};
}

TEST(DicomCodecs, JpegFrameHeaderMustMatchThePixelModule) {
  const PixelFormat f = format(300, 2, 16, 16, 0);
  EXPECT_EQ(input_error_reason([&] { check_jpeg_frame("f.dcm", 0, jpeg_header(12, 300, 2, 1), f); }), "no error");
  EXPECT_EQ(input_error_reason([&] { check_jpeg_frame("f.dcm", 1, jpeg_header(12, 301, 2, 1), f); }),
            "JPEG frame 1 holds 1 component(s) of 2 x 301 with 12 bits, expected 1 of 2 x 300");
  EXPECT_EQ(input_error_reason([&] { check_jpeg_frame("f.dcm", 0, jpeg_header(8, 300, 2, 3), f); }),
            "JPEG frame 0 holds 3 component(s) of 2 x 300 with 8 bits, expected 1 of 2 x 300");
  EXPECT_EQ(
      input_error_reason([&] { check_jpeg_frame("f.dcm", 0, jpeg_header(16, 300, 2, 1), format(300, 2, 8, 8, 0)); }),
      "JPEG frame 0 holds 1 component(s) of 2 x 300 with 16 bits, expected 1 of 2 x 300");
  EXPECT_EQ(input_error_reason([&] {
              check_jpeg_frame("f.dcm", 2, {0xff, 0x4f, 0xff, 0x51}, f);
            }),
            "JPEG frame 2 does not start with an SOI marker");
  EXPECT_EQ(input_error_reason([&] {
              check_jpeg_frame("f.dcm", 0, {0xff, 0xd8, 0xff, 0xda, 0x00, 0x02}, f);
            }),
            "JPEG frame 0 has no frame header (SOF)");
}

// An RLE frame: the 64-byte header with `offsets`, then `data`.
std::vector<uint8_t> rle_frame(const std::vector<uint32_t>& offsets, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b(64, 0);
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put(0, static_cast<uint32_t>(offsets.size()));
  for (size_t s = 0; s < offsets.size(); ++s) put(4 + 4 * s, offsets[s]);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

TEST(DicomCodecs, RleSegmentsMustDecodeToRowsTimesColumns) {
  const PixelFormat f8 = format(2, 2, 8, 8, 0);
  // A literal run of 2 bytes, then a repeat run of 2: 4 bytes.
  EXPECT_EQ(input_error_reason([&] {
              check_rle_frame("f.dcm", 0, rle_frame({64}, {0x01, 5, 6, 0xff, 7}), f8);
            }),
            "no error");
  EXPECT_EQ(input_error_reason([&] {
              check_rle_frame("f.dcm", 0, rle_frame({64}, {0x01, 5, 6, 0xfe, 7}), f8);
            }),
            "RLE frame 0 segment 0 decodes to 5 bytes, Rows x Columns is 4");
  EXPECT_EQ(input_error_reason([&] {
              check_rle_frame("f.dcm", 1, rle_frame({64}, {0x01, 5, 6, 0xff, 7}), format(2, 2, 16, 16, 0));
            }),
            "RLE frame 1 holds 1 segment(s), expected 2");
  EXPECT_EQ(input_error_reason([&] {
              check_rle_frame("f.dcm", 0, rle_frame({32}, {0x01, 5, 6, 0xff, 7}), f8);
            }),
            "RLE frame 0 has a bad segment offset");
  EXPECT_EQ(input_error_reason([&] { check_rle_frame("f.dcm", 0, std::vector<uint8_t>(63, 0), f8); }),
            "RLE frame 0 is shorter than its 64-byte header");
  // Rows x Columns odd: one pad byte more is allowed.
  EXPECT_EQ(input_error_reason([&] {
              check_rle_frame("f.dcm", 0, rle_frame({64}, {0xfd, 9}), format(1, 3, 8, 8, 0));
            }),
            "no error");
}

// ---------------------------------------------------------------------------------------
// scintigen's own marks.

TEST(DicomMark, OriginAndEquipmentFromTheModelName) {
  EXPECT_EQ(origin_from_text("scintigen phantom"), Origin::kSimulated);
  EXPECT_EQ(origin_from_text("scintigen generative model"), Origin::kSynthetic);
  EXPECT_EQ(origin_from_text("SYNTHETIC by scintigen; not a patient"), Origin::kSynthetic);
  EXPECT_EQ(origin_from_text("Symbia T2"), std::nullopt);
  EXPECT_TRUE(scintigen_equipment("scintigen", "scintigen phantom"));
  EXPECT_TRUE(scintigen_equipment("SCINTIGEN", "Scintigen Generative Model"));
  EXPECT_FALSE(scintigen_equipment("Siemens", "scintigen phantom"));
  EXPECT_FALSE(scintigen_equipment("scintigen", "scintigen"));
  EXPECT_FALSE(scintigen_equipment("scintigen", "scintigen viewer"));
}

TEST(DicomMark, NoMarkOnAPatientsHeader) {
  DcmDataset ds;
  ASSERT_TRUE(ds.putAndInsertString(DCM_Manufacturer, "Siemens").good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_SeriesDescription, "WB bone").good());
  EXPECT_FALSE(read_scintigen_mark(&ds));
}

TEST(DicomMark, ProvenanceLineSuppliesTheFields) {
  DcmDataset ds;
  ASSERT_TRUE(ds.putAndInsertString(DCM_SeriesDescription, "SYNTHETIC whole body").good());
  ASSERT_TRUE(ds.putAndInsertString(
                    DCM_ImageComments,
                    "not a patient\nscintigen provenance: {\"origin\":\"simulated\",\"source\":\"phantom:seed=1\","
                    "\"scintigen_version\":\"1.2.3\",\"provenance\":{\"k\":1}}\nmore")
                  .good());
  const auto mark = read_scintigen_mark(&ds);
  ASSERT_TRUE(mark);
  EXPECT_EQ(mark->origin, Origin::kSimulated);  // the JSON line outranks the description
  EXPECT_EQ(mark->source, "phantom:seed=1");
  EXPECT_EQ(mark->scintigen_version, "1.2.3");
  EXPECT_EQ(mark->provenance, nlohmann::json({{"k", 1}}));
  EXPECT_EQ(mark->found_in, (std::vector<std::string>{"SeriesDescription", "ImageComments"}));
}

}  // namespace
}  // namespace scintigen::detail
