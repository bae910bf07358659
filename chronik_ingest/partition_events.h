#pragma once

// Kafka's fetch purgatory in miniature: a fetch that found too little data waits here until an
// append to one of its partitions or its deadline, whichever comes first, without polling.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chronik_storage/types.h"

namespace chronik::ingest {

class PartitionEvents {
 private:
  struct Waiter;

 public:
  // Names a wait, for Start and Cancel.
  class Handle {
   private:
    friend class PartitionEvents;
    std::weak_ptr<Waiter> waiter_;
  };

  PartitionEvents();
  ~PartitionEvents();

  // The race-free way to wait for data: Arm before reading the partitions, then, if the read found
  // too little, Start; an event between the two is remembered, so no wake-up is lost. Every Arm
  // is followed by exactly one Start or Cancel.
  Handle Arm(const std::vector<storage::TopicPartition>& partitions);
  // Calls `wake` once, on this object's own thread (never on the notifier's: events come from the
  // storage flusher, which must not do a fetch's reading): at once if one of the armed partitions
  // had an event since Arm, else after the first one or at `deadline`.
  void Start(const Handle& handle, std::chrono::steady_clock::time_point deadline, std::function<void()> wake);

  // Arm and Start in one; with no partitions this is a plain timer (a produce's timeout).
  Handle Wait(const std::vector<storage::TopicPartition>& partitions, std::chrono::steady_clock::time_point deadline,
              std::function<void()> wake);

  // Drops a wait that has not fired yet; its `wake` is then not called (unless it already runs).
  void Cancel(const Handle& handle);

  // Ends the timer thread and wakes whoever still waits, once, on the caller's thread: a fetch
  // answers with what it reads, or waits again, and from then on new waits are dropped
  // unanswered (the broker is closing its connections; answering would only start another read
  // of closing logs). A wake reads the logs and the remote copy, so the broker stops this while
  // they are open (its destructor would be too late for the remote log, which is destroyed
  // first); idempotent, and called by the destructor.
  void Stop();

  // Something changed in `tp` (new data, a new log start, deletion): its waiters read again.
  void Notify(const storage::TopicPartition& tp);

 private:
  struct Waiter {
    std::function<void()> wake;
    std::vector<storage::TopicPartition> partitions;
    std::chrono::steady_clock::time_point deadline;
    bool started = false;   // Start was called: it has a wake and a deadline
    bool notified = false;  // an event came while armed but not started
    bool done = false;
  };
  void TimerLoop();
  // Removes `w` from every index; called with mu_ held.
  void Forget(const std::shared_ptr<Waiter>& w);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<storage::TopicPartition, std::set<std::shared_ptr<Waiter>>> by_partition_;
  std::set<std::shared_ptr<Waiter>> armed_;  // armed, not yet started: owned here until then
  std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<Waiter>> by_deadline_;
  std::vector<std::shared_ptr<Waiter>> ready_;  // woken by Notify, to run on the timer thread
  std::thread timer_;
};

}  // namespace chronik::ingest
