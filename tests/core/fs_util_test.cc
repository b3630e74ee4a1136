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
}

// Missing folders above the path are created (every command's --out a/b/c); a path through a
// file is refused, naming the path.
TEST(FsUtil, AtomicWriteCreatesMissingParentFolders) {
  testing::TempDir d;
  write_file_atomic(d / "a/b/c.json", "x");
  EXPECT_EQ(read_file(d / "a/b/c.json"), "x");
  write_file_atomic(d / "file", "y");
  try {
    write_file_atomic(d / "file/sub/z", "z");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), d / "file/sub/z");
    EXPECT_EQ(e.reason().rfind("cannot create its folder " + d / "file/sub" + ": ", 0), 0u) << e.reason();
  }
  EXPECT_EQ(read_file(d / "file"), "y");
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(5), "5s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

}  // namespace
}  // namespace scintigen
