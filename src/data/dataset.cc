#include "data/dataset.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
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

namespace fs = std::filesystem;

namespace scintigen {

namespace {

constexpr const char* kFormatName = "scintigen-dataset";
constexpr uint64_t kAlignment = 64;
constexpr int kBusyTimeoutMs = 10000;

uint64_t align_up(uint64_t x) {
  return (x + kAlignment - 1) / kAlignment * kAlignment;
}

size_t bytes_per_value(PixelDtype d) {
  return d == PixelDtype::kUint16 ? 2 : 4;
}
const char* dtype_name(PixelDtype d) {
  return d == PixelDtype::kUint16 ? "u16" : "f32";
}

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

std::string errno_text() {
  return std::strerror(errno);
}

constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// Little-endian encoding of the (2, H, W) array.
std::vector<unsigned char> encode_pixels(const std::vector<float>& px, PixelDtype dtype) {
  std::vector<unsigned char> out(px.size() * bytes_per_value(dtype));
  if (dtype == PixelDtype::kUint16) {
    if (kLittleEndian) {
      for (size_t i = 0; i < px.size(); ++i) {
        const auto v = static_cast<uint16_t>(static_cast<int32_t>(px[i]));
        std::memcpy(out.data() + 2 * i, &v, 2);
      }
    } else {
      for (size_t i = 0; i < px.size(); ++i) {
        const auto v = static_cast<uint16_t>(px[i]);
        out[2 * i] = static_cast<unsigned char>(v);
        out[2 * i + 1] = static_cast<unsigned char>(v >> 8);
      }
    }
  } else if (kLittleEndian) {
    std::memcpy(out.data(), px.data(), out.size());
  } else {
    for (size_t i = 0; i < px.size(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, &px[i], 4);
      for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<unsigned char>(bits >> (8 * b));
    }
  }
  return out;
}

void decode_pixels(const unsigned char* in, size_t n, PixelDtype dtype, float* out) {
  if (dtype == PixelDtype::kUint16) {
    if (kLittleEndian) {
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, in + 2 * i, 2);
        out[i] = static_cast<float>(v);
      }
    } else {
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(static_cast<uint16_t>(in[2 * i] | (in[2 * i + 1] << 8)));
    }
  } else if (kLittleEndian) {
    std::memcpy(out, in, 4 * n);
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits = 0;
      for (int b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(in[4 * i + b]) << (8 * b);
      std::memcpy(&out[i], &bits, 4);
    }
  }
}

// True when every value is finite and >= 0.
bool counts_valid(const float* p, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= (p[i] < 0.f) | (p[i] > std::numeric_limits<float>::max()) | (p[i] != p[i]);
  return !bad;
}

bool all_zero(const float* p, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= p[i] != 0.f;
  return !bad;
}

// True when every value is an integer in 0..65535 with its sign bit clear, checked exactly.
// Call only on valid counts (finite, >= 0).
bool all_uint16(const float* p, size_t n) {
  // Branch-free blocks (the compiler vectorises them), stopping after the first bad block.
  constexpr size_t kBlock = 4096;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    int bad = 0;
    for (size_t i = b; i < e; ++i) {
      const float x = std::min(p[i], 65536.f);  // keeps the int conversion defined
      uint32_t bits;
      std::memcpy(&bits, &x, 4);
      bad |= (x > 65535.f) | (static_cast<float>(static_cast<int32_t>(x)) != x) | static_cast<int>(bits >> 31);
    }
    if (bad) return false;
  }
  return true;
}

void write_all_at(int fd, const unsigned char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw InternalError(path, "write failed: " + errno_text(), "is the disk full?");
    }
    p += w, n -= static_cast<size_t>(w), off += static_cast<uint64_t>(w);
  }
}

// Returns false on end of file before n bytes.
bool read_all_at(int fd, unsigned char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw InputError(path, "read failed: " + errno_text());
    }
    if (r == 0) return false;
    p += r, n -= static_cast<size_t>(r), off += static_cast<uint64_t>(r);
  }
  return true;
}

uint64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(path, "cannot stat: " + errno_text());
  return static_cast<uint64_t>(st.st_size);
}

std::string label_column(const LabelField& f) {
  return std::string("label_") + f.name;
}

// The manifest's scans columns, in the order rows are read and written.
const std::vector<std::string>& scan_columns() {
  static const std::vector<std::string> kColumns = [] {
    std::vector<std::string> c = {"id", "height", "width", "views", "spacing_row_mm", "spacing_col_mm"};
    for (const auto& f : label_fields()) c.push_back(label_column(f));
    for (const char* x :
         {"origin", "source", "split", "meta_json", "pixel_sha256", "dtype", "offset", "nbytes", "added_at"})
      c.push_back(x);
    return c;
  }();
  return kColumns;
}

std::string join_columns() {
  std::string s;
  for (const auto& c : scan_columns()) s += (s.empty() ? "" : ", ") + c;
  return s;
}

std::string schema_sql() {
  std::string labels;
  for (const auto& f : label_fields()) {
    const std::string t = f.type;
    labels += fmt::format("  {} {},\n", label_column(f), t == "int" ? "INTEGER" : t == "float" ? "REAL" : "TEXT");
  }
  return fmt::format(
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
      "INSERT INTO meta VALUES ('schema_version', '{}');\n"
      "CREATE TABLE scans (\n"
      "  id TEXT PRIMARY KEY,\n"
      "  height INTEGER NOT NULL,\n"
      "  width INTEGER NOT NULL,\n"
      "  views TEXT NOT NULL,\n"
      "  spacing_row_mm REAL NOT NULL,\n"
      "  spacing_col_mm REAL NOT NULL,\n"
      "{}"
      "  origin TEXT NOT NULL,\n"
      "  source TEXT NOT NULL,\n"
      "  split TEXT NOT NULL,\n"
      "  meta_json TEXT NOT NULL,\n"
      "  pixel_sha256 TEXT NOT NULL,\n"
      "  dtype TEXT NOT NULL CHECK (dtype IN ('u16', 'f32')),\n"
      "  offset INTEGER NOT NULL,\n"
      "  nbytes INTEGER NOT NULL,\n"
      "  added_at TEXT NOT NULL);\n"
      "CREATE TABLE events (id INTEGER PRIMARY KEY, time TEXT NOT NULL, command TEXT NOT NULL, config_json TEXT NOT "
      "NULL);\n",
      kDatasetSchemaVersion, labels);
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
      throw InputError(path, std::string("cannot read: ") + sqlite3_errmsg(db),
                       "the manifest is damaged or not a scintigen manifest");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  // True while rows come; throws on errors.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw InputError(path_, std::string("cannot read: ") + sqlite3_errmsg(db_), "the manifest is damaged");
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
  }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(s_, i, v); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  std::string path_;
};

void exec(sqlite3* db, const std::string& sql, const std::string& path) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw InternalError(path, "SQLite: " + msg, "is the disk full or the folder read-only?");
  }
}

std::string pragma_text(sqlite3* db, const std::string& sql, const std::string& path) {
  Stmt st(db, sql, path);
  return st.step() ? st.text(0) : "";
}

// Binds a record to the insert statement (parameters in scan_columns() order).
void bind_record(Stmt& st, const ScanRecord& r) {
  int i = 1;
  st.bind(i++, r.id);
  st.bind(i++, static_cast<int64_t>(r.height));
  st.bind(i++, static_cast<int64_t>(r.width));
  st.bind(i++, std::string(to_string(r.views)));
  st.bind(i++, r.spacing_row_mm);
  st.bind(i++, r.spacing_col_mm);
  const nlohmann::json lj = labels_to_json(r.labels);
  for (const auto& f : label_fields()) {
    const int k = i++;
    if (!lj.contains(f.name)) continue;  // NULL
    const auto& v = lj[f.name];
    if (v.is_number_integer())
      st.bind(k, v.get<int64_t>());
    else if (v.is_number())
      st.bind(k, v.get<double>());
    else
      st.bind(k, v.get<std::string>());
  }
  st.bind(i++, std::string(to_string(r.origin)));
  st.bind(i++, r.source);
  st.bind(i++, r.split);
  st.bind(i++, r.meta.dump());
  st.bind(i++, r.pixel_sha256);
  st.bind(i++, std::string(dtype_name(r.dtype)));
  st.bind(i++, static_cast<int64_t>(r.offset));
  st.bind(i++, static_cast<int64_t>(r.nbytes));
  st.bind(i++, utc_now_iso8601());
}

// Reads a full row (columns in scan_columns() order). Throws InputError naming `path`.
ScanRecord read_record(const Stmt& st, const std::string& path) {
  sqlite3_stmt* s = st.get();
  ScanRecord r;
  int i = 0;
  r.id = st.text(i++);
  const std::string where = path + ": scan '" + r.id + "'";
  r.height = sqlite3_column_int(s, i++);
  r.width = sqlite3_column_int(s, i++);
  r.views = view_set_from_string(st.text(i++), where);
  r.spacing_row_mm = sqlite3_column_double(s, i++);
  r.spacing_col_mm = sqlite3_column_double(s, i++);
  nlohmann::json lj = nlohmann::json::object();
  for (const auto& f : label_fields()) {
    const int k = i++;
    switch (sqlite3_column_type(s, k)) {
      case SQLITE_INTEGER:
        lj[f.name] = sqlite3_column_int64(s, k);
        break;
      case SQLITE_FLOAT:
        lj[f.name] = sqlite3_column_double(s, k);
        break;
      case SQLITE_NULL:
        break;
      default:
        lj[f.name] = st.text(k);
        break;
    }
  }
  r.labels = labels_from_json(lj, where);
  r.origin = origin_from_string(st.text(i++), where);
  r.source = st.text(i++);
  r.split = st.text(i++);
  try {
    r.meta = nlohmann::json::parse(st.text(i++));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, std::string("meta_json cannot be parsed: ") + e.what());
  }
  if (!r.meta.is_object()) throw InputError(where, "meta_json is not a JSON object");
  r.pixel_sha256 = st.text(i++);
  const std::string dtype = st.text(i++);
  if (dtype != "u16" && dtype != "f32") throw InputError(where, "dtype is '" + dtype + "', expected u16 or f32");
  r.dtype = dtype == "u16" ? PixelDtype::kUint16 : PixelDtype::kFloat32;
  const int64_t off = sqlite3_column_int64(s, i++), nb = sqlite3_column_int64(s, i++);
  if (off < 0 || nb < 0) throw InputError(where, "negative offset or nbytes");
  r.offset = static_cast<uint64_t>(off);
  r.nbytes = static_cast<uint64_t>(nb);
  return r;
}

// The structural problem of one record against an image store of `images_size` bytes, or "".
std::string record_problem(const ScanRecord& r, uint64_t images_size) {
  if (r.height <= 0 || r.width <= 0) return fmt::format("invalid shape {}x{}", r.height, r.width);
  const uint64_t expect =
      2ull * static_cast<uint64_t>(r.height) * static_cast<uint64_t>(r.width) * bytes_per_value(r.dtype);
  if (r.nbytes != expect)
    return fmt::format("nbytes is {}, but 2 x {} x {} {} needs {}", r.nbytes, r.height, r.width, dtype_name(r.dtype),
                       expect);
  if (r.offset % kAlignment != 0) return fmt::format("offset {} is not {}-byte aligned", r.offset, kAlignment);
  if (r.offset + r.nbytes > images_size)
    return fmt::format("pixels at bytes {}..{} lie beyond the end of images.bin ({} bytes)", r.offset,
                       r.offset + r.nbytes, images_size);
  return "";
}

}  // namespace

struct Dataset::Impl {
  std::string dir, json_path, db_path, images_path;
  nlohmann::json info;
  bool writable = false;
  int lock_fd = -1;
  int images_fd = -1;
  sqlite3* db = nullptr;
  std::unique_ptr<Stmt> insert_stmt;
  mutable std::unique_ptr<Stmt> find_stmt;

  mutable std::mutex mu;       // guards db, the statements and what follows
  uint64_t committed_end = 0;  // end of the last committed record in images.bin
  uint64_t append_pos = 0;     // end of the last staged record
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
    if (writable && images_fd >= 0 && !staged.empty()) {
      // Staged, uncommitted scans are dropped: cut their pixels off (we hold the writer lock).
      if (::ftruncate(images_fd, static_cast<off_t>(committed_end)) == 0) ::fsync(images_fd);
    }
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
    if (images_fd >= 0) ::close(images_fd);
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
    images_fd = lock_fd = -1;
  }

  void require_writable(const char* what) const {
    if (!writable)
      throw InputError(dir, std::string("cannot ") + what + ": the dataset was opened read-only",
                       "open it with Dataset::open(dir, /*writable=*/true)");
  }

  void take_writer_lock() {
    lock_fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0)
      throw InputError(dir + "/lock", "cannot open for writing: " + errno_text(),
                       "is the folder read-only? open the dataset read-only");
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const bool busy = errno == EWOULDBLOCK;
      ::close(lock_fd);
      lock_fd = -1;
      if (busy)
        throw InputError(dir, "dataset is being written by another process",
                         "wait for it to finish, or write to a new dataset");
      throw InputError(dir + "/lock", "cannot lock: " + errno_text());
    }
  }

  void open_db(int flags) {
    if (sqlite3_open_v2(db_path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close_v2(db);
      db = nullptr;
      throw InputError(db_path, "cannot open: " + msg, "check that the file exists and is readable");
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
  }

  // Puts a writer's connection into WAL with a full fsync at every commit. Where WAL is not
  // supported (some network file systems) SQLite stays in its rollback journal, also atomic.
  void configure_writer_pragmas() {
    pragma_text(db, "PRAGMA journal_mode=WAL", db_path);
    exec(db, "PRAGMA synchronous=FULL", db_path);
  }

  void prepare_insert() {
    insert_stmt = std::make_unique<Stmt>(db,
                                         fmt::format("INSERT INTO scans ({}) VALUES ({})", join_columns(),
                                                     [] {
                                                       std::string q;
                                                       for (size_t i = 0; i < scan_columns().size(); ++i)
                                                         q += i ? ", ?" : "?";
                                                       return q;
                                                     }()),
                                         db_path);
  }

  std::optional<ScanRecord> find_locked(const std::string& id) const {
    if (!find_stmt)
      find_stmt = std::make_unique<Stmt>(db, "SELECT " + join_columns() + " FROM scans WHERE id = ?", db_path);
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
    Stmt st(db, "SELECT " + join_columns() + " FROM scans ORDER BY rowid", db_path);
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
      Stmt st(db, "SELECT " + join_columns() + " FROM scans ORDER BY rowid", db_path);
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
        if (dtype != "u16" && dtype != "f32") {
          s.problems.push_back({db_path, r.id + ": dtype is '" + dtype + "', expected u16 or f32"});
          continue;
        }
        r.dtype = dtype == "u16" ? PixelDtype::kUint16 : PixelDtype::kFloat32;
        r.offset = static_cast<uint64_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 4)));
        r.nbytes = static_cast<uint64_t>(std::max<int64_t>(0, sqlite3_column_int64(st.get(), 5)));
        s.records.push_back(std::move(r));
      }
    }
    // Size after reading the rows: the store only grows past committed records.
    const uint64_t size = file_size(images_fd, images_path);
    std::vector<std::pair<uint64_t, const ScanRecord*>> by_offset;
    for (const auto& r : s.records) {
      const std::string p = record_problem(r, size);
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
    const std::string p = record_problem(r, std::numeric_limits<uint64_t>::max());
    if (!p.empty()) throw InputError(db_path, "scan '" + r.id + "': " + p, "run verify on the dataset");
    Scan s;
    s.id = r.id;
    s.height = r.height;
    s.width = r.width;
    s.views = r.views;
    s.spacing_row_mm = r.spacing_row_mm;
    s.spacing_col_mm = r.spacing_col_mm;
    s.labels = r.labels;
    s.origin = r.origin;
    s.source = r.source;
    s.split = r.split;
    s.meta = r.meta;
    s.pixel_sha256 = r.pixel_sha256;
    std::vector<unsigned char> raw(r.nbytes);
    if (!read_all_at(images_fd, raw.data(), raw.size(), r.offset, images_path))
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
  impl->images_fd = ::open(impl->images_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (impl->images_fd < 0) throw InternalError(impl->images_path, "cannot create: " + errno_text());
  impl->open_db(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  impl->configure_writer_pragmas();
  exec(impl->db, "BEGIN IMMEDIATE;" + schema_sql() + "COMMIT;", impl->db_path);
  impl->prepare_insert();
  const std::string command = config.is_object() && config.contains("command") && config["command"].is_string()
                                  ? config["command"].get<std::string>()
                                  : "create";
  {
    Stmt st(impl->db, "INSERT INTO events (time, command, config_json) VALUES (?, ?, ?)", impl->db_path);
    st.bind(1, utc_now_iso8601());
    st.bind(2, command);
    st.bind(3, config.dump());
    st.step();
  }
  if (::fsync(impl->images_fd) != 0) throw InternalError(impl->images_path, "cannot flush: " + errno_text());
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
  d.images_fd = ::open(d.images_path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (d.images_fd < 0)
    throw InputError(d.images_path, std::string("cannot open") + (writable ? " for writing: " : ": ") + errno_text());
  // A reader never writes: plain read-only connection (no -wal/-shm created for a manifest at rest).
  d.open_db(writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
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
    d.committed_end = d.append_pos = s.end;
    if (file_size(d.images_fd, d.images_path) > s.end) {
      if (::ftruncate(d.images_fd, static_cast<off_t>(s.end)) != 0 || ::fsync(d.images_fd) != 0)
        throw InternalError(d.images_path, "cannot truncate uncommitted bytes: " + errno_text());
    }
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
  const std::string who = scan.id.empty() ? std::string("the scan") : "scan '" + scan.id + "'";  // ingest prepares before ids
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
  r.id = scan.id;
  r.height = scan.height;
  r.width = scan.width;
  r.views = scan.views;
  r.spacing_row_mm = scan.spacing_row_mm;
  r.spacing_col_mm = scan.spacing_col_mm;
  r.labels = scan.labels;
  r.origin = scan.origin;
  r.source = scan.source;
  r.split = scan.split;
  r.meta = scan.meta;
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
      r.nbytes != 2 * static_cast<uint64_t>(r.height) * r.width * (r.dtype == PixelDtype::kUint16 ? 2 : 4))
    throw InternalError(d.dir, who + ": prepared pixels do not match the record", "use Dataset::prepare");

  std::lock_guard<std::mutex> lock(d.mu);
  if (d.staged_ids.count(r.id))
    bad("the id is already staged in this dataset", "give every scan a unique id (next_id())");
  if (d.find_locked(r.id)) bad("the id already exists in this dataset", "give every scan a unique id (next_id())");
  r.offset = align_up(d.append_pos);
  write_all_at(d.images_fd, prepared.bytes.data(), prepared.bytes.size(), r.offset, d.images_path);
  d.append_pos = r.offset + r.nbytes;
  d.staged_ids.insert(r.id);
  d.staged.push_back(std::move(r));
}

void Dataset::commit() {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  if (d.staged.empty()) return;
  // 1. Pixels durable before any row references them.
  if (::fsync(d.images_fd) != 0)
    throw InternalError(d.images_path, "cannot flush: " + errno_text(), "is the disk full?");
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
  d.committed_end = d.append_pos;
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
  Stmt st(d.db, "INSERT INTO events (time, command, config_json) VALUES (?, ?, ?)", d.db_path);
  st.bind(1, utc_now_iso8601());
  st.bind(2, command);
  st.bind(3, config.dump());
  if (sqlite3_step(st.get()) != SQLITE_DONE)
    throw InternalError(d.db_path, std::string("cannot log event: ") + sqlite3_errmsg(d.db), "is the disk full?");
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
