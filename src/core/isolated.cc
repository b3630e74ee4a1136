#include "core/isolated.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <vector>

#include "core/error.h"

namespace scintigen {

int current_thread_count() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return ec ? 0 : n;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMagic = 0x5343494e54495331ull;  // "SCINTIS1"

// What a worker sends back for one item.
struct FrameHeader {
  uint64_t magic;
  uint64_t index;
  uint32_t status;  // IsolatedOutcome::Status
  uint32_t reserved;
  uint64_t size;  // payload bytes that follow
};

bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Bytes of private writable memory of this process (VmData), 0 when unknown.
uint64_t vm_data_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmData:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 10) * 1024;
  return 0;
}

[[noreturn]] void worker_main(int fd, pid_t parent, const IsolationLimits& limits,
                              const std::function<std::string(size_t)>& job) {
  // Die with the parent (a killed ingest leaves no workers behind).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  if (limits.memory_mib > 0) {
    const uint64_t cap = vm_data_bytes() + (limits.memory_mib << 20);
    struct rlimit rl = {cap, cap};
    setrlimit(RLIMIT_DATA, &rl);
  }
  for (;;) {
    uint64_t index = 0;
    size_t got = 0;
    while (got < sizeof index) {
      const ssize_t r = ::read(fd, reinterpret_cast<char*>(&index) + got, sizeof index - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) _exit(0);  // the parent closed the channel: done
      got += static_cast<size_t>(r);
    }
    IsolatedOutcome::Status status = IsolatedOutcome::Status::kOk;
    std::string payload;
    try {
      payload = job(index);
    } catch (const std::bad_alloc&) {
      std::string().swap(payload);
      status = IsolatedOutcome::Status::kOverMemory;
    } catch (const std::exception& e) {
      status = IsolatedOutcome::Status::kFailed;
      payload = e.what();
    } catch (...) {
      status = IsolatedOutcome::Status::kFailed;
      payload = "unknown exception";
    }
    const FrameHeader h = {kMagic, index, static_cast<uint32_t>(status), 0, payload.size()};
    if (!write_all(fd, &h, sizeof h) || !write_all(fd, payload.data(), payload.size())) _exit(1);
  }
}

class Pool {
 public:
  Pool(int workers, size_t window, const IsolationLimits& limits, const std::function<std::string(size_t)>& job)
      : limits_(limits),
        job_(job),
        window_(std::max<size_t>(window, static_cast<size_t>(workers))),
        workers_(static_cast<size_t>(std::max(1, workers))) {}

  ~Pool() {
    // Normal end: workers are idle and exit when their channel closes. Any other: kill them.
    for (auto& w : workers_) {
      if (w.pid <= 0) continue;
      if (w.busy || !clean_) ::kill(w.pid, SIGKILL);
      bury(w);
    }
  }

  void run(size_t n, const std::function<void(size_t, IsolatedOutcome&&)>& consume) {
    for (auto& w : workers_) spawn(w);
    size_t next = 0, consumed = 0;
    while (consumed < n) {
      for (auto& w : workers_)
        if (!w.busy && next < n && next < consumed + window_) hand_out(w, next++);
      bool delivered = false;
      for (auto it = ready_.find(consumed); it != ready_.end(); it = ready_.find(consumed)) {
        IsolatedOutcome o = std::move(it->second);
        ready_.erase(it);
        consume(consumed++, std::move(o));
        delivered = true;
      }
      if (delivered) continue;  // hand out more before waiting
      wait_for_workers();
    }
    clean_ = true;
  }

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
    bool busy = false;
    size_t item = 0;
    Clock::time_point deadline;
    FrameHeader header{};
    size_t got = 0;  // bytes of header + payload received
    std::string payload;
  };

  void spawn(Worker& w) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      throw InternalError("worker process", std::string("cannot create a channel: ") + std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(sv[0]);
      ::close(sv[1]);
      throw InternalError("worker process", std::string("cannot fork: ") + std::strerror(err),
                          "too many processes or too little memory; fewer --threads may help");
    }
    if (pid == 0) {
      ::close(sv[0]);
      for (auto& other : workers_)
        if (other.fd >= 0) ::close(other.fd);  // else a dead sibling's EOF would never show
      worker_main(sv[1], parent, limits_, job_);
    }
    ::close(sv[1]);
    ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    w = Worker();
    w.pid = pid;
    w.fd = sv[0];
  }

  // Closes the channel and waits for the process; returns its wait status.
  int bury(Worker& w) {
    if (w.fd >= 0) ::close(w.fd);
    w.fd = -1;
    int st = 0;
    while (::waitpid(w.pid, &st, 0) < 0 && errno == EINTR) {
    }
    w.pid = -1;
    w.busy = false;
    return st;
  }

  void hand_out(Worker& w, size_t i) {
    const uint64_t index = i;
    w.busy = true;
    w.item = i;
    w.got = 0;
    w.payload.clear();
    w.deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits_.timeout_s));
    // A worker that died since its last item shows as EOF at the next poll; the item is
    // then reported as lost with it.
    (void)write_all(w.fd, &index, sizeof index);
  }

  void finish(Worker& w, IsolatedOutcome&& o) {
    ready_.emplace(w.item, std::move(o));
    w.busy = false;
    w.got = 0;
    w.payload = std::string();
  }

  // The worker died or misbehaved: report its item (if any), reap it, start a replacement.
  void replace(Worker& w, std::optional<IsolatedOutcome> forced) {
    const bool busy = w.busy;
    const size_t item = w.item;
    if (forced) ::kill(w.pid, SIGKILL);
    const int st = bury(w);
    if (busy) {
      IsolatedOutcome o;
      if (forced) {
        o = std::move(*forced);
      } else if (WIFSIGNALED(st)) {
        o.status = IsolatedOutcome::Status::kCrashed;
        o.signal = WTERMSIG(st);
      } else {
        o.status = IsolatedOutcome::Status::kFailed;
        o.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        o.payload = fmt::format("the worker exited with status {} without a result", o.exit_code);
      }
      w.item = item;
      finish(w, std::move(o));
    }
    spawn(w);
  }

  // Reads what is there; true when the worker's result is complete or the worker is gone.
  void drain(Worker& w) {
    for (;;) {
      // The header first, then the payload straight into its final buffer (one copy less:
      // payloads are megabytes).
      const bool in_header = w.got < sizeof(FrameHeader);
      char* dst = in_header ? reinterpret_cast<char*>(&w.header) + w.got : &w.payload[w.got - sizeof(FrameHeader)];
      const size_t want = in_header ? sizeof(FrameHeader) - w.got : sizeof(FrameHeader) + w.payload.size() - w.got;
      const ssize_t r = want ? ::read(w.fd, dst, want) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (r <= 0 && want > 0) {  // EOF or error: the worker is gone
        replace(w, std::nullopt);
        return;
      }
      w.got += static_cast<size_t>(r);
      if (in_header && w.got == sizeof(FrameHeader)) {
        const FrameHeader& h = w.header;
        if (!w.busy || h.magic != kMagic || h.index != w.item || h.size > limits_.max_result_bytes ||
            h.status > static_cast<uint32_t>(IsolatedOutcome::Status::kFailed)) {
          IsolatedOutcome o;
          o.status = IsolatedOutcome::Status::kFailed;
          o.payload = h.size > limits_.max_result_bytes ? fmt::format("the result is {} bytes, over the limit of {}",
                                                                      h.size, limits_.max_result_bytes)
                                                        : std::string("the worker sent a malformed result");
          replace(w, std::move(o));
          return;
        }
        w.payload.resize(h.size);
      }
      if (w.got >= sizeof(FrameHeader) && w.got == sizeof(FrameHeader) + w.payload.size()) {
        IsolatedOutcome o;
        o.status = static_cast<IsolatedOutcome::Status>(w.header.status);
        o.payload = std::move(w.payload);
        finish(w, std::move(o));
        return;
      }
    }
  }

  void wait_for_workers() {
    std::vector<pollfd> fds;
    std::vector<Worker*> who;
    Clock::time_point first_deadline = Clock::time_point::max();
    for (auto& w : workers_) {
      fds.push_back({w.fd, POLLIN, 0});
      who.push_back(&w);
      if (w.busy) first_deadline = std::min(first_deadline, w.deadline);
    }
    int timeout_ms = -1;
    if (first_deadline != Clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(first_deadline - Clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left + 1, 0, 1 << 30));
    }
    const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR)
      throw InternalError("worker process", std::string("poll failed: ") + std::strerror(errno));
    for (size_t k = 0; rc > 0 && k < fds.size(); ++k)
      if (fds[k].revents) drain(*who[k]);
    const auto now = Clock::now();
    for (auto& w : workers_)
      if (w.busy && now >= w.deadline) {
        IsolatedOutcome o;
        o.status = IsolatedOutcome::Status::kTimedOut;
        replace(w, std::move(o));
      }
  }

  IsolationLimits limits_;
  const std::function<std::string(size_t)>& job_;
  size_t window_;
  std::vector<Worker> workers_;
  std::map<size_t, IsolatedOutcome> ready_;
  bool clean_ = false;
};

}  // namespace

void run_isolated_ordered(size_t n, int workers, size_t window, const IsolationLimits& limits,
                          const std::function<std::string(size_t)>& job,
                          const std::function<void(size_t, IsolatedOutcome&&)>& consume) {
  if (n == 0) return;
  workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(1, workers)), n));
  Pool pool(workers, window, limits, job);
  pool.run(n, consume);
}

}  // namespace scintigen
