#pragma once

// The idempotent producer's bookkeeping for one partition, as Kafka keeps it (ProducerStateEntry):
// per producer id, its epoch and the sequence ranges and offsets of its last five batches. It
// turns a retried batch into its original offsets instead of a second copy, and refuses batches
// from a fenced epoch or out of sequence. Rebuilt from the log's batch headers when a partition
// is loaded. Not thread-safe: PartitionLog guards it with its own lock.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chronik::storage {

// Why a producer's batch was refused, for the Kafka error at the protocol edge
// (INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER); carried as a status payload.
enum class ProducerError { kInvalidEpoch, kOutOfOrderSequence };

std::optional<ProducerError> GetProducerError(const absl::Status& status);

// A kFailedPrecondition status carrying `error`.
absl::Status ProducerRefusal(ProducerError error, std::string message);

// What an append's batch says about its producer (producer_id -1: not an idempotent batch).
struct ProducedBatch {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t first_seq = -1;
  int32_t last_seq = -1;
};

struct ProducerBatch {
  int32_t first_seq = 0;
  int32_t last_seq = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t append_time_ms = -1;  // the LogAppendTime it was given, on topics that use it
};

// producer.id.expiration.ms (Kafka's default): a producer idle this long is forgotten.
inline constexpr int64_t kProducerIdExpirationMs = 86'400'000;

// The sequence of a batch's last record: Kafka's sequences wrap from INT32_MAX to 0.
int32_t LastSequence(int32_t base_sequence, int32_t last_offset_delta);

class ProducerStateTable {
 public:
  static constexpr size_t kBatchesKept = 5;

  // What to do with a batch of `pid`: append it (nullopt), or, for a retry of one of its last
  // five batches, answer with that batch's offsets and append nothing. Fails with a
  // ProducerError payload for an epoch older than the producer's (a fenced zombie) or a
  // sequence that does not follow the last one (a new epoch starts at 0; a producer the table
  // has not seen may start anywhere, as Kafka accepts).
  absl::StatusOr<std::optional<ProducerBatch>> Check(int64_t pid, int16_t epoch, int32_t first_seq,
                                                     int32_t last_seq) const;

  // Remembers a batch that was appended (or found in the log at load) at `when_ms`.
  void Record(int64_t pid, int16_t epoch, const ProducerBatch& batch, int64_t when_ms);

  // Forgets producers whose last batch is older than now_ms - expiration_ms; returns how many.
  size_t Expire(int64_t now_ms, int64_t expiration_ms);

  // A table of just these producers' entries (to check an append of several batches on).
  ProducerStateTable Subset(const std::vector<int64_t>& pids) const;

  size_t producers() const { return entries_.size(); }

 private:
  struct Entry {
    int16_t epoch = -1;
    int64_t last_append_ms = -1;
    std::deque<ProducerBatch> batches;  // oldest first, at most kBatchesKept
  };
  std::unordered_map<int64_t, Entry> entries_;
};

}  // namespace chronik::storage
