// Internal: the parametric body as a list of primitives in the body frame (mm; see phantom.h).
#pragma once

#include <string>
#include <vector>

#include "phantom/phantom.h"

namespace scintigen::phantom {

// Where a primitive's activity comes from. The first four are normalised so that their
// raster integrals equal the tracer-kinetics activity of the compartment; kBoneExtra is
// scaled like bone (lesions, amyloid, degenerative foci) and kAbsolute carries `rel` MBq.
enum class Comp { kBone, kSoft, kKidney, kBladder, kBoneExtra, kAbsolute };
inline constexpr int kNormalisedComps = 4;

enum class Shape { kCapsule, kEllipse, kShell, kCylinder };

struct Prim {
  Shape shape = Shape::kEllipse;
  // Capsule: segment (x0,y0)-(x1,y1), radius r0 -> r1, path through it 2*depth_scale*sqrt(r^2-d^2).
  // Capsule with wall > 0: a tube (cortical bone), inner radius = (1 - wall) x outer radius.
  // Ellipse / shell: centre (x0,y0), semi-axes r0 (along `angle`) and r1, depth half-extent c;
  // shell: wall thickness `wall` (projected path of an ellipsoidal shell).
  // Cylinder: an elliptic cylinder whose axis lies in the image plane along the r1 direction
  // (half length r1, flat ends), cross-section semi-axes r0 (in plane) and c (depth): path
  // 2c sqrt(1 - (e/r0)^2) (vertebral bodies, sacral segments).
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0, r0 = 0, r1 = 0;
  double angle = 0;  // radians, ellipse axis r0 direction from +x towards +y
  double depth_scale = 1;
  bool round_caps = true;  // capsule: false for links of a chain (ribs) so joints do not double up
  double c = 0;
  double wall = 0;
  double z = 0;  // height of the centre above the table (mm)
  Comp comp = Comp::kBone;
  double rel = 1;        // relative concentration (kAbsolute: MBq)
  bool textured = true;  // kBone/kBoneExtra: modulated by the patient's bone-turnover texture
};

// A bone that can host a lesion or a finding.
struct Host {
  std::string name;           // "T7", "rib_R5_post", "femur_L", "skull", ...
  std::string region;         // spine | pelvis | ribs | femur | humerus | skull | sternum | scapula | clavicle | limb
  Prim prim;                  // geometry of the host (capsule or ellipse or shell)
  double t_lo = 0, t_hi = 1;  // usable part of a capsule (proximal femur: 0..0.35)
  double weight = 0;          // metastasis predilection weight
};

// Soft-tissue outline: trunk keyframes plus capsule/ellipse limbs, head and neck. The
// thickness map is the maximum over parts; `mid` is the mid-plane height of each part.
struct TrunkKey {
  double y, half_width, thickness;
};

struct Body {
  std::vector<TrunkKey> trunk;  // increasing y
  std::vector<Prim> parts;      // shape with c = half thickness; z = mid-plane height
};

// Photon attenuation not otherwise modelled: breast tissue in front of the chest (anterior view
// only) and metal implants (both views). Transmission exp(-mu_per_mm * path).
struct Attenuator {
  Prim shape;
  double mu_per_mm = 0.015;
  bool anterior_only = false;
};

struct Anatomy {
  double height_mm = 1750;
  double pivot_y = 875;  // rotation centre (pelvis)
  Body body;
  std::vector<Prim> prims;  // skeleton and organs
  std::vector<Host> hosts;
  std::vector<Attenuator> attenuators;
  // Landmarks used by pathology and findings.
  double y_heart = 0, x_heart = 0, z_heart = 0;
  double y_bladder = 0, z_bladder = 0, r_bladder = 0;
  double knee_x = 0, y_knee = 0, ankle_x = 0;
  double elbow_x[2] = {0, 0}, elbow_y[2] = {0, 0}, wrist_x[2] = {0, 0}, wrist_y[2] = {0, 0};
  double arm_z = 0;
  double rib_rel = 0.75, rib_radius = 5;

  // Trunk half width and thickness at y (0 outside the trunk).
  void trunk_at(double y, double* half_width, double* thickness) const;
};

// The normal anatomy of a patient (skeleton, organs, outline); depends only on the patient's
// demographics, habitus, tracer-independent variants and age.
Anatomy build_anatomy(const PatientParams& p);

// Primitives for the patient's lesions and findings (placed on `a`).
// Amyloid uptake uses the tracer's myocardial affinity; `bone_factor` is the patient's bone
// compartment modifier (so that amyloid keeps its intended ratio to bone).
void add_pathology_prims(const PatientParams& p, const Anatomy& a, double bone_factor, std::vector<Prim>* prims,
                         std::vector<Attenuator>* attenuators);

// Tracer kinetics of one tracer (fractions of the injected activity, decay corrected).
struct Kinetics {
  double bone;                         // skeletal plateau
  double soft0, tau_soft_h, soft_inf;  // soft tissue: soft0 * exp(-t/tau) + soft_inf
  double kidney0, tau_kidney_h;
  double amyloid_affinity;  // myocardial ATTR uptake relative to DPD
};
const Kinetics& tracer_kinetics(const std::string& tracer);

// Compartment modifiers of the disease state: bone, soft tissue, kidney, bladder.
struct CompartmentFactors {
  double bone = 1, soft = 1, kidney = 1, bladder = 1;
};
CompartmentFactors disease_factors(const PatientParams& p);

// render_expected / add_poisson_noise without the pixel hash (simulate_one hashes once).
Scan render_expected_unhashed(const PatientParams& patient, const SiteProfile& site, const GridSize& size,
                              const RenderOptions& options);
void add_poisson_noise_unhashed(Scan& scan, Rng& rng);

}  // namespace scintigen::phantom
