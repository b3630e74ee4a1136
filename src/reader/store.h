// The study folder's database (<study>/study.db, SQLite in WAL mode with synchronous=FULL): the
// cases with their server-rendered images, the readers (token hashes only), each reader's
// reading order, the answers and an event log. docs/READER.md "The study database".
//
//   StudyStore s = StudyStore::open("study");
//   std::optional<StudyReader> r = s.reader_for_token(token);   // constant time per reader
//   PutResult p = s.put_answer(answer);                          // durable when it returns
//   StudyData d = s.snapshot();                                  // what `reader report` reads
//
// Thread-safe (the server's threads share one store): reads on one connection behind a mutex;
// answers through a group commit (put_answer queues the answer; one writer thread, on its own
// connection, writes all answers queued at that moment in one transaction), so concurrent
// readers share an fsync. put_answer returns only after that COMMIT, so an acknowledged answer
// survives a crash of the process or of the machine.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/scan.h"

namespace scintigen::reader {

inline constexpr const char* kStudyDb = "study.db";

struct StudyCase {
  std::string case_id;  // random, opaque: the only id a reader sees
  size_t index = 0;     // 0-based place in the case list (real cases first)
  std::string origin;   // "real" | "synthetic"
  std::string dataset;  // path of the dataset it came from, as given to create
  std::string scan_id;  // its id there
  Labels labels;        // its labels there (the synthetic scan's requested condition)
};

struct StudyReader {
  std::string name;
  std::string role;  // "reader" | "coordinator"
};

struct Answer {
  std::string reader, case_id;
  std::string call;                  // "real" | "synthetic" ("" when the task has no realness question)
  int confidence = 0;                // 1 (guess) .. 5 (certain); 0 when there is no call
  std::optional<int> metastasis;     // 0 | 1, with a diagnosis task
  std::optional<int> grade;          // Perugini 0..3, with a diagnosis task
  int revision = 1;                  // 1 + the number of changes
  std::string first_at, updated_at;  // UTC, ISO 8601 with milliseconds
};

// The answer's content (call, confidence, metastasis, grade), for comparing submissions.
bool same_content(const Answer& a, const Answer& b);
nlohmann::json answer_to_json(const Answer& a);  // {"call", "confidence", "metastasis", "grade"} (null when unset)

struct StudyEvent {
  int64_t seq = 0;
  std::string at, reader, kind;  // kind: created, signed_in, answer, answer_changed, ...
  nlohmann::json detail;
};

// Everything `reader report` needs, read in one transaction.
struct StudyData {
  nlohmann::json meta;               // format, format_version, config (CreateConfig::to_json), created, versions
  std::vector<StudyCase> cases;      // by index
  std::vector<StudyReader> readers;  // role "reader" only, in create order
  std::vector<Answer> answers;       // by reader (create order), then case index
};

enum class PutResult { kRecorded, kUnchanged, kChanged };
const char* to_string(PutResult p);  // "recorded" | "unchanged" | "changed"

class StudyStore {
 public:
  // Creates <dir>/study.db (the folder must exist; the database must not).
  static StudyStore create(const std::string& dir, const nlohmann::json& meta);
  // Opens an existing study; InputError naming the folder when it is not one.
  static StudyStore open(const std::string& dir);
  ~StudyStore();
  StudyStore(StudyStore&&) noexcept;
  StudyStore& operator=(StudyStore&&) noexcept;

  const std::string& dir() const;
  const nlohmann::json& meta() const;
  std::string task() const;  // meta.config.task
  size_t n() const;          // cases

  // ---- create (one transaction: begin, add..., commit) ----
  void begin();
  void commit();
  void add_case(const StudyCase& c, const std::string& anterior_png, const std::string& posterior_png);
  // `order`: the reader's case ids by position (empty for the coordinator)
  void add_reader(const std::string& name, const std::string& role, const std::string& token_sha256,
                  const std::vector<std::string>& order);

  // ---- serve ----
  // The reader holding `token`: its SHA-256 compared with every reader's in constant time.
  std::optional<StudyReader> reader_for_token(const std::string& token) const;
  // The reader's case ids by position (0-based); empty for a coordinator or an unknown name.
  const std::vector<std::string>& order(const std::string& reader) const;
  // The case's PNG of one view (every case's images have the same byte size), or nullopt.
  std::optional<std::string> image(const std::string& case_id, View view) const;
  std::optional<Answer> answer(const std::string& reader, const std::string& case_id) const;
  std::vector<Answer> answers_of(const std::string& reader) const;
  // Records, ignores (same content) or changes the reader's answer, logging the event, in one
  // committed transaction. Sets first_at / updated_at / revision itself.
  PutResult put_answer(const Answer& a);
  size_t answered(const std::string& reader) const;
  void log_event(const std::string& reader, const std::string& kind, const nlohmann::json& detail);

  // ---- analysis ----
  StudyData snapshot() const;
  std::vector<StudyEvent> events() const;

 private:
  struct Impl;
  explicit StudyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The SHA-256 (hex) of a token, as stored.
std::string token_hash(const std::string& token);

}  // namespace scintigen::reader
