// Bounding how deep sequences nest before DCMTK parses a file (internal to src/io).
//
//   MemoryByteSource src(data, size);
//   check_sequence_nesting("scan.dcm", src, {});   // throws InputError when too deep
//
// DCMTK reads a sequence, its items and their sequences by recursion, one set of stack frames
// per level, and frees them the same way: a file whose sequences nest some ten thousand levels
// deep overflows the stack (dcmdump crashes on it too). This pre-scan walks the raw bytes with
// an explicit depth count, reading only element headers and skipping values, and refuses a
// file before DCMTK sees it when sequences nest deeper than `max_depth`.
//
// What it follows: the Part 10 preamble and meta group, then the data set in the transfer
// syntax the meta group names (implicit or explicit VR, little or big endian; deflated data
// sets are inflated on the fly, at most `max_inflated_bytes`); without a meta group the syntax
// is guessed from the first element, as DCMTK does. Sequences are VR SQ (explicit), undefined
// lengths (any VR except encapsulated Pixel Data, whose fragments never nest; UN contents are
// implicit VR little endian, CP-246), and in implicit VR the dictionary's SQ elements or a
// defined-length value that starts with an item tag.
//
// Where the bytes stop making sense (a truncated or corrupt file, an encoding DCMTK tolerates
// and this scan does not), depth can no longer be tracked; the scan then bounds it by the
// number of item tags left in the stream, since every level below a sequence needs one. A
// malformed tail with more items than the limit allows is refused as well. A deflated data set
// must parse to its end: DCMTK allocates every declared value length of a deflated stream
// before reading it (it cannot defer them), so a corrupt or truncated one is refused here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace scintigen::detail {

// A forward byte stream: read, skip, and push-back for peeking.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; fewer only at the end of the stream.
  size_t read(uint8_t* dst, size_t n);
  // Skips up to n bytes; fewer only at the end of the stream.
  uint64_t skip(uint64_t n);
  // Puts back bytes just read; the next reads return them again, in the same order.
  void unread(const uint8_t* src, size_t n);
  // Bytes consumed so far.
  uint64_t position() const { return position_; }

 protected:
  virtual size_t do_read(uint8_t* dst, size_t n) = 0;
  virtual uint64_t do_skip(uint64_t n);  // default: read and discard

 private:
  std::vector<uint8_t> pushed_;  // bytes put back, read again first (stored in reverse)
  uint64_t position_ = 0;
};

class MemoryByteSource : public ByteSource {
 public:
  MemoryByteSource(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data)), size_(size) {}

 protected:
  size_t do_read(uint8_t* dst, size_t n) override;
  uint64_t do_skip(uint64_t n) override;

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

class FileByteSource : public ByteSource {
 public:
  explicit FileByteSource(const std::string& path);
  bool ok() const { return static_cast<bool>(in_); }

 protected:
  size_t do_read(uint8_t* dst, size_t n) override;
  uint64_t do_skip(uint64_t n) override;

 private:
  std::ifstream in_;
  uint64_t size_ = 0, at_ = 0;
};

struct NestingLimits {
  int max_depth = 64;                          // sequences inside sequences
  uint64_t max_inflated_bytes = 320ull << 20;  // a deflated data set may inflate to this much
};

struct NestingScan {
  int max_depth = 0;      // the deepest nesting seen
  bool deflated = false;  // the data set was inflated to be scanned
};

// Throws InputError(path, "sequences nested deeper than N levels", ...) when the stream's
// sequences nest deeper than limits.max_depth, or when a deflated data set inflates past
// limits.max_inflated_bytes.
NestingScan check_sequence_nesting(const std::string& path, ByteSource& src, const NestingLimits& limits);

}  // namespace scintigen::detail
