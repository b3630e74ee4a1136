#include "core/csv.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/text.h"

namespace scintigen {

namespace {

// Splits `text` into records one at a time, tracking the line each starts on.
class RecordReader {
 public:
  RecordReader(std::string_view text, const std::string& path, size_t max_record_bytes)
      : text_(text), path_(path), max_record_bytes_(max_record_bytes) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  // The next record that is not blank, or false at the end of the text.
  bool next(CsvRow& row) {
    while (pos_ < text_.size()) {
      row.line = line_;
      row.cells.clear();
      const bool quoted_any = read_record(row);
      if (quoted_any || row.cells.size() > 1 || !row.cells[0].empty()) return true;
    }
    return false;
  }

 private:
  // Reads one record into row.cells; true when it held a quote (so `""` is not blank).
  bool read_record(CsvRow& row) {
    const size_t start = pos_;
    std::string cell;
    bool quoted = false, quoted_any = false;
    for (; pos_ < text_.size(); ++pos_) {
      if (pos_ - start >= max_record_bytes_)
        throw InputError(where(row.line), fmt::format("a record longer than {} bytes", max_record_bytes_),
                         "is this a CSV file with one record per line?");
      const char c = text_[pos_];
      if (c == '\n') ++line_;
      if (quoted) {
        if (c != '"') {
          cell += c;
        } else if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          cell += '"';
          ++pos_;
        } else {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = quoted_any = true;
      } else if (c == ',') {
        row.cells.push_back(trim(cell));
        cell.clear();
      } else if (c == '\n') {
        ++pos_;
        break;
      } else {
        cell += c;
      }
    }
    if (quoted) throw InputError(where(row.line), "unterminated quoted cell", "close the quote or remove it");
    row.cells.push_back(trim(cell));
    return quoted_any;
  }

  std::string where(int line) const { return fmt::format("{}:{}", path_, line); }

  std::string_view text_;
  const std::string& path_;
  size_t max_record_bytes_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::string CsvTable::where(size_t row) const {
  return fmt::format("{}:{}", path, rows[row].line);
}

bool CsvTable::has_column(const std::string& name) const {
  for (const auto& h : header)
    if (h == name) return true;
  return false;
}

size_t CsvTable::column(const std::string& name, const std::string& flag) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  std::string have;
  for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
  throw InputError(path, "no column '" + name + "'", "the columns are " + have + "; choose one with " + flag);
}

CsvTable parse_csv(std::string_view text, const std::string& path, const CsvLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw InputError(path, fmt::format("file is too large ({} bytes, at most {})", text.size(), limits.max_bytes));
  CsvTable t;
  t.path = path;
  RecordReader reader(text, t.path, limits.max_record_bytes);
  CsvRow row;
  if (!reader.next(row)) return t;
  t.header = std::move(row.cells);
  t.header_line = row.line;
  while (reader.next(row)) {
    if (row.cells.size() != t.header.size())
      throw InputError(fmt::format("{}:{}", path, row.line),
                       fmt::format("{} cells, the header has {}", row.cells.size(), t.header.size()),
                       "every row needs one cell per column (empty cells are allowed)");
    t.rows.push_back(std::move(row));
  }
  return t;
}

CsvTable read_csv(const std::string& path, const CsvLimits& limits) {
  return parse_csv(read_file(path, limits.max_bytes), path, limits);
}

}  // namespace scintigen
