#pragma once

// The log of one topic-partition: segments of v2 record batches that are themselves the
// write-ahead log. Appends validate, assign offsets in place and write under the partition's lock;
// the LogManager's flusher makes them durable (group commit) and completes their callbacks.
// Created, recovered and deleted through LogManager, which owns every PartitionLog.
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chronik_protocol/wire.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_config.h"
#include "chronik_storage/log_events.h"
#include "chronik_storage/producer_state.h"
#include "chronik_storage/segment.h"
#include "chronik_storage/types.h"

namespace chronik::storage {

struct AppendResult {
  Offset base_offset;  // of the first batch appended
  Offset last_offset;  // of the last record appended
  int64_t log_append_time_ms = -1;  // -1 unless the topic uses LogAppendTime
  Offset log_start_offset;
};

// Called exactly once: with the result when the append is durable by the topic's flush policy
// (from the flusher thread for the durable policy, inline from Append otherwise), or with the
// error. Must not block for long (it runs on the flusher thread) and must not call Append inline
// expecting the call to complete synchronously.
using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

// Asked whether a transactional batch of (producer id, epoch) may open a transaction here.
using TxnVerifier = std::function<absl::Status(int64_t producer_id, int16_t producer_epoch)>;

// A partition's offsets, read together.
struct LogBounds {
  Offset log_start_offset;  // of the local log
  Offset high_watermark;
  Offset last_stable_offset;  // <= high_watermark
  Offset log_end_offset;
  // The highest offset DeleteRecords was given. Never above log_start_offset, but may be below it:
  // a tiered partition's remote copy can still hold records there, which clients no longer see.
  Offset deleted_below;
};

// What the log manager's checkpoint file keeps of a partition.
struct PartitionCheckpoint {
  int64_t recovery_point = -1;  // < 0: unknown
  int64_t log_start_offset = 0;
  int64_t deleted_below = 0;  // LogBounds::deleted_below
};

struct ReadResult {
  // Whole batches, in offset order: at most one file range per segment, each keeping its segment
  // file open (a segment deleted or compacted meanwhile is still read whole). Fetch answers with
  // the ranges as they are (sendfile); records.Flatten() copies them for everyone else.
  protocol::Records records;
  LogBounds bounds;  // when the read was made
  // One past the last record of the batches returned (`from` if none).
  Offset next_offset;
};

struct TimestampAndOffset {
  int64_t timestamp = -1;
  Offset offset;
};

struct RetentionResult {
  int segments_deleted = 0;
  int64_t bytes_deleted = 0;
  Offset log_start_offset;
};

// What one PartitionLog::Compact pass did. Counts cover the segments it examined (the closed
// segments wholly below the high watermark), whether or not they were rewritten.
struct CompactionResult {
  int segments_examined = 0;
  int segments_cleaned = 0;  // rewritten and swapped in (a segment nothing changed in is left alone)
  int64_t batches_before = 0;
  int64_t batches_after = 0;
  int64_t records_before = 0;
  int64_t records_after = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  int64_t records_removed = 0;     // superseded by a later record with the same key, or tombstones
  int64_t tombstones_removed = 0;  // of records_removed, those with a null value
  int64_t distinct_keys = 0;       // in the whole log below the high watermark
  // The earliest delete horizon of a tombstone this pass kept (-1: none): a pass at or after it
  // removes that tombstone, so a scheduler runs one then even if nothing else got dirty.
  int64_t next_delete_horizon_ms = -1;
  // The end offset of the last segment examined, or the base offset of the first segment holding a
  // batch younger than min.compaction.lag.ms: what a scheduler may count as clean.
  Offset cleaned_up_to;
  int64_t batches_too_young = 0;  // copied as they were, for min.compaction.lag.ms
  int64_t duration_us = 0;
};

struct SegmentInfo {
  Offset base_offset;
  Offset next_offset;
  int64_t size_bytes = 0;
  int64_t max_timestamp = -1;
  size_t offset_index_entries = 0;
  size_t time_index_entries = 0;
};

class PartitionLog;

namespace internal {
// What a partition needs from its LogManager. Implemented by LogManager.
class LogHost {
 public:
  virtual ~LogHost() = default;
  virtual FileOps& file_ops() = 0;
  virtual int64_t NowMs() = 0;
  // producer.id.expiration.ms.
  virtual int64_t ProducerIdExpirationMs() const = 0;
  // Asks the flusher to sync this partition in its next round.
  virtual void RequestSync(std::shared_ptr<PartitionLog> log) = 0;
  // Persists every partition's recovery point and log start offset.
  virtual absl::Status WriteCheckpoint() = 0;
  // An fdatasync of a log file took `nanos`.
  virtual void CountFdatasync(int64_t nanos) = 0;
  // A partition's sync made `appends` appends durable at once (the group commit).
  virtual void CountGroupCommit(int64_t appends) = 0;
  virtual void CountFsync() = 0;
  virtual void CountAppend(int64_t batches, int64_t bytes) = 0;
  // Hands events to the subscribers; called with no partition lock held.
  virtual void Publish(const std::vector<LogEvent>& events) = 0;
};
// fdatasync(fd) through `ops`, counted and timed for `host`.
int TimedFDataSync(LogHost& host, FileOps& ops, int fd);
// Whether a control batch is a commit marker (false: an abort marker); an error for any other
// control record (KRaft's are not written to topic partitions).
absl::StatusOr<bool> MarkerIsCommit(const protocol::RecordBatchView& batch);
}  // namespace internal

class PartitionLog : public std::enable_shared_from_this<PartitionLog> {
 public:
  ~PartitionLog();

  const TopicPartition& topic_partition() const { return tp_; }
  // The partition's directory, <data-dir>/<topic>-<partition>.
  const std::string& dir() const { return dir_; }

  LogConfig config() const;
  // Takes effect for the next append, roll and retention pass.
  void UpdateConfig(const LogConfig& config);

  // Appends one or more v2 batches as one unit: validates every batch (CRC-32C, magic 2, size
  // limits) and, for an idempotent producer's batches, their epoch and sequence (see
  // producer_state.h: a retry of one of its last five batches is answered with the original
  // offsets, once they are durable, and not written again), assigns consecutive offsets in
  // place, stamps `epoch` (and LogAppendTime if the topic uses it) and writes them to the active
  // segment, rolling it first if needed. `done` runs once:
  // on error nothing was written; on success see AppendCallback.
  //
  // `verify`, if given, is asked under the partition lock about each transactional batch that
  // opens its producer's transaction here (KIP-890: is the partition in the producer's ongoing
  // transaction?); its error refuses the append. Under the lock, so that no marker can land
  // between the answer and the write.
  void Append(std::string batches, LeaderEpoch epoch, AppendCallback done, const TxnVerifier& verify = nullptr);

  // Whole batches starting with the one containing `from`, up to `max_bytes` (with `min_one_batch`
  // the first batch is returned even if larger, as Kafka does for the first partition of a fetch),
  // never at or past the high watermark nor `max_offset` (exclusive). An empty result if `from` is
  // at or past that limit but within the log. kOutOfRange if `from` is below the log start offset
  // or above the log end offset.
  absl::StatusOr<ReadResult> Read(Offset from, int64_t max_bytes, std::optional<Offset> max_offset = std::nullopt,
                                  bool min_one_batch = true) const;

  // Appends a transaction marker (a control batch) for `producer_id` ending its open transaction
  // here, as a transaction coordinator's WriteTxnMarkers does; refused (INVALID_PRODUCER_EPOCH)
  // if the producer has a newer epoch. An abort enters the segment's transaction index. `done` as
  // for Append.
  void AppendMarker(int64_t producer_id, int16_t producer_epoch, bool commit, int32_t coordinator_epoch,
                    AppendCallback done);

  LogBounds bounds() const;
  // The last stable offset: below it every transaction is decided (the first offset of the
  // oldest open transaction, or the high watermark).
  Offset last_stable_offset() const;
  // The aborted transactions a read_committed reader of [from, upper) needs to skip the
  // aborted batches in that range: those ending at or after `from` and beginning below `upper`.
  std::vector<AbortedTxn> AbortedTransactions(Offset from, Offset upper) const;
  // The producers this partition knows (DescribeProducers).
  std::vector<ProducerInfo> Producers() const;

  Offset log_start_offset() const;
  // The durable end with the durable policy, the log end offset otherwise.
  Offset high_watermark() const;
  Offset log_end_offset() const;
  // Everything below this offset is known to be fsync'd.
  Offset durable_offset() const;
  // With remote storage, everything below this offset is in the object store (as its manifest
  // durably says): retention deletes no local segment that is not wholly below it.
  void SetTieredEnd(Offset offset);
  // For a log that has never held a record: starts it at `offset` instead (a tiered partition whose
  // local disk was lost goes on after its remote copy), with the producers of `producer_snapshot`
  // (a snapshot file's content as of `offset`; none if empty or damaged). FailedPrecondition if it
  // holds records.
  absl::Status StartEmptyAt(Offset offset, std::string_view producer_snapshot = {});

  // ListOffsets by timestamp: the first record (below the high watermark) whose timestamp is >=
  // `timestamp`, and that timestamp; nullopt if there is none.
  absl::StatusOr<std::optional<TimestampAndOffset>> OffsetForTimestamp(int64_t timestamp) const;
  // ListOffsets MAX_TIMESTAMP: the first record holding the largest timestamp below the HW.
  absl::StatusOr<std::optional<TimestampAndOffset>> OffsetOfMaxTimestamp() const;

  // DeleteRecords: advances the log start offset to `offset` (kOutOfRange above the high
  // watermark; a lower offset than the current start is a no-op) and deletes the segments that lie
  // wholly below it. `offset` is also kept as LogBounds::deleted_below, which a tiered partition's
  // remote copy below the local log answers to. Both are checkpointed before this returns.
  absl::Status DeleteRecordsBefore(Offset offset);

  // Deletes the oldest segments while the segment's largest timestamp is older than
  // now_ms - retention.ms, or while the log without it is still at least retention.bytes (both
  // only when cleanup.policy includes delete), and segments wholly below the log start offset.
  // Never deletes the active segment nor data at or above the high watermark.
  absl::StatusOr<RetentionResult> ApplyRetention(int64_t now_ms);

  // Rolls the active segment when it holds data, all of it below the high watermark, and its first
  // append is segment.ms old or older: an idle partition's last segment otherwise never closes, so
  // retention (which never deletes the active segment) and compaction never reach it. Returns
  // whether it rolled.
  absl::StatusOr<bool> RollIfIdle(int64_t now_ms);

  // Forgets idempotent producers idle for producer.id.expiration.ms (LogManager::Options), as
  // Kafka does; their next batch is taken as a new producer's. Returns how many.
  size_t ExpireProducers(int64_t now_ms);

  // Log compaction (cleanup.policy=compact; kFailedPrecondition otherwise). Rewrites each closed
  // segment wholly below the high watermark keeping, per key, only the record with the highest
  // offset in the whole log below the high watermark (the active segment included); see
  // compaction.h for the rules (null keys, tombstones and delete.retention.ms,
  // min.compaction.lag.ms, transactional and control batches) and the crash-safe swap. Offsets,
  // the log start offset, high watermark and log end offset do not change. Appends and reads go
  // on meanwhile: the partition lock is held only to snapshot the segment list and to swap each
  // cleaned segment in; readers holding slices of a replaced segment keep reading the old file.
  // One pass at a time per partition (concurrent calls wait). Must not run past
  // LogManager::Close.
  // `throttle`, if given, is called with the bytes about to be read or written before each batch;
  // it may sleep (log.cleaner.io.max.bytes.per.second), and returning false stops the pass with
  // kCancelled (the broker is shutting down), leaving the log as it was.
  absl::StatusOr<CompactionResult> Compact(int64_t now_ms, const std::function<bool(int64_t)>& throttle = nullptr);

  // OK while the partition accepts appends; otherwise why not (offline after an I/O error that
  // could not be undone, deleted, or closed).
  absl::Status status() const;

  std::vector<SegmentInfo> segments() const;
  int64_t size_bytes() const;

  // Hard-links every file of the partition's directory into `to` and lists each with its size, all
  // while appends wait: the files as they are at one moment, the active segment ending on a batch,
  // and kept whole however retention, compaction or appends change the partition afterwards. For
  // backups of a running broker; files mid-compaction are left out.
  // `*checkpoint` gets the checkpoint's values at that moment.
  absl::Status LinkFiles(const std::string& to, std::vector<std::pair<std::string, int64_t>>* files,
                         PartitionCheckpoint* checkpoint) const;

 private:
  friend class LogManager;

  struct Waiter {
    int64_t end_offset;  // durable once durable_offset_ >= this
    AppendResult result;
    AppendCallback done;
  };

  // What one flusher round found to sync for this partition.
  struct SyncPlan {
    std::vector<std::shared_ptr<Segment>> rolled;  // log and index files to sync in full
    std::shared_ptr<SegmentFile> active;
    bool sync_dir = false;
    int64_t target = 0;  // log end offset when the plan was made
    int64_t messages = 0;
  };

  PartitionLog(internal::LogHost* host, TopicPartition tp, std::string dir, const LogConfig& config);

  // Creates an empty log in a new directory.
  absl::Status InitNew(int64_t base_offset);
  // Loads an existing directory with the checkpoint's values for it.
  struct LoadStats {
    int segments_loaded = 0;
    int segments_scanned = 0;
    int segments_deleted = 0;
    int indexes_rebuilt = 0;
    int producer_snapshots_used = 0;
    int64_t producer_batches_replayed = 0;
    int64_t bytes_scanned = 0;
    int64_t bytes_truncated = 0;
  };
  absl::Status Load(bool clean_shutdown, const PartitionCheckpoint& checkpoint, LoadStats* stats);

  // Flusher side. Sync() runs one group-commit round for this partition and completes waiters.
  void Sync(bool force);
  // Whether a non-durable policy wants a sync now (flush.ms elapsed with unsynced data).
  bool NeedsTimedSync(int64_t steady_now_ms) const;
  // Flushes and writes the active segment's indexes; leaves the log closed to appends.
  absl::Status CloseLog();
  // Fails pending waiters and refuses further appends.
  void MarkDeleted();
  PartitionCheckpoint CheckpointValues() const;
  PartitionCheckpoint CheckpointValuesLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether the recovery point moved past a segment since the last checkpoint (and resets it).
  bool TakeCheckpointDirty();

  absl::Status RollLocked(int64_t now_ms, std::vector<LogEvent>* events) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the producers' state as of the log end offset to <offset>.snapshot (at roll and at
  // close), keeping the newest two; a failure costs recovery time, not data, so it only warns.
  void WriteProducerSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ShouldRollLocked(int64_t incoming_bytes, int64_t incoming_last_offset, int64_t now_ms) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void GoOfflineLocked(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t HighWatermarkLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  LogBounds BoundsLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The producer checks of an append (see Append): nullopt to write it, or the original of a
  // retried single batch.
  absl::StatusOr<std::optional<ProducerBatch>> CheckProducersLocked(const std::vector<ProducedBatch>& batches) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Unlinks the segments wholly below `offset` and moves them to `doomed`: the caller drops them
  // after releasing mu_, since closing an unlinked segment frees its pages (milliseconds for a
  // full one) and appends wait on mu_.
  void DeleteSegmentsBelowLocked(int64_t offset, RetentionResult* result, std::vector<LogEvent>* events,
                                 std::vector<std::shared_ptr<Segment>>* doomed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  LogEvent Event(LogEventKind kind, int64_t offset, int64_t bytes = 0) const {
    return LogEvent{kind, tp_, Offset(offset), bytes};
  }
  const Segment* SegmentForLocked(int64_t offset) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Compaction (compaction.cc): renames the synced cleaned copy of `old` over it and replaces it
  // in segments_, unless retention deleted it meanwhile or the log went offline (then the copy is
  // discarded and *swapped is false).
  absl::Status SwapInCleaned(const std::shared_ptr<Segment>& old, std::unique_ptr<Segment> cleaned, bool* swapped);

  absl::StatusOr<std::optional<TimestampAndOffset>> FindInBatch(const Segment& seg, int64_t position,
                                                                int64_t size, int64_t timestamp,
                                                                bool exact) const;

  internal::LogHost* const host_;
  const TopicPartition tp_;
  const std::string dir_;

  mutable absl::Mutex mu_;
  LogConfig config_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);  // by base offset; back() is active
  int64_t log_start_offset_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t tiered_end_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t deleted_below_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t log_end_offset_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t durable_offset_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t recovery_point_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unsynced_messages_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_sync_steady_ms_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::shared_ptr<Segment>> rolled_unsynced_ ABSL_GUARDED_BY(mu_);
  bool dir_unsynced_ ABSL_GUARDED_BY(mu_) = false;
  bool checkpoint_dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Waiter> waiters_ ABSL_GUARDED_BY(mu_);  // by end_offset
  ProducerStateTable producers_ ABSL_GUARDED_BY(mu_);
  // Offsets of the producer snapshot files on disk (<offset>.snapshot), oldest first.
  std::deque<int64_t> snapshots_ ABSL_GUARDED_BY(mu_);
  absl::Status offline_ ABSL_GUARDED_BY(mu_);  // non-OK once appends are refused
  bool sync_failed_ ABSL_GUARDED_BY(mu_) = false;

  // Serializes flusher rounds for this partition (the flusher and CloseLog).
  absl::Mutex sync_mu_;
  // Serializes compaction passes; taken before mu_, never while holding it.
  absl::Mutex compact_mu_ ABSL_ACQUIRED_BEFORE(mu_);
};

}  // namespace chronik::storage
