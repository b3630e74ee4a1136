#include "audit/audit.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "audit/encoder.h"
#include "audit/image_stats.h"
#include "audit/linear.h"
#include "audit/metrics.h"
#include "audit/neighbours.h"
#include "audit/scan_sets.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/random_streams.h"
#include "core/shuffle.h"
#include "core/split.h"
#include "core/version.h"
#include "gen/membership.h"
#include "gen/model_io.h"
#include "run/run.h"
#include "stats/distributions.h"
#include "stats/json.h"
#include "stats/roc.h"

namespace scintigen::audit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMinScans = 20;  // per set: two halves of 10, and k + 1 = 6 for the neighbour metrics
constexpr double kC2stPassAuc = 0.55;
constexpr double kMembershipPassAuc = 0.55;
constexpr double kCopyQuantile = 0.0005;  // per space; two spaces: a held-out scan is flagged with p <= 0.1%
constexpr double kNewPatientFlagRate = 2 * kCopyQuantile;
constexpr double kLabelPassP = 0.05;

// ---- Small helpers ------------------------------------------------------------------------------

std::vector<size_t> iota_n(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// `k` of `n` indices, seeded (partial Fisher-Yates of core/shuffle.h), in ascending order.
std::vector<size_t> seeded_subsample(size_t n, size_t k, uint64_t seed, uint64_t use) {
  std::vector<size_t> idx = iota_n(n);
  if (k >= n) return idx;
  Rng rng = stream_rng(seed, RandomStream::kAuditSubsample, use);
  shuffle(idx.begin(), idx.end(), rng);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Quantiles of a sample, for the report's summaries.
json summary_json(std::vector<double> v) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  return {{"n", v.size()},
          {"mean", stats::json_number(mean)},
          {"min", stats::json_number(v.front())},
          {"q001", stats::json_number(stats::quantile_type7(v, 0.001))},
          {"q01", stats::json_number(stats::quantile_type7(v, 0.01))},
          {"median", stats::json_number(stats::quantile_type7(v, 0.5))},
          {"max", stats::json_number(v.back())}};
}

// P(X >= k) for X ~ Binomial(n, p), exactly (1 minus the lower sum, in log space per term).
double binomial_upper_tail(size_t n, size_t k, double p) {
  if (k == 0) return 1.0;
  double lower = 0.0;
  for (size_t i = 0; i < k; ++i)
    lower += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + i * std::log(p) +
                      (n - i) * std::log1p(-p));
  return std::max(0.0, 1.0 - lower);
}

// The verdict object every section carries.
json verdict(bool pass, const std::string& rule, const std::string& text) {
  return {{"pass", pass}, {"rule", rule}, {"text", text}};
}

// ---- Conditions ---------------------------------------------------------------------------------

struct Condition {
  std::string name;  // "metastasis=1"
  std::function<bool(const Labels&)> holds;
};

std::vector<Condition> conditions() {
  std::vector<Condition> out;
  for (int v : {0, 1})
    out.push_back(
        {fmt::format("metastasis={}", v), [v](const Labels& l) { return l.metastasis && *l.metastasis == v; }});
  for (int g : {0, 1, 2, 3})
    out.push_back({fmt::format("cardiac_grade={}", g),
                   [g](const Labels& l) { return l.cardiac_grade && *l.cardiac_grade == g; }});
  for (const char* t : {"MDP", "HDP", "DPD", "PYP"})
    out.push_back({fmt::format("tracer={}", t), [t = std::string(t)](const Labels& l) { return l.tracer == t; }});
  for (const char* s : {"M", "F"})
    out.push_back({fmt::format("sex={}", s), [s = std::string(s)](const Labels& l) { return l.sex == s; }});
  return out;
}

std::vector<size_t> where_holds(const ScanSet& set, const std::vector<size_t>& among,
                                const std::function<bool(const Labels&)>& f) {
  std::vector<size_t> out;
  for (size_t i : among)
    if (f(set.scans[i].labels)) out.push_back(i);
  return out;
}

// ---- Label targets --------------------------------------------------------------------------------

struct Target {
  std::string name;
  std::function<std::optional<int>(const Labels&)> label;
};

std::vector<Target> label_targets() {
  std::vector<Target> t;
  t.push_back({"metastasis", [](const Labels& l) { return l.metastasis; }});
  t.push_back({"perugini_ge2", [](const Labels& l) -> std::optional<int> {
                 if (!l.cardiac_grade) return std::nullopt;
                 return *l.cardiac_grade >= 2 ? 1 : 0;
               }});
  for (int g : {1, 2, 3})
    t.push_back({fmt::format("perugini_{}_vs_0", g), [g](const Labels& l) -> std::optional<int> {
                   if (!l.cardiac_grade || (*l.cardiac_grade != g && *l.cardiac_grade != 0)) return std::nullopt;
                   return *l.cardiac_grade == g ? 1 : 0;
                 }});
  return t;
}

struct Labelled {
  std::vector<size_t> rows;
  std::vector<int> y;
  size_t positives = 0, negatives = 0;
};
Labelled labelled(const ScanSet& set, const Target& t) {
  Labelled out;
  for (size_t i = 0; i < set.scans.size(); ++i) {
    const auto y = t.label(set.scans[i].labels);
    if (!y) continue;
    out.rows.push_back(i);
    out.y.push_back(*y);
    (*y ? out.positives : out.negatives)++;
  }
  return out;
}

// ---- Features and statistics -----------------------------------------------------------------------

Features stack_rows(const Features& a, const Features& b) {
  Features out(a.n + b.n, a.d);
  std::copy(a.x.begin(), a.x.end(), out.x.begin());
  std::copy(b.x.begin(), b.x.end(), out.x.begin() + static_cast<std::ptrdiff_t>(a.x.size()));
  return out;
}

std::vector<ScanStats> subset_stats(const std::vector<ScanStats>& s, const std::vector<size_t>& idx) {
  std::vector<ScanStats> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(s[i]);
  return out;
}

}  // namespace

// ---- Config ----------------------------------------------------------------------------------------

const std::vector<std::string>& audit_sections() {
  static const std::vector<std::string> s = {"fidelity",       "image_stats",  "c2st",
                                             "label_fidelity", "memorisation", "membership"};
  return s;
}

bool AuditConfig::runs(const std::string& section) const {
  return std::find(skip.begin(), skip.end(), section) == skip.end();
}

void AuditConfig::validate() const {
  if (real.empty()) throw ConfigError("--real", "is required", "real scans the generator never saw");
  if (synthetic.empty()) throw ConfigError("--synthetic", "is required", "the synthetic dataset to audit");
  if (out.empty()) throw ConfigError("--out", "is required", "the audit folder to create");
  for (const auto& s : skip)
    if (std::find(audit_sections().begin(), audit_sections().end(), s) == audit_sections().end())
      throw ConfigError("--skip", fmt::format("unknown section '{}'", s),
                        "sections: fidelity, image_stats, c2st, label_fidelity, memorisation, membership");
  if (bootstrap < 0) throw ConfigError("--bootstrap", fmt::format("{} is negative", bootstrap));
  if (!(conf_level > 0 && conf_level < 1)) throw ConfigError("--conf-level", "must lie strictly between 0 and 1");
  if (folds < 2) throw ConfigError("--folds", fmt::format("{} is not >= 2", folds));
  if (!(c > 0) || !std::isfinite(c)) throw ConfigError("--c", "must be a positive number");
  if (min_per_condition < 6)
    throw ConfigError("--min-per-condition", "must be >= 6 (the neighbour metrics need k + 1)");
  if (kd_subsets < 1) throw ConfigError("--kd-subsets", "must be >= 1");
  if (kd_subset_size < 2) throw ConfigError("--kd-subset-size", "must be >= 2");
  if (membership_n < 2) throw ConfigError("--membership-n", "must be >= 2");
  if (closest_pairs < 0) throw ConfigError("--closest-pairs", "must be >= 0");
  if (batch < 1) throw ConfigError("--batch", "must be >= 1");
  run::parse_device_name(device);
  gen::DenoisingLossConfig m;
  m.times = membership_times;
  m.draws = membership_draws;
  m.validate();
}

json AuditConfig::to_json() const {
  return {{"real", real},
          {"synthetic", synthetic},
          {"train", train},
          {"model", model},
          {"encoder", encoder},
          {"out", out},
          {"skip", skip},
          {"seed", seed},
          {"bootstrap", bootstrap},
          {"conf_level", conf_level},
          {"folds", folds},
          {"c", c},
          {"min_per_condition", min_per_condition},
          {"kd_subsets", kd_subsets},
          {"kd_subset_size", kd_subset_size},
          {"membership_n", membership_n},
          {"membership_times", membership_times},
          {"membership_draws", membership_draws},
          {"closest_pairs", closest_pairs},
          {"batch", batch},
          {"threads", threads},
          {"device", device}};
}

// ---- The run ---------------------------------------------------------------------------------------

namespace {

struct Inputs {
  ScanSet real, synthetic, train;
  bool has_train = false;
  std::optional<Encoder> encoder;
  std::string model;  // resolved generator folder ("" when membership does not run)
  std::string model_sha256;
  Features real_f, syn_f, train_f;  // encoder features (empty without an encoder)
  std::vector<ScanStats> real_s, syn_s;
  std::vector<size_t> half_a, half_b;  // the two halves of --real
  std::vector<size_t> matched;         // synthetic subsample of |B| scans
};

std::string resolve_model(const AuditConfig& cfg, const ScanSet& synthetic) {
  if (!cfg.model.empty()) return cfg.model;
  json made = synthetic.info.contains("config") ? synthetic.info["config"] : json();
  // a set resampled by `dataset resample` carries its source's config
  while (made.is_object() && made.value("command", "") == "dataset resample" && made.contains("source"))
    made = json(made["source"]);
  if (made.is_object() && made.value("command", "") == "generate" && made.contains("config") &&
      made["config"].contains("model_dir")) {
    const std::string dir = made["config"]["model_dir"].get<std::string>();
    const std::string sha = made["config"].value("model_sha256", "");
    if (!fs::is_directory(dir))
      throw InputError("--synthetic", fmt::format("names its generator {} (dataset.json), which is not there", dir),
                       "give the generator with --model, or --skip membership");
    const gen::ModelFolder m = gen::check_model_folder(dir);
    if (!sha.empty() && m.ema_sha256 != sha)
      throw InputError("--synthetic",
                       fmt::format("was made by the model with ema.pt SHA-256 {}, but {} now holds {}",
                                   sha.substr(0, 16), dir, m.ema_sha256.substr(0, 16)),
                       "give the generator that made it with --model, or --skip membership");
    return dir;
  }
  throw InputError("--synthetic", "does not name the generator that made it (not written by scintigen generate)",
                   "give the generator with --model, or --skip membership");
}

// Fails before any work: grids, sizes, labels, encoder, model.
void check_inputs(const AuditConfig& cfg, Inputs& in) {
  check_same_grid({&in.real, &in.synthetic, in.has_train ? &in.train : nullptr});
  for (const ScanSet* s : {&in.real, &in.synthetic}) {
    if (s->scans.size() < kMinScans)
      throw InputError(s->where, fmt::format("holds {} scans; the audit needs at least {}", s->scans.size(), kMinScans),
                       "the baseline cuts --real into two halves and the neighbour metrics need 6 scans per side");
  }
  if (in.has_train && in.train.scans.size() < 2)
    throw InputError("--train", "holds fewer than 2 scans", "give the generator's training scans");
  const bool feature_sections = cfg.runs("fidelity") || cfg.runs("c2st") || cfg.runs("label_fidelity") ||
                                (in.has_train && (cfg.runs("memorisation") || cfg.runs("membership")));
  if (feature_sections && cfg.encoder.empty())
    throw InputError("--encoder", "is required for the feature-space sections",
                     "train one on other real scans: scintigen audit encoder --data DS --out ENC "
                     "(or --skip fidelity,c2st,label_fidelity,memorisation,membership)");
  if (cfg.runs("label_fidelity")) {
    bool any = false;
    for (const Target& t : label_targets()) {
      const Labelled s = labelled(in.synthetic, t);
      if (s.positives >= 2 && s.negatives >= 2) any = true;
    }
    if (!any)
      throw InputError(
          "--synthetic",
          "carries no metastasis or cardiac_grade labels with both classes, which label "
          "fidelity needs",
          "audit a labelled synthetic set (scintigen generate labels every scan), or --skip label_fidelity");
  }
  if (in.has_train && cfg.runs("membership")) {
    in.model = resolve_model(cfg, in.synthetic);
    const gen::ModelFolder m = gen::check_model_folder(in.model);
    in.model_sha256 = m.ema_sha256;
    // The attack scores the model on --train at the model's own grid; scans resampled to it from
    // another grid are not what the model trained on, and would make any model look private.
    if (m.config.height != in.train.height() || m.config.width != in.train.width())
      throw InputError(cfg.model.empty() ? "--synthetic" : "--model",
                       fmt::format("its generator {} makes {} x {} scans but --train is {} x {}: membership scores "
                                   "the model on its training scans at its own grid",
                                   in.model, m.config.width, m.config.height, in.train.width(), in.train.height()),
                       "--skip membership (memorisation still runs), or audit sets on the model's grid");
  }
}

// The halves of --real (grouped by subject, stratified by metastasis and grade) and the
// synthetic subsample matched to half B's size.
void make_halves(const AuditConfig& cfg, Inputs& in) {
  std::vector<SplitItem> items;
  for (size_t i = 0; i < in.real.scans.size(); ++i) {
    const Labels& l = in.real.scans[i].labels;
    items.push_back({in.real.subject(i), label_value(l, "metastasis") + "|" + label_value(l, "cardiac_grade")});
  }
  SplitSpec spec;
  spec.fractions = {0.5, 0.5};
  spec.seed = cfg.seed;
  spec.stream = RandomStream::kAuditHalves;
  const std::vector<size_t> part = grouped_stratified_split(items, spec);
  for (size_t i = 0; i < part.size(); ++i) (part[i] == 0 ? in.half_a : in.half_b).push_back(i);
  if (in.half_a.size() < 6 || in.half_b.size() < 6)
    throw InputError("--real",
                     fmt::format("cut by subject into halves of {} and {} scans; each needs at least 6",
                                 in.half_a.size(), in.half_b.size()),
                     "give more real scans (or more subjects)");
  in.matched = seeded_subsample(in.synthetic.scans.size(), in.half_b.size(), cfg.seed, 0);
}

FidelityConfig fidelity_config(const AuditConfig& cfg) {
  FidelityConfig f;
  f.kd_subsets = cfg.kd_subsets;
  f.kd_subset_size = static_cast<size_t>(cfg.kd_subset_size);
  f.bootstrap = cfg.bootstrap;
  f.conf_level = cfg.conf_level;
  f.seed = cfg.seed;
  return f;
}

json encoder_json(const Inputs& in) {
  return {{"dir", in.encoder->dir()}, {"sha256", in.encoder->sha256()}};
}

// ---- Fidelity ----------------------------------------------------------------------------------------

json fidelity_section(const AuditConfig& cfg, const Inputs& in, EventSink* events) {
  const FidelityConfig fc = fidelity_config(cfg);
  note(events, "audit: fidelity and diversity (overall)");
  const FidelityResult all = fidelity_metrics(in.real_f, in.syn_f, fc, "--real", "--synthetic");
  const FidelityResult base =
      fidelity_metrics(in.real_f.rows(in.half_a), in.real_f.rows(in.half_b), fc, "--real half A", "--real half B");
  const FidelityResult matched = fidelity_metrics(in.real_f.rows(in.half_a), in.syn_f.rows(in.matched), fc,
                                                  "--real half A", "--synthetic subsample");
  json j;
  j["encoder"] = encoder_json(in);
  j["overall"] = to_json(all);
  j["baseline"] = to_json(base);
  j["matched"] = to_json(matched);
  j["sizes"] = {{"real", in.real_f.n},
                {"synthetic", in.syn_f.n},
                {"half_a", in.half_a.size()},
                {"half_b", in.half_b.size()},
                {"matched", in.matched.size()}};

  // Per condition: the same metrics on the scans of each label value, beside the halves' baseline.
  json per = json::array();
  const std::vector<size_t> all_real = iota_n(in.real.scans.size()), all_syn = iota_n(in.synthetic.scans.size());
  const FidelityConfig& pc = fc;
  for (const Condition& c : conditions()) {
    const auto r = where_holds(in.real, all_real, c.holds), s = where_holds(in.synthetic, all_syn, c.holds);
    const auto a = where_holds(in.real, in.half_a, c.holds), b = where_holds(in.real, in.half_b, c.holds);
    json row = {
        {"condition", c.name}, {"real", r.size()}, {"synthetic", s.size()}, {"half_a", a.size()}, {"half_b", b.size()}};
    const size_t need = static_cast<size_t>(cfg.min_per_condition);
    if (r.size() < need || s.size() < need) {
      row["error"] = fmt::format("fewer than {} scans on a side", need);
    } else {
      note(events, fmt::format("audit: fidelity for {}", c.name));
      row["metrics"] = to_json(
          fidelity_metrics(in.real_f.rows(r), in.syn_f.rows(s), pc, "--real " + c.name, "--synthetic " + c.name));
      if (a.size() >= 6 && b.size() >= 6)
        row["baseline"] =
            to_json(fidelity_metrics(in.real_f.rows(a), in.real_f.rows(b), pc, "half A " + c.name, "half B " + c.name));
      else
        row["baseline"] = {{"error", "fewer than 6 scans in a half"}};
    }
    per.push_back(row);
  }
  j["per_condition"] = per;

  const bool fd_ok = matched.frechet.estimate <= base.frechet.upper;
  const bool pr_ok = matched.precision.estimate >= base.precision.lower && matched.recall.estimate >= base.recall.lower;
  j["verdict"] = verdict(
      fd_ok && pr_ok,
      "matched FD <= the baseline FD's CI upper bound, and matched precision and recall >= the baseline's CI lower "
      "bounds (baseline: two halves of --real; matched: half A vs as many synthetic scans as half B)",
      fmt::format("FD {:.3g} (matched {:.3g}) vs real-vs-real {:.3g} [{:.3g}, {:.3g}]; precision {:.2f} vs {:.2f}, "
                  "recall {:.2f} vs {:.2f}",
                  all.frechet.estimate, matched.frechet.estimate, base.frechet.estimate, base.frechet.lower,
                  base.frechet.upper, matched.precision.estimate, base.precision.estimate, matched.recall.estimate,
                  base.recall.estimate));
  return j;
}

// ---- Image statistics ----------------------------------------------------------------------------------

json image_stats_section(const AuditConfig& cfg, const Inputs& in) {
  json j;
  j["comparison"] = to_json(compare_image_stats(in.real_s, in.syn_s, cfg.bootstrap, cfg.conf_level, cfg.seed));
  j["baseline"] = to_json(compare_image_stats(subset_stats(in.real_s, in.half_a), subset_stats(in.real_s, in.half_b),
                                              cfg.bootstrap, cfg.conf_level, cfg.seed));
  // Which statistics differ more than real differs from itself.
  std::vector<std::string> differ;
  for (const auto& [name, d] : j["comparison"]["distances"].items()) {
    const json& b = j["baseline"]["distances"][name]["wasserstein_sd"];
    const json& c = d["wasserstein_sd"];
    if (c["ci"].is_object() && b["ci"].is_object() && !c["ci"]["lower"].is_null() && !b["ci"]["upper"].is_null() &&
        c["ci"]["lower"].get<double>() > b["ci"]["upper"].get<double>())
      differ.push_back(name);
  }
  j["differ"] = differ;
  j["verdict"] = verdict(differ.empty(),
                         "for every statistic, the CI of W1/sd(real) (real vs synthetic) reaches the real-vs-real "
                         "baseline's CI",
                         differ.empty() ? "no statistic differs more than real differs from itself"
                                        : "differ beyond the baseline: " + fmt::format("{}", fmt::join(differ, ", ")));
  return j;
}

// ---- Classifier two-sample test -------------------------------------------------------------------------

json roc_points(const std::vector<int>& y, const std::vector<double>& p) {
  const stats::RocCurve roc = stats::roc_curve(y, p);
  json pts = json::array();
  const size_t n = roc.points.size(), step = std::max<size_t>(1, n / 200);
  for (size_t i = 0; i < n; i += step) pts.push_back({{"fpr", roc.points[i].fpr}, {"tpr", roc.points[i].tpr}});
  pts.push_back({{"fpr", roc.points.back().fpr}, {"tpr", roc.points.back().tpr}});
  return pts;
}

json c2st_section(const AuditConfig& cfg, const Inputs& in, EventSink* events) {
  note(events, "audit: classifier two-sample test");
  const Features x = stack_rows(in.real_f, in.syn_f);
  std::vector<int> y(x.n, 0);
  std::vector<std::string> groups = in.real.subjects();
  for (size_t i = 0; i < in.synthetic.scans.size(); ++i) {
    y[in.real.scans.size() + i] = 1;
    groups.push_back("synthetic:" + in.synthetic.scans[i].id);
  }
  const std::vector<int> folds = grouped_folds(groups, y, cfg.folds, cfg.seed);
  const std::vector<double> p = cross_validated_scores(x, y, folds, cfg.c);
  const stats::AucResult auc = stats::delong_auc(y, p, cfg.conf_level, "c2st");
  json j;
  j["auc"] = auc.auc;
  j["ci_lower"] = auc.ci_lower;
  j["ci_upper"] = auc.ci_upper;
  j["result"] = stats::to_json(auc);
  j["features"] =
      fmt::format("encoder ({} values) + image statistics ({}), standardised; ridge logistic regression C = {}",
                  in.real_f.d, scan_stat_names().size(), cfg.c);
  j["encoder"] = encoder_json(in);
  j["folds"] = cfg.folds;
  j["roc"] = roc_points(y, p);
  const bool pass = auc.auc <= kC2stPassAuc || (auc.ci_lower <= 0.5 && auc.ci_upper >= 0.5);
  j["verdict"] = verdict(pass, "AUC <= 0.55 or its CI covers 0.5 (a good generator is near 0.5)",
                         fmt::format("a classifier tells real from synthetic with AUC {:.3f} [{:.3f}, {:.3f}]", auc.auc,
                                     auc.ci_lower, auc.ci_upper));
  return j;
}

// ---- Label fidelity --------------------------------------------------------------------------------------

json label_fidelity_section(const AuditConfig& cfg, const Inputs& in, EventSink* events) {
  note(events, "audit: label fidelity");
  json j = json::object();
  j["encoder"] = encoder_json(in);
  json labels = json::object();
  bool all_pass = true;
  std::vector<std::string> failed;
  for (const Target& t : label_targets()) {
    const Labelled r = labelled(in.real, t), s = labelled(in.synthetic, t);
    json row = {{"real", {{"positives", r.positives}, {"negatives", r.negatives}}},
                {"synthetic", {{"positives", s.positives}, {"negatives", s.negatives}}}};
    const size_t need_real = static_cast<size_t>(cfg.folds);
    if (r.positives < need_real || r.negatives < need_real || s.positives < 2 || s.negatives < 2) {
      row["error"] =
          fmt::format("too few labelled scans (need {} per class among real scans, 2 among synthetic)", need_real);
      labels[t.name] = row;
      continue;
    }
    try {
      const Features rx = in.real_f.rows(r.rows), sx = in.syn_f.rows(s.rows);
      std::vector<std::string> groups;
      for (size_t i : r.rows) groups.push_back(in.real.subject(i));
      // Real: cross-validated (folds by subject), so every real score comes from a probe that did not see it.
      const std::vector<int> folds = grouped_folds(groups, r.y, cfg.folds, cfg.seed);
      const std::vector<double> real_scores = cross_validated_scores(rx, r.y, folds, cfg.c);
      const stats::AucResult real_auc = stats::delong_auc(r.y, real_scores, cfg.conf_level, t.name + " (real)");
      // Synthetic: the probe fitted on all real scans scores them.
      const LogisticModel on_real = fit_logistic(rx, r.y, cfg.c);
      const stats::AucResult syn_auc =
          stats::delong_auc(s.y, predict_proba(on_real, sx), cfg.conf_level, t.name + " (synthetic)");
      // Train on synthetic, test on real.
      const LogisticModel on_syn = fit_logistic(sx, s.y, cfg.c);
      const stats::AucResult tstr =
          stats::delong_auc(r.y, predict_proba(on_syn, rx), cfg.conf_level, t.name + " (train synthetic, test real)");
      const stats::DelongTest diff =
          stats::delong_test_unpaired(r.y, real_scores, s.y, predict_proba(on_real, sx), "real", "synthetic");
      row["auc"] = syn_auc.auc;
      row["synthetic_auc"] = stats::to_json(syn_auc);
      row["real_auc"] = stats::to_json(real_auc);
      row["tstr_auc"] = stats::to_json(tstr);
      row["difference"] = stats::to_json(diff);
      const bool pass = syn_auc.auc >= real_auc.auc || diff.p_value >= kLabelPassP;
      row["pass"] = pass;
      if (!pass) failed.push_back(t.name);
      all_pass = all_pass && pass;
    } catch (const Error& e) {
      row["error"] = e.reason();
    }
    labels[t.name] = row;
  }
  j["labels"] = labels;
  j["verdict"] = verdict(
      all_pass,
      "per label: the synthetic AUC (a probe trained on real features scores the synthetic scans) is "
      "not below the real cross-validated AUC at p < 0.05 (unpaired DeLong)",
      failed.empty() ? "every requested label is carried as on real scans"
                     : "labels carried more weakly than on real scans: " + fmt::format("{}", fmt::join(failed, ", ")));
  return j;
}

// ---- Memorisation -------------------------------------------------------------------------------------------

// The copy threshold of a space: the smaller of (1) a 95% lower tolerance bound of the
// kCopyQuantile quantile of the held-out nearest distances, from a normal fit to their logarithms
// (it extrapolates to the 0.05% tail, which the empirical quantile cannot reach below 2,000
// held-out scans, and allows for the fit's own sampling error) and (2) the smallest
// held-out distance (a new patient was that close, so nothing closer than every held-out patient
// is flagged unless it also passes the fit; the bound 1 / (n + 1) per space holds by
// exchangeability even where the fit is wrong).
struct Threshold {
  double fit = 0.0, min_heldout = 0.0, value = 0.0;
};
Threshold copy_threshold(const std::vector<Neighbour>& held) {
  Threshold t;
  std::vector<double> logs;
  double mn = INFINITY;
  for (const auto& n : held) {
    if (n.d1 > 0) logs.push_back(std::log(n.d1));
    mn = std::min(mn, n.d1);
  }
  if (logs.size() < 2) return t;
  double m = 0, s = 0;
  for (double v : logs) m += v;
  m /= static_cast<double>(logs.size());
  for (double v : logs) s += (v - m) * (v - m);
  s = std::sqrt(s / static_cast<double>(logs.size() - 1));
  // A one-sided normal tolerance bound (Natrella's approximation of the k factor): with 95%
  // confidence at most kCopyQuantile of new patients fall below it, whatever the number of
  // held-out scans the fit had (k = 3.76 for 100 scans, 3.47 for 600; 3.29 as n grows).
  // Ref: M. G. Natrella, Experimental Statistics, NBS Handbook 91, 1963, section 2-5;
  //      G. J. Hahn, W. Q. Meeker, Statistical Intervals, 1991, section 4.
  const double n = static_cast<double>(logs.size());
  const double zp = stats::normal_quantile(1.0 - kCopyQuantile), zg = stats::normal_quantile(0.95);
  const double a = 1.0 - zg * zg / (2.0 * (n - 1.0)), b = zp * zp - zg * zg / n;
  const double k = a > 0 ? (zp + std::sqrt(std::max(0.0, zp * zp - a * b))) / a : INFINITY;
  t.fit = std::exp(m - k * s);
  t.min_heldout = mn;
  t.value = std::min(t.fit, t.min_heldout);
  return t;
}

struct Space {
  std::string name;
  std::vector<Neighbour> syn, held;  // nearest training scans of synthetic and held-out real scans
  Threshold threshold;
};

json space_json(const Space& sp, size_t flagged_syn, size_t held_below_fit) {
  std::vector<double> sd, hd, sr;
  for (const auto& n : sp.syn) sd.push_back(n.d1), sr.push_back(n.ratio);
  for (const auto& n : sp.held) hd.push_back(n.d1);
  return {{"threshold", sp.threshold.value},
          {"threshold_fit", sp.threshold.fit},
          {"threshold_min_heldout", sp.threshold.min_heldout},
          {"synthetic", {{"d1", summary_json(sd)}, {"ratio", summary_json(sr)}, {"flagged", flagged_syn}}},
          {"heldout", {{"d1", summary_json(hd)}, {"flagged", 0}, {"below_fit", held_below_fit}}},
          {"distances", {{"synthetic", sd}, {"heldout", hd}}}};
}

json memorisation_section(const AuditConfig& cfg, const Inputs& in, EventSink* events) {
  note(events, "audit: memorisation (nearest training scans)");
  std::vector<Space> spaces(2);
  spaces[0].name = "encoder";
  spaces[0].syn = nearest_two(in.syn_f, in.train_f);
  spaces[0].held = nearest_two(in.real_f, in.train_f);
  spaces[1].name = "pixel";
  {
    const PixelSet train_p = pixel_vectors(in.train.scans, "--train");
    spaces[1].syn = nearest_two_shifted(pixel_vectors(in.synthetic.scans, "--synthetic"), train_p);
    spaces[1].held = nearest_two_shifted(pixel_vectors(in.real.scans, "--real"), train_p);
  }
  std::vector<uint8_t> syn_flag(in.synthetic.scans.size(), 0), held_flag(in.real.scans.size(), 0);
  json js = json::object();
  for (auto& sp : spaces) {
    sp.threshold = copy_threshold(sp.held);
    size_t fs = 0, fh = 0;
    for (size_t i = 0; i < sp.syn.size(); ++i)
      if (sp.syn[i].d1 < sp.threshold.value) syn_flag[i] = 1, ++fs;
    // The fit's check: held-out scans below the fitted threshold (about none when the fit holds).
    for (size_t i = 0; i < sp.held.size(); ++i)
      if (sp.held[i].d1 < sp.threshold.fit) held_flag[i] = 1, ++fh;
    js[sp.name] = space_json(sp, fs, fh);
  }
  size_t flagged = 0, held_flagged = 0;
  for (auto f : syn_flag) flagged += f;
  for (auto f : held_flag) held_flagged += f;
  json j;
  j["flagged"] = flagged;
  j["fraction"] = static_cast<double>(flagged) / static_cast<double>(syn_flag.size());
  j["fraction_ci"] = stats::to_json(stats::wilson_interval(flagged, syn_flag.size(), cfg.conf_level));
  j["heldout_below_fit"] = held_flagged;
  j["heldout_below_fit_fraction"] =
      stats::to_json(stats::wilson_interval(held_flagged, held_flag.size(), cfg.conf_level));
  j["rule"] = fmt::format(
      "flagged when, in encoder space or in pixel space (sqrt of counts scaled to 1e6 per scan, RMS per pixel, min "
      "over +-1 pixel shifts), it is closer to its nearest training scan than every held-out real scan is and than a "
      "95% lower tolerance bound of the {:g}% quantile of the held-out nearest distances (normal fit to their "
      "logarithms): a new patient is flagged with probability <= 0.1% where the fit holds, and <= 2 / (n + 1) for n "
      "held-out scans in any case",
      100 * kCopyQuantile);
  j["spaces"] = js;
  j["encoder"] = encoder_json(in);

  // The closest pairs: smallest distance relative to its space's threshold.
  struct Pair {
    double score;
    size_t syn;
    size_t space;
  };
  std::vector<Pair> pairs;
  for (size_t i = 0; i < in.synthetic.scans.size(); ++i) {
    size_t best = 0;
    double score = INFINITY;
    for (size_t s = 0; s < spaces.size(); ++s) {
      const double v = spaces[s].threshold.value > 0 ? spaces[s].syn[i].d1 / spaces[s].threshold.value : INFINITY;
      if (v < score) score = v, best = s;
    }
    pairs.push_back({score, i, best});
  }
  std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.score < b.score; });
  json closest = json::array();
  for (size_t k = 0; k < pairs.size() && k < static_cast<size_t>(cfg.closest_pairs); ++k) {
    const Pair& p = pairs[k];
    const Neighbour& n = spaces[p.space].syn[p.syn];
    closest.push_back({{"synthetic_id", in.synthetic.scans[p.syn].id},
                       {"train_id", in.train.scans[n.index].id},
                       {"space", spaces[p.space].name},
                       {"d1", n.d1},
                       {"d2", n.d2},
                       {"ratio", n.ratio},
                       {"threshold", spaces[p.space].threshold.value},
                       {"relative", p.score},
                       {"flagged", syn_flag[p.syn] == 1}});
  }
  j["closest_pairs"] = closest;
  // The verdict allows what new patients produce: the rule flags a new patient with probability
  // <= kNewPatientFlagRate, so `flagged` is compared with Binomial(n, that rate); P(X >= flagged).
  const double p_excess = binomial_upper_tail(syn_flag.size(), flagged, kNewPatientFlagRate);
  j["excess_p_value"] = p_excess;
  j["verdict"] = verdict(
      p_excess >= 0.05,
      fmt::format(
          "no more scans flagged than new patients would be: P(X >= flagged) >= 0.05 for X ~ Binomial(n, {:g}), "
          "the rule's rate for a new patient",
          kNewPatientFlagRate),
      fmt::format("{} of {} synthetic scans flagged as copies of training scans (p = {:.3g} against the rate for new "
                  "patients; {} of {} held-out real scans fall below the fitted thresholds: the fit's check)",
                  flagged, syn_flag.size(), p_excess, held_flagged, held_flag.size()));
  return j;
}

// ---- Membership inference ---------------------------------------------------------------------------------

json auc_block(const std::vector<int>& y, const std::vector<double>& score, double level, const std::string& where) {
  const stats::AucResult a = stats::delong_auc(y, score, level, where);
  json j = stats::to_json(a);
  j["roc"] = roc_points(y, score);
  return j;
}

bool auc_passes(const json& a) {
  const double auc = a["estimate"].get<double>();
  return auc <= kMembershipPassAuc ||
         (a["ci"].is_object() && a["ci"]["lower"].get<double>() <= 0.5 && a["ci"]["upper"].get<double>() >= 0.5);
}

json membership_section(const AuditConfig& cfg, const Inputs& in, EventSink* events) {
  json j;
  // The distance attack: only the synthetic set is seen; a scan close to a synthetic one is
  // guessed to be a member.
  {
    const auto member = nearest_two(in.train_f, in.syn_f), non = nearest_two(in.real_f, in.syn_f);
    std::vector<int> y;
    std::vector<double> score;
    for (const auto& n : member) y.push_back(1), score.push_back(-n.d1);
    for (const auto& n : non) y.push_back(0), score.push_back(-n.d1);
    j["distance_attack"] = auc_block(y, score, cfg.conf_level, "distance attack");
    j["distance_attack"]["score"] = "minus the encoder-space distance to the nearest synthetic scan";
  }
  // The generator attack: the model's denoising loss.
  {
    const size_t n =
        std::min<size_t>({static_cast<size_t>(cfg.membership_n), in.train.scans.size(), in.real.scans.size()});
    const auto ti = seeded_subsample(in.train.scans.size(), n, cfg.seed, 1);
    const auto ri = seeded_subsample(in.real.scans.size(), n, cfg.seed, 2);
    std::vector<Scan> scans;
    for (size_t i : ti) scans.push_back(in.train.scans[i]);
    for (size_t i : ri) scans.push_back(in.real.scans[i]);
    gen::DenoisingLossConfig mc;
    mc.model = in.model;
    mc.times = cfg.membership_times;
    mc.draws = cfg.membership_draws;
    mc.seed = cfg.seed;
    mc.batch = std::min(cfg.batch, 16);
    mc.threads = cfg.threads;
    mc.device = cfg.device;
    note(events, fmt::format("audit: membership inference with the generator ({} + {} scans)", n, n));
    const gen::DenoisingLosses l = gen::denoising_losses(mc, scans, events);
    std::vector<int> y(scans.size(), 0);
    std::vector<double> score(scans.size());
    for (size_t i = 0; i < scans.size(); ++i) y[i] = i < n ? 1 : 0, score[i] = -l.loss[i];
    j["generator_attack"] = auc_block(y, score, cfg.conf_level, "generator attack");
    j["generator_attack"]["losses"] = l.to_json();
    j["generator_attack"]["config"] = mc.to_json();
    j["generator_attack"]["model"] = {{"dir", in.model}, {"sha256", in.model_sha256}};
    j["generator_attack"]["score"] = "minus the mean denoising loss over the times and draws";
  }
  j["auc"] = j["generator_attack"]["estimate"];
  j["encoder"] = encoder_json(in);
  const bool pass = auc_passes(j["generator_attack"]) && auc_passes(j["distance_attack"]);
  j["verdict"] = verdict(
      pass, "each attack's AUC <= 0.55 or its CI covers 0.5 (0.5 = no leak)",
      fmt::format("generator attack AUC {:.3f}, distance attack AUC {:.3f}",
                  j["generator_attack"]["estimate"].get<double>(), j["distance_attack"]["estimate"].get<double>()));
  return j;
}

}  // namespace

json run_audit(const AuditConfig& cfg, EventSink* events) {
  cfg.validate();
  run::check_new_out_folder(cfg.out);
  Inputs in;
  in.real = load_scan_set(cfg.real, "--real");
  in.synthetic = load_scan_set(cfg.synthetic, "--synthetic");
  if (!cfg.train.empty()) {
    in.train = load_scan_set(cfg.train, "--train");
    in.has_train = true;
  }
  check_inputs(cfg, in);
  make_halves(cfg, in);
  // Image statistics once per scan: the image_stats section and the encoder's features use them.
  auto stats_of = [](const ScanSet& set, std::vector<ScanStats>& out) {
    try {
      for (const auto& s : set.scans) out.push_back(scan_stats(s));
    } catch (const Error& e) {
      throw in_context<InputError>(e, set.where);
    }
  };
  stats_of(in.real, in.real_s);
  stats_of(in.synthetic, in.syn_s);
  if (!cfg.encoder.empty()) {
    in.encoder = load_encoder(cfg.encoder, cfg.device, cfg.threads);
    in.real_f = encode_scans(*in.encoder, in.real.scans, in.real_s, cfg.batch, events, "encode --real");
    in.syn_f = encode_scans(*in.encoder, in.synthetic.scans, in.syn_s, cfg.batch, events, "encode --synthetic");
    if (in.has_train) {
      std::vector<ScanStats> train_s;
      stats_of(in.train, train_s);
      in.train_f = encode_scans(*in.encoder, in.train.scans, train_s, cfg.batch, events, "encode --train");
    }
  }

  json a;
  a["format"] = kAuditFormat;
  a["format_version"] = kAuditFormatVersion;
  a["config"] = cfg.to_json();
  a["inputs"] = {{"real", in.real.describe()},
                 {"synthetic", in.synthetic.describe()},
                 {"train", in.has_train ? in.train.describe() : json()},
                 {"encoder", in.encoder ? encoder_json(in) : json()},
                 {"model", in.model.empty() ? json() : json{{"dir", in.model}, {"sha256", in.model_sha256}}}};
  a["sections"] = json::object();
  auto skipped = [&](const std::string& s, const std::string& why) { a["sections"][s] = {{"skipped", why}}; };

  if (cfg.runs("fidelity"))
    a["sections"]["fidelity"] = fidelity_section(cfg, in, events);
  else
    skipped("fidelity", "--skip");
  if (cfg.runs("image_stats"))
    a["sections"]["image_stats"] = image_stats_section(cfg, in);
  else
    skipped("image_stats", "--skip");
  if (cfg.runs("c2st"))
    a["sections"]["c2st"] = c2st_section(cfg, in, events);
  else
    skipped("c2st", "--skip");
  if (cfg.runs("label_fidelity"))
    a["sections"]["label_fidelity"] = label_fidelity_section(cfg, in, events);
  else
    skipped("label_fidelity", "--skip");
  if (!in.has_train) {
    skipped("memorisation", "no --train");
    skipped("membership", "no --train");
  } else {
    if (cfg.runs("memorisation"))
      a["sections"]["memorisation"] = memorisation_section(cfg, in, events);
    else
      skipped("memorisation", "--skip");
    if (cfg.runs("membership"))
      a["sections"]["membership"] = membership_section(cfg, in, events);
    else
      skipped("membership", "--skip");
  }

  // The headline keys (the flat contract; details stay in the sections).
  const json& s = a["sections"];
  if (s["c2st"].contains("auc"))
    a["c2st"] = {{"auc", s["c2st"]["auc"]}, {"ci_lower", s["c2st"]["ci_lower"]}, {"ci_upper", s["c2st"]["ci_upper"]}};
  if (s["fidelity"].contains("overall")) {
    const json& o = s["fidelity"]["overall"];
    a["fd"] = o["frechet"]["estimate"];
    a["fd_matched"] = s["fidelity"]["matched"]["frechet"]["estimate"];
    a["fd_baseline"] = s["fidelity"]["baseline"]["frechet"]["estimate"];
    a["kd"] = o["kernel"]["estimate"];
    for (const char* k : {"precision", "recall", "density", "coverage"}) a[k] = o[k]["estimate"];
  }
  if (s["memorisation"].contains("flagged"))
    a["memorisation"] = {{"flagged", s["memorisation"]["flagged"]}, {"fraction", s["memorisation"]["fraction"]}};
  if (s["membership"].contains("auc")) a["membership"] = {{"auc", s["membership"]["auc"]}};
  if (s["label_fidelity"].contains("labels")) {
    a["label_fidelity"] = json::object();
    for (const auto& [name, row] : s["label_fidelity"]["labels"].items())
      if (row.contains("auc")) a["label_fidelity"][name] = {{"auc", row["auc"]}};
  }
  a["verdicts"] = json::object();
  for (const auto& [name, sec] : s.items())
    if (sec.contains("verdict")) a["verdicts"][name] = sec["verdict"];
  a["created"] = utc_now_iso8601();
  a["versions"] = core_versions();

  run::create_out_folder(cfg.out);
  write_file_atomic((fs::path(cfg.out) / "audit.json").string(), a.dump(2) + "\n");
  return a;
}

}  // namespace scintigen::audit
