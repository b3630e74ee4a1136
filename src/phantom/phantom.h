// The physics-based whole-body bone scan simulator: parametric anatomy, tracer kinetics,
// depth-dependent attenuation and collimator blur, scatter, Poisson counting noise, pathology
// (metastases, superscan, cardiac amyloidosis), confounders, site profiles and outcomes.
//
//   using namespace scintigen::phantom;
//   SiteProfile site = load_site_profile("large_centre");   // configs/sites/large_centre.json
//   SimConfig cfg;
//   cfg.n = 100;
//   cfg.seed = 42;
//   Scan s = simulate_one(site, cfg, 17);     // deterministic in (site, seed, index): id "sim000017"
//   simulate(site, cfg, [&](Scan&& scan) { dataset.add(scan); });   // all threads, index order
//
//   // Lower level: draw a patient, render the noiseless expectation, add noise.
//   Rng rng = Rng::for_scan(42, 17, Rng::kPatientStream);
//   PatientParams p = sample_patient(site, PrevalenceOverride{}, rng);
//   Scan expected = render_expected(p, site, GridSize{});   // (2, H, W) float expected counts
//   Rng noise = Rng::for_scan(42, 17, Rng::kNoiseStream);
//   add_poisson_noise(expected, noise);                     // integer counts
//
// Coordinates: a body frame in mm; x lateral from the midline (positive = patient's left,
// which is the image's right in the stored orientation), y down from the vertex, z height
// above the table (the posterior surface is z = 0). Views follow core/scan.h: head at row 0,
// the posterior view mirrored so both overlay. The library depends on core only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/scan.h"
#include "phantom/rng.h"

namespace scintigen::phantom {

inline constexpr int kSimulatorVersion = 2;

struct Range {
  double lo = 0, hi = 0;
};

// ---- Site profile (configs/sites/<name>.json; every field documented in docs/SIMULATOR.md) ----

struct CameraConfig {
  int width = 256;                      // matrix columns
  int height = 1024;                    // matrix rows
  double pixel_mm = 2.26;               // square pixels
  double fwhm_mm_at_0 = 3.8;            // system resolution at the collimator face
  double fwhm_mm_at_100 = 7.5;          // at 10 cm (LEHR approx. 7-8 mm)
  double sensitivity_cps_per_mbq = 90;  // LEHR, 140 keV, 15-20% window
  double fov_axial_mm = 400;            // detector length along the table (sets dwell time)
  double scatter_fraction = 0.25;       // fraction of window counts that are scattered photons
  double scatter_fwhm_mm = 60;          // width of the scatter kernel
  double gap_mm = 30;                   // body-contour distance between skin and collimator
  double mu_per_cm = 0.15;              // effective linear attenuation of tissue at 140 keV
};

struct AcquisitionConfig {
  Range activity_mbq{550, 740};  // injected activity
  Range uptake_h{2.5, 4.0};      // time from injection to scan
  Range speed_cm_min{10, 15};    // table speed
  Range void_h{0.5, 1.5};        // time since the patient last voided (bladder filling)
};

struct PopulationConfig {
  double age_mean = 66, age_sd = 12;
  Range age{18, 95};
  double male_fraction = 0.55;
  double height_cm_male = 176, height_cm_female = 163, height_cm_sd = 7;
  double bmi_mean = 26.5, bmi_sd = 4.5;
  Range arm_abduction_deg{0, 8};
};

struct PrevalenceConfig {
  double metastasis = 0.3;
  std::array<double, 4> cardiac_grade{0.96, 0.02, 0.012, 0.008};  // Perugini 0..3, sums to 1
  double superscan = 0.05;                                        // fraction of metastatic patients with a superscan
};

struct DifficultyConfig {
  Range lesion_contrast{0.4, 4.0};  // excess uptake relative to the host bone, log-uniform
  Range lesion_size_mm{10, 50};     // lesion diameter
  double lesion_count_mean = 5;     // mean number of lesions of a metastatic patient (>= 1)
  double cold_fraction = 0.08;      // probability that a lesion is lytic (photopenic)
};

struct ConfounderConfig {  // probabilities per patient (degenerative: multiplier of the age curve)
  double degenerative = 1.0;
  double rib_fracture = 0.06;
  double injection_site = 0.15;
  double urine_contamination = 0.05;
  double joint_replacement = 0.04;
  double renal_variant = 0.02;
};

struct OutcomeConfig {
  Range followup_days{365, 1825};          // administrative censoring, uniform
  double baseline_hazard_per_year = 0.04;  // at age 65, no disease
  double age_log_hr_per_year = 0.06;
  double hr_metastasis = 3.0;
  double log_hr_per_lesion = 0.03;
  double hr_superscan = 2.5;
  double hr_cardiac_grade2 = 2.0;  // grade >= 2 (ATTR cardiomyopathy)
  double hr_cardiac_grade3 = 3.0;
};

struct SiteProfile {
  std::string name;
  std::string description;
  std::map<std::string, double> tracer_mix{{"HDP", 1.0}};  // MDP/HDP/DPD/PYP -> weight
  CameraConfig camera;
  AcquisitionConfig acquisition;
  PopulationConfig population;
  PrevalenceConfig prevalence;
  DifficultyConfig difficulty;
  ConfounderConfig confounders;
  OutcomeConfig outcome;

  // Throws ConfigError naming `where` (the file), the field and the allowed range.
  void validate(const std::string& where) const;
  nlohmann::json to_json() const;
};

// Parses a profile (unknown keys, wrong types and out-of-range values throw ConfigError
// naming `where`, the dotted field name and what is allowed). Missing fields keep defaults.
SiteProfile site_profile_from_json(const nlohmann::json& j, const std::string& where);
// `name_or_path`: a file path (contains '/' or ends in .json) or a profile name looked up in
// the sites folder. Unknown names throw ConfigError listing the available profiles.
SiteProfile load_site_profile(const std::string& name_or_path);
// The folder holding the built-in profiles (core/resources.h: $SCINTIGEN_SITES_DIR, the
// installed share/scintigen/configs/sites, or the source tree's configs/sites).
std::string sites_dir();
std::vector<std::string> available_sites();

// ---- Simulation config ----

// Overrides of the profile's prevalence, from --prevalence
// "metastasis=0.3,cardiac_grade=0:0.9/1:0.04/2:0.03/3:0.03,superscan=0.1".
struct PrevalenceOverride {
  std::optional<double> metastasis;
  std::optional<std::array<double, 4>> cardiac_grade;
  std::optional<double> superscan;
  nlohmann::json to_json() const;
};
// Throws ConfigError("--prevalence", ...) naming the bad field and the allowed values.
PrevalenceOverride parse_prevalence(const std::string& spec);

struct GridSize {
  int width = 0, height = 0;  // 0: the camera's native matrix
};

struct SimConfig {
  uint64_t n = 10;  // scans in the whole (unsharded) run: indices 0..n-1
  uint64_t seed = 0;
  int shard_index = 0;  // this shard takes indices shard_index, shard_index + shard_count, ...
  int shard_count = 1;
  GridSize size;    // output grid; rendered directly on it (pixel size scaled)
  int threads = 0;  // 0: all cores
  PrevalenceOverride prevalence;
  bool noise = true;  // false: store the noiseless expectation (float)

  void validate() const;  // throws ConfigError naming the flag
  nlohmann::json to_json() const;
};

// Parses "i/n" (0 <= i < n); throws ConfigError("--shard", ...).
std::pair<int, int> parse_shard(const std::string& text);
// Indices of one shard in increasing order.
std::vector<uint64_t> shard_indices(uint64_t n, int shard_index, int shard_count);
// "sim000017": ids depend on the index only, so merged shards equal the unsharded run.
std::string scan_id(uint64_t index);

// ---- Patients ----

struct Lesion {
  double x_mm = 0, y_mm = 0, z_mm = 0;  // body frame (see above)
  double size_mm = 0;                   // diameter
  double intensity = 0;                 // excess uptake relative to the host bone (< 0: cold)
  bool cold = false;
  std::string bone;  // host, e.g. "L3", "rib_R7_post", "femur_L"
};

// Non-metastatic findings that a classifier must not call metastases.
struct Finding {
  std::string kind;  // degenerative | rib_fracture | injection_site | urine_contamination |
                     // joint_replacement
  double x_mm = 0, y_mm = 0, z_mm = 0, size_mm = 0, intensity = 0;
  std::string where;  // e.g. "knee_R", "rib_L6", "arm_L", "hip_R"
};

struct PatientParams {
  // Demographics and body habitus.
  std::string sex = "M";
  double age = 65, height_cm = 175, weight_kg = 78;
  double arm_abduction_deg = 8, rotation_deg = 0, shift_x_mm = 0, shift_y_mm = 0;
  double top_margin_mm = 90;  // vertex below the first row
  // Acquisition.
  std::string tracer = "HDP";
  double activity_mbq = 650, uptake_h = 3, speed_cm_min = 12, void_h = 1;
  double bladder_ml = 250;
  double soft_tissue_factor = 1;  // renal function / hydration spread (>1: more soft tissue)
  // Disease.
  bool metastasis = false;
  bool superscan = false;
  int cardiac_grade = 0;
  std::vector<Lesion> lesions;
  std::vector<Finding> findings;
  std::string renal_variant;  // "", "single_left", "single_right", "horseshoe", "pelvic_right"
  // Seed of the individual anatomy: small shape and intensity variations of every bone, the
  // bone-turnover texture and the soft-tissue background. 0 (hand-made test patients): the
  // average anatomy, without individual variation or texture.
  uint64_t anatomy_seed = 0;
  // Outcome.
  double outcome_days = 0;
  int outcome_event = 0;

  nlohmann::json to_json() const;  // everything above (meta of a simulated scan)
};

PatientParams sample_patient(const SiteProfile& site, const PrevalenceOverride& prevalence, Rng& rng);

// ---- Rendering ----

struct RenderOptions {
  // Blur every depth layer with the direct (non-separable) 2-D Gaussian: the slow, obviously
  // correct reference path that the fast separable path is tested and benchmarked against.
  bool reference_blur = false;
};

// The noiseless expected counts (float) of both views, labels and meta filled in; no id.
Scan render_expected(const PatientParams& patient, const SiteProfile& site, const GridSize& size,
                     const RenderOptions& options = {});
// Replaces every pixel by a Poisson draw with that mean (integer counts); rehashes.
void add_poisson_noise(Scan& scan, Rng& rng);
// render_expected + add_poisson_noise.
Scan render(const PatientParams& patient, const SiteProfile& site, const GridSize& size, Rng& noise_rng);

// The activity (MBq) in the body at scan time by compartment, from the tracer kinetics:
// {"bone", "soft", "kidney", "bladder"} (before lesions, amyloid and confounders).
std::map<std::string, double> compartment_activity_mbq(const PatientParams& patient);
// Counts per MBq in the body per view without attenuation or scatter: sensitivity x dwell.
double counts_per_mbq(const PatientParams& patient, const SiteProfile& site);

// ---- Whole runs ----

// One scan, a pure function of (site, cfg.seed, cfg.size, cfg.prevalence, cfg.noise, index).
// The seed of a site's random streams: scan i of site S is a function of (S.name, seed, i), so
// two sites simulated with the same --seed draw independent patients and noise.
uint64_t site_seed(const std::string& site_name, uint64_t seed);
Scan simulate_one(const SiteProfile& site, const SimConfig& cfg, uint64_t index);
// This shard's scans on cfg.threads threads, handed to `sink` on the calling thread in index
// order. `progress` (optional) is called after each scan. Returns the number of scans.
size_t simulate(const SiteProfile& site, const SimConfig& cfg, const std::function<void(Scan&&)>& sink,
                const std::function<void()>& progress = {});

}  // namespace scintigen::phantom
