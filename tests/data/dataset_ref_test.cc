// The documented on-disk format, read back by an independent reader (Python sqlite3 + numpy
// memmap, tests/data/read_dataset.py): offsets, dtypes, shapes and pixel hashes agree.
#include <gtest/gtest.h>

#include <numeric>
#include <sstream>

#include "data/dataset.h"
#include "dataset_test_util.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::python;
using testing::run_command;
using testing::source_path;
using testing::TempDir;
using testing::test_scan;

TEST(DatasetReference, NumpyMemmapReadsTheImageStore) {
  TempDir t;
  const std::string dir = t / "ds";
  std::vector<Scan> scans;
  {
    Dataset ds = Dataset::create(dir, {});
    for (int i = 0; i < 6; ++i) {
      Scan s = test_scan(ds.next_id(), 40 + i, 9 + i, i, /*fractional=*/i % 2);
      if (i == 4) {
        s.views = ViewSet::kAnteriorOnly;
        std::fill(s.view(kPosterior), s.view(kPosterior) + s.view_size(), 0.f);
      }
      scans.push_back(s);
      ds.add(s);
    }
    ds.commit();
  }
  auto r = run_command(python() + " " + source_path("tests/data/read_dataset.py") + " " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  for (const auto& s : scans) {
    std::string id, dtype;
    double sum = 0;
    lines >> id >> dtype >> sum;
    EXPECT_EQ(id, s.id);
    EXPECT_EQ(dtype, s.id == "s000002" || s.id == "s000004" || s.id == "s000006" ? "f32" : "u16") << s.id;
    EXPECT_DOUBLE_EQ(sum, std::accumulate(s.pixels.begin(), s.pixels.end(), 0.0)) << s.id;
  }
}

}  // namespace
}  // namespace scintigen
