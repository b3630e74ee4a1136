#include "pipeline/ingest.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/isolated.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/resample.h"
#include "core/sha256.h"
#include "core/version.h"
#include "data/dataset.h"
#include "io/dicom_read.h"
#include "pipeline/labels_csv.h"

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
  if (inputs.empty())
    throw ConfigError("ingest", "no input files or folders given", "scintigen ingest PATH... --out DATASET");
  if (out.empty() && !dry_run)
    throw ConfigError("--out", "no output dataset folder given", "or check the files only with --dry-run");
  if (dry_run && append) throw ConfigError("--dry-run", "cannot be combined with --append");
  if ((target_width > 0) != (target_height > 0) || target_width < 0 || target_height < 0 || target_width > 8192 ||
      target_height > 8192)
    throw ConfigError("--target-size", fmt::format("invalid size {}x{}", target_width, target_height),
                      "give WxH with 1..8192 each, e.g. 256x1024");
  if (threads < 0 || threads > 256)
    throw ConfigError("--threads", fmt::format("invalid value {}", threads), "0 (all cores) to 256");
  if (commit_every < 1) throw ConfigError("--commit-every", "must be at least 1");
  if (!(decode_timeout_s > 0 && decode_timeout_s <= 86400))
    throw ConfigError("--decode-timeout", fmt::format("invalid value {}", decode_timeout_s),
                      "seconds per file, more than 0 and at most 86400");
  if (decode_memory_mib < 64 || decode_memory_mib > (1ull << 20))
    throw ConfigError("--decode-memory", fmt::format("invalid value {}", decode_memory_mib),
                      "MiB per decoding worker, 64 to 1048576");
}

nlohmann::json IngestConfig::to_json() const {
  // Input paths are not recorded: folder names of PACS exports often carry patient names.
  return {{"command", "ingest"},
          {"n_inputs", inputs.size()},
          {"labels_csv", !labels_csv.empty()},
          {"labels_ignore_columns", labels_ignore_columns},
          {"target_size", target_width ? fmt::format("{}x{}", target_width, target_height) : std::string("native")},
          {"append", append},
          {"allow_synthetic", allow_synthetic},
          {"dry_run", dry_run},
          {"seed", seed},
          {"isolation",
           isolate ? nlohmann::json{{"decode_timeout_s", decode_timeout_s}, {"decode_memory_mib", decode_memory_mib}}
                   : nlohmann::json("off")},
          {"decoders", io_versions()},
          {"deidentification", deidentification_method()}};
}

namespace {

struct ReasonCount {
  std::string reason;
  size_t count = 0;
  std::string first;
};

// Distinct rejection reasons, most common first (ties: the one seen first).
std::vector<ReasonCount> count_reasons(const std::vector<Rejection>& rejected) {
  std::vector<ReasonCount> out;
  std::map<std::string, size_t> at;
  for (const auto& r : rejected) {
    auto [it, fresh] = at.emplace(r.reason, out.size());
    if (fresh) out.push_back({r.reason, 0, r.path});
    ++out[it->second].count;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ReasonCount& a, const ReasonCount& b) { return a.count > b.count; });
  return out;
}

}  // namespace

void apply_origin(const DicomObject& obj, bool allow_synthetic, Scan& scan) {
  scan.origin = Origin::kReal;
  scan.source = "ingest";
  if (!obj.scintigen_mark || obj.scintigen_mark->origin == Origin::kReal) return;
  const ScintigenMark& mark = *obj.scintigen_mark;
  if (!allow_synthetic)
    throw InputError(obj.path, fmt::format("a {} scan made by scintigen, not a patient's", to_string(mark.origin)),
                     "ingest it with --allow-synthetic");
  scan.origin = mark.origin;
  if (!mark.source.empty()) scan.source = mark.source;
  if (mark.provenance.is_object() && !mark.provenance.empty()) scan.meta["provenance"] = mark.provenance;
}

std::vector<std::string> rejection_summary(const IngestResult& result) {
  if (result.rejected.empty()) return {};
  std::vector<std::string> lines = {
      fmt::format("{} of {} files rejected, by reason:", result.rejected.size(), result.files_seen)};
  for (const auto& rc : count_reasons(result.rejected))
    lines.push_back(fmt::format("  {} x {} (first: {})", rc.count, rc.reason, rc.first));
  return lines;
}

nlohmann::json IngestResult::to_json() const {
  nlohmann::json rej = nlohmann::json::array();
  for (const auto& r : rejected) rej.push_back({{"file", r.path}, {"reason", r.reason}});
  nlohmann::json by_reason = nlohmann::json::array();
  for (const auto& rc : count_reasons(rejected))
    by_reason.push_back({{"reason", rc.reason}, {"count", rc.count}, {"first_file", rc.first}});
  return {{"files_seen", files_seen},
          {"files_skipped_not_dicom", files_skipped},
          {"files_accepted", files_accepted},
          {"scans_added", scans_added},
          {"two_view_scans", two_view_scans},
          {"single_view_scans", single_view_scans},
          {"made_by_scintigen", {{"simulated", simulated_scans}, {"synthetic", synthetic_scans}}},
          {"rejected_by_reason", by_reason},
          {"rejected", rej},
          {"label_errors", label_errors},
          {"warnings", warnings}};
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
bool is_scintigen_dataset(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "dataset.json", ec) && fs::is_regular_file(dir / "manifest.db", ec);
}

bool is_known_non_dicom(const fs::path& p) {
  static const char* kExtensions[] = {".json", ".csv",  ".txt", ".md",  ".png", ".jpg", ".jpeg", ".pdf",
                                      ".xml",  ".html", ".htm", ".log", ".db",  ".bin", ".zip",  ".gz"};
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
        // A scintigen dataset inside the folder (e.g. `generate --format dicom` writes OUT/dataset
        // beside OUT/dicom) holds no DICOM: its files count as skipped side files.
        if (it->is_directory() && is_scintigen_dataset(it->path())) {
          for (auto& f :
               fs::recursive_directory_iterator(it->path(), fs::directory_options::skip_permission_denied, ec))
            if (f.is_regular_file()) ++*skipped;
          it.disable_recursion_pending();
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

// Test-only faults for the isolation tests, honoured in worker processes only:
// SCINTIGEN_TEST_DECODER_FAULT="crash:<file name>,hang:<file name>,balloon:<file name>".
void inject_test_fault(const std::string& spec, const std::string& path, uint64_t memory_mib) {
  const std::string name = fs::path(path).filename().string();
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    const size_t colon = item.find(':');
    if (colon == std::string::npos || item.substr(colon + 1) != name) continue;
    const std::string what = item.substr(0, colon);
    if (what == "crash") {
      std::raise(SIGSEGV);
    } else if (what == "hang") {
      for (;;) pause();
    } else if (what == "balloon") {
      // Touches 64 MiB blocks until the memory limit stops it (std::bad_alloc); gives up
      // 1 GiB past the limit, so that a limit that does not work fails the test, not the machine.
      std::vector<std::unique_ptr<char[]>> blocks;
      for (uint64_t mib = 0; mib < memory_mib + 1024; mib += 64) {
        blocks.emplace_back(new char[64 << 20]);
        std::memset(blocks.back().get(), 1, 64 << 20);
      }
    }
  }
}

// Bytes of one ReadOutcome, for the trip from a worker process (bounded by the reader's caps).
class ByteWriter {
 public:
  void u64(uint64_t v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void f64(double v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& v) {
    u64(v.size());
    s_ += v;
  }
  void json(const nlohmann::json& v) { str(v.dump()); }
  template <typename T>
  void vec(const std::vector<T>& v) {
    u64(v.size());
    s_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

class ByteReader {
 public:
  explicit ByteReader(const std::string& s) : s_(s) {}
  uint64_t u64() { return pod<uint64_t>(); }
  double f64() { return pod<double>(); }
  std::string str() {
    const uint64_t n = u64();
    need(n);
    std::string v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  nlohmann::json json() { return nlohmann::json::parse(str()); }
  template <typename T>
  std::vector<T> vec() {
    const uint64_t n = u64();
    if (n > (s_.size() - pos_) / sizeof(T)) bad();
    std::vector<T> v(n);
    std::memcpy(v.data(), s_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  void done() const {
    if (pos_ != s_.size()) bad();
  }

 private:
  template <typename T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, s_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  void need(uint64_t n) const {
    if (n > s_.size() - pos_) bad();
  }
  [[noreturn]] void bad() const { throw InternalError("decoder worker", "malformed result from a worker process"); }
  const std::string& s_;
  size_t pos_ = 0;
};

std::string serialise(const ReadOutcome& r) {
  ByteWriter w;
  w.str(r.error);
  w.u64(r.obj.has_value());
  if (r.obj) {
    const DicomObject& o = *r.obj;
    w.str(o.path);
    w.u64(o.views.size());
    for (const DicomView& v : o.views) {
      w.u64(static_cast<uint64_t>(v.view));
      w.str(v.view_basis);
      w.u64(static_cast<uint64_t>(v.height));
      w.u64(static_cast<uint64_t>(v.width));
      w.vec(v.counts);
    }
    w.f64(o.spacing_row_mm);
    w.f64(o.spacing_col_mm);
    for (const std::string* k : {&o.keys.study_uid, &o.keys.series_uid, &o.keys.sop_uid, &o.keys.frame_of_reference_uid,
                                 &o.keys.patient_id, &o.keys.accession_number, &o.keys.acquisition_datetime})
      w.str(*k);
    w.json(labels_to_json(o.header_labels));
    w.json(o.meta);
    w.u64(o.warnings.size());
    for (const auto& m : o.warnings) w.str(m);
    w.u64(o.scintigen_mark.has_value());
    if (o.scintigen_mark) {
      w.u64(static_cast<uint64_t>(o.scintigen_mark->origin));
      w.str(o.scintigen_mark->source);
      w.json(o.scintigen_mark->provenance);
      w.str(o.scintigen_mark->scintigen_version);
    }
  }
  w.u64(r.prepared.has_value());
  if (r.prepared) {
    const ScanRecord& c = r.prepared->record;
    w.str(c.id);
    w.u64(static_cast<uint64_t>(c.height));
    w.u64(static_cast<uint64_t>(c.width));
    w.u64(static_cast<uint64_t>(c.views));
    w.f64(c.spacing_row_mm);
    w.f64(c.spacing_col_mm);
    w.json(labels_to_json(c.labels));
    w.u64(static_cast<uint64_t>(c.origin));
    w.str(c.source);
    w.str(c.split);
    w.json(c.meta);
    w.str(c.pixel_sha256);
    w.u64(static_cast<uint64_t>(c.dtype));
    w.u64(c.offset);
    w.u64(c.nbytes);
    w.vec(r.prepared->bytes);
  }
  return w.take();
}

ReadOutcome deserialise(const std::string& bytes) {
  ByteReader in(bytes);
  ReadOutcome r;
  r.error = in.str();
  if (in.u64()) {
    DicomObject& o = r.obj.emplace();
    o.path = in.str();
    const uint64_t n_views = in.u64();
    if (n_views > 2) throw InternalError("decoder worker", "malformed result from a worker process");
    for (uint64_t k = 0; k < n_views; ++k) {
      DicomView v;
      v.view = static_cast<View>(in.u64());
      v.view_basis = in.str();
      v.height = static_cast<int>(in.u64());
      v.width = static_cast<int>(in.u64());
      v.counts = in.vec<float>();
      o.views.push_back(std::move(v));
    }
    o.spacing_row_mm = in.f64();
    o.spacing_col_mm = in.f64();
    for (std::string* k : {&o.keys.study_uid, &o.keys.series_uid, &o.keys.sop_uid, &o.keys.frame_of_reference_uid,
                           &o.keys.patient_id, &o.keys.accession_number, &o.keys.acquisition_datetime})
      *k = in.str();
    o.header_labels = labels_from_json(in.json(), "decoder worker");
    o.meta = in.json();
    const uint64_t n_warnings = in.u64();
    for (uint64_t k = 0; k < n_warnings; ++k) o.warnings.push_back(in.str());
    if (in.u64()) {
      ScintigenMark& m = o.scintigen_mark.emplace();
      m.origin = static_cast<Origin>(in.u64());
      m.source = in.str();
      m.provenance = in.json();
      m.scintigen_version = in.str();
    }
  }
  if (in.u64()) {
    PreparedScan& p = r.prepared.emplace();
    ScanRecord& c = p.record;
    c.id = in.str();
    c.height = static_cast<int>(in.u64());
    c.width = static_cast<int>(in.u64());
    c.views = static_cast<ViewSet>(in.u64());
    c.spacing_row_mm = in.f64();
    c.spacing_col_mm = in.f64();
    c.labels = labels_from_json(in.json(), "decoder worker");
    c.origin = static_cast<Origin>(in.u64());
    c.source = in.str();
    c.split = in.str();
    c.meta = in.json();
    c.pixel_sha256 = in.str();
    c.dtype = static_cast<PixelDtype>(in.u64());
    c.offset = in.u64();
    c.nbytes = in.u64();
    p.bytes = in.vec<unsigned char>();
  }
  in.done();
  return r;
}

std::string format_seconds(double s) {
  return fmt::format("{:g}", s);
}

// The rejection reason for a file whose worker did not return a result.
std::string describe_failure(const IsolatedOutcome& o, const IsolationLimits& limits) {
  switch (o.status) {
    case IsolatedOutcome::Status::kOk:
      break;
    case IsolatedOutcome::Status::kCrashed:
      return fmt::format("decoder crashed (signal {})", o.signal);
    case IsolatedOutcome::Status::kTimedOut:
      return fmt::format(
          "decoder timed out after {} s (hint: a file this slow is probably malformed; if it is just large, "
          "raise --decode-timeout)",
          format_seconds(limits.timeout_s));
    case IsolatedOutcome::Status::kOverMemory:
      return fmt::format(
          "decoder went over the memory limit ({} MiB) (hint: if the file is just large, raise --decode-memory)",
          limits.memory_mib);
    case IsolatedOutcome::Status::kFailed:
      return "decoder failed: " + o.payload;
  }
  return "decoder failed";
}

class Ingester {
 public:
  Ingester(const IngestConfig& cfg, EventSink* events) : cfg_(cfg), events_(events), salt_(random_hex(32)) {}

  IngestResult run() {
    cfg_.validate();
    const auto files = collect_files(cfg_.inputs, &result_.files_skipped);
    if (!cfg_.labels_csv.empty()) labels_.emplace(read_labels_csv(cfg_.labels_csv, cfg_.labels_ignore_columns));
    if (!cfg_.key_file.empty() && is_inside(cfg_.key_file, cfg_.out))
      throw ConfigError("--key-file", "the key file must not be inside the dataset folder " + cfg_.out,
                        "keep re-identification keys apart from data you may share");
    auto write_report = [&] {
      result_.report = cfg_.report.empty() ? cfg_.out + "/ingest_report.json" : cfg_.report;
      write_file_atomic(result_.report, result_.to_json().dump(2) + "\n");
    };

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

    Progress progress(events_, "ingest", files.size());
    const int threads = resolve_threads(cfg_.threads);
    auto consume = [&](size_t i, ReadOutcome&& r) {
      progress.advance();
      // A file is rejected when any step failed, including one after the decode (assembly,
      // Dataset::prepare): `obj` may then be set while `prepared` is not.
      if (!r.error.empty() || !r.obj || !r.prepared) {
        result_.rejected.push_back({files[i].path, r.error});  // printed after the run, summary first
        return;
      }
      ++result_.files_accepted;
      accept(i, std::move(*r.obj), std::move(*r.prepared));
    };
    if (cfg_.isolate) {
      // Workers are forked here, while this process is single-threaded (no decoding threads).
      IsolationLimits limits;
      limits.timeout_s = cfg_.decode_timeout_s;
      limits.memory_mib = cfg_.decode_memory_mib;
      const char* fault_env = std::getenv("SCINTIGEN_TEST_DECODER_FAULT");
      const std::string faults = fault_env ? fault_env : "";
      run_isolated_ordered(
          files.size(), threads, 4 * static_cast<size_t>(threads), limits,
          [&](size_t i) {
            if (!faults.empty()) inject_test_fault(faults, files[i].path, cfg_.decode_memory_mib);
            return serialise(decode(files[i], true));
          },
          [&](size_t i, IsolatedOutcome&& o) {
            ReadOutcome r;
            if (o.status == IsolatedOutcome::Status::kOk)
              r = deserialise(o.payload);
            else
              r.error = describe_failure(o, limits);
            consume(i, std::move(r));
          });
    } else {
      parallel_ordered<ReadOutcome>(
          files.size(), threads, 4 * static_cast<size_t>(threads), [&](size_t i) { return decode(files[i], false); },
          consume);
    }
    progress.finish();
    flush_pending();
    commit();

    if (labels_) {
      std::vector<const LabelsRow*> unmatched;
      for (const auto& row : labels_->rows)
        if (!row.matched) {
          unmatched.push_back(&row);
          result_.label_errors.push_back(fmt::format("{}:{}: no ingested scan has {} '{}'", labels_->path, row.line,
                                                     to_string(labels_->key), row.key));
        }
      if (!unmatched.empty()) {
        std::string examples;
        for (size_t k = 0; k < std::min<size_t>(3, unmatched.size()); ++k)
          examples +=
              fmt::format("{}{}'{}' (line {})", k ? ", " : "", k ? "" : std::string(to_string(labels_->key)) + " ",
                          unmatched[k]->key, unmatched[k]->line);
        if (unmatched.size() > 3) examples += fmt::format(" and {} more", unmatched.size() - 3);
        result_.unmatched_labels = fmt::format("{}: {} {} no ingested scan: {}", labels_->path, unmatched.size(),
                                               unmatched.size() == 1 ? "row matches" : "rows match", examples);
        if (labels_->key == LabelKey::kFile)
          result_.unmatched_labels +=
              " (hint: file keys are paths relative to the folder given on the command line, or the file name of a "
              "file given directly)";
      }
    }
    if (cfg_.dry_run) {
      if (!cfg_.report.empty()) write_report();
      return result_;
    }
    if (!cfg_.append && result_.scans_added == 0) {
      // Nothing went in: leave no empty dataset behind, so the same --out works after a fix.
      ds_ = nullptr;
      ds.reset();
      std::error_code ec;
      fs::remove_all(cfg_.out, ec);
      if (!cfg_.report.empty()) write_report();
      return result_;
    }
    write_report();
    return result_;
  }

 private:
  // The CPU-heavy work on one file: decode, assemble, validate, hash and encode. Runs on a
  // worker thread, or in a worker process (`isolated`: std::bad_alloc then propagates, so that
  // the worker reports the memory limit).
  ReadOutcome decode(const InputFile& file, bool isolated) const {
    ReadOutcome r;
    try {
      r.obj.emplace(read_wholebody_dicom(file.path));
      r.prepared.emplace(Dataset::prepare(assemble({&*r.obj}), cfg_.out));
      if (!may_pair(*r.obj))
        for (auto& v : r.obj->views) std::vector<float>().swap(v.counts);  // no longer needed
    } catch (const Error& e) {
      r.error = e.reason() + (e.hint().empty() ? "" : " (hint: " + e.hint() + ")");
    } catch (const std::bad_alloc& e) {
      if (isolated) throw;
      r.error = std::string("cannot be read: ") + e.what();
    } catch (const std::exception& e) {
      r.error = std::string("cannot be read: ") + e.what();
    }
    return r;
  }

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
    apply_origin(first, cfg_.allow_synthetic, scan);  // throws for scintigen's own exports by default
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
          other.views[0].width == obj.views[0].width &&
          other.scintigen_mark.has_value() == obj.scintigen_mark.has_value()) {
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
      case LabelKey::kFile:
        return (*files_)[file_index].rel;
      case LabelKey::kStudyUid:
        return o.keys.study_uid;
      case LabelKey::kSeriesUid:
        return o.keys.series_uid;
      case LabelKey::kSopUid:
        return o.keys.sop_uid;
      case LabelKey::kAccessionNumber:
        return o.keys.accession_number;
      case LabelKey::kPatientId:
        return o.keys.patient_id;
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
      result_.warnings.push_back(
          fmt::format("{}: identical pixels to {} (the same image ingested twice?)", rec.id, dup->second));
    else
      hashes_[rec.pixel_sha256] = rec.id;
    if (!cfg_.key_file.empty())
      for (size_t k = 0; k < parts.size(); ++k) {
        const SourceKeys& keys = parts[k]->keys;
        key_rows_.push_back(fmt::format("{},{},{},{},{},{},{},{}", rec.id, csv_cell((*files_)[file_index[k]].path),
                                        csv_cell(keys.study_uid), csv_cell(keys.series_uid), csv_cell(keys.sop_uid),
                                        csv_cell(keys.patient_id), csv_cell(keys.accession_number),
                                        parts[k]->views.size()));
      }
    const bool both = rec.views == ViewSet::kBoth;
    if (rec.origin == Origin::kSimulated) ++result_.simulated_scans;
    if (rec.origin == Origin::kSynthetic) ++result_.synthetic_scans;
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
  EventSink* events_;
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

IngestResult ingest(const IngestConfig& config, EventSink* events) {
  return Ingester(config, events).run();
}

}  // namespace scintigen
