#pragma once

// Owns a data directory: its lock, every partition log in it, recovery at open, the group-commit
// flusher thread, the offsets checkpoint and the clean-shutdown marker. See README.md for the
// directory layout and the durability design.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_config.h"
#include "chronik_storage/log_events.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/types.h"

namespace chronik::storage {

// File names inside the data directory.
inline constexpr char kLockFileName[] = ".lock";
inline constexpr char kCleanShutdownFileName[] = ".clean-shutdown";
inline constexpr char kCheckpointFileName[] = "recovery-point-offset-checkpoint";

// What Open did to bring the logs back.
struct RecoveryStats {
  bool clean_shutdown = false;
  int partitions = 0;
  int segments_loaded = 0;
  int segments_scanned = 0;   // read and CRC-checked batch by batch
  int segments_deleted = 0;   // after a truncation point
  int indexes_rebuilt = 0;    // missing or damaged index files
  int producer_snapshots_used = 0;
  int64_t producer_batches_replayed = 0;  // batch headers read to rebuild producer state
  int64_t bytes_scanned = 0;
  int64_t bytes_truncated = 0;
  int64_t duration_us = 0;
};

struct LogManagerStats {
  uint64_t fdatasync_calls = 0;
  uint64_t fsync_calls = 0;  // index files, directories, checkpoint, marker
  uint64_t sync_rounds = 0;  // flusher rounds that synced something
  uint64_t appended_batches = 0;
  uint64_t appended_bytes = 0;
};

class LogManager final : private internal::LogHost {
 public:
  struct Options {
    // Config of partitions found on disk at Open (the metadata store supplies the real ones).
    LogConfig default_config;
    std::function<LogConfig(const TopicPartition&)> config_for;
    // Wall clock in ms since the epoch (segment.ms, LogAppendTime). Tests inject one.
    std::function<int64_t()> clock_ms;
    // The write path's disk seam; tests inject failures. Default: plain POSIX.
    std::shared_ptr<FileOps> file_ops;
    // How often the flusher rewrites the checkpoint after recovery points move past a segment.
    int64_t checkpoint_interval_ms = 60'000;
    // Threads that fdatasync partitions of one group-commit round concurrently, besides the
    // flusher itself. Concurrent fdatasyncs share journal commits (ext4: 1 thread ~3.9k/s,
    // 8 threads ~14k/s, 64 threads ~40k/s on the development VM), so a round over many partitions
    // costs far less than one fdatasync per partition back to back. 0: the flusher syncs alone.
    int sync_threads = 7;
    // producer.id.expiration.ms: an idempotent producer idle this long is forgotten (and the
    // producer state a partition rebuilds at load reaches back this far without a snapshot).
    int64_t producer_id_expiration_ms = kProducerIdExpirationMs;
    // Told how long each fdatasync of a log file took, and how many appends each partition sync
    // made durable at once (the storage metrics). Called on the flusher's threads; must be cheap.
    std::function<void(int64_t nanos)> on_fdatasync;
    std::function<void(int64_t appends)> on_group_commit;
  };

  // Creates `data_dir` if needed, takes its lock (kFailedPrecondition if another process or
  // LogManager holds it), recovers every partition directory, removes the clean-shutdown marker
  // and starts the flusher. Logs what recovery did.
  static absl::StatusOr<std::unique_ptr<LogManager>> Open(const std::string& data_dir, Options options);

  // Close()s if still open.
  ~LogManager() override;
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // A new, empty partition log at offset 0. kAlreadyExists if it exists; kInvalidArgument for a
  // topic name Kafka would not accept.
  absl::StatusOr<std::shared_ptr<PartitionLog>> Create(const TopicPartition& tp, const LogConfig& config);
  // nullptr if there is no such partition.
  std::shared_ptr<PartitionLog> Get(const TopicPartition& tp) const;
  // Each partition's files hard-linked into `<to>/<partition directory>` (PartitionLog::LinkFiles),
  // listed by their paths relative to `to` (and so to the data directory) with their sizes, and a
  // checkpoint file in `to` with each partition's recovery point and log start as of its links
  // (not as the data directory's checkpoint, written later, has them).
  absl::Status LinkPartitionFiles(const std::string& to, std::vector<std::pair<std::string, int64_t>>* files) const;
  std::vector<TopicPartition> partitions() const;
  // Deletes the partition's directory and everything in it. Pending appends fail; readers holding
  // slices keep reading the unlinked files.
  absl::Status Delete(const TopicPartition& tp);

  // Syncs every partition, fails appends still pending, writes indexes, the checkpoint and (if
  // every partition closed cleanly) the clean-shutdown marker, and releases the lock. Logs must not
  // be used afterwards (their methods fail with kFailedPrecondition). Idempotent.
  absl::Status Close();

  RecoveryStats last_recovery() const { return recovery_; }
  LogManagerStats stats() const;
  const std::string& data_dir() const { return data_dir_; }

  // Writes the offsets checkpoint now (normally done by the flusher, DeleteRecords and Close).
  absl::Status WriteCheckpoint() override;

  // Adds a subscriber to every partition's events (see log_events.h). Subscribers are added while
  // the broker starts, before it serves requests, and stay until the manager is destroyed.
  void Subscribe(LogEventListener listener);

 private:
  LogManager(std::string data_dir, Options options, int lock_fd);

  // One partition's line of the checkpoint file (kCheckpointFileName), and the file's text.
  struct CheckpointLine {
    TopicPartition tp;
    PartitionCheckpoint values;
  };
  static std::string CheckpointText(const std::vector<CheckpointLine>& lines);

  // internal::LogHost
  FileOps& file_ops() override { return *options_.file_ops; }
  int64_t NowMs() override;
  int64_t ProducerIdExpirationMs() const override { return options_.producer_id_expiration_ms; }
  void RequestSync(std::shared_ptr<PartitionLog> log) override;
  void CountFdatasync(int64_t nanos) override {
    fdatasync_calls_.fetch_add(1, std::memory_order_relaxed);
    if (options_.on_fdatasync) options_.on_fdatasync(nanos);
  }
  void CountGroupCommit(int64_t appends) override {
    if (options_.on_group_commit) options_.on_group_commit(appends);
  }
  void CountFsync() override { fsync_calls_.fetch_add(1, std::memory_order_relaxed); }
  void CountAppend(int64_t batches, int64_t bytes) override {
    appended_batches_.fetch_add(static_cast<uint64_t>(batches), std::memory_order_relaxed);
    appended_bytes_.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed);
  }
  void Publish(const std::vector<LogEvent>& events) override;

  absl::Status Recover(bool clean_shutdown);
  void FlusherLoop();
  // Syncs every log of one round, spread over the flusher and the sync workers.
  void RunRound(const std::vector<std::shared_ptr<PartitionLog>>& logs);
  void SyncWorkerLoop();
  std::vector<std::shared_ptr<PartitionLog>> AllLogs() const;
  absl::Status SyncDataDir();

  const std::string data_dir_;
  Options options_;
  int lock_fd_;
  RecoveryStats recovery_;

  mutable absl::Mutex mu_;
  std::unordered_map<TopicPartition, std::shared_ptr<PartitionLog>> logs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex queue_mu_;
  std::vector<std::shared_ptr<PartitionLog>> queue_ ABSL_GUARDED_BY(queue_mu_);
  std::unordered_set<PartitionLog*> queued_ ABSL_GUARDED_BY(queue_mu_);
  bool stop_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread flusher_;

  absl::Mutex pool_mu_;
  std::vector<std::shared_ptr<PartitionLog>> round_ ABSL_GUARDED_BY(pool_mu_);
  size_t round_next_ ABSL_GUARDED_BY(pool_mu_) = 0;
  size_t round_pending_ ABSL_GUARDED_BY(pool_mu_) = 0;
  bool pool_stop_ ABSL_GUARDED_BY(pool_mu_) = false;
  std::vector<std::thread> sync_workers_;

  absl::Mutex checkpoint_mu_;

  mutable absl::Mutex listeners_mu_;
  std::vector<LogEventListener> listeners_ ABSL_GUARDED_BY(listeners_mu_);

  std::atomic<uint64_t> fdatasync_calls_{0};
  std::atomic<uint64_t> fsync_calls_{0};
  std::atomic<uint64_t> sync_rounds_{0};
  std::atomic<uint64_t> appended_batches_{0};
  std::atomic<uint64_t> appended_bytes_{0};
};

// Kafka's topic name rule: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".
bool IsValidTopicName(const std::string& topic);

}  // namespace chronik::storage
