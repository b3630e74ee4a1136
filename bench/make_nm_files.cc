// Writes N synthetic two-view (two-frame) 256x1024 NM whole-body files for the ingest
// benchmark: usage make_nm_files OUT_DIR N SYNTAX ; SYNTAX = explicit | jpegls | rle | jpeg2000.
// Pixels are synthetic_counts() (a smooth body-like blob with Poisson-like noise; no patient).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "io/dicom_fixtures.h"

using namespace scintigen;
using namespace scintigen::testing;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s OUT_DIR N explicit|jpegls|rle|jpeg2000\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  const int n = std::atoi(argv[2]);
  const std::string syn = argv[3];
  FixtureSpec spec;
  spec.rows = 1024;
  spec.cols = 256;
  if (syn == "explicit")
    spec.syntax = FixtureSyntax::kExplicitLE;
  else if (syn == "jpegls")
    spec.syntax = FixtureSyntax::kJpegLsLossless;
  else if (syn == "rle")
    spec.syntax = FixtureSyntax::kRle;
  else if (syn == "jpeg2000")
    spec.syntax = FixtureSyntax::kJpeg2000Lossless;
  else {
    std::fprintf(stderr, "unknown syntax %s\n", syn.c_str());
    return 2;
  }
  std::filesystem::create_directories(out);
  for (int i = 0; i < n; ++i) {
    auto ant = synthetic_counts(spec.rows, spec.cols, 2 * i + 1);
    auto post = synthetic_counts(spec.rows, spec.cols, 2 * i + 2);
    char name[64];
    std::snprintf(name, sizeof name, "/f%05d.dcm", i);
    write_nm_fixture(out + name, spec, {ant, post});
  }
  return 0;
}
