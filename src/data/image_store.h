// images.bin, the packed pixel store of a dataset (internal to src/data; the public API is
// dataset.h).
//
//   ImageStore store;
//   store.open("ds/images.bin", /*writable=*/true);
//   store.start_after(end_of_committed_records);       // cuts off a killed writer's bytes
//   const uint64_t offset = store.append(bytes);       // 64-byte aligned
//   store.flush("is the disk full?");                  // then commit the manifest rows
//   store.mark_committed();
//
// Arrays are only ever appended. Bytes past the committed end belong to scans whose manifest
// rows were never committed: close() cuts off those this writer appended, start_after() those
// a killed writer left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace scintigen::detail {

inline constexpr uint64_t kImageAlignment = 64;

class ImageStore {
 public:
  ImageStore() = default;
  ImageStore(const ImageStore&) = delete;
  ImageStore& operator=(const ImageStore&) = delete;
  ~ImageStore() { close(); }

  // A new, empty file; InternalError when it exists or cannot be made.
  void create(const std::string& path);
  // An existing file; InputError when it cannot be opened.
  void open(const std::string& path, bool writable);
  // Cuts off what was appended and not committed (best effort), then closes.
  void close();

  const std::string& path() const { return path_; }
  uint64_t size() const;  // bytes in the file now

  // Everything up to `end` is committed; bytes past it are cut off. InternalError on failure.
  void start_after(uint64_t end);
  // Writes `bytes` at the first aligned offset after everything appended; returns that offset.
  uint64_t append(const std::vector<unsigned char>& bytes);
  // Makes everything appended durable (fsync); InternalError "cannot flush" with `hint`.
  void flush(const std::string& hint);
  // Everything appended is now referenced by committed manifest rows.
  void mark_committed() { committed_end_ = append_end_; }

  // Reads n bytes at `offset`; false when the file ends first.
  bool read(uint64_t offset, unsigned char* p, size_t n) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t committed_end_ = 0;  // end of the last committed record
  uint64_t append_end_ = 0;     // end of the last appended record
};

// What is wrong with where `r` says its pixels are, in a store of `store_size` bytes ("" when
// nothing): its shape, nbytes against shape and dtype, alignment, the end of the store.
std::string placement_problem(const ScanRecord& r, uint64_t store_size);

}  // namespace scintigen::detail
