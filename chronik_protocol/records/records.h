#pragma once

// The entry point for a records field (a Produce partition's records, a Fetch partition's records,
// a log segment's contents): a sequence of entries, each either a v2 batch or a legacy message,
// told apart by the magic byte at offset 16 of each entry. Logs written across a format upgrade
// hold both, so the magic is read per entry.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/records/compression.h"
#include "chronik_protocol/records/legacy_message_set.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_types.h"

namespace chronik::protocol {

// How far the broker lets one batch decompress while it validates, converts or compacts it: the
// guard against decompression bombs, shared by every reader of produced or stored batches.
inline constexpr size_t kMaxDecompressedBatchBytes = 256u << 20;

// The magic of the first entry; an error if there are fewer than 17 bytes or it is not 0, 1 or 2.
absl::StatusOr<int8_t> DetectMagic(std::string_view records);

// One top-level entry. Exactly one of batch and message is set, according to magic.
struct RecordsEntry {
  int8_t magic = 0;
  std::string_view bytes;
  std::optional<RecordBatchView> batch;      // magic 2
  std::optional<LegacyMessageView> message;  // magic 0 or 1; may be a compressed wrapper
};

// Iterates and validates the top-level entries (header, sizes, CRC); it does not decode records
// or expand wrappers: use RecordReader or ExpandLegacyWrapper / LegacyMessageSetReader for that.
class RecordsIterator {
 public:
  RecordsIterator(std::string_view records, PartialTrailingEntry partial_trailing_entry,
                  CrcCheck crc_check = CrcCheck::kVerify)
      : data_(records), partial_trailing_entry_(partial_trailing_entry), crc_check_(crc_check) {}

  // Records a client produced: a partial entry at the end is an error.
  static RecordsIterator ForProduce(std::string_view records) {
    return RecordsIterator(records, PartialTrailingEntry::kReject);
  }

  // Records from a fetch response: iteration ends cleanly before a partial entry at the end.
  static RecordsIterator ForFetch(std::string_view records) {
    return RecordsIterator(records, PartialTrailingEntry::kStop);
  }

  // False at the end or on error; status() tells which.
  [[nodiscard]] bool Next(RecordsEntry* entry);
  const absl::Status& status() const { return status_; }

  bool stopped_at_partial_entry() const { return stopped_at_partial_; }
  size_t bytes_consumed() const { return position_; }

 private:
  bool Fail(absl::Status status);

  std::string_view data_;
  PartialTrailingEntry partial_trailing_entry_;
  CrcCheck crc_check_;
  size_t position_ = 0;
  bool done_ = false;
  bool stopped_at_partial_ = false;
  absl::Status status_;
};

struct ProducedRecordsSummary {
  int8_t magic = 0;
  int32_t entry_count = 0;   // batches, or top-level legacy messages
  int64_t record_count = 0;  // records, or messages after expanding wrappers
  CompressionType compression = CompressionType::kNone;  // of the first entry
  int64_t max_timestamp = kNoTimestamp;                   // over all records
  // Over all records with a timestamp (magic 1+); INT64_MAX when there is none.
  int64_t min_timestamp = std::numeric_limits<int64_t>::max();
  bool has_transactional = false;
  bool has_control = false;
};

// Structural validation of a Produce partition's records, before any log-level checks: at least
// one entry, all of one magic, no partial entry, every CRC, and every record decodable.
// `max_decompressed_bytes` is a budget for the whole field. Offsets, sequences and timestamps are
// the log validator's business, not checked here.
absl::StatusOr<ProducedRecordsSummary> ValidateProducedRecords(std::string_view records,
                                                               size_t max_decompressed_bytes);

}  // namespace chronik::protocol
