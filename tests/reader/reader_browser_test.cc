// The reading pages in headless Debian chromium, driven by playwright-core
// (tests/reader/browser/read_cases.mjs): a reader reads 10 cases of a real `scintigen reader
// serve` with the keyboard only; the script also refuses one submission (the page must keep the
// answer) and delays one (the page must wait for the reply), checks the drawn greys against its
// own decode of the PNGs, reloads after the 5th answer (the page must resume at case 6) and
// watches for anything that would unblind. The study database then holds exactly those 10
// answers, with the values sent, at the cases of the reader's own order, and nothing for anyone
// else; the coordinator's page lists the readers with their progress. `make test` installs
// chromium, node and web/node_modules, so their absence fails (with the hint to install them)
// rather than skipping.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/fs_util.h"
#include "reader/store.h"
#include "test_util.h"

namespace scintigen::reader {
namespace {

using scintigen::testing::run_command;
using scintigen::testing::scintigen_binary;
using scintigen::testing::source_path;
using scintigen::testing::TempDir;

constexpr int kCases = 12;  // in the study
constexpr int kRead = 10;   // read by the scripted reader

bool have_command(const std::string& name) {
  return run_command("command -v " + name).exit_code == 0;
}

// `scintigen reader serve STUDY --port 0` as a child process: its first stdout line says
// "serving STUDY at URL"; stderr goes to a log file the failures print.
class ServedStudy {
 public:
  ServedStudy(const std::string& study, const std::string& log) : log_(log) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(out[1], STDOUT_FILENO);
      if (err >= 0) ::dup2(err, STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      const std::string binary = scintigen_binary();
      ::execl(binary.c_str(), binary.c_str(), "reader", "serve", study.c_str(), "--port", "0",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    first_line_ = read_line(std::chrono::seconds(30));
  }
  ~ServedStudy() { stop(); }

  const std::string& first_line() const { return first_line_; }
  // The URL at the end of "serving STUDY at URL", or "" when the line is not that.
  std::string url() const {
    const size_t at = first_line_.rfind(" at ");
    if (first_line_.rfind("serving ", 0) != 0 || at == std::string::npos) return "";
    return first_line_.substr(at + 4);
  }
  std::string log() const { return read_file(log_); }

  // SIGTERM, as an operator stops it; the exit status (-1 when it had to be killed).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {  // 10 s
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (exit_code_ == -2) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      exit_code_ = -1;
    }
    pid_ = -1;
    if (out_ >= 0) ::close(out_);
    out_ = -1;
    return exit_code_;
  }

 private:
  std::string read_line(std::chrono::seconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) break;  // the server exited
      if (c == '\n') break;
      line += c;
    }
    return line;
  }

  std::string log_;
  pid_t pid_ = -1;
  int out_ = -1;
  int exit_code_ = -2;
  std::string first_line_;
};

// <study>/tokens.txt: "<reader> <role> <token>" lines (and # comments) -> reader -> token.
std::map<std::string, std::string> read_tokens(const std::string& file) {
  std::map<std::string, std::string> tokens;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string reader, role, token;
    if (fields >> reader >> role >> token) tokens[reader] = token;
  }
  return tokens;
}

// Width and height from a PNG's IHDR.
std::pair<uint32_t, uint32_t> png_size(const std::string& png) {
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  if (png.size() < 24 || png.compare(1, 3, "PNG") != 0) return {0, 0};
  return {be32(16), be32(20)};
}

class ReaderBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_command("chromium")) << "chromium is not installed (hint: scripts/install-deps.sh installs it)";
    ASSERT_TRUE(have_command("node")) << "node is not installed (hint: scripts/install-deps.sh installs it)";
    ASSERT_TRUE(std::filesystem::exists(source_path("web/node_modules/playwright-core/package.json")))
        << "web/node_modules/playwright-core is missing (hint: scripts/install-deps.sh runs npm ci in web/)";
    // Two simulated datasets stand in for the real and the synthetic scans: the page cannot tell
    // them apart either way, and simulating takes a second.
    const std::string b = scintigen_binary();
    for (const auto& [name, seed] : {std::pair{"real", "1"}, std::pair{"syn", "2"}}) {
      const auto r = run_command(b + " simulate -q --threads 2 -n 40 --site small_centre --seed " + seed +
                                 " --prevalence metastasis=0.5 -o " + (t_ / name));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    const auto r =
        run_command(b + " reader create --real " + (t_ / "real") + " --synthetic " + (t_ / "syn") + " --n " +
                    std::to_string(kCases) + " --readers a,b --task both --match metastasis --seed 3 --out " + study_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    tokens_ = read_tokens(study_ + "/tokens.txt");
    ASSERT_EQ(tokens_.size(), 3u) << read_file(study_ + "/tokens.txt");
  }

  // Runs the scripted reader; its JSON summary.
  nlohmann::json read_cases(const std::string& url, const std::string& token, const std::string& shot,
                            const std::string& coordinator_token) {
    const std::string log = t_ / "node.log";
    const auto r =
        run_command("{ node " + source_path("tests/reader/browser/read_cases.mjs") + " " + url + " " + token + " " +
                    std::to_string(kRead) + " " + shot + " " + coordinator_token + " 2>" + log + "; }");
    EXPECT_EQ(r.exit_code, 0) << r.output << read_file(log);
    try {
      return nlohmann::json::parse(r.output);
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << "the script's summary is not JSON: " << e.what() << "\n" << r.output << read_file(log);
      return nlohmann::json::object();
    }
  }

  TempDir t_;
  std::string study_ = t_ / "study";
  std::map<std::string, std::string> tokens_;
};

TEST_F(ReaderBrowser, KeyboardReaderAnswersAreStoredAsSent) {
  ServedStudy server(study_, t_ / "serve.log");
  const std::string url = server.url();
  ASSERT_FALSE(url.empty()) << "first line: \"" << server.first_line() << "\"\n" << server.log();

  const std::string shot = t_ / "reader_page.png";
  const nlohmann::json s = read_cases(url, tokens_.at("a"), shot, tokens_.at("coordinator"));
  ASSERT_TRUE(s.is_object() && s.contains("answers"));
  EXPECT_TRUE(s["problems"].empty()) << s["problems"].dump(1);
  EXPECT_EQ(s["task"], "both");
  EXPECT_EQ(s["n"], kCases);
  EXPECT_EQ(s["resumed_at"], 6);
  std::vector<int> positions(kRead);
  for (int k = 0; k < kRead; ++k) positions[k] = k + 1;
  EXPECT_EQ(s["positions_seen"].get<std::vector<int>>(), positions);

  // The coordinator's page lists both readers with what they answered.
  ASSERT_TRUE(s["coordinator"].is_array()) << s.dump(1);
  std::map<std::string, int> listed;
  for (const auto& row : s["coordinator"]) listed[row["reader"].get<std::string>()] = row["answered"].get<int>();
  EXPECT_EQ(listed, (std::map<std::string, int>{{"a", kRead}, {"b", 0}}));

  const auto [width, height] = png_size(read_file(shot));
  EXPECT_EQ(width, 1280u);
  EXPECT_EQ(height, 800u);

  EXPECT_EQ(server.stop(), 0) << server.log();

  // The database, read independently of the server: exactly the answers the page sent.
  const StudyStore store = StudyStore::open(study_);
  const std::vector<std::string>& order = store.order("a");
  ASSERT_EQ(order.size(), size_t(kCases));
  const std::vector<Answer> stored = store.answers_of("a");
  ASSERT_EQ(stored.size(), size_t(kRead));
  ASSERT_EQ(s["answers"].size(), size_t(kRead));
  for (const auto& sent : s["answers"]) {
    const int position = sent["position"].get<int>();
    const std::string case_id = sent["case"].get<std::string>();
    SCOPED_TRACE("position " + std::to_string(position) + ", case " + case_id);
    EXPECT_EQ(order.at(position - 1), case_id) << "the page showed a case out of the reader's order";
    const std::optional<Answer> a = store.answer("a", case_id);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->call, sent["call"].get<std::string>());
    EXPECT_EQ(a->confidence, sent["confidence"].get<int>());
    EXPECT_EQ(a->metastasis, std::optional<int>(sent["metastasis"].get<int>()));
    EXPECT_EQ(a->grade, std::optional<int>(sent["grade"].get<int>()));
    EXPECT_EQ(a->revision, 1);
  }
  EXPECT_TRUE(store.answers_of("b").empty());
  EXPECT_EQ(store.snapshot().answers.size(), size_t(kRead));
}

}  // namespace
}  // namespace scintigen::reader
