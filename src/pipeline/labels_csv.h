// A labels CSV joined to scans at ingest.
//
//   file,metastasis,cardiac_grade,tracer,age,split
//   pat01/wb.dcm,1,0,DPD,71,train
//
//   LabelsTable t = read_labels_csv("labels.csv");      // validates every cell
//   const LabelsRow* row = t.match(LabelKey::kFile, "pat01/wb.dcm");
//
// The first column names the join key (see LabelKey); every other column must be a label
// field of the schema (core/labels.h), `split`, or a column the caller asked to ignore. Keys
// are used in memory only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/labels.h"

namespace scintigen {

enum class LabelKey { kFile, kStudyUid, kSeriesUid, kSopUid, kAccessionNumber, kPatientId };

const char* to_string(LabelKey k);

struct LabelsRow {
  int line = 0;  // 1-based line in the CSV, for messages
  std::string key;
  Labels labels;                     // the columns given, validated
  std::vector<std::string> columns;  // which label columns this table sets
  std::string split;
  bool matched = false;
};

struct LabelsTable {
  std::string path;
  LabelKey key = LabelKey::kFile;
  std::vector<std::string> columns;  // label columns, in file order (without key and split)
  bool has_split = false;
  std::vector<LabelsRow> rows;
  std::map<std::string, size_t> index;  // key -> row

  // The row whose key equals `key`, or nullptr.
  LabelsRow* find(const std::string& key);
};

// Parses and validates the whole CSV (core/csv.h: RFC 4180 quoting, UTF-8, CRLF or LF). Throws
// InputError("<path>:<line>", ...) for an unknown key or label column, a duplicate key, a
// wrong number of cells or a value out of range. Columns named in `ignore_columns` (e.g. a
// site's own "comment" or "reader" columns) are skipped unread; each must be in the header
// and must not be the key column (InputError naming --labels-ignore-columns otherwise).
LabelsTable read_labels_csv(const std::string& path, const std::vector<std::string>& ignore_columns = {});

// Applies the row's columns onto `labels` (only the columns the CSV has).
void apply_labels_row(const LabelsTable& table, const LabelsRow& row, Labels& labels);

}  // namespace scintigen
