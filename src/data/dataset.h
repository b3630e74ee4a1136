// The dataset store: one folder that every stage reads and writes.
//
//   Dataset ds = Dataset::create("ds", DatasetConfig{...});  // new, empty folder
//   ds.add(scan);                      // staged; pixels appended to the image store
//   ds.commit();                       // durable: manifest transaction after image fsync
//   Dataset r = Dataset::open("ds");   // verifies structure; verify(true) re-hashes pixels
//   Scan s = r.load(r.records()[0].id);
//
// Layout (docs/DATASET.md):
//   dataset.json   schema version, dataset uid, the config and versions that made it
//   manifest.db    SQLite: one row per scan (labels, origin, source, split, pixel_sha256,
//                  image offset/shape/dtype), one row per event (history)
//   images.bin     packed pixel arrays, 64-byte aligned, uint16 or float32 little endian,
//                  memory-mappable; rows only ever appended
//
// Atomicity: pixels are appended and fsynced before the SQLite transaction that references
// them commits, so a process killed at any moment leaves the last committed state; bytes past
// the last committed record are garbage that the next writer truncates.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/scan.h"

namespace scintigen {

inline constexpr int kDatasetSchemaVersion = 1;

enum class PixelDtype { kUint16, kFloat32 };

// One scan's manifest row (no pixels).
struct ScanRecord {
  std::string id;
  int height = 0, width = 0;
  ViewSet views = ViewSet::kBoth;
  double spacing_row_mm = 0, spacing_col_mm = 0;
  Labels labels;
  Origin origin = Origin::kReal;
  std::string source;
  std::string split;
  nlohmann::json meta = nlohmann::json::object();
  std::string pixel_sha256;
  PixelDtype dtype = PixelDtype::kUint16;
  uint64_t offset = 0;  // byte offset of the (2, H, W) array in images.bin
  uint64_t nbytes = 0;
};

struct VerifyReport {
  bool ok = true;
  size_t scans_checked = 0;
  size_t pixels_rehashed = 0;
  std::vector<std::string> problems;  // "<scan id>: <what>"
};

// A scan validated, hashed and encoded for the image store: the CPU-heavy part of add(), which
// may run on any thread (Dataset::prepare). Its record's id, labels, split, source and meta
// may still be edited before add(PreparedScan); the pixels and their hash may not.
struct PreparedScan {
  ScanRecord record;
  std::vector<unsigned char> bytes;  // the image-store encoding of the (2, H, W) array
};

class Dataset {
 public:
  // Creates `dir` (which must not exist, or be an empty folder) and writes dataset.json with
  // `config` (the command's config) and versions. Throws InputError when `dir` is not usable.
  static Dataset create(const std::string& dir, const nlohmann::json& config);
  // Opens and checks structure (schema version, manifest integrity, every record inside
  // images.bin). Throws InputError naming the file and the problem.
  static Dataset open(const std::string& dir, bool writable = false);

  Dataset(Dataset&&) noexcept;
  Dataset& operator=(Dataset&&) noexcept;
  ~Dataset();

  const std::string& dir() const;
  const nlohmann::json& info() const;  // the parsed dataset.json

  // Stages a scan (id must be new; pixel_sha256 computed if empty and checked if given).
  // Pixels are stored as uint16 when every value is an integer in 0..65535, else float32.
  void add(const Scan& scan);
  // Validates, hashes and encodes without touching any dataset; thread-safe. Errors name
  // `where` (usually the dataset folder). The id may still be empty.
  static PreparedScan prepare(const Scan& scan, const std::string& where);
  // Appends prepared pixels and stages the record (checks the id and the label ranges).
  void add(PreparedScan prepared);
  // Makes everything staged durable (fsync images, commit manifest transaction).
  void commit();

  size_t size() const;
  std::vector<ScanRecord> records() const;
  std::optional<ScanRecord> find(const std::string& id) const;
  Scan load(const std::string& id) const;
  Scan load(const ScanRecord& record) const;

  // Sets the split of the given scans in one transaction.
  void set_splits(const std::vector<std::pair<std::string, std::string>>& id_split);
  // Appends an entry to the dataset's history (command, config, time) in the manifest.
  void log_event(const std::string& command, const nlohmann::json& config);
  std::vector<nlohmann::json> history() const;

  // Structural checks; with `rehash`, also recomputes every pixel_sha256.
  VerifyReport verify(bool rehash) const;

  // A new scan id not yet used: "<prefix><6-digit counter>".
  std::string next_id(const std::string& prefix = "s") const;

 private:
  struct Impl;
  explicit Dataset(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scintigen
