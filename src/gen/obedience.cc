#include "gen/obedience.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/parallel.h"
#include "core/resample.h"
#include "data/dataset.h"
#include "gen/generate_tensors.h"
#include "gen/model_weights.h"
#include "gen/trainer.h"
#include "stats/json.h"
#include "stats/roc.h"

namespace scintigen::gen {

using json = nlohmann::json;

void ObedienceConfig::validate() const {
  if (reference.empty()) throw ConfigError("--reference", "is empty", "give a dataset with true labels");
  if (n < 4 || n > 10000) throw ConfigError("--n", std::to_string(n), "must be in 4..10000");
  if (sampling.steps < 1 || sampling.steps > 1000)
    throw ConfigError("--steps", std::to_string(sampling.steps), "must be in 1..1000");
  if (batch < 1) throw ConfigError("--batch", std::to_string(batch), "must be >= 1");
  if (reference_max < 4 || reference_max > 100000)
    throw ConfigError("--reference-max", std::to_string(reference_max), "must be in 4..100000");
  sampling.validate();
}

json ObedienceConfig::to_json() const {
  json j = {{"model", model},
            {"reference", reference},
            {"n", n},
            {"reference_max", reference_max},
            {"sampler", to_string(sampling.kind)},
            {"spacing", to_string(sampling.spacing)},
            {"steps", sampling.steps},
            {"guidance", sampling.guidance},
            {"seed", seed},
            {"precision", use_bf16(precision, false) ? "bf16" : "fp32"}};  // what runs (CPU)
  if (!sampling.guides_every_step()) j["guidance_interval"] = {sampling.guidance_t_lo, sampling.guidance_t_hi};
  if (!sampling.guidance_on.empty()) j["guidance_on"] = sampling.guidance_on;
  if (!guide_model.empty()) j["guide_model"] = guide_model;
  return j;
}

json ObedienceReport::to_json() const {
  json j = {{"passed", passed}, {"measures", measures}, {"model_sha256", model_sha256}};
  if (!guide_model_sha256.empty()) j["guide_model_sha256"] = guide_model_sha256;
  return j;
}

namespace {

double percentile(std::vector<float> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// Box mean with a (2r+1)^2 window, clamped at the borders (summed-area table).
std::vector<double> box_mean(const float* img, int h, int w, int r) {
  std::vector<double> sat(static_cast<size_t>(h + 1) * (w + 1), 0.0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      sat[(y + 1) * (w + 1) + x + 1] =
          img[y * w + x] + sat[y * (w + 1) + x + 1] + sat[(y + 1) * (w + 1) + x] - sat[y * (w + 1) + x];
  std::vector<double> out(static_cast<size_t>(h) * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int y0 = std::max(0, y - r), y1 = std::min(h, y + r + 1), x0 = std::max(0, x - r),
                x1 = std::min(w, x + r + 1);
      const double s =
          sat[y1 * (w + 1) + x1] - sat[y0 * (w + 1) + x1] - sat[y1 * (w + 1) + x0] + sat[y0 * (w + 1) + x0];
      out[y * w + x] = s / ((y1 - y0) * (x1 - x0));
    }
  return out;
}

}  // namespace

double heart_ratio(const float* view, int h, int w, const std::vector<uint8_t>& roi) {
  double in = 0, all = 0;
  size_t nin = 0;
  for (int i = 0; i < h * w; ++i) {
    all += view[i];
    if (roi[i]) {
      in += view[i];
      ++nin;
    }
  }
  if (nin == 0 || all <= 0) return 0;
  return (in / nin) / (all / (h * w));
}

int hotspot_count(const float* view, int h, int w) {
  double total = 0;
  for (int i = 0; i < h * w; ++i) total += view[i];
  if (total <= 0) return 0;
  std::vector<float> v(view, view + h * w);
  for (auto& x : v) x = static_cast<float>(x * (5e5 / total));  // every view at 500,000 counts
  auto s1 = box_mean(v.data(), h, w, 1), s2 = box_mean(v.data(), h, w, 7);
  int count = 0;
  for (size_t i = 0; i < s1.size(); ++i) count += (s1[i] - s2[i]) / std::sqrt(s2[i] / 9.0 + 1.0) > 8.0;
  return count;
}

double soft_tissue_ratio(const float* view, int h, int w) {
  std::vector<float> v(view, view + h * w);
  const double p99 = percentile(v, 0.99);
  if (p99 <= 0) return 0;
  std::vector<float> body;
  for (float c : v)
    if (c > 0.02 * p99) body.push_back(c);
  return percentile(body, 0.5) / p99;
}

int body_length_rows(const float* view, int h, int w) {
  std::vector<double> rows(h, 0.0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) rows[y] += view[y * w + x];
  const double mx = *std::max_element(rows.begin(), rows.end());
  int n = 0;
  for (double r : rows) n += r > 0.1 * mx;
  return n;
}

namespace {

struct Group {
  std::string name;       // e.g. "cardiac_grade=3,tracer=DPD"
  std::vector<Scan> ref;  // reference scans with these labels
  std::vector<Scan> gen;  // generated for this condition
};

bool matches(const Labels& l, const std::string& cond) {
  // cond: comma-separated name=value over label fields
  size_t p = 0;
  while (p < cond.size()) {
    size_t c = cond.find(',', p);
    if (c == std::string::npos) c = cond.size();
    const std::string item = cond.substr(p, c - p);
    const size_t eq = item.find('=');
    if (label_value(l, item.substr(0, eq)) != item.substr(eq + 1)) return false;
    p = c + 1;
  }
  return true;
}

std::vector<double> measure(const std::vector<Scan>& scans, const std::function<double(const Scan&)>& f) {
  std::vector<double> v;
  for (const auto& s : scans) v.push_back(f(s));
  return v;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

stats::AucResult auc_of(const std::vector<double>& pos, const std::vector<double>& neg) {
  std::vector<int> y;
  std::vector<double> s;
  for (double v : pos) y.push_back(1), s.push_back(v);
  for (double v : neg) y.push_back(0), s.push_back(v);
  return stats::delong_auc(y, s);
}

}  // namespace

ObedienceReport check_obedience(const ObedienceConfig& c, EventSink* events) {
  c.validate();
  at::set_num_threads(resolve_threads(c.threads));
  LoadedModel m = load_model(c.model);
  std::optional<LoadedModel> guide;
  if (!c.guide_model.empty()) guide = load_guide_model(c.guide_model, m, "--guide-model");
  guided_columns(c.sampling, m.config.conditions, guide.has_value());  // errors before any work
  const int H = m.config.height, W = m.config.width;
  Dataset ref = Dataset::open(c.reference);

  const std::vector<std::string> conditions = {"cardiac_grade=0,tracer=DPD",
                                               "cardiac_grade=1,tracer=DPD",
                                               "cardiac_grade=2,tracer=DPD",
                                               "cardiac_grade=3,tracer=DPD",
                                               "metastasis=0",
                                               "metastasis=1",
                                               "cardiac_grade=0,metastasis=0,tracer=MDP",
                                               "cardiac_grade=0,metastasis=0,tracer=DPD",
                                               "sex=M",
                                               "sex=F"};
  std::map<std::string, Group> groups;
  for (const auto& cond : conditions) groups[cond].name = cond;
  // Reference scans: every matching two-view scan up to reference_max per group, in id order.
  for (const auto& r : ref.records()) {
    if (r.views != ViewSet::kBoth) continue;
    for (auto& [cond, g] : groups) {
      if (static_cast<int>(g.ref.size()) >= c.reference_max || !matches(r.labels, cond)) continue;
      Scan s = ref.load(r);
      Scan t = make_scan(H, W);
      t.pixels = scan_to_grid(s, H, W);
      t.labels = s.labels;
      g.ref.push_back(std::move(t));
    }
  }
  // Generated scans: exactly the named conditions (no label fill), seeds per group.
  const SamplerConfig& sc = c.sampling;
  uint64_t group_index = 0;
  for (const auto& cond : conditions) {
    Group& g = groups[cond];
    const ConditionTokens tok = parse_condition(cond, m.config.conditions, "obedience check");
    for (int k0 = 0; k0 < c.n; k0 += c.batch) {
      const int k1 = std::min(c.n, k0 + c.batch);
      std::vector<ConditionTokens> tokens(k1 - k0, tok);
      std::vector<uint64_t> seeds;
      for (int k = k0; k < k1; ++k) seeds.push_back(step_seed(c.seed + 7919 * group_index, k));
      auto counts = generate_counts(m.net, m.config, sc, tokens, seeds, torch::kCPU, use_bf16(c.precision, false), true,
                                    CountOutput::kAuto, guide ? &guide->net : nullptr, m.decoder);
      for (int k = k0; k < k1; ++k) g.gen.push_back(scan_from_counts(counts[k - k0], tok, m.config.conditions));
    }
    ++group_index;
    note(events, fmt::format("obedience: generated {} scans for {}", c.n, cond));
  }

  ObedienceReport rep;
  rep.passed = true;
  rep.model_sha256 = m.ema_sha256;
  if (guide) rep.guide_model_sha256 = guide->ema_sha256;
  auto need = [&](const Group& g, const char* which) {
    if (g.ref.size() < 4)
      throw InputError(
          c.reference,
          fmt::format("has {} two-view scans labelled {}; the check needs at least 4", g.ref.size(), g.name),
          std::string(
              "use a reference dataset with every condition, e.g. one simulated with --site generator_train (") +
              which + ")");
  };
  for (const auto& [k, g] : groups) need(g, k.c_str());

  // Heart ROI from the reference: grade 3 minus grade 0 (DPD), upper half, top 1%.
  std::vector<double> diff(static_cast<size_t>(H) * W, 0.0);
  for (const auto& s : groups["cardiac_grade=3,tracer=DPD"].ref)
    for (int i = 0; i < H * W; ++i) diff[i] += s.pixels[i] / groups["cardiac_grade=3,tracer=DPD"].ref.size();
  for (const auto& s : groups["cardiac_grade=0,tracer=DPD"].ref)
    for (int i = 0; i < H * W; ++i) diff[i] -= s.pixels[i] / groups["cardiac_grade=0,tracer=DPD"].ref.size();
  std::vector<double> upper(diff.begin(), diff.begin() + (H / 2) * W);
  std::vector<double> sorted = upper;
  std::sort(sorted.begin(), sorted.end());
  const double cut = sorted[static_cast<size_t>(0.99 * (sorted.size() - 1))];
  std::vector<uint8_t> roi(static_cast<size_t>(H) * W, 0);
  for (int i = 0; i < (H / 2) * W; ++i) roi[i] = diff[i] >= cut && diff[i] > 0;

  // heart
  {
    json j = {{"measure", "heart"}, {"rule", "generated means rise with grade 0<1<2<3 (DPD) and AUC(3 vs 0) CI > 0.5"}};
    std::vector<double> gm, rm;
    std::vector<std::vector<double>> gv;
    for (int g = 0; g <= 3; ++g) {
      const Group& gr = groups[fmt::format("cardiac_grade={},tracer=DPD", g)];
      auto f = [&](const Scan& s) { return heart_ratio(s.view(kAnterior), H, W, roi); };
      gv.push_back(measure(gr.gen, f));
      gm.push_back(mean(gv.back()));
      rm.push_back(mean(measure(gr.ref, f)));
    }
    const stats::AucResult a = auc_of(gv[3], gv[0]);
    const bool mono = gm[0] < gm[1] && gm[1] < gm[2] && gm[2] < gm[3];
    const bool ok = mono && a.ci_lower > 0.5;
    j["generated_means_by_grade"] = gm;
    j["reference_means_by_grade"] = rm;
    j["generated_auc_3_vs_0"] = stats::to_json(a);
    j["judged"] = true;
    j["passed"] = ok;
    j["verdict"] = ok ? "pass" : "fail";
    rep.passed &= ok;
    rep.measures.push_back(j);
  }
  // Two-group measures: judged only where the reference's own CI excludes 0.5 (the measure sees
  // the condition in scans with true labels); then the generated CI must exclude 0.5 on that side.
  auto two_group = [&](const char* name, const std::string& pos, const std::string& neg,
                       const std::function<double(const Scan&)>& f, const char* rule) {
    const Group &gp = groups[pos], &gn = groups[neg];
    const stats::AucResult ra = auc_of(measure(gp.ref, f), measure(gn.ref, f));
    const stats::AucResult ga = auc_of(measure(gp.gen, f), measure(gn.gen, f));
    const bool up = ra.auc >= 0.5;
    const bool judged = ra.ci_lower > 0.5 || ra.ci_upper < 0.5;
    const bool ok = up ? ga.ci_lower > 0.5 : ga.ci_upper < 0.5;
    if (judged) rep.passed &= ok;
    json j = {{"measure", name},
              {"rule", std::string(rule) + "; judged only if the reference's own CI excludes 0.5"},
              {"positive", pos},
              {"negative", neg},
              {"reference_scans", {gp.ref.size(), gn.ref.size()}},
              {"reference_auc", stats::to_json(ra)},
              {"judged", judged},
              {"generated_auc", stats::to_json(ga)},
              {"generated_means", {mean(measure(gp.gen, f)), mean(measure(gn.gen, f))}},
              {"reference_means", {mean(measure(gp.ref, f)), mean(measure(gn.ref, f))}},
              {"verdict", !judged ? "not judged"
                          : ok    ? "pass"
                                  : "fail"}};
    if (judged) j["passed"] = ok;
    rep.measures.push_back(j);
  };
  two_group(
      "hotspots", "metastasis=1", "metastasis=0",
      [&](const Scan& s) { return hotspot_count(s.view(kAnterior), H, W) + hotspot_count(s.view(kPosterior), H, W); },
      "AUC(metastasis=1 vs 0) of the hot-spot count: CI on the reference's side of 0.5");
  two_group(
      "soft", "cardiac_grade=0,metastasis=0,tracer=DPD", "cardiac_grade=0,metastasis=0,tracer=MDP",
      [&](const Scan& s) { return soft_tissue_ratio(s.view(kAnterior), H, W); },
      "AUC(DPD vs MDP) of the soft-tissue ratio: CI on the reference's side of 0.5");
  two_group(
      "length", "sex=M", "sex=F", [&](const Scan& s) { return body_length_rows(s.view(kAnterior), H, W); },
      "AUC(M vs F) of the body length: CI on the reference's side of 0.5");
  return rep;
}

}  // namespace scintigen::gen
