// Reference tests of the DICOM export: every variant must pass dciodvfy (dicom3tools) with no
// error, and pydicom must read back the scan's counts, views and marks
// (tests/ref/pydicom_check_export.py).
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "core/fs_util.h"
#include "io/dicom_write.h"
#include "io/write_test_scan.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::make_body_scan;
using testing::run_command;
using testing::TempDir;

constexpr const char* kDciodvfy = "/usr/bin/dciodvfy";

// One view as a float32 .npy (H, W), in scintigen's stored orientation.
void write_npy(const std::string& path, const float* data, int height, int width) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(height) + ", " +
                       std::to_string(width) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(reinterpret_cast<const char*>(data), sizeof(float) * height * width);  // little-endian host
  write_file_atomic(path, out);
}

std::vector<std::string> lines_starting_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

struct Variant {
  const char* name;
  Origin origin;
  ViewSet views;
  bool multiframe;
  bool float_counts;
};

class ExportReference : public ::testing::TestWithParam<Variant> {};

TEST_P(ExportReference, PassesDciodvfyAndPydicom) {
  const Variant& v = GetParam();
  TempDir dir;
  Scan s = make_body_scan(128, 32, 11);
  s.id = std::string("exp-") + v.name;
  s.origin = v.origin;
  s.views = v.views;
  s.source = v.origin == Origin::kReal        ? "ingest"
             : v.origin == Origin::kSimulated ? "phantom:site=large seed=11"
                                              : "model:abc123 seed=3";
  s.labels.sex = "M";
  s.labels.age = 71;
  s.labels.height = 178;
  s.labels.weight = 82.5;
  s.labels.tracer = "HDP";
  s.labels.metastasis = 1;
  s.labels.lesion_count = 4;
  if (v.origin == Origin::kReal) {
    s.meta = {{"manufacturer", "GE MEDICAL SYSTEMS"},
              {"manufacturer_model", "Millennium MG"},
              {"energy_windows_kev", {{126.0, 154.0}}},
              {"actual_frame_duration_ms", 1200000},
              {"scan_velocity_cm_min", 15.0}};
  }
  for (View view : {kAnterior, kPosterior})
    if (!s.has_view(view)) std::fill(s.view(view), s.view(view) + s.view_size(), 0.f);
  if (v.float_counts)
    for (float& x : s.pixels) x = x * 1234.567f + (x > 0 ? 0.3f : 0.f);  // max above 65535, fractions
  s.pixel_sha256 = compute_pixel_sha256(s);

  DicomWriteOptions opt;
  opt.multiframe = v.multiframe;
  opt.uid_seed = "reference-test";
  const std::vector<std::string> files = write_scan_dicom(s, dir / "scan.dcm", opt);

  for (const std::string& f : files) {
    auto r = run_command(std::string(kDciodvfy) + " " + f);
    auto errors = lines_starting_with(r.output, "Error");
    EXPECT_TRUE(errors.empty()) << f << ":\n" << r.output;
    for (const auto& w : lines_starting_with(r.output, "Warning")) std::printf("[%s] %s\n", v.name, w.c_str());
  }

  std::string cmd = testing::python() + " " + testing::source_path("tests/ref/pydicom_check_export.py");
  for (const std::string& f : files) cmd += " " + f;
  cmd += std::string(" --origin ") + to_string(v.origin);
  cmd += " --frames " + std::to_string(v.views == ViewSet::kBoth ? 2 : 1);
  for (View view : {kAnterior, kPosterior}) {
    if (!s.has_view(view)) continue;
    const std::string npy = dir / (view == kAnterior ? "ant.npy" : "post.npy");
    write_npy(npy, s.view(view), s.height, s.width);
    cmd += (view == kAnterior ? " --anterior " : " --posterior ") + npy;
  }
  if (v.float_counts) {
    // Quantised to 16 bits with slope = max / 65535: half a step of error at most.
    float max_v = *std::max_element(s.pixels.begin(), s.pixels.end());
    cmd += " --atol " + std::to_string(max_v / 65535.0 * 0.5 * 1.0001 + 1e-3);
  }
  auto r = run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, ExportReference,
    ::testing::Values(Variant{"real", Origin::kReal, ViewSet::kBoth, true, false},
                      Variant{"simulated", Origin::kSimulated, ViewSet::kBoth, true, false},
                      Variant{"synthetic", Origin::kSynthetic, ViewSet::kBoth, true, false},
                      Variant{"anterior_only", Origin::kReal, ViewSet::kAnteriorOnly, true, false},
                      Variant{"posterior_only", Origin::kSimulated, ViewSet::kPosteriorOnly, true, false},
                      Variant{"pair", Origin::kSynthetic, ViewSet::kBoth, false, false},
                      Variant{"pair_single_view", Origin::kReal, ViewSet::kPosteriorOnly, false, false},
                      Variant{"float", Origin::kSynthetic, ViewSet::kBoth, true, true}),
    [](const ::testing::TestParamInfo<Variant>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace scintigen
