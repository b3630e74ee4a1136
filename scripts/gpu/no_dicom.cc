// The GPU machines have no DCMTK (docs/GPU.md), so the GPU build of the app (scripts/gpu) links
// this in place of src/io's DICOM writer: `generate --format dicom` there writes the dataset,
// then fails with an error naming the first DICOM file; datasets, PNG export and contact sheets
// work as everywhere.
#include "core/error.h"
#include "io/dicom_write.h"

namespace scintigen {

std::vector<std::string> write_scan_dicom(const Scan& /*scan*/, const std::string& path,
                                          const DicomWriteOptions& /*options*/) {
  throw InputError(path, "this build of scintigen has no DICOM support (the GPU build, scripts/gpu)",
                   "export with --format png or dataset here, or export the dataset as DICOM on a full build");
}

}  // namespace scintigen
