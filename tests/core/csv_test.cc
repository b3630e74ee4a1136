#include "core/csv.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/text.h"
#include "test_util.h"

namespace scintigen {
namespace {

// The message of the InputError that parsing `text` throws, or "".
std::string error_of(const std::string& text, const CsvLimits& limits = {}) {
  return testing::input_error([&] { parse_csv(text, "t.csv", limits); });
}

TEST(CoreText, TrimAndSplit) {
  EXPECT_EQ(trim("  DPD\r\n"), "DPD");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(split("p_a, p_b", ','), (std::vector<std::string>{"p_a", "p_b"}));
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_TRUE(split("", ',').empty());
  EXPECT_TRUE(split("  ", ',').empty());
}

TEST(Csv, QuotesCrlfBomBlankLinesAndTrimming) {
  const CsvTable t = parse_csv(
      "\xEF\xBB\xBF"
      "id, note ,n\r\n\r\n\"a,1\",\"say \"\"hi\"\"\", 7 \r\n  \r\nb,\"two\nlines\",8\n\"\",,9",
      "t.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"id", "note", "n"}));
  EXPECT_EQ(t.header_line, 1);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].cells, (std::vector<std::string>{"a,1", "say \"hi\"", "7"}));
  EXPECT_EQ(t.rows[0].line, 3);
  EXPECT_EQ(t.rows[1].cells, (std::vector<std::string>{"b", "two\nlines", "8"}));
  EXPECT_EQ(t.rows[1].line, 5);
  EXPECT_EQ(t.rows[2].cells, (std::vector<std::string>{"", "", "9"}));
  EXPECT_EQ(t.where(2), "t.csv:7");  // lines count the newline inside the quoted cell
  EXPECT_EQ(t.column("n", "--n-col"), 2u);
  EXPECT_TRUE(t.has_column("note"));
  EXPECT_FALSE(t.has_column("x"));
}

TEST(Csv, EmptyFileHasNoHeader) {
  EXPECT_TRUE(parse_csv("", "t.csv").header.empty());
  EXPECT_TRUE(parse_csv("\n \r\n", "t.csv").header.empty());
  const CsvTable header_only = parse_csv("a,b\n", "t.csv");
  EXPECT_EQ(header_only.header.size(), 2u);
  EXPECT_TRUE(header_only.rows.empty());
}

TEST(Csv, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("a,b\n1,2\n\n1,2,3\n"),
            "t.csv:4: 3 cells, the header has 2 (hint: every row needs one cell per column (empty cells are allowed))");
  EXPECT_EQ(error_of("a,b\n1,2\n\"3,4\n5,6\n"),
            "t.csv:3: unterminated quoted cell (hint: close the quote or remove it)");
  EXPECT_EQ(error_of("a,b\n1,2\n", CsvLimits{4, 1 << 20}), "t.csv: file is too large (8 bytes, at most 4)");
  EXPECT_EQ(error_of("a,b\n" + std::string(100, 'x') + "\n", CsvLimits{1 << 20, 64}),
            "t.csv:2: a record longer than 64 bytes (hint: is this a CSV file with one record per line?)");
  try {
    parse_csv("label,score\n0,1\n", "t.csv").column("p", "--score-col");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), "t.csv: no column 'p' (hint: the columns are label, score; choose one with --score-col)");
  }
}

TEST(Csv, MissingFileIsInputError) {
  EXPECT_THROW(read_csv("/nonexistent/x.csv"), InputError);
}

}  // namespace
}  // namespace scintigen
