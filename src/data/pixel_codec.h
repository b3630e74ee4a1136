// The image-store encoding of pixel arrays, and the checks that choose it (internal to
// src/data; the public API is dataset.h).
//
//   const PixelDtype dtype = all_uint16(p, n) ? PixelDtype::kUint16 : PixelDtype::kFloat32;
//   std::vector<unsigned char> bytes = encode_pixels(pixels, dtype);   // little endian
//   decode_pixels(bytes.data(), pixels.size(), dtype, out);           // the same floats back
//
// uint16 holds counts that are integers in 0..65535 (most real scans, at half the size);
// float32 holds everything else bit for bit, so that pixel_sha256 survives the round trip.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace scintigen::detail {

size_t bytes_per_value(PixelDtype d);
// The manifest's dtype column: "u16" or "f32".
const char* dtype_name(PixelDtype d);
// The inverse of dtype_name; nullopt for any other text.
std::optional<PixelDtype> dtype_from_name(const std::string& name);

// Little-endian encoding of the values (uint16: each value cast; call only where all_uint16).
std::vector<unsigned char> encode_pixels(const std::vector<float>& px, PixelDtype dtype);
// n values from their little-endian encoding.
void decode_pixels(const unsigned char* in, size_t n, PixelDtype dtype, float* out);

// True when every value is finite and >= 0.
bool counts_valid(const float* p, size_t n);
bool all_zero(const float* p, size_t n);
// True when every value is an integer in 0..65535 with its sign bit clear (-0.0 is not), checked
// exactly. Call only on valid counts (finite, >= 0).
bool all_uint16(const float* p, size_t n);

}  // namespace scintigen::detail
