// A CSV reader for the files users hand to scintigen (labels at ingest, scores and outcomes for
// `stats`): a header row, then one record per row.
//
//   CsvTable t = read_csv("scores.csv");
//   const size_t score = t.column("score", "--score-col");   // InputError listing the columns
//   for (size_t r = 0; r < t.rows.size(); ++r) use(t.rows[r].cells[score], t.where(r));
//
// The dialect: RFC 4180 quoting (a quoted cell may hold commas, newlines and "" for a quote),
// LF or CRLF line ends, an optional UTF-8 byte-order mark, blank lines skipped, every cell
// trimmed of surrounding whitespace. A row whose cell count differs from the header's, an
// unterminated quote, a file larger than `max_bytes` or a record longer than
// `max_record_bytes` throws InputError naming `file:line` (the line a record starts on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scintigen {

// Bounds that turn a wrong file (a binary, a CSV without line ends) into a clear error instead
// of an allocation as large as the file.
struct CsvLimits {
  uint64_t max_bytes = 4ull << 30;
  size_t max_record_bytes = 1 << 20;
};

struct CsvRow {
  int line = 0;  // 1-based line the record starts on
  std::vector<std::string> cells;
};

struct CsvTable {
  std::string path;
  std::vector<std::string> header;  // empty when the file holds no record at all
  int header_line = 0;
  std::vector<CsvRow> rows;  // each with header.size() cells

  // "path:line" of data row `row`, for messages.
  std::string where(size_t row) const;
  // The index of the column named `name`; InputError listing the columns otherwise, with a
  // hint naming `flag` (the option that chose the column).
  size_t column(const std::string& name, const std::string& flag) const;
  bool has_column(const std::string& name) const;
};

// Parses `text` as the contents of a file called `path` (used in messages).
CsvTable parse_csv(std::string_view text, const std::string& path, const CsvLimits& limits = {});

// Reads and parses the file at `path`; InputError when it cannot be read.
CsvTable read_csv(const std::string& path, const CsvLimits& limits = {});

}  // namespace scintigen
