// The parametric adult body. Lengths are fractions of stature H from the vertex.
// Ref: Drillis & Contini (1966) / Winter, "Biomechanics and Motor Control of Human Movement"
// (segment lengths as fractions of height: shoulder 0.182 H below vertex, hip 0.47-0.49 H,
// knee 0.715 H, ankle 0.961 H; upper arm 0.186 H, forearm 0.146 H, hand 0.108 H).
#include <algorithm>
#include <cmath>

#include "phantom/anatomy.h"

namespace scintigen::phantom {

namespace {

constexpr double kPi = 3.14159265358979323846;

Prim capsule(double x0, double y0, double x1, double y1, double r0, double r1, double z, double rel,
             Comp comp = Comp::kBone, double depth_scale = 1) {
  Prim p;
  p.shape = Shape::kCapsule;
  p.x0 = x0, p.y0 = y0, p.x1 = x1, p.y1 = y1, p.r0 = r0, p.r1 = r1;
  p.z = z, p.rel = rel, p.comp = comp, p.depth_scale = depth_scale;
  return p;
}

Prim ellipse(double x, double y, double a, double b, double c, double angle, double z, double rel,
             Comp comp = Comp::kBone) {
  Prim p;
  p.shape = Shape::kEllipse;
  p.x0 = x, p.y0 = y, p.r0 = a, p.r1 = b, p.c = c, p.angle = angle;
  p.z = z, p.rel = rel, p.comp = comp;
  return p;
}

Prim shell(double x, double y, double a, double b, double c, double wall, double z, double rel) {
  Prim p = ellipse(x, y, a, b, c, 0, z, rel);
  p.shape = Shape::kShell;
  p.wall = wall;
  return p;
}

double lerp(double a, double b, double t) { return a + (b - a) * t; }
double clamp01(double t) { return std::min(1.0, std::max(0.0, t)); }

}  // namespace

void Anatomy::trunk_at(double y, double* half_width, double* thickness) const {
  const auto& k = body.trunk;
  *half_width = 0;
  *thickness = 0;
  if (k.empty() || y < k.front().y || y > k.back().y) return;
  for (size_t i = 1; i < k.size(); ++i) {
    if (y <= k[i].y) {
      const double t = (y - k[i - 1].y) / std::max(1e-9, k[i].y - k[i - 1].y);
      *half_width = lerp(k[i - 1].half_width, k[i].half_width, t);
      *thickness = lerp(k[i - 1].thickness, k[i].thickness, t);
      return;
    }
  }
}

Anatomy build_anatomy(const PatientParams& p) {
  Anatomy a;
  const double H = p.height_cm * 10;
  a.height_mm = H;
  a.pivot_y = 0.5 * H;
  const bool male = p.sex != "F";
  const double bmi = p.weight_kg / (p.height_cm * p.height_cm * 1e-4);
  const double fat = std::min(1.6, std::max(-0.4, (bmi - 22) / 10));  // 0 lean .. 1 obese
  const double sexw = male ? 1.0 : 0.93;                               // skeletal breadth
  const double age = p.age;
  // Growth plates: open and hot below ~18 y, closed by ~22 y.
  const double physis = clamp01((22 - age) / 6);
  const double rib_r = male ? 5.0 : 4.5;
  a.rib_radius = rib_r;

  // ---- Soft-tissue outline ----
  auto w = [&](double f, double fat_gain) { return f * H * (1 + fat_gain * fat); };
  const double hip_w = male ? 0.098 : 0.108;
  a.body.trunk = {
      {0.160 * H, w(0.042, 0.3), w(0.065, 0.5)},          {0.180 * H, w(0.088 * sexw, 0.25), w(0.095, 0.5)},
      {0.205 * H, w(0.097 * sexw, 0.3), w(0.118, 0.5)},   {0.260 * H, w(0.095 * sexw, 0.35), w(0.128, 0.55)},
      {0.330 * H, w(0.090 * sexw, 0.45), w(0.128, 0.7)},  {0.390 * H, w(male ? 0.085 : 0.080, 0.6), w(0.118, 0.9)},
      {0.445 * H, w(hip_w - 0.004, 0.5), w(0.120, 0.8)},  {0.500 * H, w(hip_w, 0.45), w(0.115, 0.6)},
      {0.530 * H, w(hip_w - 0.012, 0.45), w(0.090, 0.5)},
  };
  double tw, tt;
  auto trunk_t = [&](double y) {
    a.trunk_at(y, &tw, &tt);
    return tt;
  };
  auto trunk_w = [&](double y) {
    a.trunk_at(y, &tw, &tt);
    return tw;
  };
  const double head_c = 0.056 * H;
  a.body.parts.push_back(ellipse(0, 0.064 * H, 0.045 * H * (1 + 0.1 * fat), 0.065 * H, head_c, 0, head_c, 1, Comp::kSoft));
  const double neck_c = 0.034 * H * (1 + 0.3 * fat);
  a.body.parts.push_back(capsule(0, 0.11 * H, 0, 0.17 * H, 0.032 * H * (1 + 0.3 * fat), 0.036 * H * (1 + 0.3 * fat),
                                 neck_c + 15, 1, Comp::kSoft, neck_c / (0.034 * H * (1 + 0.3 * fat))));

  // ---- Skull and face ----
  a.prims.push_back(shell(0, 0.056 * H, 0.041 * H, 0.055 * H, 0.054 * H, 8, head_c, 0.55));
  a.hosts.push_back({"skull", "skull", a.prims.back(), 0, 1, 0.06});
  a.prims.push_back(ellipse(0, 0.094 * H, 0.022 * H, 0.013 * H, 14, 0, 2 * head_c - 30, 0.5));  // maxilla
  a.prims.push_back(ellipse(0, 0.075 * H, 0.030 * H, 0.008 * H, 15, 0, 2 * head_c - 45, 0.4));  // skull base / orbits
  for (int s : {-1, 1}) {  // mandible: ramus and body to the chin
    a.prims.push_back(capsule(s * 0.029 * H, 0.098 * H, s * 0.027 * H, 0.113 * H, 6, 6, head_c, 0.7));
    a.prims.push_back(capsule(s * 0.027 * H, 0.113 * H, s * 0.006 * H, 0.127 * H, 6, 7, 2 * head_c - 40, 0.7));
  }

  // ---- Spine ----
  struct Level {
    std::string name;
    double y, half_h, half_w, c, z;
  };
  std::vector<Level> levels;
  const double c_top = 0.108 * H, c_bot = 0.172 * H, l_bot = 0.445 * H;
  for (int i = 0; i < 7; ++i) {
    const double h = (c_bot - c_top) / 7;
    levels.push_back({"C" + std::to_string(i + 1), c_top + (i + 0.5) * h, 0.47 * h, (11 + i) * sexw, 9, neck_c + 15});
  }
  std::vector<double> wts;
  for (int i = 0; i < 12; ++i) wts.push_back(0.82 + 0.03 * i);
  for (int i = 0; i < 5; ++i) wts.push_back(1.25 + 0.02 * i);
  double sum = 0;
  for (double x : wts) sum += x;
  double y = c_bot;
  for (int i = 0; i < 17; ++i) {
    const double h = (l_bot - c_bot) * wts[i] / sum;
    const bool lumbar = i >= 12;
    const std::string name = lumbar ? "L" + std::to_string(i - 11) : "T" + std::to_string(i + 1);
    const double half_w = (lumbar ? 23 + 1.0 * (i - 12) : 15 + 0.6 * i) * sexw;
    const double zb = lumbar ? 72 + 35 * fat : 58 + 20 * fat;
    levels.push_back({name, y + h / 2, 0.47 * h, half_w, lumbar ? 17.0 : 13.0, zb});
    y += h;
  }
  for (const Level& L : levels) {
    const bool cervical = L.name[0] == 'C';
    a.prims.push_back(ellipse(0, L.y, L.half_w, L.half_h, L.c, 0, L.z, cervical ? 0.85 : 1.0));
    Host h{L.name, "spine", a.prims.back(), 0, 1, cervical ? 0.004 : (L.name[0] == 'L' ? 0.026 : 0.022)};
    a.hosts.push_back(h);
    // Posterior elements: pedicles/facets and the spinous process, nearer the back.
    const double zp = std::max(20.0, L.z - L.c - 14);
    for (int s : {-1, 1})
      a.prims.push_back(ellipse(s * 0.72 * L.half_w, L.y, 0.28 * L.half_w, 0.75 * L.half_h, 7, 0, zp, 0.9));
    a.prims.push_back(ellipse(0, L.y + 0.3 * L.half_h, 4.5, 0.8 * L.half_h, 6, 0, std::max(15.0, zp - 18), 0.8));
  }
  auto level = [&](const std::string& n) -> const Level& {
    for (const Level& L : levels)
      if (L.name == n) return L;
    return levels.front();
  };

  // ---- Sacrum, sacroiliac joints, pelvis ----
  const double zs = 48 + 20 * fat;
  a.prims.push_back(ellipse(0, 0.456 * H, 0.027 * H * sexw, 0.011 * H, 16, 0, zs, 0.9));
  a.hosts.push_back({"sacrum", "pelvis", a.prims.back(), 0, 1, 0.05});
  a.prims.push_back(ellipse(0, 0.472 * H, 0.019 * H * sexw, 0.009 * H, 13, 0, zs, 0.85));
  a.prims.push_back(ellipse(0, 0.486 * H, 0.010 * H * sexw, 0.008 * H, 9, 0, zs - 5, 0.7));
  const double pel = male ? 1.0 : 1.06;  // wider female pelvis
  const double ilium_z = trunk_t(0.43 * H) * 0.45;
  for (int s : {-1, 1}) {
    a.prims.push_back(capsule(s * 0.022 * H * pel, 0.444 * H, s * 0.017 * H * pel, 0.476 * H, 8, 7, zs + 8, 1.25));
    a.hosts.push_back({s < 0 ? "SI_R" : "SI_L", "pelvis", a.prims.back(), 0, 1, 0.02});
    // Iliac wing: a thin plate seen face-on, brighter crest.
    Prim wing = ellipse(s * 0.058 * H * pel, 0.434 * H, 0.036 * H * pel, 0.027 * H, 9, s * 0.45, ilium_z, 0.85);
    a.prims.push_back(wing);
    a.hosts.push_back({s < 0 ? "ilium_R" : "ilium_L", "pelvis", wing, 0, 1, 0.05});
    const double cx[4] = {0.028, 0.055, 0.078, 0.086}, cy[4] = {0.415, 0.402, 0.410, 0.447};
    const double cz[4] = {zs + 10, ilium_z, ilium_z + 20, trunk_t(0.447 * H) - 40};
    for (int k = 0; k < 3; ++k)
      a.prims.push_back(capsule(s * cx[k] * H * pel, cy[k] * H, s * cx[k + 1] * H * pel, cy[k + 1] * H, 7, 7,
                                0.5 * (cz[k] + cz[k + 1]), 0.8));
    // Acetabulum ring, pubic rami, ischium.
    const double hx = s * 0.052 * H * pel, hy = 0.489 * H;
    const double zt = trunk_t(hy);
    a.prims.push_back(shell(hx, hy, 27, 27, 27, 7, zt * 0.5, 0.75));
    a.hosts.push_back({s < 0 ? "acetabulum_R" : "acetabulum_L", "pelvis", a.prims.back(), 0, 1, 0.03});
    a.prims.push_back(capsule(hx - s * 18, hy - 5, s * 9, 0.494 * H, 8, 8, zt - 35, 0.8));
    a.hosts.push_back({s < 0 ? "pubis_R" : "pubis_L", "pelvis", a.prims.back(), 0, 1, 0.02});
    a.prims.push_back(capsule(s * 10, 0.506 * H, s * 0.034 * H * pel, 0.523 * H, 7, 8, zt * 0.5, 0.75));
    a.prims.push_back(capsule(s * 0.034 * H * pel, 0.523 * H, hx - s * 5, hy + 18, 9, 9, zt * 0.45, 0.8));
    a.hosts.push_back({s < 0 ? "ischium_R" : "ischium_L", "pelvis", a.prims.back(), 0, 1, 0.015});
  }

  // ---- Ribs, sternum, clavicles, scapulae ----
  const double rib_w[12] = {0.036, 0.052, 0.063, 0.070, 0.075, 0.078, 0.080, 0.080, 0.078, 0.074, 0.066, 0.052};
  const double drop_ant[12] = {12, 30, 48, 62, 72, 80, 86, 80, 70, 60, 0, 0};
  const double theta_end[12] = {0.86, 0.87, 0.88, 0.88, 0.88, 0.87, 0.85, 0.78, 0.72, 0.66, 0.55, 0.45};
  const double back_soft = 22 + 22 * fat;
  for (int i = 0; i < 12; ++i) {
    const Level& T = level("T" + std::to_string(i + 1));
    const double ymid = T.y;
    const double chest_t = trunk_t(ymid + 40);
    const double W = std::min(rib_w[i] * H * sexw * (1 + 0.08 * fat), trunk_w(ymid + 40) - 14);
    const double D = std::max(30.0, 0.5 * chest_t - back_soft - 8);  // rib-cage half depth
    const double zc = back_soft + D;
    for (int s : {-1, 1}) {
      const int segs = 12;
      const double th0 = 0.12 * kPi, th1 = theta_end[i] * kPi;
      auto pt = [&](double th, double* x, double* yy, double* z) {
        const double xh = T.half_w + 4;
        *x = s * (xh + (W - xh) * std::sin(th));
        const double post = std::min(th, kPi / 2) / (kPi / 2);
        const double ant = th > kPi / 2 ? std::pow((th - kPi / 2) / (kPi / 2), 1.3) : 0;
        *yy = ymid + (20 + 2.0 * i) * post * post + drop_ant[i] * ant;
        *z = zc - D * std::cos(th);
      };
      for (int k = 0; k < segs; ++k) {
        double xa, ya, za, xb, yb, zb;
        pt(lerp(th0, th1, double(k) / segs), &xa, &ya, &za);
        pt(lerp(th0, th1, double(k + 1) / segs), &xb, &yb, &zb);
        a.prims.push_back(capsule(xa, ya, xb, yb, rib_r, rib_r, 0.5 * (za + zb), 0.75));
        a.prims.back().round_caps = k == 0 || k == segs - 1;
        const bool post_arc = k < segs / 2;
        Host h{std::string("rib_") + (s < 0 ? "R" : "L") + std::to_string(i + 1) + (post_arc ? "_post" : "_ant"), "ribs",
               a.prims.back(), 0, 1, 0.17 / (12 * 2 * segs)};
        a.hosts.push_back(h);
      }
    }
  }
  a.rib_rel = 0.75;
  const double notch = 0.19 * H;
  const double zst = trunk_t(0.24 * H) - (16 + 22 * fat);
  a.prims.push_back(ellipse(0, notch + 22, 24 * sexw, 22, 9, 0, zst, 0.95));  // manubrium
  a.hosts.push_back({"sternum", "sternum", a.prims.back(), 0, 1, 0.01});
  a.prims.push_back(capsule(0, notch + 48, 0, 0.285 * H, 14 * sexw, 11 * sexw, zst, 0.85, Comp::kBone, 0.55));
  a.hosts.push_back({"sternum", "sternum", a.prims.back(), 0, 1, 0.02});
  const double acrom = (male ? 0.115 : 0.108) * H * (1 + 0.05 * fat);
  const double acrom_y = 0.183 * H;
  for (int s : {-1, 1}) {
    const double zc_med = trunk_t(notch) - 22, zc_lat = trunk_t(notch) * 0.55;
    a.prims.push_back(capsule(s * 20, notch, s * 0.45 * acrom, notch - 8, 7, 7, zc_med, 0.75));
    a.prims.push_back(capsule(s * 0.45 * acrom, notch - 8, s * (acrom - 12), acrom_y, 7, 7, zc_lat, 0.75));
    a.hosts.push_back({s < 0 ? "clavicle_R" : "clavicle_L", "clavicle", a.prims.back(), 0, 1, 0.01});
    // Scapula: thin body, brighter borders and spine, acromion and glenoid.
    const double zsc = 30 + 18 * fat;
    const double sx_med = 0.045 * H * sexw, sx_lat = acrom - 0.022 * H;
    a.prims.push_back(ellipse(s * 0.5 * (sx_med + sx_lat), 0.232 * H, 0.030 * H * sexw, 0.045 * H, 5, 0, zsc, 0.45));
    a.hosts.push_back({s < 0 ? "scapula_R" : "scapula_L", "scapula", a.prims.back(), 0, 1, 0.02});
    a.prims.push_back(capsule(s * sx_med, 0.196 * H, s * (sx_med + 0.012 * H), 0.285 * H, 4.5, 4.5, zsc, 0.6));
    a.prims.push_back(capsule(s * sx_lat, 0.207 * H, s * (sx_med + 0.014 * H), 0.285 * H, 6, 5, zsc + 5, 0.65));
    a.prims.push_back(capsule(s * sx_med, 0.212 * H, s * (acrom - 8), acrom_y + 4, 6, 6, zsc + 8, 0.7));
    a.prims.push_back(ellipse(s * (acrom - 30), 0.198 * H, 12, 17, 15, 0, trunk_t(0.2 * H) * 0.45, 0.8));  // glenoid
  }

  // ---- Arms ----
  const double arm_r = 0.026 * H * (1 + 0.35 * fat), fore_r = 0.019 * H * (1 + 0.3 * fat);
  a.arm_z = arm_r;
  const double L_h = 0.186 * H, L_f = 0.146 * H, L_hand = 0.108 * H;
  for (int s : {-1, 1}) {
    const int side = s < 0 ? 0 : 1;
    const double sx = s * (acrom - 16), sy = 0.196 * H;
    const double al = p.arm_abduction_deg * kPi / 180;
    double ex = sx + s * L_h * std::sin(al), ey = sy + L_h * std::cos(al);
    const double min_ex = trunk_w(ey) + fore_r + 4;
    if (s * ex < min_ex) ex = s * min_ex;
    const double al2 = al + (2 + 3 * fat) * kPi / 180;
    double wx = ex + s * L_f * std::sin(al2), wy = ey + L_f * std::cos(al2);
    const double min_wx = std::max(trunk_w(wy), 0.0) + 0.7 * fore_r + 4;
    if (s * wx < min_wx) wx = s * min_wx;
    a.elbow_x[side] = ex, a.elbow_y[side] = ey, a.wrist_x[side] = wx, a.wrist_y[side] = wy;
    // Soft tissue of the arm (deltoid included).
    a.body.parts.push_back(capsule(sx, sy - 10, ex, ey, arm_r * 1.12, arm_r * 0.85, arm_r, 1, Comp::kSoft));
    a.body.parts.push_back(capsule(ex, ey, wx, wy, fore_r * 1.05, fore_r * 0.7, arm_r, 1, Comp::kSoft, 0.9));
    const double hdx = (wx - ex) / L_f, hdy = (wy - ey) / L_f;
    const double hx = wx + hdx * 0.5 * L_hand, hy = wy + hdy * 0.5 * L_hand;
    a.body.parts.push_back(ellipse(hx, hy, 0.5 * L_hand, 0.016 * H, 0.02 * H, std::atan2(hdy, hdx), arm_r, 1, Comp::kSoft));
    // Humerus: head, shaft, distal end; physes in the young.
    const double ux = (ex - sx) / L_h, uy = (ey - sy) / L_h;
    a.prims.push_back(ellipse(sx, sy, 22, 24, 22, 0, arm_r, 0.8));
    a.prims.push_back(capsule(sx + ux * 20, sy + uy * 20, ex - ux * 18, ey - uy * 18, 10 * sexw, 8.5 * sexw, arm_r, 0.5));
    Host hum{s < 0 ? "humerus_R" : "humerus_L", "humerus", a.prims.back(), 0, 0.35, 0.04};
    a.hosts.push_back(hum);
    a.prims.push_back(ellipse(ex - ux * 8, ey - uy * 8, 27 * sexw, 11, 18, std::atan2(uy, ux) + kPi / 2, arm_r, 0.8));
    if (physis > 0) {
      const double px = sx + ux * 28, py = sy + uy * 28;
      a.prims.push_back(capsule(px - uy * 20, py + ux * 20, px + uy * 20, py - ux * 20, 3, 3, arm_r, 3.5 * physis));
    }
    // Radius and ulna; distal physis.
    const double fx = (wx - ex) / L_f, fy = (wy - ey) / L_f;
    for (int k : {-1, 1})
      a.prims.push_back(capsule(ex + k * 8 * fy, ey - k * 8 * fx, wx + k * 10 * fy, wy - k * 10 * fx, k < 0 ? 6 : 5.5,
                                k < 0 ? 7 : 5, arm_r, 0.5));
    a.hosts.push_back({s < 0 ? "forearm_R" : "forearm_L", "limb", a.prims.back(), 0, 1, 0.0});
    if (physis > 0)
      a.prims.push_back(capsule(wx - fx * 12 - fy * 16, wy - fy * 12 + fx * 16, wx - fx * 12 + fy * 16,
                                wy - fy * 12 - fx * 16, 2.5, 2.5, arm_r, 3.0 * physis));
    // Hand: carpus and rays.
    a.prims.push_back(ellipse(wx + fx * 22, wy + fy * 22, 22, 17, 16, std::atan2(fy, fx), arm_r, 0.75));
    for (int k = -2; k <= 2; ++k) {
      const double ang = std::atan2(fy, fx) + k * 0.06;
      const double bx = wx + fx * 28 + k * 6 * fy, by = wy + fy * 28 - k * 6 * fx;
      const double len = (k == -2 ? 0.06 : 0.085 - 0.006 * std::abs(k)) * H;
      a.prims.push_back(capsule(bx, by, bx + len * std::cos(ang), by + len * std::sin(ang), 5, 3.5, arm_r, 0.6));
    }
  }

  // ---- Legs ----
  const double spread = p.arm_abduction_deg * 1.2;  // relaxed patients lie with legs a bit apart
  a.knee_x = 0.047 * H * sexw + 0.25 * spread + 14 * fat;
  a.ankle_x = a.knee_x + 4 + 0.5 * spread;
  a.y_knee = 0.712 * H;
  const double thigh_r = 0.05 * H * (1 + 0.4 * fat), calf_r = 0.032 * H * (1 + 0.25 * fat);
  for (int s : {-1, 1}) {
    const double hx = s * 0.052 * H * pel, hy = 0.489 * H;
    const double kx = s * a.knee_x, ky = a.y_knee, ax = s * a.ankle_x, ay = 0.955 * H;
    a.body.parts.push_back(capsule(s * (0.045 * H + 12 * fat), 0.49 * H, kx, ky, thigh_r, 0.033 * H * (1 + 0.25 * fat),
                                   thigh_r, 1, Comp::kSoft, 0.85));
    a.body.parts.push_back(capsule(kx, ky, ax, ay, calf_r, 0.02 * H, calf_r, 1, Comp::kSoft));
    a.body.parts.push_back(ellipse(ax, 0.977 * H, 0.027 * H, 0.025 * H, 0.05 * H, 0, 0.05 * H, 1, Comp::kSoft));
    const double zl = thigh_r * 0.85;
    // Femur: head, neck, trochanters, shaft, condyles; physes.
    a.prims.push_back(ellipse(hx, hy, 23 * sexw, 23 * sexw, 23, 0, trunk_t(hy) * 0.5, 0.8));
    a.hosts.push_back({s < 0 ? "femoral_head_R" : "femoral_head_L", "femur", a.prims.back(), 0, 1, 0.02});
    const double gx = s * 0.088 * H * pel, gy = 0.503 * H;
    a.prims.push_back(capsule(hx, hy, gx - s * 10, gy, 13, 15, trunk_t(hy) * 0.5, 0.6));
    a.prims.push_back(ellipse(gx, gy, 15, 21, 18, 0, trunk_t(gy) * 0.45, 0.8));
    const double sx0 = gx - s * 12, sy0 = gy + 20;
    a.prims.push_back(capsule(sx0, sy0, kx + s * 4, ky - 35, 13 * sexw, 12 * sexw, zl, 0.5));
    a.hosts.push_back({s < 0 ? "femur_R" : "femur_L", "femur", a.prims.back(), 0, 0.35, 0.05});
    a.hosts.push_back({s < 0 ? "femur_shaft_R" : "femur_shaft_L", "limb", a.prims.back(), 0.35, 1, 0.005});
    a.prims.push_back(ellipse(kx, ky - 12, 0.021 * H * sexw, 0.012 * H, 24, 0, calf_r, 0.7));
    a.prims.push_back(ellipse(kx, ky - 18, 19, 22, 10, 0, 2 * calf_r - 12, 0.55));  // patella
    // Tibia, fibula.
    a.prims.push_back(ellipse(kx, ky + 16, 0.02 * H * sexw, 0.009 * H, 22, 0, calf_r, 0.7));
    a.prims.push_back(capsule(kx, ky + 30, ax - s * 3, ay - 18, 12 * sexw, 10 * sexw, calf_r, 0.5));
    a.hosts.push_back({s < 0 ? "tibia_R" : "tibia_L", "limb", a.prims.back(), 0, 1, 0.005});
    a.prims.push_back(capsule(kx + s * 26, ky + 28, ax + s * 22, ay - 4, 5, 5, calf_r * 0.9, 0.45));
    a.prims.push_back(ellipse(ax - s * 2, ay - 8, 20, 14, 20, 0, calf_r, 0.85));  // distal tibia, malleoli
    if (physis > 0) {
      a.prims.push_back(capsule(kx - 30, ky - 32, kx + 30, ky - 32, 3.5, 3.5, calf_r, 3.5 * physis));
      a.prims.push_back(capsule(kx - 28, ky + 30, kx + 28, ky + 30, 3.5, 3.5, calf_r, 3.5 * physis));
      a.prims.push_back(capsule(ax - 18, ay - 26, ax + 18, ay - 26, 3, 3, calf_r, 2.5 * physis));
    }
    // Feet: seen end-on in the supine patient (heel near the table, toes up).
    a.prims.push_back(ellipse(ax, ay + 18, 24, 20, 26, 0, 35, 0.6));
    a.prims.push_back(ellipse(ax + s * 10, ay + 30, 33, 17, 45, 0, 130, 0.45));
  }

  // ---- Organs ----
  const Level& L1 = level("L1");
  const double zk = 58 + 25 * fat;
  const std::string& rv = p.renal_variant;
  for (int s : {-1, 1}) {
    if ((rv == "single_left" && s < 0) || (rv == "single_right" && s > 0)) continue;
    const double scale = rv.rfind("single", 0) == 0 ? 1.15 : 1.0;
    double kx = s * 0.041 * H * sexw, ky = L1.y + (s < 0 ? 18 : 0), ang = s * 0.28 + kPi / 2, kz = zk;
    if (rv == "horseshoe") ky = level("L3").y, kx = s * 0.034 * H, ang = kPi / 2 - s * 0.35, kz = zk + 15;
    if (rv == "pelvic_right" && s < 0) ky = 0.452 * H, kx = -0.045 * H, kz = trunk_t(0.45 * H) * 0.55;
    a.prims.push_back(ellipse(kx, ky, 0.030 * H * scale, 0.016 * H * scale, 24, ang, kz, 1.0, Comp::kKidney));
    a.prims.push_back(ellipse(kx - s * 10, ky + 4, 11, 9, 10, 0, kz, 1.2, Comp::kKidney));  // renal pelvis
  }
  if (rv == "horseshoe")
    a.prims.push_back(capsule(-0.03 * H, level("L3").y + 0.022 * H, 0.03 * H, level("L3").y + 0.022 * H, 12, 12, zk + 25, 1.0,
                              Comp::kKidney));
  const double bl_r = std::cbrt(3 * p.bladder_ml * 1000 / (4 * kPi));
  a.r_bladder = bl_r;
  a.y_bladder = 0.487 * H - 0.55 * bl_r;
  a.z_bladder = trunk_t(a.y_bladder) * 0.58;
  a.prims.push_back(ellipse(0, a.y_bladder, bl_r * 1.15, bl_r * 0.88, bl_r, 0, a.z_bladder, 1.0, Comp::kBladder));
  a.y_heart = level("T8").y - 0.01 * H;
  a.x_heart = 0.018 * H;
  a.z_heart = trunk_t(a.y_heart) - 70 - 12 * fat;
  a.prims.push_back(ellipse(a.x_heart, a.y_heart, 0.036 * H, 0.027 * H, 45, 0.6, a.z_heart, 0.8, Comp::kSoft));  // blood pool
  a.prims.push_back(ellipse(-0.045 * H, 0.322 * H, 0.058 * H, 0.038 * H, 65, -0.25, trunk_t(0.32 * H) * 0.5, 0.35,
                            Comp::kSoft));  // liver
  if (!male) {
    const double br = 45 + 35 * std::max(0.0, fat), bt = 25 + 40 * std::max(0.0, fat);
    for (int s : {-1, 1}) {
      const double by = 0.285 * H, bx = s * 0.05 * H;
      Prim b = ellipse(bx, by, br, br * 0.85, bt / 2, 0, trunk_t(by) + bt / 2, 1.0, Comp::kSoft);
      a.prims.push_back(b);
      a.attenuators.push_back({b, 0.015, true});  // Ref: water mu(140 keV) ~ 0.15/cm
    }
  }
  return a;
}

}  // namespace scintigen::phantom
