// `scintigen dataset resample` (resample_dataset): at an integer factor each new pixel is the sum of
// the source block it covers, checked against the test's own block sums; at a non-integer factor
// every view keeps its total counts (float rounding: 1e-5 relative); ids, labels, origin, source,
// split, present views and meta are carried, spacing is scaled and "resampled_from" names the
// source grid; dataset.json records the source; a scan already on the grid is copied unchanged;
// bad sizes and unusable folders are refused before anything is written. And the writer that
// resample, merge and simulate share (create_dataset_atomically): a run that throws after
// committing scans leaves nothing at --out and no temporary folder; one that returns leaves only
// the finished dataset.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/scan.h"
#include "data/dataset.h"
#include "pipeline/dataset_ops.h"
#include "test_util.h"

namespace scintigen {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr int kH = 32, kW = 8;

// Three scans of integer counts on 8 x 32: a metastatic training scan with both views, a
// validation scan with the anterior view only, and an unlabelled one; spacing 2.4 x 3.0 mm.
std::map<std::string, Scan> make_source(const std::string& dir) {
  Dataset ds = Dataset::create(dir, {{"command", "test"}, {"note", "the source's config"}});
  std::mt19937 rng(7);
  std::poisson_distribution<int> counts(40.0);
  std::map<std::string, Scan> made;
  for (int k = 0; k < 3; ++k) {
    Scan s = make_scan(kH, kW);
    s.id = "s" + std::to_string(k);
    for (float& v : s.pixels) v = static_cast<float>(counts(rng));
    s.spacing_row_mm = 2.4;
    s.spacing_col_mm = 3.0;
    s.origin = Origin::kSynthetic;
    s.source = "model:abc seed=" + std::to_string(k);
    s.meta["tracer_dose_mbq"] = 600 + k;
    if (k == 0) {
      s.labels.metastasis = true;
      s.labels.cardiac_grade = 2;
      s.labels.tracer = "DPD";
      s.split = "train";
    } else if (k == 1) {
      s.views = ViewSet::kAnteriorOnly;
      std::fill(s.view(kPosterior), s.view(kPosterior) + s.view_size(), 0.f);
      s.labels.metastasis = false;
      s.split = "val";
    }
    ds.add(s);
    made[s.id] = s;
  }
  ds.commit();
  return made;
}

double view_sum(const Scan& s, View v) {
  double t = 0;
  for (size_t i = 0; i < s.view_size(); ++i) t += s.view(v)[i];
  return t;
}

TEST(DatasetResample, IntegerFactorSumsBlocksAndCarriesEverythingElse) {
  TempDir t;
  const auto made = make_source(t / "src");
  ASSERT_EQ(resample_dataset(t / "src", t / "half", ResampleConfig{kW / 2, kH / 2}), 3u);
  Dataset out = Dataset::open(t / "half");
  EXPECT_TRUE(out.verify(true).ok);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& r : out.records()) {
    SCOPED_TRACE(r.id);
    const Scan& a = made.at(r.id);
    const Scan b = out.load(r);
    ASSERT_EQ(b.height, kH / 2);
    ASSERT_EQ(b.width, kW / 2);
    for (View v : {kAnterior, kPosterior})
      for (int y = 0; y < kH / 2; ++y)
        for (int x = 0; x < kW / 2; ++x) {
          const float* p = a.view(v);
          const float block = p[(2 * y) * kW + 2 * x] + p[(2 * y) * kW + 2 * x + 1] + p[(2 * y + 1) * kW + 2 * x] +
                              p[(2 * y + 1) * kW + 2 * x + 1];
          ASSERT_EQ(b.view(v)[y * (kW / 2) + x], block) << "view " << v << " row " << y << " column " << x;
        }
    EXPECT_EQ(b.views, a.views);
    EXPECT_EQ(b.origin, a.origin);
    EXPECT_EQ(b.source, a.source);
    EXPECT_EQ(b.split, a.split);
    EXPECT_EQ(b.labels.metastasis, a.labels.metastasis);
    EXPECT_EQ(b.labels.cardiac_grade, a.labels.cardiac_grade);
    EXPECT_EQ(b.labels.tracer, a.labels.tracer);
    EXPECT_DOUBLE_EQ(b.spacing_row_mm, 4.8);
    EXPECT_DOUBLE_EQ(b.spacing_col_mm, 6.0);
    EXPECT_EQ(b.meta["tracer_dose_mbq"], a.meta["tracer_dose_mbq"]);
    EXPECT_EQ(b.meta["resampled_from"], nlohmann::json::array({kH, kW}));
  }
  const nlohmann::json& config = out.info()["config"];
  EXPECT_EQ(config["command"], "dataset resample");
  EXPECT_EQ(config["size"], "4x16");
  EXPECT_EQ(config["input"]["uid"], Dataset::open(t / "src").info()["dataset_uid"]);
  EXPECT_EQ(config["source"]["note"], "the source's config");
}

TEST(DatasetResample, AnyFactorKeepsEachViewsCountsAndTheSameGridCopies) {
  TempDir t;
  const auto made = make_source(t / "src");
  ASSERT_EQ(resample_dataset(t / "src", t / "odd", ResampleConfig{5, 45}), 3u);
  Dataset odd = Dataset::open(t / "odd");
  for (const auto& r : odd.records()) {
    const Scan b = odd.load(r);
    ASSERT_EQ(b.height, 45);
    ASSERT_EQ(b.width, 5);
    for (View v : {kAnterior, kPosterior}) {
      const double want = view_sum(made.at(r.id), v);
      EXPECT_NEAR(view_sum(b, v), want, 1e-5 * std::max(want, 1.0)) << r.id << " view " << v;
    }
  }
  ASSERT_EQ(resample_dataset(t / "src", t / "same", ResampleConfig{kW, kH}), 3u);
  Dataset same = Dataset::open(t / "same");
  const Dataset src = Dataset::open(t / "src");
  for (const auto& r : same.records()) {
    const Scan b = same.load(r);
    EXPECT_EQ(b.pixels, made.at(r.id).pixels) << r.id;
    EXPECT_EQ(r.pixel_sha256, src.find(r.id)->pixel_sha256) << r.id;
    EXPECT_FALSE(b.meta.contains("resampled_from")) << r.id;
  }
}

TEST(DatasetResample, RefusesBadSizesAndFoldersBeforeWriting) {
  TempDir t;
  make_source(t / "src");
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{0, 16}, {4, 0}, {-4, 16}, {4, 9000}}) {
    try {
      resample_dataset(t / "src", t / "bad", ResampleConfig{w, h});
      ADD_FAILURE() << w << "x" << h << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("invalid size"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(t / "bad"));
  }
  EXPECT_NE(testing::input_error([&] { resample_dataset(t / "nope", t / "bad", ResampleConfig{4, 16}); }), "");
  EXPECT_FALSE(fs::exists(t / "bad"));
  // an existing dataset is not overwritten
  ASSERT_EQ(resample_dataset(t / "src", t / "half", ResampleConfig{4, 16}), 3u);
  const std::string before = read_file(t / "half/dataset.json");
  EXPECT_NE(testing::input_error([&] { resample_dataset(t / "src", t / "half", ResampleConfig{2, 8}); }), "");
  EXPECT_EQ(read_file(t / "half/dataset.json"), before);
  EXPECT_EQ(Dataset::open(t / "half").records().front().height, 16);
}

TEST(CreateDatasetAtomically, AFailedRunLeavesNothingAndAFinishedOneOnlyTheDataset) {
  TempDir t;
  const nlohmann::json config = {{"command", "test writer"}};
  auto add_two = [](Dataset& ds) {
    for (int k = 0; k < 2; ++k) {
      Scan s = make_scan(kH, kW);
      s.id = "w" + std::to_string(k);
      ds.add(s);
    }
    ds.commit();
  };
  try {
    create_dataset_atomically(t / "out/ds", config, [&](Dataset& ds) {
      add_two(ds);
      throw InputError("scan w2", "unreadable", "a test failure after two committed scans");
    });
    ADD_FAILURE() << "the failure was swallowed";
  } catch (const InputError& e) {
    EXPECT_NE(e.describe().find("unreadable"), std::string::npos) << e.describe();
  }
  EXPECT_FALSE(fs::exists(t / "out/ds"));
  EXPECT_TRUE(fs::is_empty(t / "out")) << "a temporary folder was left behind";

  create_dataset_atomically(t / "out/ds", config, add_two);
  EXPECT_EQ(Dataset::open(t / "out/ds").size(), 2u);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(t / "out")) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"ds"});
  EXPECT_EQ(testing::input_error([&] { create_dataset_atomically(t / "out/ds", config, add_two); }),
            t / "out/ds" +
                ": already exists; test writer writes a new dataset (hint: choose a new --out or remove the "
                "old one)");
}

}  // namespace
}  // namespace scintigen
