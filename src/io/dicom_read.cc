// Reading whole-body planar NM scans from DICOM (see dicom_read.h): loading and the order of
// the steps. The parts live beside it, internal to src/io: dicom_nesting.h (the pre-scan),
// dicom_attributes.h (header values and checks), dicom_views.h (views and orientation),
// dicom_codecs.h (pixel decoding) and dicom_mark.h (scintigen's own exports).
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

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <openjpeg.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/error.h"
#include "io/dicom_attributes.h"
#include "io/dicom_codecs.h"
#include "io/dicom_mark.h"
#include "io/dicom_nesting.h"
#include "io/dicom_views.h"

namespace scintigen {
namespace {

using namespace detail;  // the parts of the reader: attributes, views, codecs, marks

constexpr Uint32 kMaxReadLength = 4096;  // larger values stay in the file until needed

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
  if (c == EC_StreamNotifyClient || c == EC_EndOfStream || c == EC_InvalidStream ||
      c == EC_PrematureSequDelimitationItem || c == EC_SequDelimitationItemMissing ||
      c == EC_ItemDelimitationItemMissing) {
    throw InputError(path, "file is truncated", "the file ends inside an element; copy it again from the source");
  }
  throw InputError(path, std::string("malformed DICOM: ") + c.text(), "the file does not parse as DICOM");
}

bool has_dicm_preamble(const uint8_t* head, size_t n) {
  return n >= 132 && std::memcmp(head + 128, "DICM", 4) == 0;
}

// Parses a file already checked by the nesting pre-scan (values above 4 KiB stay in the file).
void load_file(const std::string& path, DcmFileFormat& ff) {
  uint8_t head[132] = {};
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(head), sizeof head);
  const bool preamble = has_dicm_preamble(head, static_cast<size_t>(f.gcount()));
  OFCondition c = ff.loadFile(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange, kMaxReadLength, ERM_autoDetect);
  if (c.bad()) throw_parse_error(path, c, preamble, ff.getDataset());
}

// Everything after parsing: what the object is, its pixels, views and header.
DicomObject read_parsed(const std::string& path, DcmFileFormat& ff, uint64_t file_size, const ReadOptions& options) {
  DcmDataset* ds = ff.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();

  check_object_kind(path, ds);
  if (!is_supported_xfer(xfer)) {
    std::string uid = get_string(ff.getMetaInfo(), DCM_TransferSyntaxUID);
    throw InputError(
        path,
        "unsupported transfer syntax " + (uid.empty() ? std::string(DcmXfer(xfer).getXferName()) : printable(uid)),
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
        throw InputError(path,
                         "image is landscape (" + std::to_string(f.cols) + " x " + std::to_string(f.rows) +
                             ") and no Image Orientation (Patient) or Patient Orientation says where the head is",
                         "a whole-body scan is stored head-up unless its orientation is given");
      }
      transforms[k].flip_cols = *frame_views[k].view == kPosterior;
    }
  }

  const std::vector<uint8_t> raw = read_raw_frames(path, ds, f, xfer, file_size);
  std::vector<float> counts;
  ClampedCounts clamped;
  for (int k = 0; k < f.frames; ++k) {
    to_counts(raw.data() + k * f.frame_bytes(), f, counts);
    clamp_counts(path, f, counts, clamped);
    DicomView v;
    v.view = *frame_views[k].view;
    v.view_basis = frame_views[k].basis;
    v.counts = apply_transform(counts, f.rows, f.cols, transforms[k], v.height, v.width);
    obj.views.push_back(std::move(v));
  }
  std::sort(obj.views.begin(), obj.views.end(), [](const DicomView& a, const DicomView& b) { return a.view < b.view; });
  if (obj.views.size() == 2 &&
      (obj.views[0].height != obj.views[1].height || obj.views[0].width != obj.views[1].width)) {
    throw InputError(path,
                     "the two views have different shapes after orientation (" + std::to_string(obj.views[0].width) +
                         " x " + std::to_string(obj.views[0].height) + " and " + std::to_string(obj.views[1].width) +
                         " x " + std::to_string(obj.views[1].height) + ")",
                     "the detectors' Image Orientation (Patient) disagree");
  }

  // PixelSpacing is [row spacing, column spacing]; a transpose swaps them.
  obj.spacing_row_mm = get_double(ds, DCM_PixelSpacing, 0).value_or(0);
  obj.spacing_col_mm = get_double(ds, DCM_PixelSpacing, 1).value_or(0);
  if (obj.spacing_row_mm < 0 || obj.spacing_col_mm < 0) obj.spacing_row_mm = obj.spacing_col_mm = 0;
  if (transforms[0].transpose) std::swap(obj.spacing_row_mm, obj.spacing_col_mm);

  if (clamped.n > 0) {
    obj.warnings.push_back(std::to_string(clamped.n) + " pixel value(s) below 0 (lowest " +
                           format_number(clamped.lowest) + ") set to 0: counts cannot be negative");
  }

  obj.scintigen_mark = read_scintigen_mark(ds);
  if (obj.scintigen_mark && obj.scintigen_mark->found_in.size() < 3) {
    obj.warnings.push_back(std::string("made by scintigen (") + to_string(obj.scintigen_mark->origin) +
                           "), though only " + join(obj.scintigen_mark->found_in, ", ") + " says so");
  }
  obj.keys = read_keys(ds);
  obj.header_labels = read_header_labels(ds, obj.warnings);
  obj.meta = read_meta(ds, f, xfer, obj.header_labels);
  if (clamped.n > 0) obj.meta["negative_pixels_clamped"] = clamped.n;
  return obj;
}

void check_dictionary(const std::string& path) {
  init_libraries();
  if (!g_dictionary_loaded) {
    throw InternalError(path, "the DICOM data dictionary is not loaded",
                        "install the DCMTK data package (dcmtk's dicom.dic)");
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

DicomObject read_wholebody_dicom(const uint8_t* data, size_t size, const std::string& name,
                                 const ReadOptions& options) {
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
