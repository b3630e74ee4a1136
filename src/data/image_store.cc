// images.bin, the packed pixel store (see image_store.h).

#include "data/image_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "data/pixel_codec.h"

namespace scintigen::detail {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

uint64_t align_up(uint64_t x) {
  return (x + kImageAlignment - 1) / kImageAlignment * kImageAlignment;
}

}  // namespace

void ImageStore::create(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InternalError(path, "cannot create: " + errno_text());
}

void ImageStore::open(const std::string& path, bool writable) {
  path_ = path;
  fd_ = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path, std::string("cannot open") + (writable ? " for writing: " : ": ") + errno_text());
}

void ImageStore::close() {
  if (fd_ < 0) return;
  // Only a writer appends; the writer lock is still held while this runs.
  if (append_end_ > committed_end_ && ::ftruncate(fd_, static_cast<off_t>(committed_end_)) == 0) ::fsync(fd_);
  ::close(fd_);
  fd_ = -1;
}

uint64_t ImageStore::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw InputError(path_, "cannot stat: " + errno_text());
  return static_cast<uint64_t>(st.st_size);
}

void ImageStore::start_after(uint64_t end) {
  committed_end_ = append_end_ = end;
  if (size() > end) {
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0 || ::fsync(fd_) != 0)
      throw InternalError(path_, "cannot truncate uncommitted bytes: " + errno_text());
  }
}

uint64_t ImageStore::append(const std::vector<unsigned char>& bytes) {
  const uint64_t offset = align_up(append_end_);
  const unsigned char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t at = offset;
  while (n > 0) {
    ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(at));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw InternalError(path_, "write failed: " + errno_text(), "is the disk full?");
    }
    p += w, n -= static_cast<size_t>(w), at += static_cast<uint64_t>(w);
  }
  append_end_ = offset + bytes.size();
  return offset;
}

void ImageStore::flush(const std::string& hint) {
  if (::fsync(fd_) != 0) throw InternalError(path_, "cannot flush: " + errno_text(), hint);
}

bool ImageStore::read(uint64_t offset, unsigned char* p, size_t n) const {
  while (n > 0) {
    ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw InputError(path_, "read failed: " + errno_text());
    }
    if (r == 0) return false;
    p += r, n -= static_cast<size_t>(r), offset += static_cast<uint64_t>(r);
  }
  return true;
}

std::string placement_problem(const ScanRecord& r, uint64_t store_size) {
  if (r.height <= 0 || r.width <= 0) return fmt::format("invalid shape {}x{}", r.height, r.width);
  const uint64_t expect =
      2ull * static_cast<uint64_t>(r.height) * static_cast<uint64_t>(r.width) * bytes_per_value(r.dtype);
  if (r.nbytes != expect)
    return fmt::format("nbytes is {}, but 2 x {} x {} {} needs {}", r.nbytes, r.height, r.width, dtype_name(r.dtype),
                       expect);
  if (r.offset % kImageAlignment != 0)
    return fmt::format("offset {} is not {}-byte aligned", r.offset, kImageAlignment);
  if (r.offset + r.nbytes > store_size)
    return fmt::format("pixels at bytes {}..{} lie beyond the end of images.bin ({} bytes)", r.offset,
                       r.offset + r.nbytes, store_size);
  return "";
}

}  // namespace scintigen::detail
