#include "pipeline/labels_csv.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/fs_util.h"

namespace scintigen {

const char* to_string(LabelKey k) {
  switch (k) {
    case LabelKey::kFile: return "file";
    case LabelKey::kStudyUid: return "study_uid";
    case LabelKey::kSeriesUid: return "series_uid";
    case LabelKey::kSopUid: return "sop_uid";
    case LabelKey::kAccessionNumber: return "accession_number";
    case LabelKey::kPatientId: return "patient_id";
  }
  return "?";
}

LabelsRow* LabelsTable::find(const std::string& k) {
  auto it = index.find(k);
  return it == index.end() ? nullptr : &rows[it->second];
}

std::vector<std::string> split_csv_record(const std::string& line, const std::string& where) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') cells.back() += '"', ++i;
        else quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  if (quoted) throw InputError(where, "unterminated quoted cell", "close the quote or remove it");
  return cells;
}

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

LabelKey key_from_header(const std::string& name, const std::string& where) {
  for (LabelKey k : {LabelKey::kFile, LabelKey::kStudyUid, LabelKey::kSeriesUid, LabelKey::kSopUid,
                     LabelKey::kAccessionNumber, LabelKey::kPatientId})
    if (name == to_string(k)) return k;
  throw InputError(where, fmt::format("first column '{}' is not a join key", name),
                   "name it file, study_uid, series_uid, sop_uid, accession_number or patient_id");
}

}  // namespace

LabelsTable read_labels_csv(const std::string& path, const std::vector<std::string>& ignore_columns) {
  const std::string text = read_file(path, 256ull << 20);
  LabelsTable t;
  t.path = path;
  std::vector<std::string> header_cols;
  size_t pos = 0;
  int line_no = 0;
  bool header_done = false;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) pos = 3;  // UTF-8 byte-order mark
  while (pos < text.size()) {
    size_t end = pos;
    bool q = false;
    while (end < text.size() && (q || text[end] != '\n')) {  // a quoted cell may hold a newline
      if (text[end] == '"') q = !q;
      ++end;
    }
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    auto cells = split_csv_record(line, where);
    for (auto& c : cells) c = trim(c);
    if (!header_done) {
      header_done = true;
      t.key = key_from_header(cells[0], where);
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
      for (size_t i = 1; i < cells.size(); ++i) {
        const std::string& c = cells[i];
        if (std::find(ignore_columns.begin(), ignore_columns.end(), c) != ignore_columns.end()) {
          header_cols.push_back("");  // skipped
          continue;
        }
        if (c == "split") {
          t.has_split = true;
        } else if (is_label_field(c)) {
          for (const auto& prev : t.columns)
            if (prev == c) throw InputError(where, fmt::format("column '{}' appears twice", c));
          t.columns.push_back(c);
        } else {
          try {
            Labels probe;
            set_label(probe, c, "", where);  // throws: unknown label, naming the known ones
          } catch (const InputError& e) {
            throw in_context<InputError>(e, where, "",
                                         fmt::format("or skip the column with --labels-ignore-columns {}", c));
          }
        }
        header_cols.push_back(c);
      }
      continue;
    }
    if (cells.size() != header_cols.size() + 1)
      throw InputError(where, fmt::format("{} cells, the header has {}", cells.size(), header_cols.size() + 1),
                       "every row needs one cell per column (empty cells are allowed)");
    LabelsRow row;
    row.line = line_no;
    row.key = cells[0];
    if (row.key.empty()) throw InputError(where, fmt::format("empty {} key", to_string(t.key)));
    for (size_t i = 0; i < header_cols.size(); ++i) {
      if (header_cols[i].empty()) continue;  // an ignored column
      if (header_cols[i] == "split") row.split = cells[i + 1];
      else set_label(row.labels, header_cols[i], cells[i + 1], where);
    }
    if (t.index.count(row.key))
      throw InputError(where, fmt::format("duplicate {} '{}'", to_string(t.key), row.key),
                       fmt::format("first given on line {}", t.rows[t.index[row.key]].line));
    t.index[row.key] = t.rows.size();
    t.rows.push_back(std::move(row));
  }
  if (!header_done) throw InputError(path, "the labels file is empty", "the first line names the columns");
  return t;
}

void apply_labels_row(const LabelsTable& table, const LabelsRow& row, Labels& labels) {
  for (const auto& c : table.columns) {
    const std::string v = label_value(row.labels, c);
    if (!v.empty()) set_label(labels, c, v, table.path);  // an empty cell means "not known", not "clear"
  }
}

}  // namespace scintigen
