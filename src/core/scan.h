// A whole-body bone scan: anterior and (mirrored) posterior views of H x W counts.
//
//   Scan s = make_scan(1024, 256);          // (2, H, W) zeros, both views present
//   s.view(kAnterior)[r * s.width + c] = 12.f;
//   s.pixel_sha256 = compute_pixel_sha256(s);
//
// Orientation convention for every stored view: head at row 0, the patient's right on the
// image's left (the anterior view as seen by the camera; the posterior view mirrored
// left-right so that it overlays the anterior one). Pixel values are counts (after any
// rescale slope/intercept), float32.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/labels.h"

namespace scintigen {

enum View : int { kAnterior = 0, kPosterior = 1 };

// Which of the two views hold data. A missing view is stored as zeros.
enum class ViewSet { kBoth, kAnteriorOnly, kPosteriorOnly };

enum class Origin { kReal, kSimulated, kSynthetic };

const char* to_string(ViewSet v);
const char* to_string(Origin o);
ViewSet view_set_from_string(const std::string& s, const std::string& where);
Origin origin_from_string(const std::string& s, const std::string& where);

struct Scan {
  std::string id;             // unique within a dataset
  int height = 0;             // H, rows (head to feet)
  int width = 0;              // W, columns
  std::vector<float> pixels;  // (2, H, W): anterior, mirrored posterior
  ViewSet views = ViewSet::kBoth;
  double spacing_row_mm = 0;  // distance between rows (mm); 0 when unknown
  double spacing_col_mm = 0;  // distance between columns (mm); 0 when unknown
  Labels labels;
  Origin origin = Origin::kReal;
  std::string source;                              // e.g. "ingest", "phantom:site=large seed=1", "model:<hash> seed=3"
  std::string split;                               // "", "train", "val", "test" or a user's name
  nlohmann::json meta = nlohmann::json::object();  // non-identifying acquisition attributes
  std::string pixel_sha256;                        // see compute_pixel_sha256

  float* view(View v) { return pixels.data() + static_cast<size_t>(v) * height * width; }
  const float* view(View v) const { return pixels.data() + static_cast<size_t>(v) * height * width; }
  bool has_view(View v) const;
  size_t view_size() const { return static_cast<size_t>(height) * width; }
};

Scan make_scan(int height, int width);

// SHA-256 over the present views' counts as little-endian float32, anterior first, row-major,
// in the stored orientation. A single-view scan hashes its one view only, so the hash of an
// ingested single-view file equals sha256(float32(rescaled pixel array)) of any DICOM reader.
std::string compute_pixel_sha256(const Scan& scan);

}  // namespace scintigen
