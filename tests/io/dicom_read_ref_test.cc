// Reference tests of read_wholebody_dicom against pydicom (tests/ref/pydicom_pixels.py, Debian's
// python3 with pydicom 2.3): the pixel hashes must match exactly (float32 after rescale), for
// the real NM1 sample stored five ways and for fixtures in several transfer syntaxes.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/scan.h"
#include "io/dicom_fixtures.h"
#include "io/dicom_read.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::FixtureSpec;
using testing::FixtureSyntax;
using testing::shared_data;
using testing::TempDir;

// pydicom's description of each file (see pydicom_pixels.py), keyed by path.
std::map<std::string, nlohmann::json> pydicom_describe(const std::vector<std::string>& files) {
  std::string cmd = testing::python() + " " + testing::source_path("tests/ref/pydicom_pixels.py");
  for (const std::string& f : files) cmd += " '" + f + "'";
  const testing::CommandResult r = testing::run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, nlohmann::json> out;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;  // warnings from pydicom
    nlohmann::json j = nlohmann::json::parse(line);
    out[j["file"].get<std::string>()] = j;
  }
  return out;
}

std::string view_hash(const DicomView& v) {
  Scan s = make_scan(v.height, v.width);
  s.views = ViewSet::kAnteriorOnly;
  std::copy(v.counts.begin(), v.counts.end(), s.view(kAnterior));
  return compute_pixel_sha256(s);
}

TEST(DicomReadReference, Nm1FilesMatchPydicomOfTheUncompressedFile) {
  std::vector<std::string> files;
  for (const char* f : {"NM1_UNC.dcm", "NM1_RLE.dcm", "NM1_JPLL.dcm", "NM1_J2KR.dcm", "NM1_JLSL.dcm"}) {
    files.push_back(shared_data(std::string("dicom/wholebody/") + f));
  }
  const auto ref = pydicom_describe({files[0]});
  ASSERT_EQ(ref.count(files[0]), 1u);
  const std::string expect = ref.at(files[0])["sha256"];
  for (const std::string& f : files) {
    const DicomObject o = read_wholebody_dicom(f);
    ASSERT_EQ(o.views.size(), 1u);
    Scan s = make_scan(o.views[0].height, o.views[0].width);
    s.views = ViewSet::kAnteriorOnly;
    std::copy(o.views[0].counts.begin(), o.views[0].counts.end(), s.view(kAnterior));
    EXPECT_EQ(compute_pixel_sha256(s), expect) << f;
  }
}

struct RefCase {
  std::string name;
  FixtureSpec spec;
};

TEST(DicomReadReference, FixturesMatchPydicomPerView) {
  std::vector<RefCase> cases;
  auto base = [] {
    FixtureSpec s;
    s.rows = 512;
    s.cols = 128;
    return s;
  };
  {
    RefCase c{"explicit_be_two_frames", base()};
    c.spec.syntax = FixtureSyntax::kExplicitBE;
    c.spec.is_signed = true;
    cases.push_back(c);
  }
  {
    RefCase c{"rle_posterior_first", base()};
    c.spec.syntax = FixtureSyntax::kRle;
    c.spec.views = {kPosterior, kAnterior};
    cases.push_back(c);
  }
  {
    RefCase c{"explicit_le_rescaled_orientation", base()};
    c.spec.view_encoding = testing::ViewEncoding::kOrientation;
    c.spec.views = {kPosterior, kAnterior};
    c.spec.write_rescale = true;
    c.spec.slope = 0.25;
    c.spec.intercept = 1.5;
    cases.push_back(c);
  }
  {
    // Single frame: GDCM (pydicom's JPEG-LS decoder here) is only trusted with one frame.
    RefCase c{"jpeg_ls_single_posterior", base()};
    c.spec.syntax = FixtureSyntax::kJpegLsLossless;
    c.spec.views = {kPosterior};
    cases.push_back(c);
  }
  {
    RefCase c{"jpeg_lossless_single", base()};
    c.spec.syntax = FixtureSyntax::kJpegLossless;
    c.spec.views = {kAnterior};
    c.spec.is_signed = true;
    cases.push_back(c);
  }
  TempDir dir;
  std::vector<std::string> files;
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<std::vector<uint16_t>> frames;
    for (size_t k = 0; k < cases[i].spec.views.size(); ++k) {
      frames.push_back(testing::synthetic_counts(cases[i].spec.rows, cases[i].spec.cols, 100 + 10 * i + k));
    }
    files.push_back(dir / (cases[i].name + ".dcm"));
    testing::write_nm_fixture(files.back(), cases[i].spec, frames);
  }
  const auto ref = pydicom_describe(files);
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    ASSERT_EQ(ref.count(files[i]), 1u);
    const nlohmann::json& r = ref.at(files[i]);
    ASSERT_FALSE(r.contains("error")) << r.dump();
    const DicomObject o = read_wholebody_dicom(files[i]);
    ASSERT_EQ(o.views.size(), cases[i].spec.views.size());
    for (const DicomView& v : o.views) {
      // The frame that holds this view; posterior views are compared with the mirrored frame.
      size_t k = 0;
      while (cases[i].spec.views[k] != v.view) ++k;
      const char* key = v.view == kPosterior ? "frame_sha256_mirrored" : "frame_sha256";
      EXPECT_EQ(view_hash(v), r[key][k].get<std::string>()) << "view " << v.view << " frame " << k;
    }
  }
}

}  // namespace
}  // namespace scintigen
