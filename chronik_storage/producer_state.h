#pragma once

// The idempotent producer's bookkeeping for one partition, as Kafka keeps it (ProducerStateEntry):
// per producer id, its epoch and the sequence ranges and offsets of its last five batches. It
// turns a retried batch into its original offsets instead of a second copy, and refuses batches
// from a fenced epoch or out of sequence. Rebuilt from the log's batch headers when a partition
// is loaded. Not thread-safe: PartitionLog guards it with its own lock.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
  bool transactional = false;
  // A transaction marker (control batch): commit or abort; it carries no sequence.
  std::optional<bool> marker_commit;
};

struct ProducerBatch {
  int32_t first_seq = 0;
  int32_t last_seq = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t append_time_ms = -1;  // the LogAppendTime it was given, on topics that use it
};

// A transaction that ended in this partition: its producer's first batch in the transaction and
// the marker that ended it.
struct CompletedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = 0;
  int64_t last_offset = 0;  // the marker's
  bool aborted = false;
};

// An open transaction of one producer in this partition (DescribeProducers).
struct ProducerInfo {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_append_ms = -1;
  int64_t txn_first_offset = -1;  // -1: no open transaction
};

// producer.id.expiration.ms's default (Kafka's): a producer idle this long is forgotten.
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

  // Remembers a batch that was appended (or found in the log at load) at `when_ms`. A
  // transactional batch opens the producer's transaction here unless one is open already.
  void Record(int64_t pid, int16_t epoch, const ProducerBatch& batch, int64_t when_ms, bool transactional = false);

  // Whether a commit or abort marker of `pid` at `epoch` may be written: not from an epoch older
  // than the producer's (the coordinator fenced it).
  absl::Status CheckMarker(int64_t pid, int16_t epoch) const;
  // Records a marker written at `marker_offset`: ends the producer's open transaction (returned,
  // nullopt if none was open) and moves it to `epoch` if that is newer.
  std::optional<CompletedTxn> CompleteTxn(int64_t pid, int16_t epoch, int64_t marker_offset, bool commit,
                                          int64_t when_ms);
  bool HasOpenTxn(int64_t pid) const {
    auto it = entries_.find(pid);
    return it != entries_.end() && it->second.txn_first_offset >= 0;
  }
  // The first offset of the oldest open transaction: the last stable offset, if below the high
  // watermark.
  std::optional<int64_t> FirstUnstableOffset() const;

  // Forgets producers whose last batch is older than now_ms - expiration_ms (never one with an
  // open transaction); returns how many.
  size_t Expire(int64_t now_ms, int64_t expiration_ms);

  std::vector<ProducerInfo> Producers() const;

  // The whole table as bytes (a producer snapshot file's content, CRC-32C protected), and back;
  // FromSnapshot fails on any damage.
  std::string Snapshot() const;
  static absl::StatusOr<ProducerStateTable> FromSnapshot(std::string_view data);

  // A table of just these producers' entries (to check an append of several batches on).
  ProducerStateTable Subset(const std::vector<int64_t>& pids) const;

  size_t producers() const { return entries_.size(); }

 private:
  struct Entry {
    int16_t epoch = -1;
    int64_t last_append_ms = -1;
    std::deque<ProducerBatch> batches;  // oldest first, at most kBatchesKept
    int64_t txn_first_offset = -1;
  };
  std::unordered_map<int64_t, Entry> entries_;
  // Open transactions: first offset -> producer id.
  std::map<int64_t, int64_t> open_txns_;
};

}  // namespace chronik::storage
