#include "io/dicom_write.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcvrat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/sha256.h"
#include "core/version.h"

namespace scintigen {
namespace {

// A coded concept: (code value, coding scheme designator, code meaning).
struct Code {
  const char* value;
  const char* scheme;
  const char* meaning;
};

// CID 26 Nuclear Medicine Projections.
constexpr Code kAnteriorProjection{"399321004", "SCT", "Anterior projection"};
constexpr Code kPosteriorProjection{"399001007", "SCT", "Posterior projection"};
// CID 18 Isotopes in Radiopharmaceuticals.
constexpr Code kTechnetium99m{"72454006", "SCT", "^99m^Technetium"};
// CID 25 Radiopharmaceuticals (DPD has no code in CID 25: text only).
constexpr Code kMedronate{"96390006", "SCT", "Technetium Tc^99m^ medronate"};
constexpr Code kOxidronate{"53951001", "SCT", "Technetium Tc^99m^ oxidronate"};
constexpr Code kPyrophosphate{"65156006", "SCT", "Technetium Tc^99m^ pyro and polyphosphates"};
// CID 19, 20, 21 patient orientation, modifier and gantry relationship.
constexpr Code kRecumbent{"102538003", "SCT", "recumbent"};
constexpr Code kSupine{"40199007", "SCT", "Supine"};
constexpr Code kHeadFirst{"102540008", "SCT", "headfirst"};
// CID 7050 De-identification Method.
constexpr Code kBasicProfile{"113100", "DCM", "Basic Application Confidentiality Profile"};
constexpr Code kRetainCharacteristics{"113108", "DCM", "Retain Patient Characteristics Option"};

// CID 7005 Contributing Equipment Purposes of Reference.
constexpr Code kAcquisitionEquipment{"109101", "DCM", "Acquisition Equipment"};

constexpr const char* kNmImageStorage = "1.2.840.10008.5.1.4.1.1.20";
constexpr double kPhotopeakKeV = 140.5;

// One image to write: which views become its frames, which file and which instance.
struct Instance {
  std::vector<View> frames;
  std::string path;
  std::string role;  // "nm", "nm-ant", "nm-post": part of the SOP Instance UID text
  int number = 1;
};

// How stored float counts become 16-bit pixel values: value = stored * slope.
struct Quantizer {
  bool rescaled = false;
  std::string slope_text;  // DS text written to the file; `slope` is parsed back from it
  double slope = 1.0;
  uint16_t apply(float v) const {
    if (!std::isfinite(v) || v <= 0.f) return 0;
    double q = std::nearbyint(static_cast<double>(v) / slope);
    return static_cast<uint16_t>(std::min(q, 65535.0));
  }
};

// Printable ASCII without backslash (the DICOM value separator), cut to `max_len`.
std::string clean_text(const std::string& s, size_t max_len) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max_len) break;
    out.push_back(c >= 0x20 && c < 0x7f && c != '\\' ? c : '?');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Decimal String (VR DS): at most 16 characters, as precise as fits.
std::string format_ds(double v) {
  char buf[64];
  for (int digits = 12; digits >= 1; --digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strlen(buf) <= 16) return buf;
  }
  return "0";
}

std::string meta_string(const nlohmann::json& meta, const char* key) {
  auto it = meta.find(key);
  return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double meta_number(const nlohmann::json& meta, const char* key) {
  auto it = meta.find(key);
  return it != meta.end() && it->is_number() ? it->get<double>() : 0.0;
}

// The photopeak window from meta["energy_windows_kev"] (as dicom_read writes it): a list of {"lower", "upper"[,
// "name"]} objects (keV; "lower_kev"/"upper_kev" also accepted) or [lower, upper] pairs. The window holding 140.5 keV
// is chosen, else the first. Returns false when there is none usable.
bool photopeak_window(const nlohmann::json& meta, double* lower, double* upper, std::string* name) {
  auto it = meta.find("energy_windows_kev");
  if (it == meta.end()) return false;
  nlohmann::json list = it->is_array() ? *it : nlohmann::json::array({*it});
  bool found = false;
  for (const auto& w : list) {
    double lo = 0, hi = 0;
    std::string nm;
    if (w.is_array() && w.size() == 2 && w[0].is_number() && w[1].is_number()) {
      lo = w[0].get<double>();
      hi = w[1].get<double>();
    } else if (w.is_object()) {
      lo = meta_number(w, w.contains("lower_kev") ? "lower_kev" : "lower");
      hi = meta_number(w, w.contains("upper_kev") ? "upper_kev" : "upper");
      nm = meta_string(w, "name");
    } else {
      continue;
    }
    if (!(lo > 0 && hi > lo && hi < 10000)) continue;
    if (!found || (lo <= kPhotopeakKeV && kPhotopeakKeV <= hi)) {
      *lower = lo;
      *upper = hi;
      *name = nm;
      found = true;
      if (lo <= kPhotopeakKeV && kPhotopeakKeV <= hi) break;
    }
  }
  return found;
}

std::string tracer_of(const Scan& scan) {
  std::string t = scan.labels.tracer;
  if (t.empty()) t = canonical_tracer(meta_string(scan.meta, "tracer"));
  return t;
}

const Code* tracer_code(const std::string& tracer) {
  if (tracer == "MDP") return &kMedronate;
  if (tracer == "HDP") return &kOxidronate;
  if (tracer == "PYP") return &kPyrophosphate;
  return nullptr;
}

// Patient's Age (AS): nnnY, months below one year; capped at 090Y like the reader.
std::string age_string(double years) {
  char buf[8];
  if (years >= 1.0)
    std::snprintf(buf, sizeof buf, "%03dY", static_cast<int>(std::min(std::floor(years), 90.0)));
  else
    std::snprintf(buf, sizeof buf, "%03dM", static_cast<int>(std::floor(std::max(years, 0.0) * 12.0)));
  return buf;
}

// The first word of `source` for real scans (e.g. "ingest"): a real scan's source may hold
// a path or file name, which must not reach an export.
std::string source_for_export(const Scan& scan) {
  if (scan.origin != Origin::kReal) return clean_text(scan.source, 400);
  std::string word;
  for (char c : scan.source) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) break;
    word.push_back(c);
  }
  return word.substr(0, 32);
}

Quantizer make_quantizer(const Scan& scan, const std::vector<View>& views) {
  float max_v = 0.f;
  bool integral = true;
  for (View v : views) {
    const float* p = scan.view(v);
    for (size_t i = 0, n = scan.view_size(); i < n; ++i) {
      float x = p[i];
      if (!std::isfinite(x) || x <= 0.f) continue;
      max_v = std::max(max_v, x);
      if (x != std::nearbyint(x)) integral = false;
    }
  }
  Quantizer q;
  if (integral && max_v <= 65535.f) return q;
  q.rescaled = true;
  q.slope_text = format_ds(static_cast<double>(max_v) / 65535.0);
  q.slope = std::strtod(q.slope_text.c_str(), nullptr);
  if (!(q.slope > 0)) {  // max below DS resolution: cannot happen for counts, but stay safe
    q.slope_text = "1";
    q.slope = 1.0;
  }
  return q;
}

class DatasetWriter {
 public:
  DatasetWriter(DcmItem* item, const std::string& path) : item_(item), path_(path) {}

  void str(const DcmTagKey& tag, const std::string& value) {
    check(item_->putAndInsertString(tag, value.c_str()), tag);
  }
  void u16(const DcmTagKey& tag, uint16_t value) { check(item_->putAndInsertUint16(tag, value), tag); }
  void u16s(const DcmTagKey& tag, const std::vector<uint16_t>& values) {
    check(item_->putAndInsertUint16Array(tag, values.data(), static_cast<unsigned long>(values.size())), tag);
  }
  void tags(const DcmTagKey& tag, const std::vector<DcmTagKey>& values) {
    auto* at = new DcmAttributeTag(DcmTag(tag));
    for (size_t i = 0; i < values.size(); ++i) at->putTagVal(values[i], static_cast<unsigned long>(i));
    check(item_->insert(at, true), tag);
  }
  // An empty (Type 2) sequence.
  void empty_sequence(const DcmTagKey& tag) { check(item_->insertEmptyElement(tag), tag); }
  // Appends an item to sequence `tag` and returns a writer for it.
  DatasetWriter item(const DcmTagKey& tag) {
    DcmItem* it = nullptr;
    check(item_->findOrCreateSequenceItem(tag, it, -2), tag);
    return DatasetWriter(it, path_);
  }
  void code(const Code& c) {
    str(DCM_CodeValue, c.value);
    str(DCM_CodingSchemeDesignator, c.scheme);
    str(DCM_CodeMeaning, c.meaning);
  }
  void code_item(const DcmTagKey& sequence, const Code& c) { item(sequence).code(c); }
  void pixels(const std::vector<uint16_t>& samples) {
    check(item_->putAndInsertUint16Array(DCM_PixelData, samples.data(), static_cast<unsigned long>(samples.size())),
          DCM_PixelData);
  }

 private:
  void check(const OFCondition& c, const DcmTagKey& tag) {
    if (c.bad())
      throw InternalError(path_, "cannot set DICOM attribute " + std::string(tag.toString().c_str()) + ": " + c.text());
  }
  DcmItem* item_;
  std::string path_;
};

std::string series_description(Origin o) {
  switch (o) {
    case Origin::kSimulated:
      return "SIMULATED - scintigen phantom, not a patient";
    case Origin::kSynthetic:
      return "SYNTHETIC - scintigen generative model, not a patient";
    case Origin::kReal:
      break;
  }
  return "DE-IDENTIFIED - scintigen";
}

std::string derivation_description(const Scan& scan) {
  const std::string src = source_for_export(scan);
  switch (scan.origin) {
    case Origin::kSimulated:
      return "SIMULATED by scintigen " + scintigen_version() + " (" + src + "); not a patient";
    case Origin::kSynthetic:
      return "SYNTHETIC, made by a scintigen generative model, scintigen " + scintigen_version() + " (" + src +
             "); not a patient";
    case Origin::kReal:
      break;
  }
  return "De-identified re-export by scintigen " + scintigen_version() + " (" + src +
         "): built from counts and research labels only, no source header copied";
}

// Disease labels (no standard attribute holds them): a compact JSON text for ImageComments.
std::string label_comments(const Labels& l) {
  nlohmann::json j = nlohmann::json::object();
  if (l.metastasis) j["metastasis"] = *l.metastasis;
  if (l.lesion_count) j["lesion_count"] = *l.lesion_count;
  if (l.cardiac_grade) j["cardiac_grade"] = *l.cardiac_grade;
  if (j.empty()) return "";
  return "scintigen labels: " + j.dump();
}

// The provenance line of Image Comments for simulated and synthetic scans (dicom_read.h
// ScintigenMark reads it back): origin, source, meta["provenance"] and the scintigen version as
// one line of JSON, ASCII only (non-ASCII escaped). LT holds 10240 characters; a provenance
// that does not fit is replaced by a note saying so.
std::string provenance_line(const Scan& scan) {
  nlohmann::json j = {
      {"origin", to_string(scan.origin)},
      {"source", scan.source},
      {"provenance", scan.meta.contains("provenance") ? scan.meta["provenance"] : nlohmann::json::object()},
      {"scintigen_version", scintigen_version()}};
  const char* kPrefix = "scintigen provenance: ";
  std::string line = kPrefix + j.dump(-1, ' ', true);
  if (line.size() > 9000) {
    j["provenance"] = {{"omitted", "longer than Image Comments can hold"}};
    line = kPrefix + j.dump(-1, ' ', true);
  }
  if (line.size() > 9000) {
    j["source"] = scan.source.substr(0, 1000);
    line = kPrefix + j.dump(-1, ' ', true);
  }
  return line;
}

// Patient, Patient Study, General Study, General Series, NM/PET Patient Orientation,
// General Equipment, and the de-identification marks.
void write_common(DatasetWriter& w, const Scan& scan, const std::string& study_uid, const std::string& series_uid) {
  const Labels& l = scan.labels;
  // Patient: pseudonymous ID = scan id, no name, no birth date.
  w.str(DCM_PatientName, "");
  w.str(DCM_PatientID, clean_text(scan.id, 64));
  w.str(DCM_PatientBirthDate, "");
  w.str(DCM_PatientSex, l.sex == "M" || l.sex == "F" || l.sex == "O" ? l.sex : "");
  w.str(DCM_PatientIdentityRemoved, "YES");
  // LO values of at most 64 characters each.
  w.str(DCM_DeidentificationMethod, "scintigen " + scintigen_version() +
                                        "\\PS3.15 Annex E Basic Application Level Confidentiality Profile"
                                        "\\Retain Patient Characteristics Option");
  w.code_item(DCM_DeidentificationMethodCodeSequence, kBasicProfile);
  w.code_item(DCM_DeidentificationMethodCodeSequence, kRetainCharacteristics);
  // Patient Study.
  if (l.age) w.str(DCM_PatientAge, age_string(*l.age));
  if (l.height) w.str(DCM_PatientSize, format_ds(*l.height / 100.0));
  if (l.weight) w.str(DCM_PatientWeight, format_ds(*l.weight));
  // General Study: Type 2 attributes present and empty.
  w.str(DCM_StudyInstanceUID, study_uid);
  w.str(DCM_StudyDate, "");
  w.str(DCM_StudyTime, "");
  w.str(DCM_ReferringPhysicianName, "");
  w.str(DCM_StudyID, clean_text(scan.id, 16));  // pseudonymous, like PatientID
  w.str(DCM_AccessionNumber, "");
  // General Series.
  w.str(DCM_Modality, "NM");
  w.str(DCM_SeriesInstanceUID, series_uid);
  w.str(DCM_SeriesNumber, "1");
  w.str(DCM_SeriesDescription, series_description(scan.origin));
  w.str(DCM_BodyPartExamined, "WHOLEBODY");
  // NM/PET Patient Orientation: known only for scintigen's own (supine, head-first) scans.
  if (scan.origin == Origin::kReal) {
    w.empty_sequence(DCM_PatientOrientationCodeSequence);
    w.empty_sequence(DCM_PatientGantryRelationshipCodeSequence);
  } else {
    DatasetWriter orient = w.item(DCM_PatientOrientationCodeSequence);
    orient.code(kRecumbent);
    orient.code_item(DCM_PatientOrientationModifierCodeSequence, kSupine);
    w.code_item(DCM_PatientGantryRelationshipCodeSequence, kHeadFirst);
  }
  // General Equipment: scintigen made the object; a real scan keeps only its camera's
  // manufacturer and model (never serial numbers, institution or station).
  if (scan.origin == Origin::kReal) {
    w.str(DCM_Manufacturer, clean_text(meta_string(scan.meta, "manufacturer"), 64));
    std::string model = clean_text(meta_string(scan.meta, "manufacturer_model"), 64);
    if (!model.empty()) w.str(DCM_ManufacturerModelName, model);
  } else {
    w.str(DCM_Manufacturer, "scintigen");
    w.str(DCM_ManufacturerModelName,
          scan.origin == Origin::kSimulated ? "scintigen phantom" : "scintigen generative model");
  }
  w.str(DCM_SoftwareVersions, "scintigen " + scintigen_version());
  // SOP Common: scintigen as the equipment that acquired (made) a simulated or synthetic image,
  // a second, structured mark beside Manufacturer.
  if (scan.origin != Origin::kReal) {
    DatasetWriter eq = w.item(DCM_ContributingEquipmentSequence);
    eq.code_item(DCM_PurposeOfReferenceCodeSequence, kAcquisitionEquipment);
    eq.str(DCM_Manufacturer, "scintigen");
    eq.str(DCM_ManufacturerModelName,
           scan.origin == Origin::kSimulated ? "scintigen phantom" : "scintigen generative model");
    eq.str(DCM_SoftwareVersions, "scintigen " + scintigen_version());
    eq.str(DCM_ContributionDescription,
           scan.origin == Origin::kSimulated ? "SIMULATED image, not a patient" : "SYNTHETIC image, not a patient");
  }
  w.str(DCM_ContentQualification, "RESEARCH");
  w.str(DCM_LongitudinalTemporalInformationModified, "REMOVED");
}

void write_instance(const Scan& scan, const Instance& inst, const std::string& study_uid, const std::string& series_uid,
                    const std::string& uid_text) {
  const std::string& path = inst.path;
  DcmFileFormat file;
  DatasetWriter w(file.getDataset(), path);
  w.str(DCM_SOPClassUID, kNmImageStorage);
  w.str(DCM_SOPInstanceUID, uid_from_text(uid_text + inst.role));
  write_common(w, scan, study_uid, series_uid);

  const int n_frames = static_cast<int>(inst.frames.size());
  const Labels& l = scan.labels;
  // General Image and NM Image.
  w.str(DCM_InstanceNumber, std::to_string(inst.number));
  w.str(DCM_ImageType, "DERIVED\\PRIMARY\\WHOLE BODY\\EMISSION");
  w.str(DCM_BurnedInAnnotation, "NO");
  w.str(DCM_DerivationDescription, derivation_description(scan));
  // Image Comments: the labels line, and for simulated and synthetic scans the provenance line
  // (LT: lines separated by CR LF).
  std::string comments = label_comments(l);
  if (scan.origin != Origin::kReal) comments += (comments.empty() ? "" : "\r\n") + provenance_line(scan);
  if (!comments.empty()) w.str(DCM_ImageComments, comments);

  // Pixels: 16-bit unsigned; posterior frames back in the camera's native (unmirrored) view.
  const Quantizer q = make_quantizer(scan, inst.frames);
  const int H = scan.height, W = scan.width;
  std::vector<uint16_t> samples(static_cast<size_t>(n_frames) * H * W);
  double total = 0;
  for (int f = 0; f < n_frames; ++f) {
    const View v = inst.frames[f];
    const float* src = scan.view(v);
    uint16_t* dst = samples.data() + static_cast<size_t>(f) * H * W;
    for (int r = 0; r < H; ++r) {
      for (int c = 0; c < W; ++c) {
        const int sc = v == kPosterior ? W - 1 - c : c;
        uint16_t s = q.apply(src[static_cast<size_t>(r) * W + sc]);
        dst[static_cast<size_t>(r) * W + c] = s;
        total += s;
      }
    }
  }
  total *= q.slope;

  // NM Image: counts, duration, scan geometry (Type 2C empty when unknown).
  w.str(DCM_CountsAccumulated, std::to_string(static_cast<long long>(std::min(std::nearbyint(total), 2147483647.0))));
  // Actual Frame Duration is Type 1 for WHOLE BODY: from meta, else scan length / velocity,
  // else 0 (unknown).
  // meta keys as dicom_read writes them; Scan Velocity (0018,1300) is in mm/s (cm/min / 6).
  const double velocity = meta_number(scan.meta, "scan_velocity_cm_min") / 6.0;
  double frame_ms = meta_number(scan.meta, "actual_frame_duration_ms");
  if (!(frame_ms > 0) && velocity > 0 && scan.spacing_row_mm > 0)
    frame_ms = 1000.0 * H * scan.spacing_row_mm / velocity;
  w.str(DCM_ActualFrameDuration, std::to_string(frame_ms > 0 && frame_ms < 2e9 ? std::llround(frame_ms) : 0LL));
  w.str(DCM_ScanVelocity, velocity > 0 ? format_ds(velocity) : "");
  w.str(DCM_ScanLength,
        scan.spacing_row_mm > 0 ? std::to_string(static_cast<long long>(std::nearbyint(H * scan.spacing_row_mm))) : "");

  // Image Pixel and NM Image Pixel.
  w.u16(DCM_SamplesPerPixel, 1);
  w.str(DCM_PhotometricInterpretation, "MONOCHROME2");
  w.u16(DCM_Rows, static_cast<uint16_t>(H));
  w.u16(DCM_Columns, static_cast<uint16_t>(W));
  w.u16(DCM_BitsAllocated, 16);
  w.u16(DCM_BitsStored, 16);
  w.u16(DCM_HighBit, 15);
  w.u16(DCM_PixelRepresentation, 0);
  const bool spacing_known = scan.spacing_row_mm > 0 && scan.spacing_col_mm > 0;
  w.str(DCM_PixelSpacing, spacing_known ? format_ds(scan.spacing_row_mm) + "\\" + format_ds(scan.spacing_col_mm) : "");
  if (q.rescaled) {
    w.str(DCM_RescaleIntercept, "0");
    w.str(DCM_RescaleSlope, q.slope_text);
  }
  // Multi-frame and NM Multi-frame: WHOLE BODY frames are indexed by energy window and detector.
  w.str(DCM_NumberOfFrames, std::to_string(n_frames));
  w.tags(DCM_FrameIncrementPointer, {DCM_EnergyWindowVector, DCM_DetectorVector});
  w.u16s(DCM_EnergyWindowVector, std::vector<uint16_t>(n_frames, 1));
  w.u16(DCM_NumberOfEnergyWindows, 1);
  std::vector<uint16_t> detectors;
  for (int f = 0; f < n_frames; ++f) detectors.push_back(static_cast<uint16_t>(f + 1));
  w.u16s(DCM_DetectorVector, detectors);
  w.u16(DCM_NumberOfDetectors, static_cast<uint16_t>(n_frames));

  // NM Isotope: one energy window (the photopeak), Tc-99m and the tracer.
  {
    DatasetWriter ew = w.item(DCM_EnergyWindowInformationSequence);
    double lo = 0, hi = 0;
    std::string name;
    if (photopeak_window(scan.meta, &lo, &hi, &name)) {
      DatasetWriter range = ew.item(DCM_EnergyWindowRangeSequence);
      range.str(DCM_EnergyWindowLowerLimit, format_ds(lo));
      range.str(DCM_EnergyWindowUpperLimit, format_ds(hi));
    }
    ew.str(DCM_EnergyWindowName, name.empty() ? "PHOTOPEAK" : clean_text(name, 16));
  }
  {
    DatasetWriter rp = w.item(DCM_RadiopharmaceuticalInformationSequence);
    rp.code_item(DCM_RadionuclideCodeSequence, kTechnetium99m);
    const std::string tracer = tracer_of(scan);
    if (!tracer.empty()) {
      rp.str(DCM_Radiopharmaceutical, "Tc-99m " + tracer);
      if (const Code* c = tracer_code(tracer)) rp.code_item(DCM_RadiopharmaceuticalCodeSequence, *c);
    }
  }

  // NM Detector: one item per frame, in DetectorVector order, with its view and orientation.
  // Anterior: rows run to the patient's left (+x), columns to the feet (-z). The posterior
  // frame is stored as the camera saw it, so its rows run to the patient's right (-x).
  const std::string collimator = meta_string(scan.meta, "collimator_type");
  static const char* kCollimatorTypes[] = {"PARA", "PINH", "FANB", "CONE", "SLNT", "ASTG", "DIVG", "NONE", "UNKN"};
  const bool collimator_ok = std::find_if(std::begin(kCollimatorTypes), std::end(kCollimatorTypes),
                                          [&](const char* t) { return collimator == t; }) != std::end(kCollimatorTypes);
  for (int f = 0; f < n_frames; ++f) {
    const View v = inst.frames[f];
    DatasetWriter d = w.item(DCM_DetectorInformationSequence);
    d.str(DCM_CollimatorType, collimator_ok ? collimator : (scan.origin == Origin::kReal ? "" : "PARA"));
    d.str(DCM_FocalDistance, "");
    d.str(DCM_ImageOrientationPatient, v == kAnterior ? "1\\0\\0\\0\\0\\-1" : "-1\\0\\0\\0\\0\\-1");
    if (spacing_known) {
      const double x = v == kAnterior ? 0.0 : (W - 1) * scan.spacing_col_mm;
      d.str(DCM_ImagePositionPatient, format_ds(x) + "\\0\\0");
    } else {
      d.str(DCM_ImagePositionPatient, "");
    }
    d.code_item(DCM_ViewCodeSequence, v == kAnterior ? kAnteriorProjection : kPosteriorProjection);
  }
  w.pixels(samples);

  // Write to `path.tmp-<pid>`, fsync, rename into place, fsync the folder.
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  OFCondition c = file.saveFile(tmp.c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL);
  if (c.bad()) {
    ::unlink(tmp.c_str());
    throw InternalError(path, std::string("cannot write DICOM file: ") + c.text(),
                        "check that the folder exists and is writable");
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw InternalError(path, std::string("cannot move the DICOM file into place: ") + std::strerror(e));
  }
  fsync_dir(std::filesystem::path(path).parent_path().string());
}

}  // namespace

std::string uid_from_text(const std::string& text) {
  const std::string hex = sha256_hex(text);
  unsigned __int128 v = 0;
  for (int i = 0; i < 32; ++i) {
    const char ch = hex[i];
    v = (v << 4) | static_cast<unsigned>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
  }
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

std::vector<std::string> write_scan_dicom(const Scan& scan, const std::string& path, const DicomWriteOptions& options) {
  if (scan.height <= 0 || scan.width <= 0 || scan.height > 65535 || scan.width > 65535 ||
      scan.pixels.size() != 2 * scan.view_size()) {
    throw InputError(path,
                     "scan '" + scan.id + "' has inconsistent size " + std::to_string(scan.height) + " x " +
                         std::to_string(scan.width) + " with " + std::to_string(scan.pixels.size()) + " values",
                     "expected 2 x H x W values, 1 <= H, W <= 65535");
  }
  if (!dcmDataDict.isDictionaryLoaded()) {
    throw InternalError(path, "the DCMTK data dictionary is not loaded", "set DCMDICTPATH to DCMTK's dicom.dic");
  }
  std::vector<View> views;
  for (View v : {kAnterior, kPosterior})
    if (scan.has_view(v)) views.push_back(v);

  // UIDs: reproducible from the seed, the scan id and its pixels (so that two datasets that
  // both hold an "s000001" never share UIDs).
  const std::string pixel_hash = scan.pixel_sha256.empty() ? compute_pixel_sha256(scan) : scan.pixel_sha256;
  const std::string uid_text = options.uid_seed + "\n" + scan.id + "\n" + pixel_hash + "\n";
  const std::string study_uid = uid_from_text(uid_text + "study");
  const std::string series_uid = uid_from_text(uid_text + "series");

  std::vector<Instance> instances;
  if (options.multiframe) {
    instances.push_back({views, path, "nm", 1});
  } else {
    std::filesystem::path p(path);
    std::string stem = (p.parent_path() / p.stem()).string();
    if (p.extension() != ".dcm") stem = path;
    for (View v : views) {
      const bool ant = v == kAnterior;
      instances.push_back({{v}, stem + (ant ? "_ant.dcm" : "_post.dcm"), ant ? "nm-ant" : "nm-post", ant ? 1 : 2});
    }
  }
  std::vector<std::string> written;
  for (const Instance& inst : instances) {
    write_instance(scan, inst, study_uid, series_uid, uid_text);
    written.push_back(inst.path);
  }
  return written;
}

}  // namespace scintigen
