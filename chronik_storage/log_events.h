#pragma once

// What storage tells the rest of the broker about its logs: the seam that long-polling fetches,
// and later search indexing, tier uploads and replication, subscribe to instead of being called
// from the request handlers that cause the change.

#include <cstdint>
#include <functional>
#include <string_view>

#include "chronik_storage/types.h"

namespace chronik::storage {

enum class LogEventKind {
  // The high watermark moved up to `offset`: new data is readable (after its fsync with the
  // durable policy, after the write otherwise).
  kHighWatermarkMoved,
  // The log start offset moved up to `offset` (DeleteRecords, retention).
  kLogStartMoved,
  // A new active segment starts at `offset`; the one before it is closed.
  kSegmentRolled,
  // The segment starting at `offset`, of `bytes` bytes, was deleted (retention, DeleteRecords).
  kSegmentDeleted,
  // The whole partition was deleted (its topic was).
  kPartitionDeleted,
};

std::string_view LogEventKindName(LogEventKind kind);

struct LogEvent {
  LogEventKind kind;
  TopicPartition tp;
  Offset offset;
  int64_t bytes = 0;
};

// Called on the thread that made the change (the flusher, an appender, the janitor), never with a
// partition's data lock held (the flusher may hold that partition's sync lock, so a listener must
// not sync the partition itself). A listener must be quick and must not block: it hands work to
// its own threads.
using LogEventListener = std::function<void(const LogEvent&)>;

}  // namespace chronik::storage
