// manifest.db, the SQLite manifest of a dataset: its schema, and scan records and history
// events as rows (internal to src/data; the public API is dataset.h).
//
//   sqlite3* db = open_manifest("ds/manifest.db", SQLITE_OPEN_READWRITE);
//   Stmt st(db, "SELECT " + scan_column_list() + " FROM scans", path);
//   while (st.step()) records.push_back(read_record(st, path));
//
// Tables: meta (schema_version), scans (one row per scan, columns in scan_columns() order, a
// label_<name> column per label field) and events (time, command, config_json).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace scintigen::detail {

// A prepared statement, finalized on scope exit. Errors name `path` (the manifest).
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql, const std::string& path);
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  // True while rows come; throws InputError on errors.
  bool step();
  void reset();
  std::string text(int col) const;
  void bind(int i, const std::string& v);
  void bind(int i, int64_t v);
  void bind(int i, double v);

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  std::string path_;
};

// Opens the manifest with `flags` (SQLITE_OPEN_*), extended result codes and a busy timeout;
// InputError when it cannot.
sqlite3* open_manifest(const std::string& path, int flags);
// Runs `sql`; InternalError naming `path` on failure.
void exec(sqlite3* db, const std::string& sql, const std::string& path);
// The first column of the first row of `sql` (a PRAGMA), "" when there is none.
std::string pragma_text(sqlite3* db, const std::string& sql, const std::string& path);

// The statements that create an empty manifest (schema version kDatasetSchemaVersion).
std::string schema_sql();
// The scans columns, in the order rows are read and written.
const std::vector<std::string>& scan_columns();
// scan_columns() as "id, height, ...", for SELECT and INSERT.
std::string scan_column_list();
// INSERT INTO scans with one parameter per column; bind_record fills it.
std::string insert_scan_sql();
// Binds a record, stamped with the current time, to the insert statement.
void bind_record(Stmt& st, const ScanRecord& r);
// Reads a full row (columns in scan_columns() order). Throws InputError naming `path` and the
// scan when a value is out of its domain.
ScanRecord read_record(const Stmt& st, const std::string& path);

// Appends an event (command, config, now) to the history; InternalError on failure.
void insert_event(sqlite3* db, const std::string& path, const std::string& command, const nlohmann::json& config);

}  // namespace scintigen::detail
