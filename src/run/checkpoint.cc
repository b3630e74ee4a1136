// OUT/checkpoint/: state.json commits a tensor archive written under a fresh name before it
// (run.h). Atomicity rests on write_file_atomic's rename of state.json alone; the archives are
// never overwritten, only deleted once no state.json names them.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs_util.h"
#include "core/sha256.h"
#include "core/version.h"
#include "run/run.h"

namespace scintigen::run {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string checkpoint_dir(const std::string& out) {
  return (fs::path(out) / kCheckpointDir).string();
}

// The sequence number of an archive name "tensors-NNNNNN.pt", or -1.
long long archive_number(const std::string& name) {
  if (name.size() < 12 || name.rfind("tensors-", 0) != 0 || name.substr(name.size() - 3) != ".pt") return -1;
  const std::string digits = name.substr(8, name.size() - 11);
  if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

}  // namespace

void write_checkpoint(const std::string& out, const std::string& tensor_bytes, const json& state,
                      const std::function<void(const char*)>& between) {
  const std::string dir = checkpoint_dir(out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InternalError(dir, "cannot create the checkpoint folder: " + ec.message(), "is the disk writable?");
  // A name no state.json has named: one above every archive present (committed or orphaned).
  long long next = 1;
  for (const auto& e : fs::directory_iterator(dir, ec))
    next = std::max(next, archive_number(e.path().filename().string()) + 1);
  const std::string name = fmt::format("tensors-{:06d}.pt", next);
  write_file_atomic(dir + "/" + name, tensor_bytes);
  if (between) between("tensors written");
  const json record = {{"format", kCheckpointFormat},
                       {"format_version", kCheckpointFormatVersion},
                       {"time", utc_now_iso8601()},
                       {"tensors", name},
                       {"tensors_sha256", sha256_hex(tensor_bytes)},
                       {"tensors_bytes", tensor_bytes.size()},
                       {"state", state}};
  write_file_atomic(dir + "/state.json", record.dump(2) + "\n");  // the commit
  if (between) between("committed");
  // Clean-up: archives state.json no longer names, and temporary files of interrupted writes.
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if ((archive_number(f) >= 0 && f != name) || f.find(".tmp-") != std::string::npos) fs::remove(e.path(), ec);
  }
}

std::optional<Checkpoint> find_checkpoint(const std::string& out) {
  const std::string dir = checkpoint_dir(out), state_path = dir + "/state.json";
  std::error_code ec;
  if (!fs::exists(state_path, ec)) {
    const std::string legacy = (fs::path(out) / "checkpoint.pt").string();
    if (fs::exists(legacy, ec))
      throw InputError(legacy, "is the checkpoint of an older scintigen (this one keeps checkpoints in checkpoint/)",
                       "finish the run with the scintigen that started it, or start a new --out");
    return std::nullopt;
  }
  const std::string hint = "the checkpoint is damaged: delete " + dir + " to restart the run from its beginning";
  json j;
  try {
    j = json::parse(read_file(state_path, 256 << 20));
  } catch (const json::exception& e) {
    throw InputError(state_path, fmt::format("is not valid JSON: {}", e.what()), hint);
  }
  if (!j.is_object() || j.value("format", std::string()) != kCheckpointFormat || !j.contains("state") ||
      !j.contains("tensors") || !j["tensors"].is_string())
    throw InputError(state_path, "is not a scintigen checkpoint state", hint);
  if (j.value("format_version", 0) > kCheckpointFormatVersion)
    throw InputError(state_path,
                     fmt::format("format version {} is newer than this scintigen reads ({})",
                                 j.value("format_version", 0), kCheckpointFormatVersion),
                     "upgrade scintigen");
  const std::string name = j["tensors"].get<std::string>();
  if (archive_number(name) < 0) throw InputError(state_path, fmt::format("names no tensor archive ('{}')", name), hint);
  Checkpoint c;
  c.tensors = dir + "/" + name;
  c.state = j["state"];
  c.time = j.value("time", std::string());
  if (!fs::is_regular_file(c.tensors, ec)) throw InputError(c.tensors, "is missing", hint);
  if (sha256_file(c.tensors) != j.value("tensors_sha256", std::string()))
    throw InputError(c.tensors, "SHA-256 differs from the one in state.json: the file is truncated or corrupt", hint);
  return c;
}

}  // namespace scintigen::run
