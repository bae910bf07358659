#pragma once

// The broker-wide bound on requests being read and decoded (Kafka's queued.max.requests and
// queued.max.request.bytes): a connection acquires its request's size before reading the body
// and gives it back once the handler has decoded it, so that a flood of large produce requests
// over many connections waits in the kernel's socket buffers instead of the broker's memory.
//
// Bytes are not a strict limit, as in Kafka's memory pool: a request is admitted while the bytes
// in use are below the limit, so one request larger than the whole budget still gets through.
// Waiters are admitted in arrival order.

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>


namespace chronik::server {

class RequestBudget {
 public:
  // max_bytes <= 0: no byte limit (Kafka's default, -1).
  RequestBudget(int64_t max_bytes, int32_t max_requests) : max_bytes_(max_bytes), max_requests_(max_requests) {}

  // Takes `bytes` now and returns true if the budget admits the request; otherwise queues it and
  // returns false, and `wake` is called once, from any thread, with true when the bytes have been
  // granted or false when the budget is closed.
  bool TryAcquire(int64_t bytes, std::function<void(bool)> wake) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_) {
        if (waiters_.empty() && Admits()) {
          Take(bytes);
          return true;
        }
        waiters_.push_back({bytes, std::move(wake)});
        return false;
      }
    }
    wake(false);
    return false;
  }

  void Release(int64_t bytes) {
    std::vector<std::function<void(bool)>> granted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bytes_ -= bytes;
      --requests_;
      while (!waiters_.empty() && Admits()) {
        Take(waiters_.front().bytes);
        granted.push_back(std::move(waiters_.front().wake));
        waiters_.pop_front();
      }
    }
    for (auto& g : granted) g(true);
  }

  // Gives a grant back when it goes out of scope, unless given back before.
  class Grant {
   public:
    Grant(RequestBudget& budget, int64_t bytes) : budget_(&budget), bytes_(bytes) {}
    ~Grant() { Release(); }
    Grant(const Grant&) = delete;
    Grant& operator=(const Grant&) = delete;
    void Release() {
      if (budget_ != nullptr) budget_->Release(bytes_);
      budget_ = nullptr;
    }

   private:
    RequestBudget* budget_;
    int64_t bytes_;
  };

  // Fails every waiter and every later TryAcquire (shutdown).
  void Close() {
    std::deque<Waiter> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      waiters.swap(waiters_);
    }
    for (auto& w : waiters) w.wake(false);
  }

 private:
  struct Waiter {
    int64_t bytes;
    std::function<void(bool)> wake;
  };

  bool Admits() const {
    if (requests_ == 0) return true;
    return requests_ < max_requests_ && (max_bytes_ <= 0 || bytes_ < max_bytes_);
  }
  void Take(int64_t bytes) {
    bytes_ += bytes;
    ++requests_;
  }

  const int64_t max_bytes_;
  const int32_t max_requests_;
  std::mutex mu_;
  int64_t bytes_ = 0;
  int32_t requests_ = 0;
  bool closed_ = false;
  std::deque<Waiter> waiters_;
};

}  // namespace chronik::server
