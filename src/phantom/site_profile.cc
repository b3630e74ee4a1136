// Site profiles: JSON <-> SiteProfile with strict validation. One field table (visit_fields)
// drives parsing, range checks, to_json and the error messages, so they cannot drift apart.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/labels.h"
#include "core/resources.h"
#include "phantom/phantom.h"

namespace fs = std::filesystem;

namespace scintigen::phantom {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string allowed(double lo, double hi, const char* unit) {
  std::string s = num(lo) + ".." + num(hi);
  if (unit && *unit) s += std::string(" ") + unit;
  return s;
}

const char* json_type(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

// Visits every numeric field of a profile: v.number(group, key, ref, lo, hi, unit),
// v.integer(...), v.range(...), v.grades(...). Groups are the JSON sub-objects.
template <typename V>
void visit_fields(SiteProfile& s, V& v) {
  auto& c = s.camera;
  v.integer("camera", "width", c.width, 16, 4096, "pixels");
  v.integer("camera", "height", c.height, 64, 8192, "pixels");
  v.number("camera", "pixel_mm", c.pixel_mm, 0.5, 6, "mm");
  v.number("camera", "fwhm_mm_at_0", c.fwhm_mm_at_0, 1, 20, "mm");
  v.number("camera", "fwhm_mm_at_100", c.fwhm_mm_at_100, 2, 30, "mm");
  v.number("camera", "sensitivity_cps_per_mbq", c.sensitivity_cps_per_mbq, 10, 1000, "cps/MBq");
  v.number("camera", "fov_axial_mm", c.fov_axial_mm, 100, 700, "mm");
  v.number("camera", "scatter_fraction", c.scatter_fraction, 0, 0.6, "");
  v.number("camera", "scatter_fwhm_mm", c.scatter_fwhm_mm, 10, 300, "mm");
  v.number("camera", "gap_mm", c.gap_mm, 0, 200, "mm");
  v.number("camera", "mu_per_cm", c.mu_per_cm, 0, 0.3, "1/cm");
  auto& a = s.acquisition;
  v.range("acquisition", "activity_mbq", a.activity_mbq, 50, 1500, "MBq");
  v.range("acquisition", "uptake_h", a.uptake_h, 0.5, 24, "h");
  v.range("acquisition", "speed_cm_min", a.speed_cm_min, 2, 50, "cm/min");
  v.range("acquisition", "void_h", a.void_h, 0.05, 6, "h");
  auto& p = s.population;
  v.number("population", "age_mean", p.age_mean, 1, 100, "years");
  v.number("population", "age_sd", p.age_sd, 0, 40, "years");
  v.range("population", "age", p.age, 1, 110, "years");
  v.number("population", "male_fraction", p.male_fraction, 0, 1, "");
  v.number("population", "height_cm_male", p.height_cm_male, 140, 210, "cm");
  v.number("population", "height_cm_female", p.height_cm_female, 130, 200, "cm");
  v.number("population", "height_cm_sd", p.height_cm_sd, 0, 20, "cm");
  v.number("population", "bmi_mean", p.bmi_mean, 15, 45, "kg/m2");
  v.number("population", "bmi_sd", p.bmi_sd, 0, 12, "kg/m2");
  v.range("population", "arm_abduction_deg", p.arm_abduction_deg, 0, 40, "degrees");
  auto& q = s.prevalence;
  v.number("prevalence", "metastasis", q.metastasis, 0, 1, "");
  v.grades("prevalence", "cardiac_grade", q.cardiac_grade);
  v.number("prevalence", "superscan", q.superscan, 0, 1, "");
  auto& d = s.difficulty;
  v.range("difficulty", "lesion_contrast", d.lesion_contrast, 0.05, 20, "x host bone");
  v.range("difficulty", "lesion_size_mm", d.lesion_size_mm, 4, 100, "mm");
  v.number("difficulty", "lesion_count_mean", d.lesion_count_mean, 1, 100, "");
  v.number("difficulty", "cold_fraction", d.cold_fraction, 0, 1, "");
  auto& f = s.confounders;
  v.number("confounders", "degenerative", f.degenerative, 0, 5, "x age curve");
  v.number("confounders", "rib_fracture", f.rib_fracture, 0, 1, "");
  v.number("confounders", "injection_site", f.injection_site, 0, 1, "");
  v.number("confounders", "urine_contamination", f.urine_contamination, 0, 1, "");
  v.number("confounders", "joint_replacement", f.joint_replacement, 0, 1, "");
  v.number("confounders", "renal_variant", f.renal_variant, 0, 1, "");
  auto& o = s.outcome;
  v.range("outcome", "followup_days", o.followup_days, 1, 7300, "days");
  v.number("outcome", "baseline_hazard_per_year", o.baseline_hazard_per_year, 0.0001, 2, "1/year");
  v.number("outcome", "age_log_hr_per_year", o.age_log_hr_per_year, 0, 0.3, "");
  v.number("outcome", "hr_metastasis", o.hr_metastasis, 0.1, 50, "");
  v.number("outcome", "log_hr_per_lesion", o.log_hr_per_lesion, 0, 1, "");
  v.number("outcome", "hr_superscan", o.hr_superscan, 0.1, 50, "");
  v.number("outcome", "hr_cardiac_grade2", o.hr_cardiac_grade2, 0.1, 50, "");
  v.number("outcome", "hr_cardiac_grade3", o.hr_cardiac_grade3, 0.1, 50, "");
}

const std::vector<std::string>& groups() {
  static const std::vector<std::string> g = {"camera",     "acquisition", "population", "prevalence",
                                             "difficulty", "confounders", "outcome"};
  return g;
}

const std::vector<std::string>& tracers() {
  static const std::vector<std::string> t = {"MDP", "HDP", "DPD", "PYP"};
  return t;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Range checks (used by validate()).
struct Checker {
  const std::string& where;
  void fail(const std::string& field, const std::string& value, const std::string& allow) const {
    throw ConfigError(where, "field '" + field + "' is " + value + ", outside the allowed range", "allowed: " + allow);
  }
  void number(const char* g, const char* k, double& x, double lo, double hi, const char* unit) {
    if (!(x >= lo && x <= hi)) fail(std::string(g) + "." + k, num(x), allowed(lo, hi, unit));
  }
  void integer(const char* g, const char* k, int& x, int lo, int hi, const char* unit) {
    if (x < lo || x > hi) fail(std::string(g) + "." + k, std::to_string(x), allowed(lo, hi, unit));
  }
  void range(const char* g, const char* k, Range& r, double lo, double hi, const char* unit) {
    const std::string f = std::string(g) + "." + k;
    const std::string v = "[" + num(r.lo) + ", " + num(r.hi) + "]";
    if (!(r.lo >= lo && r.hi <= hi)) fail(f, v, "[low, high] within " + allowed(lo, hi, unit));
    if (!(r.lo <= r.hi))
      throw ConfigError(where, "field '" + f + "' is " + v + ": low is above high",
                        "give [low, high] with low <= high");
  }
  void grades(const char* g, const char* k, std::array<double, 4>& p) {
    const std::string f = std::string(g) + "." + k;
    double sum = 0;
    for (double x : p) {
      if (!(x >= 0 && x <= 1))
        fail(f, "[" + num(p[0]) + ", " + num(p[1]) + ", " + num(p[2]) + ", " + num(p[3]) + "]",
             "four probabilities 0..1 for Perugini grades 0-3, summing to 1");
      sum += x;
    }
    if (std::fabs(sum - 1) > 1e-3)
      throw ConfigError(where, "field '" + f + "' sums to " + num(sum) + ", not 1",
                        "four probabilities for Perugini grades 0-3 that sum to 1");
  }
};

// Reads the fields of one JSON profile, with type checks (range checks come from validate()).
struct Reader {
  const nlohmann::json& root;
  const std::string& where;
  const nlohmann::json* field(const char* g, const char* k) {
    auto it = root.find(g);
    if (it == root.end()) return nullptr;
    auto f = it->find(k);
    return f == it->end() ? nullptr : &*f;
  }
  void type_error(const std::string& f, const nlohmann::json& v, const std::string& want) {
    throw ConfigError(where, "field '" + f + "' must be " + want + ", got " + json_type(v), "allowed: " + want);
  }
  void number(const char* g, const char* k, double& x, double lo, double hi, const char* unit) {
    if (auto* v = field(g, k)) {
      if (!v->is_number()) type_error(std::string(g) + "." + k, *v, "a number in " + allowed(lo, hi, unit));
      x = v->get<double>();
    }
  }
  void integer(const char* g, const char* k, int& x, int lo, int hi, const char* unit) {
    if (auto* v = field(g, k)) {
      const bool ok =
          v->is_number_integer() || (v->is_number_float() && v->get<double>() == std::floor(v->get<double>()));
      if (!ok) type_error(std::string(g) + "." + k, *v, "an integer in " + allowed(lo, hi, unit));
      const double d = v->get<double>();
      x = d > 1e9 ? 1000000000 : d < -1e9 ? -1000000000 : static_cast<int>(d);
    }
  }
  void range(const char* g, const char* k, Range& r, double lo, double hi, const char* unit) {
    if (auto* v = field(g, k)) {
      if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number() || !(*v)[1].is_number())
        type_error(std::string(g) + "." + k, *v, "[low, high] within " + allowed(lo, hi, unit));
      r.lo = (*v)[0].get<double>();
      r.hi = (*v)[1].get<double>();
    }
  }
  void grades(const char* g, const char* k, std::array<double, 4>& p) {
    if (auto* v = field(g, k)) {
      bool ok = v->is_array() && v->size() == 4;
      for (size_t i = 0; ok && i < 4; ++i) ok = (*v)[i].is_number();
      if (!ok) type_error(std::string(g) + "." + k, *v, "four probabilities for Perugini grades 0-3");
      for (size_t i = 0; i < 4; ++i) p[i] = (*v)[i].get<double>();
    }
  }
};

struct KeyLister {  // the allowed keys of each group, for "unknown field" messages
  std::map<std::string, std::vector<std::string>> keys;
  template <typename T>
  void add(const char* g, const char* k) {
    keys[g].push_back(k);
  }
  void number(const char* g, const char* k, double&, double, double, const char*) { add<double>(g, k); }
  void integer(const char* g, const char* k, int&, int, int, const char*) { add<int>(g, k); }
  void range(const char* g, const char* k, Range&, double, double, const char*) { add<Range>(g, k); }
  void grades(const char* g, const char* k, std::array<double, 4>&) { add<double>(g, k); }
};

struct Writer {
  nlohmann::json& out;
  void number(const char* g, const char* k, double& x, double, double, const char*) { out[g][k] = x; }
  void integer(const char* g, const char* k, int& x, int, int, const char*) { out[g][k] = x; }
  void range(const char* g, const char* k, Range& r, double, double, const char*) { out[g][k] = {r.lo, r.hi}; }
  void grades(const char* g, const char* k, std::array<double, 4>& p) { out[g][k] = p; }
};

}  // namespace

void SiteProfile::validate(const std::string& where) const {
  SiteProfile copy = *this;
  Checker c{where};
  visit_fields(copy, c);
  static const std::string name_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
  if (name.empty() || name.size() > 64 || name.find_first_not_of(name_chars) != std::string::npos)
    throw ConfigError(where, "field 'name' is '" + name + "', not a valid site code",
                      "1-64 characters from A-Z a-z 0-9 _ . -");
  if (camera.fwhm_mm_at_100 < camera.fwhm_mm_at_0)
    throw ConfigError(where,
                      "field 'camera.fwhm_mm_at_100' (" + num(camera.fwhm_mm_at_100) +
                          ") is below camera.fwhm_mm_at_0 (" + num(camera.fwhm_mm_at_0) + ")",
                      "collimator blur grows with distance: give fwhm_mm_at_100 >= fwhm_mm_at_0");
  if (tracer_mix.empty())
    throw ConfigError(where, "field 'tracer_mix' is empty", "give weights for " + join(tracers()));
  double sum = 0;
  for (const auto& [t, w] : tracer_mix) {
    if (std::find(tracers().begin(), tracers().end(), t) == tracers().end())
      throw ConfigError(where, "field 'tracer_mix." + t + "' is not a known tracer",
                        "allowed tracers: " + join(tracers()));
    if (!(w >= 0 && w <= 1000))
      throw ConfigError(where, "field 'tracer_mix." + t + "' is " + num(w) + ", outside the allowed range",
                        "allowed: a weight 0..1000");
    sum += w;
  }
  if (!(sum > 0)) throw ConfigError(where, "field 'tracer_mix' has no positive weight", "give at least one weight > 0");
}

nlohmann::json SiteProfile::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["name"] = name;
  j["description"] = description;
  j["tracer_mix"] = tracer_mix;
  SiteProfile copy = *this;
  Writer w{j};
  visit_fields(copy, w);
  return j;
}

SiteProfile site_profile_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "a site profile must be a JSON object", "see docs/SIMULATOR.md");
  SiteProfile s;
  KeyLister keys;
  visit_fields(s, keys);
  std::vector<std::string> top = {"name", "description", "tracer_mix"};
  top.insert(top.end(), groups().begin(), groups().end());
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (std::find(top.begin(), top.end(), k) == top.end())
      throw ConfigError(where, "unknown field '" + k + "'", "allowed fields: " + join(top));
    if (keys.keys.count(k)) {
      if (!it->is_object())
        throw ConfigError(where, "field '" + k + "' must be an object, got " + json_type(*it),
                          "allowed: an object with " + join(keys.keys[k]));
      const auto& allowed_keys = keys.keys[k];
      for (auto f = it->begin(); f != it->end(); ++f)
        if (std::find(allowed_keys.begin(), allowed_keys.end(), f.key()) == allowed_keys.end())
          throw ConfigError(where, "unknown field '" + k + "." + f.key() + "'",
                            "allowed fields in " + k + ": " + join(allowed_keys));
    }
  }
  auto str = [&](const char* k, std::string& out) {
    if (auto it = j.find(k); it != j.end()) {
      if (!it->is_string())
        throw ConfigError(where, std::string("field '") + k + "' must be a string, got " + json_type(*it),
                          "allowed: a string");
      out = it->get<std::string>();
    }
  };
  str("name", s.name);
  str("description", s.description);
  if (auto it = j.find("tracer_mix"); it != j.end()) {
    if (!it->is_object())
      throw ConfigError(where, std::string("field 'tracer_mix' must be an object, got ") + json_type(*it),
                        "allowed: an object of weights for " + join(tracers()));
    s.tracer_mix.clear();
    for (auto t = it->begin(); t != it->end(); ++t) {
      if (!t->is_number())
        throw ConfigError(where, "field 'tracer_mix." + t.key() + "' must be a number, got " + json_type(*t),
                          "allowed: a weight 0..1000");
      s.tracer_mix[t.key()] = t->get<double>();
    }
  }
  Reader r{j, where};
  visit_fields(s, r);
  s.validate(where);
  return s;
}

std::string sites_dir() {
  return resource_dir(Resource::kSites);
}

std::vector<std::string> available_sites() {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(sites_dir(), ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".json") names.push_back(it->path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

SiteProfile load_site_profile(const std::string& name_or_path) {
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".json");
  std::string path = name_or_path;
  if (!is_path) {
    path = sites_dir() + "/" + name_or_path + ".json";
    if (!fs::is_regular_file(path)) {
      const auto names = available_sites();
      throw ConfigError("--site", "unknown site profile '" + name_or_path + "'",
                        names.empty() ? "no profiles found in " + sites_dir() + " (set SCINTIGEN_SITES_DIR)"
                                      : "available: " + join(names) + ", or a path to a profile .json");
    }
  }
  const std::string text = read_file(path, 1 << 20);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(path, std::string("not valid JSON: ") + e.what(), "fix the syntax; see docs/SIMULATOR.md");
  }
  SiteProfile s = site_profile_from_json(j, path);
  if (s.name.empty()) s.name = fs::path(path).stem().string();
  return s;
}

// ---- Simulation config, prevalence and shards ----

void SimConfig::validate() const {
  if (n < 1 || n > 100000000ull)
    throw ConfigError("--n", "is " + std::to_string(n) + ", outside the allowed range", "allowed: 1..100000000 scans");
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
    throw ConfigError("--shard",
                      "is " + std::to_string(shard_index) + "/" + std::to_string(shard_count) + ", not a valid shard",
                      "give i/n with 0 <= i < n, e.g. 0/4");
  if ((size.width == 0) != (size.height == 0) || size.width < 0 || size.height < 0 || size.width > 8192 ||
      size.height > 8192 || (size.width > 0 && (size.width < 16 || size.height < 64)))
    throw ConfigError("--size",
                      "is " + std::to_string(size.width) + "x" + std::to_string(size.height) + ", not a valid grid",
                      "give WIDTHxHEIGHT with width 16..8192 and height 64..8192, e.g. 256x1024");
  if (threads < 0 || threads > 1024)
    throw ConfigError("--threads", "is " + std::to_string(threads) + ", outside the allowed range",
                      "allowed: 0 (all cores)..1024");
}

nlohmann::json SimConfig::to_json() const {
  return {{"n", n},
          {"seed", seed},
          {"shard", std::to_string(shard_index) + "/" + std::to_string(shard_count)},
          {"size", size.width ? std::to_string(size.width) + "x" + std::to_string(size.height) : "native"},
          {"threads", threads},
          {"prevalence", prevalence.to_json()},
          {"noise", noise},
          {"simulator_version", kSimulatorVersion}};
}

nlohmann::json PrevalenceOverride::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (metastasis) j["metastasis"] = *metastasis;
  if (cardiac_grade) j["cardiac_grade"] = *cardiac_grade;
  if (superscan) j["superscan"] = *superscan;
  return j;
}

namespace {
bool parse_prob(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return *end == '\0' && out >= 0 && out <= 1;
}
}  // namespace

PrevalenceOverride parse_prevalence(const std::string& spec) {
  static const std::string kHint =
      "give comma-separated fields metastasis=P, superscan=P, cardiac_grade=0:P/1:P/2:P/3:P with P in 0..1 "
      "(grades summing to 1), e.g. metastasis=0.3,cardiac_grade=0:0.9/1:0.04/2:0.03/3:0.03";
  PrevalenceOverride o;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw ConfigError("--prevalence", "'" + item + "' is not FIELD=VALUE", kHint);
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    double p = 0;
    if (key == "metastasis" || key == "superscan") {
      if (!parse_prob(value, p))
        throw ConfigError("--prevalence", key + " is '" + value + "', not a probability", "allowed: 0..1; " + kHint);
      (key == "metastasis" ? o.metastasis : o.superscan) = p;
    } else if (key == "cardiac_grade") {
      std::array<double, 4> g{0, 0, 0, 0};
      std::array<bool, 4> seen{false, false, false, false};
      size_t q = 0;
      while (q <= value.size()) {
        size_t slash = value.find('/', q);
        if (slash == std::string::npos) slash = value.size();
        const std::string part = value.substr(q, slash - q);
        q = slash + 1;
        const size_t colon = part.find(':');
        const std::string gs = colon == std::string::npos ? "" : part.substr(0, colon);
        if (colon == std::string::npos || gs.size() != 1 || gs[0] < '0' || gs[0] > '3' ||
            !parse_prob(part.substr(colon + 1), p) || seen[gs[0] - '0'])
          throw ConfigError("--prevalence", "cardiac_grade part '" + part + "' is not GRADE:P",
                            "grades 0-3, each once, P in 0..1; " + kHint);
        seen[gs[0] - '0'] = true;
        g[gs[0] - '0'] = p;
      }
      const double sum = g[0] + g[1] + g[2] + g[3];
      if (std::fabs(sum - 1) > 1e-3)
        throw ConfigError("--prevalence", "cardiac_grade probabilities sum to " + num(sum) + ", not 1", kHint);
      o.cardiac_grade = g;
    } else {
      throw ConfigError("--prevalence", "unknown field '" + key + "'",
                        "allowed fields: metastasis, superscan, cardiac_grade; " + kHint);
    }
  }
  return o;
}

std::pair<int, int> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash != std::string::npos) {
    char *e1 = nullptr, *e2 = nullptr;
    const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
    const long i = std::strtol(a.c_str(), &e1, 10), n = std::strtol(b.c_str(), &e2, 10);
    if (!a.empty() && !b.empty() && *e1 == '\0' && *e2 == '\0' && n >= 1 && n <= 100000 && i >= 0 && i < n)
      return {static_cast<int>(i), static_cast<int>(n)};
  }
  throw ConfigError("--shard", "'" + text + "' is not a valid shard", "give i/n with 0 <= i < n <= 100000, e.g. 0/4");
}

std::vector<uint64_t> shard_indices(uint64_t n, int shard_index, int shard_count) {
  std::vector<uint64_t> v;
  for (uint64_t i = static_cast<uint64_t>(shard_index); i < n; i += static_cast<uint64_t>(shard_count)) v.push_back(i);
  return v;
}

std::string scan_id(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "sim%06llu", static_cast<unsigned long long>(index));
  return buf;
}

}  // namespace scintigen::phantom
