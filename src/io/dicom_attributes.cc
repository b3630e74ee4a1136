// Reading and checking header attributes (see dicom_attributes.h).

#include "io/dicom_attributes.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace scintigen::detail {
namespace {

constexpr const char* kUidNmImage = "1.2.840.10008.5.1.4.1.1.20";
constexpr const char* kUidNmImageRetired = "1.2.840.10008.5.1.4.1.1.5";
constexpr const char* kUidSecondaryCapture = "1.2.840.10008.5.1.4.1.1.7";

bool all_digits(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
}

// Age in whole years at the first valid study, acquisition, series or content date.
std::optional<double> age_from_dates(DcmItem* ds) {
  int by, bm, bd;
  if (!valid_date(get_string(ds, DCM_PatientBirthDate), by, bm, bd)) return std::nullopt;
  for (const DcmTagKey& tag : {DCM_StudyDate, DCM_AcquisitionDate, DCM_SeriesDate, DCM_ContentDate}) {
    int y, m, d;
    if (!valid_date(get_string(ds, tag), y, m, d)) continue;
    int age = y - by;
    if (m < bm || (m == bm && d < bd)) --age;
    if (age < 0 || age > 130) return std::nullopt;
    return static_cast<double>(age);
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Text.

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (std::isspace(static_cast<unsigned char>(s[b])) || s[b] == '\0')) ++b;
  while (e > b && (std::isspace(static_cast<unsigned char>(s[e - 1])) || s[e - 1] == '\0')) --e;
  return s.substr(b, e - b);
}

std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      cur += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 64)) out += std::isprint(static_cast<unsigned char>(ch)) ? ch : '?';
  if (s.size() > 64) out += "...";
  return out;
}

std::string format_number(double v) {
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// ---------------------------------------------------------------------------------------
// Attribute access (absent, empty or unparsable values read as "absent").

std::string get_string(DcmItem* item, const DcmTagKey& tag, long pos) {
  OFString s;
  if (item && item->findAndGetOFString(tag, s, pos).good()) return trim(s.c_str());
  return "";
}

std::string get_all(DcmItem* item, const DcmTagKey& tag) {
  OFString s;
  if (item && item->findAndGetOFStringArray(tag, s).good()) return trim(s.c_str());
  return "";
}

std::vector<std::string> get_values(DcmItem* item, const DcmTagKey& tag) {
  std::vector<std::string> out;
  std::string all = get_all(item, tag);
  if (all.empty()) return out;
  std::stringstream ss(all);
  std::string v;
  while (std::getline(ss, v, '\\')) out.push_back(trim(v));
  return out;
}

std::optional<double> get_double(DcmItem* item, const DcmTagKey& tag, long pos) {
  Float64 v = 0;
  if (item && item->findAndGetFloat64(tag, v, pos).good() && std::isfinite(v)) return v;
  return std::nullopt;
}

std::optional<long> get_long(DcmItem* item, const DcmTagKey& tag, long pos) {
  Sint32 v = 0;
  if (item && item->findAndGetSint32(tag, v, pos).good()) return v;
  return std::nullopt;
}

std::optional<int> get_us(DcmItem* item, const DcmTagKey& tag, long pos) {
  Uint16 v = 0;
  if (item && item->findAndGetUint16(tag, v, pos).good()) return v;
  return std::nullopt;
}

DcmItem* get_item(DcmItem* item, const DcmTagKey& seq, long index) {
  DcmItem* out = nullptr;
  if (item && item->findAndGetSequenceItem(seq, out, index).good()) return out;
  return nullptr;
}

long count_items(DcmItem* item, const DcmTagKey& seq) {
  DcmSequenceOfItems* s = nullptr;
  if (item && item->findAndGetSequence(seq, s).good() && s) return static_cast<long>(s->card());
  return 0;
}

// ---------------------------------------------------------------------------------------
// Values.

bool valid_date(const std::string& s, int& y, int& m, int& d) {
  if (s.size() != 8 || !all_digits(s)) return false;
  y = std::stoi(s.substr(0, 4));
  m = std::stoi(s.substr(4, 2));
  d = std::stoi(s.substr(6, 2));
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return y >= 1850 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1];
}

std::optional<double> parse_patient_age(const std::string& s) {
  if (s.size() < 2 || s.size() > 4) return std::nullopt;
  const std::string digits = s.substr(0, s.size() - 1);
  if (!all_digits(digits)) return std::nullopt;
  const double n = std::stod(digits);
  switch (std::toupper(static_cast<unsigned char>(s.back()))) {
    case 'Y':
      return n;
    case 'M':
      return n / 12.0;
    case 'W':
      return n * 7.0 / 365.25;
    case 'D':
      return n / 365.25;
    default:
      return std::nullopt;
  }
}

int parse_number_of_frames(const std::string& path, const std::string& value) {
  if (value.empty()) return 1;
  const std::string digits = value[0] == '+' ? value.substr(1) : value;
  if (digits.empty() || digits.size() > 9 || !all_digits(digits)) {
    throw InputError(path, "NumberOfFrames '" + printable(value) + "' is not an integer", "the header is corrupt");
  }
  return std::stoi(digits);
}

std::string radionuclide_name(const std::string& meaning) {
  const std::string u = upper(meaning);
  if (u.find("99M") != std::string::npos &&
      (u.find("TECHNETIUM") != std::string::npos || u.find("TC") != std::string::npos))
    return "Tc-99m";
  return meaning;
}

// ---------------------------------------------------------------------------------------
// What the object is.

bool is_supported_xfer(E_TransferSyntax x) {
  switch (x) {
    case EXS_LittleEndianImplicit:
    case EXS_LittleEndianExplicit:
    case EXS_BigEndianExplicit:
    case EXS_DeflatedLittleEndianExplicit:
    case EXS_RLELossless:
    case EXS_JPEGProcess1:
    case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess14:
    case EXS_JPEGProcess14SV1:
    case EXS_JPEGLSLossless:
    case EXS_JPEGLSLossy:
    case EXS_JPEG2000LosslessOnly:
    case EXS_JPEG2000:
      return true;
    default:
      return false;
  }
}

void check_object_kind(const std::string& path, DcmItem* ds) {
  const std::string modality = upper(get_string(ds, DCM_Modality));
  if (modality.empty()) throw InputError(path, "Modality is missing, not NM", kHintWholeBody);
  if (modality != "NM") throw InputError(path, "modality is " + printable(modality) + ", not NM", kHintWholeBody);
  const std::string sop = get_string(ds, DCM_SOPClassUID);
  if (!sop.empty() && sop != kUidNmImage && sop != kUidNmImageRetired && sop != kUidSecondaryCapture) {
    const char* name = dcmFindNameOfUID(sop.c_str(), nullptr);
    throw InputError(path,
                     "SOP class " + printable(sop) + (name ? std::string(" (") + name + ")" : "") +
                         " is not NM Image Storage or Secondary Capture",
                     kHintWholeBody);
  }
}

std::string image_type_rejection(const std::vector<std::string>& image_type) {
  const std::string it = join(image_type, "\\");
  for (const std::string& v0 : image_type) {
    const std::string v = upper(v0);
    if (v.find("TOMO") != std::string::npos)
      return "ImageType " + it + " is a SPECT (TOMO) acquisition, not a whole-body planar scan";
    if (v == "GATED") return "ImageType " + it + " is a gated acquisition, not a whole-body planar scan";
    if (v == "DYNAMIC") return "ImageType " + it + " is a dynamic acquisition, not a whole-body planar scan";
    if (v == "STATIC") return "ImageType " + it + " is a static spot view / flood image — not a whole-body scan";
  }
  return "";
}

void check_whole_body(const std::string& path, DcmItem* ds, int rows, int cols) {
  const std::vector<std::string> image_type = get_values(ds, DCM_ImageType);
  const std::string rejection = image_type_rejection(image_type);
  if (!rejection.empty()) throw InputError(path, rejection, kHintWholeBody);
  for (const std::string& v : image_type) {
    const std::string u = upper(v);
    if (u == "WHOLE BODY" || u == "WHOLEBODY" || u == "WHOLE_BODY") return;
  }
  const std::string body_part = upper(get_string(ds, DCM_BodyPartExamined));
  const bool marked = ds->tagExists(DCM_WholeBodyTechnique) || body_part == "WHOLE BODY" || body_part == "WHOLEBODY";
  const double aspect = static_cast<double>(std::max(rows, cols)) / std::max(1, std::min(rows, cols));
  if (marked && aspect >= 2.5) return;
  throw InputError(path,
                   "static spot view / flood image — not a whole-body scan (ImageType " +
                       (image_type.empty() ? std::string("missing") : join(image_type, "\\")) + ", " +
                       std::to_string(cols) + " x " + std::to_string(rows) + ")",
                   "a whole-body scan has WHOLE BODY in ImageType, or a Whole Body Technique and a long matrix");
}

PixelFormat check_pixel_module(const std::string& path, DcmItem* ds, const ReadOptions& opt, E_TransferSyntax xfer) {
  PixelFormat f;
  const auto rows = get_us(ds, DCM_Rows);
  const auto cols = get_us(ds, DCM_Columns);
  if (!rows || !cols)
    throw InputError(path, std::string(!rows ? "Rows" : "Columns") + " is missing", "the file holds no image");
  if (*rows == 0 || *cols == 0)
    throw InputError(path, std::string(*rows == 0 ? "Rows" : "Columns") + " is 0", "the file holds no image");
  if (*rows > opt.max_rows || *cols > opt.max_columns) {
    throw InputError(path,
                     "Rows x Columns " + std::to_string(*rows) + " x " + std::to_string(*cols) + " exceeds the limit " +
                         std::to_string(opt.max_rows) + " x " + std::to_string(opt.max_columns),
                     "raise the limit if this really is a whole-body scan");
  }
  f.rows = *rows;
  f.cols = *cols;
  f.frames = parse_number_of_frames(path, get_string(ds, DCM_NumberOfFrames));
  if (f.frames < 1) throw InputError(path, "NumberOfFrames is 0", "the file holds no image");
  if (f.frames > opt.max_frames) {
    throw InputError(
        path, "NumberOfFrames " + std::to_string(f.frames) + " exceeds the limit " + std::to_string(opt.max_frames),
        kHintWholeBody);
  }
  if (f.frames > 2) {
    throw InputError(
        path,
        "NumberOfFrames is " + std::to_string(f.frames) + "; a whole-body scan has 1 or 2 frames (anterior, posterior)",
        kHintWholeBody);
  }
  const int spp = get_us(ds, DCM_SamplesPerPixel).value_or(1);
  if (spp != 1)
    throw InputError(path, "SamplesPerPixel is " + std::to_string(spp) + ", expected 1 (grey counts)", kHintWholeBody);
  const std::string photometric = upper(get_string(ds, DCM_PhotometricInterpretation));
  if (photometric == "MONOCHROME1") {
    throw InputError(path, "PhotometricInterpretation MONOCHROME1 (inverted grey) is not used for NM counts",
                     "export the scan as MONOCHROME2 counts");
  }
  if (!photometric.empty() && photometric != "MONOCHROME2") {
    throw InputError(
        path, "PhotometricInterpretation " + printable(photometric) + " is not supported; NM counts are MONOCHROME2",
        kHintWholeBody);
  }
  const auto ba = get_us(ds, DCM_BitsAllocated);
  if (!ba) throw InputError(path, "BitsAllocated is missing", "the header is corrupt");
  if (*ba != 8 && *ba != 16 && *ba != 32)
    throw InputError(path, "BitsAllocated " + std::to_string(*ba) + " is not supported (8, 16 or 32)", "");
  if (*ba == 32 && xfer == EXS_BigEndianExplicit)
    throw InputError(path, "BitsAllocated 32 in big endian is not supported", "convert to little endian");
  f.bits_allocated = *ba;
  f.bits_stored = get_us(ds, DCM_BitsStored).value_or(f.bits_allocated);
  if (f.bits_stored < 1 || f.bits_stored > f.bits_allocated) {
    throw InputError(path,
                     "BitsStored " + std::to_string(f.bits_stored) + " does not fit BitsAllocated " +
                         std::to_string(f.bits_allocated),
                     "the header is corrupt");
  }
  const int high_bit = get_us(ds, DCM_HighBit).value_or(f.bits_stored - 1);
  if (high_bit != f.bits_stored - 1) {
    throw InputError(path,
                     "HighBit " + std::to_string(high_bit) + " with BitsStored " + std::to_string(f.bits_stored) +
                         " is not supported",
                     "");
  }
  f.pixel_representation = get_us(ds, DCM_PixelRepresentation).value_or(0);
  if (f.pixel_representation != 0 && f.pixel_representation != 1) {
    throw InputError(path, "PixelRepresentation " + std::to_string(f.pixel_representation) + " is not 0 or 1",
                     "the header is corrupt");
  }
  f.slope = get_double(ds, DCM_RescaleSlope).value_or(1.0);
  f.intercept = get_double(ds, DCM_RescaleIntercept).value_or(0.0);
  if (f.slope == 0) throw InputError(path, "RescaleSlope is 0", "the header is corrupt");
  const uint64_t decoded = static_cast<uint64_t>(f.frame_bytes()) * f.frames;
  if (decoded > opt.max_decoded_bytes || decoded > 0xffffffffull) {
    throw InputError(path,
                     "decoded pixel data would take " + std::to_string(decoded) + " bytes, more than the limit " +
                         std::to_string(opt.max_decoded_bytes),
                     "raise the limit if this really is a whole-body scan");
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// What a dataset keeps.

Labels read_header_labels(DcmItem* ds, std::vector<std::string>& warnings) {
  Labels l;
  const std::string sex = upper(get_string(ds, DCM_PatientSex));
  if (sex == "M" || sex == "F" || sex == "O") l.sex = sex;
  std::optional<double> age = parse_patient_age(get_string(ds, DCM_PatientAge));
  if (!age) age = age_from_dates(ds);
  if (age && *age >= 0 && *age <= 130) l.age = std::min(*age, 90.0);  // HIPAA: ages over 89 are grouped
  if (auto size_m = get_double(ds, DCM_PatientSize); size_m && *size_m > 0) {
    const double cm = *size_m * 100.0;
    if (cm >= 30 && cm <= 250)
      l.height = cm;
    else
      warnings.push_back("PatientSize " + std::to_string(*size_m) + " m is out of range; height not set");
  }
  if (auto kg = get_double(ds, DCM_PatientWeight); kg && *kg > 0) {
    if (*kg >= 1 && *kg <= 400)
      l.weight = *kg;
    else
      warnings.push_back("PatientWeight " + std::to_string(*kg) + " kg is out of range; weight not set");
  }
  DcmItem* rp = get_item(ds, DCM_RadiopharmaceuticalInformationSequence);
  std::string tracer = canonical_tracer(get_string(rp, DCM_Radiopharmaceutical));
  if (tracer.empty())
    tracer = canonical_tracer(get_string(get_item(rp, DCM_RadiopharmaceuticalCodeSequence), DCM_CodeMeaning));
  l.tracer = tracer;
  return l;
}

nlohmann::json read_meta(DcmItem* ds, const PixelFormat& f, E_TransferSyntax xfer, const Labels& labels) {
  nlohmann::json m = nlohmann::json::object();
  auto put_string = [&](const char* key, const std::string& v) {
    if (!v.empty()) m[key] = v;
  };
  put_string("manufacturer", get_string(ds, DCM_Manufacturer));
  put_string("manufacturer_model", get_string(ds, DCM_ManufacturerModelName));
  std::vector<std::string> image_type = get_values(ds, DCM_ImageType);
  if (!image_type.empty()) m["image_type"] = image_type;
  DcmItem* rp = get_item(ds, DCM_RadiopharmaceuticalInformationSequence);
  put_string("radionuclide",
             radionuclide_name(get_string(get_item(rp, DCM_RadionuclideCodeSequence), DCM_CodeMeaning)));
  put_string("tracer", labels.tracer);
  nlohmann::json windows = nlohmann::json::array();
  const long n_windows = std::min(count_items(ds, DCM_EnergyWindowInformationSequence), 16L);
  for (long i = 0; i < n_windows; ++i) {
    DcmItem* range = get_item(get_item(ds, DCM_EnergyWindowInformationSequence, i), DCM_EnergyWindowRangeSequence);
    auto lo = get_double(range, DCM_EnergyWindowLowerLimit);
    auto hi = get_double(range, DCM_EnergyWindowUpperLimit);
    if (lo && hi) windows.push_back({*lo, *hi});
  }
  if (!windows.empty()) m["energy_windows_kev"] = windows;
  // Scan Velocity (0018,1300) is in mm/s: x 60 / 10 = cm/min.
  if (auto v = get_double(ds, DCM_ScanVelocity); v && *v > 0) m["scan_velocity_cm_min"] = *v * 6.0;
  if (auto v = get_long(ds, DCM_ActualFrameDuration)) m["actual_frame_duration_ms"] = *v;
  if (auto v = get_long(ds, DCM_CountsAccumulated)) m["counts_accumulated"] = *v;
  put_string("whole_body_technique", get_all(ds, DCM_WholeBodyTechnique));
  put_string("collimator_type", get_string(get_item(ds, DCM_DetectorInformationSequence), DCM_CollimatorType));
  m["transfer_syntax"] = DcmXfer(xfer).getXferID();
  m["rows"] = f.rows;
  m["columns"] = f.cols;
  m["n_frames"] = f.frames;
  m["bits_allocated"] = f.bits_allocated;
  m["bits_stored"] = f.bits_stored;
  m["pixel_representation"] = f.pixel_representation;
  m["rescale_slope"] = f.slope;
  m["rescale_intercept"] = f.intercept;
  return m;
}

SourceKeys read_keys(DcmItem* ds) {
  SourceKeys k;
  k.study_uid = get_string(ds, DCM_StudyInstanceUID);
  k.series_uid = get_string(ds, DCM_SeriesInstanceUID);
  k.sop_uid = get_string(ds, DCM_SOPInstanceUID);
  k.frame_of_reference_uid = get_string(ds, DCM_FrameOfReferenceUID);
  k.patient_id = get_string(ds, DCM_PatientID);
  k.accession_number = get_string(ds, DCM_AccessionNumber);
  k.acquisition_datetime = get_string(ds, DCM_AcquisitionDateTime);
  if (k.acquisition_datetime.empty()) {
    k.acquisition_datetime = get_string(ds, DCM_AcquisitionDate) + get_string(ds, DCM_AcquisitionTime);
  }
  return k;
}

}  // namespace scintigen::detail
