// libFuzzer harness of the whole DICOM read path (docs/FUZZING.md): read_wholebody_dicom over
// a buffer in memory, so the nesting pre-scan, DCMTK's parser, the header and pixel-module
// checks, every decoder (DCMTK's RLE, JPEG, JPEG-LS; OpenJPEG), view and orientation logic,
// header labels and meta all run on the input.
//
//   scripts/fuzz.sh 600        # build build-fuzz/ with clang and fuzz for ten minutes
//
// The contract under test: any input either reads or throws InputError. A crash, a sanitizer
// report, an exception of another type, a hang or a runaway allocation is a finding.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/dicom_read.h"

namespace {

// Smaller caps than the defaults keep every execution fast and within -rss_limit_mb; the
// checks they exercise are the same.
scintigen::ReadOptions fuzz_options() {
  scintigen::ReadOptions o;
  o.max_rows = 2048;
  o.max_columns = 2048;
  o.max_decoded_bytes = 8u << 20;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const scintigen::ReadOptions options = fuzz_options();
  try {
    const scintigen::DicomObject o = scintigen::read_wholebody_dicom(data, size, "fuzz-input.dcm", options);
    // Touch what a caller uses, so that a view of the wrong size shows up under ASan.
    volatile float sum = 0;
    for (const scintigen::DicomView& v : o.views) {
      if (v.counts.size() != static_cast<size_t>(v.height) * v.width) __builtin_trap();
      for (float c : v.counts) sum = sum + c;
    }
  } catch (const scintigen::InputError&) {
    // The expected way to refuse an input.
  }
  return 0;
}
