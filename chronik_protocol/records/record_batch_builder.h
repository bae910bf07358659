#pragma once

// Writes v2 record batches. The broker itself appends client batches as they arrive; this is for
// what it must write on its own: control markers, converted (up/down) data, and tests.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/records/compression.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_types.h"

namespace chronik::protocol {

class RecordBatchBuilder {
 public:
  struct Options {
    int64_t base_offset = 0;
    int32_t partition_leader_epoch = -1;
    CompressionType compression = CompressionType::kNone;
    CompressOptions compress_options;
    TimestampType timestamp_type = TimestampType::kCreateTime;
    // With kLogAppendTime, the batch's maxTimestamp (and so every record's timestamp).
    int64_t log_append_time_ms = kNoTimestamp;
    bool transactional = false;
    bool control = false;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    // Sets the delete-horizon bit and stores the horizon as baseTimestamp (KIP-534).
    std::optional<int64_t> delete_horizon_ms;
  };

  explicit RecordBatchBuilder(Options options);

  // Appends a record at next_offset(). Keys, values and headers are copied.
  absl::Status Append(int64_t timestamp, std::optional<std::string_view> key, std::optional<std::string_view> value,
                      std::span<const RecordHeader> headers = {});

  // Appends a record at an explicit offset, for data with gaps (compacted logs being converted).
  // Offsets must increase, start at or after base_offset and stay within int32 of it.
  absl::Status AppendWithOffset(int64_t offset, int64_t timestamp, std::optional<std::string_view> key,
                                std::optional<std::string_view> value, std::span<const RecordHeader> headers = {});

  int32_t record_count() const { return record_count_; }
  bool empty() const { return record_count_ == 0; }
  int64_t next_offset() const;
  // Header plus records before compression: what a size limit for an open batch should look at.
  size_t uncompressed_size_bytes() const { return batch_v2::kHeaderSize + records_.size(); }

  // Appends the finished batch to `*out`. Fails if there are no records or the batch would exceed
  // Kafka's int32 batchLength. The builder is unchanged, so more records may follow.
  absl::Status BuildAppend(std::string* out) const;
  absl::StatusOr<std::string> Build() const;

 private:
  Options options_;
  std::string records_;  // encoded records, uncompressed
  int32_t record_count_ = 0;
  int64_t last_offset_ = 0;
  int64_t base_timestamp_ = kNoTimestamp;
  int64_t max_timestamp_ = kNoTimestamp;
};

// A control batch holding one commit or abort marker, as a transaction coordinator's WriteTxnMarkers
// makes the partition leader append.
struct EndTransactionMarkerBatch {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  ControlRecordType type = ControlRecordType::kCommit;
  int32_t coordinator_epoch = 0;
  int64_t timestamp_ms = kNoTimestamp;
};

absl::StatusOr<std::string> BuildEndTransactionMarkerBatch(const EndTransactionMarkerBatch& marker);

}  // namespace chronik::protocol
