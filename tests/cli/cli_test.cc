// End-to-end tests of the `scintigen` binary: exit codes, exact error lines, the acceptance
// runs of the foundation (ingest of the public sample, malformed inputs alone and in a batch,
// labels CSV, privacy grep, export validated by dciodvfy and pydicom, kill -9 during ingest).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <thread>

#include "core/fs_util.h"
#include "data/dataset.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace scintigen {
namespace {

using testing::python;
using testing::run_command;
using testing::shared_data;
using testing::source_path;
using testing::TempDir;

std::string bin() {
  return testing::scintigen_binary();
}

testing::CommandResult sg(const std::string& args) {
  return run_command(bin() + " " + args);
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string pydicom_sha256_of(const std::string& file) {
  // float32 little-endian of pydicom's decoded (rescaled) pixels: the pixel_sha256 definition.
  auto r = run_command(python() +
                       " -c \"import sys,hashlib,numpy as np,pydicom;d=pydicom.dcmread(sys.argv[1]);"
                       "a=d.pixel_array.astype(np.float64)*float(getattr(d,'RescaleSlope',1) or "
                       "1)+float(getattr(d,'RescaleIntercept',0) or 0);"
                       "print(hashlib.sha256(a.astype('<f4').tobytes()).hexdigest())\" " +
                       file);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output.substr(0, 64);
}

TEST(Cli, UsageHelpAndSuggestions) {
  auto r = sg("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("ingest"), std::string::npos);
  EXPECT_EQ(sg("--help").exit_code, 0);
  r = sg("ingets x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("error: scintigen: unknown command 'ingets' (hint: did you mean 'ingest'?)"),
            std::string::npos)
      << r.output;
  r = sg("dataset inf x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("did you mean 'info'?"), std::string::npos) << r.output;
  r = sg("ingest x --out y --sed 3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("did you mean '--seed'?"), std::string::npos) << r.output;
  for (const char* sub : {"ingest", "dataset", "dataset info", "dataset split", "dataset merge", "dataset resample",
                          "dataset export", "demo", "version"}) {
    r = sg(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << r.output;
    EXPECT_GT(r.output.size(), 50u) << sub;
  }
}

TEST(Cli, IngestSampleGivesFiveIdenticalScansMatchingPydicom) {
  TempDir t;
  auto r = sg("ingest " + shared_data("dicom/wholebody") + " --out " + (t / "ds") + " --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Dataset ds = Dataset::open(t / "ds");
  ASSERT_EQ(ds.size(), 5u);
  const std::string ref = pydicom_sha256_of(shared_data("dicom/wholebody/NM1_UNC.dcm"));
  for (const auto& rec : ds.records()) {
    EXPECT_EQ(rec.pixel_sha256, ref) << rec.id;
    EXPECT_EQ(rec.views, ViewSet::kAnteriorOnly);
    EXPECT_EQ(rec.height, 1024);
    EXPECT_EQ(rec.width, 256);
    EXPECT_NEAR(rec.spacing_row_mm, 2.26, 1e-9);
    EXPECT_EQ(rec.labels.sex, "M");
    EXPECT_EQ(rec.origin, Origin::kReal);
  }
  EXPECT_TRUE(ds.verify(true).ok);
  r = sg("dataset info " + (t / "ds") + " --verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("scans     5"), std::string::npos) << r.output;
}

std::vector<std::string> bad_files() {
  std::vector<std::string> out = files_in(shared_data("dicom/malformed"));
  for (auto& f : files_in(shared_data("dicom/other-nm"))) out.push_back(f);
  return out;
}

TEST(Cli, EveryMalformedOrNonWholeBodyFileFailsCleanlyAlone) {
  for (const auto& f : bad_files()) {
    TempDir t;
    auto r = sg("ingest " + f + " --out " + (t / "ds"));
    EXPECT_EQ(r.exit_code, 2) << f << "\n" << r.output;
    EXPECT_NE(r.output.find("error: " + f + ": "), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(t / "ds")) << "no empty dataset is left behind";
  }
}

TEST(Cli, BatchKeepsGoodFilesAndReportsBadOnes) {
  TempDir t;
  auto r = sg("ingest " + shared_data("dicom/wholebody") + " " + shared_data("dicom/malformed") + " " +
              shared_data("dicom/other-nm") + " --out " + (t / "ds") + " --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  Dataset ds = Dataset::open(t / "ds");
  EXPECT_EQ(ds.size(), 5u);
  auto report = nlohmann::json::parse(read_file(t / "ds/ingest_report.json"));
  const auto bad = bad_files();
  ASSERT_EQ(report["rejected"].size(), bad.size());
  for (const auto& rej : report["rejected"]) {
    EXPECT_NE(std::find(bad.begin(), bad.end(), rej["file"].get<std::string>()), bad.end());
    EXPECT_FALSE(rej["reason"].get<std::string>().empty());
  }
  EXPECT_EQ(report["scans_added"], 5);
}

TEST(Cli, LabelsCsvIsJoinedAndValidated) {
  TempDir t;
  {
    std::ofstream csv(t / "labels.csv");
    csv << "file,metastasis,cardiac_grade,tracer,age,split\nNM1_UNC.dcm,1,2,DPD,71,test\nNM1_RLE.dcm,0,,,,train\n";
  }
  auto r = sg("ingest " + shared_data("dicom/wholebody") + " --out " + (t / "ds") + " --labels " + (t / "labels.csv") +
              " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Dataset ds = Dataset::open(t / "ds");
  int labelled = 0;
  for (const auto& rec : ds.records()) {
    if (rec.labels.metastasis && *rec.labels.metastasis == 1) {
      ++labelled;
      EXPECT_EQ(*rec.labels.cardiac_grade, 2);
      EXPECT_EQ(rec.labels.tracer, "DPD");
      EXPECT_DOUBLE_EQ(*rec.labels.age, 71);
      EXPECT_EQ(rec.split, "test");
    }
  }
  EXPECT_EQ(labelled, 1);

  auto bad = [&](const std::string& text, const std::string& expect, int code) {
    TempDir u;
    std::ofstream(u / "l.csv") << text;
    auto rr =
        sg("ingest " + shared_data("dicom/wholebody") + " --out " + (u / "ds") + " --labels " + (u / "l.csv") + " -q");
    EXPECT_EQ(rr.exit_code, code) << text << rr.output;
    EXPECT_NE(rr.output.find(expect), std::string::npos) << rr.output;
  };
  bad("file,grade\nNM1_UNC.dcm,1\n", ":1: unknown label 'grade' (hint: known labels: metastasis", 2);
  bad("file,cardiac_grade\nNM1_UNC.dcm,5\n",
      ":2: label 'cardiac_grade' has invalid value '5' (hint: allowed: Perugini grade 0, 1, 2 or 3)", 2);
  bad("patient,metastasis\nx,1\n", "first column 'patient' is not a join key", 2);
  bad("file,metastasis\nNM1_UNC.dcm,1,3\n", ":2: 3 cells, the header has 2", 2);
  bad("file,metastasis\nnot_there.dcm,1\n",
      "/l.csv: 1 row matches no ingested scan: file 'not_there.dcm' (line 2) (hint: file keys are paths relative to "
      "the "
      "folder given on the command line, or the file name of a file given directly)\n",
      1);
  bad("file,grade\nNM1_UNC.dcm,1\n", "; or skip the column with --labels-ignore-columns grade)", 2);
}

// Unmatched label rows are one line, also under --quiet; columns that are not label fields
// can be ignored by name.
TEST(Cli, UnmatchedLabelRowsAreOneSummaryLineAndColumnsCanBeIgnored) {
  TempDir t;
  std::ofstream(t / "l.csv")
      << "file,metastasis,comment\nNM1_UNC.dcm,1,ok\na.dcm,0,x\nb.dcm,0,x\nc.dcm,0,x\nd.dcm,0,x\ne.dcm,0,x\n";
  auto r = sg("ingest " + shared_data("dicom/wholebody") + " --dry-run --labels " + (t / "l.csv") +
              " --labels-ignore-columns comment -q");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output,
            "error: " + (t / "l.csv") +
                ": 5 rows match no ingested scan: file 'a.dcm' (line 3), 'b.dcm' (line 4), 'c.dcm' (line 5) and 2 "
                "more (hint: file keys are paths relative to the folder given on the command line, or the file "
                "name of a file given directly)\n");
  r = sg("ingest " + shared_data("dicom/wholebody") + " --dry-run --labels " + (t / "l.csv") + " -q");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(":1: unknown label 'comment'"), std::string::npos) << r.output;
}

// The rejection summary (count by reason, first file of each) comes before the per-file lines.
TEST(Cli, RejectionSummaryComesFirst) {
  TempDir t;
  auto r =
      sg("ingest " + shared_data("dicom/wholebody") + " " + shared_data("dicom/malformed") + " --out " + (t / "ds"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const size_t n_bad = files_in(shared_data("dicom/malformed")).size();
  const std::string head = "error: " + std::to_string(n_bad) + " of " + std::to_string(n_bad + 5) +
                           " files rejected, by reason:\n  2 x Modality is missing, not NM";
  EXPECT_EQ(r.output.rfind(head, 0), 0u) << r.output;
  const size_t first_file_line = r.output.find("error: " + shared_data("dicom/malformed/"));
  EXPECT_NE(first_file_line, std::string::npos) << r.output;
  EXPECT_LT(r.output.find("(first: " + shared_data("dicom/malformed/")), first_file_line) << r.output;
  // Under --quiet: the summary, no per-file lines.
  r = sg("ingest " + shared_data("dicom/malformed") + " --dry-run -q");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output.rfind("error: " + std::to_string(n_bad) + " of " + std::to_string(n_bad) + " files rejected", 0),
            0u);
  EXPECT_EQ(r.output.find("error: " + shared_data("dicom/malformed/")), std::string::npos) << r.output;
}

// A decoder that crashes, hangs or balloons (made to by the test-only fault hook, honoured in
// worker processes only) costs its file only; the binary links tcmalloc, so this also checks
// that the memory limit trips under it.
TEST(Cli, DecoderCrashHangAndBalloonRejectOnlyTheirFile) {
  TempDir t;
  auto r = run_command("SCINTIGEN_TEST_DECODER_FAULT=crash:NM1_RLE.dcm,hang:NM1_JLSL.dcm,balloon:NM1_J2KR.dcm " +
                       bin() + " ingest " + shared_data("dicom/wholebody") + " --out " + (t / "ds") +
                       " --decode-timeout 2 --decode-memory 300 --threads 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string wb = shared_data("dicom/wholebody/");
  for (const std::string& line : std::vector<std::string>{
           std::string("error: 3 of 5 files rejected, by reason:\n"),
           "  1 x decoder went over the memory limit (300 MiB) (hint: if the file is just large, raise "
           "--decode-memory) (first: " +
               wb + "NM1_J2KR.dcm)\n",
           "error: " + wb +
               "NM1_J2KR.dcm: decoder went over the memory limit (300 MiB) (hint: if the file is just large, raise "
               "--decode-memory)\n",
           "error: " + wb +
               "NM1_JLSL.dcm: decoder timed out after 2 s (hint: a file this slow is probably malformed; if it is "
               "just large, raise --decode-timeout)\n",
           "error: " + wb + "NM1_RLE.dcm: decoder crashed (signal 11)\n",
           "ingested 2 scans (0 two-view, 2 single-view) from 2 of 5 files into " + (t / "ds") + "\n"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n---\n" << r.output;
  Dataset ds = Dataset::open(t / "ds");
  EXPECT_EQ(ds.size(), 2u);
  // The same files in process: the same pixels under the same ids.
  ASSERT_EQ(sg("ingest " + wb + "NM1_JPLL.dcm " + wb + "NM1_UNC.dcm --no-isolation -q --out " + (t / "ref")).exit_code,
            0);
  const auto a = ds.records(), b = Dataset::open(t / "ref").records();
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(a[i].id + a[i].pixel_sha256, b[i].id + b[i].pixel_sha256);
  // --dry-run is isolated, too.
  r = run_command("SCINTIGEN_TEST_DECODER_FAULT=crash:NM1_UNC.dcm " + bin() + " ingest " + wb + " --dry-run -q");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("  1 x decoder crashed (signal 11) (first: " + wb + "NM1_UNC.dcm)"), std::string::npos)
      << r.output;
}

TEST(Cli, IngestHelpNamesTheIsolationAndLabelsFlags) {
  auto r = sg("ingest --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--decode-timeout", "--decode-memory", "--no-isolation", "--labels-ignore-columns", "--allow-synthetic"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  r = sg("ingest x --dry-run --decode-timeout 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(
      r.output.find("error: --decode-timeout: invalid value 0 (hint: seconds per file, more than 0 and at most 86400)"),
      std::string::npos)
      << r.output;
}

// Every identifying value of the sources (patient attributes, UIDs, institution, station,
// serial number, dates, the name in GE private tag (0009,1040)...) appears in no byte of the
// dataset or of any export.
TEST(Cli, NothingIdentifyingSurvivesIngestOrExport) {
  TempDir t;
  auto ids =
      run_command(python() + " " + source_path("tests/ref/identifying_values.py") + " " +
                  shared_data("dicom/wholebody/NM1_UNC.dcm") + " " + shared_data("dicom/wholebody/NM1_J2KR.dcm"));
  ASSERT_EQ(ids.exit_code, 0) << ids.output;
  std::vector<std::string> needles;
  std::istringstream in(ids.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) needles.push_back(line);
  ASSERT_NE(std::find(needles.begin(), needles.end(), "BERRA,JAMES"), needles.end())
      << "the private-tag name is among the needles";
  ASSERT_NE(std::find(needles.begin(), needles.end(), "CompressedSamples^NM1"), needles.end());
  needles.push_back("BERRA");
  needles.push_back("JAMES");

  ASSERT_LE(sg("ingest " + shared_data("dicom/wholebody") + " --out " + (t / "ds") + " -q").exit_code, 1);
  for (const char* fmt : {"dicom", "png16", "preview", "sheet"})
    ASSERT_EQ(sg(std::string("dataset export ") + (t / "ds") + " --format " + fmt + " --out " + (t / "ex") + "/" + fmt +
                 " -q")
                  .exit_code,
              0)
        << fmt;
  ASSERT_EQ(sg("dataset export " + (t / "ds") + " --two-instances --out " + (t / "ex/dicom2") + " -q").exit_code, 0);
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(t.path())) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string bytes = read_file(e.path().string());
    for (const auto& n : needles) EXPECT_EQ(bytes.find(n), std::string::npos) << "'" << n << "' found in " << e.path();
  }
  EXPECT_GT(files, 20u);
}

TEST(Cli, ExportPassesDciodvfyAndPydicomReadsIdenticalPixels) {
  TempDir t;
  ASSERT_EQ(sg("ingest " + shared_data("dicom/wholebody/NM1_JLSL.dcm") + " --out " + (t / "ds") + " -q").exit_code, 0);
  for (const std::string mode : {"", "--two-instances"}) {
    const std::string out = t / ("ex" + mode);
    ASSERT_EQ(sg("dataset export " + (t / "ds") + " " + mode + " --out " + out + " -q").exit_code, 0);
    for (const auto& f : files_in(out)) {
      if (f.size() < 4 || f.substr(f.size() - 4) != ".dcm") continue;
      auto v = run_command("dciodvfy " + f);
      std::istringstream lines(v.output);
      for (std::string line; std::getline(lines, line);) EXPECT_NE(line.rfind("Error", 0), 0u) << f << ": " << line;
      auto p = run_command(python() + " " + source_path("tests/ref/export_pixels_match.py") + " " + f + " " +
                           shared_data("dicom/wholebody/NM1_UNC.dcm"));
      EXPECT_EQ(p.exit_code, 0) << f << ": " << p.output;
    }
  }
}

// kill -9 at several moments of a large ingest: the dataset left behind opens and verifies.
TEST(Cli, KillDuringIngestLeavesAValidDataset) {
  TempDir t;
  fs::create_directories(t / "in");
  for (int i = 0; i < 400; ++i)
    fs::copy_file(shared_data("dicom/wholebody/NM1_UNC.dcm"), t / ("in/f" + std::to_string(1000 + i) + ".dcm"));
  int verified_nonempty = 0;
  // Kill when the image store has reached a given size (pixels of ~10 to ~300 scans written),
  // so that the kills land mid-ingest however loaded the machine is.
  for (uintmax_t kill_at_mb : {5, 30, 60, 100, 150}) {
    const std::string ds = t / ("ds" + std::to_string(kill_at_mb));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl(bin().c_str(), "scintigen", "ingest", (t / "in").c_str(), "--out", ds.c_str(), "--commit-every", "7", "-q",
            "--threads", "2", static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      std::error_code ec;
      const uintmax_t size = fs::file_size(ds + "/images.bin", ec);
      if (!ec && size >= (kill_at_mb << 20)) break;
      if (waitpid(pid, nullptr, WNOHANG) == pid || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!fs::exists(ds + "/dataset.json")) continue;  // killed before the dataset existed
    auto r = sg("dataset info " + ds + " --verify --json");
    EXPECT_EQ(r.exit_code, 0) << kill_at_mb << " MB: " << r.output;
    Dataset d = Dataset::open(ds);
    EXPECT_TRUE(d.verify(true).ok);
    if (d.size() > 0) ++verified_nonempty;
  }
  EXPECT_GE(verified_nonempty, 1) << "no kill landed mid-ingest; the test did not test anything";
}

TEST(Cli, TargetSizeResamplesPreservingCounts) {
  TempDir t;
  ASSERT_EQ(sg("ingest " + shared_data("dicom/wholebody/NM1_UNC.dcm") + " --out " + (t / "a") + " -q").exit_code, 0);
  ASSERT_EQ(
      sg("ingest " + shared_data("dicom/wholebody/NM1_UNC.dcm") + " --target-size 64x256 --out " + (t / "b") + " -q")
          .exit_code,
      0);
  Dataset a = Dataset::open(t / "a"), b = Dataset::open(t / "b");
  Scan sa = a.load(a.records()[0].id), sb = b.load(b.records()[0].id);
  EXPECT_EQ(sb.width, 64);
  EXPECT_EQ(sb.height, 256);
  EXPECT_NEAR(sb.spacing_col_mm, 2.26 * 4, 1e-9);
  const double ta = std::accumulate(sa.pixels.begin(), sa.pixels.end(), 0.0);
  const double tb = std::accumulate(sb.pixels.begin(), sb.pixels.end(), 0.0);
  EXPECT_NEAR(ta, tb, 1e-6 * ta);
  auto r = sg("ingest " + shared_data("dicom/wholebody/NM1_UNC.dcm") + " --target-size 64 --out " + (t / "c"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("error: --target-size: invalid size '64'"), std::string::npos) << r.output;
}

TEST(Cli, SplitMergeAndExportFormats) {
  TempDir t;
  ASSERT_EQ(sg("ingest " + shared_data("dicom/wholebody") + " --out " + (t / "a") + " -q").exit_code, 0);
  ASSERT_EQ(sg("ingest " + shared_data("dicom/wholebody/NM1_UNC.dcm") + " --out " + (t / "b") + " -q").exit_code, 0);
  // The five sample files share one patient: by default the subject stays in one split.
  auto r = sg("dataset split " + (t / "a") + " --fractions train=0.6,test=0.4 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(r.output.find("train    5") != std::string::npos || r.output.find("test     5") != std::string::npos)
      << r.output;
  r = sg("dataset split " + (t / "a") + " --fractions train=0.6,test=0.4 --seed 3 --ignore-subjects");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("train    3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("test     2"), std::string::npos) << r.output;
  EXPECT_EQ(sg("dataset split " + (t / "a") + " --fractions train=0.6,test=0.3").exit_code, 2);
  r = sg("dataset merge " + (t / "a") + " " + (t / "b") + " --out " + (t / "m") + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Dataset m = Dataset::open(t / "m");
  EXPECT_EQ(m.size(), 6u);
  EXPECT_TRUE(m.verify(true).ok);
  r = sg("dataset export " + (t / "m") + " --format sheet --out " + (t / "s") + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(t / "s/contact_sheet.png"));
  r = sg("dataset export " + (t / "m") + " --format jpeg --out " + (t / "s"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("error: --format: unknown format 'jpeg' (hint: allowed: dicom, png16, preview, sheet)"),
            std::string::npos);
  r = sg("dataset info " + (t / "nope"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("error: " + (t / "nope")), std::string::npos) << r.output;
}

}  // namespace
}  // namespace scintigen

namespace scintigen {
namespace {

// docs/CLI.md is generated from --help; it must match the binary.
TEST(Cli, CommandReferenceIsCurrent) {
  auto r = run_command("bash " + source_path("scripts/gen-cli-doc.sh") + " " + bin());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, read_file(source_path("docs/CLI.md")))
      << "docs/CLI.md is stale: run scripts/gen-cli-doc.sh > docs/CLI.md";
}

}  // namespace
}  // namespace scintigen

namespace scintigen {
namespace {

// Simulated scans exported as DICOM pass dciodvfy and re-ingest to identical pixels (issue 3),
// and the export's side file (export.json) is passed over by the folder walk.
TEST(Cli, SimulatedScansExportToValidDicomAndReingestIdentically) {
  TempDir t;
  ASSERT_EQ(sg("simulate --n 4 --site large_centre --seed 7 --out " + (t / "sim") + " -q").exit_code, 0);
  for (const std::string mode : {"", "--two-instances"}) {
    const std::string dcm = t / ("dcm" + mode), re = t / ("re" + mode);
    ASSERT_EQ(sg("dataset export " + (t / "sim") + " " + mode + " --out " + dcm + " -q").exit_code, 0);
    size_t checked = 0;
    for (const auto& f : files_in(dcm)) {
      if (f.substr(f.size() - 4) != ".dcm") continue;
      auto v = run_command("dciodvfy " + f);
      std::istringstream lines(v.output);
      for (std::string line; std::getline(lines, line);) EXPECT_NE(line.rfind("Error", 0), 0u) << f << ": " << line;
      ++checked;
    }
    EXPECT_EQ(checked, mode.empty() ? 4u : 8u);
    // Simulated scans are refused as patients' scans; --allow-synthetic keeps them simulated.
    auto r = sg("ingest " + dcm + " --out " + re + " -q");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    r = sg("ingest " + dcm + " --out " + re + " -q --json --allow-synthetic");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("\"files_skipped_not_dicom\": 1"), std::string::npos) << r.output;
    Dataset a = Dataset::open(t / "sim"), b = Dataset::open(re);
    ASSERT_EQ(a.size(), b.size());
    std::vector<std::string> ha, hb;
    for (const auto& rec : a.records()) ha.push_back(rec.pixel_sha256);
    for (const auto& rec : b.records()) {
      hb.push_back(rec.pixel_sha256);
      EXPECT_EQ(rec.views, ViewSet::kBoth) << "views told apart by the exported view codes";
      EXPECT_EQ(rec.origin, Origin::kSimulated);
    }
    EXPECT_EQ(ha, hb) << mode;
  }
}

}  // namespace
}  // namespace scintigen
