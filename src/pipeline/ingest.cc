#include "pipeline/ingest.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <random>

#include <fmt/format.h>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/resample.h"
#include "core/sha256.h"
#include "core/version.h"
#include "data/dataset.h"
#include "pipeline/labels_csv.h"
#include "io/dicom_read.h"

namespace fs = std::filesystem;

namespace scintigen {

const char* deidentification_method() {
  return "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile (DCM 113100) with the "
         "Retain Patient Characteristics Option (DCM 113108): only pixel data and a whitelist of "
         "non-identifying attributes are read; names, IDs, dates, UIDs, institution, physicians, device "
         "serial numbers, free text and all private tags are dropped; UIDs are replaced; ages over 89 are "
         "recorded as 90";
}

void IngestConfig::validate() const {
  if (inputs.empty()) throw ConfigError("ingest", "no input files or folders given", "scintigen ingest PATH... --out DATASET");
  if (out.empty() && !dry_run) throw ConfigError("--out", "no output dataset folder given", "or check the files only with --dry-run");
  if (dry_run && append) throw ConfigError("--dry-run", "cannot be combined with --append");
  if ((target_width > 0) != (target_height > 0) || target_width < 0 || target_height < 0 || target_width > 8192 ||
      target_height > 8192)
    throw ConfigError("--target-size", fmt::format("invalid size {}x{}", target_width, target_height),
                      "give WxH with 1..8192 each, e.g. 256x1024");
  if (threads < 0 || threads > 256) throw ConfigError("--threads", fmt::format("invalid value {}", threads), "0 (all cores) to 256");
  if (commit_every < 1) throw ConfigError("--commit-every", "must be at least 1");
}

nlohmann::json IngestConfig::to_json() const {
  // Input paths are not recorded: folder names of PACS exports often carry patient names.
  return {{"command", "ingest"},
          {"n_inputs", inputs.size()},
          {"labels_csv", !labels_csv.empty()},
          {"target_size", target_width ? fmt::format("{}x{}", target_width, target_height) : std::string("native")},
          {"append", append},
          {"dry_run", dry_run},
          {"seed", seed},
          {"decoders", io_versions()},
          {"deidentification", deidentification_method()}};
}

nlohmann::json IngestResult::to_json() const {
  nlohmann::json rej = nlohmann::json::array();
  for (const auto& r : rejected) rej.push_back({{"file", r.path}, {"reason", r.reason}});
  return {{"files_seen", files_seen},     {"files_skipped_not_dicom", files_skipped},     {"files_accepted", files_accepted}, {"scans_added", scans_added},
          {"two_view_scans", two_view_scans}, {"single_view_scans", single_view_scans},
          {"rejected", rej},               {"label_errors", label_errors},      {"warnings", warnings}};
}

int IngestResult::exit_code() const {
  if (scans_added == 0 && (!rejected.empty() || files_seen == 0)) return kExitBadInput;
  if (!rejected.empty() || !label_errors.empty()) return kExitPartial;
  return kExitOk;
}

namespace {

struct InputFile {
  std::string path;  // as walked
  std::string rel;   // relative to the folder argument, or the file name
};

// Files that a folder walk passes over (a file named on the command line is always read):
// the side files that PACS exports and scintigen's own exports put beside the DICOM files.
bool is_known_non_dicom(const fs::path& p) {
  static const char* kExtensions[] = {".json", ".csv", ".txt", ".md", ".png", ".jpg", ".jpeg", ".pdf",
                                      ".xml", ".html", ".htm", ".log", ".db", ".bin", ".zip", ".gz"};
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : kExtensions)
    if (ext == e) return true;
  return false;
}

std::vector<InputFile> collect_files(const std::vector<std::string>& inputs, size_t* skipped) {
  std::vector<InputFile> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    auto st = fs::status(in, ec);
    if (ec || !fs::exists(st)) throw InputError(in, "no such file or folder");
    if (fs::is_directory(st)) {
      std::vector<InputFile> here;
      for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (!it->is_regular_file() || name == "DICOMDIR") continue;
        if (is_known_non_dicom(it->path())) {
          ++*skipped;
          continue;
        }
        here.push_back({it->path().string(), fs::relative(it->path(), in).string()});
      }
      if (ec) throw InputError(in, "cannot walk folder: " + ec.message());
      std::sort(here.begin(), here.end(), [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
      files.insert(files.end(), here.begin(), here.end());
    } else {
      files.push_back({in, fs::path(in).filename().string()});
    }
  }
  return files;
}

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string s;
  for (size_t i = 0; i < bytes; ++i) s += fmt::format("{:02x}", rd() & 0xff);
  return s;
}

bool is_inside(const std::string& path, const std::string& dir) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  const fs::path d = fs::weakly_canonical(fs::absolute(dir), ec);
  auto [a, b] = std::mismatch(d.begin(), d.end(), p.begin(), p.end());
  return a == d.end();
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// One file after the worker threads are done with it: decoded, assembled into a scan,
// validated, hashed and encoded (the CPU-heavy part), or rejected with a reason.
struct ReadOutcome {
  std::optional<DicomObject> obj;  // pixels kept only for a single view that may pair later
  std::optional<PreparedScan> prepared;
  std::string error;
};

class Ingester {
 public:
  explicit Ingester(const IngestConfig& cfg) : cfg_(cfg), salt_(random_hex(32)) {}

  IngestResult run() {
    cfg_.validate();
    const auto files = collect_files(cfg_.inputs, &result_.files_skipped);
    if (!cfg_.labels_csv.empty()) labels_.emplace(read_labels_csv(cfg_.labels_csv));
    if (!cfg_.key_file.empty() && is_inside(cfg_.key_file, cfg_.out))
      throw ConfigError("--key-file", "the key file must not be inside the dataset folder " + cfg_.out,
                        "keep re-identification keys apart from data you may share");
    const std::string report_path = cfg_.report.empty() ? cfg_.out + "/ingest_report.json" : cfg_.report;

    std::optional<Dataset> ds;
    if (cfg_.dry_run) {
      // Nothing is written: every file is decoded, checked and hashed, and the report printed.
    } else if (cfg_.append) {
      ds.emplace(Dataset::open(cfg_.out, true));
      ds->log_event("ingest", cfg_.to_json());
      for (const auto& rec : ds->records()) hashes_.emplace(rec.pixel_sha256, rec.id);  // duplicate check
    } else {
      ds.emplace(Dataset::create(cfg_.out, cfg_.to_json()));
    }
    ds_ = ds ? &*ds : nullptr;
    result_.files_seen = files.size();
    files_ = &files;

    Progress progress("ingest", files.size(), cfg_.quiet);
    const int threads = resolve_threads(cfg_.threads);
    parallel_ordered<ReadOutcome>(
        files.size(), threads, 4 * static_cast<size_t>(threads),
        [&](size_t i) {
          ReadOutcome r;
          try {
            r.obj.emplace(read_wholebody_dicom(files[i].path));
            r.prepared.emplace(Dataset::prepare(assemble({&*r.obj}), cfg_.out));
            if (!may_pair(*r.obj))
              for (auto& v : r.obj->views) std::vector<float>().swap(v.counts);  // no longer needed
          } catch (const Error& e) {
            r.error = e.reason() + (e.hint().empty() ? "" : " (hint: " + e.hint() + ")");
          } catch (const std::exception& e) {
            r.error = std::string("cannot be read: ") + e.what();
          }
          return r;
        },
        [&](size_t i, ReadOutcome&& r) {
          progress.advance();
          // A file is rejected when any step failed, including one after the decode (assembly,
          // Dataset::prepare): `obj` may then be set while `prepared` is not.
          if (!r.error.empty() || !r.obj || !r.prepared) {
            result_.rejected.push_back({files[i].path, r.error});
            if (!cfg_.quiet) std::fprintf(stderr, "%serror: %s: %s\n", progress.enabled() ? "\n" : "", files[i].path.c_str(), r.error.c_str());
            return;
          }
          ++result_.files_accepted;
          accept(i, std::move(*r.obj), std::move(*r.prepared));
        });
    progress.finish();
    flush_pending();
    commit();

    if (labels_) {
      for (const auto& row : labels_->rows)
        if (!row.matched)
          result_.label_errors.push_back(fmt::format("{}:{}: no ingested scan has {} '{}'", labels_->path, row.line,
                                                     to_string(labels_->key), row.key));
    }
    if (cfg_.dry_run) {
      if (!cfg_.report.empty()) write_file_atomic(report_path, result_.to_json().dump(2) + "\n");
      return result_;
    }
    if (!cfg_.append && result_.scans_added == 0) {
      // Nothing went in: leave no empty dataset behind, so the same --out works after a fix.
      ds_ = nullptr;
      ds.reset();
      std::error_code ec;
      fs::remove_all(cfg_.out, ec);
      if (!cfg_.report.empty()) write_file_atomic(report_path, result_.to_json().dump(2) + "\n");
      return result_;
    }
    write_file_atomic(report_path, result_.to_json().dump(2) + "\n");
    return result_;
  }

 private:
  static bool may_pair(const DicomObject& o) { return o.views.size() == 1 && !o.keys.series_uid.empty(); }

  // The scan of one object, or of two single-view objects of one series: views resampled to
  // the target grid, header labels, whitelisted meta. Runs on worker threads; no id yet.
  Scan assemble(const std::vector<const DicomObject*>& parts) const {
    const DicomObject& first = *parts[0];
    const DicomView& v0 = first.views[0];
    const int src_h = v0.height, src_w = v0.width;
    const int h = cfg_.target_height ? cfg_.target_height : src_h;
    const int w = cfg_.target_width ? cfg_.target_width : src_w;
    Scan scan = make_scan(h, w);
    scan.origin = Origin::kReal;
    scan.source = "ingest";
    scan.spacing_row_mm = first.spacing_row_mm * src_h / h;
    scan.spacing_col_mm = first.spacing_col_mm * src_w / w;
    bool has[2] = {false, false};
    nlohmann::json basis = nlohmann::json::object();
    for (const DicomObject* obj : parts)
      for (const DicomView& v : obj->views) {
        if (has[v.view]) continue;  // a duplicate view: keep the first
        has[v.view] = true;
        basis[v.view == kAnterior ? "anterior" : "posterior"] = v.view_basis;
        if (h == v.height && w == v.width) {
          std::copy(v.counts.begin(), v.counts.end(), scan.view(v.view));
        } else {
          const std::vector<float> counts = resample_counts(v.counts, v.height, v.width, h, w);
          std::copy(counts.begin(), counts.end(), scan.view(v.view));
        }
      }
    scan.views = has[0] && has[1] ? ViewSet::kBoth : has[0] ? ViewSet::kAnteriorOnly : ViewSet::kPosteriorOnly;
    scan.labels = first.header_labels;
    scan.meta = first.meta;
    scan.meta["view_basis"] = basis;
    if (h != src_h || w != src_w) scan.meta["resampled_from"] = {src_h, src_w};
    if (!first.keys.patient_id.empty())
      scan.meta["subject"] = "p" + sha256_hex(salt_ + "|" + first.keys.patient_id).substr(0, 16);
    return scan;
  }

  struct Pending {
    size_t file_index;
    DicomObject obj;
    PreparedScan prepared;
  };

  // Adds the object now, or waits for the other view of its series.
  void accept(size_t file_index, DicomObject&& obj, PreparedScan&& prepared) {
    if (!may_pair(obj)) {
      add_scan({file_index}, {&obj}, std::move(prepared));
      return;
    }
    auto& waiting = pending_[obj.keys.study_uid + "|" + obj.keys.series_uid];
    for (auto it = waiting.begin(); it != waiting.end(); ++it) {
      const DicomObject& other = it->obj;
      if (other.views[0].view != obj.views[0].view && other.views[0].height == obj.views[0].height &&
          other.views[0].width == obj.views[0].width) {
        Pending first = std::move(*it);
        waiting.erase(it);
        add_scan({first.file_index, file_index}, {&first.obj, &obj},
                 Dataset::prepare(assemble({&first.obj, &obj}), cfg_.out));
        return;
      }
    }
    waiting.push_back({file_index, std::move(obj), std::move(prepared)});
  }

  void flush_pending() {
    // Unpaired single views, in the order they arrived.
    std::vector<Pending> rest;
    for (auto& [key, list] : pending_)
      for (auto& item : list) rest.push_back(std::move(item));
    pending_.clear();
    std::sort(rest.begin(), rest.end(), [](const Pending& a, const Pending& b) { return a.file_index < b.file_index; });
    for (auto& p : rest) add_scan({p.file_index}, {&p.obj}, std::move(p.prepared));
  }

  std::string key_of(const DicomObject& o, size_t file_index) const {
    switch (labels_->key) {
      case LabelKey::kFile: return (*files_)[file_index].rel;
      case LabelKey::kStudyUid: return o.keys.study_uid;
      case LabelKey::kSeriesUid: return o.keys.series_uid;
      case LabelKey::kSopUid: return o.keys.sop_uid;
      case LabelKey::kAccessionNumber: return o.keys.accession_number;
      case LabelKey::kPatientId: return o.keys.patient_id;
    }
    return "";
  }

  // Gives the prepared scan its id and CSV labels, and stages it.
  void add_scan(const std::vector<size_t>& file_index, const std::vector<const DicomObject*>& parts,
                PreparedScan&& prepared) {
    ScanRecord& rec = prepared.record;
    rec.id = ds_ ? ds_->next_id() : fmt::format("s{:06d}", result_.scans_added + 1);
    for (const DicomObject* obj : parts)
      for (const auto& wmsg : obj->warnings) result_.warnings.push_back(rec.id + ": " + wmsg);
    if (labels_) {
      for (size_t k = 0; k < parts.size(); ++k) {
        LabelsRow* row = labels_->find(key_of(*parts[k], file_index[k]));
        if (!row) continue;
        row->matched = true;
        apply_labels_row(*labels_, *row, rec.labels);
        if (labels_->has_split && !row->split.empty()) rec.split = row->split;
        break;
      }
    }
    auto dup = hashes_.find(rec.pixel_sha256);
    if (dup != hashes_.end())
      result_.warnings.push_back(fmt::format("{}: identical pixels to {} (the same image ingested twice?)", rec.id, dup->second));
    else
      hashes_[rec.pixel_sha256] = rec.id;
    if (!cfg_.key_file.empty())
      for (size_t k = 0; k < parts.size(); ++k) {
        const SourceKeys& keys = parts[k]->keys;
        key_rows_.push_back(fmt::format("{},{},{},{},{},{},{},{}", rec.id, csv_cell((*files_)[file_index[k]].path),
                                        csv_cell(keys.study_uid), csv_cell(keys.series_uid), csv_cell(keys.sop_uid),
                                        csv_cell(keys.patient_id), csv_cell(keys.accession_number), parts[k]->views.size()));
      }
    const bool both = rec.views == ViewSet::kBoth;
    if (ds_) ds_->add(std::move(prepared));
    ++result_.scans_added;
    (both ? result_.two_view_scans : result_.single_view_scans)++;
    if (++staged_ >= static_cast<size_t>(cfg_.commit_every)) commit();
  }

  void commit() {
    if (!ds_) return;
    ds_->commit();
    staged_ = 0;
    if (!cfg_.key_file.empty()) {
      std::string text = "scan_id,source_file,study_uid,series_uid,sop_uid,patient_id,accession_number,n_views\n";
      text += "# dataset_uid=" + ds_->info().value("dataset_uid", std::string()) + "\n";
      for (const auto& r : key_rows_) text += r + "\n";
      write_file_atomic(cfg_.key_file, text);
    }
  }

  IngestConfig cfg_;
  std::string salt_;  // per-run secret for subject pseudonyms; never stored
  Dataset* ds_ = nullptr;
  const std::vector<InputFile>* files_ = nullptr;
  std::optional<LabelsTable> labels_;
  std::map<std::string, std::vector<Pending>> pending_;
  std::map<std::string, std::string> hashes_;
  std::vector<std::string> key_rows_;
  size_t staged_ = 0;
  IngestResult result_;
};

}  // namespace

IngestResult ingest(const IngestConfig& config) { return Ingester(config).run(); }

}  // namespace scintigen
