// Reading whole-body planar NM scans from DICOM files (DCMTK; OpenJPEG for JPEG 2000).
//
//   ReadOptions opt;
//   DicomObject obj = read_wholebody_dicom("scan.dcm", opt);   // throws InputError
//   for (const DicomView& v : obj.views) ...                    // 1 or 2 views, normalised
//
// Every transfer syntax in common use decodes to the same counts: implicit/explicit VR little
// endian, explicit big endian, deflated, RLE, JPEG lossless (process 14, SV1), JPEG baseline
// and extended (lossy), JPEG-LS (lossless and near-lossless) and JPEG 2000 (lossless and lossy).
//
// Nothing identifying leaves this module except the grouping keys in `SourceKeys`, which the
// caller uses in memory to pair views and join labels and must never store in a dataset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/scan.h"

namespace scintigen {

struct ReadOptions {
  // Hard caps that bound every allocation before any pixel data is decoded.
  int max_rows = 8192;
  int max_columns = 8192;
  int max_frames = 64;
  uint64_t max_decoded_bytes = 256ull << 20;
  // Sequences inside sequences, checked on the raw bytes before DCMTK parses them (DCMTK
  // recurses once per level and a few thousand levels overflow the stack).
  int max_sequence_depth = 64;
};

// One view of one object, already normalised: head at row 0, patient's right on the left
// (posterior views mirrored left-right), rescale slope/intercept applied, counts >= 0
// (negative values, e.g. from signed lossy JPEG 2000, set to 0 with a warning).
struct DicomView {
  View view = kAnterior;
  // How `view` was decided: "ViewCodeSequence", "ImageOrientationPatient",
  // "PatientOrientation", "text:<attribute>" (e.g. "text:ImageID"), or "assumed".
  std::string view_basis;
  int height = 0;
  int width = 0;
  std::vector<float> counts;  // (H, W)
};

// Keys that identify the source: used in memory to pair the two instances of one scan and to
// join a labels CSV, never written to a dataset or an export (except a user-requested key file).
struct SourceKeys {
  std::string study_uid, series_uid, sop_uid, frame_of_reference_uid;
  std::string patient_id, accession_number;
  std::string acquisition_datetime;  // for pairing only
};

// What scintigen wrote into an object it exported itself (src/io/dicom_write.h): a simulated
// or synthetic scan keeps its origin and provenance through export -> ingest, so that it can
// never pass as a patient's scan. Absent on files scintigen did not make, and on re-exports of
// real scans.
//
// Where the marks are (docs/EXPORT.md): Manufacturer "scintigen" with Manufacturer's Model Name
// "scintigen phantom" / "scintigen generative model"; the same in a Contributing Equipment
// Sequence item; Series Description and Derivation Description starting SIMULATED / SYNTHETIC;
// and the Image Comments line "scintigen provenance: {json}" with origin, source, provenance
// and version. Any one of them marks the object (a file that lost some marks still cannot pass
// as a patient's); the JSON line, when present and valid, supplies the fields. Without it the
// origin comes from the model name or the descriptions (synthetic when they do not say).
struct ScintigenMark {
  Origin origin = Origin::kSynthetic;  // kSimulated or kSynthetic
  std::string source;                  // Scan::source, e.g. "phantom:site=large_centre seed=1 index=3"
  nlohmann::json provenance = nlohmann::json::object();  // Scan::meta["provenance"] when present
  std::string scintigen_version;                         // of the exporting program
  // The attributes that carried a mark, e.g. {"Manufacturer", "ContributingEquipmentSequence",
  // "SeriesDescription", "DerivationDescription", "ImageComments"}.
  std::vector<std::string> found_in;
};

struct DicomObject {
  std::string path;
  std::vector<DicomView> views;  // 1 or 2
  double spacing_row_mm = 0;     // PixelSpacing[0]; 0 when absent
  double spacing_col_mm = 0;     // PixelSpacing[1]
  SourceKeys keys;
  // Research attributes read from the header: sex, age (years, from PatientAge or birth date
  // and study date, capped at 90), height (cm), weight (kg), tracer (canonical).
  Labels header_labels;
  // Non-identifying acquisition attributes kept for research (whitelist): manufacturer,
  // model, radionuclide, radiopharmaceutical (canonical), energy windows, scan velocity,
  // frame duration, counts accumulated, transfer syntax, bits, rescale, collimator...
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::string> warnings;            // non-fatal oddities (e.g. "view assumed from frame order")
  std::optional<ScintigenMark> scintigen_mark;  // set when scintigen made this object (not a patient)
};

// Reads one file. Throws InputError(path, reason, hint) when the file is not DICOM, is
// malformed or truncated, nests sequences deeper than max_sequence_depth, declares sizes its
// data does not back, uses an unsupported transfer syntax, or is not a whole-body planar NM
// scan (other modality, SPECT/tomo, static spot view, flood/uniformity image, gated...).
// Never aborts, never allocates from unchecked sizes (fuzzed: docs/FUZZING.md).
DicomObject read_wholebody_dicom(const std::string& path, const ReadOptions& options = {});

// The same for a file already in memory (`data` must stay valid during the call); `name`
// stands for the path in errors and in DicomObject::path. Used by the fuzzer.
DicomObject read_wholebody_dicom(const uint8_t* data, size_t size, const std::string& name,
                                 const ReadOptions& options = {});

// Library versions used for decoding ({"dcmtk": "3.6.7", "openjpeg": "2.5.0"}).
nlohmann::json io_versions();

}  // namespace scintigen
