#include "core/scan.h"

#include <cstring>

#include "core/error.h"
#include "core/names.h"
#include "core/sha256.h"

namespace scintigen {

namespace {
constexpr NamedValue<ViewSet> kViewSetNames[] = {
    {ViewSet::kBoth, "both"}, {ViewSet::kAnteriorOnly, "anterior"}, {ViewSet::kPosteriorOnly, "posterior"}};
constexpr NamedValue<Origin> kOriginNames[] = {
    {Origin::kReal, "real"}, {Origin::kSimulated, "simulated"}, {Origin::kSynthetic, "synthetic"}};
}  // namespace

const char* to_string(ViewSet v) {
  return name_of(kViewSetNames, v);
}

const char* to_string(Origin o) {
  return name_of(kOriginNames, o);
}

ViewSet view_set_from_string(const std::string& s, const std::string& where) {
  return value_named<InputError>(kViewSetNames, s, where, "view set");
}

Origin origin_from_string(const std::string& s, const std::string& where) {
  return value_named<InputError>(kOriginNames, s, where, "origin");
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
