// Views and orientation of whole-body frames (see dicom_views.h and the rules at the top of
// dicom_read.cc).

#include "io/dicom_views.h"

#include <dcmtk/dcmdata/dcdeftag.h>

#include <array>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "io/dicom_attributes.h"

namespace scintigen::detail {
namespace {

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

double norm(const Vec3& a) {
  return std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z);
}

int dominant_axis(const Vec3& v) {
  const double ax = std::fabs(v.x), ay = std::fabs(v.y), az = std::fabs(v.z);
  if (ax >= ay && ax >= az) return 0;
  return ay >= az ? 1 : 2;
}

// "(399321004, SCT, \"Anterior projection\")" for a code item.
std::string code_text(DcmItem* code) {
  return "(" + printable(get_string(code, DCM_CodeValue)) + ", " +
         printable(get_string(code, DCM_CodingSchemeDesignator)) + ", \"" +
         printable(get_string(code, DCM_CodeMeaning)) + "\")";
}

ViewAnswer view_from_code_item(DcmItem* code) {
  return view_from_code(get_string(code, DCM_CodeValue), get_string(code, DCM_CodeMeaning));
}

}  // namespace

std::optional<Geometry> geometry_from_iop(DcmItem* item) {
  std::array<double, 6> v{};
  for (int i = 0; i < 6; ++i) {
    auto d = get_double(item, DCM_ImageOrientationPatient, i);
    if (!d) return std::nullopt;
    v[i] = *d;
  }
  Geometry g{{v[0], v[1], v[2]}, {v[3], v[4], v[5]}, "ImageOrientationPatient"};
  if (norm(g.r) < 0.5 || norm(g.c) < 0.5) return std::nullopt;
  return g;
}

std::optional<Vec3> letters_to_vec(const std::string& s) {
  if (s.empty()) return std::nullopt;
  Vec3 v;
  for (char ch : upper(s)) {
    switch (ch) {
      case 'L':
        v.x += 1;
        break;
      case 'R':
        v.x -= 1;
        break;
      case 'P':
        v.y += 1;
        break;
      case 'A':
        v.y -= 1;
        break;
      case 'H':
        v.z += 1;
        break;
      case 'F':
        v.z -= 1;
        break;
      default:
        return std::nullopt;
    }
  }
  if (norm(v) < 0.5) return std::nullopt;
  return v;
}

std::optional<Geometry> geometry_from_patient_orientation(DcmItem* ds) {
  auto r = letters_to_vec(get_string(ds, DCM_PatientOrientation, 0));
  auto c = letters_to_vec(get_string(ds, DCM_PatientOrientation, 1));
  if (!r || !c) return std::nullopt;
  return Geometry{*r, *c, "PatientOrientation"};
}

ViewAnswer view_from_geometry(const Geometry& g) {
  Vec3 n = cross(g.r, g.c);
  const double len = norm(n);
  if (len < 1e-6 || std::fabs(n.y) / len < 0.5) return ViewAnswer::kNone;
  return n.y > 0 ? ViewAnswer::kAnterior : ViewAnswer::kPosterior;
}

ViewAnswer view_from_code(const std::string& code_value, const std::string& code_meaning) {
  const std::string value = upper(code_value);
  const std::string meaning = upper(code_meaning);
  // Radiographic beam-direction names first (they contain the word POSTERIOR / ANTERIOR).
  if (value == "399348003" || value == "R-10206" || value == "272479007" || value == "R-10214" ||
      meaning.find("ANTERO-POSTERIOR") != std::string::npos || meaning.find("ANTEROPOSTERIOR") != std::string::npos ||
      meaning.find("POSTERO-ANTERIOR") != std::string::npos || meaning.find("POSTEROANTERIOR") != std::string::npos) {
    return ViewAnswer::kAmbiguous;
  }
  if (value == "399321004") return ViewAnswer::kAnterior;
  if (value == "399001007") return ViewAnswer::kPosterior;
  bool ant = false, post = false;
  for (const std::string& w : words(meaning)) {
    // Oblique and lateral projections are neither.
    if (w == "OBLIQUE" || w == "LATERAL") return ViewAnswer::kNone;
    ant |= (w == "ANTERIOR" || w == "ANT");
    post |= (w == "POSTERIOR" || w == "POST");
  }
  if (ant && post) return ViewAnswer::kAmbiguous;
  if (ant) return ViewAnswer::kAnterior;
  if (post) return ViewAnswer::kPosterior;
  return ViewAnswer::kNone;
}

ViewAnswer view_from_text(const std::string& text) {
  bool ant = false, post = false;
  for (const std::string& w : words(text)) {
    ant |= (w == "ANT" || w == "ANTERIOR");
    post |= (w == "POST" || w == "POSTERIOR" || w == "POS");
  }
  if (ant && post) return ViewAnswer::kAmbiguous;
  if (ant) return ViewAnswer::kAnterior;
  if (post) return ViewAnswer::kPosterior;
  return ViewAnswer::kNone;
}

bool is_frontal(const Geometry& g) {
  const int ra = dominant_axis(g.r), ca = dominant_axis(g.c);
  return (ra == 0 && ca == 2) || (ra == 2 && ca == 0);
}

std::string geometry_text(const Geometry& g) {
  std::ostringstream o;
  o.precision(3);
  o << g.r.x << "\\" << g.r.y << "\\" << g.r.z << "\\" << g.c.x << "\\" << g.c.y << "\\" << g.c.z;
  return o.str();
}

Transform transform_for(const std::string& path, const Geometry& g) {
  const int ra = dominant_axis(g.r);
  if (!is_frontal(g)) {
    throw InputError(path, g.source + " " + geometry_text(g) + " is not an anterior or posterior projection",
                     kHintWholeBody);
  }
  Transform t;
  t.transpose = (ra == 2);
  const Vec3& r = t.transpose ? g.c : g.r;  // after transposing, rows run along the old columns
  const Vec3& c = t.transpose ? g.r : g.c;
  t.flip_cols = r.x < 0;  // rows should run toward the patient's left
  t.flip_rows = c.z > 0;  // columns should run toward the feet
  return t;
}

std::vector<float> apply_transform(const std::vector<float>& src, int h, int w, const Transform& t, int& out_h,
                                   int& out_w) {
  out_h = t.transpose ? w : h;
  out_w = t.transpose ? h : w;
  std::vector<float> out(src.size());
  for (int i = 0; i < out_h; ++i) {
    const int a = t.flip_rows ? out_h - 1 - i : i;
    for (int j = 0; j < out_w; ++j) {
      const int b = t.flip_cols ? out_w - 1 - j : j;
      const size_t s = t.transpose ? static_cast<size_t>(b) * w + a : static_cast<size_t>(a) * w + b;
      out[static_cast<size_t>(i) * out_w + j] = src[s];
    }
  }
  return out;
}

std::vector<FrameView> find_views(const std::string& path, DcmItem* ds, int frames,
                                  std::vector<std::string>& warnings) {
  std::vector<FrameView> out(frames);
  const long n_detectors = count_items(ds, DCM_DetectorInformationSequence);
  for (int k = 0; k < frames; ++k) {
    FrameView& fv = out[k];
    // The detector item of this frame.
    DcmItem* det = nullptr;
    if (auto idx = get_us(ds, DCM_DetectorVector, k); idx && *idx >= 1 && *idx <= n_detectors) {
      det = get_item(ds, DCM_DetectorInformationSequence, *idx - 1);
    } else if (!ds->tagExists(DCM_DetectorVector) && n_detectors == frames) {
      det = get_item(ds, DCM_DetectorInformationSequence, k);
    }
    if (det) fv.geometry = geometry_from_iop(det);
    if (!fv.geometry && frames == 1) {
      fv.geometry = geometry_from_iop(ds);
      if (!fv.geometry) fv.geometry = geometry_from_patient_orientation(ds);
    }
    auto decide = [&](ViewAnswer a, const std::string& basis) {
      if (fv.view) return;
      if (a == ViewAnswer::kAmbiguous) {
        warnings.push_back("frame " + std::to_string(k) + ": " + basis +
                           " is ambiguous (antero-posterior/postero-anterior or both); ignored");
      } else if (a != ViewAnswer::kNone) {
        fv.view = a == ViewAnswer::kAnterior ? kAnterior : kPosterior;
        fv.basis = basis;
      }
    };
    auto decide_code = [&](DcmItem* code) {
      const bool had = fv.view.has_value();
      decide(view_from_code_item(code), "ViewCodeSequence");
      if (!had && fv.view) fv.code_text = code_text(code);
    };
    if (det) decide_code(get_item(det, DCM_ViewCodeSequence));
    if (det && fv.geometry && fv.geometry->source == "ImageOrientationPatient") {
      decide(view_from_geometry(*fv.geometry), "ImageOrientationPatient");
    }
    if (frames == 1) {
      decide_code(get_item(ds, DCM_ViewCodeSequence));
      if (fv.geometry) decide(view_from_geometry(*fv.geometry), fv.geometry->source);
      decide(view_from_text(get_string(ds, DCM_ImageID)), "text:ImageID");
      decide(view_from_text(get_string(ds, DCM_SeriesDescription)), "text:SeriesDescription");
      decide(view_from_text(get_string(ds, DCM_ImageComments)), "text:ImageComments");
    }
    reconcile_geometry(k, fv, warnings);
  }
  complete_views(path, out, warnings);
  return out;
}

void reconcile_geometry(int frame, FrameView& fv, std::vector<std::string>& warnings) {
  // An explicit view code wins over an orientation that is not a frontal projection (some
  // programs write the transverse default 1\0\0\0\1\0 into every image): the frame is
  // taken as stored, as without any orientation. Without a view code such a frame is still
  // refused (transform_for).
  if (fv.view && fv.basis == "ViewCodeSequence" && fv.geometry && !is_frontal(*fv.geometry)) {
    warnings.push_back(
        "frame " + std::to_string(frame) + ": View Code Sequence " + fv.code_text + " says " +
        (*fv.view == kAnterior ? "anterior" : "posterior") + " but " + fv.geometry->source + " " +
        geometry_text(*fv.geometry) +
        " is not an anterior or posterior projection; the view code wins and the frame is taken as stored");
    fv.geometry.reset();
  }
  // A geometry that contradicts the decided view: the view wins, the warning tells.
  if (fv.view && fv.geometry && fv.basis != fv.geometry->source) {
    const ViewAnswer g = view_from_geometry(*fv.geometry);
    if ((g == ViewAnswer::kAnterior && *fv.view == kPosterior) ||
        (g == ViewAnswer::kPosterior && *fv.view == kAnterior)) {
      warnings.push_back("frame " + std::to_string(frame) + ": " + fv.basis + " and " + fv.geometry->source +
                         " disagree on the view; " + fv.basis + " used");
    }
  }
}

void complete_views(const std::string& path, std::vector<FrameView>& views, std::vector<std::string>& warnings) {
  const size_t frames = views.size();
  if (frames == 1 && !views[0].view) {
    views[0].view = kAnterior;
    views[0].basis = "assumed";
    warnings.push_back("view assumed anterior: no view code, orientation or view name in the header");
  } else if (frames == 2) {
    if (!views[0].view && !views[1].view) {
      views[0].view = kAnterior;
      views[1].view = kPosterior;
      views[0].basis = views[1].basis = "assumed";
      warnings.push_back("views assumed from frame order (frame 0 anterior, frame 1 posterior)");
    } else if (!views[0].view || !views[1].view) {
      const int known = views[0].view ? 0 : 1;
      views[1 - known].view = *views[known].view == kAnterior ? kPosterior : kAnterior;
      views[1 - known].basis = "assumed";
      warnings.push_back("view of frame " + std::to_string(1 - known) + " assumed opposite to frame " +
                         std::to_string(known));
    }
    if (*views[0].view == *views[1].view) {
      throw InputError(
          path, std::string("both frames are ") + (*views[0].view == kAnterior ? "anterior" : "posterior") + " views",
          "a two-frame whole-body scan holds one anterior and one posterior view");
    }
  }
}

}  // namespace scintigen::detail
