// Synthetic whole-body NM DICOM files for tests and benchmarks (DCMTK; OpenJPEG for JPEG 2000).
// No real patient data: the counts come from synthetic_counts(), the names and IDs are fake.
//
//   FixtureSpec spec;                                   // 1024 x 256, anterior + posterior
//   spec.syntax = FixtureSyntax::kJpegLsLossless;
//   auto ant = synthetic_counts(1024, 256, 1), post = synthetic_counts(1024, 256, 2);
//   write_nm_fixture(dir / "scan.dcm", spec, {ant, post});   // throws std::runtime_error
//
// Frames are given as stored values (BitsAllocated wide), row-major, in the stored orientation:
// a posterior frame is written as the camera sees it (patient's left on the image's left)
// unless the spec's orientation says otherwise. For signed data pass the two's-complement
// bit patterns (static_cast<uint16_t>(int16_t value)).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen::testing {

enum class FixtureSyntax {
  kExplicitLE,        // 1.2.840.10008.1.2.1
  kImplicitLE,        // 1.2.840.10008.1.2
  kExplicitBE,        // 1.2.840.10008.1.2.2
  kDeflated,          // 1.2.840.10008.1.2.1.99
  kRle,               // 1.2.840.10008.1.2.5
  kJpegLossless,      // 1.2.840.10008.1.2.4.70 (process 14, SV1)
  kJpegBaseline,      // 1.2.840.10008.1.2.4.50 (8-bit data only; lossy)
  kJpegLsLossless,    // 1.2.840.10008.1.2.4.80
  kJpeg2000Lossless,  // 1.2.840.10008.1.2.4.90 (encoded with OpenJPEG)
  kJpeg2000Lossy      // 1.2.840.10008.1.2.4.91 (OpenJPEG, about 20:1: values change)
};

const char* to_string(FixtureSyntax s);

// How each frame says which view it is.
enum class ViewEncoding {
  kNone,         // nothing: a reader must assume
  kViewCode,     // View Code Sequence in the frame's Detector Information item
  kOrientation,  // Image Orientation (Patient) in the frame's Detector Information item
  kBoth          // both of the above
};

struct FixtureSpec {
  int rows = 1024;  // stored matrix of every frame
  int cols = 256;
  std::vector<View> views = {kAnterior, kPosterior};  // one per frame, in frame order
  ViewEncoding view_encoding = ViewEncoding::kViewCode;
  // Per-frame overrides (empty: derived from `views`).
  std::vector<std::array<double, 6>> orientation;      // Image Orientation (Patient), LPS
  std::vector<std::array<std::string, 3>> view_codes;  // {CodeValue, CodingScheme, CodeMeaning}
  std::vector<int> detector_vector;                    // 1-based detector item per frame
  std::string patient_orientation;                     // top-level (0020,0020), e.g. "L\\F"
  std::string image_id;                                // (0054,0400), e.g. "WB_ANT"

  FixtureSyntax syntax = FixtureSyntax::kExplicitLE;
  int bits_allocated = 16;  // 8 or 16
  int bits_stored = 16;
  bool is_signed = false;      // PixelRepresentation 1
  bool write_rescale = false;  // write Rescale Slope/Intercept
  double slope = 1.0;
  double intercept = 0.0;
  std::string photometric = "MONOCHROME2";
  std::string number_of_frames;          // text override ("" = number of frames)
  int declared_rows = 0;                 // Rows/Columns written to the header when
  int declared_cols = 0;                 // > 0 (a header that lies about the data)
  int jpeg2000_fragments_per_frame = 1;  // split each codestream into fragments
  bool jpeg2000_offset_table = true;     // fill the Basic Offset Table

  std::string modality = "NM";
  std::string sop_class_uid = "1.2.840.10008.5.1.4.1.1.20";  // NM Image Storage
  std::vector<std::string> image_type = {"ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"};
  std::string body_part = "WHOLE BODY";
  bool whole_body_technique = true;  // (0018,1301) "1PS"

  // Identifying attributes (fake) that a reader must never copy into research metadata.
  std::string patient_name = "Fakename^Fixture";
  std::string patient_id = "FIXTURE-ID-4711";
  std::string birth_date = "19520314";
  std::string patient_age;  // e.g. "067Y"; "" = absent
  std::string patient_sex = "F";
  std::string study_date = "20210609";
  std::string accession_number = "ACC-FIXTURE-99";
  std::string institution = "Fixture Institute of Testing";
  std::string uid_root = "1.2.826.0.1.3680043.10.1234";  // UIDs are <root>.<n>
  std::string study_uid;                                 // "" = a new one (two instances of one
  std::string series_uid;                                // series share these)
  double patient_size_m = 1.68;                          // 0 = absent
  double patient_weight_kg = 71.5;                       // 0 = absent
  std::string radiopharmaceutical = "Tc99m MDP";         // "" = no Radiopharmaceutical Info
  bool private_tag = true;                               // (0009,1040) PN with a fake name
};

// Writes one NM object. `frames` holds spec.views.size() frames of rows x cols stored values.
// Throws std::runtime_error when DCMTK or OpenJPEG cannot encode or save it.
void write_nm_fixture(const std::string& path, const FixtureSpec& spec,
                      const std::vector<std::vector<uint16_t>>& frames);

// A smooth body-like figure (head, trunk, legs, bright bladder and spine) with Poisson noise;
// deterministic for a seed. Values about 0..300 (fits 16-bit; clip to 255 for 8-bit).
std::vector<uint16_t> synthetic_counts(int h, int w, uint32_t seed);

// The bytes write_nm_fixture would write (through a temporary file).
std::string nm_fixture_bytes(const FixtureSpec& spec, const std::vector<std::vector<uint16_t>>& frames);

// ---------------------------------------------------------------------------------------
// Files that crashed scintigen (issue "Nothing a user feeds crashes scintigen"), for tests of
// every layer that reads DICOM: write the bytes to disk and feed them in.

// An NM object whose Referenced Image Sequence holds an item holding the same sequence, and so
// on `depth` levels deep (undefined lengths), written byte by byte. `closed`: every item and
// sequence delimiter is written, then Rows; otherwise the file ends inside the deepest item.
// `transfer_syntax`: explicit VR little endian (default), implicit VR little endian
// ("1.2.840.10008.1.2") or deflated ("1.2.840.10008.1.2.1.99", zlib raw deflate).
// DCMTK's recursive parser overflows the stack on a few thousand levels.
std::string make_deep_nesting_dicom(int depth = 20000, bool closed = true,
                                    const std::string& transfer_syntax = "1.2.840.10008.1.2.1");

// A deflated NM object whose one OB element holds `zeros` zero bytes: a small file that
// inflates to more than `zeros` bytes.
std::string make_deflate_bomb_dicom(uint64_t zeros);

// A single-frame whole-body NM object, `rows` x `cols`, 16-bit signed (PixelRepresentation 1),
// lossy JPEG 2000 (1.2.840.10008.1.2.4.91), view code anterior. The counts of
// synthetic_counts(rows, cols, 1) minus 3, so the background is negative (-3..-1) and lossy
// coding rings around it: decoded values include negatives.
std::string make_signed_jp2k_wholebody(int rows = 1024, int cols = 256);

// Writes every crash file into `dir` (deep_nesting_20000.dcm, deep_nesting_truncated.dcm,
// signed_jp2k_1024x256.dcm, signed_jp2k_256x1024.dcm); returns their paths.
std::vector<std::string> write_crash_files(const std::string& dir);

// Writes a variety of small valid and borderline NM objects into `dir` (every transfer syntax,
// one and two frames, signed, 8-bit, rescaled, landscape, view codes and orientations, both
// crash classes at small sizes): a seed corpus for the fuzzer. Returns their paths.
std::vector<std::string> write_seed_files(const std::string& dir);

// Left-right mirror of an (h, w) frame.
std::vector<float> mirror_columns(const std::vector<float>& v, int h, int w);

// Stored values -> float counts (signed when PixelRepresentation is 1), without rescale.
std::vector<float> to_float(const std::vector<uint16_t>& stored, bool is_signed);

}  // namespace scintigen::testing
