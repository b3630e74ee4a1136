// Unit tests of the parts of the dataset store (src/data/pixel_codec.h, image_store.h,
// manifest.h): the pixel encoding, images.bin appends and cuts, and the manifest's schema and
// rows in an in-memory SQLite database. The Dataset class goes through dataset_test.cc.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/image_store.h"
#include "data/manifest.h"
#include "data/pixel_codec.h"
#include "test_util.h"

namespace scintigen::detail {
namespace {

using testing::input_error_reason;
using testing::TempDir;

// ---------------------------------------------------------------------------------------
// Pixel codec.

TEST(PixelCodec, DtypeNames) {
  EXPECT_STREQ(dtype_name(PixelDtype::kUint16), "u16");
  EXPECT_STREQ(dtype_name(PixelDtype::kFloat32), "f32");
  EXPECT_EQ(dtype_from_name("u16"), PixelDtype::kUint16);
  EXPECT_EQ(dtype_from_name("f32"), PixelDtype::kFloat32);
  EXPECT_EQ(dtype_from_name("U16"), std::nullopt);
  EXPECT_EQ(dtype_from_name(""), std::nullopt);
  EXPECT_EQ(bytes_per_value(PixelDtype::kUint16), 2u);
  EXPECT_EQ(bytes_per_value(PixelDtype::kFloat32), 4u);
}

TEST(PixelCodec, Uint16IsLittleEndian) {
  const std::vector<float> px = {0, 1, 258, 65535};
  const std::vector<unsigned char> bytes = encode_pixels(px, PixelDtype::kUint16);
  EXPECT_EQ(bytes, (std::vector<unsigned char>{0, 0, 1, 0, 2, 1, 0xff, 0xff}));
  std::vector<float> back(px.size());
  decode_pixels(bytes.data(), back.size(), PixelDtype::kUint16, back.data());
  EXPECT_EQ(back, px);
}

TEST(PixelCodec, Float32RoundTripsBitForBit) {
  const std::vector<float> px = {0.25f, -0.0f, std::numeric_limits<float>::denorm_min(), 1e30f};
  const std::vector<unsigned char> bytes = encode_pixels(px, PixelDtype::kFloat32);
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(std::vector<unsigned char>(bytes.begin(), bytes.begin() + 4),
            (std::vector<unsigned char>{0x00, 0x00, 0x80, 0x3e}));  // 0.25f
  std::vector<float> back(px.size());
  decode_pixels(bytes.data(), back.size(), PixelDtype::kFloat32, back.data());
  EXPECT_EQ(std::memcmp(back.data(), px.data(), bytes.size()), 0);
}

TEST(PixelCodec, ValidCountsAreFiniteAndNotNegative) {
  const float ok[] = {0, 1e30f, std::numeric_limits<float>::max()};
  EXPECT_TRUE(counts_valid(ok, 3));
  for (float bad :
       {-1.0f, -std::numeric_limits<float>::denorm_min(), std::nanf(""), std::numeric_limits<float>::infinity()}) {
    const float p[] = {1, bad};
    EXPECT_FALSE(counts_valid(p, 2)) << bad;
  }
  const float zeros[] = {0, -0.0f};
  EXPECT_TRUE(all_zero(zeros, 2));
  const float tiny[] = {0, 1e-30f};
  EXPECT_FALSE(all_zero(tiny, 2));
}

TEST(PixelCodec, Uint16OnlyForIntegersUpTo65535WithTheSignBitClear) {
  const float ints[] = {0, 1, 65535};
  EXPECT_TRUE(all_uint16(ints, 3));
  for (float bad : {65536.0f, 1.5f, -0.0f, 1e30f}) {
    const float p[] = {2, bad};
    EXPECT_FALSE(all_uint16(p, 2)) << bad;
  }
  std::vector<float> long_run(5000, 7);  // past the first block of 4096
  EXPECT_TRUE(all_uint16(long_run.data(), long_run.size()));
  long_run[4500] = 0.5f;
  EXPECT_FALSE(all_uint16(long_run.data(), long_run.size()));
}

// ---------------------------------------------------------------------------------------
// Image store.

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ImageStore, AppendsAtAlignedOffsetsAndCutsWhatWasNotCommitted) {
  TempDir dir;
  const std::string path = dir / "images.bin";
  {
    ImageStore store;
    store.create(path);
    EXPECT_EQ(store.append({1, 2, 3}), 0u);
    store.flush("");
    store.mark_committed();
    EXPECT_EQ(store.append({4, 5}), 64u);
    EXPECT_EQ(store.size(), 66u);
    unsigned char got[2] = {};
    EXPECT_TRUE(store.read(64, got, 2));
    EXPECT_EQ(got[1], 5);
    EXPECT_FALSE(store.read(65, got, 2));  // the file ends first
  }                                        // closed: the uncommitted append is cut off
  EXPECT_EQ(read_bytes(path), (std::vector<unsigned char>{1, 2, 3}));
}

TEST(ImageStore, StartAfterCutsAKilledWritersBytes) {
  TempDir dir;
  const std::string path = dir / "images.bin";
  std::ofstream(path, std::ios::binary) << "committed+garbage";
  ImageStore store;
  store.open(path, /*writable=*/true);
  store.start_after(9);
  EXPECT_EQ(store.size(), 9u);
  EXPECT_EQ(store.append({7}), 64u);
  store.mark_committed();
  store.close();
  EXPECT_EQ(read_bytes(path).size(), 65u);
}

TEST(ImageStore, OpenAndCreateErrorsNameTheFile) {
  TempDir dir;
  const std::string path = dir / "images.bin";
  ImageStore store;
  EXPECT_EQ(input_error_reason([&] { store.open(path, true); }), "cannot open for writing: No such file or directory");
  EXPECT_EQ(input_error_reason([&] { store.open(path, false); }), "cannot open: No such file or directory");
  std::ofstream(path) << "";
  try {
    ImageStore other;
    other.create(path);
    ADD_FAILURE() << "create over an existing file";
  } catch (const InternalError& e) {
    EXPECT_EQ(e.where(), path);
    EXPECT_EQ(e.reason(), "cannot create: File exists");
  }
}

ScanRecord placed(int h, int w, PixelDtype dtype, uint64_t offset, uint64_t nbytes) {
  ScanRecord r;
  r.height = h;
  r.width = w;
  r.dtype = dtype;
  r.offset = offset;
  r.nbytes = nbytes;
  return r;
}

TEST(ImageStore, PlacementProblems) {
  EXPECT_EQ(placement_problem(placed(2, 3, PixelDtype::kUint16, 64, 24), 88), "");
  EXPECT_EQ(placement_problem(placed(0, 3, PixelDtype::kUint16, 0, 0), 88), "invalid shape 0x3");
  EXPECT_EQ(placement_problem(placed(2, 3, PixelDtype::kUint16, 0, 48), 88),
            "nbytes is 48, but 2 x 2 x 3 u16 needs 24");
  EXPECT_EQ(placement_problem(placed(2, 3, PixelDtype::kFloat32, 0, 24), 88),
            "nbytes is 24, but 2 x 2 x 3 f32 needs 48");
  EXPECT_EQ(placement_problem(placed(2, 3, PixelDtype::kUint16, 65, 24), 88), "offset 65 is not 64-byte aligned");
  EXPECT_EQ(placement_problem(placed(2, 3, PixelDtype::kUint16, 64, 24), 87),
            "pixels at bytes 64..88 lie beyond the end of images.bin (87 bytes)");
}

// ---------------------------------------------------------------------------------------
// Manifest.

// An in-memory manifest with the schema, closed on scope exit.
struct MemoryManifest {
  sqlite3* db = open_manifest(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  MemoryManifest() { exec(db, schema_sql(), "m.db"); }
  ~MemoryManifest() { sqlite3_close_v2(db); }
};

TEST(Manifest, ScanColumnsInRowOrder) {
  const std::vector<std::string>& c = scan_columns();
  const size_t n_labels = label_fields().size();
  ASSERT_EQ(c.size(), 6 + n_labels + 9);
  EXPECT_EQ(std::vector<std::string>(c.begin(), c.begin() + 6),
            (std::vector<std::string>{"id", "height", "width", "views", "spacing_row_mm", "spacing_col_mm"}));
  for (size_t i = 0; i < n_labels; ++i) EXPECT_EQ(c[6 + i], std::string("label_") + label_fields()[i].name);
  EXPECT_EQ(std::vector<std::string>(c.end() - 9, c.end()),
            (std::vector<std::string>{"origin", "source", "split", "meta_json", "pixel_sha256", "dtype", "offset",
                                      "nbytes", "added_at"}));
  EXPECT_EQ(scan_column_list().rfind("id, height, width, views, ", 0), 0u);
  const std::string insert = insert_scan_sql();
  EXPECT_EQ(insert.rfind("INSERT INTO scans (" + scan_column_list() + ") VALUES (?, ?, ", 0), 0u);
  EXPECT_EQ(static_cast<size_t>(std::count(insert.begin(), insert.end(), '?')), c.size());
}

TEST(Manifest, SchemaTypesTheLabelColumnsAndRecordsItsVersion) {
  MemoryManifest m;
  EXPECT_EQ(pragma_text(m.db, "SELECT value FROM meta WHERE key = 'schema_version'", "m.db"),
            std::to_string(kDatasetSchemaVersion));
  for (const LabelField& f : label_fields()) {
    const std::string t = f.type;
    EXPECT_EQ(pragma_text(
                  m.db, std::string("SELECT type FROM pragma_table_info('scans') WHERE name = 'label_") + f.name + "'",
                  "m.db"),
              t == "int"     ? "INTEGER"
              : t == "float" ? "REAL"
                             : "TEXT")
        << f.name;
  }
}

TEST(Manifest, RecordRoundTrip) {
  MemoryManifest m;
  ScanRecord r;
  r.id = "s000001";
  r.height = 4;
  r.width = 3;
  r.views = ViewSet::kAnteriorOnly;
  r.spacing_row_mm = 2.26;
  r.spacing_col_mm = 0;
  r.labels.metastasis = 1;
  r.labels.sex = "F";
  r.labels.age = 63.5;
  r.labels.tracer = "MDP";
  r.origin = Origin::kSimulated;
  r.source = "phantom:seed=1";
  r.split = "train";
  r.meta = {{"scanner", "x"}, {"n", 2}};
  r.pixel_sha256 = std::string(64, 'a');
  r.dtype = PixelDtype::kFloat32;
  r.offset = 128;
  r.nbytes = 96;
  {
    Stmt insert(m.db, insert_scan_sql(), "m.db");
    bind_record(insert, r);
    EXPECT_FALSE(insert.step());
  }
  Stmt select(m.db, "SELECT " + scan_column_list() + " FROM scans", "m.db");
  ASSERT_TRUE(select.step());
  const ScanRecord back = read_record(select, "m.db");
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.height, 4);
  EXPECT_EQ(back.width, 3);
  EXPECT_EQ(back.views, ViewSet::kAnteriorOnly);
  EXPECT_EQ(back.spacing_row_mm, 2.26);
  EXPECT_EQ(labels_to_json(back.labels), labels_to_json(r.labels));
  EXPECT_EQ(back.origin, Origin::kSimulated);
  EXPECT_EQ(back.source, r.source);
  EXPECT_EQ(back.split, "train");
  EXPECT_EQ(back.meta, r.meta);
  EXPECT_EQ(back.pixel_sha256, r.pixel_sha256);
  EXPECT_EQ(back.dtype, PixelDtype::kFloat32);
  EXPECT_EQ(back.offset, 128u);
  EXPECT_EQ(back.nbytes, 96u);
  EXPECT_FALSE(select.step());
}

TEST(Manifest, RowsOutOfTheirDomainNameTheScan) {
  MemoryManifest m;
  ScanRecord r;
  r.id = "a";
  r.height = r.width = 1;
  r.dtype = PixelDtype::kUint16;
  {
    Stmt insert(m.db, insert_scan_sql(), "m.db");
    bind_record(insert, r);
    insert.step();
  }
  auto read_back = [&] {
    Stmt select(m.db, "SELECT " + scan_column_list() + " FROM scans", "m.db");
    select.step();
    return read_record(select, "m.db");
  };
  EXPECT_EQ(input_error_reason(read_back), "no error");
  exec(m.db, "UPDATE scans SET offset = -64", "m.db");
  EXPECT_EQ(input_error_reason(read_back), "negative offset or nbytes");
  exec(m.db, "UPDATE scans SET meta_json = '[1]'", "m.db");
  EXPECT_EQ(input_error_reason(read_back), "meta_json is not a JSON object");
  try {
    read_back();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "m.db: scan 'a'");
  }
}

TEST(Manifest, EventsKeepCommandAndConfig) {
  MemoryManifest m;
  insert_event(m.db, "m.db", "ingest", {{"labels", "l.csv"}});
  Stmt st(m.db, "SELECT command, config_json FROM events", "m.db");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "ingest");
  EXPECT_EQ(st.text(1), R"({"labels":"l.csv"})");
}

}  // namespace
}  // namespace scintigen::detail
