#include "chronik_ingest/partition_events.h"

#include <algorithm>

namespace chronik::ingest {

PartitionEvents::PartitionEvents() : timer_([this] { TimerLoop(); }) {}

PartitionEvents::~PartitionEvents() { Stop(); }

void PartitionEvents::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  timer_.join();
  // Whoever still waits is answered now rather than never, once: a wake that waits again is
  // dropped (see Start), so this cannot loop.
  std::vector<std::shared_ptr<Waiter>> last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last.swap(ready_);
    for (auto& [deadline, w] : by_deadline_) last.push_back(w);
    by_deadline_.clear();
    by_partition_.clear();
    armed_.clear();
  }
  for (const auto& w : last) w->wake();
}

PartitionEvents::Handle PartitionEvents::Arm(const std::vector<storage::TopicPartition>& partitions) {
  auto w = std::make_shared<Waiter>();
  w->partitions = partitions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      w->done = true;
    } else {
      armed_.insert(w);
      for (const auto& tp : partitions) by_partition_[tp].insert(w);
    }
  }
  Handle h;
  h.waiter_ = w;
  return h;
}

void PartitionEvents::Start(const Handle& handle, std::chrono::steady_clock::time_point deadline,
                            std::function<void()> wake) {
  std::shared_ptr<Waiter> w = handle.waiter_.lock();
  if (w == nullptr) return;  // cancelled, or armed while stopping
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (w->done || w->started || stopping_) return;
    armed_.erase(w);
    w->wake = std::move(wake);
    w->deadline = deadline;
    w->started = true;
    if (w->notified) {
      Forget(w);
      ready_.push_back(w);
      earliest = true;
    } else {
      earliest = by_deadline_.empty() || deadline < by_deadline_.begin()->first;
      by_deadline_.emplace(deadline, w);
    }
  }
  // The timer thread only needs to know when its next deadline moved earlier or a wake is ready.
  if (earliest) cv_.notify_all();
}

PartitionEvents::Handle PartitionEvents::Wait(const std::vector<storage::TopicPartition>& partitions,
                                              std::chrono::steady_clock::time_point deadline,
                                              std::function<void()> wake) {
  Handle h = Arm(partitions);
  Start(h, deadline, std::move(wake));
  return h;
}

void PartitionEvents::Cancel(const Handle& handle) {
  std::shared_ptr<Waiter> w = handle.waiter_.lock();
  if (w == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!w->done) Forget(w);
  // Woken but not yet run: drop it from the ready list too.
  ready_.erase(std::remove(ready_.begin(), ready_.end(), w), ready_.end());
}

void PartitionEvents::Forget(const std::shared_ptr<Waiter>& w) {
  w->done = true;
  armed_.erase(w);
  for (const auto& tp : w->partitions) {
    auto it = by_partition_.find(tp);
    if (it == by_partition_.end()) continue;
    it->second.erase(w);
    if (it->second.empty()) by_partition_.erase(it);
  }
  if (!w->started) return;
  auto range = by_deadline_.equal_range(w->deadline);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == w) {
      by_deadline_.erase(it);
      break;
    }
  }
}

void PartitionEvents::Notify(const storage::TopicPartition& tp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_partition_.find(tp);
    if (it == by_partition_.end()) return;
    std::vector<std::shared_ptr<Waiter>> woken(it->second.begin(), it->second.end());
    for (const auto& w : woken) {
      if (!w->started) {
        w->notified = true;  // Start will find it
        continue;
      }
      Forget(w);
      ready_.push_back(w);
    }
  }
  cv_.notify_all();
}

void PartitionEvents::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!ready_.empty()) {
      std::vector<std::shared_ptr<Waiter>> woken;
      woken.swap(ready_);
      lock.unlock();
      for (const auto& w : woken) w->wake();
      lock.lock();
      continue;
    }
    if (by_deadline_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto next = by_deadline_.begin()->first;
    if (cv_.wait_until(lock, next) == std::cv_status::no_timeout) continue;
    std::vector<std::shared_ptr<Waiter>> due;
    const auto now = std::chrono::steady_clock::now();
    for (auto it = by_deadline_.begin(); it != by_deadline_.end() && it->first <= now; ++it) due.push_back(it->second);
    for (const auto& w : due) Forget(w);
    lock.unlock();
    for (const auto& w : due) w->wake();
    lock.lock();
  }
}

}  // namespace chronik::ingest
