// The run harness: what the training loops (src/clf: epochs + early stopping; src/gen: steps +
// EMA + ranks) and generation share, so a run folder looks and resumes alike whichever made it.
// No LibTorch in this header; run/torch.h is the tensor side (devices, archives).
//
//   check_new_out_folder(out);                              // absent or empty, else InputError
//   create_out_folder(out);
//   write_run_record(out, make_run_record("classify train", config.to_json()));   // OUT/run.json
//   ...
//   nlohmann::json record = read_run_record(out, "classify train");    // --resume
//   refuse_changed_settings(out, record["config"], config.to_json(), {"epochs", "threads"}, hint);
//   write_checkpoint(out, tensor_bytes, {{"epoch", 3}});   // OUT/checkpoint/, one atomic commit
//   std::optional<Checkpoint> c = find_checkpoint(out);     // c->state, c->tensors
//
// Libraries report through an EventSink (core/progress.h) that the caller passes to their entry
// points; they never print. Timestamps are core's utc_now_iso8601() (core/version.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace scintigen::run {

// ---- Devices ------------------------------------------------------------------------------
// A device name as the --device flags take it: "cpu", "cuda" (the current CUDA device),
// "cuda:N" (device N) or "auto" (CUDA when LibTorch has it, else the CPU).
struct DeviceName {
  enum Kind { kCpu, kCuda, kAuto };
  Kind kind = kCpu;
  int index = -1;  // cuda:N; -1 = the current device
};
// Throws ConfigError naming `where` and the allowed names for anything else. Whether the
// device exists is resolve_device's question (run/torch.h).
DeviceName parse_device_name(const std::string& name, const std::string& where = "--device");

// ---- The output folder ----------------------------------------------------------------------
// A new run's --out: absent or an empty folder. Otherwise InputError naming it: "holds a
// training run" when it has a run.json (hint: continue it with --resume), else "exists and is
// not an empty folder". Creates nothing, so a run refused later leaves no trace.
void check_new_out_folder(const std::string& out);
// Creates `out` and its missing parents; InputError naming it when that fails.
void create_out_folder(const std::string& out);

// ---- The stored run config: OUT/run.json ------------------------------------------------------
inline constexpr const char* kRunRecordFormat = "scintigen-run";
inline constexpr int kRunRecordFormatVersion = 1;
// {"format", "format_version", "command", "config", "created", "versions"}; a loop adds its own
// keys (gen: model_config, io, init_from, steps_changes) before writing it.
nlohmann::json make_run_record(const std::string& command, const nlohmann::json& config);
// Writes OUT/run.json atomically (the first file of a run; rewritten when a resume changes it).
void write_run_record(const std::string& out, const nlohmann::json& record);
// OUT/run.json of a run made by `command`, for --resume. InputError "nothing to resume" when
// there is none, naming the file when it is damaged, of another command or of an older
// scintigen.
nlohmann::json read_run_record(const std::string& out, const std::string& command);

// ---- Resume: the settings that changed -------------------------------------------------------
// One changed field of a settings object, named by its dotted path ("train.lr").
struct SettingChange {
  std::string field;
  std::optional<nlohmann::json> before, after;  // nullopt: absent on that side
  // "train.lr was 0.001, now 0.002" ("(none)" for an absent value).
  std::string describe() const;
};
// The fields that differ between two settings objects, in key order, recursing into objects
// (arrays and other values compare whole). A change at a path listed in `may_change`, or
// below one ("augment" covers "augment.scale"), is left out. `prefix` starts every path.
std::vector<SettingChange> diff_settings(const nlohmann::json& before, const nlohmann::json& after,
                                         const std::vector<std::string>& may_change = {},
                                         const std::string& prefix = "");
// Throws ConfigError(where, "--resume with a changed setting: train.lr was 0.001, now 0.002",
// hint) (all changes, "; "-separated) when diff_settings finds any.
void refuse_changed_settings(const std::string& where, const nlohmann::json& stored, const nlohmann::json& now,
                             const std::vector<std::string>& may_change, const std::string& hint,
                             const std::string& prefix = "");

// ---- Step-counted runs (gen: train, autoencoder train) -------------------------------------
// Only --steps may change on their --resume: more steps extend a finished run from its checkpoint.
//
//   std::optional<int64_t> f = finished_steps(out, "model.json", steps);     // nullopt: not finished
//   if (f && *f == steps) return;                                            // nothing to do
//   ... load the checkpoint at step s; check_checkpoint_within(s, steps, out);
//   if (recorded_steps(record, steps) != steps) record_steps_change(record, config, s, ...);

// The steps the finished run in `out` recorded in its file OUT/`info` (.training.steps_done), or
// nullopt when that file does not exist. ConfigError (--steps) when `steps` is below them (hint:
// more steps extend it); InputError naming the file when it cannot be read.
std::optional<int64_t> finished_steps(const std::string& out, const std::string& info, int64_t steps);
// ConfigError (--steps) when the checkpoint of the run in `out` is at a step beyond `steps`.
void check_checkpoint_within(int64_t checkpoint_step, int64_t steps, const std::string& out);
// The total steps a run record (run.json) holds: config.train.steps, else `fallback`.
int64_t recorded_steps(const nlohmann::json& record, int64_t fallback);
// A resume that changes the total steps: `record` takes the new `config` and a steps_changes
// entry {at_step, from, to, time} (the caller writes it).
void record_steps_change(nlohmann::json& record, const nlohmann::json& config, int64_t at_step, int64_t from,
                         int64_t to);

// Throughput and ETA at a loop's log points, from a steady clock started at construction.
class StepClock {
 public:
  struct Tick {
    double elapsed_s = 0;     // since the clock started
    double images_per_s = 0;  // since the previous tick
    double eta_s = 0;         // the remaining images at that rate
    // "12.3 img/s  elapsed 1m 02s  ETA 3m 10s", the tail of a progress line.
    std::string describe() const;
  };
  StepClock();
  // `images` done since the previous tick (or the start), `remaining` still to do.
  Tick tick(int64_t images, int64_t remaining);
  double elapsed_s() const;

 private:
  std::chrono::steady_clock::time_point start_, last_;
};

// ---- The training checkpoint: OUT/checkpoint/ ------------------------------------------------
// state.json names the tensor archive it belongs with (tensors-NNNNNN.pt) and its SHA-256:
//   {"format": "scintigen-checkpoint", "format_version": 1, "time": ..., "tensors": ...,
//    "tensors_sha256": ..., "tensors_bytes": ..., "state": {the loop's counters}}
// A write puts the archive under a new name first, then replaces state.json atomically (the
// commit), then deletes the archives state.json no longer names. A crash at any point leaves
// the previous checkpoint or the new one whole, never a mix.
inline constexpr const char* kCheckpointDir = "checkpoint";
inline constexpr const char* kCheckpointFormat = "scintigen-checkpoint";
inline constexpr int kCheckpointFormatVersion = 1;

struct Checkpoint {
  nlohmann::json state;  // what the loop stored
  std::string tensors;   // path of the tensor archive, its SHA-256 checked
  std::string time;      // when it was written (ISO-8601 UTC)
};

// Writes OUT/checkpoint/ as above. `between` (tests) is called with "tensors written" after the
// archive is durable and before the commit, and with "committed" before the clean-up.
void write_checkpoint(const std::string& out, const std::string& tensor_bytes, const nlohmann::json& state,
                      const std::function<void(const char* stage)>& between = {});
// The checkpoint in OUT/checkpoint/, or nullopt when there is none. InputError naming the file
// when it is damaged (bad JSON, a missing or altered archive) or when OUT holds only an older
// scintigen's checkpoint.pt.
std::optional<Checkpoint> find_checkpoint(const std::string& out);

}  // namespace scintigen::run
