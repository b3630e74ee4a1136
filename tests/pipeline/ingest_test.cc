// Ingest as a library: pairing of two single-view instances, frame order, thread-count
// independence, key file, labels joined by UID, rejected files in a batch.
#include "pipeline/ingest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "data/dataset.h"
#include "io/dicom_fixtures.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::FixtureSpec;
using testing::TempDir;

std::vector<float> as_float(const std::vector<uint16_t>& v) {
  return {v.begin(), v.end()};
}

// Writes `n` scans as pairs of single-frame instances (anterior, posterior) of one series each,
// posterior first for odd scans, so pairing cannot rely on file order.
void write_pairs(const std::string& dir, int n, std::vector<std::vector<uint16_t>>* ant,
                 std::vector<std::vector<uint16_t>>* post) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    FixtureSpec s;
    s.rows = 128;
    s.cols = 32;
    s.study_uid = "1.2.826.0.1.3680043.10.1234.900." + std::to_string(i);
    s.series_uid = s.study_uid + ".1";
    s.patient_id = "PAIR-" + std::to_string(i);
    ant->push_back(testing::synthetic_counts(s.rows, s.cols, 100 + i));
    post->push_back(testing::synthetic_counts(s.rows, s.cols, 200 + i));
    s.views = {kAnterior};
    write_nm_fixture(dir + "/scan" + std::to_string(i) + (i % 2 ? "_b.dcm" : "_a.dcm"), s, {ant->back()});
    s.views = {kPosterior};
    write_nm_fixture(dir + "/scan" + std::to_string(i) + (i % 2 ? "_a.dcm" : "_b.dcm"), s, {post->back()});
  }
}

TEST(Ingest, PairsTwoSingleViewInstancesOfOneSeries) {
  TempDir t;
  std::vector<std::vector<uint16_t>> ant, post;
  write_pairs(t / "in", 4, &ant, &post);
  IngestConfig cfg;
  cfg.inputs = {t / "in"};
  cfg.out = t / "ds";
  cfg.key_file = t / "key.csv";
  IngestResult r = ingest(cfg);
  EXPECT_EQ(r.exit_code(), 0);
  EXPECT_EQ(r.files_accepted, 8u);
  EXPECT_EQ(r.two_view_scans, 4u);
  EXPECT_EQ(r.single_view_scans, 0u);
  Dataset ds = Dataset::open(t / "ds");
  ASSERT_EQ(ds.size(), 4u);
  const auto recs = ds.records();
  for (int i = 0; i < 4; ++i) {
    Scan s = ds.load(recs[i]);
    EXPECT_EQ(s.views, ViewSet::kBoth);
    const std::vector<float> a(s.view(kAnterior), s.view(kAnterior) + s.view_size());
    const std::vector<float> p(s.view(kPosterior), s.view(kPosterior) + s.view_size());
    EXPECT_EQ(a, as_float(ant[i])) << i;
    // Fixtures write the posterior as the camera sees it; the store holds it mirrored.
    EXPECT_EQ(p, testing::mirror_columns(as_float(post[i]), 128, 32)) << i;
  }
  // The key file maps every scan to both source files, outside the dataset.
  const std::string key = read_file(t / "key.csv");
  EXPECT_NE(key.find("s000001,"), std::string::npos);
  EXPECT_NE(key.find("PAIR-3"), std::string::npos);
  for (const auto& e : std::filesystem::recursive_directory_iterator(t / "ds"))
    if (e.is_regular_file()) EXPECT_EQ(read_file(e.path().string()).find("PAIR-"), std::string::npos) << e.path();
}

TEST(Ingest, ResultDoesNotDependOnThreadCount) {
  TempDir t;
  std::vector<std::vector<uint16_t>> ant, post;
  write_pairs(t / "in", 6, &ant, &post);
  std::vector<std::vector<std::string>> hashes;
  for (int threads : {1, 2, 5}) {
    IngestConfig cfg;
    cfg.inputs = {t / "in"};
    cfg.out = t / ("ds" + std::to_string(threads));
    cfg.threads = threads;
    ingest(cfg);
    std::vector<std::string> h;
    for (const auto& rec : Dataset::open(cfg.out).records()) h.push_back(rec.id + ":" + rec.pixel_sha256);
    hashes.push_back(h);
  }
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(hashes[0], hashes[2]);
}

TEST(Ingest, LabelsJoinByStudyUidAndKeyFileIsRefusedInsideDataset) {
  TempDir t;
  std::vector<std::vector<uint16_t>> ant, post;
  write_pairs(t / "in", 2, &ant, &post);
  std::ofstream(t / "l.csv") << "study_uid,cardiac_grade,tracer\n1.2.826.0.1.3680043.10.1234.900.1,3,DPD\n";
  IngestConfig cfg;
  cfg.inputs = {t / "in"};
  cfg.out = t / "ds";
  cfg.labels_csv = t / "l.csv";
  EXPECT_EQ(ingest(cfg).exit_code(), 0);
  Dataset ds = Dataset::open(t / "ds");
  const auto recs = ds.records();
  EXPECT_FALSE(recs[0].labels.cardiac_grade.has_value());
  EXPECT_EQ(*recs[1].labels.cardiac_grade, 3);
  EXPECT_EQ(recs[1].labels.tracer, "DPD");  // the CSV overrides the header's MDP
  EXPECT_EQ(recs[0].labels.tracer, "MDP");

  cfg.out = t / "ds2";
  cfg.key_file = t / "ds2/key.csv";
  try {
    ingest(cfg);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where(), "--key-file");
  }
  EXPECT_FALSE(std::filesystem::exists(t / "ds2"));
}

TEST(Ingest, DryRunWritesNothing) {
  TempDir t;
  std::vector<std::vector<uint16_t>> ant, post;
  write_pairs(t / "in", 2, &ant, &post);
  IngestConfig cfg;
  cfg.inputs = {t / "in", testing::shared_data("dicom/malformed/pydicom_no_meta.dcm")};
  cfg.dry_run = true;
  IngestResult r = ingest(cfg);
  EXPECT_EQ(r.scans_added, 2u);
  EXPECT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.exit_code(), 1);
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(t.path())) (void)e, ++n;
  EXPECT_EQ(n, 1u);  // only in/: no dataset, no report
}

}  // namespace
}  // namespace scintigen

namespace scintigen {
namespace {

TEST(Ingest, AppendAddsToAnExistingDatasetAndRecordsTheEvent) {
  testing::TempDir t;
  IngestConfig cfg;
  cfg.inputs = {testing::shared_data("dicom/wholebody/NM1_UNC.dcm")};
  cfg.out = t / "ds";
  ASSERT_EQ(ingest(cfg).exit_code(), 0);
  // A second plain ingest into the same folder is refused; --append extends it.
  EXPECT_THROW(ingest(cfg), InputError);
  cfg.inputs = {testing::shared_data("dicom/wholebody/NM1_J2KR.dcm")};
  cfg.append = true;
  IngestResult r = ingest(cfg);
  EXPECT_EQ(r.exit_code(), 0);
  ASSERT_EQ(r.warnings.size(), 2u);  // the view is assumed anterior; the pixels equal s000001's
  EXPECT_NE(r.warnings[1].find("s000002: identical pixels to s000001"), std::string::npos) << r.warnings[1];
  Dataset ds = Dataset::open(t / "ds");
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.records()[1].id, "s000002");
  EXPECT_EQ(ds.records()[0].pixel_sha256, ds.records()[1].pixel_sha256);
  EXPECT_GE(ds.history().size(), 2u);
  EXPECT_TRUE(ds.verify(true).ok);
}

}  // namespace
}  // namespace scintigen

namespace scintigen {
namespace {

// Regression: signed samples that decode to small negative values (as lossy JPEG 2000 of a
// signed whole-body image does around zero) used to pass the reader, fail Dataset::prepare, and
// then be treated as accepted: add_scan wrote its id into a prepared scan that did not exist
// (exit 139). Ingest now rejects a file when any step after the decode fails, and the reader
// clamps negative counts to 0 with a warning, so such files go in, single or waiting to pair.
TEST(Ingest, SignedNegativeSamplesAreClampedNotCrashed) {
  testing::TempDir t;
  std::filesystem::create_directories(t / "in");
  FixtureSpec s;
  s.rows = 64;
  s.cols = 16;
  s.views = {kAnterior};
  s.is_signed = true;
  std::vector<uint16_t> counts = testing::synthetic_counts(s.rows, s.cols, 7);
  counts[3 * 16 + 5] = 0xFFFE;  // -2 as a signed 16-bit value
  for (bool paired : {false, true}) {
    s.series_uid = paired ? "1.2.826.0.1.3680043.10.1234.77.1" : "";
    s.study_uid = paired ? "1.2.826.0.1.3680043.10.1234.77" : "";
    write_nm_fixture(t / (paired ? "in/b_negative_series.dcm" : "in/a_negative.dcm"), s, {counts});
  }
  s.series_uid = s.study_uid = "";
  s.is_signed = false;
  write_nm_fixture(t / "in/c_good.dcm", s, {testing::synthetic_counts(s.rows, s.cols, 8)});
  for (bool dry_run : {false, true}) {
    IngestConfig cfg;
    cfg.inputs = {t / "in"};
    cfg.out = dry_run ? std::string() : t / "ds";
    cfg.dry_run = dry_run;
    IngestResult r = ingest(cfg);
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_EQ(r.scans_added, 3u);
    EXPECT_TRUE(r.rejected.empty());
    // One clamp warning per signed file (other warnings, e.g. the view assumed, may come too).
    size_t clamped = 0;
    for (const auto& w : r.warnings)
      clamped += w.find("1 pixel value(s) below 0 (lowest -2) set to 0") != std::string::npos;
    EXPECT_EQ(clamped, 2u) << nlohmann::json(r.warnings).dump(1);
  }
  EXPECT_EQ(Dataset::open(t / "ds").size(), 3u);
}

}  // namespace
}  // namespace scintigen

namespace scintigen {
namespace {

// Provenance round trip, ingest half: the decision on a hand-made object (the reader fills
// DicomObject::scintigen_mark from scintigen's own exports).
TEST(Ingest, ScintigenOwnExportsAreRefusedUnlessAllowedAndKeepTheirProvenance) {
  DicomObject obj;
  obj.path = "in/sim.dcm";
  Scan scan = make_scan(4, 2);
  apply_origin(obj, false, scan);  // no mark: a patient's scan
  EXPECT_EQ(scan.origin, Origin::kReal);
  EXPECT_EQ(scan.source, "ingest");

  obj.scintigen_mark.emplace();
  obj.scintigen_mark->origin = Origin::kSimulated;
  obj.scintigen_mark->source = "phantom:site=large_centre seed=1 index=3";
  obj.scintigen_mark->provenance = {{"generator", "phantom"}, {"seed", 1}};
  for (Origin o : {Origin::kSimulated, Origin::kSynthetic}) {
    obj.scintigen_mark->origin = o;
    try {
      apply_origin(obj, false, scan);
      FAIL();
    } catch (const InputError& e) {
      EXPECT_EQ(e.describe(), std::string("in/sim.dcm: a ") + to_string(o) +
                                  " scan made by scintigen, not a patient's (hint: ingest it with --allow-synthetic)");
    }
  }
  obj.scintigen_mark->origin = Origin::kSimulated;
  apply_origin(obj, true, scan);
  EXPECT_EQ(scan.origin, Origin::kSimulated);
  EXPECT_EQ(scan.source, "phantom:site=large_centre seed=1 index=3");
  EXPECT_EQ(scan.meta["provenance"], (nlohmann::json{{"generator", "phantom"}, {"seed", 1}}));
}

TEST(Ingest, RejectionSummaryCountsByReasonMostCommonFirst) {
  IngestResult r;
  r.files_seen = 9;
  r.rejected = {
      {"a.dcm", "not DICOM"}, {"b.dcm", "decoder crashed (signal 11)"}, {"c.dcm", "decoder crashed (signal 11)"},
      {"d.dcm", "not DICOM"}, {"e.dcm", "decoder crashed (signal 11)"}, {"f.dcm", "truncated"}};
  EXPECT_EQ(
      rejection_summary(r),
      (std::vector<std::string>{"6 of 9 files rejected, by reason:", "  3 x decoder crashed (signal 11) (first: b.dcm)",
                                "  2 x not DICOM (first: a.dcm)", "  1 x truncated (first: f.dcm)"}));
  EXPECT_EQ(r.to_json()["rejected_by_reason"][0],
            (nlohmann::json{{"reason", "decoder crashed (signal 11)"}, {"count", 3}, {"first_file", "b.dcm"}}));
  EXPECT_TRUE(rejection_summary(IngestResult()).empty());
}

TEST(Ingest, UnmatchedLabelRowsAreOneLine) {
  testing::TempDir t;
  std::vector<std::vector<uint16_t>> ant, post;
  write_pairs(t / "in", 1, &ant, &post);
  std::ofstream(t / "l.csv")
      << "file,metastasis,reader\nscan0_a.dcm,1,X\nx1.dcm,0,Y\nx2.dcm,0,Y\nx3.dcm,1,Y\nx4.dcm,1,Y\n";
  IngestConfig cfg;
  cfg.inputs = {t / "in"};
  cfg.dry_run = true;
  cfg.labels_csv = t / "l.csv";
  cfg.labels_ignore_columns = {"reader"};
  IngestResult r = ingest(cfg);
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_EQ(r.label_errors.size(), 4u);  // every row, for the report
  EXPECT_EQ(r.unmatched_labels,
            t / "l.csv" +
                ": 4 rows match no ingested scan: file 'x1.dcm' (line 3), 'x2.dcm' (line 4), 'x3.dcm' "
                "(line 5) and 1 more (hint: file keys are paths relative to the folder given on the "
                "command line, or the file name of a file given directly)");
}

}  // namespace
}  // namespace scintigen
