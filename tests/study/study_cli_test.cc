// `scintigen study` end to end: configs/study/quick.json runs to completion, and a copy of its
// folder with the synthetic set and everything made from it removed, rerun with --resume and
// killed with SIGKILL twice (while generating the synthetic scans, and while a classifier
// trains), then resumed to the end, gives the same report, number for number. Also --plan and
// the refusals. The binary runs with --threads 1, so the results do not depend on the cores.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/fs_util.h"
#include "test_util.h"

extern char** environ;

namespace scintigen {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using scintigen::testing::run_command;
using scintigen::testing::scintigen_binary;
using scintigen::testing::source_path;
using scintigen::testing::TempDir;

std::string quick() {
  return source_path("configs/study/quick.json");
}

// The study binary as a child process (its output to `log`), to be killed.
class Study {
 public:
  Study(const std::string& out, const std::string& log) {
    const std::string bin = scintigen_binary(), cfg = quick();
    std::vector<std::string> args = {bin, "study", "--config", cfg, "--out", out, "--resume", "--threads", "1"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    EXPECT_EQ(posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Study() {
    if (pid_ > 0) kill();
  }
  void kill() {
    ::kill(pid_, SIGKILL);
    wait();
  }
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool running() {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

// The stages of the plan (OUT/stages.json): kind, label, folder.
json stages_of(const std::string& out) {
  return json::parse(read_file(out + "/stages.json"));
}

// Waits (up to `limit`) until `ready` holds while the study runs; false if it never did.
template <typename F>
bool wait_for(Study& s, F&& ready, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    if (!s.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The parts of a report that are results (not timestamps, durations or paths).
json results(const json& r) {
  return {{"tasks", r["tasks"]},
          {"internal_test", r["internal_test"]},
          {"primary_endpoint", r["primary_endpoint"]},
          {"audit", r["audit"]},
          {"cohorts", r["cohorts"]}};
}

TEST(StudyCli, PlanAndRefusals) {
  TempDir tmp;
  auto r = run_command(scintigen_binary() + " study --config " + quick() + " --plan");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("65 stages, estimated"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("generator  "), std::string::npos) << r.output;

  r = run_command(scintigen_binary() + " study --config " + tmp / "missing.json" + " --out " + tmp / "o");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: " + tmp / "missing.json"), std::string::npos) << r.output;

  write_file_atomic(tmp / "bad.json", "{\"name\": \"x\", \"arms\": [}");
  r = run_command(scintigen_binary() + " study --config " + tmp / "bad.json" + " --out " + tmp / "o");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: " + tmp / "bad.json" + ": not valid JSON"), std::string::npos) << r.output;

  r = run_command(scintigen_binary() + " study --config " + quick() + " --out " + tmp / "nothing" + " --resume");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: " + tmp / "nothing" +
                          ": holds no study to resume (no study.json) (hint: start it without --resume)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp / "nothing"));

  // A bad setting found while planning: refused before anything is written.
  json bad = json::parse(read_file(quick()));
  bad["cohorts"]["donor"]["prevalence"] = "metastasis=7";
  bad["generator"]["preset"] = source_path("configs/gen/tiny64.json");
  write_file_atomic(tmp / "badprev.json", bad.dump());
  r = run_command(scintigen_binary() + " study --config " + tmp / "badprev.json" + " --out " + tmp / "o");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("error: " + tmp / "badprev.json" +
                          ": cohorts.donor.prevalence: metastasis is '7', not a probability"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp / "o"));

  fs::create_directories(tmp / "full");
  write_file_atomic(tmp / "full/x.txt", "x");
  r = run_command(scintigen_binary() + " study --config " + quick() + " --out " + tmp / "full");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("exists and is not an empty folder"), std::string::npos) << r.output;
}

TEST(StudyCli, QuickStudyCompletesAndAKilledRunResumesToTheSameReport) {
  TempDir tmp;
  const std::string a = tmp / "a", b = tmp / "b";
  // The uninterrupted run.
  auto r = run_command(scintigen_binary() + " study --config " + quick() + " --out " + a + " --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("study quick: 65 stages run, 0 reused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("report.json and report.html"), std::string::npos) << r.output;
  EXPECT_GT(fs::file_size(a + "/report.html"), 100000u);  // the page, with the plotting bundles inlined
  EXPECT_NE(r.output.find("primary endpoint (metastasis, small+syn x2): pooled gain"), std::string::npos) << r.output;
  const json ra = json::parse(read_file(a + "/report.json"));
  ASSERT_EQ(ra["tasks"].size(), 2u);
  for (const auto& t : ra["tasks"]) {
    ASSERT_EQ(t["arms"].size(), 6u);
    EXPECT_EQ(t["repeats"].size(), 2u);
    for (const auto& arm : t["arms"]) EXPECT_TRUE(arm.contains("pooled")) << arm["arm"];
  }
  EXPECT_TRUE(ra["audit"]["g1"].contains("c2st"));
  EXPECT_TRUE(ra["primary_endpoint"]["pooled_gain"].contains("ci"));
  for (const auto& s : stages_of(a)) EXPECT_TRUE(fs::exists(a + "/" + s["dir"].get<std::string>() + "/stage.json"));

  // A rerun with --resume changes nothing.
  r = run_command(scintigen_binary() + " study --config " + quick() + " --out " + a + " --resume --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("study quick: 0 stages run, 65 reused"), std::string::npos) << r.output;
  EXPECT_TRUE(results(json::parse(read_file(a + "/report.json"))) == results(ra));

  // The copy loses the synthetic set and everything made from it.
  fs::copy(a, b, fs::copy_options::recursive);
  fs::remove(b + "/report.json");
  size_t removed = 0;
  std::string synthetic_dir;
  for (const auto& s : stages_of(b)) {
    const std::string kind = s["kind"], label = s["label"], dir = b + "/" + s["dir"].get<std::string>();
    const bool from_synthetic =
        kind == "synthetic" || kind == "subset" ||
        ((kind == "classifier" || kind == "evaluation") && label.find("syn") != std::string::npos);
    if (!from_synthetic) continue;
    fs::remove_all(dir);
    ++removed;
    if (kind == "synthetic") synthetic_dir = dir;
  }
  ASSERT_EQ(removed, 1u + 1 + 2 * 3 * 2 * 2);
  const std::string log = tmp / "b.log";
  {
    // Killed while generating: after the synthetic set's first committed scans.
    Study s(b, log);
    ASSERT_TRUE(wait_for(
        s,
        [&] {
          return fs::exists(synthetic_dir + "/data/images.bin") &&
                 fs::file_size(synthetic_dir + "/data/images.bin") > 0;
        },
        std::chrono::seconds(600)))
        << read_file(log);
    s.kill();
    EXPECT_FALSE(fs::exists(synthetic_dir + "/stage.json")) << "the kill came after the synthetic set was done";
  }
  {
    // Killed while a classifier trains: it has a checkpoint and no stage.json.
    bool killed_mid_stage = false;
    for (int attempt = 0; attempt < 5 && !killed_mid_stage; ++attempt) {
      Study s(b, log);
      std::string victim;
      const bool found = wait_for(
          s,
          [&] {
            for (const auto& st : stages_of(b)) {
              const std::string dir = b + "/" + st["dir"].get<std::string>();
              if (st["kind"] == "classifier" && fs::exists(dir + "/clf/checkpoint/state.json") &&
                  !fs::exists(dir + "/stage.json")) {
                victim = dir;
                return true;
              }
            }
            return false;
          },
          std::chrono::seconds(600));
      ASSERT_TRUE(found) << read_file(log);
      s.kill();
      killed_mid_stage = !fs::exists(victim + "/stage.json");
    }
    EXPECT_TRUE(killed_mid_stage) << "no kill landed inside a classifier's training";
  }
  Study last(b, log);
  ASSERT_EQ(last.wait(), 0) << read_file(log);
  const json rb = results(json::parse(read_file(b + "/report.json")));
  EXPECT_TRUE(rb == results(ra)) << "differences (JSON patch from the uninterrupted run): "
                                 << json::diff(results(ra), rb).dump(1).substr(0, 4000);
}

}  // namespace
}  // namespace scintigen
