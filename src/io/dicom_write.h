// Writing scans as DICOM NM whole-body objects, de-identified and marked for what they are.
//
//   DicomWriteOptions opt;                       // default: one two-frame NM object per scan
//   write_scan_dicom(scan, "out/s000001.dcm", opt);
//
// The object is built from the Scan alone (never copied from a source file), so nothing of a
// source header can leak. Every export (real, simulated, synthetic) carries ImageType DERIVED,
// a series description saying what it is, PatientIdentityRemoved YES, the de-identification
// method and ContentQualification RESEARCH. Of a scan's meta only whitelisted keys are used.
// docs/EXPORT.md lists every attribute written.
#pragma once

#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen {

struct DicomWriteOptions {
  // true: one NM Image object with two frames (anterior, posterior), told apart by
  // DetectorVector and the Detector Information Sequence's View Code Sequence (default).
  // false: two single-frame instances of one series.
  bool multiframe = true;
  // Salt for the new UIDs: each is uid_from_text(uid_seed, scan id, pixel SHA-256, role), so
  // an export is reproducible and scans of two datasets that share an id never share UIDs.
  std::string uid_seed;
};

// Writes the file(s) atomically (temporary file + rename). Returns the paths written:
// `path` for a multi-frame object, `<stem>_ant.dcm` and `<stem>_post.dcm` otherwise.
std::vector<std::string> write_scan_dicom(const Scan& scan, const std::string& path,
                                          const DicomWriteOptions& options = {});

// A DICOM UID derived from a SHA-256 of `text` (2.25.<decimal of 128 bits>), reproducible.
std::string uid_from_text(const std::string& text);

}  // namespace scintigen
