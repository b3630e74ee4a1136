// Drawing a patient: demographics, acquisition, disease, lesions, confounders and outcome; the
// tracer kinetics; and the primitives of pathology and findings.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "phantom/anatomy.h"
#include "phantom/phantom.h"

namespace scintigen::phantom {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Ref: 99mTc half-life 6.0067 h (NNDC / ENSDF).
constexpr double kTc99mHalfLifeH = 6.0067;

double clampd(double x, double lo, double hi) {
  return std::min(hi, std::max(lo, x));
}

double truncated_normal(Rng& rng, double mean, double sd, double lo, double hi) {
  for (int i = 0; i < 64; ++i) {
    const double x = rng.normal(mean, sd);
    if (x >= lo && x <= hi) return x;
  }
  return clampd(mean, lo, hi);
}

int categorical(Rng& rng, const double* p, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += p[i];
  double u = rng.uniform() * sum;
  for (int i = 0; i < n; ++i) {
    if (u < p[i]) return i;
    u -= p[i];
  }
  return n - 1;
}

const Host* pick_host(const Anatomy& a, Rng& rng, const std::string& region = "") {
  double sum = 0;
  for (const Host& h : a.hosts)
    if (region.empty() ? h.weight > 0 : h.region == region) sum += region.empty() ? h.weight : 1;
  double u = rng.uniform() * sum;
  const Host* last = nullptr;
  for (const Host& h : a.hosts) {
    if (!(region.empty() ? h.weight > 0 : h.region == region)) continue;
    last = &h;
    u -= region.empty() ? h.weight : 1;
    if (u < 0) return &h;
  }
  return last;
}

// A random point inside a host bone (body frame).
void point_in_host(const Host& h, Rng& rng, double* x, double* y) {
  const Prim& p = h.prim;
  if (p.shape == Shape::kCapsule) {
    const double t = rng.uniform(h.t_lo, h.t_hi);
    const double dx = p.x1 - p.x0, dy = p.y1 - p.y0, len = std::hypot(dx, dy) + 1e-9;
    const double r = p.r0 + t * (p.r1 - p.r0);
    const double off = rng.uniform(-0.4, 0.4) * r;
    *x = p.x0 + t * dx - dy / len * off;
    *y = p.y0 + t * dy + dx / len * off;
  } else {
    double ang = rng.uniform(0, 2 * kPi),
           rad = p.shape == Shape::kShell ? rng.uniform(0.55, 0.95) : std::sqrt(rng.uniform()) * 0.6;
    const double ex = rad * p.r0 * std::cos(ang), ey = rad * p.r1 * std::sin(ang);
    *x = p.x0 + ex * std::cos(p.angle) - ey * std::sin(p.angle);
    *y = p.y0 + ex * std::sin(p.angle) + ey * std::cos(p.angle);
  }
}

const Host* find_host(const Anatomy& a, const std::string& name, double x, double y) {
  const Host* best = nullptr;
  double bd = 1e30;
  for (const Host& h : a.hosts) {
    if (h.name != name) continue;
    const Prim& p = h.prim;
    double d;
    if (p.shape == Shape::kCapsule) {
      const double dx = p.x1 - p.x0, dy = p.y1 - p.y0;
      const double t = clampd(((x - p.x0) * dx + (y - p.y0) * dy) / (dx * dx + dy * dy + 1e-9), 0, 1);
      d = std::hypot(x - p.x0 - t * dx, y - p.y0 - t * dy);
    } else {
      d = std::hypot(x - p.x0, y - p.y0);
    }
    if (d < bd) bd = d, best = &h;
  }
  return best;
}

Prim blob(double x, double y, double a, double b, double c, double angle, double z, double rel, Comp comp) {
  Prim p;
  p.shape = Shape::kEllipse;
  p.x0 = x, p.y0 = y, p.r0 = a, p.r1 = b, p.c = c, p.angle = angle, p.z = z, p.rel = rel, p.comp = comp;
  return p;
}

}  // namespace

const Kinetics& tracer_kinetics(const std::string& tracer) {
  // Fractions of injected activity (decay corrected). Approximate values from the clinical
  // literature; bone plateau reached within ~1 h, soft tissue clears with tau_soft, the rest
  // goes to urine.
  // Ref: Subramanian et al., J Nucl Med 1975;16:744 (MDP); Fogelman et al., J Nucl Med
  // 1981;22:880 (HDP vs MDP); Buell et al., Eur J Nucl Med 1982 (DPD: higher skeletal and soft
  // tissue retention); Perugini et al., JACC 2005;46:1076 and Gillmore et al., Circulation
  // 2016;133:2404 (myocardial ATTR uptake: DPD ~ HMDP ~ PYP >> MDP).
  static const Kinetics kMDP{0.36, 0.50, 1.0, 0.22, 0.05, 2.0, 0.12};
  static const Kinetics kHDP{0.38, 0.50, 1.1, 0.23, 0.05, 2.0, 0.85};
  static const Kinetics kDPD{0.40, 0.50, 1.4, 0.26, 0.05, 2.0, 1.00};
  static const Kinetics kPYP{0.26, 0.55, 1.6, 0.30, 0.06, 2.0, 0.95};
  if (tracer == "MDP") return kMDP;
  if (tracer == "DPD") return kDPD;
  if (tracer == "PYP") return kPYP;
  return kHDP;
}

CompartmentFactors disease_factors(const PatientParams& p) {
  CompartmentFactors f;
  f.soft = p.soft_tissue_factor;
  if (p.superscan) {  // avid diffuse skeletal uptake, little left for soft tissue and urine
    f.bone *= 1.7, f.soft *= 0.35, f.kidney *= 0.06, f.bladder *= 0.12;
  }
  // Grade 3 shows reduced bone and raised soft-tissue uptake because the myocardium takes up
  // the tracer: the effect scales with the tracer's affinity for ATTR amyloid.
  const double affinity = tracer_kinetics(p.tracer).amyloid_affinity;
  if (p.cardiac_grade == 3) f.bone *= 1 - 0.55 * affinity, f.soft *= 1 + 0.8 * affinity;
  if (p.cardiac_grade == 2) f.bone *= 1 - 0.1 * affinity, f.soft *= 1 + 0.2 * affinity;
  return f;
}

std::map<std::string, double> compartment_activity_mbq(const PatientParams& p) {
  const Kinetics& k = tracer_kinetics(p.tracer);
  const CompartmentFactors f = disease_factors(p);
  auto bone = [&](double t) { return std::min(0.85, k.bone * f.bone) * (1 - std::exp(-t / 0.4)); };
  auto soft = [&](double t) { return (k.soft0 * std::exp(-t / k.tau_soft_h) + k.soft_inf) * f.soft; };
  auto kidney = [&](double t) { return k.kidney0 * std::exp(-t / k.tau_kidney_h) * f.kidney; };
  auto urine = [&](double t) { return std::max(0.0, 1 - bone(t) - std::min(soft(t), 0.6) - kidney(t)); };
  const double t = p.uptake_h;
  const double bladder = std::max(0.0, urine(t) - urine(std::max(0.0, t - p.void_h))) * f.bladder;
  const double a = p.activity_mbq * std::exp2(-t / kTc99mHalfLifeH);
  return {
      {"bone", a * bone(t)}, {"soft", a * std::min(soft(t), 0.6)}, {"kidney", a * kidney(t)}, {"bladder", a * bladder}};
}

PatientParams sample_patient(const SiteProfile& site, const PrevalenceOverride& prev, Rng& rng) {
  PatientParams p;
  const auto& pop = site.population;
  const auto& acq = site.acquisition;
  // Disease state first: demographics depend on it (ATTR is a disease of older men).
  const double p_met = prev.metastasis.value_or(site.prevalence.metastasis);
  const auto grades = prev.cardiac_grade.value_or(site.prevalence.cardiac_grade);
  const double p_super = prev.superscan.value_or(site.prevalence.superscan);
  p.metastasis = rng.bernoulli(p_met);
  p.superscan = p.metastasis && rng.bernoulli(p_super);
  p.cardiac_grade = categorical(rng, grades.data(), 4);

  const bool attr = p.cardiac_grade >= 2;
  p.sex = rng.bernoulli(attr ? std::max(pop.male_fraction, 0.85) : pop.male_fraction) ? "M" : "F";
  p.age = truncated_normal(rng, pop.age_mean, pop.age_sd, pop.age.lo, pop.age.hi);
  if (attr) p.age = std::max(p.age, std::min(pop.age.hi, rng.uniform(65, 90)));
  const bool male = p.sex == "M";
  p.height_cm = truncated_normal(rng, male ? pop.height_cm_male : pop.height_cm_female, pop.height_cm_sd, 140, 205);
  if (p.age < 18) p.height_cm *= 0.75 + 0.25 * std::max(0.0, (p.age - 8) / 10);
  const double bmi = truncated_normal(rng, pop.bmi_mean, pop.bmi_sd, 16, 48);
  p.weight_kg = bmi * p.height_cm * p.height_cm * 1e-4;
  p.arm_abduction_deg = rng.uniform(pop.arm_abduction_deg.lo, pop.arm_abduction_deg.hi);
  p.rotation_deg = clampd(rng.normal(0, 1.2), -4, 4);
  p.shift_x_mm = clampd(rng.normal(0, 8), -25, 25);
  p.shift_y_mm = rng.uniform(-15, 25);
  p.top_margin_mm = rng.uniform(60, 120);

  // Acquisition.
  std::vector<double> w;
  std::vector<std::string> names;
  for (const auto& [t, x] : site.tracer_mix) names.push_back(t), w.push_back(x);
  p.tracer = names[categorical(rng, w.data(), static_cast<int>(w.size()))];
  p.activity_mbq = rng.uniform(acq.activity_mbq.lo, acq.activity_mbq.hi);
  p.uptake_h = rng.uniform(acq.uptake_h.lo, acq.uptake_h.hi);
  p.speed_cm_min = rng.uniform(acq.speed_cm_min.lo, acq.speed_cm_min.hi);
  p.void_h = rng.uniform(acq.void_h.lo, acq.void_h.hi);
  p.bladder_ml = clampd(rng.log_uniform(80, 260) * (0.6 + 0.5 * p.void_h), 40, 700);
  p.soft_tissue_factor = std::exp(rng.normal(0, 0.22)) * (1 + 0.008 * std::max(0.0, p.age - 55));

  const auto& cf = site.confounders;
  if (rng.bernoulli(cf.renal_variant)) {
    static const char* kVariants[] = {"single_left", "single_right", "horseshoe", "pelvic_right"};
    p.renal_variant = kVariants[rng.below(4)];
  }

  p.anatomy_seed = rng.next();
  const Anatomy a = build_anatomy(p);
  const auto& d = site.difficulty;

  // Metastases.
  if (p.metastasis) {
    int count;
    if (p.superscan) {
      count = 15 + static_cast<int>(rng.below(25));
    } else {  // geometric on 1, 2, ... with the configured mean
      const double q = 1 - 1 / d.lesion_count_mean;
      count = q <= 0 ? 1 : 1 + static_cast<int>(std::floor(std::log(1 - rng.uniform()) / std::log(q)));
      count = std::min(count, 80);
    }
    // A patient's lesions share a tendency (some patients have faint disease, some obvious).
    const double patient_level = rng.uniform();
    for (int i = 0; i < count; ++i) {
      const Host* h = pick_host(a, rng);
      if (!h) break;
      Lesion l;
      point_in_host(*h, rng, &l.x_mm, &l.y_mm);
      l.z_mm = h->prim.z;
      l.bone = h->name;
      l.size_mm = rng.log_uniform(d.lesion_size_mm.lo, d.lesion_size_mm.hi);
      l.cold = !p.superscan && rng.bernoulli(d.cold_fraction);
      const double u = std::min(1.0, std::max(0.0, 0.6 * patient_level + 0.4 * rng.uniform()));
      const double contrast = d.lesion_contrast.lo * std::pow(d.lesion_contrast.hi / d.lesion_contrast.lo, u);
      l.intensity = l.cold ? -0.85 : contrast;
      p.lesions.push_back(l);
    }
  }

  // Confounders.
  auto add = [&](const std::string& kind, const std::string& where, double x, double y, double z, double size,
                 double inten) {
    p.findings.push_back({kind, x, y, z, size, inten, where});
  };
  const double H = p.height_cm * 10;
  const double deg_p = cf.degenerative * 0.55 / (1 + std::exp(-(p.age - 58) / 7));
  for (int s : {-1, 1}) {
    const std::string side = s < 0 ? "_R" : "_L";
    if (rng.bernoulli(deg_p))
      add("degenerative", "knee" + side, s * (a.knee_x - rng.uniform(-8, 14)), a.y_knee + rng.uniform(-10, 8), a.knee_x,
          rng.uniform(12, 24), rng.uniform(0.5, 2.2));
    if (rng.bernoulli(deg_p * 0.7))
      add("degenerative", "shoulder" + side, s * ((p.sex == "M" ? 0.115 : 0.108) * H - 20), 0.186 * H, 80,
          rng.uniform(12, 20), rng.uniform(0.5, 2.0));
    if (rng.bernoulli(deg_p * 0.4))
      add("degenerative", "hand" + side, a.wrist_x[s < 0 ? 0 : 1] + s * rng.uniform(-5, 15),
          a.wrist_y[s < 0 ? 0 : 1] + rng.uniform(15, 60), a.arm_z, rng.uniform(8, 14), rng.uniform(0.6, 2.0));
  }
  if (rng.bernoulli(deg_p * 0.9)) {  // lower lumbar facet joints, usually one side
    const Host* h = nullptr;
    const char* lv[] = {"L3", "L4", "L5"};
    for (const Host& x : a.hosts)
      if (x.name == lv[rng.below(3)]) h = &x;
    if (h) {
      const int s = rng.bernoulli(0.5) ? -1 : 1;
      add("degenerative", "facet_" + h->name, h->prim.x0 + s * 0.8 * h->prim.r0, h->prim.y0 + h->prim.r1 * 0.5,
          std::max(25.0, h->prim.z - 30), rng.uniform(12, 20), rng.uniform(0.5, 2.0));
    }
  }
  if (rng.bernoulli(cf.rib_fracture)) {  // several aligned foci on consecutive ribs
    const int s = rng.bernoulli(0.5) ? -1 : 1;
    const int first = 3 + static_cast<int>(rng.below(6)), n = 2 + static_cast<int>(rng.below(3));
    const bool post = rng.bernoulli(0.5);
    const double frac = rng.uniform(0.15, 0.85);
    for (int r = first; r < std::min(13, first + n); ++r) {
      const std::string name =
          std::string("rib_") + (s < 0 ? "R" : "L") + std::to_string(r) + (post ? "_post" : "_ant");
      std::vector<const Host*> segs;
      for (const Host& h : a.hosts)
        if (h.name == name) segs.push_back(&h);
      if (segs.empty()) continue;
      const Host* h = segs[std::min(segs.size() - 1, static_cast<size_t>(frac * segs.size()))];
      add("rib_fracture", name, 0.5 * (h->prim.x0 + h->prim.x1), 0.5 * (h->prim.y0 + h->prim.y1), h->prim.z,
          rng.uniform(8, 13), rng.uniform(1.5, 4.0));
    }
  }
  if (rng.bernoulli(cf.injection_site)) {
    const int side = static_cast<int>(rng.below(2));
    const bool hand = rng.bernoulli(0.3);
    const double x = hand ? a.wrist_x[side] : a.elbow_x[side], y = hand ? a.wrist_y[side] + 25 : a.elbow_y[side] + 10;
    const double mbq = p.activity_mbq * std::exp2(-p.uptake_h / kTc99mHalfLifeH) * rng.log_uniform(0.0005, 0.012);
    add("injection_site", side == 0 ? "arm_R" : "arm_L", x, y, a.arm_z, rng.uniform(8, 20), mbq);
  }
  if (rng.bernoulli(cf.urine_contamination)) {
    const double bl = compartment_activity_mbq(p).at("bladder");
    const int s = rng.bernoulli(0.5) ? -1 : 1;
    add("urine_contamination", "groin", s * rng.uniform(0, 0.06) * H, rng.uniform(0.50, 0.60) * H, 150,
        rng.uniform(8, 30), bl * rng.log_uniform(0.005, 0.06));
  }
  if (rng.bernoulli(cf.joint_replacement * (p.age > 55 ? 1.6 : 0.2))) {
    const int s = rng.bernoulli(0.5) ? -1 : 1;
    const bool hip = rng.bernoulli(0.6);
    if (hip)
      add("joint_replacement", s < 0 ? "hip_R" : "hip_L", s * 0.052 * H, 0.489 * H, 0, 25, 0);
    else
      add("joint_replacement", s < 0 ? "knee_R" : "knee_L", s * a.knee_x, a.y_knee, 0, 40, 0);
  }

  // Outcome: exponential survival with covariate-dependent hazard and administrative censoring.
  const auto& o = site.outcome;
  double hr = std::exp(o.age_log_hr_per_year * (p.age - 65));
  if (p.metastasis) hr *= o.hr_metastasis * std::exp(o.log_hr_per_lesion * std::min<size_t>(p.lesions.size(), 50));
  if (p.superscan) hr *= o.hr_superscan;
  if (p.cardiac_grade == 2) hr *= o.hr_cardiac_grade2;
  if (p.cardiac_grade == 3) hr *= o.hr_cardiac_grade3;
  const double rate_per_day = o.baseline_hazard_per_year * hr / 365.25;
  const double t_event = -std::log(1 - rng.uniform()) / rate_per_day;
  const double t_censor = rng.uniform(o.followup_days.lo, o.followup_days.hi);
  p.outcome_event = t_event <= t_censor ? 1 : 0;
  p.outcome_days = std::round(std::min(t_event, t_censor) * 10) / 10;
  return p;
}

void add_pathology_prims(const PatientParams& p, const Anatomy& a, double bone_factor, std::vector<Prim>* prims,
                         std::vector<Attenuator>* attenuators) {
  for (const Lesion& l : p.lesions) {
    const Host* h = find_host(a, l.bone, l.x_mm, l.y_mm);
    if (!h) continue;
    const Prim& hp = h->prim;
    const double s = l.size_mm / 2;
    Prim q;
    if (hp.shape == Shape::kCapsule) {
      const double r = 0.5 * (hp.r0 + hp.r1);
      const double ang = std::atan2(hp.y1 - hp.y0, hp.x1 - hp.x0);
      const double across = l.cold ? 0.85 * r : std::min(s, r + 4);
      q = blob(l.x_mm, l.y_mm, l.cold ? std::min(s, 2 * r) : s, across,
               std::min(s, r * hp.depth_scale * (l.cold ? 0.9 : 1.3)), ang, hp.z, l.intensity * hp.rel,
               Comp::kBoneExtra);
    } else if (hp.shape == Shape::kShell) {
      q = blob(l.x_mm, l.y_mm, s, s, std::min(s, 12.0), 0, hp.z, l.intensity * hp.rel * (l.cold ? 0.6 : 1),
               Comp::kBoneExtra);
    } else {
      const double f = l.cold ? 0.8 : 1.3;
      q = blob(l.x_mm, l.y_mm, std::min(s, hp.r0 * f), std::min(s, hp.r1 * f), std::min(s, hp.c * (l.cold ? 0.9 : 1.2)),
               hp.angle, hp.z, l.intensity * hp.rel, Comp::kBoneExtra);
    }
    prims->push_back(q);
  }
  if (p.superscan) {  // diffuse avid uptake of the axial skeleton and proximal long bones
    for (const Host& h : a.hosts)
      if (h.region != "limb" && h.weight > 0) {
        Prim q = h.prim;
        q.comp = Comp::kBoneExtra;
        q.rel = 0.9 * h.prim.rel;
        prims->push_back(q);
      }
  }
  if (p.cardiac_grade > 0) {
    // Visual heart-to-rib ratio by Perugini grade, converted to concentration through the
    // projected path lengths (two ~13 mm myocardial walls against one rib).
    // Ref: Perugini et al., JACC 2005;46:1076 (grades); Hutt et al., Eur Heart J Cardiovasc
    // Imaging 2014;15:1289 (grade 3: attenuated bone uptake).
    static const double kVisual[4] = {0, 0.45, 1.15, 2.3};
    const double affinity = tracer_kinetics(p.tracer).amyloid_affinity;
    const double wall = 17;
    const double rel =
        kVisual[p.cardiac_grade] * affinity * a.rib_rel * (2 * a.rib_radius) / (2.4 * wall) / bone_factor;
    const double H = a.height_mm;
    Prim m = blob(a.x_heart, a.y_heart, 0.036 * H, 0.027 * H, 45, 0.6, a.z_heart, rel, Comp::kBoneExtra);
    m.shape = Shape::kShell;
    m.wall = wall;
    m.textured = false;
    prims->push_back(m);
  }
  for (const Finding& f : p.findings) {
    const double s = f.size_mm / 2;
    if (f.kind == "degenerative" || f.kind == "rib_fracture") {
      prims->push_back(blob(f.x_mm, f.y_mm, s, s * 0.85, s, 0, f.z_mm, f.intensity * 0.8, Comp::kBoneExtra));
    } else if (f.kind == "injection_site" || f.kind == "urine_contamination") {
      prims->push_back(blob(f.x_mm, f.y_mm, s, s * 0.8, std::min(s, 8.0), 0.3, f.z_mm, f.intensity, Comp::kAbsolute));
    } else if (f.kind == "joint_replacement") {
      // Metal (Ref: iron mu(140 keV) ~ 1.7/cm, NIST XCOM): near-opaque stem, head and cup, and
      // mild periprosthetic uptake around them.
      const double H = a.height_mm;
      const int s2 = f.x_mm < 0 ? -1 : 1;
      Prim metal;
      if (f.where.rfind("hip", 0) == 0) {
        metal = blob(f.x_mm, f.y_mm, 24, 24, 24, 0, 100, 0, Comp::kBone);
        attenuators->push_back({metal, 0.17, false});
        Prim stem;
        stem.shape = Shape::kCapsule;
        stem.x0 = f.x_mm + s2 * 0.03 * H, stem.y0 = f.y_mm + 0.012 * H;
        stem.x1 = f.x_mm + s2 * 0.028 * H, stem.y1 = f.y_mm + 0.09 * H;
        stem.r0 = 10, stem.r1 = 6;
        attenuators->push_back({stem, 0.17, false});
        Prim neck = stem;
        neck.x0 = f.x_mm, neck.y0 = f.y_mm, neck.x1 = stem.x0, neck.y1 = stem.y0, neck.r0 = neck.r1 = 8;
        attenuators->push_back({neck, 0.17, false});
        Prim rim = blob(f.x_mm, f.y_mm, 30, 30, 30, 0, 100, 0.35, Comp::kBoneExtra);
        rim.shape = Shape::kShell, rim.wall = 6;
        prims->push_back(rim);
      } else {
        metal = blob(f.x_mm, f.y_mm - 10, 0.02 * H, 0.014 * H, 30, 0, 60, 0, Comp::kBone);
        attenuators->push_back({metal, 0.17, false});
        Prim rim = blob(f.x_mm, f.y_mm - 10, 0.024 * H, 0.018 * H, 32, 0, 60, 0.3, Comp::kBoneExtra);
        rim.shape = Shape::kShell, rim.wall = 5;
        prims->push_back(rim);
      }
    }
  }
}

nlohmann::json PatientParams::to_json() const {
  auto r1 = [](double x) { return std::round(x * 10) / 10; };
  auto r3 = [](double x) { return std::round(x * 1000) / 1000; };
  nlohmann::json lesions_j = nlohmann::json::array();
  for (const Lesion& l : lesions)
    lesions_j.push_back({{"x_mm", r1(l.x_mm)},
                         {"y_mm", r1(l.y_mm)},
                         {"depth_mm", r1(l.z_mm)},
                         {"size_mm", r1(l.size_mm)},
                         {"intensity", r3(l.intensity)},
                         {"cold", l.cold},
                         {"bone", l.bone}});
  nlohmann::json findings_j = nlohmann::json::array();
  for (const Finding& f : findings)
    findings_j.push_back({{"kind", f.kind},
                          {"where", f.where},
                          {"x_mm", r1(f.x_mm)},
                          {"y_mm", r1(f.y_mm)},
                          {"depth_mm", r1(f.z_mm)},
                          {"size_mm", r1(f.size_mm)},
                          {"intensity", r3(f.intensity)}});
  return {{"sex", sex},
          {"age", r1(age)},
          {"height_cm", r1(height_cm)},
          {"weight_kg", r1(weight_kg)},
          {"arm_abduction_deg", r1(arm_abduction_deg)},
          {"rotation_deg", r1(rotation_deg)},
          {"shift_mm", {r1(shift_x_mm), r1(shift_y_mm)}},
          {"tracer", tracer},
          {"activity_mbq", r1(activity_mbq)},
          {"uptake_h", r3(uptake_h)},
          {"speed_cm_min", r3(speed_cm_min)},
          {"void_h", r3(void_h)},
          {"bladder_ml", r1(bladder_ml)},
          {"soft_tissue_factor", r3(soft_tissue_factor)},
          {"metastasis", metastasis},
          {"superscan", superscan},
          {"cardiac_grade", cardiac_grade},
          {"renal_variant", renal_variant},
          {"anatomy_seed", std::to_string(anatomy_seed)},
          {"lesions", lesions_j},
          {"findings", findings_j},
          {"outcome_days", outcome_days},
          {"outcome_event", outcome_event}};
}

}  // namespace scintigen::phantom
