#pragma once

// Background maintenance on the janitor's own threads, never on the Kafka network threads:
// retention by time and size, rolling idle segments by segment.ms, expiry of idle idempotent
// producers, compaction of
// cleanup.policy=compact topics, expiry of committed offsets; later tier uploads and index
// cleanup. Each task runs at its own interval; a task's pass never overlaps itself.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/types.h"

namespace chronik::janitor {

// Bounds the bytes per second callers may read or write together: Acquire sleeps the calling
// thread until the bytes fit. The cleaner threads share one (log.cleaner.io.max.bytes.per.second),
// the copies to the object store another (remote.log.manager.copy.max.bytes.per.second, whose
// rate may change while the broker runs).
class IoThrottle {
 public:
  // <= 0 or infinite: no limit.
  explicit IoThrottle(double bytes_per_second);
  // False once Cancel was called (at once, or as soon as a sleep is interrupted): stop working.
  // Adds the time it slept to *waited when given.
  bool Acquire(int64_t bytes, std::chrono::nanoseconds* waited = nullptr);
  void Cancel();
  // A new rate (a config altered while running), for callers sleeping in Acquire too: what the
  // old rate let through by now stays let through, and what is still owed goes at the new rate,
  // or at once without one. The same rate changes nothing.
  void SetRate(double bytes_per_second);
  // Total time Acquire slept, for logs and tests.
  std::chrono::nanoseconds slept() const;
  // Callers sleeping in Acquire now.
  int waiting() const;

 private:
  // When the bytes up to `end` (counted as rebased_ + window bytes) are let through at the rate.
  std::chrono::steady_clock::time_point DueLocked(double end) const;

  mutable std::mutex mu_;
  double rate_;
  uint64_t rate_changes_ = 0;
  std::condition_variable wake_cv_;  // Cancel and SetRate
  bool cancelled_ = false;
  // Bytes acquired since window_start_, which the rate lets through from then on; rebased_ counts
  // those of earlier windows (a new window starts after a second of silence and at a new rate).
  std::chrono::steady_clock::time_point window_start_;
  double window_bytes_ = 0;
  double rebased_ = 0;
  std::chrono::nanoseconds slept_{0};
  int waiting_ = 0;
};

// What one pass of the log tasks did, for logs and tests.
struct LogPassStats {
  int segments_rolled = 0;
  int producers_expired = 0;
  int segments_deleted = 0;
  int64_t bytes_deleted = 0;
  int partitions_compacted = 0;
  int64_t records_removed = 0;
};

struct JanitorOptions {
  int64_t retention_check_interval_ms = 300000;  // log.retention.check.interval.ms
  bool cleaner_enable = true;                    // log.cleaner.enable
  int64_t cleaner_backoff_ms = 15000;            // log.cleaner.backoff.ms
  double cleaner_io_max_bytes_per_second = 0;    // log.cleaner.io.max.bytes.per.second (0: none)
  // Wall clock in ms since the epoch; tests inject one.
  std::function<int64_t()> clock_ms;
  // Told what each scheduled retention and cleaner pass did (the janitor metrics).
  std::function<void(const LogPassStats&)> on_pass;
};


class Janitor {
 public:
  Janitor(storage::LogManager& logs, JanitorOptions options);
  ~Janitor();
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;

  // Adds a periodic task (offset expiry, transaction timeouts) to the scheduler thread. Before Start.
  void Schedule(std::string name, int64_t interval_ms, std::function<void(int64_t now_ms)> task);
  // The same on a thread of the task's own: for work that waits on something slow (an object
  // store's uploads or backups), so that it never holds up retention and the scheduler's tasks.
  // kIdle runs that thread only on a core nothing else wants (SCHED_IDLE), for work that trails
  // the log and must not take the CPU from produce and fetch.
  enum class Priority { kNormal, kIdle };
  void ScheduleOnOwnThread(std::string name, int64_t interval_ms, std::function<void(int64_t now_ms)> task,
                           Priority priority = Priority::kNormal);

  // Starts the scheduler thread (retention and rolling) and the cleaner thread (compaction).
  void Start();
  // The compaction passes' throttle (log.cleaner.io.max.bytes.per.second), whose rate may be set
  // while they run.
  IoThrottle& cleaner_throttle() { return throttle_; }
  // Stops both after the pass in progress; idempotent.
  void Stop();

  // One pass of retention and idle rolling over every partition, now, on the caller's thread.
  LogPassStats RunRetention(int64_t now_ms);
  // One compaction pass over every partition that needs one, now, on the caller's thread.
  LogPassStats RunCleaner(int64_t now_ms);

 private:
  void Report(const LogPassStats& stats) const {
    if (options_.on_pass) options_.on_pass(stats);
  }

  struct Task {
    std::string name;
    int64_t interval_ms;
    std::function<void(int64_t)> run;
    std::chrono::steady_clock::time_point next;
  };
  // Per compacted partition: how far the last pass cleaned, and when a kept tombstone expires.
  struct CleanerState {
    int64_t cleaned_up_to = 0;
    int64_t next_delete_horizon_ms = -1;
    friend bool operator==(const CleanerState&, const CleanerState&) = default;
  };

  void Loop(std::vector<Task>* tasks);
  // The cleaner's progress per partition survives restarts in <data-dir>/cleaner-offset-checkpoint
  // (as Kafka's does), so a restart does not recompact every log from the start. Advisory: a
  // missing or unreadable file only means more work.
  void LoadCleanerCheckpoint();
  void WriteCleanerCheckpoint() const;
  std::string CleanerCheckpointPath() const;
  int64_t Now() const;
  // Whether `log` has enough dirty bytes (min.cleanable.dirty.ratio) or a tombstone due.
  bool NeedsCleaning(const storage::PartitionLog& log, const CleanerState& state, int64_t now_ms) const;

  storage::LogManager& logs_;
  const JanitorOptions options_;
  IoThrottle throttle_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<Task> scheduler_tasks_;
  std::vector<Task> cleaner_tasks_;
  struct SoloTask {
    std::vector<Task> tasks;  // the one task, in the shape Loop takes
    Priority priority;
  };
  std::deque<SoloTask> solo_tasks_;  // on a thread each
  std::vector<std::thread> threads_;

  std::mutex cleaner_mu_;  // guards cleaner_state_, held for a whole cleaner pass
  std::map<storage::TopicPartition, CleanerState> cleaner_state_;
};

}  // namespace chronik::janitor
