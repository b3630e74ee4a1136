// Reading and checking the header attributes of a DICOM object (internal to src/io; the public
// API is dicom_read.h).
//
//   const std::string sex = get_string(ds, DCM_PatientSex);         // "" when absent
//   const PixelFormat f = check_pixel_module(path, ds, options, xfer);  // throws InputError
//
// Attribute access reads absent, empty and unparsable values as absent. The checks say what
// the object is (NM, whole body, a pixel module that bounds every allocation) and throw
// InputError(path, reason, hint); the readers copy the research attributes a dataset keeps
// (labels, whitelisted acquisition meta) and the keys used in memory only (SourceKeys).
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "io/dicom_read.h"

namespace scintigen::detail {

inline constexpr const char* kHintWholeBody = "only whole-body planar NM scans (anterior/posterior views) can be read";

// --- Text.

// Without surrounding white space and NULs (DICOM pads values with either).
std::string trim(const std::string& s);
std::string upper(std::string s);
// Words of `s` in upper case: runs of letters and digits (so "ANT_WB", "Post." -> ANT, WB, POST).
std::vector<std::string> words(const std::string& s);
// Printable, bounded copy of a value for an error message ('?' for other bytes, "..." past 64).
std::string printable(const std::string& s);
// A number as short text ("-3", "0.5", "1e+300").
std::string format_number(double v);
std::string join(const std::vector<std::string>& v, const char* sep);

// --- Attribute access (absent, empty or unparsable values read as absent; `item` may be null).

std::string get_string(DcmItem* item, const DcmTagKey& tag, long pos = 0);
// All values, separated by backslashes.
std::string get_all(DcmItem* item, const DcmTagKey& tag);
std::vector<std::string> get_values(DcmItem* item, const DcmTagKey& tag);
std::optional<double> get_double(DcmItem* item, const DcmTagKey& tag, long pos = 0);  // finite only
std::optional<long> get_long(DcmItem* item, const DcmTagKey& tag, long pos = 0);
std::optional<int> get_us(DcmItem* item, const DcmTagKey& tag, long pos = 0);
DcmItem* get_item(DcmItem* item, const DcmTagKey& seq, long index = 0);
long count_items(DcmItem* item, const DcmTagKey& seq);

// --- Values.

// A DA value "YYYYMMDD" with a year in 1850..2200 and a day that exists in its month (29
// February in any year); false leaves y, m, d unspecified.
bool valid_date(const std::string& s, int& y, int& m, int& d);
// Age in years from PatientAge ("067Y", "018M", "003W", "010D"); nullopt when invalid.
std::optional<double> parse_patient_age(const std::string& s);
// NumberOfFrames (IS) without trusting it: "" is 1 frame; an optional '+' and 1 to 9 digits,
// else InputError naming `path`.
int parse_number_of_frames(const std::string& path, const std::string& value);
// The radionuclide's short name ("Tc-99m" for any technetium 99m meaning), else `meaning`.
std::string radionuclide_name(const std::string& meaning);

// --- What the object is.

// The transfer syntaxes read: native, deflated, RLE, JPEG, JPEG-LS and JPEG 2000.
bool is_supported_xfer(E_TransferSyntax x);
// Modality NM; SOP class NM Image Storage (current or retired) or Secondary Capture.
void check_object_kind(const std::string& path, DcmItem* ds);
// ImageType values that rule out a whole-body planar scan (TOMO, GATED, DYNAMIC, STATIC);
// "" when none does.
std::string image_type_rejection(const std::vector<std::string>& image_type);
// WHOLE BODY in ImageType, or a Whole Body Technique / BodyPartExamined and a long matrix.
void check_whole_body(const std::string& path, DcmItem* ds, int rows, int cols);

// The image pixel module, bounded against ReadOptions before anything is allocated.
struct PixelFormat {
  int rows = 0, cols = 0, frames = 1;
  int bits_allocated = 16, bits_stored = 16, pixel_representation = 0;
  double slope = 1, intercept = 0;
  size_t frame_bytes() const { return static_cast<size_t>(rows) * cols * (bits_allocated / 8); }
};
PixelFormat check_pixel_module(const std::string& path, DcmItem* ds, const ReadOptions& opt, E_TransferSyntax xfer);

// --- What a dataset keeps, and the keys kept in memory only.

// Sex, age (PatientAge or birth and study dates, capped at 90), height, weight, tracer; values
// out of range are left unset with a warning.
Labels read_header_labels(DcmItem* ds, std::vector<std::string>& warnings);
// The whitelisted, non-identifying acquisition attributes (dicom_read.h DicomObject::meta).
nlohmann::json read_meta(DcmItem* ds, const PixelFormat& f, E_TransferSyntax xfer, const Labels& labels);
SourceKeys read_keys(DcmItem* ds);

}  // namespace scintigen::detail
