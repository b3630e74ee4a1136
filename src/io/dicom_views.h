// Which view each frame of a whole-body object shows, and how to orient it (internal to
// src/io; the rules are listed at the top of dicom_read.cc).
//
//   std::vector<FrameView> views = find_views(path, ds, frames, warnings);
//   Transform t = transform_for(path, *views[0].geometry);   // throws when not frontal
//   std::vector<float> out = apply_transform(counts, h, w, t, out_h, out_w);
//
// Directions are in DICOM LPS: x to the patient's left, y posterior, z head.
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <optional>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen::detail {

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

// Row (r, along a row) and column (c, down a column) direction cosines of a stored image.
struct Geometry {
  Vec3 r, c;
  std::string source;  // "ImageOrientationPatient" or "PatientOrientation"
};

// The six values of Image Orientation (Patient) in `item`; nullopt when absent or degenerate.
std::optional<Geometry> geometry_from_iop(DcmItem* item);
// Patient Orientation letters (e.g. "L\F", "HL\P") as direction vectors (L = +x, P = +y,
// H = +z); nullopt for other letters, an empty value or one that cancels out ("LR").
std::optional<Vec3> letters_to_vec(const std::string& s);
std::optional<Geometry> geometry_from_patient_orientation(DcmItem* ds);

// True when the image plane is coronal: rows and columns run along x and z (either way round).
bool is_frontal(const Geometry& g);
// "1\0\0\0\0\-1" (3 significant digits), for messages.
std::string geometry_text(const Geometry& g);

enum class ViewAnswer { kNone, kAnterior, kPosterior, kAmbiguous };

// The view implied by a camera image's geometry: n = r x c points away from the viewer, so
// n_y > 0 is the anterior view and n_y < 0 the posterior; kNone when n is not mostly along y.
ViewAnswer view_from_geometry(const Geometry& g);
// The view named by a View Code Sequence item's Code Value and Code Meaning: the CID 26
// anterior / posterior projections, or a meaning naming ANTERIOR / POSTERIOR. The radiographic
// beam directions (antero-posterior, postero-anterior) are kAmbiguous; oblique and lateral
// projections kNone.
ViewAnswer view_from_code(const std::string& code_value, const std::string& code_meaning);
// The words ANT/ANTERIOR or POST/POSTERIOR/POS in free text (ImageID, descriptions).
ViewAnswer view_from_text(const std::string& text);

struct FrameView {
  std::optional<View> view;
  std::string basis;  // DicomView::view_basis
  std::optional<Geometry> geometry;
  std::string code_text;  // the View Code Sequence item that decided, for warnings
};

// Which view each frame shows (first rule that answers wins), reconciled and completed; throws
// InputError when a two-frame object holds the same view twice.
std::vector<FrameView> find_views(const std::string& path, DcmItem* ds, int frames, std::vector<std::string>& warnings);
// A view and a geometry of frame `frame` that disagree: a View Code that names the view drops a
// geometry that is not frontal (the frame is taken as stored); any other disagreement keeps
// the view. Both say so in a warning.
void reconcile_geometry(int frame, FrameView& fv, std::vector<std::string>& warnings);
// Views no rule decided: a lone frame is anterior; of two frames, the unknown one is opposite
// the known one, or frame 0 anterior and frame 1 posterior (each with a warning). Throws
// InputError naming `path` when two frames end up with the same view.
void complete_views(const std::string& path, std::vector<FrameView>& views, std::vector<std::string>& warnings);

// How to map a stored frame to rows toward the patient's left and columns toward the feet.
struct Transform {
  bool transpose = false, flip_rows = false, flip_cols = false;
};

// Throws InputError naming `path` when `g` is not an anterior or posterior projection.
Transform transform_for(const std::string& path, const Geometry& g);
// (h, w) -> (out_h, out_w) with the transform applied.
std::vector<float> apply_transform(const std::vector<float>& src, int h, int w, const Transform& t, int& out_h,
                                   int& out_w);

}  // namespace scintigen::detail
