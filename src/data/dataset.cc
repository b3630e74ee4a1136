// The dataset store (see dataset.h): the Dataset class over its parts, internal to src/data:
// pixel_codec.h (the pixel encoding), image_store.h (images.bin) and manifest.h (manifest.db).

#include "data/dataset.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <unordered_set>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/version.h"
#include "data/image_store.h"
#include "data/manifest.h"
#include "data/pixel_codec.h"

namespace fs = std::filesystem;

namespace scintigen {

using namespace detail;  // the parts of the store: pixel codec, image store, manifest

namespace {

constexpr const char* kFormatName = "scintigen-dataset";

std::string random_uid_hex() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 4; ++i) s += fmt::format("{:08x}", static_cast<uint32_t>(rd()));
  return s;  // 128 bits
}

// Ids become file names on export: keep them short and portable.
bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// The fields a Scan and its ScanRecord share, either way: everything but the pixels and where
// they are stored.
template <typename From, typename To>
void copy_shared_fields(const From& from, To& to) {
  to.id = from.id;
  to.height = from.height;
  to.width = from.width;
  to.views = from.views;
  to.spacing_row_mm = from.spacing_row_mm;
  to.spacing_col_mm = from.spacing_col_mm;
  to.labels = from.labels;
  to.origin = from.origin;
  to.source = from.source;
  to.split = from.split;
  to.meta = from.meta;
  to.pixel_sha256 = from.pixel_sha256;
}

}  // namespace

struct Dataset::Impl {
  std::string dir, json_path, db_path, images_path;
  nlohmann::json info;
  bool writable = false;
  int lock_fd = -1;
  ImageStore images;
  sqlite3* db = nullptr;
  std::unique_ptr<Stmt> insert_stmt;
  mutable std::unique_ptr<Stmt> find_stmt;

  mutable std::mutex mu;  // guards db, the statements, the image store's appends and what follows
  std::vector<ScanRecord> staged;
  std::unordered_set<std::string> staged_ids;
  mutable std::map<std::string, int> next_counter;  // next_id hint per prefix (ids are never removed)

  explicit Impl(std::string d)
      : dir(std::move(d)),
        json_path(dir + "/dataset.json"),
        db_path(dir + "/manifest.db"),
        images_path(dir + "/images.bin") {}

  ~Impl() { close(); }

  void close() {
    images.close();  // staged, uncommitted scans are dropped (we still hold the writer lock)
    insert_stmt.reset();
    find_stmt.reset();
    if (db) {
      if (writable) {
        // Leave a self-contained manifest.db at rest (no -wal/-shm) so that copies open on
        // read-only media. Fails harmlessly (stays WAL) while other processes read it.
        sqlite3_busy_timeout(db, 0);
        sqlite3_exec(db, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
      }
      sqlite3_close_v2(db);
      db = nullptr;
    }
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
    lock_fd = -1;
  }

  void require_writable(const char* what) const {
    if (!writable)
      throw InputError(dir, std::string("cannot ") + what + ": the dataset was opened read-only",
                       "open it with Dataset::open(dir, /*writable=*/true)");
  }

  void take_writer_lock() {
    lock_fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0)
      throw InputError(dir + "/lock", "cannot open for writing: " + std::string(std::strerror(errno)),
                       "is the folder read-only? open the dataset read-only");
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const bool busy = errno == EWOULDBLOCK;
      ::close(lock_fd);
      lock_fd = -1;
      if (busy)
        throw InputError(dir, "dataset is being written by another process",
                         "wait for it to finish, or write to a new dataset");
      throw InputError(dir + "/lock", "cannot lock: " + std::string(std::strerror(errno)));
    }
  }

  // Puts a writer's connection into WAL with a full fsync at every commit. Where WAL is not
  // supported (some network file systems) SQLite stays in its rollback journal, also atomic.
  void configure_writer_pragmas() {
    pragma_text(db, "PRAGMA journal_mode=WAL", db_path);
    exec(db, "PRAGMA synchronous=FULL", db_path);
  }

  void prepare_insert() { insert_stmt = std::make_unique<Stmt>(db, insert_scan_sql(), db_path); }

  std::optional<ScanRecord> find_locked(const std::string& id) const {
    if (!find_stmt)
      find_stmt = std::make_unique<Stmt>(db, "SELECT " + scan_column_list() + " FROM scans WHERE id = ?", db_path);
    Stmt& st = *find_stmt;
    st.reset();
    st.bind(1, id);
    std::optional<ScanRecord> r;
    try {
      if (st.step()) r = read_record(st, db_path);
    } catch (...) {
      st.reset();
      throw;
    }
    st.reset();
    return r;
  }

  bool id_exists_locked(const std::string& id) const { return staged_ids.count(id) || find_locked(id).has_value(); }

  std::vector<ScanRecord> records_locked() const {
    Stmt st(db, "SELECT " + scan_column_list() + " FROM scans ORDER BY rowid", db_path);
    std::vector<ScanRecord> out;
    while (st.step()) out.push_back(read_record(st, db_path));
    return out;
  }

  // Structural problems of the manifest as "<what>" (not tied to a scan) and per-scan
  // "<id>: <what>"; `end` receives the end of the last record. Cheap: no pixels read.
  struct Problem {
    std::string file;  // the file to blame in an open() error
    std::string text;  // "<id>: <what>" or "<file>: <what>"
  };
  struct Structure {
    std::vector<Problem> problems;
    std::vector<ScanRecord> records;
    uint64_t end = 0;
  };

  Structure check_structure_locked(bool full_rows) const {
    Structure s;
    const std::string qc = pragma_text(db, "PRAGMA quick_check", db_path);
    if (qc != "ok") {
      s.problems.push_back({db_path, "manifest.db: integrity check failed: " + qc});
      return s;
    }
    {
      Stmt st(db, "SELECT value FROM meta WHERE key = 'schema_version'", db_path);
      const std::string v = st.step() ? st.text(0) : "(missing)";
      if (v != std::to_string(kDatasetSchemaVersion))
        s.problems.push_back(
            {db_path, fmt::format("manifest.db: schema version is {}; this build of scintigen reads version {}", v,
                                  kDatasetSchemaVersion)});
    }
    if (full_rows) {
      Stmt st(db, "SELECT " + scan_column_list() + " FROM scans ORDER BY rowid", db_path);
      while (true) {
        try {
          if (!st.step()) break;
          s.records.push_back(read_record(st, db_path));
        } catch (const InputError& e) {
          s.problems.push_back({db_path, st.text(0) + ": " + e.reason()});
        }
      }
    } else {
      Stmt st(db, "SELECT id, height, width, dtype, offset, nbytes FROM scans ORDER BY rowid", db_path);
      while (st.step()) {
        ScanRecord r;
        r.id = st.text(0);
        r.height = sqlite3_column_int(st.get(), 1);
        r.width = sqlite3_column_int(st.get(), 2);
        const std::string dtype = st.text(3);
        const std::optional<PixelDtype> d = dtype_from_name(dtype);
        if (!d) {
          s.problems.push_back({db_path, r.id + ": dtype is '" + dtype + "', expected u16 or f32"});
          continue;
        }
        r.dtype = *d;
        r.offset = static_cast<uint64_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 4)));
        r.nbytes = static_cast<uint64_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 5)));
        s.records.push_back(std::move(r));
      }
    }
    // Size after reading the rows: the store only grows past committed records.
    const uint64_t size = images.size();
    std::vector<std::pair<uint64_t, const ScanRecord*>> by_offset;
    for (const auto& r : s.records) {
      const std::string p = placement_problem(r, size);
      if (!p.empty()) s.problems.push_back({images_path, r.id + ": " + p});
      s.end = std::max(s.end, r.offset + r.nbytes);
      by_offset.emplace_back(r.offset, &r);
    }
    std::sort(by_offset.begin(), by_offset.end());
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const ScanRecord& a = *by_offset[i - 1].second;
      const ScanRecord& b = *by_offset[i].second;
      if (a.offset + a.nbytes > b.offset) s.problems.push_back({db_path, b.id + ": pixels overlap those of " + a.id});
    }
    return s;
  }

  Scan load_record(const ScanRecord& r) const {
    const std::string p = placement_problem(r, std::numeric_limits<uint64_t>::max());
    if (!p.empty()) throw InputError(db_path, "scan '" + r.id + "': " + p, "run verify on the dataset");
    Scan s;
    copy_shared_fields(r, s);
    std::vector<unsigned char> raw(r.nbytes);
    if (!images.read(r.offset, raw.data(), raw.size()))
      throw InputError(images_path, "scan '" + r.id + "': the file ends inside its pixels",
                       "the image store was truncated; run verify");
    s.pixels.resize(2 * s.view_size());
    decode_pixels(raw.data(), s.pixels.size(), r.dtype, s.pixels.data());
    return s;
  }
};

Dataset::Dataset(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataset::Dataset(Dataset&&) noexcept = default;
Dataset& Dataset::operator=(Dataset&&) noexcept = default;
Dataset::~Dataset() = default;

Dataset Dataset::create(const std::string& dir, const nlohmann::json& config) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw InputError(dir, "exists and is not a folder", "choose a new --out folder");
    if (!fs::is_empty(dir, ec)) throw InputError(dir, "already exists and is not empty", "choose a new --out folder");
  } else {
    fs::create_directories(dir, ec);
    if (ec)
      throw InputError(dir, "cannot create folder: " + ec.message(), "check the parent folder exists and is writable");
  }
  auto impl = std::make_unique<Impl>(dir);
  impl->writable = true;
  impl->take_writer_lock();
  impl->images.create(impl->images_path);
  impl->db = open_manifest(impl->db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  impl->configure_writer_pragmas();
  exec(impl->db, "BEGIN IMMEDIATE;" + schema_sql() + "COMMIT;", impl->db_path);
  impl->prepare_insert();
  const std::string command = config.is_object() && config.contains("command") && config["command"].is_string()
                                  ? config["command"].get<std::string>()
                                  : "create";
  insert_event(impl->db, impl->db_path, command, config);
  impl->images.flush("");
  nlohmann::json versions = core_versions();
  versions["sqlite"] = sqlite3_libversion();
  impl->info = {{"format", kFormatName},
                {"schema_version", kDatasetSchemaVersion},
                {"dataset_uid", random_uid_hex()},
                {"created", utc_now_iso8601()},
                {"config", config},
                {"versions", versions}};
  // Written last: a folder with dataset.json holds a complete (empty) dataset.
  write_file_atomic(impl->json_path, impl->info.dump(2) + "\n");
  return Dataset(std::move(impl));
}

Dataset Dataset::open(const std::string& dir, bool writable) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw InputError(dir, "no such dataset folder", "check the path");
  if (!fs::is_directory(dir, ec))
    throw InputError(dir, "not a scintigen dataset (not a folder)", "give the dataset's folder");
  auto impl = std::make_unique<Impl>(dir);
  Impl& d = *impl;
  if (!fs::exists(d.json_path, ec))
    throw InputError(dir, "not a scintigen dataset (no dataset.json)",
                     "give a folder written by scintigen (ingest --out, simulate --out, ...)");
  try {
    d.info = nlohmann::json::parse(read_file(d.json_path, 16u << 20));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(d.json_path, std::string("cannot parse: ") + e.what(),
                     "the file is damaged; restore it from a backup");
  }
  if (!d.info.is_object() || d.info.value("format", std::string()) != kFormatName)
    throw InputError(d.json_path,
                     std::string("not a scintigen dataset description (\"format\" is not \"") + kFormatName + "\")",
                     "give a folder written by scintigen");
  const auto& sv = d.info["schema_version"];
  if (!sv.is_number_integer())
    throw InputError(d.json_path, "schema_version is missing or not an integer",
                     "the file is damaged; restore it from a backup");
  if (sv.get<int64_t>() != kDatasetSchemaVersion)
    throw InputError(d.json_path,
                     fmt::format("schema version is {}; this build of scintigen reads version {}", sv.get<int64_t>(),
                                 kDatasetSchemaVersion),
                     sv.get<int64_t>() > kDatasetSchemaVersion ? "use a newer scintigen"
                                                               : "convert it with the scintigen that wrote it");
  for (const std::string* p : {&d.db_path, &d.images_path})
    if (!fs::exists(*p, ec)) throw InputError(*p, "is missing", "the dataset is incomplete; restore it from a backup");

  d.writable = writable;
  if (writable) d.take_writer_lock();
  d.images.open(d.images_path, writable);
  // A reader never writes: plain read-only connection (no -wal/-shm created for a manifest at rest).
  d.db = open_manifest(d.db_path, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
  Impl::Structure s;
  try {
    std::lock_guard<std::mutex> lock(d.mu);
    s = d.check_structure_locked(false);
  } catch (const InputError& e) {
    if (!writable && fs::exists(d.db_path + "-wal", ec) && ::access(dir.c_str(), W_OK) != 0)
      throw InputError(d.db_path, e.reason(),
                       "manifest.db-wal holds commits of a writer that did not close, and this folder is read-only: "
                       "open a writable copy once for writing, or open it where it was written");
    throw;
  }
  if (!s.problems.empty()) {
    std::string more = s.problems.size() > 1 ? fmt::format(" (and {} more problems)", s.problems.size() - 1) : "";
    const bool images = s.problems[0].file == d.images_path;
    throw InputError(s.problems[0].file, s.problems[0].text + more,
                     images ? "the image store was truncated or replaced; restore it from a backup"
                            : "the manifest is damaged; restore it from a backup");
  }
  if (writable) {
    d.configure_writer_pragmas();
    d.prepare_insert();
    // Bytes past the last committed record are pixels of scans a killed writer never committed.
    d.images.start_after(s.end);
  }
  return Dataset(std::move(impl));
}

const std::string& Dataset::dir() const {
  return impl_->dir;
}
const nlohmann::json& Dataset::info() const {
  return impl_->info;
}

PreparedScan Dataset::prepare(const Scan& scan, const std::string& where) {
  const std::string who =
      scan.id.empty() ? std::string("the scan") : "scan '" + scan.id + "'";  // ingest prepares before ids
  auto bad = [&](const std::string& what, const std::string& hint = "") {
    throw InputError(where, who + ": " + what, hint);
  };
  if (scan.height <= 0 || scan.width <= 0 || scan.height > 65536 || scan.width > 65536)
    bad(fmt::format("invalid shape {} x {}", scan.height, scan.width), "height and width must be 1..65536");
  const size_t hw = scan.view_size();
  if (scan.pixels.size() != 2 * hw)
    bad(fmt::format("has {} pixel values, expected 2 x {} x {} = {}", scan.pixels.size(), scan.height, scan.width,
                    2 * hw));
  if (!std::isfinite(scan.spacing_row_mm) || !std::isfinite(scan.spacing_col_mm) || scan.spacing_row_mm < 0 ||
      scan.spacing_col_mm < 0)
    bad("pixel spacing must be finite and >= 0 (0 when unknown)");
  if (!scan.meta.is_object()) bad("meta must be a JSON object");

  // Validity first (a vectorized pass; a failure is located afterwards for the message), then
  // the uint16 test, which stops at the first value that is not an integer in 0..65535
  // (-0.0 included: it stays float32 so that its hash survives the round trip).
  bool valid = true;
  for (View v : {kAnterior, kPosterior})
    valid &= scan.has_view(v) ? counts_valid(scan.view(v), hw) : all_zero(scan.view(v), hw);
  if (!valid) {
    for (View v : {kAnterior, kPosterior}) {
      const float* p = scan.view(v);
      for (size_t i = 0; i < hw; ++i) {
        const float x = p[i];
        auto at = [&] {
          return fmt::format("pixel (row {}, column {}) of the {} view", i / scan.width, i % scan.width,
                             v == kAnterior ? "anterior" : "posterior");
        };
        if (!std::isfinite(x) || x < 0) bad(fmt::format("{} is {}", at(), x), "counts must be finite and >= 0");
        if (!scan.has_view(v) && x != 0)
          bad(at() + " is not zero, but the view is marked missing", "a missing view is stored as zeros");
      }
    }
  }
  const bool fits_u16 = all_uint16(scan.pixels.data(), scan.pixels.size());

  const std::string sha = compute_pixel_sha256(scan);
  if (!scan.pixel_sha256.empty() && scan.pixel_sha256 != sha)
    bad("pixel_sha256 does not match the pixels",
        "leave it empty to have it computed, or recompute it with compute_pixel_sha256");

  PreparedScan p;
  ScanRecord& r = p.record;
  copy_shared_fields(scan, r);
  r.pixel_sha256 = sha;
  r.dtype = fits_u16 ? PixelDtype::kUint16 : PixelDtype::kFloat32;
  p.bytes = encode_pixels(scan.pixels, r.dtype);
  r.nbytes = p.bytes.size();
  return p;
}

void Dataset::add(const Scan& scan) {
  impl_->require_writable("add scans");
  add(prepare(scan, impl_->dir));
}

void Dataset::add(PreparedScan prepared) {
  Impl& d = *impl_;
  d.require_writable("add scans");
  ScanRecord& r = prepared.record;
  const std::string who = "scan '" + r.id + "'";
  auto bad = [&](const std::string& what, const std::string& hint = "") {
    throw InputError(d.dir, who + ": " + what, hint);
  };
  if (!valid_id(r.id))
    throw InputError(d.dir, r.id.empty() ? "a scan has an empty id" : who + ": invalid id",
                     "ids are 1-128 characters of A-Z a-z 0-9 _ . - not starting with '.'");
  labels_from_json(labels_to_json(r.labels), d.dir + ": " + who);  // range checks
  if (!r.meta.is_object()) bad("meta must be a JSON object");
  if (r.nbytes != prepared.bytes.size() ||
      r.nbytes != 2 * static_cast<uint64_t>(r.height) * r.width * bytes_per_value(r.dtype))
    throw InternalError(d.dir, who + ": prepared pixels do not match the record", "use Dataset::prepare");

  std::lock_guard<std::mutex> lock(d.mu);
  if (d.staged_ids.count(r.id))
    bad("the id is already staged in this dataset", "give every scan a unique id (next_id())");
  if (d.find_locked(r.id)) bad("the id already exists in this dataset", "give every scan a unique id (next_id())");
  r.offset = d.images.append(prepared.bytes);
  d.staged_ids.insert(r.id);
  d.staged.push_back(std::move(r));
}

void Dataset::commit() {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  if (d.staged.empty()) return;
  // 1. Pixels durable before any row references them.
  d.images.flush("is the disk full?");
  // 2. All staged rows in one transaction.
  exec(d.db, "BEGIN IMMEDIATE", d.db_path);
  for (const auto& r : d.staged) {
    Stmt& st = *d.insert_stmt;
    st.reset();
    bind_record(st, r);
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
      const std::string msg = sqlite3_errmsg(d.db);
      st.reset();
      sqlite3_exec(d.db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw InternalError(d.db_path, "cannot insert scan '" + r.id + "': " + msg, "is the disk full?");
    }
  }
  d.insert_stmt->reset();
  exec(d.db, "COMMIT", d.db_path);
  d.images.mark_committed();
  d.staged.clear();
  d.staged_ids.clear();
}

size_t Dataset::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt st(impl_->db, "SELECT count(*) FROM scans", impl_->db_path);
  st.step();
  return static_cast<size_t>(sqlite3_column_int64(st.get(), 0));
}

std::vector<ScanRecord> Dataset::records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->records_locked();
}

std::optional<ScanRecord> Dataset::find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->find_locked(id);
}

Scan Dataset::load(const std::string& id) const {
  std::optional<ScanRecord> r = find(id);
  if (!r)
    throw InputError(impl_->dir, "no scan with id '" + id + "'",
                     "list ids with: scintigen dataset info --ids " + impl_->dir);
  return impl_->load_record(*r);
}

Scan Dataset::load(const ScanRecord& record) const {
  return impl_->load_record(record);
}

void Dataset::set_splits(const std::vector<std::pair<std::string, std::string>>& id_split) {
  Impl& d = *impl_;
  d.require_writable("set splits");
  std::lock_guard<std::mutex> lock(d.mu);
  for (const auto& [id, split] : id_split) {
    for (char c : split)
      if (static_cast<unsigned char>(c) < 0x20)
        throw InputError(d.dir, "split name of scan '" + id + "' holds a control character",
                         "use names like train, val, test");
    if (!d.staged_ids.count(id) && !d.find_locked(id))
      throw InputError(d.dir, "no scan with id '" + id + "'", "list ids with: scintigen dataset info --ids " + d.dir);
  }
  exec(d.db, "BEGIN IMMEDIATE", d.db_path);
  try {
    Stmt st(d.db, "UPDATE scans SET split = ? WHERE id = ?", d.db_path);
    for (const auto& [id, split] : id_split) {
      st.reset();
      st.bind(1, split);
      st.bind(2, id);
      st.step();
    }
  } catch (const Error& e) {
    sqlite3_exec(d.db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw InternalError(d.db_path, "cannot set splits: " + e.reason(), "is the disk full?");
  }
  exec(d.db, "COMMIT", d.db_path);
  std::map<std::string, std::string> staged_split;
  for (const auto& [id, split] : id_split)
    if (d.staged_ids.count(id)) staged_split[id] = split;
  for (auto& r : d.staged)
    if (auto it = staged_split.find(r.id); it != staged_split.end()) r.split = it->second;
}

void Dataset::log_event(const std::string& command, const nlohmann::json& config) {
  Impl& d = *impl_;
  d.require_writable("log an event");
  std::lock_guard<std::mutex> lock(d.mu);
  insert_event(d.db, d.db_path, command, config);
}

std::vector<nlohmann::json> Dataset::history() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt st(impl_->db, "SELECT time, command, config_json FROM events ORDER BY id", impl_->db_path);
  std::vector<nlohmann::json> out;
  while (st.step()) {
    nlohmann::json config = nlohmann::json::parse(st.text(2), nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) config = st.text(2);
    out.push_back({{"time", st.text(0)}, {"command", st.text(1)}, {"config", config}});
  }
  return out;
}

VerifyReport Dataset::verify(bool rehash) const {
  const Impl& d = *impl_;
  VerifyReport rep;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file(d.json_path, 16u << 20));
    if (!j.is_object() || j.value("format", std::string()) != kFormatName ||
        j.value("schema_version", -1) != kDatasetSchemaVersion)
      rep.problems.push_back("dataset.json: format or schema version changed since the dataset was opened");
  } catch (const std::exception& e) {
    rep.problems.push_back(std::string("dataset.json: cannot be read: ") + e.what());
  }
  Impl::Structure s;
  try {
    std::lock_guard<std::mutex> lock(d.mu);
    s = d.check_structure_locked(true);
  } catch (const Error& e) {
    rep.problems.push_back("manifest.db: " + e.reason());
  }
  std::unordered_set<std::string> broken;
  for (const auto& p : s.problems) {
    rep.problems.push_back(p.text);
    broken.insert(p.text.substr(0, p.text.find(':')));
  }
  rep.scans_checked = s.records.size();
  for (const auto& r : s.records) {
    if (broken.count(r.id)) continue;
    if (r.pixel_sha256.size() != 64 || r.pixel_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
      rep.problems.push_back(r.id + ": pixel_sha256 is not 64 lowercase hex digits");
      continue;
    }
    if (!rehash) continue;
    try {
      const Scan sc = d.load_record(r);
      bool values_ok = true;
      for (View v : {kAnterior, kPosterior})
        values_ok &= sc.has_view(v) ? counts_valid(sc.view(v), sc.view_size()) : all_zero(sc.view(v), sc.view_size());
      if (!values_ok)
        rep.problems.push_back(r.id + ": pixels hold a negative or non-finite count, or data in a missing view");
      if (compute_pixel_sha256(sc) != r.pixel_sha256)
        rep.problems.push_back(r.id + ": pixels do not match pixel_sha256");
      ++rep.pixels_rehashed;
    } catch (const Error& e) {
      rep.problems.push_back(r.id + ": " + e.reason());
    }
  }
  rep.ok = rep.problems.empty();
  return rep;
}

std::string Dataset::next_id(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int& n = impl_->next_counter[prefix];  // ids are never removed: everything below n is taken
  if (n < 1) n = 1;
  for (;; ++n) {
    std::string id = fmt::format("{}{:06d}", prefix, n);
    if (!impl_->id_exists_locked(id)) return id;
  }
}

}  // namespace scintigen
