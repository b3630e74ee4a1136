// Writes the DICOM files that crashed scintigen (tests/io/dicom_fixtures.h) into a folder, for
// tests of other layers and for the fuzzer's seed corpus.
//
//   make_crash_files DIR            # deep nesting (20,000 levels), signed lossy JPEG 2000
//   make_crash_files --seeds DIR    # small objects in every transfer syntax and both crash
//                                   # classes at small sizes: the fuzzer's seeds
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "io/dicom_fixtures.h"

int main(int argc, char** argv) {
  const bool seeds = argc == 3 && std::string(argv[1]) == "--seeds";
  if (!(argc == 2 || seeds)) {
    std::fprintf(stderr, "usage: make_crash_files [--seeds] DIR\n");
    return 2;
  }
  const std::string dir = argv[argc - 1];
  try {
    std::filesystem::create_directories(dir);
    const auto files = seeds ? scintigen::testing::write_seed_files(dir) : scintigen::testing::write_crash_files(dir);
    for (const auto& f : files) std::printf("%s\n", f.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s: %s\n", dir.c_str(), e.what());
    return 1;
  }
  return 0;
}
