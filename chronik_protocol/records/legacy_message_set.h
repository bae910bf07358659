#pragma once

// Legacy message sets, magic 0 and 1 (Kafka before 0.11): entries of int64 offset, int32 size and
// a message carrying a CRC-32. A compressed message is a wrapper whose value is a compressed inner
// message set; for magic 1 the inner offsets are relative to the wrapper (KIP-31), and the wrapper's
// LogAppendTime overrides inner timestamps (KIP-32).
//
// Old clients still produce these and must be served them on fetch, so the broker both reads them
// (to up-convert) and writes them (to down-convert).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/records/compression.h"
#include "chronik_protocol/records/record_types.h"

namespace chronik::protocol {

// Attribute bit 3 of a magic-1 message (bits 0-2 are the CompressionType).
inline constexpr int8_t kLegacyTimestampTypeBit = 0x08;

namespace legacy_message {
inline constexpr size_t kLogOverhead = 12;  // offset + size
inline constexpr size_t kCrcOffset = 12;
inline constexpr size_t kMagicOffset = 16;  // the CRC covers from here to the end
inline constexpr size_t kAttributesOffset = 17;
inline constexpr size_t kTimestampOffset = 18;  // magic 1 only
// Smallest values of the size field: crc, magic, attributes, [timestamp,] two -1 lengths.
inline constexpr int32_t kMinSizeV0 = 14;
inline constexpr int32_t kMinSizeV1 = 22;
}  // namespace legacy_message

struct LegacyMessageView {
  int64_t offset = 0;
  int8_t magic = 0;
  int8_t attributes = 0;
  uint32_t crc = 0;
  int64_t timestamp = kNoTimestamp;
  TimestampType timestamp_type = TimestampType::kNoTimestampType;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  // The whole entry including offset and size, as stored (for inner messages: as decompressed).
  std::string_view encoded;

  CompressionType compression() const {
    return static_cast<CompressionType>(attributes & kCompressionAttributeMask);
  }
  bool is_compressed_wrapper() const { return compression() != CompressionType::kNone; }
};

// Parses the one entry at the start of `bytes` (bytes after it are ignored) without expanding it
// if it is a wrapper. Checks sizes, magic 0/1, compression id (zstd needs magic 2), key and value
// lengths, that they fill the message exactly, and (by default) the CRC.
absl::StatusOr<LegacyMessageView> ParseLegacyMessage(std::string_view bytes, CrcCheck crc_check = CrcCheck::kVerify);

// The decompressed inner messages of one wrapper, with absolute offsets and resolved timestamps.
// The views point into `buffer`, which is heap-allocated so that moving this struct keeps them valid.
struct LegacyWrapperContents {
  std::unique_ptr<std::string> buffer;
  std::vector<LegacyMessageView> messages;
};

// Decompresses a wrapper (at most `max_decompressed_bytes`) and parses its inner set, which must be
// non-empty, complete, uncompressed and of the wrapper's magic.
absl::StatusOr<LegacyWrapperContents> ExpandLegacyWrapper(const LegacyMessageView& wrapper,
                                                          size_t max_decompressed_bytes,
                                                          CrcCheck crc_check = CrcCheck::kVerify);

// Iterates the messages of a message set, expanding compressed wrappers: yields what a consumer
// sees, never a wrapper. Views stay valid as long as the reader and the input bytes. The limit on
// decompression is a budget for the whole set, not per wrapper.
class LegacyMessageSetReader {
 public:
  LegacyMessageSetReader(std::string_view message_set, PartialTrailingEntry partial_trailing_entry,
                         size_t max_decompressed_bytes);

  // Messages a client produced: a partial entry at the end is an error.
  static LegacyMessageSetReader ForProduce(std::string_view message_set, size_t max_decompressed_bytes) {
    return LegacyMessageSetReader(message_set, PartialTrailingEntry::kReject, max_decompressed_bytes);
  }

  // Messages from a fetch response: iteration ends cleanly before a partial entry at the end.
  static LegacyMessageSetReader ForFetch(std::string_view message_set, size_t max_decompressed_bytes) {
    return LegacyMessageSetReader(message_set, PartialTrailingEntry::kStop, max_decompressed_bytes);
  }

  // False at the end or on error; status() tells which.
  [[nodiscard]] bool Next(LegacyMessageView* message);
  const absl::Status& status() const { return status_; }

  // True if iteration ended at a partial trailing entry (only with PartialTrailingEntry::kStop).
  bool stopped_at_partial_entry() const { return stopped_at_partial_; }
  // Bytes of the top-level entries consumed so far.
  size_t bytes_consumed() const { return position_; }

 private:
  bool Fail(absl::Status status);

  std::string_view data_;
  PartialTrailingEntry partial_trailing_entry_;
  size_t budget_;
  size_t position_ = 0;
  std::vector<std::unique_ptr<std::string>> buffers_;
  std::vector<LegacyMessageView> pending_;
  size_t pending_index_ = 0;
  bool done_ = false;
  bool stopped_at_partial_ = false;
  absl::Status status_;
};

// Writes a magic-0 or magic-1 message set: uncompressed, or a single compressed wrapper holding
// all appended messages (relative inner offsets for magic 1). For magic 0, lz4 gets the legacy
// header checksum old clients expect.
class LegacyMessageSetBuilder {
 public:
  struct Options {
    int8_t magic = 1;
    // zstd is not allowed below magic 2.
    CompressionType compression = CompressionType::kNone;
    CompressOptions compress_options;
    // Magic 1 only. With kLogAppendTime every message (and the wrapper) carries log_append_time_ms.
    TimestampType timestamp_type = TimestampType::kCreateTime;
    int64_t log_append_time_ms = kNoTimestamp;
  };

  explicit LegacyMessageSetBuilder(Options options);

  // Offsets must increase. `timestamp` is ignored for magic 0.
  absl::Status Append(int64_t offset, int64_t timestamp, std::optional<std::string_view> key,
                      std::optional<std::string_view> value);

  int32_t message_count() const { return message_count_; }
  bool empty() const { return message_count_ == 0; }

  // Appends the message set to `*out`; fails if there are no messages or the options are invalid.
  absl::Status BuildAppend(std::string* out) const;
  absl::StatusOr<std::string> Build() const;

 private:
  absl::Status CheckOptions() const;

  Options options_;
  // Finished entries when uncompressed; the inner set (with relative offsets for magic 1) otherwise.
  std::string messages_;
  int32_t message_count_ = 0;
  int64_t first_offset_ = 0;
  int64_t last_offset_ = 0;
  int64_t max_timestamp_ = kNoTimestamp;
};

}  // namespace chronik::protocol
