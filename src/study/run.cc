#include "study/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <new>
#include <set>

#include "audit/audit.h"
#include "audit/encoder.h"
#include "clf/eval.h"
#include "clf/train.h"
#include "core/error.h"
#include "core/fs_util.h"
#include "core/labels.h"
#include "core/sha256.h"
#include "core/version.h"
#include "data/dataset.h"
#include "gen/config.h"
#include "gen/generate.h"
#include "gen/model_io.h"
#include "gen/train_loop.h"
#include "phantom/phantom.h"
#include "pipeline/dataset_ops.h"
#include "pipeline/simulate.h"
#include "run/run.h"
#include "study/analysis.h"
#include "study/subgroup.h"

namespace scintigen::study {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kStageFormatVersion = 1;  // bump when a stage's output changes for the same settings

struct Stage {
  StageInfo info;
  json settings;
  std::function<void(const std::string& dir, EventSink* sink)> body;
};

bool stage_complete(const Stage& s) {
  const std::string path = s.info.dir + "/stage.json";
  if (!fs::exists(path)) return false;
  try {
    return json::parse(read_file(path)).value("hash", "") == s.info.hash;
  } catch (const std::exception&) {
    return false;  // a damaged marker: the stage reruns
  }
}

// A dataset the study did not make: its identity is the content of its manifest (ids, pixel
// hashes and labels), so a changed dataset changes every hash that depends on it.
json dataset_identity(const std::string& dir) {
  const Dataset ds = Dataset::open(dir);
  std::string acc;
  for (const ScanRecord& r : ds.records()) {
    acc += r.id + '\t' + r.pixel_sha256;
    for (const auto& f : label_fields()) acc += '\t' + label_value(r.labels, f.name);
    acc += '\n';
  }
  return {{"dataset", fs::absolute(dir).lexically_normal().string()},
          {"scans", ds.size()},
          {"manifest_sha256", sha256_hex(acc)}};
}

// Copies the scans `ids` of `src` (in that order) into a new dataset `dst`, all or nothing.
void copy_scans(const std::string& src, const std::vector<std::string>& ids, const std::string& dst, const json& how) {
  const Dataset in = Dataset::open(src);
  const std::string tmp = dst + ".partial";
  fs::remove_all(tmp);
  {
    Dataset out = Dataset::create(tmp, {{"command", "study subset"}, {"source", src}, {"how", how}});
    for (const auto& id : ids) out.add(in.load(id));
    out.commit();
  }
  fs::rename(tmp, dst);
}

// The first k scans of a generated or simulated set, in generation order (the provenance index
// of generated scans; the manifest's order, which is index order, for simulated ones).
std::vector<std::string> first_scans(const std::string& dir, size_t k) {
  const Dataset ds = Dataset::open(dir);
  std::vector<std::pair<int64_t, std::string>> order;
  int64_t row = 0;
  for (const ScanRecord& r : ds.records()) {
    int64_t key = row++;
    if (r.meta.contains("provenance") && r.meta["provenance"].contains("index"))
      key = r.meta["provenance"]["index"].get<int64_t>();
    order.emplace_back(key, r.id);
  }
  std::sort(order.begin(), order.end());
  if (order.size() < k) throw InternalError(dir, fmt::format("holds {} scans, {} needed", order.size(), k));
  std::vector<std::string> ids;
  for (size_t i = 0; i < k; ++i) ids.push_back(order[i].second);
  return ids;
}

json resolved_profile(const CohortSpec& c, const std::string& where) {
  json p = phantom::load_site_profile(c.site).to_json();
  if (!c.overrides.empty()) p.merge_patch(c.overrides);
  return phantom::site_profile_from_json(p, where).to_json();
}

// A rough cost model (seconds on the 2-core development machine, BENCHMARKS.md) that orders
// the ETA; the ETA itself is rescaled by the measured time of the stages run so far.
double preset_images_per_s(const std::string& preset, bool bf16) {
  if (preset == "tiny") return bf16 ? 20 : 12;  // at 64 x 256 (4x the tiny grid's pixels)
  if (preset == "cpu") return bf16 ? 4.6 : 3.1;
  if (preset == "full") return 0.03;
  return bf16 ? 17 : 12.8;  // builtin-sized
}

class Planner {
 public:
  Planner(const StudyConfig& c, const RunOptions& o) : c_(c), o_(o) {}

  std::vector<Stage> stages;

  // Adds a stage (or finds the same one added before) and returns its folder.
  const Stage& add(const std::string& kind, const std::string& label, json settings, double cost,
                   std::function<void(const std::string&, EventSink*)> body) {
    settings["stage_format"] = kStageFormatVersion;
    const std::string hash = sha256_hex(kind + "\n" + settings.dump()).substr(0, 16);
    for (const Stage& s : stages)
      if (s.info.hash == hash && s.info.kind == kind) return s;
    Stage s;
    s.info = {kind, label, hash, o_.out + "/stages/" + kind + "-" + hash, cost};
    s.settings = std::move(settings);
    s.body = std::move(body);
    stages.push_back(std::move(s));
    return stages.back();
  }

  // A simulated cohort's stage; returns {identity json, dataset dir}.
  std::pair<json, std::string> cohort(const CohortSpec& spec, const std::string& name, int64_t n,
                                      const std::string& where) {
    if (!spec.simulated()) return {dataset_identity(spec.dataset), spec.dataset};
    const json profile = resolved_profile(spec, where);
    if (!spec.prevalence.empty()) {  // refused at plan time, before anything is written
      try {
        phantom::parse_prevalence(spec.prevalence);
      } catch (const Error& e) {
        throw ConfigError(where + ".prevalence", e.reason(), e.hint());
      }
    }
    json settings = {{"profile", profile},
                     {"n", n},
                     {"seed", derived_seed(c_.seed, name)},
                     {"grid", {c_.width, c_.height}},
                     {"prevalence", spec.prevalence}};
    const int threads = o_.threads;
    const int w = c_.width, h = c_.height;
    const std::string where_copy = where;
    const Stage& s = add("cohort", name, settings, 0.02 * n,
                         [settings, threads, w, h, where_copy](const std::string& dir, EventSink* sink) {
                           phantom::SimConfig sc;
                           sc.n = settings["n"].get<uint64_t>();
                           sc.seed = settings["seed"].get<uint64_t>();
                           sc.size = {w, h};
                           sc.threads = threads;
                           if (!settings["prevalence"].get<std::string>().empty())
                             sc.prevalence = phantom::parse_prevalence(settings["prevalence"].get<std::string>());
                           const auto profile = phantom::site_profile_from_json(settings["profile"], where_copy);
                           fs::remove_all(dir + "/data");
                           for (const auto& e : fs::directory_iterator(dir))  // a killed run's temporary folder
                             if (e.path().filename().string().rfind("data.tmp", 0) == 0) fs::remove_all(e.path());
                           simulate_dataset(profile, sc, dir + "/data", sink);
                         });
    return {{{"stage", s.info.hash}}, s.info.dir + "/data"};
  }

  // The first k scans of a set made by stage `src` (its data folder), as a stage of their own
  // unless k is the whole set.
  std::pair<json, std::string> prefix(const json& src_id, const std::string& src_dir, int64_t total, int64_t k,
                                      const std::string& label) {
    if (k == total) return {src_id, src_dir};
    json settings = {{"source", src_id}, {"first", k}};
    const Stage& s =
        add("subset", label, settings, 0.004 * k, [src_dir, k, settings](const std::string& dir, EventSink*) {
          fs::remove_all(dir + "/data");
          copy_scans(src_dir, first_scans(src_dir, static_cast<size_t>(k)), dir + "/data", settings);
        });
    return {{{"stage", s.info.hash}}, s.info.dir + "/data"};
  }

  const StudyConfig& c_;
  const RunOptions& o_;
};

std::string study_where(const RunOptions& o) {
  return o.config_path.empty() ? std::string("study config") : o.config_path;
}

// Everything the plan decides, kept for the analysis.
struct Layout {
  std::vector<std::string> ext_names, ext_dirs;
  std::vector<std::string> small_test_dirs;  // per draw
  std::vector<std::string> repeats;          // names, draw-major
  // evaluation report path per [task][arm][repeat]
  std::map<std::string, std::vector<std::vector<std::string>>> eval_paths;
  std::map<std::string, std::string> audit_paths;            // synthetic set -> audit.json
  std::vector<std::pair<std::string, std::string>> cohorts;  // name -> dataset folder, for the report's tables
  std::string generator_note;
};

std::vector<Stage> make_plan(const StudyConfig& c, const RunOptions& o, Layout& layout) {
  Planner p(c, o);
  const std::string where = study_where(o);

  // Cohorts: the donor, the external sites, the small centre's draws.
  const auto [donor_id, donor_dir] = p.cohort(c.donor, "donor", c.donor.n, where + ": cohorts.donor");
  layout.cohorts.emplace_back("donor", donor_dir);
  std::vector<json> ext_ids;
  for (const auto& [name, spec] : c.external) {
    const auto [id, dir] = p.cohort(spec, "external " + name, spec.n, where + ": cohorts.external." + name);
    ext_ids.push_back(id);
    layout.ext_names.push_back(name);
    layout.ext_dirs.push_back(dir);
    layout.cohorts.emplace_back("external " + name, dir);
  }
  std::vector<std::array<std::pair<json, std::string>, 3>> small;  // per draw: train, val, test
  for (int d = 1; d <= c.small.draws; ++d) {
    std::array<std::pair<json, std::string>, 3> parts;
    const int64_t sizes[3] = {c.small.train, c.small.val, c.small.test};
    const char* names[3] = {"train", "val", "test"};
    if (c.small.cohort.simulated()) {
      for (int k = 0; k < 3; ++k)
        if (sizes[k] > 0)
          parts[k] = p.cohort(c.small.cohort, fmt::format("small draw {} {}", d, names[k]), sizes[k],
                              where + ": cohorts.small");
    } else {
      throw ConfigError(where, "cohorts.small: a dataset small centre is not supported yet",
                        "simulate the small centre (cohorts.small.site) for now");
    }
    layout.small_test_dirs.push_back(parts[2].second);
    for (int k = 0; k < 3; ++k)
      if (sizes[k] > 0) layout.cohorts.emplace_back(fmt::format("small draw {} {}", d, names[k]), parts[k].second);
    small.push_back(parts);
  }

  // The generator.
  json gen_id;
  std::string gen_dir;
  const auto& g = c.generator;
  gen::ConditionSpec conditions;  // what the generator will be conditioned on
  if (!g.trains()) {
    const gen::ModelFolder m = gen::check_model_folder(g.model);
    conditions = m.config.conditions;
    gen_id = {{"model", g.model}, {"ema_sha256", m.ema_sha256}};
    gen_dir = m.dir;
    layout.generator_note =
        "an existing model was used as it is: it did not learn from the donor's scans alone, so the synthetic "
        "arms may hold information the donor-real arm lacks";
  } else {
    json preset = g.preset;
    if (g.preset.find('/') != std::string::npos ||
        (g.preset.size() > 5 && g.preset.substr(g.preset.size() - 5) == ".json"))
      preset = json::parse(read_file(g.preset));
    json init = nullptr;
    if (g.init_from.empty()) {
      gen::TrainRunConfig t;
      t.preset = g.preset;
      conditions = gen::resolve_model_config(t, {}).conditions;
    } else {
      const gen::ModelFolder base = gen::check_model_folder(g.init_from);
      conditions = base.config.conditions;
      init = {{"model", g.init_from}, {"ema_sha256", base.ema_sha256}};
      layout.generator_note =
          "the generator was fine-tuned from " + g.init_from +
          ", which learned from other scans than the donor's: the synthetic arms may hold information the "
          "donor-real arm lacks";
    }
    json settings = {{"data", donor_id},   {"preset", preset},   {"init_from", init},
                     {"steps", g.steps},   {"batch", g.batch},   {"lr", g.lr},
                     {"warmup", g.warmup}, {"ema", g.ema},       {"cond_drop", g.cond_drop},
                     {"bf16", g.bf16},     {"target", g.target}, {"seed", derived_seed(c.seed, "generator")}};
    const double cost = static_cast<double>(g.steps) * g.batch / preset_images_per_s(g.preset, g.bf16);
    const std::string ddir = donor_dir;
    const GeneratorSpec gs = g;
    const int threads = o.threads;
    const std::string device = o.device;
    const Stage& s = p.add("generator", "generator", settings, cost,
                           [ddir, gs, settings, threads, device](const std::string& dir, EventSink* sink) {
                             gen::TrainRunConfig t;
                             t.data.datasets = {ddir};
                             t.data.threads = threads;
                             t.out = dir + "/model";
                             t.preset = gs.init_from.empty() ? gs.preset : "";
                             t.init_from = gs.init_from;
                             t.train.steps = gs.steps;
                             t.train.warmup_steps = gs.warmup;
                             t.train.lr = gs.lr;
                             t.train.ema_decay = gs.ema;
                             t.train.cond_drop_prob = gs.cond_drop;
                             t.train.bf16 = gs.bf16;
                             t.train.seed = settings["seed"].get<uint64_t>();
                             t.data.seed = t.train.seed;
                             t.batch = gs.batch;
                             t.target = gs.target;
                             t.sample_every = 0;
                             t.val_every = 0;
                             t.device = device;
                             t.threads = threads;
                             t.resume = fs::exists(t.out + "/run.json");
                             gen::run_training(t, {}, sink);
                           });
    gen_id = {{"stage", s.info.hash}};
    gen_dir = s.info.dir + "/model";
  }

  // Every synthetic set's condition (or mix) is one the generator can take: refused here, before
  // anything is written, rather than when its stage is reached hours into the run.
  for (const auto& s : c.synthetic) {
    const std::string at = fmt::format("{}: synthetic '{}'", where, s.name);
    gen::parse_condition(s.condition, conditions, at + ".condition");
    for (const auto& [cond, w] : s.mix.items()) gen::parse_condition(cond, conditions, at + ".mix");
  }

  // Synthetic sets and the control's simulated scans: as many as the largest multiple needs.
  std::map<std::string, int64_t> need;  // synthetic set name, or "simulate donor"
  for (const auto& a : c.arms) {
    const int64_t n = static_cast<int64_t>(std::ceil(a.multiple * c.small.train - 1e-9));
    if (!a.synthetic.empty()) need[a.synthetic] = std::max(need[a.synthetic], n);
    if (!a.simulate.empty()) need["simulate " + a.simulate] = std::max(need["simulate " + a.simulate], n);
  }
  if (c.audit.enabled)
    for (const auto& s : c.synthetic) need[s.name] = std::max(need[s.name], c.audit.synthetic);
  std::map<std::string, std::pair<json, std::string>> source;  // name -> full set
  for (const auto& s : c.synthetic) {
    if (!need.count(s.name)) continue;
    const int64_t n = need[s.name];
    json settings = {{"generator", gen_id},      {"n", n},
                     {"guidance", s.guidance},   {"steps", s.steps},
                     {"condition", s.condition}, {"mix", s.mix},
                     {"sampler", "dpmpp2m"},     {"seed", derived_seed(c.seed, "synthetic " + s.name)}};
    const double cost = n * s.steps * (s.guidance != 1.0 ? 2.0 : 1.0) / 25.0;
    const std::string model = gen_dir;
    const SyntheticSpec spec = s;
    const int threads = o.threads;
    const std::string device = o.device;
    const Stage& st = p.add("synthetic", "synthetic set " + s.name, settings, cost,
                            [model, spec, settings, threads, device](const std::string& dir, EventSink* sink) {
                              gen::GenerateConfig gc;
                              gc.model = model;
                              gc.n = settings["n"].get<int64_t>();
                              gc.condition = spec.condition;
                              if (!spec.mix.empty()) {
                                std::string text;
                                for (const auto& [cond, w] : spec.mix.items())
                                  text += fmt::format("{} {}\n", w.get<double>(), cond);
                                write_file_atomic(dir + "/mix.txt", text);
                                gc.mix = dir + "/mix.txt";
                              }
                              gc.sampler.guidance = spec.guidance;
                              gc.sampler.steps = spec.steps;
                              // the study's designs guide every step (they predate the interval)
                              gc.sampler.guidance_t_lo = 0.0;
                              gc.sampler.guidance_t_hi = 1.0;
                              gc.sampler.seed = settings["seed"].get<uint64_t>();
                              // fp32 on every CPU, so that a stage's hash fixes its scans
                              gc.precision = gen::Precision::kFp32;
                              gc.out = dir + "/data";
                              gc.threads = threads;
                              gc.device = device;
                              gc.resume = fs::exists(gc.out);
                              gen::generate_dataset(gc, sink);
                            });
    source[s.name] = {{{"stage", st.info.hash}}, st.info.dir + "/data"};
    layout.cohorts.emplace_back("synthetic " + s.name, st.info.dir + "/data");
  }
  if (need.count("simulate donor"))
    source["simulate donor"] = p.cohort(c.donor, "simulated extra scans of the donor's profile", need["simulate donor"],
                                        where + ": cohorts.donor");

  // The audit of each synthetic set against held-out donor scans.
  if (c.audit.enabled && !c.synthetic.empty()) {
    if (!c.donor.simulated())
      throw ConfigError(where, "audit: needs a simulated donor cohort (held-out donor scans are simulated)",
                        "set \"audit\": null, or simulate the donor");
    const auto [real_id, real_dir] = p.cohort(c.donor, "audit real", c.audit.real, where + ": cohorts.donor");
    const auto [enc_data_id, enc_data_dir] =
        p.cohort(c.donor, "audit encoder scans", c.audit.encoder_scans, where + ": cohorts.donor");
    json enc_settings = {
        {"data", enc_data_id}, {"epochs", c.audit.encoder_epochs}, {"seed", derived_seed(c.seed, "audit encoder")}};
    const std::string edd = enc_data_dir;
    const int epochs = c.audit.encoder_epochs;
    const int threads = o.threads;
    const std::string device = o.device;
    const Stage& enc =
        p.add("encoder", "audit encoder", enc_settings, 2.0 * epochs * c.audit.encoder_scans * 0.6 / 130.0 + 30,
              [edd, epochs, threads, device, enc_settings](const std::string& dir, EventSink* sink) {
                fs::remove_all(dir + "/data");
                fs::remove_all(dir + "/encoder");
                copy_scans(edd, first_scans(edd, Dataset::open(edd).size()), dir + "/data", {{"copy", "encoder data"}});
                SplitConfig sc;
                sc.fractions = {{"train", 0.6}, {"val", 0.2}, {"test", 0.2}};
                sc.seed = enc_settings["seed"].get<uint64_t>();
                split_dataset(dir + "/data", sc);
                audit::EncoderConfig ec;
                ec.data = dir + "/data";
                ec.out = dir + "/encoder";
                ec.epochs = epochs;
                ec.seed = sc.seed;
                ec.threads = threads;
                ec.device = device;
                audit::train_encoder(ec, sink);
              });
    const std::string enc_dir = enc.info.dir + "/encoder";
    const json enc_id = {{"stage", enc.info.hash}};
    for (const auto& s : c.synthetic) {
      const auto& full = source.at(s.name);
      const auto [syn_id, syn_dir] =
          p.prefix(full.first, full.second, need[s.name], c.audit.synthetic, "first scans of " + s.name + " (audit)");
      json settings = {{"real", real_id},
                       {"synthetic", syn_id},
                       {"encoder", enc_id},
                       {"train", g.trains() ? donor_id : json(nullptr)},
                       {"generator", gen_id},
                       {"bootstrap", c.audit.bootstrap},
                       {"seed", derived_seed(c.seed, "audit " + s.name)}};
      const std::string rd = real_dir, sd = syn_dir, td = g.trains() ? donor_dir : "", md = gen_dir;
      const int boot = c.audit.bootstrap;
      const Stage& a =
          p.add("audit", "audit of " + s.name, settings, 60 + 0.05 * c.audit.synthetic,
                [rd, sd, td, md, enc_dir, boot, settings, threads, device](const std::string& dir, EventSink* sink) {
                  fs::remove_all(dir + "/audit");
                  audit::AuditConfig ac;
                  ac.real = rd;
                  ac.synthetic = sd;
                  ac.train = td;
                  ac.model = md;
                  ac.encoder = enc_dir;
                  ac.out = dir + "/audit";
                  ac.seed = settings["seed"].get<uint64_t>();
                  ac.bootstrap = boot;
                  ac.membership_n = 100;
                  ac.threads = threads;
                  ac.device = device;
                  audit::run_audit(ac, sink);
                });
      layout.audit_paths[s.name] = a.info.dir + "/audit/audit.json";
    }
  }

  // Classifiers and their evaluations.
  std::vector<std::string> eval_dirs = layout.ext_dirs;
  for (int d = 1; d <= c.small.draws; ++d)
    for (int s = 1; s <= c.seeds; ++s) layout.repeats.push_back(fmt::format("draw {} seed {}", d, s));
  for (const auto& task : c.tasks) {
    auto& paths = layout.eval_paths[task];
    paths.assign(c.arms.size(), std::vector<std::string>(layout.repeats.size()));
    for (size_t ai = 0; ai < c.arms.size(); ++ai) {
      const ArmSpec& arm = c.arms[ai];
      for (int d = 1; d <= c.small.draws; ++d) {
        const auto& parts = small[d - 1];
        std::vector<json> train_ids;
        std::vector<std::string> train_dirs;
        if (arm.small) {
          train_ids.push_back(parts[0].first);
          train_dirs.push_back(parts[0].second);
        }
        const int64_t extra = static_cast<int64_t>(std::ceil(arm.multiple * c.small.train - 1e-9));
        std::string src_name = !arm.synthetic.empty()  ? arm.synthetic
                               : !arm.simulate.empty() ? "simulate " + arm.simulate
                                                       : "";
        if (!src_name.empty()) {
          const auto& full = source.at(src_name);
          const auto [id, dir] = p.prefix(full.first, full.second, need[src_name], extra,
                                          fmt::format("first {} scans of {}", extra, src_name));
          train_ids.push_back(id);
          train_dirs.push_back(dir);
        }
        if (arm.donor) {
          train_ids.push_back(donor_id);
          train_dirs.push_back(donor_dir);
        }
        for (int s = 1; s <= c.seeds; ++s) {
          const size_t r = static_cast<size_t>((d - 1) * c.seeds + (s - 1));
          const auto& k = c.classifier;
          json settings = {{"task", task},
                           {"train", train_ids},
                           {"val", parts[1].first},
                           {"epochs", k.epochs},
                           {"patience", k.patience},
                           {"steps_per_epoch", k.steps_per_epoch},
                           {"batch", k.batch},
                           {"lr", k.lr},
                           {"weight_decay", k.weight_decay},
                           {"base_width", k.base_width},
                           {"grid", {c.width, c.height}},
                           {"seed", derived_seed(c.seed, fmt::format("classifier draw {} seed {}", d, s))}};
          const std::string label = fmt::format("classifier {} {} {}", task, arm.name, layout.repeats[r]);
          const std::string val_dir = parts[1].second;
          const int threads = o.threads;
          const std::string device = o.device;
          const int w = c.width, h = c.height;
          const double cost = k.epochs * 0.7 * (k.steps_per_epoch * k.batch / 130.0 + c.small.val / 400.0);
          const Stage& cs = p.add(
              "classifier", label, settings, cost,
              [task, train_dirs, val_dir, k, settings, threads, device, w, h](const std::string& dir, EventSink* sink) {
                clf::ClassifierConfig cc;
                cc.task = task;
                cc.train = train_dirs;
                cc.val = val_dir;
                cc.out = dir + "/clf";
                cc.width = w;
                cc.height = h;
                cc.epochs = k.epochs;
                cc.patience = k.patience;
                cc.steps_per_epoch = k.steps_per_epoch;
                cc.batch = k.batch;
                cc.lr = k.lr;
                cc.weight_decay = k.weight_decay;
                cc.base_width = k.base_width;
                cc.seed = settings["seed"].get<uint64_t>();
                cc.threads = threads;
                cc.device = device;
                cc.resume = fs::exists(cc.out + "/run.json");
                if (!cc.resume) fs::remove_all(cc.out);
                clf::train_classifier(cc, sink);
              });
          std::vector<json> data_ids = ext_ids;
          std::vector<std::string> data_dirs = eval_dirs;
          if (c.small.test > 0) {
            data_ids.push_back(parts[2].first);
            data_dirs.push_back(parts[2].second);
          }
          json esettings = {{"classifier", cs.info.hash}, {"data", data_ids}};
          const std::string clf_dir = cs.info.dir + "/clf";
          size_t n_eval = 0;
          for (const auto& [name, e] : c.external) n_eval += e.n;
          const Stage& es = p.add("evaluation", "evaluation of " + label, esettings, n_eval / 300.0 + 2,
                                  [clf_dir, data_dirs, threads, device](const std::string& dir, EventSink* sink) {
                                    clf::EvalConfig e;
                                    e.model = clf_dir;
                                    e.data = data_dirs;
                                    e.out = dir + "/evaluation.json";
                                    e.threads = threads;
                                    e.device = device;
                                    clf::evaluate_classifier(e, sink);
                                  });
          paths[ai][r] = es.info.dir + "/evaluation.json";
        }
      }
    }
  }
  return std::move(p.stages);
}

// Forwards nothing unless verbose: the study's own line is the progress.
class StageSink : public EventSink {
 public:
  explicit StageSink(EventSink* inner) : inner_(inner) {}
  void progress(const std::string& task, uint64_t done, uint64_t total, bool final) override {
    if (inner_) inner_->progress(task, done, total, final);
  }
  void note(const std::string& text) override {
    if (inner_) inner_->note("  " + text);
  }

 private:
  EventSink* inner_;
};

struct CaseInfo {
  int label = -1;
  double score = 0;
};

// One evaluation report's cases of dataset `d`: id -> (label, score).
std::map<std::string, CaseInfo> read_cases(const json& report, size_t d) {
  std::map<std::string, CaseInfo> m;
  for (const auto& c : report.at("datasets").at(d).at("cases")) {
    CaseInfo ci;
    ci.label = c["label"].is_null() ? -1 : c["label"].get<int>();
    ci.score = c["score"].get<double>();
    m[c["id"].get<std::string>()] = ci;
  }
  return m;
}

json summary_of(const std::vector<double>& v) {
  if (v.empty()) return nullptr;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= v.size();
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {{"mean", mean}, {"sd", v.size() > 1 ? std::sqrt(ss / (v.size() - 1)) : 0.0}, {"n", v.size()}};
}

json analyse(const StudyConfig& c, const Layout& layout) {
  json report = json::object();
  std::vector<json> task_reports;
  // Labels of the external cases, for survival and subgroups.
  std::vector<std::map<std::string, Labels>> ext_labels;
  for (const auto& dir : layout.ext_dirs) {
    std::map<std::string, Labels> m;
    for (const ScanRecord& r : Dataset::open(dir).records()) m[r.id] = r.labels;
    ext_labels.push_back(std::move(m));
  }
  std::vector<Subgroup> subgroups;
  for (const auto& s : c.subgroups) subgroups.push_back(parse_subgroup(s.name, s.where));

  AnalysisConfig ac;
  ac.upper = c.upper;
  ac.bootstrap = c.bootstrap;
  ac.seed = derived_seed(c.seed, "analysis");
  ac.conf_level = c.conf_level;
  ac.min_positives = c.min_positives;

  json tasks = json::array();
  json internal = json::object();
  for (const auto& task : c.tasks) {
    const auto& paths = layout.eval_paths.at(task);
    TaskScores t;
    t.task = task;
    for (const auto& a : c.arms) t.arms.push_back(a.name);
    t.repeats = layout.repeats;
    // The cases of each site, in id order, from the first evaluation (every evaluation scores
    // the same datasets).
    const json first = json::parse(read_file(paths[0][0]));
    for (size_t si = 0; si < layout.ext_dirs.size(); ++si) {
      SiteCases sc;
      sc.site = layout.ext_names[si];
      for (const auto& [id, ci] : read_cases(first, si)) {
        if (ci.label < 0) continue;
        const Labels& l = ext_labels[si].at(id);
        sc.ids.push_back(id);
        sc.labels.push_back(ci.label);
        if (l.outcome_time && l.outcome_event && l.age && (l.sex == "M" || l.sex == "F")) {
          sc.time.push_back(*l.outcome_time);
          sc.event.push_back(*l.outcome_event);
          sc.age.push_back(*l.age);
          sc.male.push_back(l.sex == "M");
        } else {
          sc.time.push_back(std::nan(""));
          sc.event.push_back(-1);
          sc.age.push_back(std::nan(""));
          sc.male.push_back(-1);
        }
        for (const auto& g : subgroups) sc.subgroups[g.name].push_back(g.contains(l) ? 1 : 0);
      }
      t.sites.push_back(std::move(sc));
    }
    t.scores.assign(c.arms.size(), {});
    t.thresholds.assign(c.arms.size(), {});
    json internal_task = json::object();
    for (size_t a = 0; a < c.arms.size(); ++a) {
      std::vector<double> internal_auc;
      for (size_t r = 0; r < layout.repeats.size(); ++r) {
        const json rep = json::parse(read_file(paths[a][r]));
        t.thresholds[a].push_back(rep.at("model").at("threshold").get<double>());
        std::vector<std::vector<double>> per_site;
        for (size_t si = 0; si < t.sites.size(); ++si) {
          const auto cases = read_cases(rep, si);
          std::vector<double> s;
          for (const auto& id : t.sites[si].ids) s.push_back(cases.at(id).score);
          per_site.push_back(std::move(s));
        }
        t.scores[a].push_back(std::move(per_site));
        if (c.small.test > 0) {
          const json& auc = rep.at("datasets").at(t.sites.size()).at("overall").at("auc");
          if (auc.contains("estimate")) internal_auc.push_back(auc["estimate"].get<double>());
        }
      }
      internal_task[c.arms[a].name] = {{"auc", summary_of(internal_auc)}};
    }
    internal[task] = internal_task;
    t.validate();
    task_reports.push_back(analyse_task(t, ac));
  }
  std::vector<json*> ptrs;
  for (auto& j : task_reports) ptrs.push_back(&j);
  apply_holm(ptrs);
  for (auto& j : task_reports) tasks.push_back(j);
  report["tasks"] = tasks;
  report["internal_test"] = internal;
  report["analysis"] = ac.to_json();
  return report;
}

// A cohort's counts for the report: dataset summary's counts (not its path, id, creation time
// or config, which differ between copies of the same data), and the age's mean and sd.
json cohort_summary(const std::string& dir) {
  const Dataset ds = Dataset::open(dir);
  json s = summarize_dataset(ds);
  for (const char* k : {"path", "dataset_uid", "created", "config", "format", "schema_version"}) s.erase(k);
  std::vector<double> ages;
  for (const ScanRecord& r : ds.records())
    if (r.labels.age) ages.push_back(*r.labels.age);
  if (!ages.empty()) s["age"] = summary_of(ages);
  return s;
}

json primary_endpoint(const StudyConfig& c, const json& report) {
  json out = {{"task", c.primary.task},
              {"arm", c.primary.arm},
              {"statistic", c.primary.statistic},
              {"alpha", c.primary.alpha},
              {"hypothesis", "the pooled external AUC gain over the baseline is > 0"}};
  for (const auto& t : report["tasks"])
    if (t.value("task", "") == c.primary.task)
      for (const auto& a : t["arms"])
        if (a.value("arm", "") == c.primary.arm && a.contains("pooled")) {
          out["pooled_gain"] = a["pooled"].value("gain", json(nullptr));
          const json& g = out["pooled_gain"];
          if (g.is_object() && g.contains("ci")) out["met"] = g["ci"]["lower"].get<double>() > 0;
        }
  return out;
}

}  // namespace

std::vector<StageInfo> plan_study(const StudyConfig& config, const RunOptions& options) {
  Layout layout;
  std::vector<StageInfo> out;
  for (const Stage& s : make_plan(config, options, layout)) out.push_back(s.info);
  return out;
}

StudyResult run_study(const StudyConfig& c, const RunOptions& o, EventSink* events) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string where = study_where(o);
  if (o.out.empty()) throw ConfigError("--out", "is required");
  if (o.resume) {
    if (!fs::exists(o.out + "/study.json"))
      throw InputError(o.out, "holds no study to resume (no study.json)", "start it without --resume");
  } else {
    if (fs::exists(o.out + "/study.json"))
      throw InputError(o.out, "holds a study", "continue it with --resume, or choose another --out");
    run::check_new_out_folder(o.out);
  }
  Layout layout;
  std::vector<Stage> plan = make_plan(c, o, layout);  // checks every input before anything is written
  run::create_out_folder(o.out);
  fs::create_directories(o.out + "/stages");
  json study = {{"format", kStudyFormat},       {"format_version", kStudyFormatVersion}, {"config", c.to_json()},
                {"config_path", o.config_path}, {"updated", utc_now_iso8601()},          {"versions", core_versions()}};
  if (o.resume && fs::exists(o.out + "/study.json")) {
    const json before = json::parse(read_file(o.out + "/study.json"));
    study["created"] = before.value("created", study["updated"]);
    auto changes = run::diff_settings(before.value("config", json::object()), study["config"]);
    if (!changes.empty()) {
      std::string text;
      for (const auto& ch : changes) text += (text.empty() ? "" : "; ") + ch.describe();
      note(events,
           fmt::format("the config changed since the last run ({}): only the stages that depend on it rerun", text));
    }
  } else {
    study["created"] = study["updated"];
  }
  write_file_atomic(o.out + "/study.json", study.dump(2) + "\n");
  json plan_json = json::array();
  for (const Stage& s : plan)
    plan_json.push_back({{"kind", s.info.kind},
                         {"label", s.info.label},
                         {"hash", s.info.hash},
                         {"dir", fs::relative(s.info.dir, o.out).string()},
                         {"settings", s.settings}});
  write_file_atomic(o.out + "/stages.json", plan_json.dump(2) + "\n");

  StudyResult result;
  double todo_cost = 0;
  std::vector<bool> done(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    result.plan.push_back(plan[i].info);
    done[i] = stage_complete(plan[i]);
    if (done[i])
      ++result.stages_cached;
    else
      todo_cost += plan[i].info.estimated_s;
  }
  note(events, fmt::format("study {}: {} stages, {} complete, {} to run (estimated {})", c.name, plan.size(),
                           result.stages_cached, plan.size() - result.stages_cached, format_duration(todo_cost)));
  Progress progress(events, "study " + c.name, static_cast<uint64_t>(std::ceil(todo_cost)) + 1);
  double spent_cost = 0, spent_s = 0, progressed = 0;
  StageSink inner(o.verbose ? events : nullptr);
  size_t k = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (done[i]) continue;
    const Stage& s = plan[i];
    ++k;
    const auto s0 = std::chrono::steady_clock::now();
    fs::create_directories(s.info.dir);
    try {
      s.body(s.info.dir, &inner);
    } catch (const InternalError& e) {  // keeps its exit code (3); the place names the stage
      throw in_context<InternalError>(e, s.info.dir, s.info.label + ": ");
    } catch (const Error& e) {
      throw in_context<InputError>(e, s.info.dir, s.info.label + ": ");
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw InternalError(s.info.dir, s.info.label + ": " + e.what());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    write_file_atomic(s.info.dir + "/stage.json", json({{"kind", s.info.kind},
                                                        {"label", s.info.label},
                                                        {"hash", s.info.hash},
                                                        {"settings", s.settings},
                                                        {"seconds", secs},
                                                        {"finished", utc_now_iso8601()},
                                                        {"versions", core_versions()}})
                                                          .dump(2) +
                                                      "\n");
    ++result.stages_run;
    spent_cost += s.info.estimated_s;
    spent_s += secs;
    const double remaining = (todo_cost - spent_cost) * (spent_cost > 0 ? spent_s / spent_cost : 1.0);
    const uint64_t step = static_cast<uint64_t>(std::floor(spent_cost)) - static_cast<uint64_t>(progressed);
    progress.advance(step);
    progressed += step;
    note(events, fmt::format("[{}/{}] {} ({}); ETA {}", k, plan.size() - result.stages_cached, s.info.label,
                             format_duration(secs), format_duration(std::max(0.0, remaining))));
    if (o.stop_after > 0 && static_cast<int>(result.stages_run) >= o.stop_after) {
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return result;
    }
  }
  progress.finish();

  json report = {{"format", "scintigen-study-report"}, {"format_version", 1}, {"study", study}};
  json a = analyse(c, layout);
  for (auto& [key, v] : a.items()) report[key] = v;
  report["primary_endpoint"] = primary_endpoint(c, report);
  json audits = json::object();
  for (const auto& [name, path] : layout.audit_paths) {
    const json au = json::parse(read_file(path));
    json s = json::object();
    for (const char* key : {"c2st", "fd", "fd_matched", "fd_baseline", "precision", "recall", "density", "coverage",
                            "memorisation", "membership", "label_fidelity", "verdicts"})
      if (au.contains(key)) s[key] = au[key];
    audits[name] = s;
  }
  report["audit"] = audits;
  json cohorts = json::object();
  for (const auto& [name, dir] : layout.cohorts) cohorts[name] = cohort_summary(dir);
  report["cohorts"] = cohorts;
  if (!layout.generator_note.empty()) report["design_warnings"] = {layout.generator_note};
  json stages = json::array();
  for (const Stage& s : plan) {
    const json st = json::parse(read_file(s.info.dir + "/stage.json"));
    stages.push_back(
        {{"kind", s.info.kind}, {"label", s.info.label}, {"hash", s.info.hash}, {"seconds", st.value("seconds", 0.0)}});
  }
  report["stages"] = stages;
  report["generated"] = utc_now_iso8601();
  write_file_atomic(o.out + "/report.json", report.dump(2) + "\n");
  result.report = std::move(report);
  result.complete = true;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace scintigen::study
