// Ordered map over supervised worker processes: job(i) runs in a forked worker with a time and
// a memory limit, so that a job that crashes, hangs or balloons costs its own item only;
// consume(i, outcome) runs on the calling thread in index order, as parallel_ordered does.
//
//   IsolationLimits lim;                       // 60 s and 2048 MiB per item by default
//   run_isolated_ordered(files.size(), 2, lim,
//       [&](size_t i) { return serialise(decode(files[i])); },    // in a worker process
//       [&](size_t i, IsolatedOutcome&& o) {                      // in this process, in order
//         if (o.status == IsolatedOutcome::Status::kOk) store(deserialise(o.payload));
//         else report(files[i], describe(o, lim));
//       });
//
// Design: `workers` persistent processes forked from the caller, each reading item indices
// from a pipe and writing length-prefixed results back; the caller polls their result pipes
// (poll deadline + SIGKILL for the time limit), reaps a worker that died (waitpid) and forks a
// replacement. The memory limit is RLIMIT_DATA, set in the worker to its size at fork plus the
// limit, so the mappings of shared libraries and the allocator's reserved-but-unwritten address
// space do not count; a job that throws std::bad_alloc is reported as over the limit.
//
// The caller must be single-threaded when calling (fork copies one thread only: a lock held
// by another thread stays locked forever in the worker; such a worker would hang and be
// reported as timed out, not corrupt the caller). job runs in the worker, so what it changes
// in memory is lost; only its returned bytes travel. Exceptions from consume stop the run:
// every worker is killed and reaped before they propagate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace scintigen {

struct IsolationLimits {
  double timeout_s = 60;                   // per item, from hand-out to result; > 0
  uint64_t memory_mib = 2048;              // growth of a worker beyond its size at fork; 0: unlimited
  uint64_t max_result_bytes = 1ull << 30;  // larger results count as a failed worker
};

struct IsolatedOutcome {
  enum class Status {
    kOk,          // payload: what job returned
    kCrashed,     // the worker died by `signal`
    kTimedOut,    // killed after timeout_s
    kOverMemory,  // job threw std::bad_alloc under the memory limit
    kFailed,      // job threw something else (payload: its what()), or the worker exited
                  // (exit_code) or sent a malformed or oversized result
  };
  Status status = Status::kOk;
  std::string payload;
  int signal = 0;
  int exit_code = 0;
};

// Runs job(i) for i in [0, n) in `workers` worker processes with at most `window` results
// waiting for consume. Throws InternalError when a pipe or process cannot be created.
void run_isolated_ordered(size_t n, int workers, size_t window, const IsolationLimits& limits,
                          const std::function<std::string(size_t)>& job,
                          const std::function<void(size_t, IsolatedOutcome&&)>& consume);

// Number of threads of this process (from /proc/self/task); 0 when unknown.
int current_thread_count();

}  // namespace scintigen
