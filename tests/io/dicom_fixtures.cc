// Synthetic whole-body NM DICOM files (see dicom_fixtures.h).

#include "io/dicom_fixtures.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrpn.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpeg/djrploss.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <dcmtk/oflog/oflog.h>
#include <openjpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <stdexcept>

namespace scintigen::testing {
namespace {

std::once_flag g_encoders_once;

void register_encoders() {
  std::call_once(g_encoders_once, [] {
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
    DcmRLEEncoderRegistration::registerCodecs();
  });
}

void check(const OFCondition& c, const std::string& what) {
  if (c.bad()) throw std::runtime_error("dicom fixture: " + what + ": " + c.text());
}

std::string next_uid(const std::string& root, int kind) {
  static std::atomic<uint64_t> counter{0};
  return root + "." + std::to_string(kind) + "." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

DcmItem* new_item(DcmItem* parent, const DcmTagKey& seq) {
  DcmItem* item = nullptr;
  check(parent->findOrCreateSequenceItem(seq, item, -2), "create sequence item");
  return item;
}

void put(DcmItem* item, const DcmTagKey& tag, const std::string& value) {
  check(item->putAndInsertString(tag, value.c_str()), "put string");
}

void put_code(DcmItem* parent, const DcmTagKey& seq, const std::string& value, const std::string& scheme,
              const std::string& meaning) {
  DcmItem* code = new_item(parent, seq);
  put(code, DCM_CodeValue, value);
  put(code, DCM_CodingSchemeDesignator, scheme);
  put(code, DCM_CodeMeaning, meaning);
}

std::string ds_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// OpenJPEG writing into memory.
struct OutBuffer {
  std::vector<uint8_t> data;
  size_t pos = 0;
};

OPJ_SIZE_T out_write(void* buf, OPJ_SIZE_T n, void* user) {
  auto* o = static_cast<OutBuffer*>(user);
  if (o->pos + n > o->data.size()) o->data.resize(o->pos + n);
  std::memcpy(o->data.data() + o->pos, buf, n);
  o->pos += n;
  return n;
}
OPJ_OFF_T out_skip(OPJ_OFF_T n, void* user) {
  auto* o = static_cast<OutBuffer*>(user);
  o->pos += n;
  if (o->pos > o->data.size()) o->data.resize(o->pos);
  return n;
}
OPJ_BOOL out_seek(OPJ_OFF_T n, void* user) {
  auto* o = static_cast<OutBuffer*>(user);
  o->pos = static_cast<size_t>(n);
  if (o->pos > o->data.size()) o->data.resize(o->pos);
  return OPJ_TRUE;
}
void opj_quiet(const char*, void*) {}

// JPEG 2000 codestream of one frame: lossless, or about 20:1 for kJpeg2000Lossy.
std::vector<uint8_t> encode_j2k(const std::vector<uint16_t>& frame, const FixtureSpec& spec) {
  opj_image_cmptparm_t cp;
  std::memset(&cp, 0, sizeof cp);
  cp.dx = cp.dy = 1;
  cp.w = spec.cols;
  cp.h = spec.rows;
  cp.prec = spec.bits_stored;
  cp.sgnd = spec.is_signed ? 1 : 0;
  opj_image_t* image = opj_image_create(1, &cp, OPJ_CLRSPC_GRAY);
  if (!image) throw std::runtime_error("dicom fixture: opj_image_create failed");
  image->x0 = image->y0 = 0;
  image->x1 = spec.cols;
  image->y1 = spec.rows;
  for (size_t i = 0; i < frame.size(); ++i) {
    image->comps[0].data[i] = spec.is_signed ? static_cast<int16_t>(frame[i]) : frame[i];
  }
  opj_cparameters_t params;
  opj_set_default_encoder_parameters(&params);
  params.tcp_numlayers = 1;
  params.tcp_rates[0] = 0;  // lossless
  params.cp_disto_alloc = 1;
  // Small matrices need fewer wavelet levels than the default 6 (each halves the smaller side).
  while (params.numresolution > 1 && (1 << (params.numresolution - 1)) > std::min(spec.rows, spec.cols))
    --params.numresolution;
  if (spec.syntax == FixtureSyntax::kJpeg2000Lossy) {
    params.tcp_rates[0] = 20;  // compression ratio
    params.irreversible = 1;   // 9/7 wavelet
  }
  opj_codec_t* codec = opj_create_compress(OPJ_CODEC_J2K);
  opj_set_error_handler(codec, opj_quiet, nullptr);
  opj_set_warning_handler(codec, opj_quiet, nullptr);
  opj_set_info_handler(codec, opj_quiet, nullptr);
  OutBuffer out;
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
  opj_stream_set_user_data(stream, &out, nullptr);
  opj_stream_set_write_function(stream, out_write);
  opj_stream_set_skip_function(stream, out_skip);
  opj_stream_set_seek_function(stream, out_seek);
  const bool ok = opj_setup_encoder(codec, &params, image) && opj_start_compress(codec, image, stream) &&
                  opj_encode(codec, stream) && opj_end_compress(codec, stream);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  if (!ok) throw std::runtime_error("dicom fixture: OpenJPEG encoding failed");
  if (out.data.size() % 2) out.data.push_back(0);  // DICOM fragments have even length
  return out.data;
}

void put_jpeg2000_pixel_data(DcmDataset* ds, const FixtureSpec& spec,
                             const std::vector<std::vector<uint16_t>>& frames) {
  auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
  auto* table = new DcmPixelItem(DCM_PixelItemTag);
  seq->insert(table);
  std::vector<uint8_t> offsets;
  uint32_t pos = 0;
  for (const auto& frame : frames) {
    const std::vector<uint8_t> cs = encode_j2k(frame, spec);
    for (int b = 0; b < 4; ++b) offsets.push_back(static_cast<uint8_t>(pos >> (8 * b)));
    const int n = std::max(1, spec.jpeg2000_fragments_per_frame);
    size_t chunk = (cs.size() + n - 1) / n;
    chunk += chunk % 2;
    for (size_t at = 0; at < cs.size(); at += chunk) {
      const size_t len = std::min(chunk, cs.size() - at);
      auto* item = new DcmPixelItem(DCM_PixelItemTag);
      check(item->putUint8Array(cs.data() + at, static_cast<unsigned long>(len)), "put fragment");
      seq->insert(item);
      pos += 8 + static_cast<uint32_t>(len);
    }
  }
  if (spec.jpeg2000_offset_table) check(table->putUint8Array(offsets.data(), offsets.size()), "put offset table");
  auto* pixel_data = new DcmPixelData(DCM_PixelData);
  const bool lossy = spec.syntax == FixtureSyntax::kJpeg2000Lossy;
  pixel_data->putOriginalRepresentation(lossy ? EXS_JPEG2000 : EXS_JPEG2000LosslessOnly, nullptr, seq);
  check(ds->insert(pixel_data, true), "insert PixelData");
}

E_TransferSyntax xfer_of(FixtureSyntax s) {
  switch (s) {
    case FixtureSyntax::kExplicitLE:
      return EXS_LittleEndianExplicit;
    case FixtureSyntax::kImplicitLE:
      return EXS_LittleEndianImplicit;
    case FixtureSyntax::kExplicitBE:
      return EXS_BigEndianExplicit;
    case FixtureSyntax::kDeflated:
      return EXS_DeflatedLittleEndianExplicit;
    case FixtureSyntax::kRle:
      return EXS_RLELossless;
    case FixtureSyntax::kJpegLossless:
      return EXS_JPEGProcess14SV1;
    case FixtureSyntax::kJpegBaseline:
      return EXS_JPEGProcess1;
    case FixtureSyntax::kJpegLsLossless:
      return EXS_JPEGLSLossless;
    case FixtureSyntax::kJpeg2000Lossless:
      return EXS_JPEG2000LosslessOnly;
    case FixtureSyntax::kJpeg2000Lossy:
      return EXS_JPEG2000;
  }
  return EXS_LittleEndianExplicit;
}

}  // namespace

const char* to_string(FixtureSyntax s) {
  switch (s) {
    case FixtureSyntax::kExplicitLE:
      return "explicit_le";
    case FixtureSyntax::kImplicitLE:
      return "implicit_le";
    case FixtureSyntax::kExplicitBE:
      return "explicit_be";
    case FixtureSyntax::kDeflated:
      return "deflated";
    case FixtureSyntax::kRle:
      return "rle";
    case FixtureSyntax::kJpegLossless:
      return "jpeg_lossless";
    case FixtureSyntax::kJpegBaseline:
      return "jpeg_baseline";
    case FixtureSyntax::kJpegLsLossless:
      return "jpeg_ls_lossless";
    case FixtureSyntax::kJpeg2000Lossless:
      return "jpeg2000_lossless";
    case FixtureSyntax::kJpeg2000Lossy:
      return "jpeg2000_lossy";
  }
  return "?";
}

void write_nm_fixture(const std::string& path, const FixtureSpec& spec,
                      const std::vector<std::vector<uint16_t>>& frames) {
  register_encoders();
  const size_t n_frames = frames.size();
  const size_t n = static_cast<size_t>(spec.rows) * spec.cols;
  if (n_frames == 0 || n_frames != spec.views.size()) {
    throw std::runtime_error("dicom fixture: need one frame per entry of spec.views");
  }
  for (const auto& f : frames) {
    if (f.size() != n) throw std::runtime_error("dicom fixture: a frame is not rows x cols");
  }
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  const std::string& root = spec.uid_root;

  // Patient and study: fake identifying attributes.
  put(ds, DCM_SOPClassUID, spec.sop_class_uid);
  put(ds, DCM_SOPInstanceUID, next_uid(root, 3));
  put(ds, DCM_StudyInstanceUID, spec.study_uid.empty() ? next_uid(root, 1) : spec.study_uid);
  put(ds, DCM_SeriesInstanceUID, spec.series_uid.empty() ? next_uid(root, 2) : spec.series_uid);
  put(ds, DCM_FrameOfReferenceUID, next_uid(root, 4));
  put(ds, DCM_PatientName, spec.patient_name);
  put(ds, DCM_PatientID, spec.patient_id);
  put(ds, DCM_PatientBirthDate, spec.birth_date);
  put(ds, DCM_PatientSex, spec.patient_sex);
  if (!spec.patient_age.empty()) put(ds, DCM_PatientAge, spec.patient_age);
  if (spec.patient_size_m > 0) put(ds, DCM_PatientSize, ds_text(spec.patient_size_m));
  if (spec.patient_weight_kg > 0) put(ds, DCM_PatientWeight, ds_text(spec.patient_weight_kg));
  put(ds, DCM_StudyDate, spec.study_date);
  put(ds, DCM_AcquisitionDate, spec.study_date);
  put(ds, DCM_AcquisitionTime, "101500");
  put(ds, DCM_AccessionNumber, spec.accession_number);
  put(ds, DCM_InstitutionName, spec.institution);
  put(ds, DCM_StationName, "FIXSTATION01");
  put(ds, DCM_DeviceSerialNumber, "SN-FIXTURE-0042");
  put(ds, DCM_ImageComments, "fixture for " + spec.patient_name);
  if (spec.private_tag) {
    put(ds, DcmTagKey(0x0009, 0x0010), "SCINTIGEN FAKE");
    auto* secret = new DcmPersonName(DcmTag(0x0009, 0x1040, EVR_PN));
    check(secret->putString("Privatename^Secret"), "private tag value");
    check(ds->insert(secret, true), "private tag");
  }

  // Acquisition.
  put(ds, DCM_Modality, spec.modality);
  put(ds, DCM_Manufacturer, "SCINTIGEN");
  put(ds, DCM_ManufacturerModelName, "FIXTURE CAMERA");
  if (!spec.image_type.empty()) {
    std::string it;
    for (size_t i = 0; i < spec.image_type.size(); ++i) it += (i ? "\\" : "") + spec.image_type[i];
    put(ds, DCM_ImageType, it);
  }
  if (!spec.body_part.empty()) put(ds, DCM_BodyPartExamined, spec.body_part);
  if (spec.whole_body_technique) put(ds, DCM_WholeBodyTechnique, "1PS");
  put(ds, DCM_ScanVelocity, "2.5");  // mm/s = 15 cm/min
  put(ds, DCM_ActualFrameDuration, "720000");
  put(ds, DCM_CountsAccumulated, "1500000");
  if (!spec.image_id.empty()) put(ds, DCM_ImageID, spec.image_id);
  if (!spec.patient_orientation.empty()) put(ds, DCM_PatientOrientation, spec.patient_orientation);

  DcmItem* window = new_item(ds, DCM_EnergyWindowInformationSequence);
  DcmItem* range = new_item(window, DCM_EnergyWindowRangeSequence);
  put(range, DCM_EnergyWindowLowerLimit, "126");
  put(range, DCM_EnergyWindowUpperLimit, "154");
  if (!spec.radiopharmaceutical.empty()) {
    DcmItem* rp = new_item(ds, DCM_RadiopharmaceuticalInformationSequence);
    put(rp, DCM_Radiopharmaceutical, spec.radiopharmaceutical);
    put_code(rp, DCM_RadionuclideCodeSequence, "C-163A8", "SRT", "^99m^Technetium");
  }

  // Frames, detectors and views.
  std::string window_vector, detector_vector;
  for (size_t k = 0; k < n_frames; ++k) {
    window_vector += (k ? "\\" : "") + std::string("1");
    const int det = k < spec.detector_vector.size() ? spec.detector_vector[k] : static_cast<int>(k) + 1;
    detector_vector += (k ? "\\" : "") + std::to_string(det);
  }
  put(ds, DCM_FrameIncrementPointer, "(0054,0010)\\(0054,0020)");
  put(ds, DCM_EnergyWindowVector, window_vector);
  put(ds, DCM_NumberOfEnergyWindows, "1");
  put(ds, DCM_DetectorVector, detector_vector);
  put(ds, DCM_NumberOfDetectors, std::to_string(n_frames));
  // Detector item d describes the frame whose DetectorVector value is d + 1.
  for (size_t d = 0; d < n_frames; ++d) {
    size_t k = d;
    for (size_t j = 0; j < n_frames; ++j) {
      const int det = j < spec.detector_vector.size() ? spec.detector_vector[j] : static_cast<int>(j) + 1;
      if (det == static_cast<int>(d) + 1) k = j;
    }
    DcmItem* item = new_item(ds, DCM_DetectorInformationSequence);
    put(item, DCM_CollimatorType, "PARA");
    const bool posterior = spec.views[k] == kPosterior;
    if (spec.view_encoding == ViewEncoding::kViewCode || spec.view_encoding == ViewEncoding::kBoth) {
      if (k < spec.view_codes.size()) {
        put_code(item, DCM_ViewCodeSequence, spec.view_codes[k][0], spec.view_codes[k][1], spec.view_codes[k][2]);
      } else if (posterior) {
        put_code(item, DCM_ViewCodeSequence, "399001007", "SCT", "posterior projection");
      } else {
        put_code(item, DCM_ViewCodeSequence, "399321004", "SCT", "anterior projection");
      }
    }
    if (spec.view_encoding == ViewEncoding::kOrientation || spec.view_encoding == ViewEncoding::kBoth) {
      // Camera view: anterior rows toward L, posterior rows toward R; columns toward F.
      std::array<double, 6> iop =
          posterior ? std::array<double, 6>{-1, 0, 0, 0, 0, -1} : std::array<double, 6>{1, 0, 0, 0, 0, -1};
      if (k < spec.orientation.size()) iop = spec.orientation[k];
      std::string text;
      for (int i = 0; i < 6; ++i) text += (i ? "\\" : "") + ds_text(iop[i]);
      put(item, DCM_ImageOrientationPatient, text);
    }
  }

  // Image pixel module.
  put(ds, DCM_SamplesPerPixel, "1");
  put(ds, DCM_PhotometricInterpretation, spec.photometric);
  put(ds, DCM_NumberOfFrames, spec.number_of_frames.empty() ? std::to_string(n_frames) : spec.number_of_frames);
  put(ds, DCM_Rows, std::to_string(spec.declared_rows > 0 ? spec.declared_rows : spec.rows));
  put(ds, DCM_Columns, std::to_string(spec.declared_cols > 0 ? spec.declared_cols : spec.cols));
  put(ds, DCM_PixelSpacing, "2.4\\2.4");
  put(ds, DCM_BitsAllocated, std::to_string(spec.bits_allocated));
  put(ds, DCM_BitsStored, std::to_string(spec.bits_stored));
  put(ds, DCM_HighBit, std::to_string(spec.bits_stored - 1));
  put(ds, DCM_PixelRepresentation, spec.is_signed ? "1" : "0");
  if (spec.write_rescale) {
    put(ds, DCM_RescaleSlope, ds_text(spec.slope));
    put(ds, DCM_RescaleIntercept, ds_text(spec.intercept));
  }

  const E_TransferSyntax xfer = xfer_of(spec.syntax);
  if (spec.syntax == FixtureSyntax::kJpeg2000Lossless || spec.syntax == FixtureSyntax::kJpeg2000Lossy) {
    put_jpeg2000_pixel_data(ds, spec, frames);
  } else {
    if (spec.bits_allocated == 8) {
      std::vector<Uint8> all;
      all.reserve(n * n_frames);
      for (const auto& f : frames)
        for (uint16_t v : f) all.push_back(static_cast<Uint8>(v));
      check(ds->putAndInsertUint8Array(DCM_PixelData, all.data(), all.size()), "put 8-bit PixelData");
    } else {
      std::vector<Uint16> all;
      all.reserve(n * n_frames);
      for (const auto& f : frames) all.insert(all.end(), f.begin(), f.end());
      check(ds->putAndInsertUint16Array(DCM_PixelData, all.data(), all.size()), "put 16-bit PixelData");
    }
    const DJ_RPLossless lossless(1, 0);
    const DJ_RPLossy lossy(95);
    const DJLSRepresentationParameter jpeg_ls(0, OFTrue);
    const DcmRepresentationParameter* param = nullptr;
    if (spec.syntax == FixtureSyntax::kJpegLossless) param = &lossless;
    if (spec.syntax == FixtureSyntax::kJpegBaseline) param = &lossy;
    if (spec.syntax == FixtureSyntax::kJpegLsLossless) param = &jpeg_ls;
    if (DcmXfer(xfer).isEncapsulated()) check(ds->chooseRepresentation(xfer, param), "encode pixel data");
    if (!ds->canWriteXfer(xfer))
      throw std::runtime_error(std::string("dicom fixture: cannot write ") + to_string(spec.syntax));
  }
  check(ff.saveFile(path.c_str(), xfer), "save " + path);
}

std::vector<uint16_t> synthetic_counts(int h, int w, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&] { return (static_cast<double>(rng()) + 0.5) / 4294967296.0; };
  auto poisson = [&](double lambda) -> uint16_t {
    if (lambda <= 0) return 0;
    if (lambda < 30) {  // Knuth
      const double limit = std::exp(-lambda);
      int k = 0;
      double p = uniform();
      while (p > limit) {
        ++k;
        p *= uniform();
      }
      return static_cast<uint16_t>(k);
    }
    const double g = std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
    return static_cast<uint16_t>(std::max(0.0, std::round(lambda + std::sqrt(lambda) * g)));
  };
  // Gentle per-seed variation in build and uptake.
  const double scale = 0.9 + 0.2 * uniform();
  const double uptake = 0.8 + 0.4 * uniform();
  auto blob = [](double dx, double dy, double rx, double ry) {
    const double d = (dx * dx) / (rx * rx) + (dy * dy) / (ry * ry);
    return d >= 1 ? 0.0 : (1 - d) * (1 - d);
  };
  std::vector<uint16_t> out(static_cast<size_t>(h) * w);
  for (int r = 0; r < h; ++r) {
    const double y = (r + 0.5) / h;  // 0 head .. 1 feet
    for (int c = 0; c < w; ++c) {
      const double x = ((c + 0.5) / w - 0.5) * 2;       // -1 .. 1
      double v = 0.5;                                   // room background
      v += 30 * blob(x, y - 0.07, 0.22 * scale, 0.06);  // head
      v += 14 * blob(x, y - 0.33, 0.62 * scale, 0.22);  // trunk
      v += 12 * (blob(x - 0.17, y - 0.76, 0.13 * scale, 0.24) + blob(x + 0.17, y - 0.76, 0.13 * scale, 0.24));  // legs
      v += 10 * (blob(x - 0.55, y - 0.35, 0.07, 0.2) + blob(x + 0.55, y - 0.35, 0.07, 0.2));                    // arms
      v += 40 * uptake * blob(x, y - 0.35, 0.05, 0.22);                                                         // spine
      v += 35 * uptake * (blob(x - 0.22, y - 0.49, 0.2, 0.05) + blob(x + 0.22, y - 0.49, 0.2, 0.05));  // pelvis
      v += 25 * (blob(x - 0.16, y - 0.36, 0.07, 0.03) + blob(x + 0.16, y - 0.36, 0.07, 0.03));         // kidneys
      v += 200 * blob(x, y - 0.53, 0.09, 0.02);                                                        // bladder
      out[static_cast<size_t>(r) * w + c] = poisson(v);
    }
  }
  return out;
}

std::string nm_fixture_bytes(const FixtureSpec& spec, const std::vector<std::vector<uint16_t>>& frames) {
  char tmpl[] = "/tmp/scintigen-fixture-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("dicom fixture: cannot create a temporary file");
  ::close(fd);
  const std::string path = tmpl;
  try {
    write_nm_fixture(path, spec, frames);
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ::unlink(path.c_str());
  return bytes;
}

namespace {

// Explicit VR little endian element writers for hand-built files.
void le16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void le32(std::string& out, uint32_t v) {
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}
// A short-length element (VR with a 2-byte length), value padded to even length with `pad`.
void element(std::string& out, uint16_t g, uint16_t e, const char* vr, std::string value, char pad = ' ') {
  if (value.size() % 2) value.push_back(pad);
  le16(out, g);
  le16(out, e);
  out.append(vr, 2);
  le16(out, static_cast<uint16_t>(value.size()));
  out += value;
}
void tag_length(std::string& out, uint16_t g, uint16_t e, uint32_t length) {
  le16(out, g);
  le16(out, e);
  le32(out, length);
}

// Preamble, DICM and a meta group for `sop_class`, `sop_instance` and `xfer`.
std::string part10_header(const std::string& sop_class, const std::string& sop_instance, const std::string& xfer) {
  std::string body;  // the meta group after its group length
  le16(body, 0x0002);
  le16(body, 0x0001);
  body += "OB";
  le16(body, 0);
  le32(body, 2);
  body += std::string("\x00\x01", 2);
  element(body, 0x0002, 0x0002, "UI", sop_class, '\0');
  element(body, 0x0002, 0x0003, "UI", sop_instance, '\0');
  element(body, 0x0002, 0x0010, "UI", xfer, '\0');
  std::string out(128, '\0');
  out += "DICM";
  le16(out, 0x0002);  // (0002,0000) UL group length
  le16(out, 0x0000);
  out += "UL";
  le16(out, 4);
  le32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

// Raw deflate (no zlib header), as the Deflated Explicit VR Little Endian syntax stores it.
std::string raw_deflate(const std::string& in) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("dicom fixture: deflateInit2 failed");
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  const int r = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (r != Z_STREAM_END) throw std::runtime_error("dicom fixture: deflate failed");
  return out;
}

constexpr const char* kExplicitLE = "1.2.840.10008.1.2.1";
constexpr const char* kImplicitLE = "1.2.840.10008.1.2";
constexpr const char* kDeflatedLE = "1.2.840.10008.1.2.1.99";

}  // namespace

std::string make_deep_nesting_dicom(int depth, bool closed, const std::string& transfer_syntax) {
  const std::string sop_class = "1.2.840.10008.5.1.4.1.1.20";
  const std::string sop_instance = "1.2.826.0.1.3680043.10.1234.99.1";
  if (transfer_syntax != kExplicitLE && transfer_syntax != kImplicitLE && transfer_syntax != kDeflatedLE)
    throw std::runtime_error("dicom fixture: make_deep_nesting_dicom writes explicit, implicit or deflated only");
  const bool implicit = transfer_syntax == kImplicitLE;
  // Data set: enough of an NM object to look like one, then the nest.
  std::string ds;
  auto put_element = [&](uint16_t g, uint16_t e, const char* vr, std::string value, char pad = ' ') {
    if (!implicit) return element(ds, g, e, vr, value, pad);
    if (value.size() % 2) value.push_back(pad);
    tag_length(ds, g, e, static_cast<uint32_t>(value.size()));
    ds += value;
  };
  put_element(0x0008, 0x0016, "UI", sop_class, '\0');
  put_element(0x0008, 0x0018, "UI", sop_instance, '\0');
  put_element(0x0008, 0x0060, "CS", "NM");
  for (int level = 0; level < depth; ++level) {
    // (0008,1140) Referenced Image Sequence, SQ, undefined length; one item, undefined length.
    if (implicit) {
      tag_length(ds, 0x0008, 0x1140, 0xffffffffu);
    } else {
      le16(ds, 0x0008);
      le16(ds, 0x1140);
      ds += "SQ";
      le16(ds, 0);
      le32(ds, 0xffffffffu);
    }
    tag_length(ds, 0xfffe, 0xe000, 0xffffffffu);
  }
  if (closed) {
    for (int level = 0; level < depth; ++level) {
      tag_length(ds, 0xfffe, 0xe00d, 0);  // item delimitation
      tag_length(ds, 0xfffe, 0xe0dd, 0);  // sequence delimitation
    }
    put_element(0x0028, 0x0010, "US", std::string("\x00\x04", 2));
  }
  const std::string head = part10_header(sop_class, sop_instance, transfer_syntax);
  return head + (transfer_syntax == kDeflatedLE ? raw_deflate(ds) : ds);
}

std::string make_deflate_bomb_dicom(uint64_t zeros) {
  const std::string sop_class = "1.2.840.10008.5.1.4.1.1.20";
  std::string ds;
  element(ds, 0x0008, 0x0016, "UI", sop_class, '\0');
  element(ds, 0x0008, 0x0060, "CS", "NM");
  le16(ds, 0x0009);  // (0009,1010) private OB
  le16(ds, 0x1010);
  ds += "OB";
  le16(ds, 0);
  le32(ds, static_cast<uint32_t>(zeros));
  ds.append(zeros, '\0');
  return part10_header(sop_class, "1.2.826.0.1.3680043.10.1234.99.2", kDeflatedLE) + raw_deflate(ds);
}

std::string make_signed_jp2k_wholebody(int rows, int cols) {
  FixtureSpec spec;
  spec.rows = rows;
  spec.cols = cols;
  spec.views = {kAnterior};
  spec.syntax = FixtureSyntax::kJpeg2000Lossy;
  spec.is_signed = true;
  if (cols > rows) {  // landscape: head on the left, as the orientation says
    spec.view_encoding = ViewEncoding::kBoth;
    spec.orientation = {{0, 0, -1, -1, 0, 0}};
  }
  std::vector<uint16_t> f = synthetic_counts(rows, cols, 1);
  for (uint16_t& v : f) v = static_cast<uint16_t>(static_cast<int16_t>(v) - 3);
  return nm_fixture_bytes(spec, {f});
}

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("dicom fixture: cannot write " + path);
}

}  // namespace

std::vector<std::string> write_crash_files(const std::string& dir) {
  std::vector<std::string> paths;
  auto put_file = [&](const std::string& name, const std::string& bytes) {
    paths.push_back(dir + "/" + name);
    write_bytes(paths.back(), bytes);
  };
  put_file("deep_nesting_20000.dcm", make_deep_nesting_dicom(20000, true));
  put_file("deep_nesting_truncated.dcm", make_deep_nesting_dicom(20000, false));
  put_file("signed_jp2k_1024x256.dcm", make_signed_jp2k_wholebody(1024, 256));
  put_file("signed_jp2k_256x1024.dcm", make_signed_jp2k_wholebody(256, 1024));
  return paths;
}

std::vector<std::string> write_seed_files(const std::string& dir) {
  std::vector<std::string> paths;
  auto frames_for = [](const FixtureSpec& s) {
    std::vector<std::vector<uint16_t>> frames;
    for (size_t k = 0; k < s.views.size(); ++k) {
      std::vector<uint16_t> f = synthetic_counts(s.rows, s.cols, static_cast<uint32_t>(k + 1));
      if (s.bits_allocated == 8)
        for (uint16_t& v : f) v = std::min<uint16_t>(v, 255);
      frames.push_back(std::move(f));
    }
    return frames;
  };
  auto seed = [&](const std::string& name, FixtureSpec s) {
    paths.push_back(dir + "/" + name + ".dcm");
    write_nm_fixture(paths.back(), s, frames_for(s));
  };
  // Small matrices keep the fuzzer fast; the aspect keeps them whole-body.
  FixtureSpec base;
  base.rows = 64;
  base.cols = 16;
  for (FixtureSyntax x :
       {FixtureSyntax::kExplicitLE, FixtureSyntax::kImplicitLE, FixtureSyntax::kExplicitBE, FixtureSyntax::kDeflated,
        FixtureSyntax::kRle, FixtureSyntax::kJpegLossless, FixtureSyntax::kJpegLsLossless,
        FixtureSyntax::kJpeg2000Lossless, FixtureSyntax::kJpeg2000Lossy}) {
    FixtureSpec s = base;
    s.syntax = x;
    seed(std::string("two_frames_") + to_string(x), s);
    s.views = {kPosterior};
    s.is_signed = true;
    seed(std::string("one_frame_signed_") + to_string(x), s);
  }
  {
    FixtureSpec s = base;
    s.bits_allocated = s.bits_stored = 8;
    s.syntax = FixtureSyntax::kJpegBaseline;
    seed("eight_bit_jpeg_baseline", s);
    s.syntax = FixtureSyntax::kRle;
    seed("eight_bit_rle", s);
  }
  {
    FixtureSpec s = base;
    s.write_rescale = true;
    s.slope = 0.5;
    s.intercept = -2;
    s.bits_stored = 12;
    seed("rescaled_12_bit", s);
  }
  {
    FixtureSpec s = base;
    s.view_encoding = ViewEncoding::kBoth;
    s.views = {kPosterior, kAnterior};
    s.detector_vector = {2, 1};
    seed("orientation_and_code_detector_vector", s);
    s.view_encoding = ViewEncoding::kNone;
    seed("no_view_information", s);
  }
  {
    FixtureSpec s = base;
    s.rows = 16;
    s.cols = 64;
    s.views = {kAnterior};
    s.view_encoding = ViewEncoding::kOrientation;
    s.orientation = {{0, 0, -1, -1, 0, 0}};
    seed("landscape_orientation", s);
    s.view_encoding = ViewEncoding::kNone;
    s.patient_orientation = "F\\L";
    seed("landscape_patient_orientation", s);
  }
  {
    FixtureSpec s = base;
    s.views = {kAnterior, kPosterior};
    s.view_encoding = ViewEncoding::kBoth;
    s.orientation = {{1, 0, 0, 0, 1, 0}, {-1, 0, 0, 0, 1, 0}};  // view code wins over a transverse orientation
    seed("view_code_with_transverse_orientation", s);
  }
  {
    FixtureSpec s = base;
    s.syntax = FixtureSyntax::kJpeg2000Lossless;
    s.jpeg2000_fragments_per_frame = 3;
    s.jpeg2000_offset_table = false;
    seed("jpeg2000_fragments_without_offset_table", s);
  }
  {
    FixtureSpec s = base;
    s.views = {kAnterior};
    s.view_encoding = ViewEncoding::kNone;
    s.image_id = "WB_POST";
    seed("image_id_view", s);
  }
  paths.push_back(dir + "/signed_jp2k_128x32.dcm");
  write_bytes(paths.back(), make_signed_jp2k_wholebody(128, 32));
  paths.push_back(dir + "/deep_nesting_100.dcm");
  write_bytes(paths.back(), make_deep_nesting_dicom(100, true));
  paths.push_back(dir + "/nesting_8.dcm");
  write_bytes(paths.back(), make_deep_nesting_dicom(8, true));
  return paths;
}

std::vector<float> mirror_columns(const std::vector<float>& v, int h, int w) {
  std::vector<float> out(v.size());
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) out[static_cast<size_t>(r) * w + c] = v[static_cast<size_t>(r) * w + (w - 1 - c)];
  return out;
}

std::vector<float> to_float(const std::vector<uint16_t>& stored, bool is_signed) {
  std::vector<float> out(stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    out[i] = is_signed ? static_cast<float>(static_cast<int16_t>(stored[i])) : static_cast<float>(stored[i]);
  }
  return out;
}

}  // namespace scintigen::testing
