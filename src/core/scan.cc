#include "core/scan.h"

#include <cstring>

#include "core/error.h"
#include "core/sha256.h"

namespace scintigen {

const char* to_string(ViewSet v) {
  switch (v) {
    case ViewSet::kBoth: return "both";
    case ViewSet::kAnteriorOnly: return "anterior";
    case ViewSet::kPosteriorOnly: return "posterior";
  }
  return "?";
}

const char* to_string(Origin o) {
  switch (o) {
    case Origin::kReal: return "real";
    case Origin::kSimulated: return "simulated";
    case Origin::kSynthetic: return "synthetic";
  }
  return "?";
}

ViewSet view_set_from_string(const std::string& s, const std::string& where) {
  if (s == "both") return ViewSet::kBoth;
  if (s == "anterior") return ViewSet::kAnteriorOnly;
  if (s == "posterior") return ViewSet::kPosteriorOnly;
  throw InputError(where, "invalid view set '" + s + "'", "allowed: both, anterior, posterior");
}

Origin origin_from_string(const std::string& s, const std::string& where) {
  if (s == "real") return Origin::kReal;
  if (s == "simulated") return Origin::kSimulated;
  if (s == "synthetic") return Origin::kSynthetic;
  throw InputError(where, "invalid origin '" + s + "'", "allowed: real, simulated, synthetic");
}

bool Scan::has_view(View v) const {
  if (views == ViewSet::kBoth) return true;
  return (v == kAnterior) == (views == ViewSet::kAnteriorOnly);
}

Scan make_scan(int height, int width) {
  Scan s;
  s.height = height;
  s.width = width;
  s.pixels.assign(2 * static_cast<size_t>(height) * width, 0.f);
  return s;
}

std::string compute_pixel_sha256(const Scan& scan) {
  static_assert(sizeof(float) == 4, "float32 expected");
  Sha256 h;
  const size_t n = scan.view_size();
  std::vector<unsigned char> le(n * 4);
  for (View v : {kAnterior, kPosterior}) {
    if (!scan.has_view(v)) continue;
    const float* p = scan.view(v);
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, p + i, 4);
      le[4 * i + 0] = static_cast<unsigned char>(bits);
      le[4 * i + 1] = static_cast<unsigned char>(bits >> 8);
      le[4 * i + 2] = static_cast<unsigned char>(bits >> 16);
      le[4 * i + 3] = static_cast<unsigned char>(bits >> 24);
    }
    h.update(le.data(), le.size());
  }
  return h.hex_digest();
}

}  // namespace scintigen
