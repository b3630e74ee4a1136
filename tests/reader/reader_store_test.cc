// The study database and `reader create`: balance and matching of the cases, reading orders,
// tokens kept as hashes only, images of one byte size, answers recorded once and changes logged.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/sha256.h"
#include "io/png.h"
#include "reader/store.h"
#include "reader/study.h"
#include "reader_fixture.h"

namespace scintigen::reader {
namespace {

using testing::FixtureStudy;
using testing::make_fixture_study;

std::string match_key(const StudyCase& c) {
  return label_value(c.labels, "metastasis") + "/" + label_value(c.labels, "cardiac_grade") + "/" + c.labels.tracer;
}

TEST(ReaderCreate, HalfRealHalfSyntheticMatchedOnLabels) {
  FixtureStudy f;
  make_fixture_study(f, 24, "both");
  const StudyData d = StudyStore::open(f.study).snapshot();
  ASSERT_EQ(d.cases.size(), 24u);
  std::map<std::string, int> real_keys, syn_keys;
  std::set<std::string> ids, scans;
  for (const auto& c : d.cases) {
    (c.origin == "real" ? real_keys : syn_keys)[match_key(c)]++;
    EXPECT_EQ(c.case_id.size(), 16u);
    EXPECT_EQ(c.case_id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(ids.insert(c.case_id).second);
    EXPECT_TRUE(scans.insert(c.origin + c.scan_id).second) << "a scan chosen twice";
  }
  EXPECT_EQ(real_keys, syn_keys);  // each real case has a synthetic partner with the same labels
  int real = 0;
  for (const auto& [k, v] : real_keys) real += v;
  EXPECT_EQ(real, 12);
  // The real set is 1/3 metastatic: the pairs keep its proportions (8 of 24 cases).
  int mets = 0;
  for (const auto& c : d.cases) mets += c.labels.metastasis.value_or(0);
  EXPECT_EQ(mets, 8);
}

TEST(ReaderCreate, EveryReaderReadsEveryCaseInAnOrderOfTheirOwn) {
  FixtureStudy f;
  make_fixture_study(f, 20, "realness");
  const StudyStore s = StudyStore::open(f.study);
  std::set<std::string> all;
  for (const auto& c : s.snapshot().cases) all.insert(c.case_id);
  std::set<std::vector<std::string>> orders;
  for (const char* r : {"a", "b", "c", "d"}) {
    const auto& o = s.order(r);
    EXPECT_EQ(std::set<std::string>(o.begin(), o.end()), all);
    EXPECT_EQ(o.size(), all.size());
    orders.insert(o);
  }
  EXPECT_EQ(orders.size(), 4u);
  EXPECT_TRUE(s.order("coordinator").empty());
}

TEST(ReaderCreate, TheSeedFixesTheChoiceAndTheOrdersButNotTheIds) {
  FixtureStudy f1, f2;
  make_fixture_study(f1, 16, "realness");
  make_fixture_study(f2, 16, "realness");
  const StudyStore s1 = StudyStore::open(f1.study), s2 = StudyStore::open(f2.study);
  auto scan_order = [](const StudyStore& s, const std::string& reader) {
    std::map<std::string, std::string> scan_of;
    for (const auto& c : s.snapshot().cases) scan_of[c.case_id] = c.origin + ":" + c.scan_id;
    std::vector<std::string> out;
    for (const auto& id : s.order(reader)) out.push_back(scan_of[id]);
    return out;
  };
  EXPECT_EQ(scan_order(s1, "a"), scan_order(s2, "a"));
  EXPECT_EQ(scan_order(s1, "d"), scan_order(s2, "d"));
  EXPECT_NE(s1.order("a"), s2.order("a"));  // ids come from the cryptographic generator
  EXPECT_NE(f1.token("a"), f2.token("a"));
}

TEST(ReaderCreate, TokensAreShownOnceAndStoredAsHashesOnly) {
  FixtureStudy f;
  make_fixture_study(f, 8, "realness");
  ASSERT_EQ(f.created.tokens.size(), 5u);  // 4 readers + the coordinator
  struct stat st {};
  ASSERT_EQ(::stat(f.created.tokens_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string file = read_file(f.created.tokens_file);
  std::string db;
  for (const auto& e : std::filesystem::directory_iterator(f.study))
    if (e.path().filename() != "tokens.txt") db += read_file(e.path().string());
  for (const auto& t : f.created.tokens) {
    EXPECT_GE(t.token.size() - 2, 32u) << "at least 128 bits as hex";
    EXPECT_NE(file.find(t.reader + " " + t.role + " " + t.token), std::string::npos);
    EXPECT_EQ(db.find(t.token), std::string::npos) << "the study holds a token in clear";
    EXPECT_NE(db.find(sha256_hex(t.token)), std::string::npos);
  }
  const StudyStore s = StudyStore::open(f.study);
  EXPECT_EQ(s.reader_for_token(f.token("b"))->name, "b");
  EXPECT_EQ(s.reader_for_token(f.token("coordinator"))->role, "coordinator");
  EXPECT_FALSE(s.reader_for_token(f.token("b") + "0"));
  EXPECT_FALSE(s.reader_for_token(""));
}

TEST(ReaderCreate, ImagesAreTheSquareRootCodeAndAllOfOneByteSize) {
  FixtureStudy f;
  make_fixture_study(f, 12, "realness");
  const StudyStore s = StudyStore::open(f.study);
  const StudyData d = s.snapshot();
  std::set<size_t> sizes;
  scintigen::testing::TempDir t;
  for (const auto& c : d.cases) {
    for (View v : {kAnterior, kPosterior}) sizes.insert(s.image(c.case_id, v)->size());
  }
  EXPECT_EQ(sizes.size(), 1u) << "image sizes differ: a side channel";
  // One case decoded against the dataset's counts: round(255 sqrt(x / m)), m the scan's maximum.
  const StudyCase& c = d.cases.back();
  const Scan scan = Dataset::open(c.dataset).load(c.scan_id);
  const float m = *std::max_element(scan.pixels.begin(), scan.pixels.end());
  for (View v : {kAnterior, kPosterior}) {
    write_file_atomic(t / "v.png", *s.image(c.case_id, v));
    int w = 0, h = 0, depth = 0;
    const std::vector<uint16_t> px = read_png_gray(t / "v.png", &w, &h, &depth);
    ASSERT_EQ(w, 16);
    ASSERT_EQ(h, 64);
    ASSERT_EQ(depth, 8);
    for (size_t i = 0; i < px.size(); ++i)
      ASSERT_EQ(px[i], std::lround(255.0 * std::sqrt(scan.view(v)[i] / static_cast<double>(m)))) << i;
  }
}

TEST(ReaderStore, AnAnswerIsRecordedOnceAndAChangeIsLogged) {
  FixtureStudy f;
  make_fixture_study(f, 8, "both");
  StudyStore s = StudyStore::open(f.study);
  const std::string id = s.order("a")[0];
  Answer a;
  a.reader = "a";
  a.case_id = id;
  a.call = "real";
  a.confidence = 3;
  a.metastasis = 0;
  a.grade = 1;
  EXPECT_EQ(s.put_answer(a), PutResult::kRecorded);
  EXPECT_EQ(s.put_answer(a), PutResult::kUnchanged);
  a.call = "synthetic";
  EXPECT_EQ(s.put_answer(a), PutResult::kChanged);
  EXPECT_EQ(s.answered("a"), 1u);
  EXPECT_EQ(s.answered("b"), 0u);
  const Answer stored = *s.answer("a", id);
  EXPECT_EQ(stored.call, "synthetic");
  EXPECT_EQ(stored.revision, 2);
  EXPECT_LE(stored.first_at, stored.updated_at);
  std::vector<std::string> kinds;
  nlohmann::json changed;
  for (const auto& e : s.events()) {
    kinds.push_back(e.kind);
    if (e.kind == "answer_changed") changed = e.detail;
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"created", "answer", "answer_changed"}));
  EXPECT_EQ(changed["previous"]["call"], "real");
  EXPECT_EQ(changed["answer"]["call"], "synthetic");
  // Reopened: the answer is on disk.
  const StudyStore again = StudyStore::open(f.study);
  EXPECT_EQ(again.answer("a", id)->call, "synthetic");
  EXPECT_EQ(again.snapshot().answers.size(), 1u);
}

TEST(ReaderCreate, BadInputIsRefusedAndLeavesNothingBehind) {
  FixtureStudy f;
  make_fixture_study(f, 8, "realness");
  CreateConfig c;
  c.real = f.real;
  c.synthetic = f.synthetic;
  c.readers = {"a"};
  c.out = f.tmp / "new";
  c.n = 7;
  EXPECT_THROW(create_study(c), ConfigError);
  c.n = 8;
  c.readers = {"a", "a"};
  EXPECT_THROW(create_study(c), ConfigError);
  c.readers = {"a b"};
  EXPECT_THROW(create_study(c), ConfigError);
  c.readers = {"a"};
  c.task = "guess";
  EXPECT_THROW(create_study(c), ConfigError);
  c.task = "realness";
  c.n = 40;  // 8 real scans cannot make 20 pairs
  EXPECT_EQ(scintigen::testing::input_error([&] { create_study(c); }),
            f.real + " and " + f.synthetic +
                ": only 8 matched real/synthetic pairs exist, 20 needed for --n 40 (hint: lower --n, match on fewer "
                "labels (--match), or generate synthetic scans of the real set's conditions)");
  EXPECT_FALSE(std::filesystem::exists(c.out));
  c.n = 8;
  c.out = f.study;  // exists, not empty
  EXPECT_NE(scintigen::testing::input_error([&] { create_study(c); }).find("already exists and is not empty"),
            std::string::npos);
  EXPECT_NE(scintigen::testing::input_error([&] { StudyStore::open(f.real); }).find("not a reader study"),
            std::string::npos);
}

}  // namespace
}  // namespace scintigen::reader
