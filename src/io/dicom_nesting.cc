// Pre-scan of sequence nesting (see dicom_nesting.h).

#include "io/dicom_nesting.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctag.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace scintigen::detail {

// ---------------------------------------------------------------------------------------
// Byte sources.

size_t ByteSource::read(uint8_t* dst, size_t n) {
  size_t got = 0;
  while (got < n && !pushed_.empty()) {
    dst[got++] = pushed_.back();
    pushed_.pop_back();
  }
  if (got < n) got += do_read(dst + got, n - got);
  position_ += got;
  return got;
}

uint64_t ByteSource::skip(uint64_t n) {
  uint64_t done = 0;
  while (done < n && !pushed_.empty()) {
    pushed_.pop_back();
    ++done;
  }
  if (done < n) done += do_skip(n - done);
  position_ += done;
  return done;
}

void ByteSource::unread(const uint8_t* src, size_t n) {
  for (size_t i = n; i > 0; --i) pushed_.push_back(src[i - 1]);
  position_ -= n;
}

uint64_t ByteSource::do_skip(uint64_t n) {
  uint8_t buf[16384];
  uint64_t done = 0;
  while (done < n) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, n - done));
    const size_t got = do_read(buf, want);
    done += got;
    if (got < want) break;
  }
  return done;
}

size_t MemoryByteSource::do_read(uint8_t* dst, size_t n) {
  const size_t k = std::min(n, size_ - at_);
  if (k) std::memcpy(dst, data_ + at_, k);
  at_ += k;
  return k;
}

uint64_t MemoryByteSource::do_skip(uint64_t n) {
  const uint64_t k = std::min<uint64_t>(n, size_ - at_);
  at_ += static_cast<size_t>(k);
  return k;
}

FileByteSource::FileByteSource(const std::string& path) : in_(path, std::ios::binary) {
  std::error_code ec;
  size_ = std::filesystem::file_size(path, ec);
  if (ec) size_ = 0;
}

size_t FileByteSource::do_read(uint8_t* dst, size_t n) {
  if (!in_) return 0;
  in_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
  const size_t got = static_cast<size_t>(in_.gcount());
  at_ += got;
  return got;
}

uint64_t FileByteSource::do_skip(uint64_t n) {
  if (!in_) return 0;
  const uint64_t k = std::min<uint64_t>(n, size_ > at_ ? size_ - at_ : 0);
  in_.seekg(static_cast<std::streamoff>(at_ + k));
  at_ += k;
  return k;
}

namespace {

// The raw-deflated remainder of another source, inflated on demand, at most `limit` bytes.
class InflateSource : public ByteSource {
 public:
  InflateSource(const std::string& path, ByteSource& in, uint64_t limit) : path_(path), in_(in), limit_(limit) {
    std::memset(&z_, 0, sizeof z_);
    ok_ = inflateInit2(&z_, -MAX_WBITS) == Z_OK;
  }
  ~InflateSource() override {
    if (ok_) inflateEnd(&z_);
  }

 protected:
  size_t do_read(uint8_t* dst, size_t n) override {
    size_t got = 0;
    while (ok_ && !done_ && got < n) {
      if (z_.avail_in == 0) {
        z_.next_in = buf_;
        z_.avail_in = static_cast<uInt>(in_.read(buf_, sizeof buf_));
        if (z_.avail_in == 0) break;  // the compressed stream ends early: truncated
      }
      z_.next_out = dst + got;
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n - got, 1u << 20));
      const uInt before = z_.avail_out;
      const int r = inflate(&z_, Z_NO_FLUSH);
      got += before - z_.avail_out;
      if (r == Z_STREAM_END)
        done_ = true;
      else if (r != Z_OK && r != Z_BUF_ERROR)
        break;  // corrupt: stop here, DCMTK says why
      else if (r == Z_BUF_ERROR && z_.avail_in != 0)
        break;
    }
    inflated_ += got;
    if (inflated_ > limit_) {
      throw InputError(path_, "the deflated data set inflates to more than " + std::to_string(limit_) + " bytes",
                       "a whole-body scan is far smaller; the file is corrupt or crafted");
    }
    return got;
  }

 private:
  std::string path_;
  ByteSource& in_;
  uint64_t limit_;
  uint64_t inflated_ = 0;
  z_stream z_;
  bool ok_ = false, done_ = false;
  uint8_t buf_[16384];
};

constexpr uint64_t kUndefined = ~uint64_t{0};  // no end position: read until a delimiter
constexpr uint32_t kUndefinedLength = 0xffffffffu;

struct Syntax {
  bool explicit_vr = true;
  bool big_endian = false;
};

struct Header {
  uint16_t group = 0, element = 0;
  char vr[2] = {0, 0};
  bool has_vr = false;
  uint32_t length = 0;
  bool is(uint16_t g, uint16_t e) const { return group == g && element == e; }
};

bool upper_letter(uint8_t c) {
  return c >= 'A' && c <= 'Z';
}

// Explicit VRs with a 2-byte length field (PS3.5 7.1.2); every other VR uses 2 reserved bytes
// and a 4-byte length, like DCMTK's handling of unknown upper-case VRs. DCMTK reads a VR of
// other characters with a 2-byte length.
bool short_length_vr(const char vr[2]) {
  static const char* kShort[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
                                 "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};
  for (const char* s : kShort)
    if (vr[0] == s[0] && vr[1] == s[1]) return true;
  return !(upper_letter(static_cast<uint8_t>(vr[0])) && upper_letter(static_cast<uint8_t>(vr[1])));
}

class NestingScanner {
 public:
  NestingScanner(const std::string& path, const NestingLimits& limits) : path_(path), limits_(limits) {}

  NestingScan run(ByteSource& file) {
    ByteSource* src = &file;
    Syntax s;
    bool have_syntax = false;
    bool deflated = false;
    uint8_t head[132];
    const size_t n = file.read(head, sizeof head);
    if (n == sizeof head && std::memcmp(head + 128, "DICM", 4) == 0) {
      if (!meta_group(file, s, have_syntax, deflated)) return finish(file);
    } else {
      file.unread(head, n);
      uint8_t g[2];
      if (file.read(g, 2) == 2) {
        file.unread(g, 2);
        if (g[0] == 2 && g[1] == 0 && !meta_group(file, s, have_syntax, deflated)) return finish(file);
      }
    }
    InflateSource inflated(path_, file, limits_.max_inflated_bytes);
    if (deflated) src = &inflated;
    result_.deflated = deflated;
    if (!have_syntax && !guess_syntax(*src, s)) return result();
    if (!elements(*src, s, 0, kUndefined, true)) {
      // DCMTK cannot leave the values of a deflated stream for later: it allocates each declared
      // length, up to 4 GiB, before reading. A deflated data set must therefore parse here.
      if (deflated) {
        uint8_t b;
        if (src->read(&b, 1) == 0) {
          throw InputError(path_, "file is truncated",
                           "the file ends inside an element; copy it again from the source");
        }
        throw InputError(path_,
                         "malformed DICOM: the deflated data set does not parse after byte " +
                             std::to_string(failed_at_) + " of its inflated bytes",
                         "the file is corrupt; convert it to explicit VR little endian");
      }
      return finish(*src);
    }
    return result();
  }

 private:
  // Group 0002, always explicit VR little endian; sets the data set's syntax from (0002,0010).
  // Like DCMTK, every element within the group length (0002,0000) belongs to the meta group,
  // whatever its tag; without a group length, the elements of group 0002.
  bool meta_group(ByteSource& src, Syntax& s, bool& have_syntax, bool& deflated) {
    const Syntax meta{true, false};
    uint64_t end = kUndefined;
    for (;;) {
      if (end != kUndefined) {
        if (src.position() >= end) return true;
      } else {
        uint8_t g[2];
        if (src.read(g, 2) != 2) return true;  // nothing after the meta group
        src.unread(g, 2);
        if (!(g[0] == 2 && g[1] == 0)) return true;
      }
      Header h;
      if (!header(src, meta, h) || h.length == kUndefinedLength) return fail(src, 0);
      if (h.is(0x0002, 0x0000) && h.length == 4 && end == kUndefined) {
        uint8_t v[4];
        if (src.read(v, 4) != 4) return fail(src, 0);
        end = src.position() + u32(v, false);
        continue;
      }
      if (h.is(0x0002, 0x0010) && h.length <= 64) {
        std::string uid(h.length, '\0');
        if (src.read(reinterpret_cast<uint8_t*>(&uid[0]), h.length) != h.length) {
          return fail(src, 0);
        }
        while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
        have_syntax = true;
        deflated = uid == "1.2.840.10008.1.2.1.99";
        if (uid == "1.2.840.10008.1.2")
          s = {false, false};
        else if (uid == "1.2.840.10008.1.2.2")
          s = {true, true};
        else
          s = {true, false};  // explicit little endian, encapsulated or deflated
      } else if (src.skip(h.length) != h.length) {
        return fail(src, 0);
      }
    }
  }

  // A data set without a meta group: explicit when bytes 4-5 look like a VR; little endian
  // when the group number reads smaller that way (groups are small numbers).
  bool guess_syntax(ByteSource& src, Syntax& s) {
    uint8_t b[6];
    const size_t n = src.read(b, 6);
    src.unread(b, n);
    if (n < 6) return false;
    s.explicit_vr = upper_letter(b[4]) && upper_letter(b[5]);
    const uint16_t le = static_cast<uint16_t>(b[0] | (b[1] << 8)), be = static_cast<uint16_t>((b[0] << 8) | b[1]);
    s.big_endian = be < le;
    return true;
  }

  uint16_t u16(const uint8_t* p, bool be) const {
    return be ? static_cast<uint16_t>((p[0] << 8) | p[1]) : static_cast<uint16_t>(p[0] | (p[1] << 8));
  }
  uint32_t u32(const uint8_t* p, bool be) const {
    return be ? (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]
              : uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  }

  // Tag, VR (explicit, not for item tags) and length. False at the end of the stream.
  bool header(ByteSource& src, const Syntax& s, Header& h) {
    uint8_t b[8];
    if (src.read(b, 4) != 4) return false;
    h.group = u16(b, s.big_endian);
    h.element = u16(b + 2, s.big_endian);
    h.has_vr = s.explicit_vr && h.group != 0xfffe;
    if (!h.has_vr) {
      if (src.read(b, 4) != 4) return false;
      h.length = u32(b, s.big_endian);
      return true;
    }
    if (src.read(b, 2) != 2) return false;
    h.vr[0] = static_cast<char>(b[0]);
    h.vr[1] = static_cast<char>(b[1]);
    if (short_length_vr(h.vr)) {
      if (src.read(b, 2) != 2) return false;
      h.length = u16(b, s.big_endian);
    } else {
      if (src.read(b, 6) != 6) return false;
      h.length = u32(b + 2, s.big_endian);
    }
    return true;
  }

  void enter(int depth) {
    max_seen_ = std::max(max_seen_, depth);
    if (depth > limits_.max_depth) {
      throw InputError(path_, "sequences nested deeper than " + std::to_string(limits_.max_depth) + " levels",
                       "no image needs this; the file is corrupt or crafted");
    }
  }

  bool fail(ByteSource& src, int depth) {
    depth_at_failure_ = depth;
    failed_at_ = src.position();
    return false;
  }

  // The elements of a data set or item: until `end`, an item delimiter (undefined-length item)
  // or the end of the stream (`top`).
  bool elements(ByteSource& src, const Syntax& s, int depth, uint64_t end, bool top) {
    while (end == kUndefined || src.position() < end) {
      Header h;
      const uint64_t at = src.position();
      if (!header(src, s, h)) return top && src.position() == at ? true : fail(src, depth);
      if (h.group == 0xfffe) {
        if (h.is(0xfffe, 0xe00d) && end == kUndefined && !top) return true;
        return fail(src, depth);
      }
      const bool undefined = h.length == kUndefinedLength;
      if (!undefined && end != kUndefined && src.position() + h.length > end) return fail(src, depth);
      if (h.is(0x7fe0, 0x0010) && undefined) {
        if (!pixel_fragments(src, s)) return fail(src, depth);
        continue;
      }
      bool sequence = undefined;
      Syntax inner = s;
      if (undefined && h.has_vr && h.vr[0] == 'U' && h.vr[1] == 'N') inner = {false, false};  // CP-246
      if (!undefined && h.has_vr && h.vr[0] == 'S' && h.vr[1] == 'Q') sequence = true;
      if (!undefined && !h.has_vr && !sequence) sequence = dictionary_sequence(h) || starts_with_item(src, s, h);
      if (sequence) {
        enter(depth + 1);
        if (!items(src, inner, depth + 1, undefined ? kUndefined : src.position() + h.length)) return false;
      } else if (src.skip(h.length) != h.length) {
        return fail(src, depth);
      }
    }
    return src.position() == end || fail(src, depth);
  }

  // The items of a sequence: until `end` or a sequence delimiter (undefined length).
  bool items(ByteSource& src, const Syntax& s, int depth, uint64_t end) {
    while (end == kUndefined || src.position() < end) {
      Header h;
      const Syntax no_vr{false, s.big_endian};
      if (!header(src, no_vr, h)) return fail(src, depth);
      if (h.is(0xfffe, 0xe0dd) && end == kUndefined) return true;
      if (!h.is(0xfffe, 0xe000)) return fail(src, depth);
      const bool undefined = h.length == kUndefinedLength;
      if (!undefined && end != kUndefined && src.position() + h.length > end) return fail(src, depth);
      if (!elements(src, s, depth, undefined ? kUndefined : src.position() + h.length, false)) return false;
    }
    return src.position() == end || fail(src, depth);
  }

  // Encapsulated pixel data: items of compressed bytes (never nested) and a sequence delimiter.
  bool pixel_fragments(ByteSource& src, const Syntax& s) {
    for (;;) {
      Header h;
      if (!header(src, {false, s.big_endian}, h)) return false;
      if (h.is(0xfffe, 0xe0dd)) return true;
      if (!h.is(0xfffe, 0xe000) || h.length == kUndefinedLength || src.skip(h.length) != h.length) return false;
    }
  }

  bool dictionary_sequence(const Header& h) const {
    if (h.group & 1) return false;  // private: DCMTK needs the creator, which we do not track
    return DcmTag(h.group, h.element).getEVR() == EVR_SQ;
  }

  // A defined-length value in implicit VR that begins with an item tag (a private sequence
  // DCMTK may know from its dictionary): followed as a sequence, to be safe.
  bool starts_with_item(ByteSource& src, const Syntax& s, const Header& h) {
    if (h.length < 8) return false;
    uint8_t b[4];
    const size_t n = src.read(b, 4);
    src.unread(b, n);
    return n == 4 && u16(b, s.big_endian) == 0xfffe && u16(b + 2, s.big_endian) == 0xe000;
  }

  // The structure stopped parsing at depth_at_failure_: bound the rest by its item tags.
  NestingScan finish(ByteSource& src) {
    const uint64_t depth = static_cast<uint64_t>(depth_at_failure_);
    uint64_t items = 0;
    uint8_t buf[16384 + 3];
    size_t keep = 0;
    for (;;) {
      const size_t got = src.read(buf + keep, sizeof buf - keep);
      if (got == 0) break;
      const size_t n = keep + got;
      for (size_t i = 0; i + 3 < n; ++i) {
        const bool le = buf[i] == 0xfe && buf[i + 1] == 0xff && buf[i + 2] == 0x00 && buf[i + 3] == 0xe0;
        const bool be = buf[i] == 0xff && buf[i + 1] == 0xfe && buf[i + 2] == 0xe0 && buf[i + 3] == 0x00;
        items += le || be;
      }
      keep = std::min<size_t>(3, n);
      std::memmove(buf, buf + n - keep, keep);
      if (depth + items > static_cast<uint64_t>(limits_.max_depth)) {
        throw InputError(path_,
                         "sequences may nest deeper than " + std::to_string(limits_.max_depth) + " levels after byte " +
                             std::to_string(failed_at_) + ", where the structure stops parsing",
                         "the file is corrupt or crafted");
      }
    }
    return result();
  }

  NestingScan result() {
    result_.max_depth = max_seen_;
    return result_;
  }

  std::string path_;
  NestingLimits limits_;
  int max_seen_ = 0;
  int depth_at_failure_ = 0;
  uint64_t failed_at_ = 0;
  NestingScan result_;
};

}  // namespace

NestingScan check_sequence_nesting(const std::string& path, ByteSource& src, const NestingLimits& limits) {
  return NestingScanner(path, limits).run(src);
}

}  // namespace scintigen::detail
