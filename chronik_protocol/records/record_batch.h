#pragma once

// Record batches, magic 2 (KIP-98): a zero-copy view that validates the 61-byte header and the
// CRC-32C, a mutable view for the fields a broker rewrites in place, and a record reader that
// yields views into the batch (or into a buffer it owns, for compressed batches).
//
// Errors: kInvalidArgument for malformed data, kDataLoss for a CRC mismatch, kUnimplemented for
// an undefined compression id, kResourceExhausted when decompression exceeds its limit.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/records/compression.h"
#include "chronik_protocol/records/record_types.h"

namespace chronik::protocol {

// Attribute bits of a v2 batch (bits 0-2 are the CompressionType).
inline constexpr int16_t kBatchTimestampTypeBit = 0x08;
inline constexpr int16_t kBatchTransactionalBit = 0x10;
inline constexpr int16_t kBatchControlBit = 0x20;
inline constexpr int16_t kBatchDeleteHorizonBit = 0x40;

// Byte offsets of the v2 batch header fields.
namespace batch_v2 {
inline constexpr size_t kBaseOffsetOffset = 0;
inline constexpr size_t kBatchLengthOffset = 8;
inline constexpr size_t kPartitionLeaderEpochOffset = 12;
inline constexpr size_t kMagicOffset = 16;
inline constexpr size_t kCrcOffset = 17;
inline constexpr size_t kAttributesOffset = 21;  // the CRC covers from here to the end
inline constexpr size_t kLastOffsetDeltaOffset = 23;
inline constexpr size_t kBaseTimestampOffset = 27;
inline constexpr size_t kMaxTimestampOffset = 35;
inline constexpr size_t kProducerIdOffset = 43;
inline constexpr size_t kProducerEpochOffset = 51;
inline constexpr size_t kBaseSequenceOffset = 53;
inline constexpr size_t kRecordsCountOffset = 57;
inline constexpr size_t kHeaderSize = 61;
// baseOffset and batchLength precede what batchLength counts.
inline constexpr size_t kLogOverhead = 12;
inline constexpr int8_t kMagic = 2;
}  // namespace batch_v2

// A read-only view of one v2 batch. Holds no copy: the viewed bytes must outlive it.
class RecordBatchView {
 public:
  // Parses the batch at the start of `bytes`; bytes after it are ignored (bytes() is exactly the
  // batch). Checks the size fields, magic, compression id, record count and (by default) the CRC.
  static absl::StatusOr<RecordBatchView> Parse(std::string_view bytes, CrcCheck crc_check = CrcCheck::kVerify);

  std::string_view bytes() const { return bytes_; }
  size_t size_bytes() const { return bytes_.size(); }
  // The records section after the header, compressed when compression() is not kNone.
  std::string_view records_data() const { return bytes_.substr(batch_v2::kHeaderSize); }

  int64_t base_offset() const;
  int32_t batch_length() const;
  int32_t partition_leader_epoch() const;
  int8_t magic() const;
  uint32_t crc() const;
  int16_t attributes() const;
  int32_t last_offset_delta() const;
  int64_t base_timestamp() const;
  int64_t max_timestamp() const;
  int64_t producer_id() const;
  int16_t producer_epoch() const;
  int32_t base_sequence() const;
  int32_t records_count() const;

  CompressionType compression() const;
  TimestampType timestamp_type() const;
  bool is_transactional() const;
  bool is_control() const;
  bool has_delete_horizon() const;
  // KIP-534: with the delete-horizon bit set, baseTimestamp carries the horizon.
  std::optional<int64_t> delete_horizon_ms() const;

  int64_t last_offset() const;  // base_offset + last_offset_delta
  int64_t next_offset() const;  // last_offset + 1

  // CRC-32C of attributes..end, as the crc field should hold it.
  uint32_t ComputeCrc() const;

 private:
  explicit RecordBatchView(std::string_view bytes) : bytes_(bytes) {}

  std::string_view bytes_;
};

// The same, over a writable buffer, for the fields a broker assigns when appending to the log.
class MutableRecordBatchView {
 public:
  static absl::StatusOr<MutableRecordBatchView> Parse(char* data, size_t size,
                                                      CrcCheck crc_check = CrcCheck::kVerify);

  RecordBatchView view() const;

  // baseOffset and partitionLeaderEpoch lie outside the CRC (by Kafka's design, so offsets can be
  // assigned in place), so these do not touch the CRC.
  void SetBaseOffset(int64_t base_offset);
  void SetPartitionLeaderEpoch(int32_t epoch);

  // Sets the timestamp-type bit and maxTimestamp, then recomputes the CRC. With kLogAppendTime
  // every record's timestamp reads as `max_timestamp` (the broker's append time).
  void SetMaxTimestamp(TimestampType type, int64_t max_timestamp);

  void RecomputeCrc();

 private:
  MutableRecordBatchView(char* data, size_t size) : data_(data), size_(size) {}

  char* data_;
  size_t size_;
};

// Iterates the headers of a record that the reader already validated.
class RecordHeaderList {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = RecordHeader;
    using difference_type = std::ptrdiff_t;
    using pointer = const RecordHeader*;
    using reference = const RecordHeader&;

    Iterator() = default;
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.remaining_ == b.remaining_; }

   private:
    friend class RecordHeaderList;
    Iterator(std::string_view data, int32_t count);
    void Decode();

    std::string_view data_;
    int32_t remaining_ = 0;
    RecordHeader current_;
  };

  RecordHeaderList() = default;
  RecordHeaderList(std::string_view encoded, int32_t count) : encoded_(encoded), count_(count) {}

  int32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  Iterator begin() const { return Iterator(encoded_, count_); }
  Iterator end() const { return Iterator(); }
  // The headers as encoded (without the count), for copying them through unchanged.
  std::string_view encoded() const { return encoded_; }

 private:
  std::string_view encoded_;
  int32_t count_ = 0;
};

// One decoded record. All views point into the batch or into the RecordReader's buffer.
struct RecordView {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  int64_t offset = 0;     // base_offset + offset_delta
  int64_t timestamp = 0;  // base_timestamp + delta, or max_timestamp for LogAppendTime batches
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  RecordHeaderList headers;
  std::string_view encoded;  // the whole record including its length prefix
};

// Decodes the records of one batch, decompressing first if needed. Views it yields stay valid while
// the reader (or one it was moved into) and the batch's bytes are alive.
//
//   absl::StatusOr<RecordReader> reader = RecordReader::Create(batch, limit);
//   if (!reader.ok()) return reader.status();
//   RecordView record;
//   while (reader->Next(&record)) { ... }
//   if (!reader->status().ok()) return reader->status();
class RecordReader {
 public:
  // `max_decompressed_bytes` bounds the decompressed records section (ignored when uncompressed).
  static absl::StatusOr<RecordReader> Create(const RecordBatchView& batch, size_t max_decompressed_bytes);

  // False at the end or on error; status() tells which. The end is reached after exactly
  // records_count() records, and bytes left over after them are an error.
  [[nodiscard]] bool Next(RecordView* record);
  const absl::Status& status() const { return status_; }

  const RecordBatchView& batch() const { return batch_; }
  int32_t records_read() const { return read_; }
  // The uncompressed records section.
  std::string_view records_data() const { return data_; }

 private:
  RecordReader(const RecordBatchView& batch, std::unique_ptr<std::string> buffer, std::string_view data);
  bool Fail(absl::Status status);

  RecordBatchView batch_;
  // Behind a pointer so that views into it survive moving the reader.
  std::unique_ptr<std::string> buffer_;
  std::string_view data_;
  size_t position_ = 0;
  int32_t read_ = 0;
  bool done_ = false;
  absl::Status status_;
};

// Decodes every record of `batch` to check its structure (count, lengths, varints, headers).
absl::Status ValidateRecords(const RecordBatchView& batch, size_t max_decompressed_bytes);

// Control records (batches with the control bit): the key says what kind of marker it is.
enum class ControlRecordType : int16_t {
  kAbort = 0,
  kCommit = 1,
};

struct ControlRecordKey {
  int16_t version = 0;
  // Raw, since KRaft defines more types than transaction markers; compare with ControlRecordType.
  int16_t type = 0;
};

absl::StatusOr<ControlRecordKey> ParseControlRecordKey(std::optional<std::string_view> key);
std::string EncodeControlRecordKey(ControlRecordType type);

// The value of an abort or commit control record.
struct EndTransactionMarker {
  int16_t version = 0;
  int32_t coordinator_epoch = 0;
};

absl::StatusOr<EndTransactionMarker> ParseEndTransactionMarker(std::optional<std::string_view> value);
std::string EncodeEndTransactionMarker(const EndTransactionMarker& marker);

}  // namespace chronik::protocol
