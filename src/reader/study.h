// A blinded reader study (docs/READER.md): `scintigen reader create` picks the cases and makes
// the study folder; `reader serve` (reader/server.h) lets physicians read in the browser;
// `reader report` (reader/report.h) analyses their answers.
//
//   CreateConfig c;
//   c.real = "sim";  c.synthetic = "syn";  c.n = 40;  c.readers = {"a", "b", "c", "d"};
//   c.task = "both";  c.seed = 1;  c.out = "study";
//   CreateResult r = create_study(c, &sink);   // r.tokens: shown once, also in study/tokens.txt
//
// The case list: n / 2 real and n / 2 synthetic scans, matched on the labels named by --match
// (each real case has a synthetic partner with the same values), so a finding does not give
// the origin away. Every reader reads every case, each in an order of their own. Case ids are
// random (a cryptographic generator, not --seed) and opaque; the seed decides which scans are
// chosen and the reading orders. Tokens: 256 random bits each, printed once and written to
// <out>/tokens.txt (mode 0600); the study keeps only their SHA-256.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"

namespace scintigen::reader {

inline constexpr const char* kStudyFormat = "scintigen-reader-study";
inline constexpr int kStudyFormatVersion = 1;

// What readers answer: "realness" (real or synthetic, confidence 1-5), "diagnosis" (metastasis
// yes/no and Perugini grade 0-3) or "both".
bool task_has_realness(const std::string& task);
bool task_has_diagnosis(const std::string& task);

struct CreateConfig {
  std::string real;                  // dataset of real (or simulator) scans
  std::string synthetic;             // dataset of synthetic scans
  std::string out;                   // study folder to create (must not exist, or be empty)
  size_t n = 40;                     // cases, even: n / 2 of each origin
  std::vector<std::string> readers;  // reader names, [A-Za-z0-9_.-]{1,32}, distinct, at least 1
  std::string task = "realness";     // realness | diagnosis | both
  // labels a real case and its synthetic partner share (core/labels.h names); a missing value
  // is a value of its own
  std::vector<std::string> match = {"metastasis", "cardiac_grade", "tracer"};
  double margin = 0.15;  // equivalence margin of accuracy around 0.5 (two one-sided tests)
  uint64_t seed = 1;
  // display grid of every case (both origins resampled to it, counts preserved); 0 = the real
  // dataset's grid when all its scans share one
  int height = 0, width = 0;
  void validate() const;  // ConfigError naming the flag
  nlohmann::json to_json() const;
};

struct ReaderToken {
  std::string reader;  // name; "coordinator" for the coordinator's token
  std::string role;    // "reader" | "coordinator"
  std::string token;   // the secret, shown once
};

struct CreateResult {
  std::string out;
  size_t n = 0;
  std::vector<ReaderToken> tokens;  // the readers', then the coordinator's
  std::string tokens_file;          // <out>/tokens.txt
  nlohmann::json balance;           // per matching stratum: {"key", "real_available", "synthetic_available", "chosen"}
};

CreateResult create_study(const CreateConfig& config, EventSink* sink = nullptr);

}  // namespace scintigen::reader
