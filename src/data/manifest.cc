// manifest.db, the SQLite manifest (see manifest.h).

#include "data/manifest.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/version.h"
#include "data/pixel_codec.h"

namespace scintigen::detail {
namespace {

constexpr int kBusyTimeoutMs = 10000;

std::string label_column(const LabelField& f) {
  return std::string("label_") + f.name;
}

}  // namespace

Stmt::Stmt(sqlite3* db, const std::string& sql, const std::string& path) : db_(db), path_(path) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
    throw InputError(path, std::string("cannot read: ") + sqlite3_errmsg(db),
                     "the manifest is damaged or not a scintigen manifest");
}

bool Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw InputError(path_, std::string("cannot read: ") + sqlite3_errmsg(db_), "the manifest is damaged");
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::string Stmt::text(int col) const {
  const unsigned char* t = sqlite3_column_text(s_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
}

void Stmt::bind(int i, const std::string& v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
}

void Stmt::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
}

sqlite3* open_manifest(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    throw InputError(path, "cannot open: " + msg, "check that the file exists and is readable");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return db;
}

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

std::string scan_column_list() {
  std::string s;
  for (const auto& c : scan_columns()) s += (s.empty() ? "" : ", ") + c;
  return s;
}

std::string insert_scan_sql() {
  std::string q;
  for (size_t i = 0; i < scan_columns().size(); ++i) q += i ? ", ?" : "?";
  return fmt::format("INSERT INTO scans ({}) VALUES ({})", scan_column_list(), q);
}

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
  const std::optional<PixelDtype> d = dtype_from_name(dtype);
  if (!d) throw InputError(where, "dtype is '" + dtype + "', expected u16 or f32");
  r.dtype = *d;
  const int64_t off = sqlite3_column_int64(s, i++), nb = sqlite3_column_int64(s, i++);
  if (off < 0 || nb < 0) throw InputError(where, "negative offset or nbytes");
  r.offset = static_cast<uint64_t>(off);
  r.nbytes = static_cast<uint64_t>(nb);
  return r;
}

void insert_event(sqlite3* db, const std::string& path, const std::string& command, const nlohmann::json& config) {
  Stmt st(db, "INSERT INTO events (time, command, config_json) VALUES (?, ?, ?)", path);
  st.bind(1, utc_now_iso8601());
  st.bind(2, command);
  st.bind(3, config.dump());
  if (sqlite3_step(st.get()) != SQLITE_DONE)
    throw InternalError(path, std::string("cannot log event: ") + sqlite3_errmsg(db), "is the disk full?");
}

}  // namespace scintigen::detail
