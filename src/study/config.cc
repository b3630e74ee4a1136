#include "study/config.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/random_streams.h"
#include "study/subgroup.h"

namespace scintigen::study {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* type_name(const json& j) {
  return j.type_name();
}

// A strict view of one JSON object: every key read is remembered, and done() refuses the rest,
// so a misspelt key is an error, not a silently ignored setting.
class Fields {
 public:
  Fields(const json& j, std::string where, std::string path) : j_(j), where_(std::move(where)), path_(std::move(path)) {
    if (!j_.is_object())
      throw ConfigError(where_, fmt::format("{}: expected an object, found {}", label(), type_name(j_)));
  }
  bool has(const char* key) const { return j_.contains(key); }
  std::string key(const char* k) const { return path_.empty() ? std::string(k) : path_ + "." + k; }
  std::string label() const { return path_.empty() ? "the top level" : path_; }

  template <class T>
  void get(const char* k, T& out) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    try {
      if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean()) throw std::invalid_argument("true or false");
      } else if constexpr (std::is_arithmetic_v<T>) {
        if (!v.is_number()) throw std::invalid_argument("a number");
        if constexpr (std::is_integral_v<T>) {
          const double d = v.get<double>();
          if (d != std::floor(d)) throw std::invalid_argument("an integer");
          if constexpr (std::is_unsigned_v<T>)
            if (d < 0) throw std::invalid_argument("a non-negative integer");
        }
      } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) throw std::invalid_argument("a string");
      }
      out = v.get<T>();
    } catch (const std::invalid_argument& e) {
      throw ConfigError(where_, fmt::format("{}: expected {}, found {}", key(k), e.what(), type_name(v)));
    } catch (const json::exception& e) {
      throw ConfigError(where_, fmt::format("{}: {}", key(k), e.what()));
    }
  }
  const json* sub(const char* k) {
    seen_.insert(k);
    return j_.contains(k) ? &j_.at(k) : nullptr;
  }
  void done() const {
    for (const auto& [k, v] : j_.items())
      if (!seen_.count(k))
        throw ConfigError(where_, fmt::format("{}: unknown key '{}'", label(), k),
                          "see docs/STUDY.md (\"The config\") for the keys");
  }
  const std::string& where() const { return where_; }

 private:
  const json& j_;
  std::string where_, path_;
  std::set<std::string> seen_;
};

void require(bool ok, const std::string& where, const std::string& what, const std::string& hint = "") {
  if (!ok) throw ConfigError(where, what, hint);
}

CohortSpec cohort_from_json(const json& j, const std::string& where, const std::string& path) {
  CohortSpec c;
  Fields f(j, where, path);
  f.get("site", c.site);
  f.get("dataset", c.dataset);
  f.get("n", c.n);
  f.get("prevalence", c.prevalence);
  if (const json* o = f.sub("overrides")) {
    require(o->is_object(), where, fmt::format("{}.overrides: expected an object", path));
    c.overrides = *o;
  }
  f.done();
  return c;
}

json cohort_to_json(const CohortSpec& c) {
  if (!c.simulated()) return {{"dataset", c.dataset}};
  json j = {{"site", c.site}, {"n", c.n}};
  if (!c.overrides.empty()) j["overrides"] = c.overrides;
  if (!c.prevalence.empty()) j["prevalence"] = c.prevalence;
  return j;
}

void validate_cohort(const CohortSpec& c, const std::string& where, const std::string& path, bool needs_n) {
  require(c.site.empty() != c.dataset.empty(), where,
          fmt::format("{}: give exactly one of 'site' (a simulator profile) and 'dataset' (a folder)", path));
  if (c.simulated() && needs_n)
    require(c.n >= 1 && c.n <= 1000000, where, fmt::format("{}.n: {} is not in 1..1000000", path, c.n));
  if (!c.simulated())
    require(c.n == 0 && c.overrides.empty() && c.prevalence.empty(), where,
            fmt::format("{}: 'n', 'overrides' and 'prevalence' apply to simulated cohorts only", path));
}

const std::set<std::string> kTasks = {"metastasis", "cardiac"};

}  // namespace

uint64_t derived_seed(uint64_t study_seed, const std::string& name) {
  return stream_rng(study_seed, RandomStream::kStudySeed, fnv1a64(name)).next();
}

StudyConfig StudyConfig::load(const std::string& path) {
  const std::string text = read_file(path, 16u << 20);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ConfigError(path, fmt::format("not valid JSON: {}", e.what()));
  }
  StudyConfig c = from_json(j, path);
  c.resolve_paths(fs::path(path).parent_path().string());
  c.validate(path);
  return c;
}

namespace {

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 5 && s.substr(s.size() - 5) == ".json");
}

// A relative path of the config, made relative to the config file's folder.
void rebase(std::string& p, const std::string& base) {
  if (p.empty() || fs::path(p).is_absolute()) return;
  p = (fs::path(base.empty() ? "." : base) / p).lexically_normal().string();
}

}  // namespace

void StudyConfig::resolve_paths(const std::string& base) {
  auto cohort = [&](CohortSpec& c) {
    rebase(c.dataset, base);
    if (looks_like_path(c.site)) rebase(c.site, base);
  };
  cohort(donor);
  cohort(small.cohort);
  for (auto& e : external) cohort(e.second);
  if (looks_like_path(generator.preset)) rebase(generator.preset, base);
  if (generator.model != "builtin") rebase(generator.model, base);
  if (generator.init_from != "builtin") rebase(generator.init_from, base);
}

StudyConfig StudyConfig::from_json(const json& j, const std::string& where) {
  StudyConfig c;
  Fields f(j, where, "");
  std::string format;
  int version = kStudyFormatVersion;
  f.get("format", format);
  f.get("format_version", version);
  require(format.empty() || format == kStudyFormat, where,
          fmt::format("format: '{}' is not '{}'", format, kStudyFormat));
  require(version == kStudyFormatVersion, where,
          fmt::format("format_version: {} is not {} (this scintigen's)", version, kStudyFormatVersion));
  f.get("name", c.name);
  f.get("description", c.description);
  f.get("seed", c.seed);
  if (const json* g = f.sub("grid")) {
    Fields gf(*g, where, "grid");
    gf.get("width", c.width);
    gf.get("height", c.height);
    gf.done();
  }
  if (const json* co = f.sub("cohorts")) {
    Fields cf(*co, where, "cohorts");
    if (const json* d = cf.sub("donor")) c.donor = cohort_from_json(*d, where, "cohorts.donor");
    if (const json* s = cf.sub("small")) {
      Fields sf(*s, where, "cohorts.small");
      json rest = json::object();
      for (const auto& [k, v] : s->items())
        if (k != "train" && k != "val" && k != "test" && k != "draws") rest[k] = v;
      sf.get("train", c.small.train);
      sf.get("val", c.small.val);
      sf.get("test", c.small.test);
      sf.get("draws", c.small.draws);
      for (const auto& [k, v] : rest.items()) sf.sub(k.c_str());
      sf.done();
      c.small.cohort = cohort_from_json(rest, where, "cohorts.small");
    }
    if (const json* e = cf.sub("external")) {
      require(e->is_object() && !e->empty(), where,
              "cohorts.external: expected an object of site name -> cohort, with at least one site");
      for (const auto& [name, v] : e->items())
        c.external.emplace_back(name, cohort_from_json(v, where, "cohorts.external." + name));
    }
    cf.done();
  }
  if (const json* g = f.sub("generator")) {
    Fields gf(*g, where, "generator");
    auto& s = c.generator;
    gf.get("model", s.model);
    gf.get("init_from", s.init_from);
    gf.get("preset", s.preset);
    gf.get("steps", s.steps);
    gf.get("batch", s.batch);
    gf.get("lr", s.lr);
    gf.get("warmup", s.warmup);
    gf.get("ema", s.ema);
    gf.get("cond_drop", s.cond_drop);
    gf.get("bf16", s.bf16);
    gf.get("target", s.target);
    gf.done();
  }
  if (const json* sy = f.sub("synthetic")) {
    require(sy->is_array(), where, "synthetic: expected an array of synthetic sets");
    for (size_t i = 0; i < sy->size(); ++i) {
      SyntheticSpec s;
      Fields sf((*sy)[i], where, fmt::format("synthetic[{}]", i));
      sf.get("name", s.name);
      sf.get("guidance", s.guidance);
      sf.get("steps", s.steps);
      sf.get("condition", s.condition);
      if (const json* m = sf.sub("mix")) s.mix = *m;
      sf.done();
      c.synthetic.push_back(s);
    }
  }
  if (const json* ar = f.sub("arms")) {
    require(ar->is_array(), where, "arms: expected an array of arms");
    for (size_t i = 0; i < ar->size(); ++i) {
      ArmSpec a;
      Fields af((*ar)[i], where, fmt::format("arms[{}]", i));
      af.get("name", a.name);
      af.get("small", a.small);
      af.get("synthetic", a.synthetic);
      af.get("simulate", a.simulate);
      af.get("donor", a.donor);
      af.get("multiple", a.multiple);
      af.done();
      c.arms.push_back(a);
    }
  }
  f.get("upper", c.upper);
  f.get("tasks", c.tasks);
  f.get("seeds", c.seeds);
  if (const json* k = f.sub("classifier")) {
    Fields kf(*k, where, "classifier");
    auto& s = c.classifier;
    kf.get("epochs", s.epochs);
    kf.get("patience", s.patience);
    kf.get("steps_per_epoch", s.steps_per_epoch);
    kf.get("batch", s.batch);
    kf.get("lr", s.lr);
    kf.get("weight_decay", s.weight_decay);
    kf.get("base_width", s.base_width);
    kf.done();
  }
  if (const json* a = f.sub("audit")) {
    if (a->is_null()) {
      c.audit.enabled = false;
    } else {
      Fields af(*a, where, "audit");
      auto& s = c.audit;
      af.get("enabled", s.enabled);
      af.get("real", s.real);
      af.get("encoder_scans", s.encoder_scans);
      af.get("encoder_epochs", s.encoder_epochs);
      af.get("synthetic", s.synthetic);
      af.get("bootstrap", s.bootstrap);
      af.done();
    }
  }
  if (const json* sg = f.sub("subgroups")) {
    require(sg->is_array(), where, "subgroups: expected an array of {\"name\", \"where\"}");
    for (size_t i = 0; i < sg->size(); ++i) {
      SubgroupSpec s;
      Fields sf((*sg)[i], where, fmt::format("subgroups[{}]", i));
      sf.get("name", s.name);
      sf.get("where", s.where);
      sf.done();
      c.subgroups.push_back(s);
    }
  }
  if (const json* an = f.sub("analysis")) {
    Fields af(*an, where, "analysis");
    af.get("bootstrap", c.bootstrap);
    af.get("conf_level", c.conf_level);
    af.get("min_positives", c.min_positives);
    af.done();
  }
  if (const json* p = f.sub("primary_endpoint")) {
    Fields pf(*p, where, "primary_endpoint");
    pf.get("task", c.primary.task);
    pf.get("arm", c.primary.arm);
    pf.get("statistic", c.primary.statistic);
    pf.get("alpha", c.primary.alpha);
    pf.done();
  }
  f.done();
  return c;
}

void StudyConfig::validate(const std::string& where) const {
  require(!name.empty() && name.size() <= 64, where, "name: give 1 to 64 characters");
  require(width >= 16 && width <= 4096 && height >= 64 && height <= 8192, where,
          fmt::format("grid: {}x{} is not within 16..4096 x 64..8192", width, height));
  validate_cohort(donor, where, "cohorts.donor", true);
  validate_cohort(small.cohort, where, "cohorts.small", false);
  require(small.cohort.n == 0, where, "cohorts.small.n: give train, val and test sizes instead");
  require(small.train >= 4 && small.val >= 4 && small.test >= 0, where,
          "cohorts.small: train and val must be at least 4 scans, test at least 0");
  require(small.draws >= 1 && small.draws <= 100, where,
          fmt::format("cohorts.small.draws: {} is not in 1..100", small.draws));
  require(!external.empty(), where, "cohorts.external: give at least one external site");
  for (const auto& [n, e] : external) validate_cohort(e, where, "cohorts.external." + n, true);
  const auto& g = generator;
  require(g.model.empty() || g.init_from.empty(), where,
          "generator: 'model' (use as it is) and 'init_from' (fine-tune) exclude each other");
  if (g.trains()) {
    require(g.steps >= 1 && g.batch >= 1 && g.lr > 0 && g.warmup >= 0 && g.ema >= 0 && g.ema < 1, where,
            "generator: steps and batch must be >= 1, lr > 0, warmup >= 0, 0 <= ema < 1");
    require(g.target.empty() || g.target == "counts" || g.target == "expected", where,
            fmt::format("generator.target: '{}' is not counts or expected", g.target));
  }
  std::set<std::string> names;
  for (const auto& s : synthetic) {
    require(!s.name.empty() && names.insert(s.name).second, where,
            fmt::format("synthetic: the name '{}' is empty or used twice", s.name));
    require(s.guidance >= 0 && s.guidance <= 20 && s.steps >= 1 && s.steps <= 1000, where,
            fmt::format("synthetic '{}': guidance must be in 0..20 and steps in 1..1000", s.name));
    require(s.condition.empty() || s.mix.empty(), where,
            fmt::format("synthetic '{}': give 'condition' or 'mix', not both", s.name));
    require(s.mix.is_object(), where, fmt::format("synthetic '{}'.mix: expected an object", s.name));
    for (const auto& [cond, w] : s.mix.items())
      require(w.is_number() && w.get<double>() >= 0, where,
              fmt::format("synthetic '{}'.mix['{}']: expected a weight >= 0", s.name, cond));
  }
  require(!arms.empty(), where, "arms: give at least the baseline arm");
  names.clear();
  for (size_t i = 0; i < arms.size(); ++i) {
    const ArmSpec& a = arms[i];
    const std::string at = fmt::format("arms[{}] '{}'", i, a.name);
    require(!a.name.empty() && a.name.size() <= 64 && names.insert(a.name).second, where,
            fmt::format("{}: the name is empty, longer than 64 characters or used twice", at));
    const int sources = !a.synthetic.empty() + !a.simulate.empty() + a.donor;
    require(sources <= 1, where, fmt::format("{}: give at most one of synthetic, simulate and donor", at));
    require(a.small || sources == 1, where, fmt::format("{}: an arm without the small centre needs a source", at));
    if (!a.synthetic.empty())
      require(synthetic_set(a.synthetic) != nullptr, where,
              fmt::format("{}: no synthetic set is named '{}'", at, a.synthetic));
    if (!a.simulate.empty())
      require(a.simulate == "donor" && donor.simulated(), where,
              fmt::format("{}: simulate must be \"donor\", with a simulated donor cohort", at));
    if (!a.synthetic.empty() || !a.simulate.empty())
      require(a.multiple > 0 && a.multiple <= 100, where, fmt::format("{}: multiple must be in (0, 100]", at));
    else
      require(a.multiple == 0, where, fmt::format("{}: multiple applies to synthetic and simulate arms only", at));
  }
  require(arms[0].small && arms[0].synthetic.empty() && arms[0].simulate.empty() && !arms[0].donor, where,
          fmt::format("arms[0] '{}': the first arm is the baseline and must be the small centre alone", arms[0].name));
  require(upper.empty() || arm(upper) != nullptr, where, fmt::format("upper: no arm is named '{}'", upper));
  require(!tasks.empty(), where, "tasks: give metastasis, cardiac or both");
  for (const auto& t : tasks)
    require(kTasks.count(t) == 1, where, fmt::format("tasks: '{}' is not metastasis or cardiac", t));
  require(seeds >= 1 && seeds <= 100, where, fmt::format("seeds: {} is not in 1..100", seeds));
  const auto& k = classifier;
  require(k.epochs >= 1 && k.patience >= 1 && k.steps_per_epoch >= 1 && k.batch >= 2 && k.lr > 0 &&
              k.weight_decay >= 0 && k.base_width >= 1,
          where, "classifier: epochs, patience and steps_per_epoch >= 1, batch >= 2, lr > 0, weight_decay >= 0");
  if (audit.enabled)
    require(audit.real >= 20 && audit.encoder_scans >= 20 && audit.encoder_epochs >= 1 && audit.synthetic >= 20 &&
                audit.bootstrap >= 10,
            where, "audit: real, encoder_scans and synthetic >= 20, encoder_epochs >= 1, bootstrap >= 10");
  names.clear();
  for (const auto& s : subgroups) {
    require(!s.name.empty() && !s.where.empty() && names.insert(s.name).second, where,
            fmt::format("subgroups: '{}' has no name or condition, or its name is used twice", s.name));
    parse_subgroup(s.name, s.where, where);
  }
  require(bootstrap >= 100 && bootstrap <= 100000, where,
          fmt::format("analysis.bootstrap: {} is not in 100..100000", bootstrap));
  require(conf_level > 0.5 && conf_level < 1, where, "analysis.conf_level: must be in (0.5, 1)");
  require(min_positives >= 2, where, "analysis.min_positives: must be at least 2");
  require(std::find(tasks.begin(), tasks.end(), primary.task) != tasks.end(), where,
          fmt::format("primary_endpoint.task: '{}' is not one of the study's tasks", primary.task));
  require(!primary.arm.empty() && arm(primary.arm) != nullptr && primary.arm != arms[0].name, where,
          fmt::format("primary_endpoint.arm: '{}' is not a non-baseline arm of the study", primary.arm),
          "fix the primary endpoint before the run: it is the claim the study tests");
  require(primary.statistic == "pooled_gain", where,
          fmt::format("primary_endpoint.statistic: '{}' is not pooled_gain", primary.statistic));
  require(primary.alpha > 0 && primary.alpha < 0.5, where, "primary_endpoint.alpha: must be in (0, 0.5)");
}

json StudyConfig::to_json() const {
  json j = {{"format", kStudyFormat}, {"format_version", kStudyFormatVersion},
            {"name", name},           {"description", description},
            {"seed", seed},           {"grid", {{"width", width}, {"height", height}}}};
  json small_j = cohort_to_json(small.cohort);
  small_j.erase("n");
  small_j["train"] = small.train;
  small_j["val"] = small.val;
  small_j["test"] = small.test;
  small_j["draws"] = small.draws;
  json ext = json::object();
  for (const auto& [n, e] : external) ext[n] = cohort_to_json(e);
  j["cohorts"] = {{"donor", cohort_to_json(donor)}, {"small", small_j}, {"external", ext}};
  const auto& g = generator;
  j["generator"] = {{"model", g.model},         {"init_from", g.init_from},
                    {"preset", g.preset},       {"steps", g.steps},
                    {"batch", g.batch},         {"lr", g.lr},
                    {"warmup", g.warmup},       {"ema", g.ema},
                    {"cond_drop", g.cond_drop}, {"bf16", g.bf16},
                    {"target", g.target}};
  j["synthetic"] = json::array();
  for (const auto& s : synthetic)
    j["synthetic"].push_back(
        {{"name", s.name}, {"guidance", s.guidance}, {"steps", s.steps}, {"condition", s.condition}, {"mix", s.mix}});
  j["arms"] = json::array();
  for (const auto& a : arms)
    j["arms"].push_back({{"name", a.name},
                         {"small", a.small},
                         {"synthetic", a.synthetic},
                         {"simulate", a.simulate},
                         {"donor", a.donor},
                         {"multiple", a.multiple}});
  j["upper"] = upper;
  j["tasks"] = tasks;
  j["seeds"] = seeds;
  const auto& k = classifier;
  j["classifier"] = {{"epochs", k.epochs},
                     {"patience", k.patience},
                     {"steps_per_epoch", k.steps_per_epoch},
                     {"batch", k.batch},
                     {"lr", k.lr},
                     {"weight_decay", k.weight_decay},
                     {"base_width", k.base_width}};
  j["audit"] = {{"enabled", audit.enabled},
                {"real", audit.real},
                {"encoder_scans", audit.encoder_scans},
                {"encoder_epochs", audit.encoder_epochs},
                {"synthetic", audit.synthetic},
                {"bootstrap", audit.bootstrap}};
  j["subgroups"] = json::array();
  for (const auto& s : subgroups) j["subgroups"].push_back({{"name", s.name}, {"where", s.where}});
  j["analysis"] = {{"bootstrap", bootstrap}, {"conf_level", conf_level}, {"min_positives", min_positives}};
  j["primary_endpoint"] = {
      {"task", primary.task}, {"arm", primary.arm}, {"statistic", primary.statistic}, {"alpha", primary.alpha}};
  return j;
}

const ArmSpec* StudyConfig::arm(const std::string& n) const {
  for (const auto& a : arms)
    if (a.name == n) return &a;
  return nullptr;
}

const SyntheticSpec* StudyConfig::synthetic_set(const std::string& n) const {
  for (const auto& s : synthetic)
    if (s.name == n) return &s;
  return nullptr;
}

}  // namespace scintigen::study
