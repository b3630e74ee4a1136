// Throughput of add() + commit() for full-size scans (2 x 1024 x 256, uint16: 1 MiB each)
// next to the floor set by the disk: the same bytes written with pwrite + fsync, and the
// pixel hash that add() computes. SCINTIGEN_PERF_SCANS sets the count (default 1000).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "data/dataset.h"
#include "dataset_test_util.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::TempDir;
using testing::test_scan;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

TEST(DatasetPerf, AddAndCommitAreIoBound) {
  const char* env = std::getenv("SCINTIGEN_PERF_SCANS");
  const int n = env ? std::atoi(env) : 1000;
  const int commit_every = 64;
  TempDir t;
  std::vector<Scan> pool;
  for (int i = 0; i < 8; ++i) pool.push_back(test_scan("p" + std::to_string(i), 1024, 256, i));
  const double mib = n * 2.0 * 1024 * 256 * 2 / (1 << 20);

  // The hash add() computes, alone.
  auto t0 = Clock::now();
  for (int i = 0; i < 16; ++i) compute_pixel_sha256(pool[i % pool.size()]);
  const double hash_s = seconds_since(t0) / 16 * n;

  // The floor: the same bytes, pwrite + fsync per batch.
  std::vector<unsigned char> bytes(2u * 1024 * 256 * 2, 0x11);
  const std::string raw = t / "raw.bin";
  int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(i) * bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    if (i % commit_every == commit_every - 1 || i == n - 1) ::fsync(fd);
  }
  const double raw_s = seconds_since(t0);
  ::close(fd);
  std::filesystem::remove(raw);

  const std::string dir = t / "ds";
  double commit_s = 0;
  t0 = Clock::now();
  {
    Dataset ds = Dataset::create(dir, {});
    for (int i = 0; i < n; ++i) {
      Scan& s = pool[i % pool.size()];
      s.id = ds.next_id();
      s.pixel_sha256.clear();
      ds.add(s);
      if (i % commit_every == commit_every - 1 || i == n - 1) {
        const auto c0 = Clock::now();
        ds.commit();
        commit_s += seconds_since(c0);
      }
    }
  }
  const double add_s = seconds_since(t0);

  t0 = Clock::now();
  Dataset r = Dataset::open(dir);
  const double open_s = seconds_since(t0);
  t0 = Clock::now();
  const auto v = r.verify(true);
  const double verify_s = seconds_since(t0);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(r.size(), static_cast<size_t>(n));

  std::printf("%d scans of 2x1024x256 u16 (%.0f MiB), commit every %d\n", n, mib, commit_every);
  std::printf("  raw pwrite+fsync       %6.2f s  %6.0f MiB/s\n", raw_s, mib / raw_s);
  std::printf("  pixel sha256 alone     %6.2f s  %6.0f MiB/s (of float32 input)\n", hash_s, 2 * mib / hash_s);
  std::printf("  add + commit           %6.2f s  %6.0f MiB/s  %.2f ms/scan\n", add_s, mib / add_s, 1e3 * add_s / n);
  std::printf("    of which commit()     %6.2f s  (fsync of images.bin + one SQLite transaction)\n", commit_s);
  std::printf("  open (structure)       %6.3f s\n", open_s);
  std::printf("  verify(true)           %6.2f s  %6.0f MiB/s\n", verify_s, mib / verify_s);
}

}  // namespace
}  // namespace scintigen
