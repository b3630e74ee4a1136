// The image-store encoding of pixel arrays (see pixel_codec.h).

#include "data/pixel_codec.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

namespace scintigen::detail {
namespace {

constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

}  // namespace

size_t bytes_per_value(PixelDtype d) {
  return d == PixelDtype::kUint16 ? 2 : 4;
}

const char* dtype_name(PixelDtype d) {
  return d == PixelDtype::kUint16 ? "u16" : "f32";
}

std::optional<PixelDtype> dtype_from_name(const std::string& name) {
  if (name == "u16") return PixelDtype::kUint16;
  if (name == "f32") return PixelDtype::kFloat32;
  return std::nullopt;
}

std::vector<unsigned char> encode_pixels(const std::vector<float>& px, PixelDtype dtype) {
  std::vector<unsigned char> out(px.size() * bytes_per_value(dtype));
  if (dtype == PixelDtype::kUint16) {
    if (kLittleEndian) {
      for (size_t i = 0; i < px.size(); ++i) {
        const auto v = static_cast<uint16_t>(static_cast<int32_t>(px[i]));
        std::memcpy(out.data() + 2 * i, &v, 2);
      }
    } else {
      for (size_t i = 0; i < px.size(); ++i) {
        const auto v = static_cast<uint16_t>(px[i]);
        out[2 * i] = static_cast<unsigned char>(v);
        out[2 * i + 1] = static_cast<unsigned char>(v >> 8);
      }
    }
  } else if (kLittleEndian) {
    std::memcpy(out.data(), px.data(), out.size());
  } else {
    for (size_t i = 0; i < px.size(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, &px[i], 4);
      for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<unsigned char>(bits >> (8 * b));
    }
  }
  return out;
}

void decode_pixels(const unsigned char* in, size_t n, PixelDtype dtype, float* out) {
  if (dtype == PixelDtype::kUint16) {
    if (kLittleEndian) {
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, in + 2 * i, 2);
        out[i] = static_cast<float>(v);
      }
    } else {
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(static_cast<uint16_t>(in[2 * i] | (in[2 * i + 1] << 8)));
    }
  } else if (kLittleEndian) {
    std::memcpy(out, in, 4 * n);
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits = 0;
      for (int b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(in[4 * i + b]) << (8 * b);
      std::memcpy(&out[i], &bits, 4);
    }
  }
}

bool counts_valid(const float* p, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= (p[i] < 0.f) | (p[i] > std::numeric_limits<float>::max()) | (p[i] != p[i]);
  return !bad;
}

bool all_zero(const float* p, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= p[i] != 0.f;
  return !bad;
}

bool all_uint16(const float* p, size_t n) {
  // Branch-free blocks (the compiler vectorises them), stopping after the first bad block.
  constexpr size_t kBlock = 4096;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    int bad = 0;
    for (size_t i = b; i < e; ++i) {
      const float x = std::min(p[i], 65536.f);  // keeps the int conversion defined
      uint32_t bits;
      std::memcpy(&bits, &x, 4);
      bad |= (x > 65535.f) | (static_cast<float>(static_cast<int32_t>(x)) != x) | static_cast<int>(bits >> 31);
    }
    if (bad) return false;
  }
  return true;
}

}  // namespace scintigen::detail
