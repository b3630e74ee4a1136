// SHA-256 of byte buffers (OpenSSL's libcrypto).
//
//   Sha256 h; h.update(data, n); std::string hex = h.hex_digest();
//   std::string weights = sha256_file("model/ema.pt");
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace scintigen {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t n);
  // Finishes the hash; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(const void* data, std::size_t n);
std::string sha256_hex(const std::string& s);
// SHA-256 of a file's bytes, read in 4 MiB pieces; "" when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace scintigen
