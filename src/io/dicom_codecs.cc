// Decoding pixel data (see dicom_codecs.h).

#include "io/dicom_codecs.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <openjpeg.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace scintigen::detail {
namespace {

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
    throw InputError(
        path, where + ": " + what + (messages.empty() ? "" : " (" + messages.substr(0, messages.size() - 2) + ")"),
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
  if (!comp.data || static_cast<long>(comp.w) != f.cols || static_cast<long>(comp.h) != f.rows || comp.prec < 1 ||
      static_cast<int>(comp.prec) > f.bits_allocated) {
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

// Bytes of one pixel item, loaded from the file on demand.
std::vector<uint8_t> fragment_bytes(const std::string& path, DcmPixelItem* item, uint64_t file_size) {
  const Uint32 len = item->getLength();
  if (len == 0) return {};
  if (len > file_size)
    throw InputError(path, "file is truncated", "a pixel data fragment extends past the end of the file");
  Uint8* p = nullptr;
  if (item->getUint8Array(p).bad() || !p)
    throw InputError(path, "file is truncated", "a pixel data fragment cannot be read");
  std::vector<uint8_t> out(p, p + len);
  item->compact();  // drop DCMTK's copy; it can be reloaded from the file
  return out;
}

// Splits an encapsulated pixel sequence into one byte string per frame.
std::vector<std::vector<uint8_t>> frame_fragments(const std::string& path, DcmPixelSequence* seq, int frames,
                                                  uint64_t file_size) {
  const unsigned long card = seq->card();
  if (card < 2) throw InputError(path, "encapsulated PixelData holds no fragments", "the file holds no image");
  std::vector<DcmPixelItem*> items(card);
  for (unsigned long i = 0; i < card; ++i) {
    if (seq->getItem(items[i], i).bad() || !items[i])
      throw InputError(path, "cannot read pixel data fragment " + std::to_string(i), "");
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
      const uint32_t off =
          bot[4 * k] | (bot[4 * k + 1] << 8) | (bot[4 * k + 2] << 16) | (uint32_t(bot[4 * k + 3]) << 24);
      auto it = std::find(starts.begin(), starts.end(), off);
      if (it == starts.end())
        mapped = false;
      else
        first[k] = static_cast<size_t>(it - starts.begin());
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
      throw InputError(
          path, "cannot split " + std::to_string(nfrag) + " fragments into " + std::to_string(frames) + " frames",
          "the offset table is missing or wrong");
    }
    out[k].insert(out[k].end(), b.begin(), b.end());
  }
  if (k != frames - 1) {
    throw InputError(path,
                     "cannot split " + std::to_string(nfrag) + " fragments into " + std::to_string(frames) + " frames",
                     "the offset table is missing or wrong");
  }
  return out;
}

}  // namespace

std::vector<uint8_t> read_raw_frames(const std::string& path, DcmDataset* ds, const PixelFormat& f,
                                     E_TransferSyntax xfer, uint64_t file_size) {
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
      throw InputError(path,
                       "PixelData holds " + std::to_string(holds) + " bytes but Rows x Columns x Frames x " +
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
      if (xfer == EXS_RLELossless)
        check_rle_frame(path, k, frames[k], f);
      else
        check_jpeg_frame(path, k, frames[k], f);
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
    OFCondition c = pixel_data->getUncompressedFrame(ds, k, start_fragment, buf.data(), static_cast<Uint32>(buf.size()),
                                                     color_model);
    if (c.bad()) {
      throw InputError(path, "cannot decode frame " + std::to_string(k) + " (" + x.getXferName() + "): " + c.text(),
                       "the compressed pixel data are corrupt");
    }
    if (!color_model.empty() && color_model != "MONOCHROME2") {
      throw InputError(
          path, "decoded frame " + std::to_string(k) + " is " + printable(color_model.c_str()) + ", not MONOCHROME2",
          "");
    }
    std::memcpy(raw.data() + k * frame_bytes, buf.data(), frame_bytes);
  }
  pixel_data->compact();
  return raw;
}

void check_jpeg_frame(const std::string& path, int frame, const std::vector<uint8_t>& b, const PixelFormat& f) {
  const std::string where = "JPEG frame " + std::to_string(frame);
  if (b.size() < 4 || b[0] != 0xff || b[1] != 0xd8) {
    throw InputError(path, where + " does not start with an SOI marker", "the compressed pixel data are corrupt");
  }
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xff) break;
    const uint8_t marker = b[i + 1];
    if (marker == 0xff) {
      ++i;
      continue;
    }  // fill byte
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
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
        throw InputError(path,
                         where + " holds " + std::to_string(comps) + " component(s) of " + std::to_string(w) + " x " +
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

void check_rle_frame(const std::string& path, int frame, const std::vector<uint8_t>& b, const PixelFormat& f) {
  const std::string where = "RLE frame " + std::to_string(frame);
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) |
           (static_cast<uint32_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
  };
  if (b.size() < 64)
    throw InputError(path, where + " is shorter than its 64-byte header", "the compressed pixel data are corrupt");
  const uint32_t segments = u32(0);
  const uint32_t expected_segments = static_cast<uint32_t>(f.bits_allocated / 8);
  if (segments != expected_segments) {
    throw InputError(
        path,
        where + " holds " + std::to_string(segments) + " segment(s), expected " + std::to_string(expected_segments),
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
      throw InputError(path,
                       where + " segment " + std::to_string(s) + " decodes to " + std::to_string(decoded) +
                           " bytes, Rows x Columns is " + std::to_string(pixels),
                       "the header and the compressed pixel data disagree");
    }
  }
}

bool starts_codestream(const std::vector<uint8_t>& b) {
  if (b.size() < 4) return false;
  return (b[0] == 0xff && (b[1] == 0xd8 || b[1] == 0x4f)) || (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 12);
}

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

void clamp_counts(const std::string& path, const PixelFormat& f, std::vector<float>& counts, ClampedCounts& clamped) {
  for (float& c : counts) {
    if (!std::isfinite(c)) {
      throw InputError(path,
                       "RescaleSlope " + format_number(f.slope) + " and RescaleIntercept " +
                           format_number(f.intercept) + " give counts beyond the float range",
                       "the header is corrupt");
    }
    if (c < 0) {
      ++clamped.n;
      clamped.lowest = std::min(clamped.lowest, c);
      c = 0;
    }
  }
}

}  // namespace scintigen::detail
