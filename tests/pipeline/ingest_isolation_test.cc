// Crash isolation of ingest: a decoder that crashes, hangs or balloons on one file costs that
// file only (SCINTIGEN_TEST_DECODER_FAULT makes the worker do so on a named file); the result
// of an isolated run equals the in-process one; no worker process is left behind.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>

#include "core/error.h"
#include "core/isolated.h"
#include "data/dataset.h"
#include "io/dicom_fixtures.h"
#include "pipeline/ingest.h"
#include "test_util.h"

namespace scintigen {
namespace {

using testing::FixtureSpec;
using testing::TempDir;

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

// Single-view files a.dcm, b.dcm, ... (no series UID, so no pairing), distinct pixels.
void write_files(const std::string& dir, int n) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    FixtureSpec s;
    s.rows = 128;
    s.cols = 32;
    s.views = {kAnterior};
    write_nm_fixture(dir + "/" + std::string(1, static_cast<char>('a' + i)) + ".dcm", s,
                     {testing::synthetic_counts(s.rows, s.cols, 300 + i)});
  }
}

bool no_child_processes() {
  int st = 0;
  return waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
}

std::vector<std::string> describe_records(const std::string& dir) {
  std::vector<std::string> out;
  for (auto rec : Dataset::open(dir).records()) {
    EXPECT_EQ(rec.meta.value("subject", "").size(), 17u);
    rec.meta.erase("subject");  // a pseudonym with a fresh secret per run (docs/PRIVACY.md)
    out.push_back(rec.id + " " + rec.pixel_sha256 + " " + to_string(rec.views) + " " + to_string(rec.origin) + " " +
                  rec.source + " " + rec.meta.dump() + " " + labels_to_json(rec.labels).dump());
  }
  return out;
}

TEST(IngestIsolation, CrashHangAndBalloonRejectTheirFileOnly) {
  TempDir t;
  write_files(t / "in", 6);
  ScopedEnv fault("SCINTIGEN_TEST_DECODER_FAULT", "crash:b.dcm,hang:d.dcm,balloon:e.dcm");
  for (bool dry_run : {false, true}) {
    IngestConfig cfg;
    cfg.inputs = {t / "in"};
    cfg.out = dry_run ? std::string() : t / "ds";
    cfg.dry_run = dry_run;
    cfg.threads = 2;
    cfg.decode_timeout_s = 1.5;
    cfg.decode_memory_mib = 256;
    IngestResult r = ingest(cfg);
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_EQ(r.scans_added, 3u);
    ASSERT_EQ(r.rejected.size(), 3u);
    EXPECT_EQ(r.rejected[0].path, t / "in/b.dcm");
    EXPECT_EQ(r.rejected[0].reason, "decoder crashed (signal 11)");
    EXPECT_EQ(r.rejected[1].path, t / "in/d.dcm");
    EXPECT_EQ(r.rejected[1].reason,
              "decoder timed out after 1.5 s (hint: a file this slow is probably malformed; if it is just large, raise "
              "--decode-timeout)");
    EXPECT_EQ(r.rejected[2].path, t / "in/e.dcm");
    EXPECT_EQ(r.rejected[2].reason,
              "decoder went over the memory limit (256 MiB) (hint: if the file is just large, raise --decode-memory)");
    EXPECT_TRUE(no_child_processes()) << "a worker was not reaped";
  }
  // The files that went in got the ids of an undisturbed run: s000001.. in file order.
  const auto recs = Dataset::open(t / "ds").records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].id, "s000001");
  EXPECT_EQ(recs[2].id, "s000003");
}

TEST(IngestIsolation, SameDatasetAsInProcessWhateverTheWorkerCount) {
  TempDir t;
  write_files(t / "in", 5);
  // Two single-view instances of one series pair up across workers, too.
  std::filesystem::create_directories(t / "in/pair");
  FixtureSpec s;
  s.rows = 128;
  s.cols = 32;
  s.study_uid = "1.2.826.0.1.3680043.10.1234.901";
  s.series_uid = s.study_uid + ".1";
  s.views = {kPosterior};
  write_nm_fixture(t / "in/pair/1.dcm", s, {testing::synthetic_counts(128, 32, 1)});
  s.views = {kAnterior};
  write_nm_fixture(t / "in/pair/2.dcm", s, {testing::synthetic_counts(128, 32, 2)});

  std::vector<std::vector<std::string>> runs;
  int k = 0;
  for (auto [isolate, threads] : {std::pair{false, 1}, std::pair{true, 1}, std::pair{true, 2}, std::pair{true, 7}}) {
    IngestConfig cfg;
    cfg.inputs = {t / "in"};
    cfg.out = t / ("ds" + std::to_string(k++));
    cfg.isolate = isolate;
    cfg.threads = threads;
    IngestResult r = ingest(cfg);
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_EQ(r.two_view_scans, 1u);
    EXPECT_EQ(r.single_view_scans, 5u);
    runs.push_back(describe_records(cfg.out));
  }
  for (size_t i = 1; i < runs.size(); ++i) EXPECT_EQ(runs[i], runs[0]) << i;
  EXPECT_TRUE(no_child_processes());
}

TEST(IngestIsolation, FaultHookIsIgnoredInProcess) {
  TempDir t;
  write_files(t / "in", 2);
  ScopedEnv fault("SCINTIGEN_TEST_DECODER_FAULT", "crash:a.dcm");
  IngestConfig cfg;
  cfg.inputs = {t / "in"};
  cfg.dry_run = true;
  cfg.isolate = false;
  EXPECT_EQ(ingest(cfg).exit_code(), 0);
}

TEST(IngestIsolation, LimitsAreValidated) {
  IngestConfig cfg;
  cfg.inputs = {"x"};
  cfg.dry_run = true;
  cfg.decode_timeout_s = 0;
  try {
    cfg.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(),
              "--decode-timeout: invalid value 0 (hint: seconds per file, more than 0 and at most 86400)");
  }
  cfg.decode_timeout_s = 60;
  cfg.decode_memory_mib = 10;
  try {
    cfg.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), "--decode-memory: invalid value 10 (hint: MiB per decoding worker, 64 to 1048576)");
  }
}

// The pool itself: results in order, a worker that exits or throws, results over the size cap.
TEST(IngestIsolation, PoolReportsEachKindOfFailureInOrder) {
  IsolationLimits lim;
  lim.timeout_s = 5;
  lim.max_result_bytes = 1000;
  std::vector<std::string> seen;
  run_isolated_ordered(
      6, 3, 4, lim,
      [](size_t i) -> std::string {
        if (i == 1) _exit(7);
        if (i == 2) throw std::runtime_error("no luck");
        if (i == 3) return std::string(5000, 'x');
        return "item " + std::to_string(i);
      },
      [&](size_t i, IsolatedOutcome&& o) {
        seen.push_back(std::to_string(i) + ":" + std::to_string(static_cast<int>(o.status)) + ":" +
                       (o.payload.size() > 100 ? "big" : o.payload));
      });
  EXPECT_EQ(seen, (std::vector<std::string>{"0:0:item 0", "1:4:the worker exited with status 7 without a result",
                                            "2:4:no luck", "3:4:the result is 5000 bytes, over the limit of 1000",
                                            "4:0:item 4", "5:0:item 5"}));
  EXPECT_TRUE(no_child_processes());
}

}  // namespace
}  // namespace scintigen
