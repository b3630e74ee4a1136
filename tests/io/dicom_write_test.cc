// Unit tests of the DICOM writer: UIDs, file names, what is (not) written, errors. The files
// are read back with DCMTK here; dicom_write_ref_test.cc checks them with dciodvfy and pydicom.
#include "io/dicom_write.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/version.h"
#include "io/dicom_read.h"
#include "io/write_test_scan.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::make_body_scan;
using testing::TempDir;

std::string get_string(DcmItem* item, const DcmTagKey& tag, unsigned long pos = 0) {
  OFString s;
  return item->findAndGetOFString(tag, s, pos).good() ? std::string(s.c_str()) : std::string("<absent>");
}

TEST(UidFromText, IsAValidReproducible225Uid) {
  const std::regex valid(R"(2\.25\.(0|[1-9][0-9]*))");
  for (const char* text : {"", "a", "seed\ns000001\nstudy", "seed\ns000001\nseries"}) {
    std::string uid = uid_from_text(text);
    EXPECT_TRUE(std::regex_match(uid, valid)) << uid;
    EXPECT_LE(uid.size(), 64u) << uid;
    EXPECT_EQ(uid, uid_from_text(text));
  }
  EXPECT_NE(uid_from_text("x\nstudy"), uid_from_text("x\nseries"));
  // sha256("abc") starts ba7816bf8f01cfea414140de5dae2223: 2.25.<that as decimal>.
  EXPECT_EQ(uid_from_text("abc"), "2.25.247859944228867399418143717509236138531");
}

TEST(WriteScanDicom, MultiframeHoldsBothViewsWithPosteriorUnmirrored) {
  TempDir dir;
  Scan s = make_body_scan(64, 16, 3);
  s.origin = Origin::kSimulated;
  s.source = "phantom:site=large seed=3";
  s.labels.sex = "F";
  s.labels.age = 67.8;
  s.labels.cardiac_grade = 2;
  auto paths = write_scan_dicom(s, dir / "a.dcm");
  ASSERT_EQ(paths, std::vector<std::string>{dir / "a.dcm"});

  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "a.dcm").c_str()).good());
  DcmDataset* ds = ff.getDataset();
  EXPECT_EQ(get_string(ds, DCM_SOPClassUID), "1.2.840.10008.5.1.4.1.1.20");
  EXPECT_EQ(get_string(ds, DCM_NumberOfFrames), "2");
  EXPECT_EQ(get_string(ds, DCM_ImageType, 0), "DERIVED");
  EXPECT_EQ(get_string(ds, DCM_ImageType, 2), "WHOLE BODY");
  EXPECT_EQ(get_string(ds, DCM_PatientSex), "F");
  EXPECT_EQ(get_string(ds, DCM_PatientAge), "067Y");
  EXPECT_EQ(get_string(ds, DCM_PatientID), s.id);
  EXPECT_EQ(get_string(ds, DCM_SeriesDescription), "SIMULATED - scintigen phantom, not a patient");
  EXPECT_EQ(
      get_string(ds, DCM_ImageComments).rfind("scintigen labels: {\"cardiac_grade\":2}\r\nscintigen provenance: {", 0),
      0u);
  EXPECT_EQ(get_string(ds, DCM_RescaleSlope), "<absent>");  // integer counts: no rescale
  EXPECT_EQ(get_string(ds, DCM_PatientBirthDate), "");
  EXPECT_EQ(get_string(ds, DCM_StudyDate), "");

  const Uint16* px = nullptr;
  unsigned long n = 0;
  ASSERT_TRUE(ds->findAndGetUint16Array(DCM_PixelData, px, &n).good());
  ASSERT_EQ(n, 2u * 64 * 16);
  for (int r = 0; r < 64; ++r) {
    for (int c = 0; c < 16; ++c) {
      ASSERT_EQ(px[r * 16 + c], s.view(kAnterior)[r * 16 + c]);
      ASSERT_EQ(px[64 * 16 + r * 16 + c], s.view(kPosterior)[r * 16 + (15 - c)]);  // native posterior
    }
  }
}

TEST(WriteScanDicom, SingleFramePairSharesStudyAndSeries) {
  TempDir dir;
  Scan s = make_body_scan(32, 8, 4);
  DicomWriteOptions opt;
  opt.multiframe = false;
  auto paths = write_scan_dicom(s, dir / "b.dcm", opt);
  ASSERT_EQ(paths, (std::vector<std::string>{dir / "b_ant.dcm", dir / "b_post.dcm"}));
  DcmFileFormat a, p;
  ASSERT_TRUE(a.loadFile(paths[0].c_str()).good());
  ASSERT_TRUE(p.loadFile(paths[1].c_str()).good());
  EXPECT_EQ(get_string(a.getDataset(), DCM_StudyInstanceUID), get_string(p.getDataset(), DCM_StudyInstanceUID));
  EXPECT_EQ(get_string(a.getDataset(), DCM_SeriesInstanceUID), get_string(p.getDataset(), DCM_SeriesInstanceUID));
  EXPECT_NE(get_string(a.getDataset(), DCM_SOPInstanceUID), get_string(p.getDataset(), DCM_SOPInstanceUID));
  EXPECT_EQ(get_string(p.getDataset(), DCM_NumberOfFrames), "1");
  EXPECT_EQ(get_string(p.getDataset(), DCM_InstanceNumber), "2");
}

TEST(WriteScanDicom, SingleViewScanWritesOneFrame) {
  TempDir dir;
  Scan s = make_body_scan(32, 8, 5);
  s.views = ViewSet::kPosteriorOnly;
  std::fill(s.view(kAnterior), s.view(kAnterior) + s.view_size(), 0.f);
  write_scan_dicom(s, dir / "c.dcm");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "c.dcm").c_str()).good());
  EXPECT_EQ(get_string(ff.getDataset(), DCM_NumberOfFrames), "1");
  EXPECT_EQ(get_string(ff.getDataset(), DCM_NumberOfDetectors), "1");
}

TEST(WriteScanDicom, FloatCountsUseARescaleSlope) {
  TempDir dir;
  Scan s = make_body_scan(32, 8, 6);
  for (float& v : s.pixels) v = v * 0.37f + 0.25f;
  write_scan_dicom(s, dir / "f.dcm");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "f.dcm").c_str()).good());
  double slope = std::stod(get_string(ff.getDataset(), DCM_RescaleSlope));
  float max_v = *std::max_element(s.pixels.begin(), s.pixels.end());
  EXPECT_NEAR(slope, max_v / 65535.0, 1e-9 * max_v);
  const Uint16* px = nullptr;
  ASSERT_TRUE(ff.getDataset()->findAndGetUint16Array(DCM_PixelData, px).good());
  for (size_t i = 0; i < s.view_size(); ++i) ASSERT_NEAR(px[i] * slope, s.pixels[i], slope / 2 + 1e-6);
}

TEST(WriteScanDicom, ReproducibleBytesAndNoTemporaryFilesLeft) {
  TempDir dir;
  Scan s = make_body_scan(32, 8, 7);
  DicomWriteOptions opt;
  opt.uid_seed = "export-1";
  write_scan_dicom(s, dir / "r1.dcm", opt);
  write_scan_dicom(s, dir / "r2.dcm", opt);
  EXPECT_EQ(read_file(dir / "r1.dcm"), read_file(dir / "r2.dcm"));
  opt.uid_seed = "export-2";
  write_scan_dicom(s, dir / "r3.dcm", opt);
  EXPECT_NE(read_file(dir / "r1.dcm"), read_file(dir / "r3.dcm"));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 3);
}

// The writer takes only whitelisted meta keys: identifying data smuggled into meta never
// reaches the file, and a real scan's source keeps only its first word.
TEST(WriteScanDicom, WritesOnlyWhitelistedMeta) {
  TempDir dir;
  Scan s = make_body_scan(32, 8, 8);
  s.origin = Origin::kReal;
  s.source = "ingest:/archive/DOE_JOHN/IM0001.dcm";
  s.meta = {{"manufacturer", "GE MEDICAL SYSTEMS"},
            {"manufacturer_model", "Millennium MG"},
            {"patient_name", "DOE^JOHN"},
            {"institution_name", "ST ELSEWHERE HOSPITAL"},
            {"device_serial_number", "SN-778899"},
            {"study_date", "19970315"},
            {"energy_windows_kev", {{{"lower", 126.0}, {"upper", 154.0}, {"name", "TC99M"}}}}};
  write_scan_dicom(s, dir / "p.dcm");
  const std::string bytes = read_file(dir / "p.dcm");
  for (const char* forbidden : {"DOE", "JOHN", "ELSEWHERE", "778899", "19970315", "archive", "IM0001"})
    EXPECT_EQ(bytes.find(forbidden), std::string::npos) << forbidden;
  for (const char* kept : {"GE MEDICAL SYSTEMS", "Millennium MG", "ingest", "TC99M"})
    EXPECT_NE(bytes.find(kept), std::string::npos) << kept;
}

TEST(WriteScanDicom, ErrorsNameThePath) {
  TempDir dir;
  Scan s = make_body_scan(16, 4, 9);
  const std::string bad = dir / "missing/x.dcm";
  try {
    write_scan_dicom(s, bad);
    FAIL() << "no error";
  } catch (const InternalError& e) {
    EXPECT_EQ(e.where(), bad);
  }
  Scan broken = s;
  broken.pixels.resize(10);
  try {
    write_scan_dicom(broken, dir / "y.dcm");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), dir / "y.dcm");
    EXPECT_NE(e.reason().find("inconsistent size"), std::string::npos) << e.reason();
  }
}

// ---------------------------------------------------------------------------------------
// Provenance marks: what scintigen made stays marked through export -> read.

Scan marked_scan(Origin origin) {
  Scan s = make_body_scan(128, 32, 5);
  s.id = "g0000042";
  s.origin = origin;
  if (origin == Origin::kSimulated) {
    s.source = "phantom:site=large_centre seed=1 index=3";
  } else {
    s.source = "model:0123456789abcdef seed=7 k=42";
    s.meta["provenance"] = {{"model_sha256", std::string(64, 'a')},
                            {"seed", 7},
                            {"index", 42},
                            {"sampler", "dpmpp_2m"},
                            {"steps", 24},
                            {"guidance", 2.5},
                            {"generated_as", "sex=F age=70 tracer=HDP \"quoted\" \\ back\\slash, \u00e9"}};
  }
  s.labels.metastasis = 1;
  return s;
}

TEST(ScintigenMark, SimulatedAndSyntheticScansReadBackMarked) {
  for (Origin origin : {Origin::kSimulated, Origin::kSynthetic}) {
    for (bool multiframe : {true, false}) {
      SCOPED_TRACE(std::string(to_string(origin)) + (multiframe ? " multiframe" : " pair"));
      TempDir dir;
      const Scan s = marked_scan(origin);
      DicomWriteOptions opt;
      opt.multiframe = multiframe;
      for (const std::string& path : write_scan_dicom(s, dir / "s.dcm", opt)) {
        const DicomObject o = read_wholebody_dicom(path);
        ASSERT_TRUE(o.scintigen_mark.has_value());
        const ScintigenMark& m = *o.scintigen_mark;
        EXPECT_EQ(m.origin, origin);
        EXPECT_EQ(m.source, s.source);
        EXPECT_EQ(m.provenance, s.meta.value("provenance", nlohmann::json::object()));
        EXPECT_EQ(m.scintigen_version, scintigen_version());
        EXPECT_EQ(m.found_in,
                  (std::vector<std::string>{"Manufacturer", "ContributingEquipmentSequence", "SeriesDescription",
                                            "DerivationDescription", "ImageComments"}));
        EXPECT_TRUE(o.warnings.empty()) << o.warnings.front();
      }
    }
  }
}

TEST(ScintigenMark, RealReExportsCarryNone) {
  TempDir dir;
  Scan s = marked_scan(Origin::kReal);
  s.source = "ingest";
  s.meta = {{"manufacturer", "GE MEDICAL SYSTEMS"}, {"manufacturer_model", "Millennium MG"}};
  const DicomObject o = read_wholebody_dicom(write_scan_dicom(s, dir / "r.dcm").at(0));
  EXPECT_FALSE(o.scintigen_mark.has_value());
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "r.dcm").c_str()).good());
  EXPECT_FALSE(ff.getDataset()->tagExists(DCM_ContributingEquipmentSequence));
  EXPECT_EQ(get_string(ff.getDataset(), DCM_ImageComments), "scintigen labels: {\"metastasis\":1}");
}

// Deletes `tags` from a written file, then reads it.
DicomObject read_without(const std::string& path, const std::vector<DcmTagKey>& tags) {
  DcmFileFormat ff;
  EXPECT_TRUE(ff.loadFile(path.c_str()).good());
  ff.loadAllDataIntoMemory();  // the file is overwritten below
  for (const DcmTagKey& t : tags) ff.getDataset()->findAndDeleteElement(t);
  EXPECT_TRUE(ff.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  return read_wholebody_dicom(path);
}

TEST(ScintigenMark, AnyOneMarkIsEnough) {
  TempDir dir;
  const Scan s = marked_scan(Origin::kSimulated);
  // Only the series description left: still marked, origin from its first word, with a warning.
  {
    const std::string path = write_scan_dicom(s, dir / "a.dcm").at(0);
    const DicomObject o =
        read_without(path, {DCM_Manufacturer, DCM_ManufacturerModelName, DCM_ContributingEquipmentSequence,
                            DCM_DerivationDescription, DCM_ImageComments});
    ASSERT_TRUE(o.scintigen_mark.has_value());
    EXPECT_EQ(o.scintigen_mark->origin, Origin::kSimulated);
    EXPECT_EQ(o.scintigen_mark->found_in, std::vector<std::string>{"SeriesDescription"});
    EXPECT_EQ(o.scintigen_mark->scintigen_version, scintigen_version());  // from Software Versions
    ASSERT_EQ(o.warnings.size(), 1u);
    EXPECT_EQ(o.warnings[0], "made by scintigen (simulated), though only SeriesDescription says so");
  }
  // Only the Image Comments line: every field from its JSON.
  {
    const std::string path = write_scan_dicom(s, dir / "b.dcm").at(0);
    const DicomObject o =
        read_without(path, {DCM_Manufacturer, DCM_ManufacturerModelName, DCM_ContributingEquipmentSequence,
                            DCM_DerivationDescription, DCM_SeriesDescription, DCM_SoftwareVersions});
    ASSERT_TRUE(o.scintigen_mark.has_value());
    EXPECT_EQ(o.scintigen_mark->origin, Origin::kSimulated);
    EXPECT_EQ(o.scintigen_mark->source, s.source);
    EXPECT_EQ(o.scintigen_mark->scintigen_version, scintigen_version());
  }
  // Only Derivation Description: the source comes from its parentheses.
  {
    const std::string path = write_scan_dicom(s, dir / "c.dcm").at(0);
    const DicomObject o =
        read_without(path, {DCM_Manufacturer, DCM_ManufacturerModelName, DCM_ContributingEquipmentSequence,
                            DCM_SeriesDescription, DCM_ImageComments});
    ASSERT_TRUE(o.scintigen_mark.has_value());
    EXPECT_EQ(o.scintigen_mark->source, s.source);
    EXPECT_EQ(o.scintigen_mark->found_in, std::vector<std::string>{"DerivationDescription"});
  }
}

}  // namespace
}  // namespace scintigen
