// The study database (see store.h): schema, statements, the answer transaction.

#include "reader/store.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/sha256.h"
#include "reader/study.h"

namespace scintigen::reader {
namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 10000;

// UTC now with milliseconds: "2026-12-03T22:41:07.123Z".
std::string utc_now_ms() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms));
}

// One prepared statement, finalised on scope exit; errors name the database.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& where) : db_(db), where_(where) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw InputError(where, std::string("cannot read the study database: ") + sqlite3_errmsg(db),
                       "the file is damaged or not a scintigen reader study");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw InternalError(where_, std::string("SQLite: ") + sqlite3_errmsg(db_), "is the disk full or read-only?");
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, const std::optional<int>& v) {
    if (v)
      sqlite3_bind_int64(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
  }
  std::string text(int col) const {
    const auto* t = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return t ? std::string(t, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  std::optional<int> optional_int(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return static_cast<int>(sqlite3_column_int64(s_, col));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  std::string where_;
};

void exec(sqlite3* db, const char* sql, const std::string& where) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw InternalError(where, "SQLite: " + msg, "is the disk full or the folder read-only?");
  }
}

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cases (
  case_id TEXT PRIMARY KEY,
  idx INTEGER NOT NULL UNIQUE,
  origin TEXT NOT NULL CHECK (origin IN ('real', 'synthetic')),
  dataset TEXT NOT NULL,
  scan_id TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  anterior_png BLOB NOT NULL,
  posterior_png BLOB NOT NULL);
CREATE TABLE readers (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('reader', 'coordinator')),
  token_sha256 TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL UNIQUE);
CREATE TABLE reading_order (
  reader TEXT NOT NULL REFERENCES readers(name),
  position INTEGER NOT NULL,
  case_id TEXT NOT NULL REFERENCES cases(case_id),
  PRIMARY KEY (reader, position),
  UNIQUE (reader, case_id));
CREATE TABLE answers (
  reader TEXT NOT NULL REFERENCES readers(name),
  case_id TEXT NOT NULL REFERENCES cases(case_id),
  call TEXT NOT NULL CHECK (call IN ('', 'real', 'synthetic')),
  confidence INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 5),
  metastasis INTEGER CHECK (metastasis IN (0, 1)),
  grade INTEGER CHECK (grade BETWEEN 0 AND 3),
  revision INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (reader, case_id));
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  reader TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail_json TEXT NOT NULL);
)sql";

sqlite3* open_db(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    throw InputError(path, "cannot open the study database: " + msg, "is this a study folder made by reader create?");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // WAL: readers do not block the writer; synchronous FULL: a COMMIT is on disk (the WAL
  // fsynced) before it returns, so an acknowledged answer survives power loss, not only a crash.
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", path);
  return db;
}

Answer read_answer(const Stmt& s, int first_col) {
  Answer a;
  a.reader = s.text(first_col);
  a.case_id = s.text(first_col + 1);
  a.call = s.text(first_col + 2);
  a.confidence = static_cast<int>(s.integer(first_col + 3));
  a.metastasis = s.optional_int(first_col + 4);
  a.grade = s.optional_int(first_col + 5);
  a.revision = static_cast<int>(s.integer(first_col + 6));
  a.first_at = s.text(first_col + 7);
  a.updated_at = s.text(first_col + 8);
  return a;
}

constexpr const char* kAnswerColumns =
    "reader, case_id, call, confidence, metastasis, grade, revision, first_at, updated_at";

bool equal_constant_time(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool same_content(const Answer& a, const Answer& b) {
  return a.call == b.call && a.confidence == b.confidence && a.metastasis == b.metastasis && a.grade == b.grade;
}

nlohmann::json answer_to_json(const Answer& a) {
  nlohmann::json j;
  j["call"] = a.call.empty() ? nlohmann::json() : nlohmann::json(a.call);
  j["confidence"] = a.confidence == 0 ? nlohmann::json() : nlohmann::json(a.confidence);
  j["metastasis"] = a.metastasis ? nlohmann::json(*a.metastasis) : nlohmann::json();
  j["grade"] = a.grade ? nlohmann::json(*a.grade) : nlohmann::json();
  return j;
}

const char* to_string(PutResult p) {
  switch (p) {
    case PutResult::kRecorded:
      return "recorded";
    case PutResult::kUnchanged:
      return "unchanged";
    case PutResult::kChanged:
      return "changed";
  }
  return "?";
}

std::string token_hash(const std::string& token) {
  return sha256_hex(token);
}

struct StudyStore::Impl {
  std::string dir, path;
  sqlite3* db = nullptr;
  mutable std::mutex mu;
  nlohmann::json meta;
  size_t n = 0;
  // Immutable after create: held in memory so that serving a case needs no query.
  struct ReaderEntry {
    StudyReader reader;
    std::string token_sha256;
  };
  std::vector<ReaderEntry> readers;
  std::map<std::string, std::vector<std::string>> orders;

  // Group commit (put_answer): answers submitted at the same moment are written by one thread,
  // on a connection of its own, in one transaction, so one fsync acknowledges them all. Reads
  // use `db` meanwhile (WAL: a reader never waits for the writer).
  struct Pending {
    Answer answer;
    std::promise<PutResult> done;
  };
  sqlite3* writer_db = nullptr;
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::vector<Pending*> queue;
  bool closing = false;
  std::thread committer;

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(queue_mu);
      closing = true;
    }
    queue_cv.notify_all();
    if (committer.joinable()) committer.join();
    if (writer_db) sqlite3_close_v2(writer_db);
    if (db) sqlite3_close_v2(db);
  }

  void commit_loop();
  PutResult write_answer(const Answer& a);

  void load() {
    {
      Stmt s(db, "SELECT value FROM meta WHERE key = 'study'", path);
      if (!s.step())
        throw InputError(dir, "not a reader study (no study record)", "make one with scintigen reader create");
      meta = nlohmann::json::parse(s.text(0), nullptr, false);
      if (meta.is_discarded() || meta.value("format", "") != kStudyFormat)
        throw InputError(dir, "not a reader study (unknown format)", "make one with scintigen reader create");
    }
    {
      Stmt s(db, "SELECT count(*) FROM cases", path);
      s.step();
      n = static_cast<size_t>(s.integer(0));
    }
    readers.clear();
    orders.clear();
    {
      Stmt s(db, "SELECT name, role, token_sha256 FROM readers ORDER BY created", path);
      while (s.step()) readers.push_back({{s.text(0), s.text(1)}, s.text(2)});
    }
    {
      Stmt s(db, "SELECT reader, case_id FROM reading_order ORDER BY reader, position", path);
      while (s.step()) orders[s.text(0)].push_back(s.text(1));
    }
  }
};

StudyStore::StudyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StudyStore::~StudyStore() = default;
StudyStore::StudyStore(StudyStore&&) noexcept = default;
StudyStore& StudyStore::operator=(StudyStore&&) noexcept = default;

StudyStore StudyStore::create(const std::string& dir, const nlohmann::json& meta) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->path = (fs::path(dir) / kStudyDb).string();
  if (fs::exists(impl->path))
    throw InputError(impl->path, "already exists", "reader create makes a new study; choose another --out");
  impl->db = open_db(impl->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  exec(impl->db, "BEGIN", impl->path);
  exec(impl->db, kSchema, impl->path);
  {
    Stmt s(impl->db, "INSERT INTO meta VALUES ('schema_version', ?1), ('study', ?2)", impl->path);
    s.bind(1, std::to_string(kSchemaVersion));
    s.bind(2, meta.dump());
    s.step();
  }
  exec(impl->db, "COMMIT", impl->path);
  impl->meta = meta;
  return StudyStore(std::move(impl));
}

StudyStore StudyStore::open(const std::string& dir) {
  const std::string path = (fs::path(dir) / kStudyDb).string();
  if (!fs::is_directory(dir)) throw InputError(dir, "no such study folder", "make one with scintigen reader create");
  if (!fs::is_regular_file(path))
    throw InputError(dir, "not a reader study (no study.db)", "make one with scintigen reader create");
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->path = path;
  impl->db = open_db(path, SQLITE_OPEN_READWRITE);
  {
    Stmt s(impl->db, "SELECT value FROM meta WHERE key = 'schema_version'", path);
    if (!s.step() || s.text(0) != std::to_string(kSchemaVersion))
      throw InputError(dir, "not a reader study of this version", "make it with this scintigen's reader create");
  }
  impl->load();
  return StudyStore(std::move(impl));
}

const std::string& StudyStore::dir() const {
  return impl_->dir;
}
const nlohmann::json& StudyStore::meta() const {
  return impl_->meta;
}
std::string StudyStore::task() const {
  return impl_->meta.at("config").at("task").get<std::string>();
}
size_t StudyStore::n() const {
  return impl_->n;
}

void StudyStore::begin() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  exec(impl_->db, "BEGIN", impl_->path);
}

void StudyStore::commit() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  exec(impl_->db, "COMMIT", impl_->path);
  impl_->load();
}

void StudyStore::add_case(const StudyCase& c, const std::string& anterior_png, const std::string& posterior_png) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "INSERT INTO cases VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", impl_->path);
  s.bind(1, c.case_id);
  s.bind(2, static_cast<int64_t>(c.index));
  s.bind(3, c.origin);
  s.bind(4, c.dataset);
  s.bind(5, c.scan_id);
  s.bind(6, labels_to_json(c.labels).dump());
  s.bind_blob(7, anterior_png);
  s.bind_blob(8, posterior_png);
  s.step();
}

void StudyStore::add_reader(const std::string& name, const std::string& role, const std::string& token_sha256,
                            const std::vector<std::string>& order) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  {
    Stmt s(impl_->db, "INSERT INTO readers VALUES (?1, ?2, ?3, (SELECT count(*) FROM readers))", impl_->path);
    s.bind(1, name);
    s.bind(2, role);
    s.bind(3, token_sha256);
    s.step();
  }
  Stmt s(impl_->db, "INSERT INTO reading_order VALUES (?1, ?2, ?3)", impl_->path);
  for (size_t k = 0; k < order.size(); ++k) {
    s.reset();
    s.bind(1, name);
    s.bind(2, static_cast<int64_t>(k));
    s.bind(3, order[k]);
    s.step();
  }
}

std::optional<StudyReader> StudyStore::reader_for_token(const std::string& token) const {
  // Every stored hash is compared, each in constant time, and none ends the loop early: the
  // time taken does not depend on which reader (if any) holds the token.
  const std::string h = token_hash(token);
  std::optional<StudyReader> found;
  for (const auto& r : impl_->readers)
    if (equal_constant_time(h, r.token_sha256)) found = r.reader;
  return found;
}

const std::vector<std::string>& StudyStore::order(const std::string& reader) const {
  static const std::vector<std::string> kNone;
  const auto it = impl_->orders.find(reader);
  return it == impl_->orders.end() ? kNone : it->second;
}

std::optional<std::string> StudyStore::image(const std::string& case_id, View view) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db,
         view == kAnterior ? "SELECT anterior_png FROM cases WHERE case_id = ?1"
                           : "SELECT posterior_png FROM cases WHERE case_id = ?1",
         impl_->path);
  s.bind(1, case_id);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::optional<Answer> StudyStore::answer(const std::string& reader, const std::string& case_id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, fmt::format("SELECT {} FROM answers WHERE reader = ?1 AND case_id = ?2", kAnswerColumns).c_str(),
         impl_->path);
  s.bind(1, reader);
  s.bind(2, case_id);
  if (!s.step()) return std::nullopt;
  return read_answer(s, 0);
}

std::vector<Answer> StudyStore::answers_of(const std::string& reader) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db,
         fmt::format("SELECT {} FROM answers a WHERE reader = ?1 ORDER BY "
                     "(SELECT position FROM reading_order o WHERE o.reader = a.reader AND o.case_id = a.case_id)",
                     kAnswerColumns)
             .c_str(),
         impl_->path);
  s.bind(1, reader);
  std::vector<Answer> out;
  while (s.step()) out.push_back(read_answer(s, 0));
  return out;
}

PutResult StudyStore::put_answer(const Answer& a) {
  Impl& im = *impl_;
  Impl::Pending p{a, {}};
  std::future<PutResult> result = p.done.get_future();
  {
    std::lock_guard<std::mutex> lock(im.queue_mu);
    if (!im.committer.joinable()) {
      im.writer_db = open_db(im.path, SQLITE_OPEN_READWRITE);
      im.committer = std::thread([&im] { im.commit_loop(); });
    }
    im.queue.push_back(&p);
  }
  im.queue_cv.notify_one();
  return result.get();  // rethrows the batch's error
}

void StudyStore::Impl::commit_loop() {
  for (;;) {
    std::vector<Pending*> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mu);
      queue_cv.wait(lock, [&] { return closing || !queue.empty(); });
      if (queue.empty()) return;
      batch.swap(queue);
    }
    std::vector<PutResult> results;
    try {
      exec(writer_db, "BEGIN IMMEDIATE", path);
      for (Pending* p : batch) results.push_back(write_answer(p->answer));
      exec(writer_db, "COMMIT", path);
    } catch (...) {
      sqlite3_exec(writer_db, "ROLLBACK", nullptr, nullptr, nullptr);
      for (Pending* p : batch) p->done.set_exception(std::current_exception());
      continue;
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(results[i]);
  }
}

// One answer inside the batch's transaction: compared with the stored one, then inserted or
// updated with its event-log row (an unchanged answer writes nothing).
PutResult StudyStore::Impl::write_answer(const Answer& a) {
  sqlite3* wdb = writer_db;
  std::optional<Answer> old;
  {
    Stmt s(wdb, fmt::format("SELECT {} FROM answers WHERE reader = ?1 AND case_id = ?2", kAnswerColumns).c_str(), path);
    s.bind(1, a.reader);
    s.bind(2, a.case_id);
    if (s.step()) old = read_answer(s, 0);
  }
  if (old && same_content(*old, a)) return PutResult::kUnchanged;
  const std::string now = utc_now_ms();
  {
    Stmt s(wdb,
           "INSERT INTO answers VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7) "
           "ON CONFLICT (reader, case_id) DO UPDATE SET call = ?3, confidence = ?4, metastasis = ?5, grade = ?6, "
           "revision = revision + 1, updated_at = ?7",
           path);
    s.bind(1, a.reader);
    s.bind(2, a.case_id);
    s.bind(3, a.call);
    s.bind(4, static_cast<int64_t>(a.confidence));
    s.bind(5, a.metastasis);
    s.bind(6, a.grade);
    s.bind(7, now);
    s.step();
  }
  nlohmann::json detail = {{"case", a.case_id}, {"answer", answer_to_json(a)}};
  if (old) detail["previous"] = answer_to_json(*old);
  Stmt s(wdb, "INSERT INTO events (at, reader, kind, detail_json) VALUES (?1, ?2, ?3, ?4)", path);
  s.bind(1, now);
  s.bind(2, a.reader);
  s.bind(3, std::string(old ? "answer_changed" : "answer"));
  s.bind(4, detail.dump());
  s.step();
  return old ? PutResult::kChanged : PutResult::kRecorded;
}

size_t StudyStore::answered(const std::string& reader) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "SELECT count(*) FROM answers WHERE reader = ?1", impl_->path);
  s.bind(1, reader);
  s.step();
  return static_cast<size_t>(s.integer(0));
}

void StudyStore::log_event(const std::string& reader, const std::string& kind, const nlohmann::json& detail) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "INSERT INTO events (at, reader, kind, detail_json) VALUES (?1, ?2, ?3, ?4)", impl_->path);
  s.bind(1, utc_now_ms());
  s.bind(2, reader);
  s.bind(3, kind);
  s.bind(4, detail.dump());
  s.step();
}

StudyData StudyStore::snapshot() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  const std::string& path = impl_->path;
  StudyData d;
  d.meta = impl_->meta;
  exec(db, "BEGIN", path);
  try {
    {
      Stmt s(db, "SELECT case_id, idx, origin, dataset, scan_id, labels_json FROM cases ORDER BY idx", path);
      while (s.step()) {
        StudyCase c;
        c.case_id = s.text(0);
        c.index = static_cast<size_t>(s.integer(1));
        c.origin = s.text(2);
        c.dataset = s.text(3);
        c.scan_id = s.text(4);
        c.labels = labels_from_json(nlohmann::json::parse(s.text(5)), path + ": case " + c.case_id);
        d.cases.push_back(std::move(c));
      }
    }
    for (const auto& r : impl_->readers)
      if (r.reader.role == "reader") d.readers.push_back(r.reader);
    {
      Stmt s(db,
             fmt::format("SELECT {} FROM answers a JOIN readers r ON r.name = a.reader JOIN cases c ON c.case_id = "
                         "a.case_id WHERE r.role = 'reader' ORDER BY r.created, c.idx",
                         "a.reader, a.case_id, a.call, a.confidence, a.metastasis, a.grade, a.revision, a.first_at, "
                         "a.updated_at")
                 .c_str(),
             path);
      while (s.step()) d.answers.push_back(read_answer(s, 0));
    }
    exec(db, "COMMIT", path);
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return d;
}

std::vector<StudyEvent> StudyStore::events() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt s(impl_->db, "SELECT seq, at, reader, kind, detail_json FROM events ORDER BY seq", impl_->path);
  std::vector<StudyEvent> out;
  while (s.step())
    out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), nlohmann::json::parse(s.text(4), nullptr, false)});
  return out;
}

}  // namespace scintigen::reader
