// Ordered parallel map: produce(i) runs on worker threads, consume(i, result) runs on the
// calling thread in index order, with at most `window` results waiting. Deterministic output
// order whatever the thread count.
//
//   parallel_ordered<Result>(files.size(), threads, 64,
//       [&](size_t i) { return read(files[i]); },
//       [&](size_t i, Result&& r) { store(r); });
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace scintigen {

// Number of worker threads for a user's --threads value (0 = all cores).
inline int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

template <typename T, typename Produce, typename Consume>
void parallel_ordered(size_t n, int threads, size_t window, Produce produce, Consume consume) {
  threads = std::max(1, threads);
  window = std::max<size_t>(window, static_cast<size_t>(threads));
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, T> ready;
  std::exception_ptr failure;
  size_t next = 0, consumed = 0;
  bool stop = false;

  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next >= n || next < consumed + window; });
        if (stop || next >= n) return;
        i = next++;
      }
      std::optional<T> r;
      try {
        r.emplace(produce(i));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
        stop = true;
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      ready.emplace(i, std::move(*r));
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto& th : pool) th.join();
  };
  try {
    while (consumed < n) {
      T item;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return failure || ready.count(consumed); });
        if (failure) break;
        item = std::move(ready.at(consumed));
        ready.erase(consumed);
      }
      consume(consumed, std::move(item));
      {
        std::lock_guard<std::mutex> lock(mu);
        ++consumed;
      }
      cv.notify_all();
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace scintigen
