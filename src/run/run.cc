#include "run/run.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/progress.h"
#include "core/version.h"

namespace scintigen::run {

namespace fs = std::filesystem;
using json = nlohmann::json;

DeviceName parse_device_name(const std::string& name, const std::string& where) {
  if (name == "cpu") return {DeviceName::kCpu, -1};
  if (name == "auto") return {DeviceName::kAuto, -1};
  if (name == "cuda") return {DeviceName::kCuda, -1};
  if (name.rfind("cuda:", 0) == 0) {
    const std::string digits = name.substr(5);
    if (!digits.empty() && digits.size() <= 4 && digits.find_first_not_of("0123456789") == std::string::npos)
      return {DeviceName::kCuda, std::stoi(digits)};
  }
  throw ConfigError(where, fmt::format("is '{}', expected cpu | cuda | cuda:N | auto", name),
                    "e.g. --device cuda:1 for the second GPU");
}

void check_new_out_folder(const std::string& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (fs::is_directory(out, ec) && fs::is_empty(out, ec)) return;
  if (fs::exists(fs::path(out) / "run.json", ec))
    throw InputError(out, "holds a training run", "continue it with --resume, or choose a new --out");
  throw InputError(out, "exists and is not an empty folder", "choose a new --out folder");
}

void create_out_folder(const std::string& out) {
  std::error_code ec;
  if (fs::is_directory(out, ec)) return;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out))
    throw InputError(out,
                     fmt::format("cannot create the folder: {}", ec ? ec.message() : "a part of the path is a file"),
                     "check that the path is writable and no part of it is a file");
}

json make_run_record(const std::string& command, const json& config) {
  return {{"format", kRunRecordFormat},   {"format_version", kRunRecordFormatVersion},
          {"command", command},           {"config", config},
          {"created", utc_now_iso8601()}, {"versions", core_versions()}};
}

void write_run_record(const std::string& out, const json& record) {
  write_file_atomic((fs::path(out) / "run.json").string(), record.dump(2) + "\n");
}

json read_run_record(const std::string& out, const std::string& command) {
  const std::string path = (fs::path(out) / "run.json").string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw InputError(out, "has no run.json: nothing to resume", "start the run without --resume");
  json j;
  try {
    j = json::parse(read_file(path, 64 << 20));
  } catch (const json::exception& e) {
    throw InputError(path, fmt::format("is not valid JSON: {}", e.what()), "start a new run without --resume");
  }
  if (!j.is_object() || j.value("format", std::string()) != kRunRecordFormat)
    throw InputError(path, "was not written by this scintigen's run harness (no \"format\": \"scintigen-run\")",
                     "finish the run with the scintigen that started it, or start a new --out");
  if (j.value("format_version", 0) > kRunRecordFormatVersion)
    throw InputError(path,
                     fmt::format("format version {} is newer than this scintigen reads ({})",
                                 j.value("format_version", 0), kRunRecordFormatVersion),
                     "upgrade scintigen");
  if (j.value("command", std::string()) != command)
    throw InputError(path,
                     fmt::format("records a '{}' run, not a '{}' one", j.value("command", std::string()), command),
                     "give the --out of a run of this command");
  if (!j.contains("config") || !j["config"].is_object()) throw InputError(path, "has no config", "start a new run");
  return j;
}

std::string SettingChange::describe() const {
  auto text = [](const std::optional<json>& v) { return v ? v->dump() : std::string("(none)"); };
  return fmt::format("{} was {}, now {}", field, text(before), text(after));
}

namespace {

bool may_change_at(const std::string& path, const std::vector<std::string>& may_change) {
  for (const auto& m : may_change)
    if (path == m || (path.size() > m.size() && path.compare(0, m.size(), m) == 0 && path[m.size()] == '.'))
      return true;
  return false;
}

void diff_into(const json& a, const json& b, const std::string& prefix, const std::vector<std::string>& may_change,
               std::vector<SettingChange>& out) {
  std::set<std::string> keys;
  for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
  for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
  for (const auto& k : keys) {
    const std::string path = prefix + k;
    if (may_change_at(path, may_change)) continue;
    const bool in_a = a.contains(k), in_b = b.contains(k);
    if (in_a && in_b && a[k].is_object() && b[k].is_object()) {
      diff_into(a[k], b[k], path + ".", may_change, out);
    } else if (!in_a || !in_b || a[k] != b[k]) {
      SettingChange c;
      c.field = path;
      if (in_a) c.before = a[k];
      if (in_b) c.after = b[k];
      out.push_back(std::move(c));
    }
  }
}

}  // namespace

std::vector<SettingChange> diff_settings(const json& before, const json& after,
                                         const std::vector<std::string>& may_change, const std::string& prefix) {
  std::vector<SettingChange> out;
  if (before.is_object() && after.is_object()) {
    diff_into(before, after, prefix, may_change, out);
  } else if (before != after) {
    const std::string field = prefix.empty() ? std::string("settings") : prefix.substr(0, prefix.size() - 1);
    if (!may_change_at(field, may_change)) out.push_back({field, before, after});
  }
  return out;
}

void refuse_changed_settings(const std::string& where, const json& stored, const json& now,
                             const std::vector<std::string>& may_change, const std::string& hint,
                             const std::string& prefix) {
  const auto changes = diff_settings(stored, now, may_change, prefix);
  if (changes.empty()) return;
  std::string list;
  for (const auto& c : changes) list += (list.empty() ? "" : "; ") + c.describe();
  throw ConfigError(
      where, fmt::format("--resume with {}: {}", changes.size() == 1 ? "a changed setting" : "changed settings", list),
      hint);
}

std::optional<int64_t> finished_steps(const std::string& out, const std::string& info_name, int64_t steps) {
  const std::string info = out + "/" + info_name;
  std::error_code ec;
  if (!fs::exists(info, ec)) return std::nullopt;
  int64_t done = 0;
  try {
    done = json::parse(read_file(info, 64 << 20)).at("training").at("steps_done").get<int64_t>();
  } catch (const json::exception& e) {
    throw InputError(info, std::string("cannot be read: ") + e.what());
  }
  if (steps < done)
    throw ConfigError("--steps", fmt::format("{} is below the {} steps of the finished run in {}", steps, done, out),
                      fmt::format("give --steps > {} to extend it", done));
  return done;
}

void check_checkpoint_within(int64_t checkpoint_step, int64_t steps, const std::string& out) {
  if (checkpoint_step > steps)
    throw ConfigError("--steps",
                      fmt::format("{} is below the {} steps the run in {} has done", steps, checkpoint_step, out),
                      fmt::format("give --steps >= {}", checkpoint_step));
}

int64_t recorded_steps(const json& record, int64_t fallback) {
  if (!record.contains("config") || !record["config"].is_object()) return fallback;
  return record["config"].value("train", json::object()).value("steps", fallback);
}

void record_steps_change(json& record, const json& config, int64_t at_step, int64_t from, int64_t to) {
  record["config"] = config;
  if (!record.contains("steps_changes")) record["steps_changes"] = json::array();
  record["steps_changes"].push_back({{"at_step", at_step}, {"from", from}, {"to", to}, {"time", utc_now_iso8601()}});
}

std::string StepClock::Tick::describe() const {
  return fmt::format("{:.1f} img/s  elapsed {}  ETA {}", images_per_s, format_duration(elapsed_s),
                     format_duration(eta_s));
}

StepClock::StepClock() : start_(std::chrono::steady_clock::now()), last_(start_) {}

StepClock::Tick StepClock::tick(int64_t images, int64_t remaining) {
  const auto now = std::chrono::steady_clock::now();
  Tick t;
  t.elapsed_s = std::chrono::duration<double>(now - start_).count();
  t.images_per_s = static_cast<double>(images) / std::max(1e-9, std::chrono::duration<double>(now - last_).count());
  t.eta_s = static_cast<double>(remaining) / std::max(1e-9, t.images_per_s);
  last_ = now;
  return t;
}

double StepClock::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace scintigen::run
