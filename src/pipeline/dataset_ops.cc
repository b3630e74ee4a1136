#include "pipeline/dataset_ops.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/names.h"
#include "core/progress.h"
#include "core/resample.h"
#include "core/split.h"
#include "core/version.h"
#include "data/dataset.h"
#include "io/dicom_write.h"
#include "io/png.h"

namespace fs = std::filesystem;

namespace scintigen {

void create_dataset_atomically(const std::string& out, const nlohmann::json& config,
                               const std::function<void(Dataset&)>& fill) {
  const std::string command = config.value("command", "this command");
  std::error_code ec;
  if (out.empty()) throw ConfigError("--out", "is empty", "give the dataset folder to create");
  if (fs::exists(out, ec))
    throw InputError(out, "already exists; " + command + " writes a new dataset",
                     "choose a new --out or remove the old one");
  create_parent_folders(out);
  fs::path parent = fs::path(out).parent_path();
  if (parent.empty()) parent = ".";
  if (::access(parent.c_str(), W_OK) != 0)
    throw InputError(out, "cannot create the dataset: folder '" + parent.string() + "' is not writable",
                     "choose a writable location for --out");
  const std::string tmp = out + ".tmp-" + std::to_string(::getpid());
  try {
    Dataset ds = Dataset::create(tmp, config);
    fill(ds);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    throw InputError(out, "cannot move the finished dataset into place: " + ec.message(), "check --out");
  }
}

nlohmann::json summarize_dataset(const Dataset& ds) {
  nlohmann::json s;
  const auto& info = ds.info();
  s["path"] = ds.dir();
  for (const char* k : {"format", "schema_version", "dataset_uid", "created"})
    if (info.contains(k)) s[k] = info[k];
  const auto records = ds.records();
  s["scans"] = records.size();
  std::map<std::string, size_t> origin, split, views, grid, dtype;
  std::map<std::string, std::map<std::string, size_t>> labels;
  std::set<std::string> subjects;
  for (const auto& r : records) {
    origin[to_string(r.origin)]++;
    split[r.split.empty() ? "(none)" : r.split]++;
    views[to_string(r.views)]++;
    grid[fmt::format("{}x{}", r.width, r.height)]++;
    dtype[r.dtype == PixelDtype::kUint16 ? "uint16" : "float32"]++;
    for (const char* f : {"metastasis", "cardiac_grade", "tracer", "sex", "site"}) {
      const std::string v = label_value(r.labels, f);
      labels[f][v.empty() ? "(unknown)" : v]++;
    }
    if (r.meta.contains("subject")) subjects.insert(r.meta["subject"].get<std::string>());
  }
  s["origin"] = origin;
  s["split"] = split;
  s["views"] = views;
  s["grid_WxH"] = grid;
  s["dtype"] = dtype;
  s["labels"] = labels;
  if (!subjects.empty()) s["subjects"] = subjects.size();
  if (info.contains("config")) s["config"] = info["config"];
  return s;
}

void SplitConfig::validate() const {
  if (fractions.empty()) throw ConfigError("--fractions", "no splits given", "e.g. train=0.8,val=0.1,test=0.1");
  double total = 0;
  std::set<std::string> names;
  for (const auto& [n, f] : fractions) {
    if (n.empty() || !names.insert(n).second)
      throw ConfigError("--fractions", "empty or repeated split name '" + n + "'");
    if (!(f >= 0 && f <= 1))
      throw ConfigError("--fractions", fmt::format("fraction of '{}' is {}", n, f), "each in 0..1");
    total += f;
  }
  if (std::fabs(total - 1) > 1e-6) throw ConfigError("--fractions", fmt::format("fractions sum to {}, not 1", total));
  for (const auto& s : stratify)
    if (!is_label_field(s))
      throw ConfigError("--stratify", "unknown label '" + s + "'",
                        "use label fields such as metastasis, cardiac_grade, site");
}

nlohmann::json SplitConfig::to_json() const {
  nlohmann::json f = nlohmann::json::object();
  for (const auto& [n, x] : fractions) f[n] = x;
  return {{"fractions", f}, {"stratify", stratify}, {"seed", seed}, {"by_subject", by_subject}};
}

std::vector<std::pair<std::string, double>> parse_fractions(const std::string& text, const std::string& flag) {
  std::vector<std::pair<std::string, double>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    char* end = nullptr;
    const double f = eq == std::string::npos ? NAN : std::strtod(item.c_str() + eq + 1, &end);
    if (eq == std::string::npos || eq == 0 || !end || *end != '\0' || !std::isfinite(f))
      throw ConfigError(flag, "cannot read '" + item + "'",
                        "give name=fraction pairs, e.g. train=0.8,val=0.1,test=0.1");
    out.emplace_back(item.substr(0, eq), f);
    pos = comma + 1;
  }
  return out;
}

std::vector<std::pair<std::string, size_t>> split_dataset(const std::string& dir, const SplitConfig& cfg) {
  cfg.validate();
  Dataset ds = Dataset::open(dir, true);
  const auto records = ds.records();
  // One grouped stratified split (core/split.h): a subject's scans are one unit, strata are the
  // label tuples, each stratum shuffled with its own generator and cut by largest remainder.
  std::vector<SplitItem> items;
  items.reserve(records.size());
  for (const auto& r : records) {
    SplitItem item;
    item.unit = "scan:" + r.id;
    if (cfg.by_subject && r.meta.contains("subject") && r.meta["subject"].is_string())
      item.unit = "subject:" + r.meta["subject"].get<std::string>();
    for (const auto& f : cfg.stratify) item.stratum += label_value(r.labels, f) + "|";
    items.push_back(std::move(item));
  }
  SplitSpec spec;
  for (const auto& [name, f] : cfg.fractions) spec.fractions.push_back(f);
  spec.seed = cfg.seed;
  spec.stream = RandomStream::kDatasetSplit;
  const std::vector<size_t> part = grouped_stratified_split(items, spec);
  std::vector<std::pair<std::string, std::string>> assignment;
  std::map<std::string, size_t> counts;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string& name = cfg.fractions[part[i]].first;
    assignment.emplace_back(records[i].id, name);
    counts[name]++;
  }
  ds.set_splits(assignment);
  nlohmann::json ev = cfg.to_json();
  ds.log_event("dataset split", ev);
  std::vector<std::pair<std::string, size_t>> out;
  for (const auto& [n, f] : cfg.fractions) out.emplace_back(n, counts[n]);
  return out;
}

size_t merge_datasets(const std::vector<std::string>& inputs, const std::string& out, const MergeConfig& cfg,
                      EventSink* events) {
  if (inputs.size() < 2) throw ConfigError("dataset merge", "give at least two datasets to merge");
  std::vector<Dataset> sources;
  std::set<std::string> ids;
  bool collide = false;
  size_t total = 0;
  nlohmann::json uids = nlohmann::json::array();
  for (const auto& in : inputs) {
    sources.push_back(Dataset::open(in));
    for (const auto& r : sources.back().records()) collide |= !ids.insert(r.id).second, ++total;
    uids.push_back(sources.back().info().value("dataset_uid", ""));
  }
  const bool prefix = cfg.prefix_ids || collide;
  nlohmann::json config = {{"command", "dataset merge"}, {"inputs", uids}, {"prefix_ids", prefix}};
  size_t n = 0;
  create_dataset_atomically(out, config, [&](Dataset& dst) {
    Progress progress(events, "merge", total);
    for (size_t k = 0; k < sources.size(); ++k) {
      const std::string uid = uids[k].get<std::string>();
      for (const auto& r : sources[k].records()) {
        Scan s = sources[k].load(r);
        if (prefix) s.id = fmt::format("d{}_{}", k, s.id);
        s.meta["merged_from"] = uid;
        dst.add(s);
        if (++n % 64 == 0) dst.commit();
        progress.advance();
      }
    }
    dst.commit();
    progress.finish();
  });
  return n;
}

void ResampleConfig::validate() const {
  if (width < 1 || height < 1 || width > 8192 || height > 8192)
    throw ConfigError("--size", fmt::format("invalid size {}x{}", width, height),
                      "give WxH with 1..8192 each, e.g. 64x256");
}

nlohmann::json ResampleConfig::to_json() const {
  return {{"command", "dataset resample"}, {"size", fmt::format("{}x{}", width, height)}};
}

size_t resample_dataset(const std::string& in, const std::string& out, const ResampleConfig& cfg, EventSink* events) {
  cfg.validate();
  Dataset src = Dataset::open(in);
  const auto records = src.records();
  nlohmann::json config = cfg.to_json();
  config["input"] = {{"dir", in}, {"uid", src.info().value("dataset_uid", "")}};
  config["source"] = src.info().contains("config") ? src.info()["config"] : nlohmann::json();
  size_t n = 0;
  create_dataset_atomically(out, config, [&](Dataset& dst) {
    Progress progress(events, "resample", records.size());
    for (const auto& r : records) {
      Scan s = src.load(r);
      if (s.height != cfg.height || s.width != cfg.width) {
        Scan t = make_scan(cfg.height, cfg.width);
        for (View v : {kAnterior, kPosterior}) {
          if (!s.has_view(v)) continue;
          const std::vector<float> counts = resample_counts(s.view(v), s.height, s.width, cfg.height, cfg.width);
          std::copy(counts.begin(), counts.end(), t.view(v));
        }
        t.spacing_row_mm = s.spacing_row_mm * s.height / cfg.height;
        t.spacing_col_mm = s.spacing_col_mm * s.width / cfg.width;
        t.id = s.id;
        t.source = s.source;
        t.split = s.split;
        t.meta = s.meta;
        if (!t.meta.contains("resampled_from")) t.meta["resampled_from"] = {s.height, s.width};
        t.views = s.views;
        t.labels = s.labels;
        t.origin = s.origin;
        s = std::move(t);
      }
      s.pixel_sha256.clear();
      dst.add(s);
      if (++n % 64 == 0) dst.commit();
      progress.advance();
    }
    dst.commit();
    dst.log_event("dataset resample", config);
    progress.finish();
  });
  return n;
}

namespace {
constexpr NamedValue<ExportFormat> kExportFormatNames[] = {{ExportFormat::kDicom, "dicom"},
                                                           {ExportFormat::kPng16, "png16"},
                                                           {ExportFormat::kPreview, "preview"},
                                                           {ExportFormat::kContactSheet, "sheet"},
                                                           {ExportFormat::kContactSheet, "contact-sheet"}};
}  // namespace

ExportFormat export_format_from_string(const std::string& s) {
  return value_named<ConfigError>(kExportFormatNames, s, "--format", "format");
}

nlohmann::json ExportConfig::to_json() const {
  return {{"command", "dataset export"},
          {"format", name_of(kExportFormatNames, format)},
          {"two_instances", two_instances},
          {"ids", ids},
          {"split", split},
          {"limit", limit},
          {"columns", columns}};
}

std::string caption_of(const ScanRecord& r) {
  std::string c = r.id;
  const Labels& l = r.labels;
  if (l.metastasis) c += *l.metastasis ? " MET" : " NOMET";
  if (l.cardiac_grade) c += fmt::format(" G{}", *l.cardiac_grade);
  if (!l.tracer.empty()) c += " " + l.tracer;
  if (!l.sex.empty()) c += " " + l.sex;
  if (l.age) c += fmt::format(" {}Y", static_cast<int>(*l.age));
  return c;
}

ExportResult export_dataset(const std::string& dir, const ExportConfig& cfg, EventSink* events) {
  Dataset ds = Dataset::open(dir);
  std::vector<ScanRecord> chosen;
  if (!cfg.ids.empty()) {
    for (const auto& id : cfg.ids) {
      auto r = ds.find(id);
      if (!r)
        throw InputError(dir, "no scan with id '" + id + "'", "list ids with: scintigen dataset info --ids " + dir);
      chosen.push_back(*r);
    }
  } else {
    for (auto& r : ds.records())
      if (cfg.split.empty() || r.split == cfg.split) chosen.push_back(std::move(r));
  }
  if (cfg.limit && chosen.size() > cfg.limit) chosen.resize(cfg.limit);
  if (chosen.empty())
    throw InputError(dir, "no scans to export" + (cfg.split.empty() ? std::string() : " in split '" + cfg.split + "'"));
  std::error_code ec;
  fs::create_directories(cfg.out, ec);
  if (ec) throw InputError(cfg.out, "cannot create folder: " + ec.message());

  ExportResult result;
  const std::string uid_seed = ds.info().value("dataset_uid", "");
  Progress progress(events, "export", chosen.size());
  if (cfg.format == ExportFormat::kContactSheet) {
    std::vector<Scan> scans;
    std::vector<const Scan*> ptrs;
    std::vector<std::string> captions;
    scans.reserve(chosen.size());
    for (const auto& r : chosen) {
      scans.push_back(ds.load(r));
      captions.push_back(caption_of(r));
      progress.advance();
    }
    for (const auto& s : scans) ptrs.push_back(&s);
    ContactSheetOptions opt;
    opt.columns = cfg.columns;
    const std::string path = cfg.out + "/contact_sheet.png";
    write_contact_sheet(ptrs, captions, path, opt);
    result.files.push_back(path);
    result.scans = scans.size();
  } else {
    for (const auto& r : chosen) {
      try {
        Scan s = ds.load(r);
        if (cfg.format == ExportFormat::kDicom) {
          DicomWriteOptions opt;
          opt.multiframe = !cfg.two_instances;
          opt.uid_seed = uid_seed;
          for (auto& f : write_scan_dicom(s, cfg.out + "/" + r.id + ".dcm", opt)) result.files.push_back(f);
        } else if (cfg.format == ExportFormat::kPng16) {
          for (View v : {kAnterior, kPosterior}) {
            if (!s.has_view(v)) continue;
            const std::string path = cfg.out + "/" + r.id + (v == kAnterior ? "_ant.png" : "_post.png");
            write_png16(s, v, path);
            result.files.push_back(path);
          }
        } else {
          const std::string path = cfg.out + "/" + r.id + ".png";
          write_preview_png(s, path);
          result.files.push_back(path);
        }
        ++result.scans;
      } catch (const Error& e) {
        result.failures.push_back(r.id + ": " + e.describe());
      }
      progress.advance();
    }
  }
  progress.finish();
  nlohmann::json manifest = {{"config", cfg.to_json()},     {"dataset_uid", uid_seed}, {"created", utc_now_iso8601()},
                             {"versions", core_versions()}, {"scans", result.scans},   {"failures", result.failures}};
  write_file_atomic(cfg.out + "/export.json", manifest.dump(2) + "\n");
  return result;
}

}  // namespace scintigen
