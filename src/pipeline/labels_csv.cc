#include "pipeline/labels_csv.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/csv.h"
#include "core/error.h"

namespace scintigen {

const char* to_string(LabelKey k) {
  switch (k) {
    case LabelKey::kFile:
      return "file";
    case LabelKey::kStudyUid:
      return "study_uid";
    case LabelKey::kSeriesUid:
      return "series_uid";
    case LabelKey::kSopUid:
      return "sop_uid";
    case LabelKey::kAccessionNumber:
      return "accession_number";
    case LabelKey::kPatientId:
      return "patient_id";
  }
  return "?";
}

LabelsRow* LabelsTable::find(const std::string& k) {
  auto it = index.find(k);
  return it == index.end() ? nullptr : &rows[it->second];
}

namespace {

LabelKey key_from_header(const std::string& name, const std::string& where) {
  for (LabelKey k : {LabelKey::kFile, LabelKey::kStudyUid, LabelKey::kSeriesUid, LabelKey::kSopUid,
                     LabelKey::kAccessionNumber, LabelKey::kPatientId})
    if (name == to_string(k)) return k;
  throw InputError(where, fmt::format("first column '{}' is not a join key", name),
                   "name it file, study_uid, series_uid, sop_uid, accession_number or patient_id");
}

}  // namespace

LabelsTable read_labels_csv(const std::string& path, const std::vector<std::string>& ignore_columns) {
  const CsvTable csv = read_csv(path, CsvLimits{256ull << 20});
  if (csv.header.empty()) throw InputError(path, "the labels file is empty", "the first line names the columns");
  LabelsTable t;
  t.path = path;
  const std::vector<std::string>& cells = csv.header;
  const std::string header_where = fmt::format("{}:{}", path, csv.header_line);
  t.key = key_from_header(cells[0], header_where);
  for (const auto& ig : ignore_columns) {
    if (ig == cells[0])
      throw InputError("--labels-ignore-columns", fmt::format("'{}' is the key column of {}", ig, path),
                       "the first column joins rows to scans and cannot be ignored");
    if (std::find(cells.begin() + 1, cells.end(), ig) == cells.end()) {
      std::string names;
      for (size_t i = 1; i < cells.size(); ++i) names += (names.empty() ? "" : ", ") + cells[i];
      throw InputError("--labels-ignore-columns", fmt::format("{} has no column '{}'", path, ig),
                       "its columns: " + names);
    }
  }
  std::vector<std::string> header_cols;  // after the key; "" for an ignored column
  for (size_t i = 1; i < cells.size(); ++i) {
    const std::string& c = cells[i];
    if (std::find(ignore_columns.begin(), ignore_columns.end(), c) != ignore_columns.end()) {
      header_cols.push_back("");
      continue;
    }
    if (c == "split") {
      t.has_split = true;
    } else if (is_label_field(c)) {
      for (const auto& prev : t.columns)
        if (prev == c) throw InputError(header_where, fmt::format("column '{}' appears twice", c));
      t.columns.push_back(c);
    } else {
      try {
        Labels probe;
        set_label(probe, c, "", header_where);  // throws: unknown label, naming the known ones
      } catch (const InputError& e) {
        throw in_context<InputError>(e, header_where, "",
                                     fmt::format("or skip the column with --labels-ignore-columns {}", c));
      }
    }
    header_cols.push_back(c);
  }
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    const std::vector<std::string>& row_cells = csv.rows[r].cells;
    const std::string where = csv.where(r);
    LabelsRow row;
    row.line = csv.rows[r].line;
    row.key = row_cells[0];
    if (row.key.empty()) throw InputError(where, fmt::format("empty {} key", to_string(t.key)));
    for (size_t i = 0; i < header_cols.size(); ++i) {
      if (header_cols[i].empty()) continue;  // an ignored column
      if (header_cols[i] == "split")
        row.split = row_cells[i + 1];
      else
        set_label(row.labels, header_cols[i], row_cells[i + 1], where);
    }
    if (t.index.count(row.key))
      throw InputError(where, fmt::format("duplicate {} '{}'", to_string(t.key), row.key),
                       fmt::format("first given on line {}", t.rows[t.index[row.key]].line));
    t.index[row.key] = t.rows.size();
    t.rows.push_back(std::move(row));
  }
  return t;
}

void apply_labels_row(const LabelsTable& table, const LabelsRow& row, Labels& labels) {
  for (const auto& c : table.columns) {
    const std::string v = label_value(row.labels, c);
    if (!v.empty()) set_label(labels, c, v, table.path);  // an empty cell means "not known", not "clear"
  }
}

}  // namespace scintigen
