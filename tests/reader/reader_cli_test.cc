// `scintigen reader` through the binary: create's output and refusals, serve's start-up line
// and refusals, and durability: the server killed with SIGKILL while four readers submit
// answers concurrently, three times over; after each restart every acknowledged answer is
// there, and nothing else is but the at most one answer per reader that was in flight when the
// server died (committed or not: the reader never heard).

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/fs_util.h"
#include "reader/store.h"
#include "reader_fixture.h"

extern char** environ;

namespace scintigen::reader {
namespace {

using nlohmann::json;
using scintigen::testing::run_command;
using scintigen::testing::scintigen_binary;
using scintigen::testing::TempDir;

// `scintigen reader serve STUDY --port 0` as a child process; its port from the first line.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& study) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const std::string bin = scintigen_binary();
    std::vector<std::string> args = {bin, "reader", "serve", study, "--port", "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    std::string line;
    char ch;
    while (::read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
    ::close(fds[0]);
    first_line_ = line;
    const size_t colon = line.rfind(':');
    port_ = colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
  }
  ~ServerProcess() { kill(SIGTERM); }
  int port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  // Sends `sig` and reaps the child; returns its wait status.
  int kill(int sig) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  std::string first_line_;
};

TEST(ReaderCli, CreatePrintsTheTokensOnceAndRefusesBadInput) {
  TempDir t;
  testing::make_fixture_dataset(t / "real", 12, true, 1);
  testing::make_fixture_dataset(t / "syn", 12, false, 2);
  const std::string bin = scintigen_binary();
  auto r = run_command(bin + " reader create --real " + t / "real" + " --synthetic " + t / "syn" +
                       " --n 8 --readers a,b --task both --seed 3 --out " + t / "study" + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("8 cases (4 real, 4 synthetic), 2 readers, task both"), std::string::npos) << r.output;
  const std::string tokens = read_file(t / "study/tokens.txt");
  for (const char* who : {"a reader r_", "b reader r_", "coordinator coordinator c_"}) {
    const size_t at = tokens.find(who);
    ASSERT_NE(at, std::string::npos) << who;
    const std::string token = tokens.substr(at + std::string(who).size() - 2, 66);
    EXPECT_NE(r.output.find(token), std::string::npos) << "the token is printed";
  }
  auto odd = run_command(bin + " reader create --real " + t / "real" + " --synthetic " + t / "syn" +
                         " --n 7 --readers a --out " + t / "s2");
  EXPECT_EQ(odd.exit_code, 2);
  EXPECT_NE(odd.output.find("error: --n: must be an even number from 2 to 10000, got 7"), std::string::npos)
      << odd.output;
  auto missing = run_command(bin + " reader serve " + t / "nothing" + " --port 0");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("no such study folder"), std::string::npos) << missing.output;
  auto tls = run_command(bin + " reader serve " + t / "study" + " --tls-cert " + t / "study/tokens.txt");
  EXPECT_EQ(tls.exit_code, 2);
  EXPECT_NE(tls.output.find("--tls-key: is missing"), std::string::npos) << tls.output;
  EXPECT_FALSE(std::filesystem::exists(t / "s2"));
}

TEST(ReaderCli, ReportExportsTheCompleteCasesForStatsAgreement) {
  testing::FixtureStudy f;
  testing::make_fixture_study(f, 8, "realness", {"a", "b"});
  {
    StudyStore s = StudyStore::open(f.study);
    for (const char* reader : {"a", "b"}) {
      const auto& order = s.order(reader);
      // a answers all 8 cases, b the first 5 of its order: some cases are complete, some not
      for (size_t k = 0; k < (reader == std::string("a") ? 8u : 5u); ++k) {
        Answer x;
        x.reader = reader;
        x.case_id = order[k];
        x.call = k % 3 ? "real" : "synthetic";
        x.confidence = 2;
        s.put_answer(x);
      }
    }
  }
  const std::string bin = scintigen_binary();
  auto r = run_command(bin + " reader report " + f.study + " --out " + f.tmp / "rep" + " --bootstrap 200 --export " +
                       f.tmp / "calls.csv" + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string csv = read_file(f.tmp / "calls.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 5) << csv;  // header + the 5 cases both answered
  EXPECT_EQ(csv.find(",,"), std::string::npos);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "case,truth,a,b");
  auto agreement =
      run_command(bin + " stats agreement --ratings " + f.tmp / "calls.csv" + " --id-col case --truth truth --json");
  ASSERT_EQ(agreement.exit_code, 0) << agreement.output;
  const json j = json::parse(agreement.output);
  const json report = json::parse(read_file(f.tmp / "rep/report.json"));
  EXPECT_NEAR(j["cohen"][0]["estimate"].get<double>(),
              report["realness"]["agreement"]["cohen"][0]["estimate"].get<double>(), 1e-12);
}

TEST(ReaderCli, ServeStartsOnLoopbackAndStopsOnSigterm) {
  testing::FixtureStudy f;
  testing::make_fixture_study(f, 8, "realness", {"a"});
  ServerProcess s(f.study);
  EXPECT_EQ(s.first_line(), "serving " + f.study + " at http://127.0.0.1:" + std::to_string(s.port()) + "/");
  httplib::Client c("127.0.0.1", s.port());
  auto state = c.Get("/api/state", {{"Authorization", "Bearer " + f.token("a")}});
  ASSERT_TRUE(state);
  EXPECT_EQ(state->status, 200);
  const int status = s.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// What one simulated reader sent: acknowledged answers, and the one it was waiting for, if any.
struct ReaderLog {
  std::map<std::string, json> acknowledged;  // case id -> answer
  std::map<std::string, json> in_flight;     // sent, no reply (at most one)
};

json answer_for(const std::string& reader, size_t k) {
  return {{"call", (k + reader.size()) % 2 ? "real" : "synthetic"}, {"confidence", 1 + static_cast<int>(k % 5)}};
}

TEST(ReaderCli, EveryAcknowledgedAnswerSurvivesKill9AndNothingElseAppears) {
  testing::FixtureStudy f;
  testing::make_fixture_study(f, 60, "realness", {"a", "b", "c", "d"});
  std::map<std::string, ReaderLog> logs;
  for (const char* r : {"a", "b", "c", "d"}) logs[r];
  std::mutex mu;
  for (int round = 0; round < 3; ++round) {
    ServerProcess s(f.study);
    ASSERT_GT(s.port(), 0) << s.first_line();
    std::atomic<int> acks{0};
    std::atomic<bool> dead{false};
    std::vector<std::thread> readers;
    for (const char* name : {"a", "b", "c", "d"}) {
      readers.emplace_back([&, reader = std::string(name)] {
        httplib::Client c("127.0.0.1", s.port());
        c.set_connection_timeout(2);
        c.set_read_timeout(5);
        const httplib::Headers auth = {{"Authorization", "Bearer " + f.token(reader)}};
        while (!dead) {
          auto state = c.Get("/api/state", auth);
          if (!state || state->status != 200) return;
          const json st = json::parse(state->body);
          if (st["next"].is_null()) return;
          const size_t k = st["next"];
          auto kase = c.Get("/api/cases/" + std::to_string(k), auth);
          if (!kase || kase->status != 200) return;
          const std::string id = json::parse(kase->body)["case"];
          const json answer = answer_for(reader, k);
          {
            std::lock_guard<std::mutex> lock(mu);
            logs[reader].in_flight = {{id, answer}};
          }
          auto put = c.Put("/api/answers/" + id, auth, answer.dump(), "application/json");
          if (!put) return;  // the server died with this answer in flight
          std::lock_guard<std::mutex> lock(mu);
          if (put->status == 200) {
            logs[reader].acknowledged[id] = answer;
            logs[reader].in_flight.clear();
            ++acks;
          }
        }
      });
    }
    // Kill when this round has had 20 to 40 acknowledgements, at a moment that varies by round.
    const int target = 20 + 7 * round;
    while (acks < target) std::this_thread::sleep_for(std::chrono::microseconds(200));
    const int status = s.kill(SIGKILL);
    dead = true;
    for (auto& t : readers) t.join();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    // After the crash: the database opens, passes SQLite's integrity check, and holds exactly
    // the acknowledged answers plus, per reader, possibly the one in flight.
    const StudyStore store = StudyStore::open(f.study);
    auto integrity = run_command("sqlite3 " + f.study + "/study.db 'PRAGMA integrity_check'");
    EXPECT_EQ(integrity.output, "ok\n");
    for (auto& [reader, log] : logs) {
      std::map<std::string, json> stored;
      for (const auto& a : store.answers_of(reader)) stored[a.case_id] = answer_to_json(a);
      for (const auto& [id, answer] : log.acknowledged) {
        ASSERT_TRUE(stored.count(id)) << "round " << round << ": reader " << reader << " lost an acknowledged answer";
        EXPECT_EQ(stored[id]["call"], answer["call"]);
        EXPECT_EQ(stored[id]["confidence"], answer["confidence"]);
      }
      for (const auto& [id, answer] : stored) {
        if (log.acknowledged.count(id)) continue;
        ASSERT_TRUE(log.in_flight.count(id)) << "round " << round << ": an answer nobody sent: " << id;
        EXPECT_EQ(answer["confidence"], log.in_flight[id]["confidence"]);
        log.acknowledged[id] = answer;  // committed before the crash: the next round resumes after it
      }
      log.in_flight.clear();
    }
  }
  size_t total = 0;
  for (auto& [reader, log] : logs) total += log.acknowledged.size();
  EXPECT_GE(total, 20u + 27u + 34u);
}

}  // namespace
}  // namespace scintigen::reader
