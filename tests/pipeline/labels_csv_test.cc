#include "pipeline/labels_csv.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "test_util.h"

namespace scintigen {
namespace {

TEST(LabelsCsv, QuotedCellsCrlfBomAndEmptyCells) {
  testing::TempDir t;
  std::ofstream(t / "l.csv") << "\xEF\xBB\xBF"
                                "file,metastasis,site,split\r\n\"a,b.dcm\",1,\"ext_a\",train\r\nc.dcm,,,\r\n";
  LabelsTable tab = read_labels_csv(t / "l.csv");
  EXPECT_EQ(tab.key, LabelKey::kFile);
  ASSERT_EQ(tab.rows.size(), 2u);
  EXPECT_EQ(tab.rows[0].key, "a,b.dcm");
  EXPECT_EQ(*tab.rows[0].labels.metastasis, 1);
  EXPECT_EQ(tab.rows[0].split, "train");
  EXPECT_FALSE(tab.rows[1].labels.metastasis.has_value());
  ASSERT_NE(tab.find("c.dcm"), nullptr);
  // An empty cell does not clear a label known from the DICOM header.
  Labels l;
  l.site = "header";
  apply_labels_row(tab, tab.rows[1], l);
  EXPECT_EQ(l.site, "header");
}

TEST(LabelsCsv, ErrorsNameFileLineAndProblem) {
  testing::TempDir t;
  auto err = [&](const std::string& text) {
    std::ofstream(t / "e.csv") << text;
    try {
      read_labels_csv(t / "e.csv");
    } catch (const InputError& e) {
      return e.describe();
    }
    return std::string("no error");
  };
  const std::string f = t / "e.csv";
  EXPECT_EQ(err("file,metastasis\na.dcm,1\na.dcm,0\n"), f + ":3: duplicate file 'a.dcm' (hint: first given on line 2)");
  EXPECT_EQ(err("file,age\na.dcm,130\n"), f + ":2: label 'age' has invalid value '130' (hint: allowed: years 0..120)");
  EXPECT_EQ(err("file,metastasis\n\"a.dcm,1\n"),
            f + ":2: unterminated quoted cell (hint: close the quote or remove it)");
  EXPECT_EQ(err(""), f + ": the labels file is empty (hint: the first line names the columns)");
  EXPECT_EQ(err("file,metastasis,metastasis\n"), f + ":1: column 'metastasis' appears twice");
  EXPECT_EQ(err("file,metastasis\n,1\n"), f + ":2: empty file key");
}

TEST(LabelsCsv, IgnoredColumnsAreSkippedAndMustExist) {
  testing::TempDir t;
  std::ofstream(t / "l.csv") << "file,reader,metastasis,comment\na.dcm,JS,1,looks \"odd\"\n";
  try {
    read_labels_csv(t / "l.csv");
    FAIL();
  } catch (const InputError& e) {
    const std::string d = e.describe();
    EXPECT_EQ(d.rfind(t / "l.csv:1: unknown label 'reader' (hint: known labels: metastasis, ", 0), 0u) << d;
    const std::string tail = "; or skip the column with --labels-ignore-columns reader)";
    EXPECT_EQ(d.substr(d.size() - tail.size()), tail) << d;
  }
  LabelsTable tab = read_labels_csv(t / "l.csv", {"reader", "comment"});
  EXPECT_EQ(tab.columns, std::vector<std::string>{"metastasis"});
  ASSERT_EQ(tab.rows.size(), 1u);
  EXPECT_EQ(*tab.rows[0].labels.metastasis, 1);
  try {
    read_labels_csv(t / "l.csv", {"reader", "coment"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), "--labels-ignore-columns: " + (t / "l.csv") +
                                " has no column 'coment' (hint: its columns: reader, metastasis, comment)");
  }
  try {
    read_labels_csv(t / "l.csv", {"file"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), "--labels-ignore-columns: 'file' is the key column of " + (t / "l.csv") +
                                " (hint: the first column joins rows to scans and cannot be ignored)");
  }
}

}  // namespace
}  // namespace scintigen
