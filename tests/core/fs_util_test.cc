#include "core/fs_util.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/progress.h"
#include "test_util.h"

namespace scintigen {
namespace {

TEST(FsUtil, AtomicWriteReplacesWholeFileAndLeavesNoTemporary) {
  testing::TempDir d;
  const std::string p = d / "a.json";
  write_file_atomic(p, "first");
  write_file_atomic(p, "second, longer");
  EXPECT_EQ(read_file(p), "second, longer");
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path())) (void)e, ++n;
  EXPECT_EQ(n, 1u);
}

TEST(FsUtil, ErrorsNameThePath) {
  try {
    read_file("/nonexistent/x.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "/nonexistent/x.json");
  }
  EXPECT_THROW(write_file_atomic("/nonexistent/dir/x", "y"), InternalError);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(5), "5s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

}  // namespace
}  // namespace scintigen
