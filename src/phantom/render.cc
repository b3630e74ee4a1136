// Rendering: primitives -> per-view depth layers (attenuated activity) -> depth-dependent
// collimator blur -> scatter -> expected counts -> Poisson noise.
//
// Each primitive is rasterised once (only inside its bounding box) and written into two of
// kLayers blur layers of each view, chosen by its distance from that view's collimator; each
// layer is then blurred once with a separable Gaussian of that distance's FWHM.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "phantom/anatomy.h"
#include "phantom/phantom.h"

namespace scintigen::phantom {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kLayers = 4;
// Collimator distances (mm) at which the layers are blurred; a primitive between two layer
// distances is split linearly between them (the FWHM of the two-Gaussian mixture is within 8%
// of the exact Gaussian's over 40-290 mm for every profile; 3 layers would give 16%).
constexpr double kLayerDist[kLayers] = {40, 110, 190, 290};
constexpr int kSoftLayer = 1;

struct Frame {  // body frame <-> image (mm), small in-plane rotation about the pelvis
  double cs = 1, sn = 0, u0 = 0, v0 = 0, yp = 0;
  double pr = 1, pc = 1;  // mm per row / column
  int H = 0, W = 0;
  void to_image(double x, double y, double* u, double* v) const {
    *u = u0 + cs * x - sn * (y - yp);
    *v = v0 + sn * x + cs * (y - yp);
  }
};

struct Box {
  int r0 = 1 << 30, r1 = -1, c0 = 1 << 30, c1 = -1;
  bool empty() const { return r1 < r0 || c1 < c0; }
  void add(int r, int c) { r0 = std::min(r0, r), r1 = std::max(r1, r), c0 = std::min(c0, c), c1 = std::max(c1, c); }
  void add(const Box& b) {
    if (!b.empty()) add(b.r0, b.c0), add(b.r1, b.c1);
  }
};

// Body-frame bounding radius of a primitive around its centre, and its pixel box.
Box pixel_box(const Prim& p, const Frame& f) {
  double xs[2], ys[2], r;
  if (p.shape == Shape::kCapsule) {
    r = std::max(p.r0, p.r1);
    xs[0] = std::min(p.x0, p.x1) - r, xs[1] = std::max(p.x0, p.x1) + r;
    ys[0] = std::min(p.y0, p.y1) - r, ys[1] = std::max(p.y0, p.y1) + r;
  } else {
    r = p.shape == Shape::kCylinder ? std::hypot(p.r0, p.r1) : std::max(p.r0, p.r1);
    xs[0] = p.x0 - r, xs[1] = p.x0 + r, ys[0] = p.y0 - r, ys[1] = p.y0 + r;
  }
  Box b;
  double umin = 1e30, umax = -1e30, vmin = 1e30, vmax = -1e30;
  for (double x : xs)
    for (double y : ys) {
      double u, v;
      f.to_image(x, y, &u, &v);
      umin = std::min(umin, u), umax = std::max(umax, u), vmin = std::min(vmin, v), vmax = std::max(vmax, v);
    }
  b.c0 = std::max(0, static_cast<int>(std::floor(umin / f.pc - 0.5)));
  b.c1 = std::min(f.W - 1, static_cast<int>(std::ceil(umax / f.pc - 0.5)));
  b.r0 = std::max(0, static_cast<int>(std::floor(vmin / f.pr - 0.5)));
  b.r1 = std::min(f.H - 1, static_cast<int>(std::ceil(vmax / f.pr - 0.5)));
  return b;
}

// Calls emit(row, col, path_mm) for every pixel centre where the primitive has a non-zero
// projected path length.
template <typename Emit>
void rasterise(const Prim& p, const Frame& f, Emit&& emit) {
  const Box b = pixel_box(p, f);
  if (b.empty()) return;
  // Body coordinates of pixel (r, c): x = cs*du + sn*dv, y = yp - sn*du + cs*dv.
  const double dxc = f.cs * f.pc, dyc = -f.sn * f.pc;
  if (p.shape == Shape::kCapsule) {
    const double ax = p.x1 - p.x0, ay = p.y1 - p.y0, len2 = ax * ax + ay * ay + 1e-12;
    const double dr = p.r1 - p.r0, ds = 2 * p.depth_scale;
    const double hollow = p.wall > 0 ? std::max(0.0, 1 - p.wall) : 0;
    for (int r = b.r0; r <= b.r1; ++r) {
      const double du = (b.c0 + 0.5) * f.pc - f.u0, dv = (r + 0.5) * f.pr - f.v0;
      double x = f.cs * du + f.sn * dv, y = f.yp - f.sn * du + f.cs * dv;
      for (int c = b.c0; c <= b.c1; ++c, x += dxc, y += dyc) {
        const double px = x - p.x0, py = y - p.y0;
        double t = (px * ax + py * ay) / len2;
        if (!p.round_caps && (t < 0 || t >= 1)) continue;
        t = t < 0 ? 0 : (t > 1 ? 1 : t);
        const double qx = px - t * ax, qy = py - t * ay, d2 = qx * qx + qy * qy;
        const double rr = p.r0 + t * dr;
        if (d2 < rr * rr) {
          double path = ds * std::sqrt(rr * rr - d2);
          if (hollow > 0) {
            const double ri = hollow * rr;
            if (d2 < ri * ri) path -= ds * std::sqrt(ri * ri - d2);
          }
          emit(r, c, path);
        }
      }
    }
  } else if (p.shape == Shape::kCylinder) {
    const double ca = std::cos(p.angle), sa = std::sin(p.angle);
    const double ia = 1 / p.r0, len = p.r1, c2 = 2 * p.c;
    for (int r = b.r0; r <= b.r1; ++r) {
      const double du = (b.c0 + 0.5) * f.pc - f.u0, dv = (r + 0.5) * f.pr - f.v0;
      double x = f.cs * du + f.sn * dv, y = f.yp - f.sn * du + f.cs * dv;
      for (int c = b.c0; c <= b.c1; ++c, x += dxc, y += dyc) {
        const double px = x - p.x0, py = y - p.y0;
        const double e = (px * ca + py * sa) * ia, n = -px * sa + py * ca;
        if (e * e >= 1 || std::fabs(n) >= len) continue;
        emit(r, c, c2 * std::sqrt(1 - e * e));
      }
    }
  } else {
    const double ca = std::cos(p.angle), sa = std::sin(p.angle);
    const double ia = 1 / p.r0, ib = 1 / p.r1;
    const bool is_shell = p.shape == Shape::kShell;
    const double wa = is_shell ? 1 / std::max(1e-6, p.r0 - p.wall) : 0,
                 wb = is_shell ? 1 / std::max(1e-6, p.r1 - p.wall) : 0;
    const double ci = is_shell ? std::max(0.0, p.c - p.wall) : 0;
    for (int r = b.r0; r <= b.r1; ++r) {
      const double du = (b.c0 + 0.5) * f.pc - f.u0, dv = (r + 0.5) * f.pr - f.v0;
      double x = f.cs * du + f.sn * dv, y = f.yp - f.sn * du + f.cs * dv;
      for (int c = b.c0; c <= b.c1; ++c, x += dxc, y += dyc) {
        const double px = x - p.x0, py = y - p.y0;
        const double e = px * ca + py * sa, n = -px * sa + py * ca;
        const double xi = e * ia, eta = n * ib, rho2 = xi * xi + eta * eta;
        if (rho2 >= 1) continue;
        double path = 2 * p.c * std::sqrt(1 - rho2);
        if (is_shell) {
          const double xi2 = e * wa, eta2 = n * wb, rho2i = xi2 * xi2 + eta2 * eta2;
          if (rho2i < 1) path -= 2 * ci * std::sqrt(1 - rho2i);
        }
        emit(r, c, path);
      }
    }
  }
}

// Per-thread scratch buffers, reused across scans (only touched boxes are cleared).
struct Workspace {
  int H = 0, W = 0, P = 0, Hp = 0, Wp = 0;
  std::vector<float> layer[2][kLayers];
  Box layer_box[2][kLayers];
  std::vector<float> thick, mid, sum[2], tmp;
  std::vector<float> bone_tex, soft_mod;  // (H, W) multiplicative fields, mean ~1
  std::vector<uint32_t> px_index;         // rasterised primitives: pixel index ...
  std::vector<float> px_path;             // ... and path length (x texture), all prims
  void ensure(int h, int w, int pad) {
    if (h == H && w == W && pad <= P) return;
    H = h, W = w, P = pad, Hp = h + 2 * pad, Wp = w + 2 * pad;
    for (auto& v : layer)
      for (auto& l : v) l.assign(static_cast<size_t>(Hp) * Wp, 0.f);
    thick.assign(static_cast<size_t>(H) * W, 0.f);
    bone_tex.assign(static_cast<size_t>(H) * W, 1.f);
    soft_mod.assign(static_cast<size_t>(H) * W, 1.f);
    mid.assign(static_cast<size_t>(H) * W, 0.f);
    for (auto& s : sum) s.assign(static_cast<size_t>(Hp) * Wp, 0.f);
    tmp.assign(static_cast<size_t>(Hp) * Wp, 0.f);
    for (auto& v : layer_box)
      for (auto& b : v) b = Box{};
  }
  float* lp(int view, int k, int r, int c) { return layer[view][k].data() + static_cast<size_t>(r + P) * Wp + (c + P); }
};

// A smooth random field 1 + sum_o amp_o * n_o(x, y) on the image, where n_o is value noise:
// uniform values in [-1, 1] on a lattice of cell_o mm, bilinearly interpolated. The octaves are
// summed on the finest lattice, which is then bilinearly interpolated to the pixels of rows
// r0..r1. Deterministic in rng.
void smooth_field(Rng& rng, int H, int W, double pr, double pc, int r0, int r1, const double* cell_mm,
                  const double* amp, int octaves, float* out) {
  const double cell0 = cell_mm[0];
  const int gh = static_cast<int>(std::ceil(H * pr / cell0)) + 2, gw = static_cast<int>(std::ceil(W * pc / cell0)) + 2;
  std::vector<float> g(static_cast<size_t>(gh) * gw, 1.f);
  for (int o = 0; o < octaves; ++o) {
    const double ratio = cell_mm[o] / cell0;  // >= 1
    const int lh = static_cast<int>(std::ceil(gh / ratio)) + 2, lw = static_cast<int>(std::ceil(gw / ratio)) + 2;
    std::vector<float> l(static_cast<size_t>(lh) * lw);
    for (float& v : l) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int i = 0; i < gh; ++i) {
      const double y = i / ratio;
      const int y0 = static_cast<int>(y);
      const float wy = static_cast<float>(y - y0);
      for (int j = 0; j < gw; ++j) {
        const double x = j / ratio;
        const int x0 = static_cast<int>(x);
        const float wx = static_cast<float>(x - x0);
        const float* a = l.data() + static_cast<size_t>(y0) * lw + x0;
        const float v = (1 - wy) * ((1 - wx) * a[0] + wx * a[1]) + wy * ((1 - wx) * a[lw] + wx * a[lw + 1]);
        g[static_cast<size_t>(i) * gw + j] += static_cast<float>(amp[o]) * v;
      }
    }
  }
  std::vector<int> cx(W);
  std::vector<float> cw(W);
  for (int c = 0; c < W; ++c) {
    const double x = (c + 0.5) * pc / cell0;
    cx[c] = static_cast<int>(x);
    cw[c] = static_cast<float>(x - cx[c]);
  }
  for (int r = std::max(0, r0); r <= std::min(H - 1, r1); ++r) {
    const double y = (r + 0.5) * pr / cell0;
    const int y0 = static_cast<int>(y);
    const float wy = static_cast<float>(y - y0);
    const float* a = g.data() + static_cast<size_t>(y0) * gw;
    const float* b = a + gw;
    float* o = out + static_cast<size_t>(r) * W;
    for (int c = 0; c < W; ++c) {
      const int j = cx[c];
      const float w = cw[c];
      o[c] = (1 - wy) * ((1 - w) * a[j] + w * a[j + 1]) + wy * ((1 - w) * b[j] + w * b[j + 1]);
    }
  }
}

std::vector<float> gaussian_kernel(double sigma_px, int* radius) {
  const int R = std::max(1, static_cast<int>(std::ceil(3.0 * sigma_px)));
  std::vector<float> k(2 * R + 1);
  double s = 0;
  for (int i = -R; i <= R; ++i) s += k[i + R] = static_cast<float>(std::exp(-0.5 * i * i / (sigma_px * sigma_px)));
  for (auto& x : k) x = static_cast<float>(x / s);
  *radius = R;
  return k;
}

// out += G_sigma * in over box b (padded coordinates relative to the image origin, i.e. rows
// b.r0..b.r1 of the image); result extends by the kernel radii. in: (Hp, Wp), out: (Hp, Wp).
// Compiled for AVX2 as well as the baseline ISA (picked at run time). Both clones do the same
// IEEE float operations in the same order per pixel (no FMA contraction: AVX2 does not imply
// FMA), so the pixels, and their hashes, do not depend on the machine.
__attribute__((target_clones("avx2", "default"))) void blur_add(Workspace& ws, const float* in, float* out,
                                                                const Box& b, const std::vector<float>& kr, int Rr,
                                                                const std::vector<float>& kc, int Rc) {
  const int Wp = ws.Wp, P = ws.P;
  float* tmp = ws.tmp.data();
  const int ncol = b.c1 - b.c0 + 1;
  // Vertical pass: rows r0-Rr .. r1+Rr of tmp, columns c0..c1.
  for (int r = b.r0 - Rr; r <= b.r1 + Rr; ++r) {
    float* t = tmp + static_cast<size_t>(r + P) * Wp + (b.c0 + P);
    std::fill(t, t + ncol, 0.f);
    const int j0 = std::max(-Rr, b.r0 - r), j1 = std::min(Rr, b.r1 - r);
    for (int j = j0; j <= j1; ++j) {
      const float w = kr[j + Rr];
      const float* s = in + static_cast<size_t>(r + j + P) * Wp + (b.c0 + P);
      for (int c = 0; c < ncol; ++c) t[c] += w * s[c];
    }
  }
  // Horizontal pass into out: columns c0-Rc .. c1+Rc.
  for (int r = b.r0 - Rr; r <= b.r1 + Rr; ++r) {
    const float* t = tmp + static_cast<size_t>(r + P) * Wp + P;
    float* o = out + static_cast<size_t>(r + P) * Wp + P;
    for (int j = -Rc; j <= Rc; ++j) {
      const float w = kc[j + Rc];
      // o[c] += w * t[c + j] for c + j in [c0, c1].
      const int cs = b.c0 - j, ce = b.c1 - j;
      const float* tj = t + j;
      for (int c = cs; c <= ce; ++c) o[c] += w * tj[c];
    }
  }
}

// Reference for blur_add: the direct 2-D convolution with the outer-product kernel.
void blur_add_reference(Workspace& ws, const float* in, float* out, const Box& b, const std::vector<float>& kr, int Rr,
                        const std::vector<float>& kc, int Rc) {
  const int Wp = ws.Wp, P = ws.P;
  for (int r = b.r0 - Rr; r <= b.r1 + Rr; ++r)
    for (int c = b.c0 - Rc; c <= b.c1 + Rc; ++c) {
      double acc = 0;
      for (int i = -Rr; i <= Rr; ++i) {
        const int rs = r + i;
        if (rs < b.r0 || rs > b.r1) continue;
        for (int j = -Rc; j <= Rc; ++j) {
          const int cs = c + j;
          if (cs < b.c0 || cs > b.c1) continue;
          acc += static_cast<double>(kr[i + Rr]) * kc[j + Rc] * in[static_cast<size_t>(rs + P) * Wp + (cs + P)];
        }
      }
      out[static_cast<size_t>(r + P) * Wp + (c + P)] += static_cast<float>(acc);
    }
}

// Adds scatter: sf/(1-sf) * (broad Gaussian of the primary), on a coarse grid (factor f).
void add_scatter(Workspace& ws, float* img, const Box& b, double sf, double sigma_mm, double pr, double pc) {
  if (sf <= 0 || b.empty()) return;
  const int f = std::max(1, static_cast<int>(std::lround(8.0 / std::min(pr, pc))));
  const double sig_r = sigma_mm / (pr * f), sig_c = sigma_mm / (pc * f);
  int Rr, Rc;
  const auto kr = gaussian_kernel(sig_r, &Rr), kc = gaussian_kernel(sig_c, &Rc);
  // Coarse grid covering the box plus the kernel reach.
  const int gr0 = b.r0 / f - Rr - 1, gc0 = b.c0 / f - Rc - 1;
  const int gh = (b.r1 / f - b.r0 / f + 1) + 2 * (Rr + 1), gw = (b.c1 / f - b.c0 / f + 1) + 2 * (Rc + 1);
  std::vector<float> g(static_cast<size_t>(gh) * gw, 0.f), t(g.size(), 0.f);
  const int Wp = ws.Wp, P = ws.P;
  for (int r = b.r0; r <= b.r1; ++r) {
    const float* row = img + static_cast<size_t>(r + P) * Wp + P;
    float* grow = g.data() + static_cast<size_t>(r / f - gr0) * gw;
    for (int c = b.c0; c <= b.c1; ++c) grow[c / f - gc0] += row[c];
  }
  for (int r = 0; r < gh; ++r)
    for (int j = -Rr; j <= Rr; ++j) {
      const int rs = r + j;
      if (rs < 0 || rs >= gh) continue;
      const float w = kr[j + Rr];
      const float* s = g.data() + static_cast<size_t>(rs) * gw;
      float* o = t.data() + static_cast<size_t>(r) * gw;
      for (int c = 0; c < gw; ++c) o[c] += w * s[c];
    }
  std::fill(g.begin(), g.end(), 0.f);
  for (int r = 0; r < gh; ++r)
    for (int j = -Rc; j <= Rc; ++j) {
      const float w = kc[j + Rc];
      const float* s = t.data() + static_cast<size_t>(r) * gw;
      float* o = g.data() + static_cast<size_t>(r) * gw;
      const int c0 = std::max(0, -j), c1 = std::min(gw, gw - j);
      for (int c = c0; c < c1; ++c) o[c] += w * s[c + j];
    }
  // Bilinear upsampling of the coarse field (per fine pixel: coarse value / f^2), separably:
  // interpolate a coarse row between two coarse rows, then along the columns.
  const float scale = static_cast<float>(sf / (1 - sf) / (f * f));
  // Only image pixels: counts that scatter beyond the field of view are not recorded.
  const int r_lo = std::max(0, (gr0)*f), r_hi = std::min(ws.H - 1, (gr0 + gh) * f - 1);
  const int c_lo = std::max(0, (gc0)*f), c_hi = std::min(ws.W - 1, (gc0 + gw) * f - 1);
  const int nc = c_hi - c_lo + 1;
  std::vector<int> cx0(nc), cx1(nc);
  std::vector<float> cw(nc), line(gw);
  for (int i = 0; i < nc; ++i) {
    const double gx = (c_lo + i + 0.5) / f - 0.5 - gc0;
    const int x0 = static_cast<int>(std::floor(gx));
    cw[i] = static_cast<float>(gx - x0);
    cx0[i] = std::min(gw - 1, std::max(0, x0));
    cx1[i] = std::min(gw - 1, std::max(0, x0 + 1));
  }
  for (int r = r_lo; r <= r_hi; ++r) {
    const double gy = (r + 0.5) / f - 0.5 - gr0;
    int y0 = static_cast<int>(std::floor(gy));
    const float wy = static_cast<float>(gy - y0);
    const int y1 = std::min(gh - 1, std::max(0, y0 + 1));
    y0 = std::min(gh - 1, std::max(0, y0));
    const float* g0 = g.data() + static_cast<size_t>(y0) * gw;
    const float* g1 = g.data() + static_cast<size_t>(y1) * gw;
    for (int i = 0; i < gw; ++i) line[i] = scale * ((1 - wy) * g0[i] + wy * g1[i]);
    float* o = img + static_cast<size_t>(r + P) * Wp + P + c_lo;
    for (int i = 0; i < nc; ++i) o[i] += (1 - cw[i]) * line[cx0[i]] + cw[i] * line[cx1[i]];
  }
}

double fwhm_at(const CameraConfig& cam, double dist_mm) {
  return cam.fwhm_mm_at_0 + (cam.fwhm_mm_at_100 - cam.fwhm_mm_at_0) * dist_mm / 100;
}

void layer_weights(const CameraConfig& cam, double dist, int* k0, double* w0) {
  if (dist <= kLayerDist[0]) {
    *k0 = 0, *w0 = 1;
    return;
  }
  (void)cam;
  for (int k = 0; k + 1 < kLayers; ++k)
    if (dist <= kLayerDist[k + 1]) {
      *k0 = k, *w0 = (kLayerDist[k + 1] - dist) / (kLayerDist[k + 1] - kLayerDist[k]);
      return;
    }
  *k0 = kLayers - 2, *w0 = 0;
}

}  // namespace

double counts_per_mbq(const PatientParams& p, const SiteProfile& site) {
  // Each point of the body is in the field of view for fov / speed seconds.
  const double dwell_s = site.camera.fov_axial_mm / (p.speed_cm_min * 10.0 / 60.0);
  return site.camera.sensitivity_cps_per_mbq * dwell_s;
}

Scan render_expected(const PatientParams& patient, const SiteProfile& site, const GridSize& size,
                     const RenderOptions& options) {
  Scan s = render_expected_unhashed(patient, site, size, options);
  s.pixel_sha256 = compute_pixel_sha256(s);
  return s;
}

Scan render_expected_unhashed(const PatientParams& patient, const SiteProfile& site, const GridSize& size,
                              const RenderOptions& options) {
  const CameraConfig& cam = site.camera;
  Frame f;
  f.W = size.width > 0 ? size.width : cam.width;
  f.H = size.height > 0 ? size.height : cam.height;
  f.pc = cam.pixel_mm * cam.width / f.W;
  f.pr = cam.pixel_mm * cam.height / f.H;
  const double th = patient.rotation_deg * kPi / 180;
  f.cs = std::cos(th), f.sn = std::sin(th);

  Anatomy a = build_anatomy(patient);
  f.yp = a.pivot_y;
  f.u0 = f.W * f.pc / 2 + patient.shift_x_mm;
  f.v0 = patient.top_margin_mm + patient.shift_y_mm + a.pivot_y;

  const CompartmentFactors factors = disease_factors(patient);
  std::vector<Prim> prims = a.prims;
  std::vector<Attenuator> attenuators = a.attenuators;
  add_pathology_prims(patient, a, factors.bone, &prims, &attenuators);

  // Blur kernels per layer (sigma in pixels, plus the pixel's own box width).
  std::vector<float> kr[kLayers], kc[kLayers];
  int Rr[kLayers], Rc[kLayers], pad = 2;
  for (int k = 0; k < kLayers; ++k) {
    const double s_mm = fwhm_at(cam, kLayerDist[k]) / 2.3548;
    kr[k] = gaussian_kernel(std::sqrt(s_mm * s_mm / (f.pr * f.pr) + 1.0 / 12), &Rr[k]);
    kc[k] = gaussian_kernel(std::sqrt(s_mm * s_mm / (f.pc * f.pc) + 1.0 / 12), &Rc[k]);
    pad = std::max({pad, Rr[k] + 1, Rc[k] + 1});
  }

  thread_local Workspace ws;
  ws.ensure(f.H, f.W, pad);
  const int H = f.H, W = f.W;
  const double area = f.pr * f.pc;
  const double mu = cam.mu_per_cm / 10;  // per mm

  // 1. Soft-tissue thickness and mid-plane maps (union of body parts by maximum thickness).
  std::fill(ws.thick.begin(), ws.thick.end(), 0.f);
  std::fill(ws.mid.begin(), ws.mid.end(), 0.f);
  Box body_box;
  {
    // Trunk: keyframed ellipse cross-sections.
    const auto& keys = a.body.trunk;
    Prim bound;
    bound.shape = Shape::kCapsule;
    double maxw = 0;
    for (const auto& k : keys) maxw = std::max(maxw, k.half_width);
    bound.x0 = bound.x1 = 0, bound.y0 = keys.front().y, bound.y1 = keys.back().y, bound.r0 = bound.r1 = maxw;
    const Box b = pixel_box(bound, f);
    for (int r = b.r0; r <= b.r1; ++r)
      for (int c = b.c0; c <= b.c1; ++c) {
        const double du = (c + 0.5) * f.pc - f.u0, dv = (r + 0.5) * f.pr - f.v0;
        const double x = f.cs * du + f.sn * dv, y = f.yp - f.sn * du + f.cs * dv;
        double hw, t;
        a.trunk_at(y, &hw, &t);
        if (hw <= 0 || std::fabs(x) >= hw) continue;
        const double q = x / hw;
        const float T = static_cast<float>(t * std::sqrt(1 - q * q));
        const size_t i = static_cast<size_t>(r) * W + c;
        if (T > ws.thick[i]) ws.thick[i] = T, ws.mid[i] = static_cast<float>(t / 2);
        body_box.add(r, c);
      }
    for (const Prim& part : a.body.parts)
      rasterise(part, f, [&](int r, int c, double path) {
        const size_t i = static_cast<size_t>(r) * W + c;
        if (path > ws.thick[i]) ws.thick[i] = static_cast<float>(path), ws.mid[i] = static_cast<float>(part.z);
        body_box.add(r, c);
      });
  }
  // Individual texture: bone-turnover modulation of the skeleton (fine and coarse octaves) and a
  // smooth variation of the soft-tissue background (fat, muscle, bowel), per patient.
  if (patient.anatomy_seed == 0) {  // the average anatomy of hand-made test patients: no texture
    std::fill(ws.bone_tex.begin(), ws.bone_tex.end(), 1.f);
    std::fill(ws.soft_mod.begin(), ws.soft_mod.end(), 1.f);
  } else {
    Rng tex_rng(splitmix64(patient.anatomy_seed ^ 0x7e57u));
    const double bone_cell[2] = {9, 30}, bone_amp[2] = {0.22, 0.16};
    const double soft_cell[2] = {25, 70}, soft_amp[2] = {0.10, 0.16};
    smooth_field(tex_rng, H, W, f.pr, f.pc, 0, H - 1, bone_cell, bone_amp, 2, ws.bone_tex.data());
    smooth_field(tex_rng, H, W, f.pr, f.pc, 0, H - 1, soft_cell, soft_amp, 2, ws.soft_mod.data());
  }

  // Height of the anterior body surface per row (the anterior camera follows the contour).
  std::vector<float> top(H, 0.f);
  double soft_integral = 0;
  for (int r = body_box.r0; r <= body_box.r1 && !body_box.empty(); ++r) {
    float m = 0;
    for (int c = body_box.c0; c <= body_box.c1; ++c) {
      const size_t i = static_cast<size_t>(r) * W + c;
      m = std::max(m, ws.mid[i] + 0.5f * ws.thick[i]);
      soft_integral += ws.thick[i] * ws.soft_mod[i];
    }
    top[r] = m;
  }
  soft_integral *= area;

  // 2. Rasterise every primitive once (pixel index, path length x texture) and normalise the
  // compartments by these exact raster integrals.
  std::vector<size_t> span(prims.size() + 1, 0);
  ws.px_index.clear(), ws.px_path.clear();
  std::vector<double> integral(prims.size(), 0.0);
  double comp_sum[kNormalisedComps] = {0, 0, 0, 0};
  comp_sum[static_cast<int>(Comp::kSoft)] = soft_integral;
  for (size_t i = 0; i < prims.size(); ++i) {
    const Prim& p = prims[i];
    // Lesions and other bone findings follow the texture of their host (their intensity is relative
    // to the host's local uptake); the myocardium does not (textured = false).
    const float* tex =
        (p.comp == Comp::kBone || p.comp == Comp::kBoneExtra) && p.textured ? ws.bone_tex.data() : nullptr;
    double s = 0;
    rasterise(p, f, [&](int r, int c, double path) {
      const size_t j = static_cast<size_t>(r) * W + c;
      const float v = static_cast<float>(tex ? path * tex[j] : path);
      ws.px_index.push_back(static_cast<uint32_t>(j));
      ws.px_path.push_back(v);
      s += v;
    });
    span[i + 1] = ws.px_index.size();
    integral[i] = s * area;
    const int ci = static_cast<int>(p.comp);
    if (ci < kNormalisedComps) comp_sum[ci] += p.rel * integral[i];
  }
  const auto act = compartment_activity_mbq(patient);
  const double comp_act[kNormalisedComps] = {act.at("bone"), act.at("soft"), act.at("kidney"), act.at("bladder")};
  double scale[kNormalisedComps];
  for (int k = 0; k < kNormalisedComps; ++k) scale[k] = comp_sum[k] > 0 ? comp_act[k] / comp_sum[k] : 0;

  // 3. Soft tissue into the soft layer of both views: activity uniform through the thickness,
  // attenuated signal per unit area = conc * (1 - exp(-mu T)) / mu (identical for both views).
  const double soft_conc = scale[static_cast<int>(Comp::kSoft)];
  // (1 - exp(-mu T)) / mu tabulated every 0.25 mm (linear interpolation, relative error < 1e-6).
  std::vector<float> soft_tab(2402);
  for (size_t i = 0; i < soft_tab.size(); ++i) {
    const double T = i * 0.25;
    soft_tab[i] = static_cast<float>(soft_conc * area * (mu > 0 ? (1 - std::exp(-mu * T)) / mu : T));
  }
  auto& lb = ws.layer_box;
  if (!body_box.empty()) {
    for (int r = body_box.r0; r <= body_box.r1; ++r) {
      float* la = ws.lp(0, kSoftLayer, r, 0);
      float* lq = ws.lp(1, kSoftLayer, r, 0);
      const float* tr = ws.thick.data() + static_cast<size_t>(r) * W;
      const float* sm = ws.soft_mod.data() + static_cast<size_t>(r) * W;
      for (int c = body_box.c0; c <= body_box.c1; ++c) {
        const float T = std::min(tr[c], 600.f) * 4;
        if (T <= 0) continue;
        const int k = static_cast<int>(T);
        const float w = T - k;
        const float v = ((1 - w) * soft_tab[k] + w * soft_tab[k + 1]) * sm[c];
        la[c] += v;
        lq[c] += v;
      }
    }
    lb[0][kSoftLayer].add(body_box);
    lb[1][kSoftLayer].add(body_box);
  }

  // 4. Skeleton, organs, pathology.
  for (size_t i = 0; i < prims.size(); ++i) {
    const Prim& p = prims[i];
    double conc;
    if (p.comp == Comp::kAbsolute) {
      conc = integral[i] > 0 ? p.rel / integral[i] : 0;
    } else {
      const int ci = p.comp == Comp::kBoneExtra ? static_cast<int>(Comp::kBone) : static_cast<int>(p.comp);
      conc = scale[ci] * p.rel;
    }
    if (conc == 0 || span[i] == span[i + 1]) continue;
    // Local body surface at the primitive's centre.
    double u, v;
    const double cx = p.shape == Shape::kCapsule ? 0.5 * (p.x0 + p.x1) : p.x0;
    const double cy = p.shape == Shape::kCapsule ? 0.5 * (p.y0 + p.y1) : p.y0;
    f.to_image(cx, cy, &u, &v);
    const int pr_ = std::min(H - 1, std::max(0, static_cast<int>(v / f.pr))),
              pc_ = std::min(W - 1, std::max(0, static_cast<int>(u / f.pc)));
    const size_t pi = static_cast<size_t>(pr_) * W + pc_;
    const double T = ws.thick[pi], cz = ws.mid[pi];
    const double depth_ant = T > 0 ? std::max(2.0, cz + T / 2 - p.z) : 2.0;
    const double depth_post = T > 0 ? std::max(2.0, p.z - (cz - T / 2)) : 2.0;
    const double ta = std::exp(-mu * depth_ant), tp = std::exp(-mu * depth_post);
    const double dist_ant = cam.gap_mm + std::max(0.0, top[pr_] - p.z), dist_post = cam.gap_mm + std::max(0.0, p.z);
    int ka, kp;
    double wa, wp;
    layer_weights(cam, dist_ant, &ka, &wa);
    layer_weights(cam, dist_post, &kp, &wp);
    const float a0 = static_cast<float>(conc * area * ta * wa), a1 = static_cast<float>(conc * area * ta * (1 - wa));
    const float p0 = static_cast<float>(conc * area * tp * wp), p1 = static_cast<float>(conc * area * tp * (1 - wp));
    const Box pb = pixel_box(p, f);
    lb[0][ka].add(pb), lb[0][ka + 1].add(pb), lb[1][kp].add(pb), lb[1][kp + 1].add(pb);
    float* A0 = ws.layer[0][ka].data();
    float* A1 = ws.layer[0][ka + 1].data();
    float* P0 = ws.layer[1][kp].data();
    float* P1 = ws.layer[1][kp + 1].data();
    const int Wp = ws.Wp, P = ws.P;
    for (size_t q = span[i]; q < span[i + 1]; ++q) {
      const uint32_t idx = ws.px_index[q];
      const uint32_t r = idx / static_cast<uint32_t>(W), c = idx - r * static_cast<uint32_t>(W);
      const size_t j = static_cast<size_t>(r + P) * Wp + (c + P);
      const float s = ws.px_path[q];
      A0[j] += a0 * s, A1[j] += a1 * s, P0[j] += p0 * s, P1[j] += p1 * s;
    }
  }

  // 5. Attenuators (metal implants, breasts) act on everything behind them, before the blur.
  for (const Attenuator& at : attenuators) {
    const int nv = at.anterior_only ? 1 : 2;
    const int Wp = ws.Wp, P = ws.P;
    rasterise(at.shape, f, [&](int r, int c, double path) {
      const float t = static_cast<float>(std::exp(-at.mu_per_mm * path));
      const size_t j = static_cast<size_t>(r + P) * Wp + (c + P);
      for (int view = 0; view < nv; ++view)
        for (int k = 0; k < kLayers; ++k) ws.layer[view][k][j] *= t;
    });
  }

  // 6. Blur each layer, sum, add scatter; 7. scale to counts.
  Scan scan = make_scan(H, W);
  scan.spacing_row_mm = f.pr;
  scan.spacing_col_mm = f.pc;
  const double k_counts = counts_per_mbq(patient, site);
  double expected[2] = {0, 0};
  for (int view = 0; view < 2; ++view) {
    float* sum = ws.sum[view].data();
    Box all;
    for (int k = 0; k < kLayers; ++k) {
      Box b = ws.layer_box[view][k];
      if (b.empty()) continue;
      b.r0 = std::max(b.r0, 0), b.c0 = std::max(b.c0, 0), b.r1 = std::min(b.r1, H - 1), b.c1 = std::min(b.c1, W - 1);
      (options.reference_blur ? blur_add_reference : blur_add)(ws, ws.layer[view][k].data(), sum, b, kr[k], Rr[k],
                                                               kc[k], Rc[k]);
      Box grown = b;
      grown.r0 -= Rr[k], grown.r1 += Rr[k], grown.c0 -= Rc[k], grown.c1 += Rc[k];
      all.add(grown);
      // Clear the layer for the next scan.
      for (int r = b.r0; r <= b.r1; ++r) std::fill(ws.lp(view, k, r, b.c0), ws.lp(view, k, r, b.c1) + 1, 0.f);
      ws.layer_box[view][k] = Box{};
    }
    if (all.empty()) continue;
    Box inside = all;
    inside.r0 = std::max(0, all.r0), inside.c0 = std::max(0, all.c0);
    inside.r1 = std::min(H - 1, all.r1), inside.c1 = std::min(W - 1, all.c1);
    add_scatter(ws, sum, inside, cam.scatter_fraction, cam.scatter_fwhm_mm / 2.3548, f.pr, f.pc);
    float* out = scan.view(static_cast<View>(view));
    double tot = 0;
    for (int r = 0; r < H; ++r) {
      float* s = sum + static_cast<size_t>(r + ws.P) * ws.Wp + ws.P;
      float* o = out + static_cast<size_t>(r) * W;
      const float kf = static_cast<float>(k_counts);
      float row_tot = 0;
      for (int c = 0; c < W; ++c) {
        const float val = std::max(0.f, s[c] * kf);
        o[c] = val;
        row_tot += val;
      }
      tot += row_tot;
    }
    expected[view] = tot;
    std::fill(ws.sum[view].begin(), ws.sum[view].end(), 0.f);
  }

  // Labels and ground truth.
  Labels& l = scan.labels;
  l.metastasis = patient.metastasis ? 1 : 0;
  l.lesion_count = static_cast<int>(patient.lesions.size());
  l.cardiac_grade = patient.cardiac_grade;
  l.tracer = patient.tracer;
  l.sex = patient.sex;
  l.age = std::round(patient.age * 10) / 10;
  l.height = std::round(patient.height_cm * 10) / 10;
  l.weight = std::round(patient.weight_kg * 10) / 10;
  l.site = site.name;
  l.outcome_time = patient.outcome_days;
  l.outcome_event = patient.outcome_event;
  scan.origin = Origin::kSimulated;
  scan.views = ViewSet::kBoth;
  nlohmann::json meta = patient.to_json();
  // Image positions (row, column) of the lesions and findings, for evaluation.
  auto add_pos = [&](nlohmann::json& arr) {
    for (auto& e : arr) {
      double u, v;
      f.to_image(e["x_mm"].get<double>(), e["y_mm"].get<double>(), &u, &v);
      e["row"] = std::round((v / f.pr - 0.5) * 10) / 10;
      e["col"] = std::round((u / f.pc - 0.5) * 10) / 10;
    }
  };
  add_pos(meta["lesions"]);
  add_pos(meta["findings"]);
  scan.meta = {{"simulator", "scintigen-phantom"},
               {"simulator_version", kSimulatorVersion},
               {"site", site.name},
               {"patient", meta},
               {"expected_counts", {std::round(expected[0]), std::round(expected[1])}},
               {"compartments_mbq", act}};
  return scan;
}

void add_poisson_noise_unhashed(Scan& scan, Rng& rng) {
  poisson_fill(scan.pixels.data(), scan.pixels.size(), rng);
}

void add_poisson_noise(Scan& scan, Rng& rng) {
  add_poisson_noise_unhashed(scan, rng);
  scan.pixel_sha256 = compute_pixel_sha256(scan);
}

Scan render(const PatientParams& patient, const SiteProfile& site, const GridSize& size, Rng& noise_rng) {
  Scan s = render_expected_unhashed(patient, site, size, RenderOptions{});
  add_poisson_noise(s, noise_rng);
  return s;
}

}  // namespace scintigen::phantom
