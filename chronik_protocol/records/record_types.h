#pragma once

// Vocabulary shared by the v2 batch and legacy message-set codecs.

#include <cstdint>
#include <optional>
#include <string_view>

namespace chronik::protocol {

// Kafka's RecordBatch.NO_TIMESTAMP: what magic-0 messages report, having no timestamp field.
inline constexpr int64_t kNoTimestamp = -1;

enum class TimestampType : int8_t {
  kNoTimestampType = -1,  // magic 0
  kCreateTime = 0,
  kLogAppendTime = 1,
};

// A record header (v2 only). Keys are strings and never null; values may be null. Views: when
// building, the referenced bytes must outlive the builder's Append call; when reading, they point
// into the batch or the reader's decompressed buffer.
struct RecordHeader {
  std::string_view key;
  std::optional<std::string_view> value;

  friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

enum class CrcCheck : uint8_t {
  kVerify,
  // For bytes whose CRC was already verified, e.g. re-reading a segment the broker wrote.
  kSkip,
};

// What to do with bytes at the end of a records field that do not form a whole entry.
enum class PartialTrailingEntry : uint8_t {
  // Produce requests: a client must send whole batches, so leftovers are corruption.
  kReject,
  // Fetch responses: the broker cuts the last entry at the response's byte limit, so a partial
  // entry at the end is expected and iteration simply ends before it.
  kStop,
};

}  // namespace chronik::protocol
