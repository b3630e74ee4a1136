// The parametric adult body. Lengths are fractions of stature H from the vertex.
// Ref: Drillis & Contini (1966) / Winter, "Biomechanics and Motor Control of Human Movement"
// (segment lengths as fractions of height: shoulder 0.182 H below vertex, hip 0.47-0.49 H,
// knee 0.715 H, ankle 0.961 H; upper arm 0.186 H, forearm 0.146 H, hand 0.108 H).
//
// How the skeleton looks on a bone scan (what the relative concentrations `rel` encode): uptake
// follows bone turnover and blood flow, so the ends of long bones (metaphyses, epiphyses) are
// brighter than the diaphyses, whose projection shows a cortical tube; vertebral bodies with
// their end plates and the pedicles give the spine its ladder look; the sacroiliac joints, the
// sternoclavicular joints, the acromia, the anterior iliac spines, the facial bones and the
// calvarial rim stand out; ribs fade laterally and towards the costal cartilages.
// Ref: Brown, O'Connor, Hung, Hayostek, "The bone scan", Semin Nucl Med 1993; Love et al.,
// "Radionuclide bone imaging: an illustrative review", RadioGraphics 2003;23:341.
#include "phantom/anatomy.h"

#include <algorithm>
#include <cmath>

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

Prim shell(double x, double y, double a, double b, double c, double wall, double z, double rel,
           Comp comp = Comp::kBone) {
  Prim p = ellipse(x, y, a, b, c, 0, z, rel, comp);
  p.shape = Shape::kShell;
  p.wall = wall;
  return p;
}

// Elliptic cylinder with its axis along y (rotated by `angle`): half width a, half height b.
Prim cylinder(double x, double y, double a, double b, double c, double angle, double z, double rel) {
  Prim p = ellipse(x, y, a, b, c, angle, z, rel);
  p.shape = Shape::kCylinder;
  return p;
}

double lerp(double a, double b, double t) {
  return a + (b - a) * t;
}
double clamp01(double t) {
  return std::min(1.0, std::max(0.0, t));
}

struct Pt {
  double x, y;
};

}  // namespace

void Anatomy::trunk_at(double y, double* half_width, double* thickness) const {
  const auto& k = body.trunk;
  *half_width = 0;
  *thickness = 0;
  if (k.empty() || y < k.front().y || y > k.back().y) return;
  for (size_t i = 1; i < k.size(); ++i) {
    if (y <= k[i].y) {
      const double t = (y - k[i - 1].y) / std::max(1e-9, k[i].y - k[i - 1].y);
      // Smoothstep between keyframes: a natural outline without kinks at the keys.
      const double ts = t * t * (3 - 2 * t);
      *half_width = lerp(k[i - 1].half_width, k[i].half_width, ts);
      *thickness = lerp(k[i - 1].thickness, k[i].thickness, ts);
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
  const double sexw = male ? 1.0 : 0.93;                              // skeletal breadth
  const double age = p.age;
  // Growth plates: open and hot below ~18 y, closed by ~22 y.
  const double physis = clamp01((22 - age) / 6);
  // Bone turnover falls with age in adults: the skeleton-to-soft contrast is lower in the old
  // (the total is normalised by the kinetics; only the pattern changes: ends vs shafts).
  const double rib_r = male ? 5.0 : 4.5;
  a.rib_radius = rib_r;

  // Individual variation: a generator of its own, so that the anatomy depends on the seed only.
  // anatomy_seed 0 (hand-made test patients) is the average anatomy: no individual variation.
  Rng vr(splitmix64(p.anatomy_seed ^ 0xa11a7e5eedull));
  const bool vary = p.anatomy_seed != 0;
  auto gauss = [&](double sd, double lim) { return vary ? std::max(-lim, std::min(lim, sd * vr.normal())) : 0.0; };
  auto uni = [&](double lo, double hi) { return vary ? vr.uniform(lo, hi) : 0.5 * (lo + hi); };
  auto jit = [&](double sd) { return std::exp(gauss(sd, 2.5 * sd)); };
  const double side_rel[2] = {jit(0.05), jit(0.05)};  // right, left: slight asymmetry of uptake
  const double side_len[2] = {1 + gauss(0.008, 0.02), 1 + gauss(0.008, 0.02)};
  auto add = [&](Prim q, double sd = 0.08) {
    q.rel *= jit(sd);
    a.prims.push_back(q);
    return a.prims.back();
  };
  auto add_side = [&](Prim q, int s, double sd = 0.08) {
    q.rel *= side_rel[s < 0 ? 0 : 1];
    return add(q, sd);
  };
  // A polyline of capsules (no round caps at the inner joints so that they do not double up).
  auto chain = [&](const std::vector<Pt>& pts, double r0, double r1, double z0, double z1, double rel0, double rel1,
                   int s, double sd = 0.06) {
    const int n = static_cast<int>(pts.size()) - 1;
    for (int k = 0; k < n; ++k) {
      const double t0 = double(k) / n, t1 = double(k + 1) / n, tm = 0.5 * (t0 + t1);
      Prim q = capsule(pts[k].x, pts[k].y, pts[k + 1].x, pts[k + 1].y, lerp(r0, r1, t0), lerp(r0, r1, t1),
                       lerp(z0, z1, tm), lerp(rel0, rel1, tm));
      q.round_caps = k == 0 || k == n - 1;
      if (n == 1) q.round_caps = true;
      add_side(q, s, sd);
    }
  };
  // A long bone from P0 to P1: a cortical tube narrowing to the mid-shaft, and brighter
  // metaphyses/epiphyses at both ends (ellipses overlapping the tube). Returns the host capsule.
  auto long_bone = [&](Pt P0, Pt P1, double r_end0, double r_mid, double r_end1, double z, double rel_shaft,
                       double rel_end0, double rel_end1, int s, double cortex = 0.62) {
    const double dx = P1.x - P0.x, dy = P1.y - P0.y, L = std::hypot(dx, dy) + 1e-9;
    const double ang = std::atan2(dy, dx);
    auto at = [&](double t) { return Pt{P0.x + dx * t, P0.y + dy * t}; };
    const double ts[5] = {0.05, 0.2, 0.5, 0.8, 0.95};
    const double rs[5] = {0.78 * r_end0, 1.12 * r_mid, r_mid, 1.12 * r_mid, 0.78 * r_end1};
    const double sh = 1.5 * rel_shaft * jit(0.1);
    rel_end0 *= 0.75, rel_end1 *= 0.75;
    for (int k = 0; k < 4; ++k) {
      const Pt A = at(ts[k]), B = at(ts[k + 1]);
      Prim q = capsule(A.x, A.y, B.x, B.y, rs[k], rs[k + 1], z, sh);
      q.round_caps = false;
      q.wall = cortex;
      add_side(q, s, 0.0);
    }
    const Pt E0 = at(0.075), E1 = at(0.925), M0 = at(0.16), M1 = at(0.84);
    add_side(ellipse(E0.x, E0.y, 0.085 * L, r_end0, r_end0 * 0.9, ang, z, rel_end0), s);
    add_side(ellipse(E1.x, E1.y, 0.085 * L, r_end1, r_end1 * 0.9, ang, z, rel_end1), s);
    // Metaphyses: uptake fading from the ends into the shaft.
    add_side(ellipse(M0.x, M0.y, 0.13 * L, 0.75 * (r_mid + r_end0) / 2, 0.8 * r_mid, ang, z, 0.3 * rel_end0), s);
    add_side(ellipse(M1.x, M1.y, 0.13 * L, 0.75 * (r_mid + r_end1) / 2, 0.8 * r_mid, ang, z, 0.3 * rel_end1), s);
    if (physis > 0) {  // open growth plates: thin hot lines across both metaphyses
      for (double t : {0.13, 0.87}) {
        const Pt C = at(t);
        const double r = t < 0.5 ? r_end0 : r_end1;
        add_side(
            capsule(C.x + dy / L * r, C.y - dx / L * r, C.x - dy / L * r, C.y + dx / L * r, 2.5, 2.5, z, 3.0 * physis),
            s);
      }
    }
    Prim host = capsule(P0.x, P0.y, P1.x, P1.y, r_end0 * 0.8, r_end1 * 0.8, z, 0.5 * (rel_shaft + rel_end0));
    host.wall = 0;
    return host;
  };

  // ---- Soft-tissue outline ----
  auto w = [&](double f, double fat_gain) { return f * H * (1 + fat_gain * fat); };
  const double hip_w = (male ? 0.100 : 0.112) * jit(0.03);
  const double waist_w = (male ? 0.086 : 0.078) * jit(0.03);
  const double chest_w = 0.100 * sexw * jit(0.025);
  a.body.trunk = {
      {0.148 * H, w(0.046, 0.3), w(0.068, 0.5)},
      {0.165 * H, w(0.066 * sexw, 0.3), w(0.085, 0.5)},
      {0.182 * H, w(0.094 * sexw, 0.25), w(0.102, 0.5)},
      {0.205 * H, w(chest_w, 0.3), w(0.118, 0.5)},
      {0.260 * H, w(chest_w - 0.004, 0.35), w(0.128, 0.55)},
      {0.320 * H, w(chest_w - 0.010, 0.45), w(0.128, 0.7)},
      {0.385 * H, w(waist_w, 0.6), w(0.118, 0.9)},
      {0.440 * H, w(hip_w - 0.006, 0.5), w(0.120, 0.8)},
      {0.490 * H, w(hip_w, 0.45), w(0.116, 0.6)},
      {0.525 * H, w(hip_w - 0.010, 0.45), w(0.095, 0.5)},
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
  a.body.parts.push_back(
      ellipse(0, 0.066 * H, 0.046 * H * (1 + 0.08 * fat), 0.067 * H, head_c, 0, head_c, 1, Comp::kSoft));
  // Jaw and chin soft tissue, then a neck that widens into the trapezius.
  a.body.parts.push_back(
      ellipse(0, 0.112 * H, 0.037 * H * (1 + 0.2 * fat), 0.026 * H, 0.045 * H, 0, 0.05 * H, 1, Comp::kSoft));
  const double neck_r = 0.036 * H * (1 + 0.3 * fat);
  const double neck_c = 0.034 * H * (1 + 0.3 * fat);
  a.body.parts.push_back(
      capsule(0, 0.115 * H, 0, 0.158 * H, neck_r, neck_r * 1.15, neck_c + 15, 1, Comp::kSoft, neck_c / neck_r));

  // ---- Skull and face ----
  // Head flexion on the pillow brings the skull down towards the shoulders (shorter neck).
  const double hd = uni(0, 0.022 * H);
  const size_t head_first = a.prims.size(), head_host = a.hosts.size();
  const double z_face = 2 * head_c - 28;
  add(shell(0, 0.058 * H, 0.041 * H, 0.054 * H, 0.054 * H, 7, head_c, 0.6));  // calvarium: bright rim
  a.hosts.push_back({"skull", "skull", a.prims.back(), 0, 1, 0.06});
  for (int s : {-1, 1}) {
    add_side(capsule(s * 0.010 * H, 0.081 * H, s * 0.034 * H, 0.069 * H, 5, 6, head_c, 0.6), s);  // petrous ridge
    add_side(shell(s * 0.016 * H, 0.072 * H, 0.010 * H, 0.009 * H, 9, 4, z_face, 0.3), s);        // orbit rim
    add_side(ellipse(s * 0.029 * H, 0.083 * H, 0.008 * H, 0.006 * H, 8, s * 0.3, z_face - 25, 0.6), s);  // zygoma
    chain({{s * 0.031 * H, 0.082 * H},
           {s * 0.032 * H, 0.100 * H},
           {s * 0.028 * H, 0.113 * H},
           {s * 0.015 * H, 0.123 * H},
           {s * 0.002 * H, 0.127 * H}},
          6, 5.5, head_c, z_face - 10, 0.8, 0.85, s);  // mandible: condyle, ramus, angle, body
  }
  add(ellipse(0, 0.080 * H, 0.012 * H, 0.006 * H, 10, 0, head_c, 0.5));       // sphenoid, clivus
  add(capsule(0, 0.074 * H, 0, 0.087 * H, 4, 5, z_face, 0.6));                // nasal bones
  add(ellipse(0, 0.093 * H, 0.020 * H, 0.011 * H, 14, 0, z_face - 5, 0.95));  // maxilla, alveolar
  add(ellipse(0, 0.109 * H, 0.017 * H, 0.006 * H, 10, 0, z_face - 10, 0.6));  // mandibular alveolar
  add(ellipse(0, 0.126 * H, 0.008 * H, 0.005 * H, 9, 0, z_face - 5, 0.8));    // chin
  for (size_t i = head_first; i < a.prims.size(); ++i) a.prims[i].y0 += hd, a.prims[i].y1 += hd;
  a.hosts[head_host].prim.y0 += hd;
  for (int i = 0; i < 2; ++i) a.body.parts[i].y0 += hd;  // head, jaw
  a.body.parts[2].y0 += 0.5 * hd;                        // neck

  // ---- Spine ----
  struct Level {
    std::string name;
    double x, y, half_h, half_w, c, z;
  };
  std::vector<Level> levels;
  const double c_top = 0.108 * H + 0.7 * hd, c_bot = 0.172 * H, l_bot = 0.445 * H;
  const double scol = gauss(3.0, 9.0), scol_phase = uni(-0.5, 0.5);  // mild scoliosis
  auto spine_x = [&](double y) {
    const double t = (y - c_bot) / (l_bot - c_bot);
    return t <= 0 ? 0.0 : scol * std::sin(kPi * std::min(1.0, t) * (1 + 0.3 * scol_phase));
  };
  for (int i = 0; i < 7; ++i) {
    const double h = (c_bot - c_top) / 7;
    const double y = c_top + (i + 0.5) * h;
    levels.push_back({"C" + std::to_string(i + 1), 0, y, 0.40 * h, (11 + i) * sexw, 9, neck_c + 15});
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
    const double half_w = (lumbar ? 23 + 1.0 * (i - 12) : 14 + 0.7 * i) * sexw;
    // Thoracic kyphosis near the back, lumbar lordosis lifting the lumbar bodies off the table.
    const double zb = lumbar ? 62 + 6 * (i - 12) + 35 * fat : 52 + 4 * std::fabs(i - 6.0) / 6 + 20 * fat;
    levels.push_back({name, spine_x(y + h / 2), y + h / 2, 0.41 * h, half_w, lumbar ? 17.0 : 13.0, zb});
    y += h;
  }
  for (const Level& L : levels) {
    const bool cervical = L.name[0] == 'C', lumbar = L.name[0] == 'L';
    // Vertebral body (elliptic cylinder seen from the front: flat end plates, disc spaces between).
    add(cylinder(L.x, L.y, L.half_w, L.half_h, L.c, 0, L.z, cervical ? 0.75 : 0.95), 0.1);
    a.hosts.push_back({L.name, "spine", a.prims.back(), 0, 1, cervical ? 0.004 : (lumbar ? 0.026 : 0.022)});
    if (!cervical)  // denser subchondral bone of the end plates
      for (int e : {-1, 1})
        add(capsule(L.x - 0.8 * L.half_w, L.y + e * (L.half_h - 1.5), L.x + 0.8 * L.half_w, L.y + e * (L.half_h - 1.5),
                    1.8, 1.8, L.z, 0.6),
            0.1);
    // Posterior elements: pedicles (the paired dots of the ladder), spinous process, and
    // transverse processes, nearer the back.
    const double zp = std::max(20.0, L.z - L.c - 14);
    for (int s : {-1, 1}) {
      add_side(
          ellipse(L.x + s * 0.66 * L.half_w, L.y - 0.15 * L.half_h, 0.22 * L.half_w, 0.42 * L.half_h, 7, 0, zp, 1.0), s,
          0.12);
      if (lumbar)
        add_side(capsule(L.x + s * 0.9 * L.half_w, L.y + 1, L.x + s * 1.75 * L.half_w, L.y + 3, 3.5, 2.5, zp, 0.5), s);
      else if (!cervical)  // costotransverse and costovertebral joints
        add_side(ellipse(L.x + s * (L.half_w + 5), L.y - 1, 6, 5, 6, 0, zp + 6, 0.8), s, 0.15);
    }
    add(ellipse(L.x, L.y + 0.3 * L.half_h, 4.5, 0.8 * L.half_h, 6, 0, std::max(15.0, zp - 18), 0.75));
  }
  auto level = [&](const std::string& n) -> const Level& {
    for (const Level& L : levels)
      if (L.name == n) return L;
    return levels.front();
  };

  // ---- Sacrum, sacroiliac joints, pelvis ----
  const double zs = 48 + 20 * fat;
  const double pel = (male ? 1.0 : 1.06) * jit(0.02);                              // wider female pelvis
  add(cylinder(0, 0.452 * H, 0.018 * H * sexw, 0.008 * H, 16, 0, zs, 0.95), 0.1);  // S1 body
  a.hosts.push_back({"sacrum", "pelvis", a.prims.back(), 0, 1, 0.05});
  for (int s : {-1, 1})  // sacral alae
    add_side(ellipse(s * 0.019 * H * pel, 0.451 * H, 0.010 * H, 0.009 * H, 14, s * 0.25, zs, 0.75), s);
  add(cylinder(0, 0.467 * H, 0.014 * H * sexw, 0.007 * H, 13, 0, zs - 2, 0.85), 0.1);
  add(cylinder(0, 0.480 * H, 0.009 * H * sexw, 0.006 * H, 10, 0, zs - 5, 0.75), 0.1);
  add(ellipse(0, 0.491 * H, 0.004 * H, 0.006 * H, 7, 0, zs - 5, 0.5));  // coccyx
  const double ilium_z = trunk_t(0.43 * H) * 0.45;
  for (int s : {-1, 1}) {
    auto P = [&](double fx, double fy) { return Pt{s * fx * H * pel, fy * H}; };
    // Sacroiliac joint: the brightest structure of the normal pelvis.
    const Pt si0 = P(0.024, 0.442), si1 = P(0.019, 0.474);
    add_side(capsule(si0.x, si0.y, si1.x, si1.y, 7.5, 6.5, zs + 8, 1.35), s, 0.1);
    a.hosts.push_back({s < 0 ? "SI_R" : "SI_L", "pelvis", a.prims.back(), 0, 1, 0.02});
    // Iliac wing (butterfly): a thin faint blade, a brighter crest from the posterior to the
    // anterior superior iliac spine, the thick body above the acetabulum.
    const Pt wc = P(0.058, 0.435);
    Prim wing = ellipse(wc.x, wc.y, 0.031 * H * pel, 0.032 * H, 9, s * 0.15, ilium_z, 0.6);
    add_side(wing, s);
    a.hosts.push_back({s < 0 ? "ilium_R" : "ilium_L", "pelvis", wing, 0, 1, 0.05});
    chain({P(0.027, 0.437), P(0.036, 0.418), P(0.050, 0.405), P(0.066, 0.402), P(0.080, 0.410), P(0.088, 0.426)}, 7,
          6.5, zs + 12, trunk_t(0.43 * H) - 45, 0.8, 0.7, s);
    add_side(ellipse(P(0.087, 0.428).x, P(0.087, 0.428).y, 9, 10, 10, 0, trunk_t(0.43 * H) - 40, 0.5), s);  // ASIS
    add_side(ellipse(P(0.058, 0.468).x, P(0.058, 0.468).y, 0.016 * H, 0.018 * H, 18, s * 0.3, ilium_z, 0.6), s);
    // Pelvic brim (arcuate line) from the sacroiliac joint round to the pubis.
    chain({P(0.022, 0.466), P(0.036, 0.472), P(0.041, 0.481), P(0.030, 0.490), P(0.010, 0.495)}, 5, 5.5, zs + 15,
          trunk_t(0.49 * H) - 40, 0.6, 0.75, s);
    // Acetabulum (ring), pubis, symphysis, obturator ring, ischium.
    const double hx = s * 0.052 * H * pel, hy = 0.489 * H;
    const double zt = trunk_t(hy);
    add_side(shell(hx, hy, 27, 27, 27, 7, zt * 0.5, 0.85), s);
    a.hosts.push_back({s < 0 ? "acetabulum_R" : "acetabulum_L", "pelvis", a.prims.back(), 0, 1, 0.03});
    add_side(capsule(hx - s * 18, hy - 4, s * 9, 0.494 * H, 8, 7, zt - 35, 0.75), s);
    a.hosts.push_back({s < 0 ? "pubis_R" : "pubis_L", "pelvis", a.prims.back(), 0, 1, 0.02});
    add_side(ellipse(s * 7, 0.499 * H, 6, 13, 10, 0, zt - 30, 0.95), s);  // symphysis
    add_side(capsule(s * 9, 0.507 * H, s * 0.030 * H * pel, 0.523 * H, 6, 7, zt * 0.5, 0.6), s);
    add_side(capsule(s * 0.031 * H * pel, 0.522 * H, hx - s * 6, hy + 20, 9, 9, zt * 0.45, 0.7), s);
    a.hosts.push_back({s < 0 ? "ischium_R" : "ischium_L", "pelvis", a.prims.back(), 0, 1, 0.015});
    add_side(ellipse(s * 0.033 * H * pel, 0.523 * H, 11, 9, 12, 0, 40 + 15 * fat, 0.8), s);  // ischial tuberosity
  }

  // ---- Ribs, sternum, clavicles, scapulae ----
  const double rib_w[12] = {0.036, 0.052, 0.063, 0.070, 0.075, 0.078, 0.080, 0.080, 0.078, 0.074, 0.066, 0.052};
  const double drop_ant[12] = {12, 30, 48, 62, 72, 80, 86, 80, 70, 60, 0, 0};
  const double theta_end[12] = {0.86, 0.87, 0.88, 0.88, 0.88, 0.87, 0.85, 0.78, 0.72, 0.66, 0.55, 0.45};
  const double back_soft = 22 + 22 * fat;
  const double cage_w = jit(0.03);
  for (int i = 0; i < 12; ++i) {
    const Level& T = level("T" + std::to_string(i + 1));
    const double chest_t = trunk_t(T.y + 40);
    const double D = std::max(30.0, 0.5 * chest_t - back_soft - 8);  // rib-cage half depth
    const double zc = back_soft + D;
    for (int s : {-1, 1}) {
      // Each rib a little different: level, width, slope, uptake.
      const double ymid = T.y + gauss(2.5, 6);
      const double W =
          std::min(rib_w[i] * H * sexw * cage_w * (1 + 0.08 * fat) * (1 + gauss(0.025, 0.06)), trunk_w(ymid + 40) - 14);
      const double drop = drop_ant[i] * (1 + gauss(0.08, 0.2)), slope = (20 + 2.0 * i) * (1 + gauss(0.08, 0.2));
      const double rel = 0.75 * jit(0.12) * side_rel[s < 0 ? 0 : 1];
      const int segs = 12;
      const double th0 = 0.12 * kPi, th1 = theta_end[i] * kPi;
      auto pt = [&](double th, double* x, double* yy, double* z) {
        const double xh = T.half_w + 4;
        *x = T.x + s * (xh + (W - xh) * std::sin(th));
        const double post = std::min(th, kPi / 2) / (kPi / 2);
        const double ant = th > kPi / 2 ? std::pow((th - kPi / 2) / (kPi / 2), 1.3) : 0;
        *yy = ymid + slope * post * post + drop * ant;
        *z = zc - D * std::cos(th);
      };
      for (int k = 0; k < segs; ++k) {
        double xa, ya, za, xb, yb, zb;
        const double tha = lerp(th0, th1, double(k) / segs), thb = lerp(th0, th1, double(k + 1) / segs);
        pt(tha, &xa, &ya, &za);
        pt(thb, &xb, &yb, &zb);
        // Uptake fades from the costovertebral end towards the lateral arc, and towards the
        // costal cartilage at the anterior end.
        const double th = 0.5 * (tha + thb);
        const double fade = th < kPi / 2 ? 1 - 0.25 * std::sin(th) : 0.75 + 0.1 * (th - kPi / 2) / (kPi / 2);
        const double end_fade = k == segs - 1 && i < 10 ? 0.7 : 1.0;
        Prim q = capsule(xa, ya, xb, yb, rib_r, rib_r, 0.5 * (za + zb), rel * fade * end_fade);
        q.round_caps = k == 0 || k == segs - 1;
        a.prims.push_back(q);
        const bool post_arc = k < segs / 2;
        Host h{std::string("rib_") + (s < 0 ? "R" : "L") + std::to_string(i + 1) + (post_arc ? "_post" : "_ant"),
               "ribs",
               a.prims.back(),
               0,
               1,
               0.17 / (12 * 2 * segs)};
        a.hosts.push_back(h);
      }
    }
  }
  a.rib_rel = 0.75;
  const double notch = 0.19 * H;
  const double zst = trunk_t(0.24 * H) - (16 + 22 * fat);
  add(ellipse(0, notch + 22, 24 * sexw, 22, 9, 0, zst, 0.8));  // manubrium
  a.hosts.push_back({"sternum", "sternum", a.prims.back(), 0, 1, 0.01});
  add(capsule(-7 * sexw, notch + 8, 7 * sexw, notch + 8, 10, 10, zst, 0.3));  // upper manubrium breadth
  add(capsule(-6, notch + 46, 6, notch + 46, 4, 4, zst, 0.5));                // manubriosternal joint
  add(capsule(0, notch + 50, 0, 0.285 * H, 14 * sexw, 11 * sexw, zst, 0.65, Comp::kBone, 0.55));
  a.hosts.push_back({"sternum", "sternum", a.prims.back(), 0, 1, 0.02});
  add(ellipse(0, 0.285 * H + 14, 6, 12, 5, 0, zst, 0.4));  // xiphoid
  const double acrom = (male ? 0.115 : 0.108) * H * (1 + 0.05 * fat) * jit(0.02);
  const double acrom_y = 0.183 * H;
  for (int s : {-1, 1}) {
    const int si = s < 0 ? 0 : 1;
    const double acr = acrom * side_len[si];
    const double zc_med = trunk_t(notch) - 22, zc_lat = trunk_t(notch) * 0.55;
    // Sternoclavicular joint, then an S-shaped clavicle to the acromioclavicular joint.
    add_side(ellipse(s * 20, notch + 2, 9, 8, 9, 0, zc_med, 1.05), s);
    const double wig = 4 + gauss(1.5, 3);
    chain({{s * 20.0, notch},
           {s * 0.28 * acr, notch - 8 - wig},
           {s * 0.52 * acr, notch - 10},
           {s * 0.75 * acr, notch - 9 + wig},
           {s * (acr - 14), acrom_y - 2}},
          7.5, 6.5, zc_med, zc_lat, 0.8, 0.75, s);
    a.hosts.push_back({s < 0 ? "clavicle_R" : "clavicle_L", "clavicle", a.prims.back(), 0, 1, 0.01});
    // Scapula: a faint thin blade, brighter lateral border, spine, acromion, coracoid, glenoid
    // and inferior angle.
    const double zsc = 30 + 18 * fat;
    const double sx_med = 0.045 * H * sexw + gauss(3, 8), sx_lat = acr - 0.024 * H;
    const double y_inf = 0.283 * H + gauss(5, 12);
    const Pt inf{s * (sx_med + 0.014 * H), y_inf};
    Prim blade =
        ellipse(s * 0.5 * (sx_med + sx_lat) + s * 4, 0.232 * H, 0.027 * H * sexw, 0.044 * H, 5, s * 0.12, zsc, 0.28);
    add_side(blade, s);
    a.hosts.push_back({s < 0 ? "scapula_R" : "scapula_L", "scapula", blade, 0, 1, 0.02});
    chain({{s * sx_med, 0.198 * H}, {s * (sx_med - 2), 0.24 * H}, inf}, 4, 4, zsc, zsc, 0.25, 0.3, s);  // medial border
    chain({{s * (sx_lat - 4), 0.207 * H}, {s * (sx_lat - 16), 0.245 * H}, inf}, 6, 5, zsc + 6, zsc, 0.4, 0.35,
          s);  // lateral
    chain({{s * (sx_med + 2), 0.214 * H}, {s * 0.5 * (sx_med + acr), 0.200 * H}, {s * (acr - 10), acrom_y + 2}}, 5, 6.5,
          zsc + 6, zsc + 14, 0.55, 0.8, s);                                                   // spine of the scapula
    add_side(ellipse(s * (acr - 8), acrom_y + 1, 13, 9, 10, 0, zsc + 20, 0.45), s);           // acromion
    add_side(ellipse(s * (acr - 38), 0.197 * H, 8, 7, 9, 0, trunk_t(0.2 * H) - 50, 0.6), s);  // coracoid
    add_side(ellipse(s * (acr - 28), 0.200 * H, 9, 16, 14, 0, trunk_t(0.2 * H) * 0.45, 0.5), s);  // glenoid
    add_side(ellipse(inf.x, inf.y, 7, 8, 6, 0, zsc, 0.55), s);                                    // inferior angle
  }

  // ---- Arms ----
  const double arm_r = 0.026 * H * (1 + 0.35 * fat), fore_r = 0.019 * H * (1 + 0.3 * fat);
  a.arm_z = arm_r;
  for (int s : {-1, 1}) {
    const int side = s < 0 ? 0 : 1;
    const double L_h = 0.186 * H * side_len[side], L_f = 0.146 * H * side_len[side],
                 L_hand = 0.108 * H * side_len[side];
    const double acr = acrom * side_len[side];
    const double sx = s * (acr - 16), sy = 0.196 * H;
    const double al = p.arm_abduction_deg * kPi / 180 + gauss(0.02, 0.05);
    double ex = sx + s * L_h * std::sin(al), ey = sy + L_h * std::cos(al);
    const double min_ex = trunk_w(ey) + fore_r + 4;
    if (s * ex < min_ex) ex = s * min_ex;
    const double al2 = al + (2 + 3 * fat) * kPi / 180 + gauss(0.03, 0.08);
    double wx = ex + s * L_f * std::sin(al2), wy = ey + L_f * std::cos(al2);
    const double min_wx = std::max(trunk_w(wy), 0.0) + 0.7 * fore_r + 4;
    if (s * wx < min_wx) wx = s * min_wx;
    a.elbow_x[side] = ex, a.elbow_y[side] = ey, a.wrist_x[side] = wx, a.wrist_y[side] = wy;
    const double pron = uni(0.35, 0.85);  // hand seen flat (1) .. edge-on (0)
    // Soft tissue of the arm (deltoid included).
    a.body.parts.push_back(capsule(sx, sy - 12, ex, ey, arm_r * 1.18, arm_r * 0.85, arm_r, 1, Comp::kSoft));
    a.body.parts.push_back(capsule(ex, ey, wx, wy, fore_r * 1.05, fore_r * 0.7, arm_r, 1, Comp::kSoft, 0.9));
    const double fx = (wx - ex) / std::hypot(wx - ex, wy - ey), fy = (wy - ey) / std::hypot(wx - ex, wy - ey);
    const double mdx = -s * fy, mdy = s * fx;  // towards the body (the thumb side of a pronated hand)
    a.body.parts.push_back(ellipse(wx + fx * 0.45 * L_hand, wy + fy * 0.45 * L_hand, 0.5 * L_hand,
                                   0.016 * H * (0.5 + 0.5 * pron), 0.02 * H, std::atan2(fy, fx), arm_r, 1,
                                   Comp::kSoft));
    // Humerus: head and greater tuberosity, tubular shaft, condyles.
    const double ux = (ex - sx) / L_h, uy = (ey - sy) / L_h;
    add_side(ellipse(sx, sy, 21, 23, 22, 0, arm_r, 0.5), s);
    add_side(ellipse(sx + s * 13, sy + 8, 9, 14, 12, 0, arm_r, 0.7), s);
    Prim hum = long_bone({sx + ux * 14, sy + uy * 14}, {ex - ux * 6, ey - uy * 6}, 14, 9.5 * sexw, 17 * sexw, arm_r,
                         0.38, 0.6, 0.7, s);
    a.hosts.push_back({s < 0 ? "humerus_R" : "humerus_L", "humerus", hum, 0, 0.35, 0.04});
    add_side(ellipse(ex - ux * 6, ey - uy * 6, 28 * sexw, 10, 16, std::atan2(uy, ux) + kPi / 2, arm_r, 0.45),
             s);  // epicondyles
    // Ulna (olecranon proximal) and radius (wide distal end), side by side.
    const double nx = -fy, ny = fx;
    long_bone({ex + s * 7 * nx + fx * 2, ey + s * 7 * ny + fy * 2}, {wx + s * 9 * nx, wy + s * 9 * ny}, 10, 5, 6.5,
              arm_r, 0.35, 0.5, 0.6, s, 0.5);
    Prim fore = long_bone({ex - s * 7 * nx + fx * 6, ey - s * 7 * ny + fy * 6}, {wx - s * 8 * nx, wy - s * 8 * ny}, 7,
                          5.5, 11, arm_r, 0.35, 0.55, 0.85, s, 0.5);
    a.hosts.push_back({s < 0 ? "forearm_R" : "forearm_L", "limb", fore, 0, 1, 0.0});
    // Hand: two rows of carpals, five metacarpals, phalanges as short segments with joints.
    auto H2 = [&](double along, double across) {  // hand frame -> body frame
      return Pt{wx + fx * along + mdx * across * pron, wy + fy * along + mdy * across * pron};
    };
    for (int row = 0; row < 2; ++row)
      for (int k = 0; k < 4; ++k) {
        const Pt c = H2(9 + 11 * row, (k - 1.5) * 8.5);
        add_side(ellipse(c.x, c.y, 5.5, 5, 7, 0, arm_r, 0.9), s, 0.15);
      }
    const double flex = uni(0.6, 1.0);  // curled fingers look shorter
    for (int j = 1; j <= 4; ++j) {      // index .. little finger
      const double across = (2.5 - j) * 9.0, spread = (2.5 - j) * 0.025;
      const double dxr = fx * std::cos(spread) + mdx * std::sin(spread) * pron;
      const double dyr = fy * std::cos(spread) + mdy * std::sin(spread) * pron;
      const double lens[4] = {0.037 * H * (1 - 0.06 * std::fabs(j - 2.0)), 0.024 * H * flex, 0.014 * H * flex,
                              0.010 * H * flex};
      const double rad[4] = {3.6, 3.1, 2.8, 2.5};
      Pt cur = H2(27, across);
      for (int b = 0; b < 4; ++b) {
        const Pt nxt{cur.x + dxr * lens[b], cur.y + dyr * lens[b]};
        add_side(capsule(cur.x, cur.y, nxt.x, nxt.y, rad[b], rad[b] * 0.85, arm_r, 0.6), s, 0.12);
        add_side(ellipse(nxt.x + dxr * 1.5, nxt.y + dyr * 1.5, 3.5, 3.5, 4, 0, arm_r, b == 0 ? 1.0 : 0.8), s,
                 0.15);  // joint
        cur = {nxt.x + dxr * 3, nxt.y + dyr * 3};
      }
    }
    {  // thumb
      const double ta = 0.55;
      const double dxr = fx * std::cos(ta) + mdx * std::sin(ta) * pron,
                   dyr = fy * std::cos(ta) + mdy * std::sin(ta) * pron;
      const double lens[3] = {0.025 * H, 0.017 * H * flex, 0.013 * H * flex};
      Pt cur = H2(20, 17);
      for (int b = 0; b < 3; ++b) {
        const Pt nxt{cur.x + dxr * lens[b], cur.y + dyr * lens[b]};
        add_side(capsule(cur.x, cur.y, nxt.x, nxt.y, 3.8, 3.2, arm_r, 0.8), s, 0.12);
        cur = {nxt.x + dxr * 3, nxt.y + dyr * 3};
      }
    }
  }

  // ---- Legs ----
  const double spread = p.arm_abduction_deg * 1.2;  // relaxed patients lie with legs a bit apart
  a.knee_x = 0.047 * H * sexw + 0.25 * spread + 14 * fat;
  a.ankle_x = a.knee_x + 4 + 0.5 * spread;
  a.y_knee = 0.712 * H;
  const double thigh_r = 0.05 * H * (1 + 0.4 * fat), calf_r = 0.032 * H * (1 + 0.25 * fat);
  for (int s : {-1, 1}) {
    const int si = s < 0 ? 0 : 1;
    const double hx = s * 0.052 * H * pel, hy = 0.489 * H;
    const double kx = s * a.knee_x, ky = a.y_knee, ax = s * (a.ankle_x + gauss(4, 10)), ay = 0.955 * H;
    a.body.parts.push_back(capsule(s * (0.047 * H + 12 * fat), 0.50 * H, kx, ky, thigh_r, 0.033 * H * (1 + 0.25 * fat),
                                   thigh_r, 1, Comp::kSoft, 0.85));
    a.body.parts.push_back(capsule(s * (0.055 * H + 12 * fat), 0.47 * H, s * (0.05 * H + 10 * fat), 0.55 * H,
                                   0.042 * H * (1 + 0.4 * fat), thigh_r * 0.9, thigh_r, 1, Comp::kSoft,
                                   0.85));  // hips and gluteal region
    a.body.parts.push_back(capsule(kx, ky, ax, ay - 20, calf_r, 0.021 * H, calf_r, 1, Comp::kSoft));
    a.body.parts.push_back(capsule(kx, ky + 0.05 * H, kx + (ax - kx) * 0.3, ky + 0.1 * H, calf_r * 1.12, calf_r, calf_r,
                                   1,
                                   Comp::kSoft));  // calf muscle
    a.body.parts.push_back(ellipse(ax, 0.977 * H, 0.027 * H, 0.025 * H, 0.05 * H, 0, 0.05 * H, 1, Comp::kSoft));
    const double zl = thigh_r * 0.85;
    // Femur: head, neck, greater and lesser trochanters, tubular shaft, condyles.
    add_side(ellipse(hx, hy, 23 * sexw, 23 * sexw, 23, 0, trunk_t(hy) * 0.5, 0.6), s);
    a.hosts.push_back({s < 0 ? "femoral_head_R" : "femoral_head_L", "femur", a.prims.back(), 0, 1, 0.02});
    const double gx = s * 0.088 * H * pel, gy = 0.503 * H;
    add_side(capsule(hx, hy, gx - s * 10, gy, 13, 15, trunk_t(hy) * 0.5, 0.55), s);
    add_side(ellipse(gx, gy, 15, 22, 18, s * 0.15, trunk_t(gy) * 0.45, 0.85), s);
    const double sx0 = gx - s * 12, sy0 = gy + 20;
    add_side(ellipse(sx0 - s * 16, sy0 + 22, 8, 9, 9, 0, trunk_t(gy) * 0.45, 0.55), s);
    const double ky2 = ky * side_len[si] + 0.712 * H * (1 - side_len[si]);
    Prim fem = long_bone({sx0, sy0}, {kx + s * 3, ky2 - 8}, 16 * sexw, 12 * sexw, 25 * sexw, zl, 0.36, 0.6, 0.6, s);
    fem.r0 = fem.r1 = 13 * sexw;
    a.hosts.push_back({s < 0 ? "femur_R" : "femur_L", "femur", fem, 0, 0.35, 0.05});
    a.hosts.push_back({s < 0 ? "femur_shaft_R" : "femur_shaft_L", "limb", fem, 0.35, 1, 0.005});
    for (int c : {-1, 1})  // condyles
      add_side(ellipse(kx + c * 0.0115 * H * sexw, ky - 10, 17, 19, 20, 0, calf_r, 0.3), s);
    add_side(ellipse(kx + s * 2, ky - 20, 19, 23, 10, 0, 2 * calf_r - 12, 0.45), s);  // patella
    // Tibia (plateau, tuberosity, shaft, medial malleolus) and fibula (head, lateral malleolus).
    add_side(cylinder(kx, ky + 13, 0.021 * H * sexw, 9, 22, 0, calf_r, 0.4), s);
    add_side(ellipse(kx + s * 3, ky + 34, 8, 10, 7, 0, 2 * calf_r - 15, 0.5), s);
    Prim tib =
        long_bone({kx, ky + 18}, {ax - s * 3, ay - 6}, 20 * sexw, 11 * sexw, 15 * sexw, calf_r, 0.36, 0.5, 0.5, s);
    a.hosts.push_back({s < 0 ? "tibia_R" : "tibia_L", "limb", tib, 0, 1, 0.005});
    add_side(ellipse(ax - s * 14, ay + 2, 8, 12, 10, 0, calf_r, 0.75), s);  // medial malleolus
    long_bone({kx + s * 25, ky + 26}, {ax + s * 21, ay}, 7, 4, 8, calf_r * 0.9, 0.3, 0.55, 0.75, s, 0.6);
    // Foot, seen end-on in the supine patient: calcaneus near the table, talus, midfoot,
    // metatarsals pointing up and out (external rotation), toes.
    const double ev = uni(0.2, 1.0);
    add_side(ellipse(ax, ay + 14, 15, 11, 14, 0, 55, 0.8), s);          // talus
    add_side(ellipse(ax - s * 2, ay + 30, 17, 19, 22, 0, 30, 0.6), s);  // calcaneus
    for (int k = -1; k <= 1; ++k)                                       // navicular, cuneiforms
      add_side(ellipse(ax + s * (4 + 9 * k * 0.8), ay + 36, 8, 7, 12, 0, 95, 0.8), s, 0.15);
    for (int j = 0; j < 5; ++j) {
      const double bx = ax + s * (-14 + 8 * j) * 0.8, by = ay + 38;
      const double tx = bx + s * (10 + 14 * ev + 3 * j), ty = by + 20 + 4 * ev - 2 * j;
      add_side(capsule(bx, by, tx, ty, 4.2, 3.5, 140, 0.65), s, 0.12);
      add_side(ellipse(tx, ty, 4.5, 4.5, 6, 0, 170, 0.5), s, 0.15);  // metatarsal head, toe
    }
  }

  // ---- Organs ----
  const Level& L1 = level("L1");
  const double zk = 58 + 25 * fat;
  const std::string& rv = p.renal_variant;
  for (int s : {-1, 1}) {
    if ((rv == "single_left" && s < 0) || (rv == "single_right" && s > 0)) continue;
    const double scale = (rv.rfind("single", 0) == 0 ? 1.15 : 1.0) * jit(0.06);
    double kx = s * 0.041 * H * sexw, ky = L1.y + (s < 0 ? 18 : 0) + gauss(6, 15),
           ang = s * 0.28 + kPi / 2 + gauss(0.08, 0.2), kz = zk;
    if (rv == "horseshoe") ky = level("L3").y, kx = s * 0.034 * H, ang = kPi / 2 - s * 0.35, kz = zk + 15;
    if (rv == "pelvic_right" && s < 0) ky = 0.452 * H, kx = -0.045 * H, kz = trunk_t(0.45 * H) * 0.55;
    // Bean: cortex (thick shell), medulla, and the collecting system at the medial hilum.
    const double ka = 0.030 * H * scale, kb = 0.016 * H * scale;
    a.prims.push_back(shell(kx, ky, ka, kb, 24, 11, kz, 1.0, Comp::kKidney));
    a.prims.back().angle = ang;
    a.prims.push_back(ellipse(kx, ky, ka - 11, kb - 9, 13, ang, kz, 0.55, Comp::kKidney));
    a.prims.push_back(
        ellipse(kx - s * 0.45 * kb, ky + 4, 10, 8, 9, 0, kz, 1.1 * jit(0.3), Comp::kKidney));  // renal pelvis
  }
  if (rv == "horseshoe")
    a.prims.push_back(capsule(-0.03 * H, level("L3").y + 0.022 * H, 0.03 * H, level("L3").y + 0.022 * H, 12, 12,
                              zk + 25, 1.0, Comp::kKidney));
  const double bl_r = std::cbrt(3 * p.bladder_ml * 1000 / (4 * kPi));
  const double asp = jit(0.1);
  a.r_bladder = bl_r;
  a.y_bladder = 0.487 * H - 0.55 * bl_r;
  a.z_bladder = trunk_t(a.y_bladder) * 0.58;
  a.prims.push_back(ellipse(gauss(4, 10), a.y_bladder, bl_r * 1.15 * asp, bl_r * 0.88 / asp, bl_r, gauss(0.1, 0.3),
                            a.z_bladder, 1.0, Comp::kBladder));
  a.y_heart = level("T8").y - 0.01 * H;
  a.x_heart = 0.018 * H;
  a.z_heart = trunk_t(a.y_heart) - 70 - 12 * fat;
  a.prims.push_back(
      ellipse(a.x_heart, a.y_heart, 0.036 * H, 0.027 * H, 45, 0.6, a.z_heart, 0.8, Comp::kSoft));  // blood pool
  a.prims.push_back(ellipse(-0.045 * H, 0.322 * H, 0.058 * H, 0.038 * H, 65, -0.25, trunk_t(0.32 * H) * 0.5, 0.35,
                            Comp::kSoft));                                                                // liver
  a.prims.push_back(ellipse(0.055 * H, 0.305 * H, 0.020 * H, 0.032 * H, 30, 0.4, 70, 0.3, Comp::kSoft));  // spleen
  for (int s : {-1, 1})  // great vessels of the groin (blood pool)
    a.prims.push_back(
        capsule(s * 0.04 * H, 0.47 * H, s * 0.05 * H, 0.56 * H, 6, 5, trunk_t(0.5 * H) - 40, 0.4, Comp::kSoft));
  if (!male) {
    const double br = (45 + 35 * std::max(0.0, fat)) * jit(0.1), bt = (25 + 40 * std::max(0.0, fat)) * jit(0.1);
    for (int s : {-1, 1}) {
      const double by = 0.285 * H + gauss(6, 15), bx = s * 0.05 * H;
      Prim b = ellipse(bx, by, br, br * 0.85, bt / 2, 0, trunk_t(by) + bt / 2, 1.0, Comp::kSoft);
      a.prims.push_back(b);
      a.attenuators.push_back({b, 0.015, true});  // Ref: water mu(140 keV) ~ 0.15/cm
    }
  }
  return a;
}

}  // namespace scintigen::phantom
