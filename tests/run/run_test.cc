// The run harness without tensors (src/run/run.h): device names, the output-folder rules, the
// stored run config, the diff that names changed fields, and the checkpoint's round trip and
// atomicity (a writer killed between its writes leaves the previous checkpoint whole).
#include "run/run.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/progress.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace scintigen::run {
namespace {

using json = nlohmann::json;
using scintigen::testing::TempDir;

TEST(DeviceName, CpuCudaCudaNAutoAndNothingElse) {
  EXPECT_EQ(parse_device_name("cpu").kind, DeviceName::kCpu);
  EXPECT_EQ(parse_device_name("auto").kind, DeviceName::kAuto);
  const DeviceName cuda = parse_device_name("cuda");
  EXPECT_EQ(cuda.kind, DeviceName::kCuda);
  EXPECT_EQ(cuda.index, -1);
  const DeviceName one = parse_device_name("cuda:1");
  EXPECT_EQ(one.kind, DeviceName::kCuda);
  EXPECT_EQ(one.index, 1);
  EXPECT_EQ(parse_device_name("cuda:12").index, 12);
  for (const char* bad :
       {"bad", "", "CPU", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1.5", "cuda:99999", " cpu", "mps"}) {
    try {
      parse_device_name(bad, "--device");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.where(), "--device");
      EXPECT_NE(e.reason().find("expected cpu | cuda | cuda:N | auto"), std::string::npos) << e.describe();
      EXPECT_NE(e.reason().find(std::string("'") + bad + "'"), std::string::npos) << e.describe();
    }
  }
}

TEST(OutFolder, NewRunsNeedAnAbsentOrEmptyFolder) {
  TempDir t;
  EXPECT_NO_THROW(check_new_out_folder(t / "absent"));
  EXPECT_FALSE(fs::exists(t / "absent")) << "the check creates nothing";
  fs::create_directories(t / "empty");
  EXPECT_NO_THROW(check_new_out_folder(t / "empty"));
  write_file_atomic(t / "full/x.txt", "x");
  try {
    check_new_out_folder(t / "full");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(), t / "full" + ": exists and is not an empty folder (hint: choose a new --out folder)");
  }
  write_file_atomic(t / "file", "x");
  EXPECT_THROW(check_new_out_folder(t / "file"), InputError);
  write_file_atomic(t / "run/run.json", "{}");
  try {
    check_new_out_folder(t / "run");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe(),
              t / "run" + ": holds a training run (hint: continue it with --resume, or choose a new --out)");
  }
  create_out_folder(t / "a/b/c");
  EXPECT_TRUE(fs::is_directory(t / "a/b/c"));
  EXPECT_NO_THROW(create_out_folder(t / "a/b/c"));  // already there
  EXPECT_THROW(create_out_folder(t / "file/below"), InputError);
}

TEST(RunRecord, WrittenFirstAndReadBackForResume) {
  TempDir t;
  const json config = {{"lr", 0.001}, {"train", {{"steps", 10}}}};
  json record = make_run_record("classify train", config);
  EXPECT_EQ(record["format"], kRunRecordFormat);
  EXPECT_EQ(record["command"], "classify train");
  EXPECT_EQ(record["created"].get<std::string>().size(), 20u);  // 2026-11-27T02:21:10Z
  EXPECT_TRUE(record["versions"].contains("scintigen"));
  record["extra"] = 1;
  write_run_record(t / "r", record);
  EXPECT_EQ(read_run_record(t / "r", "classify train"), record);

  auto expect_error = [&](const std::string& out, const std::string& command, const std::string& text) {
    try {
      read_run_record(out, command);
      ADD_FAILURE() << "no error; expected " << text;
    } catch (const InputError& e) {
      EXPECT_NE(e.describe().find(text), std::string::npos) << e.describe();
    }
  };
  expect_error(t / "r", "train", "records a 'classify train' run, not a 'train' one");
  expect_error(t / "nothing", "train", "has no run.json: nothing to resume");
  write_file_atomic(t / "bad/run.json", "{\"format\": ");
  expect_error(t / "bad", "train", "is not valid JSON");
  write_file_atomic(t / "old/run.json", json{{"run", config}}.dump());  // before the harness
  expect_error(t / "old", "train", "was not written by this scintigen's run harness");
}

TEST(StepCountedRun, FinishedStepsExtensionsAndTheirRecord) {
  TempDir t;
  const std::string out = t / "run";
  EXPECT_EQ(finished_steps(out, "model.json", 10), std::nullopt) << "no finished record: not finished";
  write_file_atomic(out + "/model.json", json{{"training", {{"steps_done", 12}}}}.dump());
  EXPECT_EQ(finished_steps(out, "model.json", 12), 12) << "the same steps: already finished";
  EXPECT_EQ(finished_steps(out, "model.json", 20), 12) << "more steps: an extension";
  try {
    finished_steps(out, "model.json", 10);
    ADD_FAILURE() << "fewer steps than the finished run's were accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.describe(), "--steps: 10 is below the 12 steps of the finished run in " + out +
                                " (hint: give --steps > 12 to extend it)");
  }
  write_file_atomic(out + "/bad.json", json{{"training", {{"steps", 12}}}}.dump());
  try {
    finished_steps(out, "bad.json", 10);
    ADD_FAILURE() << "a record without steps_done was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.describe().rfind(out + "/bad.json: cannot be read: ", 0), 0u) << e.describe();
  }

  EXPECT_NO_THROW(check_checkpoint_within(12, 12, out));
  EXPECT_THROW(check_checkpoint_within(13, 12, out), ConfigError);

  json record = make_run_record("train", {{"train", {{"steps", 12}, {"lr", 0.1}}}});
  EXPECT_EQ(recorded_steps(record, 99), 12);
  EXPECT_EQ(recorded_steps(json::object(), 99), 99) << "no config: the caller's steps";
  const json extended = {{"train", {{"steps", 20}, {"lr", 0.1}}}};
  record_steps_change(record, extended, 12, 12, 20);
  record_steps_change(record, {{"train", {{"steps", 30}, {"lr", 0.1}}}}, 20, 20, 30);
  EXPECT_EQ(recorded_steps(record, 99), 30) << "the record takes the new config";
  ASSERT_EQ(record["steps_changes"].size(), 2u) << "every change kept, in order";
  EXPECT_EQ(record["steps_changes"][0]["at_step"], 12);
  EXPECT_EQ(record["steps_changes"][0]["from"], 12);
  EXPECT_EQ(record["steps_changes"][0]["to"], 20);
  EXPECT_EQ(record["steps_changes"][1]["from"], 20);
  EXPECT_EQ(record["steps_changes"][1]["time"].get<std::string>().size(), 20u);
}

TEST(StepCountedRun, TheClockGivesRateAndEtaFromTheImagesDone) {
  StepClock clock;
  const StepClock::Tick a = clock.tick(64, 640);
  EXPECT_GT(a.images_per_s, 0);
  EXPECT_DOUBLE_EQ(a.eta_s, 640 / a.images_per_s) << "the remaining images at the last interval's rate";
  const StepClock::Tick b = clock.tick(0, 640);
  EXPECT_EQ(b.images_per_s, 0) << "the rate is the interval's, not the run's";
  EXPECT_GE(b.elapsed_s, a.elapsed_s);
  EXPECT_GE(clock.elapsed_s(), b.elapsed_s);
  StepClock::Tick c;
  c.images_per_s = 12.34;
  c.elapsed_s = 62;
  c.eta_s = 190;
  EXPECT_EQ(c.describe(), "12.3 img/s  elapsed " + format_duration(62) + "  ETA " + format_duration(190));
}

TEST(SettingsDiff, NamesEveryChangedFieldByItsPath) {
  const json a = {{"lr", 0.001},
                  {"train", {{"steps", 10}, {"lr", 0.0002}, {"seed", 1}}},
                  {"mix", {1.0, 1.0}},
                  {"device", "cpu"},
                  {"gone", true}};
  const json b = {{"lr", 0.002},
                  {"train", {{"steps", 20}, {"lr", 0.0002}, {"seed", 2}}},
                  {"mix", {1.0, 2.0}},
                  {"device", "cuda"},
                  {"new", "x"}};
  const auto all = diff_settings(a, b);
  std::vector<std::string> text;
  for (const auto& c : all) text.push_back(c.describe());
  EXPECT_EQ(text, (std::vector<std::string>{"device was \"cpu\", now \"cuda\"", "gone was true, now (none)",
                                            "lr was 0.001, now 0.002", "mix was [1.0,1.0], now [1.0,2.0]",
                                            "new was (none), now \"x\"", "train.seed was 1, now 2",
                                            "train.steps was 10, now 20"}));
  // Allowed changes are left out, a listed object with everything below it.
  const auto some = diff_settings(a, b, {"train.steps", "device", "gone", "new", "mix"});
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].field, "lr");
  EXPECT_EQ(some[1].field, "train.seed");
  EXPECT_TRUE(diff_settings(a, b, {"lr", "train", "mix", "device", "gone", "new"}).empty());
  EXPECT_EQ(diff_settings(a, b, {"trai"}).size(), all.size()) << "a prefix of a name is not its parent";
  EXPECT_TRUE(diff_settings(a, a).empty());
  // A prefix starts every path; an object against a number is one change.
  const auto p = diff_settings(json{{"x", {{"y", 1}}}}, json{{"x", 2}}, {}, "model_config.");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].describe(), "model_config.x was {\"y\":1}, now 2");
}

TEST(SettingsDiff, ARefusedResumeNamesTheFolderTheFieldsAndAHint) {
  const json stored = {{"train", {{"lr", 0.001}, {"steps", 10}}}, {"threads", 1}};
  json now = stored;
  now["train"]["steps"] = 20;
  now["threads"] = 4;
  EXPECT_NO_THROW(refuse_changed_settings("OUT", stored, now, {"train.steps", "threads"}, "hint"));
  now["train"]["lr"] = 0.002;
  try {
    refuse_changed_settings("OUT", stored, now, {"train.steps", "threads"}, "resume with the run's own flags");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(
        e.describe(),
        "OUT: --resume with a changed setting: train.lr was 0.001, now 0.002 (hint: resume with the run's own flags)");
  }
  try {
    refuse_changed_settings("OUT", stored, now, {}, "h");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.reason(),
              "--resume with changed settings: threads was 1, now 4; train.lr was 0.001, now 0.002; train.steps was "
              "10, now 20");
  }
}

TEST(Checkpoint, RoundTripsStateAndTensorBytes) {
  TempDir t;
  EXPECT_FALSE(find_checkpoint(t.path()).has_value());
  std::string bytes(100000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  write_checkpoint(t.path(), bytes, {{"step", 3}, {"scores", {0.25, 0.5}}});
  auto c = find_checkpoint(t.path());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->state, (json{{"step", 3}, {"scores", {0.25, 0.5}}}));
  EXPECT_EQ(read_file(c->tensors), bytes);
  EXPECT_EQ(c->time.size(), 20u);
  const json record = json::parse(read_file(t / "checkpoint/state.json"));
  EXPECT_EQ(record["format"], kCheckpointFormat);
  EXPECT_EQ(record["tensors_bytes"], bytes.size());
  // The next checkpoint replaces it; only its own archive is left.
  write_checkpoint(t.path(), "second", {{"step", 6}});
  c = find_checkpoint(t.path());
  EXPECT_EQ(c->state["step"], 6);
  EXPECT_EQ(read_file(c->tensors), "second");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(t / "checkpoint")) files += e.is_regular_file();
  EXPECT_EQ(files, 2u) << "state.json and one archive";
}

TEST(Checkpoint, DamageIsAClearErrorNamingTheFile) {
  TempDir t;
  write_checkpoint(t.path(), "tensors", {{"step", 1}});
  const auto c = find_checkpoint(t.path());
  write_file_atomic(c->tensors, "tensorz");
  try {
    find_checkpoint(t.path());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), c->tensors);
    EXPECT_NE(e.reason().find("SHA-256 differs"), std::string::npos) << e.describe();
  }
  fs::remove(c->tensors);
  EXPECT_THROW(find_checkpoint(t.path()), InputError);
  write_file_atomic(t / "checkpoint/state.json", "{");
  EXPECT_THROW(find_checkpoint(t.path()), InputError);
  // An older scintigen's single-file checkpoint is named, not silently ignored.
  TempDir old;
  write_file_atomic(old / "checkpoint.pt", "x");
  try {
    find_checkpoint(old.path());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), old / "checkpoint.pt");
  }
}

// A writer killed (_exit, no clean-up, as kill -9 leaves it) at each point of a write: the
// checkpoint read afterwards is the previous one or the new one, whole; the next write
// clears what the killed one left.
TEST(Checkpoint, AWriterKilledBetweenItsWritesLeavesThePreviousCheckpointIntact) {
  for (const char* stage : {"tensors written", "committed"}) {
    TempDir t;
    write_checkpoint(t.path(), "previous tensors", {{"step", 1}});
    const pid_t pid = fork();
    if (pid == 0) {
      write_checkpoint(t.path(), "new tensors", {{"step", 2}}, [&](const char* s) {
        if (std::string(s) == stage) _exit(0);
      });
      _exit(1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << stage;
    const auto c = find_checkpoint(t.path());
    ASSERT_TRUE(c.has_value()) << stage;
    if (std::string(stage) == "tensors written") {
      EXPECT_EQ(c->state["step"], 1) << "killed before the commit: the previous checkpoint";
      EXPECT_EQ(read_file(c->tensors), "previous tensors");
    } else {
      EXPECT_EQ(c->state["step"], 2) << "killed after the commit: the new checkpoint";
      EXPECT_EQ(read_file(c->tensors), "new tensors");
    }
    size_t archives = 0;
    for (const auto& e : fs::directory_iterator(t / "checkpoint")) archives += e.path().extension() == ".pt";
    EXPECT_EQ(archives, 2u) << stage << ": the killed writer's leftovers are still there";
    write_checkpoint(t.path(), "third", {{"step", 3}});
    archives = 0;
    for (const auto& e : fs::directory_iterator(t / "checkpoint")) archives += e.path().extension() == ".pt";
    EXPECT_EQ(archives, 1u) << stage << ": the next write clears them";
    EXPECT_EQ(read_file(find_checkpoint(t.path())->tensors), "third");
  }
  // A half-written state.json (its temporary file) is never read.
  TempDir t;
  write_checkpoint(t.path(), "whole", {{"step", 1}});
  write_file_atomic(t / "checkpoint/state.json.tmp-99999", "{\"format\": \"scintig");
  EXPECT_EQ(find_checkpoint(t.path())->state["step"], 1);
}

}  // namespace
}  // namespace scintigen::run
