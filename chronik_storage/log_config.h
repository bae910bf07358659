#pragma once

// Per-topic log settings, with Kafka's names and defaults.

#include <cstdint>
#include <limits>
#include <optional>

namespace chronik::storage {

inline constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;

struct LogConfig {
  // segment.bytes: roll when the active segment would grow past this (capped at INT32_MAX, since
  // index positions are int32). A single batch larger than this still goes into a fresh segment.
  int64_t segment_bytes = 1LL << 30;
  // segment.ms: roll when this long has passed since the active segment's first append.
  int64_t segment_ms = 7 * kDayMs;
  // segment.index.bytes: the largest offset or time index of one segment; a full index rolls.
  int32_t segment_index_bytes = 10 * 1024 * 1024;
  // index.interval.bytes: one offset and one time index entry per this many bytes of log.
  int32_t index_interval_bytes = 4096;

  // flush.messages and flush.ms. Both unset (the default) is the durable policy: an append is
  // acknowledged only after its data is fdatasync'd, and the high watermark is the durable end.
  // Setting either makes appends acknowledged right after write(); the flusher then syncs when
  // this many messages are unsynced or this long has passed since the last sync, and the high
  // watermark is the log end offset.
  std::optional<int64_t> flush_messages;
  std::optional<int64_t> flush_ms;

  // cleanup.policy: "delete" (the default), "compact", or both ("compact,delete"). With delete,
  // ApplyRetention removes old segments by retention.ms and retention.bytes; without it they apply
  // to nothing and only compaction (PartitionLog::Compact) removes records.
  bool cleanup_delete = true;
  bool cleanup_compact = false;

  // retention.ms (-1: keep forever) and retention.bytes (-1: no size limit). Only with
  // cleanup.policy including delete.
  int64_t retention_ms = 7 * kDayMs;
  int64_t retention_bytes = -1;

  // delete.retention.ms: how long a tombstone (a record with a key and a null value) stays after
  // the compaction pass that first saw it, so consumers reading the log get to see the delete.
  int64_t delete_retention_ms = kDayMs;
  // min.compaction.lag.ms: records in batches younger than this (by the batch's max timestamp)
  // are never removed by compaction.
  int64_t min_compaction_lag_ms = 0;
  // min.cleanable.dirty.ratio: for the scheduler deciding when to call Compact; Compact itself
  // does not look at it.
  double min_cleanable_dirty_ratio = 0.5;
  // max.compaction.lag.ms: the scheduler compacts a log whose oldest uncleaned closed segment
  // holds records this old, whatever its dirty ratio.
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();

  // remote.storage.enable (KIP-405): rolled segments are copied to the object store, and local
  // segments are deleted only once copied, by local.retention.ms and local.retention.bytes (-2:
  // as retention.*); retention.* then govern the remote copy (RemoteLogManager).
  bool remote_storage = false;
  int64_t local_retention_ms = -2;
  int64_t local_retention_bytes = -2;
  int64_t LocalRetentionMs() const { return local_retention_ms == -2 ? retention_ms : local_retention_ms; }
  int64_t LocalRetentionBytes() const { return local_retention_bytes == -2 ? retention_bytes : local_retention_bytes; }

  // max.message.bytes: the largest batch Append accepts.
  int32_t max_message_bytes = 1048588;

  // message.timestamp.type=LogAppendTime: the broker stamps each batch with its append time.
  bool log_append_time = false;

  bool durable() const { return !flush_messages.has_value() && !flush_ms.has_value(); }

  // How old the active segment may get before it rolls: segment.ms, and for a compacted topic at
  // most max.compaction.lag.ms, since the active segment is never cleaned (as Kafka rolls).
  int64_t roll_ms() const {
    return cleanup_compact && max_compaction_lag_ms < segment_ms ? max_compaction_lag_ms : segment_ms;
  }
};

}  // namespace chronik::storage
