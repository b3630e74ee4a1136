// Unit tests of the dataset store: layout, round trips, validation, atomic commit, locking,
// damaged folders, read-only opens and concurrent loads.
#include "data/dataset.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/fs_util.h"
#include "dataset_test_util.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace scintigen {
namespace {

using testing::run_command;
using testing::snapshot;
using testing::TempDir;
using testing::test_scan;

// Runs `f`, expects an InputError and returns its "<where>: <what> (hint: ...)" text.
template <typename F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.describe();
  } catch (const std::exception& e) {
    return std::string("unexpected exception: ") + e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> sql_rows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  f << bytes;
}

TEST(Dataset, CreateWritesTheLayout) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {{"command", "test"}, {"seed", 7}});
    EXPECT_EQ(ds.dir(), dir);
    EXPECT_EQ(ds.size(), 0u);
  }
  EXPECT_TRUE(fs::exists(dir + "/images.bin"));
  EXPECT_EQ(fs::file_size(dir + "/images.bin"), 0u);
  // Clean close leaves a self-contained manifest (no -wal / -shm beside it).
  EXPECT_FALSE(fs::exists(dir + "/manifest.db-wal"));
  EXPECT_FALSE(fs::exists(dir + "/manifest.db-shm"));
  const auto info = nlohmann::json::parse(read_file(dir + "/dataset.json"));
  EXPECT_EQ(info["format"], "scintigen-dataset");
  EXPECT_EQ(info["schema_version"], 1);
  EXPECT_EQ(info["dataset_uid"].get<std::string>().size(), 32u);
  EXPECT_EQ(info["config"]["seed"], 7);
  EXPECT_TRUE(info["versions"].contains("sqlite"));
  EXPECT_TRUE(info["versions"].contains("scintigen"));
  EXPECT_FALSE(info["created"].get<std::string>().empty());

  EXPECT_EQ(sql_rows(dir + "/manifest.db", "SELECT value FROM meta WHERE key='schema_version'"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(sql_rows(dir + "/manifest.db", "PRAGMA journal_mode"), std::vector<std::string>{"delete"});
  std::vector<std::string> cols;
  for (const auto& row : sql_rows(dir + "/manifest.db", "SELECT name FROM pragma_table_info('scans')"))
    cols.push_back(row);
  for (const char* c : {"id", "height", "width", "views", "spacing_row_mm", "spacing_col_mm", "label_metastasis",
                        "label_cardiac_grade", "label_height", "label_outcome_event", "origin", "source", "split",
                        "meta_json", "pixel_sha256", "dtype", "offset", "nbytes", "added_at"})
    EXPECT_NE(std::find(cols.begin(), cols.end(), c), cols.end()) << c;
  EXPECT_EQ(cols.size(), 15u + 11u);  // fixed columns + one per label field

  Dataset r = Dataset::open(dir);
  ASSERT_EQ(r.history().size(), 1u);
  EXPECT_EQ(r.history()[0]["command"], "test");
  EXPECT_EQ(r.history()[0]["config"]["seed"], 7);
  EXPECT_NE(Dataset::create(t / "ds2", {}).info()["dataset_uid"], r.info()["dataset_uid"]);
}

TEST(Dataset, RoundTripsUint16AndFloat32Exactly) {
  TempDir t;
  Dataset ds = Dataset::create(t / "ds", nlohmann::json::object());
  Scan a = test_scan("a", 31, 7, 1);  // integer counts -> u16
  a.labels.metastasis = 1;
  a.labels.cardiac_grade = 2;
  a.labels.tracer = "HDP";
  a.labels.age = 71.3;
  a.labels.height = 172.5;
  a.labels.site = "siteA";
  a.meta = {{"subject", "p0001"}, {"manufacturer_model", "x"}};
  a.split = "train";
  a.origin = Origin::kSynthetic;
  Scan b = test_scan("b", 16, 5, 2, /*fractional=*/true);  // -> f32
  b.views = ViewSet::kPosteriorOnly;
  std::fill(b.view(kAnterior), b.view(kAnterior) + b.view_size(), 0.f);
  Scan c = test_scan("c", 3, 3, 3);
  c.pixels[4] = -0.0f;  // must survive bit-exactly: f32
  Scan d = test_scan("d", 2, 2, 4);
  d.pixels[0] = 65535.f;
  Scan e = test_scan("e", 2, 2, 4);
  e.pixels[0] = 65536.f;  // out of u16 range -> f32
  e.pixels[1] = 1e-30f;
  for (Scan* s : {&a, &b, &c, &d, &e}) ds.add(*s);
  ds.commit();
  const auto recs = ds.records();
  ASSERT_EQ(recs.size(), 5u);
  const std::vector<PixelDtype> expect = {PixelDtype::kUint16, PixelDtype::kFloat32, PixelDtype::kFloat32,
                                          PixelDtype::kUint16, PixelDtype::kFloat32};
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].dtype, expect[i]) << recs[i].id;
    EXPECT_EQ(recs[i].offset % 64, 0u) << recs[i].id;
    EXPECT_EQ(recs[i].nbytes, 2u * recs[i].height * recs[i].width * (expect[i] == PixelDtype::kUint16 ? 2 : 4));
  }
  EXPECT_EQ(recs[0].id, "a");  // insertion order
  EXPECT_EQ(recs[4].id, "e");
  Dataset r = Dataset::open(t / "ds");
  for (Scan* s : {&a, &b, &c, &d, &e}) {
    Scan l = r.load(s->id);
    ASSERT_EQ(l.pixels.size(), s->pixels.size());
    EXPECT_EQ(std::memcmp(l.pixels.data(), s->pixels.data(), 4 * s->pixels.size()), 0) << s->id;
    EXPECT_EQ(l.pixel_sha256, compute_pixel_sha256(*s));
    EXPECT_EQ(l.height, s->height);
    EXPECT_EQ(l.views, s->views);
    EXPECT_EQ(l.origin, s->origin);
    EXPECT_EQ(l.source, s->source);
    EXPECT_EQ(l.split, s->split);
    EXPECT_EQ(l.meta, s->meta);
    EXPECT_EQ(l.spacing_row_mm, s->spacing_row_mm);
    EXPECT_EQ(labels_to_json(l.labels), labels_to_json(s->labels));
  }
  EXPECT_TRUE(std::signbit(r.load("c").pixels[4]));
  EXPECT_EQ(r.find("a")->labels.age, 71.3);
  EXPECT_FALSE(r.find("zz").has_value());
  EXPECT_TRUE(contains(input_error([&] { r.load("zz"); }), "no scan with id 'zz'"));
  // Unset labels are NULL; set ones are typed.
  EXPECT_EQ(sql_rows(t / "ds/manifest.db",
                     "SELECT label_metastasis, label_age, label_tracer, label_sex FROM scans WHERE id='a'"),
            std::vector<std::string>{"1|71.3|HDP|NULL"});
  const auto v = r.verify(true);
  EXPECT_TRUE(v.ok) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.scans_checked, 5u);
  EXPECT_EQ(v.pixels_rehashed, 5u);
}

TEST(Dataset, AddValidatesTheScan) {
  TempDir t;
  Dataset ds = Dataset::create(t / "ds", {});
  const std::string dir = t / "ds";
  EXPECT_EQ(
      input_error([&] { ds.add(test_scan("", 4, 4, 1)); }),
      dir + ": a scan has an empty id (hint: ids are 1-128 characters of A-Z a-z 0-9 _ . - not starting with '.')");
  EXPECT_TRUE(contains(input_error([&] { ds.add(test_scan("a/b", 4, 4, 1)); }), "scan 'a/b': invalid id"));
  Scan s = test_scan("x", 4, 4, 1);
  s.pixels.pop_back();
  EXPECT_EQ(input_error([&] { ds.add(s); }), dir + ": scan 'x': has 31 pixel values, expected 2 x 4 x 4 = 32");
  s = test_scan("x", 0, 4, 1);
  EXPECT_TRUE(contains(input_error([&] { ds.add(s); }), "scan 'x': invalid shape 0 x 4"));
  s = test_scan("x", 4, 4, 1);
  s.pixels[5] = NAN;
  EXPECT_EQ(
      input_error([&] { ds.add(s); }),
      dir + ": scan 'x': pixel (row 1, column 1) of the anterior view is nan (hint: counts must be finite and >= 0)");
  s.pixels[5] = -1.f;
  EXPECT_TRUE(
      contains(input_error([&] { ds.add(s); }), "scan 'x': pixel (row 1, column 1) of the anterior view is -1"));
  s = test_scan("x", 4, 4, 1);
  s.views = ViewSet::kAnteriorOnly;
  EXPECT_TRUE(
      contains(input_error([&] { ds.add(s); }), "of the posterior view is not zero, but the view is marked missing"));
  s = test_scan("x", 4, 4, 1);
  s.pixel_sha256 = compute_pixel_sha256(test_scan("y", 4, 4, 2));
  EXPECT_EQ(input_error([&] { ds.add(s); }),
            dir +
                ": scan 'x': pixel_sha256 does not match the pixels (hint: leave it empty to have it computed, or "
                "recompute it with compute_pixel_sha256)");
  s.pixel_sha256 = compute_pixel_sha256(s);
  ds.add(s);  // a correct hash is accepted
  EXPECT_TRUE(contains(input_error([&] { ds.add(s); }), "scan 'x': the id is already staged in this dataset"));
  ds.commit();
  EXPECT_TRUE(contains(input_error([&] { ds.add(s); }), "scan 'x': the id already exists in this dataset"));
  EXPECT_EQ(ds.size(), 1u);
  // Nothing of the rejected scans reached the image store.
  EXPECT_EQ(fs::file_size(dir + "/images.bin"), 2u * 4 * 4 * 2);
}

TEST(Dataset, StagedScansAreInvisibleUntilCommitAndDroppedOnDestruction) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {});
    ds.add(test_scan("s000001", 8, 4, 1));
    EXPECT_EQ(ds.size(), 0u);
    EXPECT_FALSE(ds.find("s000001"));
    EXPECT_EQ(Dataset::open(dir).size(), 0u);  // another reader sees nothing either
    EXPECT_EQ(ds.next_id(), "s000002");        // but ids consider staged scans
    ds.commit();
    EXPECT_EQ(ds.size(), 1u);
    EXPECT_EQ(Dataset::open(dir).size(), 1u);
    ds.add(test_scan("s000002", 8, 4, 2));
    ds.add(test_scan("s000003", 8, 4, 3));
  }  // destroyed with two staged scans: they are dropped
  EXPECT_EQ(fs::file_size(dir + "/images.bin"), 8u * 4 * 2 * 2);
  Dataset r = Dataset::open(dir, true);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.next_id(), "s000002");
  EXPECT_EQ(r.next_id("syn_"), "syn_000001");
  EXPECT_TRUE(r.verify(true).ok);
}

TEST(Dataset, CreateAndOpenRejectUnusableFolders) {
  TempDir t;
  fs::create_directories(t / "full");
  std::ofstream(t / "full/x") << "x";
  EXPECT_EQ(input_error([&] { Dataset::create(t / "full", {}); }),
            (t / "full") + ": already exists and is not empty (hint: choose a new --out folder)");
  fs::create_directories(t / "empty");
  EXPECT_NO_THROW(Dataset::create(t / "empty", {}));
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(t / "full"); }),
                       (t / "full") + ": not a scintigen dataset (no dataset.json)"));
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(t / "nope"); }), (t / "nope") + ": no such dataset folder"));
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(t / "full/x"); }), "not a scintigen dataset"));
}

TEST(Dataset, BadDatasetJsonFailsClearly) {
  TempDir t;
  const std::string dir = t / "ds";
  Dataset::create(dir, {});
  const std::string good = read_file(dir + "/dataset.json");
  write_file_atomic(dir + "/dataset.json", "{\"format\": \"scintigen-dataset\", garbage");
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(dir); }), dir + "/dataset.json: cannot parse: "));
  auto j = nlohmann::json::parse(good);
  j["schema_version"] = 2;
  write_file_atomic(dir + "/dataset.json", j.dump());
  EXPECT_EQ(
      input_error([&] { Dataset::open(dir); }),
      dir +
          "/dataset.json: schema version is 2; this build of scintigen reads version 1 (hint: use a newer scintigen)");
  j["schema_version"] = "1";
  write_file_atomic(dir + "/dataset.json", j.dump());
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(dir); }), "schema_version is missing or not an integer"));
  j["schema_version"] = 1;
  j["format"] = "something-else";
  write_file_atomic(dir + "/dataset.json", j.dump());
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(dir); }), "not a scintigen dataset description"));
  write_file_atomic(dir + "/dataset.json", good);
  EXPECT_NO_THROW(Dataset::open(dir));
}

TEST(Dataset, DamagedManifestFailsClearly) {
  TempDir t;
  const std::string dir = t / "ds";
  { Dataset ds = Dataset::create(dir, {}); }
  write_file_atomic(dir + "/manifest.db", std::string(4096, 'x'));
  EXPECT_TRUE(
      contains(input_error([&] { Dataset::open(dir); }), dir + "/manifest.db: cannot read: file is not a database"));
  fs::remove(dir + "/manifest.db");
  EXPECT_EQ(input_error([&] { Dataset::open(dir); }),
            dir + "/manifest.db: is missing (hint: the dataset is incomplete; restore it from a backup)");
}

TEST(Dataset, TruncatedImageStoreFailsOpen) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {});
    ds.add(test_scan("a", 8, 8, 1));  // bytes 0..256
    ds.add(test_scan("b", 8, 8, 2));  // bytes 256..512
    ds.commit();
  }
  fs::resize_file(dir + "/images.bin", 300);
  EXPECT_EQ(
      input_error([&] { Dataset::open(dir); }),
      dir +
          "/images.bin: b: pixels at bytes 256..512 lie beyond the end of images.bin (300 bytes) (hint: the image "
          "store was truncated or replaced; restore it from a backup)");
  EXPECT_TRUE(contains(input_error([&] { Dataset::open(dir, true); }), "b: pixels at bytes 256..512 lie beyond"));
}

// A flipped byte inside the pixels keeps the structure intact: only a re-hash finds it.
TEST(Dataset, CorruptPixelIsFoundByRehashOnly) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {});
    ds.add(test_scan("a", 8, 8, 1));
    ds.add(test_scan("b", 8, 8, 2));
    ds.commit();
  }
  {
    std::fstream f(dir + "/images.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(256 + 17);
    f.put('\x5a');
  }
  Dataset r = Dataset::open(dir);  // structure is fine
  EXPECT_TRUE(r.verify(false).ok);
  const auto v = r.verify(true);
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0], "b: pixels do not match pixel_sha256");
}

TEST(Dataset, SecondWriterIsRefusedReadersAreNot) {
  TempDir t;
  const std::string dir = t / "ds";
  Dataset w = Dataset::create(dir, {});
  w.add(test_scan("a", 4, 4, 1));
  w.commit();
  EXPECT_EQ(
      input_error([&] { Dataset::open(dir, true); }),
      dir + ": dataset is being written by another process (hint: wait for it to finish, or write to a new dataset)");
  Dataset r = Dataset::open(dir);  // readers are welcome while a writer works
  w.add(test_scan("b", 4, 4, 2));
  w.commit();
  EXPECT_EQ(r.size(), 2u);
  EXPECT_TRUE(r.verify(true).ok);
  EXPECT_TRUE(contains(input_error([&] { r.add(test_scan("c", 4, 4, 3)); }), "the dataset was opened read-only"));
  EXPECT_TRUE(contains(input_error([&] { r.log_event("x", {}); }), "the dataset was opened read-only"));
  w = Dataset::create(t / "other", {});  // releases the lock on dir
  EXPECT_NO_THROW(Dataset::open(dir, true));
}

TEST(Dataset, WritableOpenCutsUncommittedBytes) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {});
    ds.add(test_scan("a", 4, 6, 1));
    ds.commit();
  }
  append_bytes(dir + "/images.bin", std::string(1000, '\x7f'));  // what a killed writer leaves
  EXPECT_TRUE(Dataset::open(dir).verify(true).ok);
  EXPECT_EQ(fs::file_size(dir + "/images.bin"), 1096u);  // a reader does not touch it
  {
    Dataset w = Dataset::open(dir, true);
    EXPECT_EQ(fs::file_size(dir + "/images.bin"), 96u);
    w.add(test_scan("b", 4, 6, 2));
    w.commit();
    EXPECT_EQ(w.find("b")->offset, 128u);
  }
  EXPECT_TRUE(Dataset::open(dir).verify(true).ok);
}

TEST(Dataset, SplitsEventsAndIds) {
  TempDir t;
  Dataset ds = Dataset::create(t / "ds", {{"command", "simulate"}});
  for (int i = 0; i < 3; ++i) {
    Scan s = test_scan(ds.next_id(), 4, 4, i);
    ds.add(s);
  }
  EXPECT_EQ(ds.next_id(), "s000004");
  ds.commit();
  ds.add(test_scan("s000005", 4, 4, 9));
  EXPECT_EQ(ds.next_id(), "s000004");  // first unused
  ds.set_splits({{"s000001", "train"}, {"s000002", "test"}, {"s000005", "val"}});
  EXPECT_EQ(
      input_error([&] {
        ds.set_splits({{"s000003", "train"}, {"nope", "test"}});
      }),
      (t / "ds") + ": no scan with id 'nope' (hint: list ids with: scintigen dataset info --ids " + (t / "ds") + ")");
  EXPECT_EQ(ds.find("s000003")->split, "");  // all or nothing
  ds.commit();
  EXPECT_EQ(ds.find("s000001")->split, "train");
  EXPECT_EQ(ds.find("s000002")->split, "test");
  EXPECT_EQ(ds.find("s000005")->split, "val");
  ds.log_event("dataset split", {{"seed", 3}});
  const auto h = ds.history();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0]["command"], "simulate");
  EXPECT_EQ(h[1]["command"], "dataset split");
  EXPECT_EQ(h[1]["config"]["seed"], 3);
}

// A read-only open changes no byte and no mtime, and creates no file.
TEST(Dataset, ReadOnlyOpenWritesNothing) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {});
    for (int i = 0; i < 4; ++i) ds.add(test_scan("s" + std::to_string(i), 16, 8, i, i % 2));
    ds.commit();
  }
  const auto before = snapshot(dir);
  {
    Dataset r = Dataset::open(dir);
    for (const auto& rec : r.records()) r.load(rec);
    EXPECT_TRUE(r.verify(true).ok);
    r.history();
    r.next_id();
  }
  EXPECT_EQ(snapshot(dir), before);
}

// A copy without write permission opens, loads and verifies. As root (who ignores permission
// bits) the check runs in a child process that drops to user nobody.
TEST(Dataset, OpensOnAReadOnlyCopy) {
  TempDir t;
  const std::string dir = t / "ds";
  {
    Dataset ds = Dataset::create(dir, {});
    for (int i = 0; i < 3; ++i) ds.add(test_scan("s" + std::to_string(i), 16, 8, i, i % 2));
    ds.commit();
  }
  const std::string copy = t / "copy";
  fs::copy(dir, copy, fs::copy_options::recursive);
  ASSERT_EQ(run_command("chmod -R a-w " + copy).exit_code, 0);
  ::chmod(t.path().c_str(), 0755);
  const auto before = snapshot(copy);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::getuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) _exit(3);
    try {
      Dataset r = Dataset::open(copy);
      if (r.size() != 3 || !r.verify(true).ok || r.load("s1").pixels.size() != 2u * 16 * 8) _exit(1);
      try {
        Dataset::open(copy, true);
        _exit(4);  // a writable open of a read-only folder must fail
      } catch (const InputError&) {
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(snapshot(copy), before);
  run_command("chmod -R u+w " + copy);
}

TEST(Dataset, ConcurrentLoadsFromSeveralThreads) {
  TempDir t;
  const std::string dir = t / "ds";
  std::vector<Scan> scans;
  {
    Dataset ds = Dataset::create(dir, {});
    for (int i = 0; i < 24; ++i) {
      scans.push_back(test_scan(ds.next_id(), 64, 16, i, i % 3 == 0));
      ds.add(scans.back());
    }
    ds.commit();
  }
  Dataset r = Dataset::open(dir);
  std::atomic<int> mismatches{0}, loads{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep)
        for (size_t i = 0; i < scans.size(); ++i) {
          const Scan& want = scans[(i + k * 7) % scans.size()];
          Scan got = (rep % 2) ? r.load(want.id) : r.load(*r.find(want.id));
          if (got.pixels != want.pixels || got.pixel_sha256 != compute_pixel_sha256(want)) ++mismatches;
          ++loads;
        }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(loads.load(), 4 * 20 * 24);
}

}  // namespace
}  // namespace scintigen
