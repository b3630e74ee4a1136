// Reading whole-body planar NM scans from DICOM (see dicom_read.h).
//
// Order of checks (each failure throws InputError(path, reason, hint)):
//   0. the nesting pre-scan on the raw bytes (dicom_nesting.h): "sequences nested deeper than
//      64 levels", before DCMTK, whose recursive parser overflows the stack on deep nests;
//   1. parse with DCMTK (elements above 4 KiB stay in the file until needed; bytes in memory
//      are handed over as a memfd file, read the same way): "not a DICOM file" / "file is
//      truncated";
//   2. what the object is: Modality NM, SOP class NM Image Storage or Secondary Capture,
//      ImageType not TOMO/GATED/DYNAMIC/STATIC, 1 or 2 frames, whole-body shape;
//   3. the image pixel module, bounded before any allocation: Rows, Columns, NumberOfFrames
//      against ReadOptions, SamplesPerPixel 1, MONOCHROME2, BitsAllocated 8/16/32;
//      native PixelData must hold exactly Rows x Columns x Frames x bytes (plus an even pad);
//   4. decode each frame into a buffer of the expected size (DCMTK for native, RLE, JPEG and
//      JPEG-LS; OpenJPEG for JPEG 2000, whose header size is checked before decoding), mask to
//      BitsStored, sign-extend, apply Rescale Slope/Intercept, float32;
//   5. counts are >= 0: negative values (signed samples, e.g. lossy JPEG 2000 ringing around
//      zero, or a negative intercept) are set to 0 with a warning and counted in
//      meta.negative_pixels_clamped; a rescale beyond the float range is refused.
//
// Which frame is which view (first rule that answers wins, per frame):
//   a. the frame's Detector Information Sequence item (via DetectorVector): its View Code
//      Sequence, then its Image Orientation (Patient);
//   b. single-frame objects only: top-level View Code Sequence, Image Orientation (Patient),
//      Patient Orientation, then the words ANT/ANTERIOR or POST/POSTERIOR in ImageID,
//      SeriesDescription or ImageComments;
//   c. assumed: frame 0 anterior, frame 1 posterior (a warning says so).
//   A view decided by a View Code Sequence wins over an orientation that is not a frontal
//   projection (e.g. the transverse 1\0\0\0\1\0 some programs write everywhere): the frame is
//   taken as stored, as if no orientation were given, and a warning names both. Without a view
//   code such an orientation is still refused.
//   View codes: CID 26 "Anterior projection" (SCT 399321004) and "Posterior projection"
//   (SCT 399001007), or a CodeMeaning naming ANTERIOR / POSTERIOR. The radiographic names
//   "antero-posterior" (SCT 399348003, SRT R-10206) and "postero-anterior" (SCT 272479007,
//   SRT R-10214) describe the direction of a beam through the patient: the detector of an AP
//   radiograph is behind the patient, yet NM users often say "AP" for the anterior view. They
//   are ambiguous for emission images, so they decide nothing (a warning says so) and the
//   next rule is tried. "Antero-posterior" contains the word POSTERIOR: it is recognised
//   before any word match.
//   Orientation: in DICOM LPS (x to the patient's left, y posterior, z head), with row vector
//   r (along a row) and column vector c (down a column), n = r x c points away from the
//   viewer of the stored image. A camera image is stored as the detector sees it (not
//   mirrored), so n_y > 0 means the detector faces the patient's front (anterior view), and
//   n_y < 0 the back (posterior view). Patient Orientation letters are read as the same
//   vectors (L = +x, P = +y, H = +z).
//
// Orientation normalisation: every stored view ends with rows direction L and columns
// direction F (head at row 0, patient's right on the image's left), which is the anterior
// view as the camera sees it and the posterior view mirrored left-right to overlay it.
//   - With Image Orientation (Patient) (detector item, or top level for one frame) or Patient
//     Orientation (one frame): transpose when the rows run head-feet (landscape, head left or
//     right), then flip columns when the rows run toward R and flip rows when the columns run
//     toward H. This mirrors a posterior view stored as acquired (R\F) and leaves one already
//     mirrored by the vendor (L\F) alone.
//   - Without either: the acquisition is assumed head-up in the standard camera view
//     (anterior L\F, posterior R\F), so only posterior views are mirrored. A landscape image
//     without orientation is rejected (the head could be on either side).
//
// Privacy: meta holds a whitelist of standard, non-identifying acquisition attributes; no
// names, IDs, dates, UIDs, institution, station, serial numbers, free text or private tags.

#include "io/dicom_read.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <openjpeg.h>

#include "core/error.h"
#include "io/dicom_nesting.h"

namespace scintigen {
namespace {

constexpr const char* kUidNmImage = "1.2.840.10008.5.1.4.1.1.20";
constexpr const char* kUidNmImageRetired = "1.2.840.10008.5.1.4.1.1.5";
constexpr const char* kUidSecondaryCapture = "1.2.840.10008.5.1.4.1.1.7";
constexpr Uint32 kMaxReadLength = 4096;  // larger values stay in the file until needed
constexpr const char* kHintWholeBody =
    "only whole-body planar NM scans (anterior/posterior views) can be read";

// ---------------------------------------------------------------------------------------
// Library set-up (once per process, thread-safe).

std::once_flag g_init_once;
bool g_dictionary_loaded = false;

void init_libraries() {
  std::call_once(g_init_once, [] {
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
    g_dictionary_loaded = dcmDataDict.isDictionaryLoaded();
  });
}

// ---------------------------------------------------------------------------------------
// Small text helpers.

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

// Words of `s` in upper case: runs of letters and digits (so "ANT_WB", "Post." -> ANT, WB, POST).
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

// Printable, bounded copy of a value for an error message.
std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 64)) out += std::isprint(static_cast<unsigned char>(ch)) ? ch : '?';
  if (s.size() > 64) out += "...";
  return out;
}

// A number as short text ("-3", "0.5", "1e+300").
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

std::string get_string(DcmItem* item, const DcmTagKey& tag, long pos = 0) {
  OFString s;
  if (item && item->findAndGetOFString(tag, s, pos).good()) return trim(s.c_str());
  return "";
}

// All values, separated by backslashes.
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

std::optional<double> get_double(DcmItem* item, const DcmTagKey& tag, long pos = 0) {
  Float64 v = 0;
  if (item && item->findAndGetFloat64(tag, v, pos).good() && std::isfinite(v)) return v;
  return std::nullopt;
}

std::optional<long> get_long(DcmItem* item, const DcmTagKey& tag, long pos = 0) {
  Sint32 v = 0;
  if (item && item->findAndGetSint32(tag, v, pos).good()) return v;
  return std::nullopt;
}

std::optional<int> get_us(DcmItem* item, const DcmTagKey& tag, long pos = 0) {
  Uint16 v = 0;
  if (item && item->findAndGetUint16(tag, v, pos).good()) return v;
  return std::nullopt;
}

DcmItem* get_item(DcmItem* item, const DcmTagKey& seq, long index = 0) {
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
// Loading.

// The file must exist, be a regular file and be readable.
void check_readable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path, "file not found", "check the path");
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path, "not a regular file", "give a DICOM file");
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw InputError(path, "cannot open the file", "check its permissions");
}

// The limits of the nesting pre-scan: a deflated data set may inflate to the decoded pixel
// data's limit plus room for the header.
detail::NestingLimits nesting_limits(const ReadOptions& opt) {
  detail::NestingLimits l;
  l.max_depth = opt.max_sequence_depth;
  const uint64_t header_room = 64ull << 20;
  l.max_inflated_bytes = opt.max_decoded_bytes > ~0ull - header_room ? ~0ull : opt.max_decoded_bytes + header_room;
  return l;
}

// Turns DCMTK's failure to parse into the reason a user can act on.
[[noreturn]] void throw_parse_error(const std::string& path, const OFCondition& c, bool preamble, DcmDataset* ds) {
  // A stream that ended early: truncated when what was parsed looks like DICOM.
  const bool looks_dicom = preamble || (ds && (ds->tagExists(DCM_SOPClassUID) || ds->tagExists(DCM_Modality) ||
                                               ds->tagExists(DCM_Rows) || ds->tagExists(DCM_PixelData)));
  if (!looks_dicom) {
    throw InputError(path, "not a DICOM file", "expected a DICOM Part 10 file (or a bare data set that parses)");
  }
  if (c == EC_StreamNotifyClient || c == EC_EndOfStream || c == EC_InvalidStream || c == EC_PrematureSequDelimitationItem ||
      c == EC_SequDelimitationItemMissing || c == EC_ItemDelimitationItemMissing) {
    throw InputError(path, "file is truncated", "the file ends inside an element; copy it again from the source");
  }
  throw InputError(path, std::string("malformed DICOM: ") + c.text(), "the file does not parse as DICOM");
}

bool has_dicm_preamble(const uint8_t* head, size_t n) { return n >= 132 && std::memcmp(head + 128, "DICM", 4) == 0; }

// Parses a file already checked by the nesting pre-scan (values above 4 KiB stay in the file).
void load_file(const std::string& path, DcmFileFormat& ff) {
  uint8_t head[132] = {};
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(head), sizeof head);
  const bool preamble = has_dicm_preamble(head, static_cast<size_t>(f.gcount()));
  OFCondition c = ff.loadFile(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange, kMaxReadLength, ERM_autoDetect);
  if (c.bad()) throw_parse_error(path, c, preamble, ff.getDataset());
}

// ---------------------------------------------------------------------------------------
// Views and orientation.

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

double norm(const Vec3& a) { return std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z); }

// Row and column direction cosines of a stored image, in DICOM LPS.
struct Geometry {
  Vec3 r, c;
  std::string source;  // "ImageOrientationPatient" or "PatientOrientation"
};

std::optional<Geometry> geometry_from_iop(DcmItem* item) {
  std::array<double, 6> v{};
  for (int i = 0; i < 6; ++i) {
    auto d = get_double(item, DCM_ImageOrientationPatient, i);
    if (!d) return std::nullopt;
    v[i] = *d;
  }
  Geometry g{{v[0], v[1], v[2]}, {v[3], v[4], v[5]}, "ImageOrientationPatient"};
  if (norm(g.r) < 0.5 || norm(g.c) < 0.5) return std::nullopt;
  return g;
}

// Patient Orientation letters (e.g. "L\F", "HL\P") as direction vectors.
std::optional<Vec3> letters_to_vec(const std::string& s) {
  if (s.empty()) return std::nullopt;
  Vec3 v;
  for (char ch : upper(s)) {
    switch (ch) {
      case 'L': v.x += 1; break;
      case 'R': v.x -= 1; break;
      case 'P': v.y += 1; break;
      case 'A': v.y -= 1; break;
      case 'H': v.z += 1; break;
      case 'F': v.z -= 1; break;
      default: return std::nullopt;
    }
  }
  if (norm(v) < 0.5) return std::nullopt;
  return v;
}

std::optional<Geometry> geometry_from_patient_orientation(DcmItem* ds) {
  auto r = letters_to_vec(get_string(ds, DCM_PatientOrientation, 0));
  auto c = letters_to_vec(get_string(ds, DCM_PatientOrientation, 1));
  if (!r || !c) return std::nullopt;
  return Geometry{*r, *c, "PatientOrientation"};
}

int dominant_axis(const Vec3& v) {
  const double ax = std::fabs(v.x), ay = std::fabs(v.y), az = std::fabs(v.z);
  if (ax >= ay && ax >= az) return 0;
  return ay >= az ? 1 : 2;
}

// How to map a stored frame to rows L / columns F.
struct Transform {
  bool transpose = false, flip_rows = false, flip_cols = false;
};

enum class ViewAnswer { kNone, kAnterior, kPosterior, kAmbiguous };

// The view implied by a geometry (camera image, not mirrored), or kNone when not frontal.
ViewAnswer view_from_geometry(const Geometry& g) {
  Vec3 n = cross(g.r, g.c);
  const double len = norm(n);
  if (len < 1e-6 || std::fabs(n.y) / len < 0.5) return ViewAnswer::kNone;
  return n.y > 0 ? ViewAnswer::kAnterior : ViewAnswer::kPosterior;
}

ViewAnswer view_from_code_item(DcmItem* code) {
  if (!code) return ViewAnswer::kNone;
  const std::string value = upper(get_string(code, DCM_CodeValue));
  const std::string meaning = upper(get_string(code, DCM_CodeMeaning));
  // Radiographic beam-direction names first (they contain the word POSTERIOR / ANTERIOR).
  if (value == "399348003" || value == "R-10206" || value == "272479007" || value == "R-10214" ||
      meaning.find("ANTERO-POSTERIOR") != std::string::npos || meaning.find("ANTEROPOSTERIOR") != std::string::npos ||
      meaning.find("POSTERO-ANTERIOR") != std::string::npos || meaning.find("POSTEROANTERIOR") != std::string::npos) {
    return ViewAnswer::kAmbiguous;
  }
  if (value == "399321004") return ViewAnswer::kAnterior;
  if (value == "399001007") return ViewAnswer::kPosterior;
  bool ant = false, post = false;
  for (const std::string& w : words(meaning)) {
    // Oblique and lateral projections are neither.
    if (w == "OBLIQUE" || w == "LATERAL") return ViewAnswer::kNone;
    ant |= (w == "ANTERIOR" || w == "ANT");
    post |= (w == "POSTERIOR" || w == "POST");
  }
  if (ant && post) return ViewAnswer::kAmbiguous;
  if (ant) return ViewAnswer::kAnterior;
  if (post) return ViewAnswer::kPosterior;
  return ViewAnswer::kNone;
}

ViewAnswer view_from_text(const std::string& text) {
  bool ant = false, post = false;
  for (const std::string& w : words(text)) {
    ant |= (w == "ANT" || w == "ANTERIOR");
    post |= (w == "POST" || w == "POSTERIOR" || w == "POS");
  }
  if (ant && post) return ViewAnswer::kAmbiguous;
  if (ant) return ViewAnswer::kAnterior;
  if (post) return ViewAnswer::kPosterior;
  return ViewAnswer::kNone;
}

struct FrameView {
  std::optional<View> view;
  std::string basis;
  std::optional<Geometry> geometry;
  std::string code_text;  // the View Code Sequence item that decided, for warnings
};

// True when the image plane is coronal: rows and columns run along x and z (either way round).
bool is_frontal(const Geometry& g) {
  const int ra = dominant_axis(g.r), ca = dominant_axis(g.c);
  return (ra == 0 && ca == 2) || (ra == 2 && ca == 0);
}

// "(399321004, SCT, \"Anterior projection\")" for a code item.
std::string code_text(DcmItem* code) {
  return "(" + printable(get_string(code, DCM_CodeValue)) + ", " + printable(get_string(code, DCM_CodingSchemeDesignator)) +
         ", \"" + printable(get_string(code, DCM_CodeMeaning)) + "\")";
}

std::string geometry_text(const Geometry& g) {
  std::ostringstream o;
  o.precision(3);
  o << g.r.x << "\\" << g.r.y << "\\" << g.r.z << "\\" << g.c.x << "\\" << g.c.y << "\\" << g.c.z;
  return o.str();
}

Transform transform_for(const std::string& path, const Geometry& g) {
  const int ra = dominant_axis(g.r);
  if (!is_frontal(g)) {
    throw InputError(path, g.source + " " + geometry_text(g) + " is not an anterior or posterior projection",
                     kHintWholeBody);
  }
  Transform t;
  t.transpose = (ra == 2);
  const Vec3& r = t.transpose ? g.c : g.r;  // after transposing, rows run along the old columns
  const Vec3& c = t.transpose ? g.r : g.c;
  t.flip_cols = r.x < 0;  // rows should run toward the patient's left
  t.flip_rows = c.z > 0;  // columns should run toward the feet
  return t;
}

// (h, w) -> (H', W') with the transform applied.
std::vector<float> apply_transform(const std::vector<float>& src, int h, int w, const Transform& t, int& out_h,
                                   int& out_w) {
  out_h = t.transpose ? w : h;
  out_w = t.transpose ? h : w;
  std::vector<float> out(src.size());
  for (int i = 0; i < out_h; ++i) {
    const int a = t.flip_rows ? out_h - 1 - i : i;
    for (int j = 0; j < out_w; ++j) {
      const int b = t.flip_cols ? out_w - 1 - j : j;
      const size_t s = t.transpose ? static_cast<size_t>(b) * w + a : static_cast<size_t>(a) * w + b;
      out[static_cast<size_t>(i) * out_w + j] = src[s];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Pixel decoding.

struct PixelFormat {
  int rows = 0, cols = 0, frames = 1;
  int bits_allocated = 16, bits_stored = 16, pixel_representation = 0;
  double slope = 1, intercept = 0;
  size_t frame_bytes() const { return static_cast<size_t>(rows) * cols * (bits_allocated / 8); }
};

// Raw stored values (local byte order, BitsAllocated each) -> float32 counts.
void to_counts(const uint8_t* raw, const PixelFormat& f, std::vector<float>& out) {
  const size_t n = static_cast<size_t>(f.rows) * f.cols;
  out.resize(n);
  const uint32_t mask = f.bits_stored >= 32 ? 0xffffffffu : ((1u << f.bits_stored) - 1u);
  const uint32_t sign_bit = 1u << (f.bits_stored - 1);
  const bool rescale = f.slope != 1.0 || f.intercept != 0.0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t v;
    if (f.bits_allocated == 8) {
      v = raw[i];
    } else if (f.bits_allocated == 16) {
      uint16_t u;
      std::memcpy(&u, raw + 2 * i, 2);
      v = u;
    } else {
      std::memcpy(&v, raw + 4 * i, 4);
    }
    v &= mask;
    int64_t s = v;
    if (f.pixel_representation == 1 && (v & sign_bit)) s = static_cast<int64_t>(v) - (int64_t{1} << f.bits_stored);
    out[i] = rescale ? static_cast<float>(static_cast<double>(s) * f.slope + f.intercept) : static_cast<float>(s);
  }
}

// OpenJPEG reading from memory, with messages kept for the error text.
struct MemStream {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

OPJ_SIZE_T mem_read(void* buf, OPJ_SIZE_T n, void* user) {
  auto* m = static_cast<MemStream*>(user);
  if (m->pos >= m->size) return static_cast<OPJ_SIZE_T>(-1);
  const size_t k = std::min<size_t>(n, m->size - m->pos);
  std::memcpy(buf, m->data + m->pos, k);
  m->pos += k;
  return k;
}

OPJ_OFF_T mem_skip(OPJ_OFF_T n, void* user) {
  auto* m = static_cast<MemStream*>(user);
  if (n < 0) {
    const size_t back = std::min<size_t>(static_cast<size_t>(-n), m->pos);
    m->pos -= back;
    return -static_cast<OPJ_OFF_T>(back);
  }
  const size_t k = std::min<size_t>(static_cast<size_t>(n), m->size - std::min(m->pos, m->size));
  m->pos += k;
  return static_cast<OPJ_OFF_T>(k);
}

OPJ_BOOL mem_seek(OPJ_OFF_T n, void* user) {
  auto* m = static_cast<MemStream*>(user);
  if (n < 0 || static_cast<uint64_t>(n) > m->size) return OPJ_FALSE;
  m->pos = static_cast<size_t>(n);
  return OPJ_TRUE;
}

void opj_collect(const char* msg, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() < 512) *s += trim(msg) + "; ";
}
void opj_ignore(const char*, void*) {}

// Decodes one JPEG 2000 codestream (or JP2 file) into raw stored values of BitsAllocated each.
void decode_j2k_frame(const std::string& path, int frame, const std::vector<uint8_t>& bytes, const PixelFormat& f,
                      uint8_t* out) {
  static const uint8_t kJp2Signature[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 0x0d, 0x0a, 0x87, 0x0a};
  const bool jp2 = bytes.size() >= 12 && std::memcmp(bytes.data(), kJp2Signature, 12) == 0;
  const std::string where = "JPEG 2000 frame " + std::to_string(frame);
  if (!jp2 && (bytes.size() < 4 || bytes[0] != 0xff || bytes[1] != 0x4f)) {
    throw InputError(path, where + " does not start with a codestream marker", "the compressed pixel data are corrupt");
  }
  std::string messages;
  MemStream ms{bytes.data(), bytes.size(), 0};
  opj_codec_t* codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  opj_image_t* image = nullptr;
  auto cleanup = [&] {
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
  };
  auto fail = [&](const std::string& what) {
    cleanup();
    throw InputError(path, where + ": " + what + (messages.empty() ? "" : " (" + messages.substr(0, messages.size() - 2) + ")"),
                     "the compressed pixel data are corrupt");
  };
  if (!codec || !stream) fail("OpenJPEG could not start");
  opj_set_error_handler(codec, opj_collect, &messages);
  opj_set_warning_handler(codec, opj_ignore, nullptr);
  opj_set_info_handler(codec, opj_ignore, nullptr);
  opj_stream_set_user_data(stream, &ms, nullptr);
  opj_stream_set_user_data_length(stream, bytes.size());
  opj_stream_set_read_function(stream, mem_read);
  opj_stream_set_skip_function(stream, mem_skip);
  opj_stream_set_seek_function(stream, mem_seek);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec, &params)) fail("decoder set-up failed");
  if (!opj_read_header(stream, codec, &image) || !image) fail("cannot read the codestream header");
  // Check the declared size before OpenJPEG allocates the decoded image.
  const long w = static_cast<long>(image->x1) - static_cast<long>(image->x0);
  const long h = static_cast<long>(image->y1) - static_cast<long>(image->y0);
  if (image->numcomps != 1 || w != f.cols || h != f.rows) {
    fail("codestream holds " + std::to_string(image->numcomps) + " component(s) of " + std::to_string(w) + " x " +
         std::to_string(h) + ", expected 1 of " + std::to_string(f.cols) + " x " + std::to_string(f.rows));
  }
  if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) fail("decoding failed");
  const opj_image_comp_t& comp = image->comps[0];
  if (!comp.data || static_cast<long>(comp.w) != f.cols || static_cast<long>(comp.h) != f.rows ||
      comp.prec < 1 || static_cast<int>(comp.prec) > f.bits_allocated) {
    fail("decoded component is " + std::to_string(comp.w) + " x " + std::to_string(comp.h) + " with " +
         std::to_string(comp.prec) + " bits, expected " + std::to_string(f.cols) + " x " + std::to_string(f.rows) +
         " with at most " + std::to_string(f.bits_allocated));
  }
  const size_t n = static_cast<size_t>(f.rows) * f.cols;
  // Values (signed when comp.sgnd) -> stored bit patterns; to_counts masks and sign-extends.
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v = static_cast<uint32_t>(comp.data[i]);
    if (f.bits_allocated == 8) {
      out[i] = static_cast<uint8_t>(v);
    } else if (f.bits_allocated == 16) {
      const uint16_t u = static_cast<uint16_t>(v);
      std::memcpy(out + 2 * i, &u, 2);
    } else {
      std::memcpy(out + 4 * i, &v, 4);
    }
  }
  cleanup();
}

// The frame header of a JPEG or JPEG-LS codestream must describe Rows x Columns x 1.
void check_jpeg_frame(const std::string& path, int frame, const std::vector<uint8_t>& b, const PixelFormat& f) {
  const std::string where = "JPEG frame " + std::to_string(frame);
  if (b.size() < 4 || b[0] != 0xff || b[1] != 0xd8) {
    throw InputError(path, where + " does not start with an SOI marker", "the compressed pixel data are corrupt");
  }
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xff) break;
    const uint8_t marker = b[i + 1];
    if (marker == 0xff) { ++i; continue; }  // fill byte
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    const size_t len = (static_cast<size_t>(b[i + 2]) << 8) | b[i + 3];
    const bool sof = (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) ||
                     marker == 0xf7;  // JPEG-LS SOF55
    if (sof) {
      if (i + 10 > b.size() || len < 8) break;
      const int precision = b[i + 4];
      const int h = (b[i + 5] << 8) | b[i + 6];
      const int w = (b[i + 7] << 8) | b[i + 8];
      const int comps = b[i + 9];
      if (h != f.rows || w != f.cols || comps != 1 || precision > f.bits_allocated) {
        throw InputError(path, where + " holds " + std::to_string(comps) + " component(s) of " + std::to_string(w) + " x " +
                                   std::to_string(h) + " with " + std::to_string(precision) + " bits, expected 1 of " +
                                   std::to_string(f.cols) + " x " + std::to_string(f.rows),
                         "the header and the compressed pixel data disagree");
      }
      return;
    }
    if (marker == 0xda || marker == 0xd9) break;  // scan or end before any frame header
    i += 2 + len;
  }
  throw InputError(path, where + " has no frame header (SOF)", "the compressed pixel data are corrupt");
}

// An RLE frame must hold one segment per byte of a sample, each decoding to Rows x Columns bytes.
void check_rle_frame(const std::string& path, int frame, const std::vector<uint8_t>& b, const PixelFormat& f) {
  const std::string where = "RLE frame " + std::to_string(frame);
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) | (static_cast<uint32_t>(b[at + 2]) << 16) |
           (static_cast<uint32_t>(b[at + 3]) << 24);
  };
  if (b.size() < 64) throw InputError(path, where + " is shorter than its 64-byte header", "the compressed pixel data are corrupt");
  const uint32_t segments = u32(0);
  const uint32_t expected_segments = static_cast<uint32_t>(f.bits_allocated / 8);
  if (segments != expected_segments) {
    throw InputError(path, where + " holds " + std::to_string(segments) + " segment(s), expected " + std::to_string(expected_segments),
                     "the header and the compressed pixel data disagree");
  }
  const uint64_t pixels = static_cast<uint64_t>(f.rows) * f.cols;
  for (uint32_t s = 0; s < segments; ++s) {
    const uint64_t begin = u32(4 + 4 * s);
    const uint64_t end = s + 1 < segments ? u32(8 + 4 * s) : b.size();
    if (begin < 64 || begin > end || end > b.size()) {
      throw InputError(path, where + " has a bad segment offset", "the compressed pixel data are corrupt");
    }
    uint64_t decoded = 0;  // PackBits: n >= 0 copies n + 1 bytes, -127..-1 repeats 1 - n times
    for (uint64_t i = begin; i < end;) {
      const int n = static_cast<int8_t>(b[i]);
      if (n >= 0) {
        if (i + 2 + n > end) break;  // a pad byte at the end of the segment
        decoded += n + 1;
        i += 2 + n;
      } else if (n != -128) {
        if (i + 2 > end) break;
        decoded += 1 - n;
        i += 2;
      } else {
        i += 1;
      }
    }
    if (decoded != pixels && !(decoded == pixels + 1 && pixels % 2 == 1)) {
      throw InputError(path, where + " segment " + std::to_string(s) + " decodes to " + std::to_string(decoded) +
                                 " bytes, Rows x Columns is " + std::to_string(pixels),
                       "the header and the compressed pixel data disagree");
    }
  }
}

// Bytes of one pixel item, loaded from the file on demand.
std::vector<uint8_t> fragment_bytes(const std::string& path, DcmPixelItem* item, uint64_t file_size) {
  const Uint32 len = item->getLength();
  if (len == 0) return {};
  if (len > file_size) throw InputError(path, "file is truncated", "a pixel data fragment extends past the end of the file");
  Uint8* p = nullptr;
  if (item->getUint8Array(p).bad() || !p) throw InputError(path, "file is truncated", "a pixel data fragment cannot be read");
  std::vector<uint8_t> out(p, p + len);
  item->compact();  // drop DCMTK's copy; it can be reloaded from the file
  return out;
}

// True when `b` starts a new compressed frame (JPEG SOI, JPEG 2000 SOC or JP2 signature).
bool starts_codestream(const std::vector<uint8_t>& b) {
  if (b.size() < 4) return false;
  return (b[0] == 0xff && (b[1] == 0xd8 || b[1] == 0x4f)) || (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 12);
}

// Splits an encapsulated pixel sequence into one byte string per frame.
std::vector<std::vector<uint8_t>> frame_fragments(const std::string& path, DcmPixelSequence* seq, int frames,
                                                  uint64_t file_size) {
  const unsigned long card = seq->card();
  if (card < 2) throw InputError(path, "encapsulated PixelData holds no fragments", "the file holds no image");
  std::vector<DcmPixelItem*> items(card);
  for (unsigned long i = 0; i < card; ++i) {
    if (seq->getItem(items[i], i).bad() || !items[i]) throw InputError(path, "cannot read pixel data fragment " + std::to_string(i), "");
  }
  const size_t nfrag = card - 1;
  std::vector<size_t> first(frames + 1, 0);  // fragment index where frame k starts; first[frames] = nfrag
  first[frames] = nfrag;
  bool mapped = false;
  // 1. Basic Offset Table: byte offsets of each frame's first fragment item.
  std::vector<uint8_t> bot = fragment_bytes(path, items[0], file_size);
  if (bot.size() == static_cast<size_t>(frames) * 4 && frames > 1) {
    std::vector<uint64_t> starts;  // offset of each fragment item from the first one
    uint64_t pos = 0;
    for (size_t i = 1; i < card; ++i) {
      starts.push_back(pos);
      pos += 8 + items[i]->getLength();
    }
    mapped = true;
    for (int k = 0; k < frames && mapped; ++k) {
      const uint32_t off = bot[4 * k] | (bot[4 * k + 1] << 8) | (bot[4 * k + 2] << 16) | (uint32_t(bot[4 * k + 3]) << 24);
      auto it = std::find(starts.begin(), starts.end(), off);
      if (it == starts.end()) mapped = false;
      else first[k] = static_cast<size_t>(it - starts.begin());
      if (k > 0 && mapped && first[k] <= first[k - 1]) mapped = false;
    }
  }
  // 2. One frame: every fragment. 3. As many fragments as frames: one each.
  if (!mapped && frames == 1) {
    first[0] = 0;
    mapped = true;
  }
  if (!mapped && nfrag == static_cast<size_t>(frames)) {
    for (int k = 0; k < frames; ++k) first[k] = k;
    mapped = true;
  }
  std::vector<std::vector<uint8_t>> out(frames);
  if (mapped) {
    for (int k = 0; k < frames; ++k) {
      for (size_t i = first[k]; i < first[k + 1]; ++i) {
        std::vector<uint8_t> b = fragment_bytes(path, items[i + 1], file_size);
        out[k].insert(out[k].end(), b.begin(), b.end());
      }
    }
    return out;
  }
  // 4. Split where a fragment starts a new codestream (SOC marker or JP2 signature).
  int k = -1;
  for (size_t i = 0; i < nfrag; ++i) {
    std::vector<uint8_t> b = fragment_bytes(path, items[i + 1], file_size);
    if (starts_codestream(b)) ++k;
    if (k < 0 || k >= frames) {
      throw InputError(path, "cannot split " + std::to_string(nfrag) + " fragments into " +
                                 std::to_string(frames) + " frames", "the offset table is missing or wrong");
    }
    out[k].insert(out[k].end(), b.begin(), b.end());
  }
  if (k != frames - 1) {
    throw InputError(path, "cannot split " + std::to_string(nfrag) + " fragments into " +
                               std::to_string(frames) + " frames", "the offset table is missing or wrong");
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Header labels and meta.

bool valid_date(const std::string& s, int& y, int& m, int& d) {
  if (s.size() != 8 || !std::all_of(s.begin(), s.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) return false;
  y = std::stoi(s.substr(0, 4));
  m = std::stoi(s.substr(4, 2));
  d = std::stoi(s.substr(6, 2));
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return y >= 1850 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1];
}

// Age in years from PatientAge ("067Y", "018M", "003W", "010D"); nullopt when invalid.
std::optional<double> parse_patient_age(const std::string& s) {
  if (s.size() < 2 || s.size() > 4) return std::nullopt;
  const std::string digits = s.substr(0, s.size() - 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) return std::nullopt;
  const double n = std::stod(digits);
  switch (std::toupper(static_cast<unsigned char>(s.back()))) {
    case 'Y': return n;
    case 'M': return n / 12.0;
    case 'W': return n * 7.0 / 365.25;
    case 'D': return n / 365.25;
    default: return std::nullopt;
  }
}

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

Labels read_header_labels(DcmItem* ds, std::vector<std::string>& warnings) {
  Labels l;
  const std::string sex = upper(get_string(ds, DCM_PatientSex));
  if (sex == "M" || sex == "F" || sex == "O") l.sex = sex;
  std::optional<double> age = parse_patient_age(get_string(ds, DCM_PatientAge));
  if (!age) age = age_from_dates(ds);
  if (age && *age >= 0 && *age <= 130) l.age = std::min(*age, 90.0);  // HIPAA: ages over 89 are grouped
  if (auto size_m = get_double(ds, DCM_PatientSize); size_m && *size_m > 0) {
    const double cm = *size_m * 100.0;
    if (cm >= 30 && cm <= 250) l.height = cm;
    else warnings.push_back("PatientSize " + std::to_string(*size_m) + " m is out of range; height not set");
  }
  if (auto kg = get_double(ds, DCM_PatientWeight); kg && *kg > 0) {
    if (*kg >= 1 && *kg <= 400) l.weight = *kg;
    else warnings.push_back("PatientWeight " + std::to_string(*kg) + " kg is out of range; weight not set");
  }
  DcmItem* rp = get_item(ds, DCM_RadiopharmaceuticalInformationSequence);
  std::string tracer = canonical_tracer(get_string(rp, DCM_Radiopharmaceutical));
  if (tracer.empty()) tracer = canonical_tracer(get_string(get_item(rp, DCM_RadiopharmaceuticalCodeSequence), DCM_CodeMeaning));
  l.tracer = tracer;
  return l;
}

std::string radionuclide_name(const std::string& meaning) {
  const std::string u = upper(meaning);
  if (u.find("99M") != std::string::npos && (u.find("TECHNETIUM") != std::string::npos || u.find("TC") != std::string::npos)) return "Tc-99m";
  return meaning;
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
  put_string("radionuclide", radionuclide_name(get_string(get_item(rp, DCM_RadionuclideCodeSequence), DCM_CodeMeaning)));
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

// ---------------------------------------------------------------------------------------
// scintigen's own marks (dicom_write.cc writes them; dicom_read.h ScintigenMark).

// kSimulated / kSynthetic from a model name or description; nullopt when it says neither.
std::optional<Origin> origin_from_text(const std::string& text) {
  std::optional<Origin> out;
  for (const std::string& w : words(text)) {
    if (w == "SIMULATED" || w == "PHANTOM") return Origin::kSimulated;
    if (w == "SYNTHETIC" || w == "GENERATIVE") return Origin::kSynthetic;
  }
  return out;
}

// True for the model names scintigen writes ("scintigen phantom", "scintigen generative model").
bool scintigen_equipment(const std::string& manufacturer, const std::string& model) {
  const std::vector<std::string> m = words(model);
  return upper(manufacturer) == "SCINTIGEN" && m.size() >= 2 && m[0] == "SCINTIGEN" && origin_from_text(model).has_value();
}

std::optional<ScintigenMark> read_scintigen_mark(DcmItem* ds) {
  ScintigenMark mark;
  std::optional<Origin> origin;
  auto found = [&](const char* where, std::optional<Origin> o) {
    mark.found_in.push_back(where);
    if (!origin && o) origin = o;
  };
  const std::string model = get_string(ds, DCM_ManufacturerModelName);
  if (scintigen_equipment(get_string(ds, DCM_Manufacturer), model)) found("Manufacturer", origin_from_text(model));
  const long n_equipment = std::min(count_items(ds, DCM_ContributingEquipmentSequence), 16L);
  for (long i = 0; i < n_equipment; ++i) {
    DcmItem* eq = get_item(ds, DCM_ContributingEquipmentSequence, i);
    const std::string eq_model = get_string(eq, DCM_ManufacturerModelName);
    if (scintigen_equipment(get_string(eq, DCM_Manufacturer), eq_model)) {
      found("ContributingEquipmentSequence", origin_from_text(eq_model));
      if (mark.scintigen_version.empty()) {
        const std::vector<std::string> sw = get_values(eq, DCM_SoftwareVersions);
        if (!sw.empty() && sw[0].rfind("scintigen ", 0) == 0) mark.scintigen_version = sw[0].substr(10);
      }
      break;
    }
  }
  for (const auto& [tag, name] : {std::pair{DCM_SeriesDescription, "SeriesDescription"},
                                  std::pair{DCM_DerivationDescription, "DerivationDescription"}}) {
    const std::vector<std::string> w = words(get_string(ds, tag));
    if (!w.empty() && (w[0] == "SIMULATED" || w[0] == "SYNTHETIC")) found(name, origin_from_text(w[0]));
  }
  // Image Comments: one line "scintigen provenance: {json}".
  const std::string comments = get_string(ds, DCM_ImageComments);
  const std::string kPrefix = "scintigen provenance: ";
  if (const size_t at = comments.find(kPrefix); at != std::string::npos) {
    std::string line = comments.substr(at + kPrefix.size());
    line = line.substr(0, line.find_first_of("\r\n"));
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    std::optional<Origin> o;
    if (j.is_object()) {
      if (auto it = j.find("origin"); it != j.end() && it->is_string()) {
        if (*it == "simulated") o = Origin::kSimulated;
        if (*it == "synthetic") o = Origin::kSynthetic;
      }
      if (auto it = j.find("source"); it != j.end() && it->is_string()) mark.source = it->get<std::string>();
      if (auto it = j.find("provenance"); it != j.end() && it->is_object()) mark.provenance = *it;
      if (auto it = j.find("scintigen_version"); it != j.end() && it->is_string()) mark.scintigen_version = it->get<std::string>();
    }
    found("ImageComments", o);
    if (o) origin = o;  // the JSON line is the most precise mark
  }
  if (mark.found_in.empty()) return std::nullopt;
  mark.origin = origin.value_or(Origin::kSynthetic);
  if (mark.scintigen_version.empty()) {
    const std::vector<std::string> sw = get_values(ds, DCM_SoftwareVersions);
    if (!sw.empty() && sw[0].rfind("scintigen ", 0) == 0) mark.scintigen_version = sw[0].substr(10);
  }
  if (mark.source.empty()) {
    // Derivation Description "SIMULATED by scintigen <version> (<source>); not a patient".
    const std::string d = get_string(ds, DCM_DerivationDescription);
    const size_t open = d.find(" ("), close = d.rfind(')');
    if (open != std::string::npos && close != std::string::npos && close > open + 2) mark.source = d.substr(open + 2, close - open - 2);
  }
  return mark;
}

// ---------------------------------------------------------------------------------------
// The checks.

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
    throw InputError(path, "SOP class " + printable(sop) + (name ? std::string(" (") + name + ")" : "") +
                               " is not NM Image Storage or Secondary Capture", kHintWholeBody);
  }
}

// ImageType values that rule out a whole-body planar scan; "" when none does.
std::string image_type_rejection(const std::vector<std::string>& image_type) {
  const std::string it = join(image_type, "\\");
  for (const std::string& v0 : image_type) {
    const std::string v = upper(v0);
    if (v.find("TOMO") != std::string::npos) return "ImageType " + it + " is a SPECT (TOMO) acquisition, not a whole-body planar scan";
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

// NumberOfFrames (IS) without trusting it.
int parse_frames(const std::string& path, DcmItem* ds) {
  if (!ds->tagExists(DCM_NumberOfFrames)) return 1;
  const std::string s = get_string(ds, DCM_NumberOfFrames);
  if (s.empty()) return 1;
  std::string digits = s[0] == '+' ? s.substr(1) : s;
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
    throw InputError(path, "NumberOfFrames '" + printable(s) + "' is not an integer", "the header is corrupt");
  }
  return std::stoi(digits);
}

PixelFormat check_pixel_module(const std::string& path, DcmItem* ds, const ReadOptions& opt, E_TransferSyntax xfer) {
  PixelFormat f;
  const auto rows = get_us(ds, DCM_Rows);
  const auto cols = get_us(ds, DCM_Columns);
  if (!rows || !cols) throw InputError(path, std::string(!rows ? "Rows" : "Columns") + " is missing", "the file holds no image");
  if (*rows == 0 || *cols == 0) throw InputError(path, std::string(*rows == 0 ? "Rows" : "Columns") + " is 0", "the file holds no image");
  if (*rows > opt.max_rows || *cols > opt.max_columns) {
    throw InputError(path, "Rows x Columns " + std::to_string(*rows) + " x " + std::to_string(*cols) + " exceeds the limit " +
                               std::to_string(opt.max_rows) + " x " + std::to_string(opt.max_columns),
                     "raise the limit if this really is a whole-body scan");
  }
  f.rows = *rows;
  f.cols = *cols;
  f.frames = parse_frames(path, ds);
  if (f.frames < 1) throw InputError(path, "NumberOfFrames is 0", "the file holds no image");
  if (f.frames > opt.max_frames) {
    throw InputError(path, "NumberOfFrames " + std::to_string(f.frames) + " exceeds the limit " + std::to_string(opt.max_frames),
                     kHintWholeBody);
  }
  if (f.frames > 2) {
    throw InputError(path, "NumberOfFrames is " + std::to_string(f.frames) + "; a whole-body scan has 1 or 2 frames (anterior, posterior)",
                     kHintWholeBody);
  }
  const int spp = get_us(ds, DCM_SamplesPerPixel).value_or(1);
  if (spp != 1) throw InputError(path, "SamplesPerPixel is " + std::to_string(spp) + ", expected 1 (grey counts)", kHintWholeBody);
  const std::string photometric = upper(get_string(ds, DCM_PhotometricInterpretation));
  if (photometric == "MONOCHROME1") {
    throw InputError(path, "PhotometricInterpretation MONOCHROME1 (inverted grey) is not used for NM counts",
                     "export the scan as MONOCHROME2 counts");
  }
  if (!photometric.empty() && photometric != "MONOCHROME2") {
    throw InputError(path, "PhotometricInterpretation " + printable(photometric) + " is not supported; NM counts are MONOCHROME2",
                     kHintWholeBody);
  }
  const auto ba = get_us(ds, DCM_BitsAllocated);
  if (!ba) throw InputError(path, "BitsAllocated is missing", "the header is corrupt");
  if (*ba != 8 && *ba != 16 && *ba != 32) throw InputError(path, "BitsAllocated " + std::to_string(*ba) + " is not supported (8, 16 or 32)", "");
  if (*ba == 32 && xfer == EXS_BigEndianExplicit) throw InputError(path, "BitsAllocated 32 in big endian is not supported", "convert to little endian");
  f.bits_allocated = *ba;
  f.bits_stored = get_us(ds, DCM_BitsStored).value_or(f.bits_allocated);
  if (f.bits_stored < 1 || f.bits_stored > f.bits_allocated) {
    throw InputError(path, "BitsStored " + std::to_string(f.bits_stored) + " does not fit BitsAllocated " + std::to_string(f.bits_allocated), "the header is corrupt");
  }
  const int high_bit = get_us(ds, DCM_HighBit).value_or(f.bits_stored - 1);
  if (high_bit != f.bits_stored - 1) {
    throw InputError(path, "HighBit " + std::to_string(high_bit) + " with BitsStored " + std::to_string(f.bits_stored) + " is not supported", "");
  }
  f.pixel_representation = get_us(ds, DCM_PixelRepresentation).value_or(0);
  if (f.pixel_representation != 0 && f.pixel_representation != 1) {
    throw InputError(path, "PixelRepresentation " + std::to_string(f.pixel_representation) + " is not 0 or 1", "the header is corrupt");
  }
  f.slope = get_double(ds, DCM_RescaleSlope).value_or(1.0);
  f.intercept = get_double(ds, DCM_RescaleIntercept).value_or(0.0);
  if (f.slope == 0) throw InputError(path, "RescaleSlope is 0", "the header is corrupt");
  const uint64_t decoded = static_cast<uint64_t>(f.frame_bytes()) * f.frames;
  if (decoded > opt.max_decoded_bytes || decoded > 0xffffffffull) {
    throw InputError(path, "decoded pixel data would take " + std::to_string(decoded) + " bytes, more than the limit " +
                               std::to_string(opt.max_decoded_bytes), "raise the limit if this really is a whole-body scan");
  }
  return f;
}

// Reads every frame as raw stored values (local byte order), frame after frame.
std::vector<uint8_t> read_raw_frames(const std::string& path, DcmDataset* ds, const PixelFormat& f, E_TransferSyntax xfer,
                                     uint64_t file_size) {
  DcmElement* elem = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, elem).bad() || !elem) {
    if (ds->tagExists(DCM_FloatPixelData) || ds->tagExists(DCM_DoubleFloatPixelData)) {
      throw InputError(path, "float PixelData is not supported", "NM counts are stored as integers");
    }
    throw InputError(path, "PixelData is missing", "the file holds no image");
  }
  auto* pixel_data = dynamic_cast<DcmPixelData*>(elem);
  if (!pixel_data) throw InputError(path, "PixelData is not at the top level of the data set", "the file is malformed");
  const size_t frame_bytes = f.frame_bytes();
  const uint64_t needed = static_cast<uint64_t>(frame_bytes) * f.frames;
  std::vector<uint8_t> raw;
  const DcmXfer x(xfer);
  if (!x.isEncapsulated()) {
    const uint64_t holds = elem->getLength();
    const bool fits = holds == needed || (needed % 2 == 1 && holds == needed + 1);
    if (!fits) {
      throw InputError(path, "PixelData holds " + std::to_string(holds) + " bytes but Rows x Columns x Frames x " +
                                 std::to_string(f.bits_allocated / 8) + " needs " + std::to_string(needed),
                       "the header and the pixel data disagree");
    }
    if (holds > file_size && xfer != EXS_DeflatedLittleEndianExplicit) {
      throw InputError(path, "file is truncated", "the pixel data extend past the end of the file");
    }
    raw.resize(needed);
    if (elem->getPartialValue(raw.data(), 0, static_cast<Uint32>(needed)).bad()) {
      throw InputError(path, "file is truncated", "the pixel data cannot be read to their declared length");
    }
    elem->compact();
    return raw;
  }
  E_TransferSyntax rep = EXS_Unknown;
  const DcmRepresentationParameter* rep_param = nullptr;
  pixel_data->getOriginalRepresentationKey(rep, rep_param);
  DcmPixelSequence* seq = nullptr;
  if (pixel_data->getEncapsulatedRepresentation(rep, rep_param, seq).bad() || !seq) {
    throw InputError(path, "encapsulated PixelData is missing or malformed", "the compressed pixel data are corrupt");
  }
  raw.resize(needed);
  if (xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000) {
    std::vector<std::vector<uint8_t>> frames = frame_fragments(path, seq, f.frames, file_size);
    for (int k = 0; k < f.frames; ++k) decode_j2k_frame(path, k, frames[k], f, raw.data() + k * frame_bytes);
    return raw;
  }
  // DCMTK's decoders do not all check their output against the header: check first.
  {
    const std::vector<std::vector<uint8_t>> frames = frame_fragments(path, seq, f.frames, file_size);
    for (int k = 0; k < f.frames; ++k) {
      if (xfer == EXS_RLELossless) check_rle_frame(path, k, frames[k], f);
      else check_jpeg_frame(path, k, frames[k], f);
    }
  }
  // RLE, JPEG, JPEG-LS: DCMTK's decoders, one frame at a time into a buffer of the expected size.
  Uint32 dcmtk_frame_size = 0;
  if (pixel_data->getUncompressedFrameSize(ds, dcmtk_frame_size).bad() || dcmtk_frame_size != frame_bytes) {
    throw InputError(path, "cannot size the decoded frames", "the header is inconsistent");
  }
  Uint32 start_fragment = 0;
  std::vector<uint8_t> buf(frame_bytes + 1);  // decoders may write the even pad byte
  for (int k = 0; k < f.frames; ++k) {
    OFString color_model;
    OFCondition c = pixel_data->getUncompressedFrame(ds, k, start_fragment, buf.data(), static_cast<Uint32>(buf.size()), color_model);
    if (c.bad()) {
      throw InputError(path, "cannot decode frame " + std::to_string(k) + " (" + x.getXferName() + "): " + c.text(),
                       "the compressed pixel data are corrupt");
    }
    if (!color_model.empty() && color_model != "MONOCHROME2") {
      throw InputError(path, "decoded frame " + std::to_string(k) + " is " + printable(color_model.c_str()) + ", not MONOCHROME2", "");
    }
    std::memcpy(raw.data() + k * frame_bytes, buf.data(), frame_bytes);
  }
  pixel_data->compact();
  return raw;
}

// Which view each frame shows, and how it is oriented.
std::vector<FrameView> find_views(const std::string& path, DcmItem* ds, int frames, std::vector<std::string>& warnings) {
  std::vector<FrameView> out(frames);
  const long n_detectors = count_items(ds, DCM_DetectorInformationSequence);
  for (int k = 0; k < frames; ++k) {
    FrameView& fv = out[k];
    // The detector item of this frame.
    DcmItem* det = nullptr;
    if (auto idx = get_us(ds, DCM_DetectorVector, k); idx && *idx >= 1 && *idx <= n_detectors) {
      det = get_item(ds, DCM_DetectorInformationSequence, *idx - 1);
    } else if (!ds->tagExists(DCM_DetectorVector) && n_detectors == frames) {
      det = get_item(ds, DCM_DetectorInformationSequence, k);
    }
    if (det) fv.geometry = geometry_from_iop(det);
    if (!fv.geometry && frames == 1) {
      fv.geometry = geometry_from_iop(ds);
      if (!fv.geometry) fv.geometry = geometry_from_patient_orientation(ds);
    }
    auto decide = [&](ViewAnswer a, const std::string& basis) {
      if (fv.view) return;
      if (a == ViewAnswer::kAmbiguous) {
        warnings.push_back("frame " + std::to_string(k) + ": " + basis + " is ambiguous (antero-posterior/postero-anterior or both); ignored");
      } else if (a != ViewAnswer::kNone) {
        fv.view = a == ViewAnswer::kAnterior ? kAnterior : kPosterior;
        fv.basis = basis;
      }
    };
    auto decide_code = [&](DcmItem* code) {
      const bool had = fv.view.has_value();
      decide(view_from_code_item(code), "ViewCodeSequence");
      if (!had && fv.view) fv.code_text = code_text(code);
    };
    if (det) decide_code(get_item(det, DCM_ViewCodeSequence));
    if (det && fv.geometry && fv.geometry->source == "ImageOrientationPatient") {
      decide(view_from_geometry(*fv.geometry), "ImageOrientationPatient");
    }
    if (frames == 1) {
      decide_code(get_item(ds, DCM_ViewCodeSequence));
      if (fv.geometry) decide(view_from_geometry(*fv.geometry), fv.geometry->source);
      decide(view_from_text(get_string(ds, DCM_ImageID)), "text:ImageID");
      decide(view_from_text(get_string(ds, DCM_SeriesDescription)), "text:SeriesDescription");
      decide(view_from_text(get_string(ds, DCM_ImageComments)), "text:ImageComments");
    }
    // An explicit view code wins over an orientation that is not a frontal projection (some
    // programs write the transverse default 1\0\0\0\1\0 into every image): the frame is
    // taken as stored, as without any orientation. Without a view code such a frame is still
    // refused (transform_for).
    if (fv.view && fv.basis == "ViewCodeSequence" && fv.geometry && !is_frontal(*fv.geometry)) {
      warnings.push_back("frame " + std::to_string(k) + ": View Code Sequence " + fv.code_text + " says " +
                         (*fv.view == kAnterior ? "anterior" : "posterior") + " but " + fv.geometry->source + " " +
                         geometry_text(*fv.geometry) +
                         " is not an anterior or posterior projection; the view code wins and the frame is taken as stored");
      fv.geometry.reset();
    }
    // A geometry that contradicts the decided view: the view wins, the warning tells.
    if (fv.view && fv.geometry && fv.basis != fv.geometry->source) {
      const ViewAnswer g = view_from_geometry(*fv.geometry);
      if ((g == ViewAnswer::kAnterior && *fv.view == kPosterior) || (g == ViewAnswer::kPosterior && *fv.view == kAnterior)) {
        warnings.push_back("frame " + std::to_string(k) + ": " + fv.basis + " and " + fv.geometry->source + " disagree on the view; " +
                           fv.basis + " used");
      }
    }
  }
  // Fill in what is still unknown.
  if (frames == 1 && !out[0].view) {
    out[0].view = kAnterior;
    out[0].basis = "assumed";
    warnings.push_back("view assumed anterior: no view code, orientation or view name in the header");
  } else if (frames == 2) {
    if (!out[0].view && !out[1].view) {
      out[0].view = kAnterior;
      out[1].view = kPosterior;
      out[0].basis = out[1].basis = "assumed";
      warnings.push_back("views assumed from frame order (frame 0 anterior, frame 1 posterior)");
    } else if (!out[0].view || !out[1].view) {
      const int known = out[0].view ? 0 : 1;
      out[1 - known].view = *out[known].view == kAnterior ? kPosterior : kAnterior;
      out[1 - known].basis = "assumed";
      warnings.push_back("view of frame " + std::to_string(1 - known) + " assumed opposite to frame " + std::to_string(known));
    }
    if (*out[0].view == *out[1].view) {
      throw InputError(path, std::string("both frames are ") + (*out[0].view == kAnterior ? "anterior" : "posterior") + " views",
                       "a two-frame whole-body scan holds one anterior and one posterior view");
    }
  }
  return out;
}

// Everything after parsing: what the object is, its pixels, views and header.
DicomObject read_parsed(const std::string& path, DcmFileFormat& ff, uint64_t file_size, const ReadOptions& options) {
  DcmDataset* ds = ff.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();

  check_object_kind(path, ds);
  if (!is_supported_xfer(xfer)) {
    std::string uid = get_string(ff.getMetaInfo(), DCM_TransferSyntaxUID);
    throw InputError(path, "unsupported transfer syntax " + (uid.empty() ? std::string(DcmXfer(xfer).getXferName()) : printable(uid)),
                     "convert the file to explicit VR little endian");
  }
  const PixelFormat f = check_pixel_module(path, ds, options, xfer);
  check_whole_body(path, ds, f.rows, f.cols);

  DicomObject obj;
  obj.path = path;
  std::vector<FrameView> frame_views = find_views(path, ds, f.frames, obj.warnings);

  // Orientation: a transform per frame, checked before decoding.
  std::vector<Transform> transforms(f.frames);
  for (int k = 0; k < f.frames; ++k) {
    if (frame_views[k].geometry) {
      transforms[k] = transform_for(path, *frame_views[k].geometry);
    } else {
      if (f.cols > f.rows) {
        throw InputError(path, "image is landscape (" + std::to_string(f.cols) + " x " + std::to_string(f.rows) +
                                   ") and no Image Orientation (Patient) or Patient Orientation says where the head is",
                         "a whole-body scan is stored head-up unless its orientation is given");
      }
      transforms[k].flip_cols = *frame_views[k].view == kPosterior;
    }
  }

  const std::vector<uint8_t> raw = read_raw_frames(path, ds, f, xfer, file_size);
  std::vector<float> counts;
  uint64_t negative = 0;
  float lowest = 0;
  for (int k = 0; k < f.frames; ++k) {
    to_counts(raw.data() + k * f.frame_bytes(), f, counts);
    // Counts are >= 0. Signed samples (PixelRepresentation 1, or a negative intercept) can
    // hold small negative values, e.g. the ringing of lossy JPEG 2000 around zero: clamped to 0
    // with a warning. A rescale that leaves the float range is a corrupt header.
    for (float& c : counts) {
      if (!std::isfinite(c)) {
        throw InputError(path, "RescaleSlope " + format_number(f.slope) + " and RescaleIntercept " + format_number(f.intercept) +
                                   " give counts beyond the float range", "the header is corrupt");
      }
      if (c < 0) {
        ++negative;
        lowest = std::min(lowest, c);
        c = 0;
      }
    }
    DicomView v;
    v.view = *frame_views[k].view;
    v.view_basis = frame_views[k].basis;
    v.counts = apply_transform(counts, f.rows, f.cols, transforms[k], v.height, v.width);
    obj.views.push_back(std::move(v));
  }
  std::sort(obj.views.begin(), obj.views.end(), [](const DicomView& a, const DicomView& b) { return a.view < b.view; });
  if (obj.views.size() == 2 && (obj.views[0].height != obj.views[1].height || obj.views[0].width != obj.views[1].width)) {
    throw InputError(path, "the two views have different shapes after orientation (" + std::to_string(obj.views[0].width) + " x " +
                               std::to_string(obj.views[0].height) + " and " + std::to_string(obj.views[1].width) + " x " +
                               std::to_string(obj.views[1].height) + ")", "the detectors' Image Orientation (Patient) disagree");
  }

  // PixelSpacing is [row spacing, column spacing]; a transpose swaps them.
  obj.spacing_row_mm = get_double(ds, DCM_PixelSpacing, 0).value_or(0);
  obj.spacing_col_mm = get_double(ds, DCM_PixelSpacing, 1).value_or(0);
  if (obj.spacing_row_mm < 0 || obj.spacing_col_mm < 0) obj.spacing_row_mm = obj.spacing_col_mm = 0;
  if (transforms[0].transpose) std::swap(obj.spacing_row_mm, obj.spacing_col_mm);

  if (negative > 0) {
    obj.warnings.push_back(std::to_string(negative) + " pixel value(s) below 0 (lowest " + format_number(lowest) +
                           ") set to 0: counts cannot be negative");
  }

  obj.scintigen_mark = read_scintigen_mark(ds);
  if (obj.scintigen_mark && obj.scintigen_mark->found_in.size() < 3) {
    obj.warnings.push_back(std::string("made by scintigen (") + to_string(obj.scintigen_mark->origin) +
                           "), though only " + join(obj.scintigen_mark->found_in, ", ") + " says so");
  }
  obj.keys = read_keys(ds);
  obj.header_labels = read_header_labels(ds, obj.warnings);
  obj.meta = read_meta(ds, f, xfer, obj.header_labels);
  if (negative > 0) obj.meta["negative_pixels_clamped"] = negative;
  return obj;
}

void check_dictionary(const std::string& path) {
  init_libraries();
  if (!g_dictionary_loaded) {
    throw InternalError(path, "the DICOM data dictionary is not loaded", "install the DCMTK data package (dcmtk's dicom.dic)");
  }
}

}  // namespace

DicomObject read_wholebody_dicom(const std::string& path, const ReadOptions& options) {
  check_dictionary(path);
  check_readable(path);
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  {
    detail::FileByteSource src(path);
    detail::check_sequence_nesting(path, src, nesting_limits(options));
  }
  DcmFileFormat ff;
  load_file(path, ff);
  return read_parsed(path, ff, file_size, options);
}

DicomObject read_wholebody_dicom(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options) {
  check_dictionary(name);
  {
    detail::MemoryByteSource src(data, size);
    detail::check_sequence_nesting(name, src, nesting_limits(options));
  }
  // DCMTK reads from an in-memory file (memfd), like from disk: values above 4 KiB stay in the
  // file until needed. (From a DcmInputBufferStream it would allocate every value's declared
  // length, up to 4 GiB, before finding that the bytes are not there.)
  const int fd = ::memfd_create("scintigen-dicom", MFD_CLOEXEC);
  if (fd < 0) throw InternalError(name, std::string("memfd_create failed: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  for (size_t done = 0; done < size;) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) throw InternalError(name, std::string("cannot write to a memfd: ") + std::strerror(errno));
    done += static_cast<size_t>(w);
  }
  const std::string fd_path = "/proc/self/fd/" + std::to_string(fd);
  DcmFileFormat ff;
  try {
    load_file(fd_path, ff);
    DicomObject obj = read_parsed(fd_path, ff, size, options);
    obj.path = name;
    return obj;
  } catch (const Error& e) {
    // The errors name the file by `name`, not by its descriptor.
    if (e.where() != fd_path) throw;
    if (e.exit_code() == kExitInternal) throw InternalError(name, e.reason(), e.hint());
    throw InputError(name, e.reason(), e.hint());
  }
}

nlohmann::json io_versions() {
  return {{"dcmtk", OFFIS_DCMTK_VERSION_STRING}, {"openjpeg", opj_version()}};
}

}  // namespace scintigen
