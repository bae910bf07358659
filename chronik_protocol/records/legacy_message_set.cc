#include "chronik_protocol/records/legacy_message_set.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/byte_io.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/records/entry_framing.h"
#include "chronik_protocol/records/status_util.h"

namespace chronik::protocol {
namespace {

using records_internal::AppendBe32;
using records_internal::AppendBe64;
using records_internal::ByteReader;
using records_internal::LoadBe32;
using records_internal::NextEntrySize;
using records_internal::StoreBe32;
using records_internal::WrappingAdd;
using records_internal::WrappingSub;

constexpr size_t kMaxLength = static_cast<size_t>(std::numeric_limits<int32_t>::max());

template <typename... Args>
absl::Status Malformed(int64_t offset, const Args&... args) {
  return absl::InvalidArgumentError(absl::StrCat("legacy message at offset ", offset, ": ", args...));
}

void AppendNullableBytes32(std::string* out, const std::optional<std::string_view>& bytes) {
  if (!bytes.has_value()) {
    AppendBe32(out, static_cast<uint32_t>(-1));
    return;
  }
  AppendBe32(out, static_cast<uint32_t>(bytes->size()));
  out->append(*bytes);
}

// Writes one complete entry: offset, size, crc, magic, attributes, [timestamp,] key, value.
void AppendLegacyMessage(std::string* out, int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp,
                         const std::optional<std::string_view>& key, const std::optional<std::string_view>& value) {
  const size_t start = out->size();
  AppendBe64(out, static_cast<uint64_t>(offset));
  AppendBe32(out, 0);  // size
  AppendBe32(out, 0);  // crc
  out->push_back(static_cast<char>(magic));
  out->push_back(static_cast<char>(attributes));
  if (magic >= 1) AppendBe64(out, static_cast<uint64_t>(timestamp));
  AppendNullableBytes32(out, key);
  AppendNullableBytes32(out, value);
  char* entry = out->data() + start;
  const size_t size = out->size() - start - legacy_message::kLogOverhead;
  StoreBe32(entry + 8, static_cast<uint32_t>(size));
  StoreBe32(entry + legacy_message::kCrcOffset,
            Crc32Ieee(entry + legacy_message::kMagicOffset, out->size() - start - legacy_message::kMagicOffset));
}

}  // namespace

absl::StatusOr<LegacyMessageView> ParseLegacyMessage(std::string_view bytes, CrcCheck crc_check) {
  using namespace legacy_message;
  LegacyMessageView m;
  ByteReader header(bytes);
  int32_t size = 0;
  if (!header.ReadInt64(&m.offset) || !header.ReadInt32(&size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("legacy message: need ", kLogOverhead, " bytes for offset and size, have ", bytes.size()));
  }
  if (size < kMinSizeV0) return Malformed(m.offset, "size ", size, " is below the minimum of ", kMinSizeV0);
  std::string_view message;
  if (!header.ReadBytes(static_cast<size_t>(size), &message)) {
    return Malformed(m.offset, "size ", size, " runs past the ", header.remaining(), " bytes that follow it");
  }
  m.encoded = bytes.substr(0, kLogOverhead + static_cast<size_t>(size));
  m.crc = LoadBe32(message.data());
  m.magic = static_cast<int8_t>(message[4]);
  m.attributes = static_cast<int8_t>(message[5]);
  if (m.magic != 0 && m.magic != 1) return Malformed(m.offset, "magic is ", m.magic, ", expected 0 or 1");
  if (m.magic == 1 && size < kMinSizeV1) {
    return Malformed(m.offset, "size ", size, " is below the magic-1 minimum of ", kMinSizeV1);
  }
  const absl::StatusOr<CompressionType> compression = CompressionTypeFromId(m.attributes & kCompressionAttributeMask);
  if (!compression.ok()) return compression.status();
  if (*compression == CompressionType::kZstd) {
    return absl::UnimplementedError(absl::StrCat("legacy message at offset ", m.offset,
                                                 ": zstd compression requires magic 2, message has magic ", m.magic));
  }

  ByteReader body(message.substr(6));
  if (m.magic == 1) {
    body.ReadInt64(&m.timestamp);  // size >= kMinSizeV1 guarantees the bytes
    m.timestamp_type = (m.attributes & kLegacyTimestampTypeBit) ? TimestampType::kLogAppendTime
                                                                 : TimestampType::kCreateTime;
  }
  const auto read_nullable = [&](std::optional<std::string_view>* out) {
    int32_t n = 0;
    if (!body.ReadInt32(&n) || n < -1) return false;
    if (n == -1) {
      *out = std::nullopt;
      return true;
    }
    std::string_view b;
    if (!body.ReadBytes(static_cast<size_t>(n), &b)) return false;
    *out = b;
    return true;
  };
  if (!read_nullable(&m.key)) return Malformed(m.offset, "malformed key length");
  if (!read_nullable(&m.value)) return Malformed(m.offset, "malformed value length");
  if (!body.empty()) return Malformed(m.offset, body.remaining(), " bytes left after the value");

  if (crc_check == CrcCheck::kVerify) {
    const uint32_t computed = Crc32Ieee(message.substr(4));
    if (computed != m.crc) {
      return absl::DataLossError(absl::StrCat("legacy message at offset ", m.offset, ": CRC-32 mismatch: stored ",
                                              m.crc, ", computed ", computed));
    }
  }
  return m;
}

absl::StatusOr<LegacyWrapperContents> ExpandLegacyWrapper(const LegacyMessageView& wrapper,
                                                          size_t max_decompressed_bytes, CrcCheck crc_check) {
  if (!wrapper.is_compressed_wrapper()) return Malformed(wrapper.offset, "not a compressed wrapper");
  if (!wrapper.value.has_value()) return Malformed(wrapper.offset, "compressed wrapper with a null value");

  LegacyWrapperContents contents;
  contents.buffer = std::make_unique<std::string>();
  const absl::Status status = DecompressAppend(
      wrapper.compression(), *wrapper.value, max_decompressed_bytes, contents.buffer.get(),
      wrapper.magic == 0 ? Lz4HeaderChecksum::kKafkaLegacyMagicV0 : Lz4HeaderChecksum::kStandard);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("legacy message at offset ", wrapper.offset, ": ", status.message()));
  }

  std::string_view rest(*contents.buffer);
  while (!rest.empty()) {
    CHRONIK_RECORDS_ASSIGN_OR_RETURN(const size_t entry_size, NextEntrySize(rest));
    if (entry_size == 0) return Malformed(wrapper.offset, "truncated inner message");
    CHRONIK_RECORDS_ASSIGN_OR_RETURN(LegacyMessageView inner,
                                     ParseLegacyMessage(rest.substr(0, entry_size), crc_check));
    if (inner.magic != wrapper.magic) {
      return Malformed(wrapper.offset, "inner message of magic ", inner.magic, " in a wrapper of magic ",
                       wrapper.magic);
    }
    if (inner.is_compressed_wrapper()) return Malformed(wrapper.offset, "nested compressed message");
    contents.messages.push_back(inner);
    rest.remove_prefix(entry_size);
  }
  if (contents.messages.empty()) return Malformed(wrapper.offset, "compressed wrapper with no inner messages");

  if (wrapper.magic >= 1) {
    // Inner offsets count from 0 and the wrapper holds the absolute offset of the last one.
    const int64_t base = WrappingSub(wrapper.offset, contents.messages.back().offset);
    for (LegacyMessageView& inner : contents.messages) {
      inner.offset = WrappingAdd(base, inner.offset);
      if (wrapper.timestamp_type == TimestampType::kLogAppendTime) {
        inner.timestamp = wrapper.timestamp;
        inner.timestamp_type = TimestampType::kLogAppendTime;
      }
    }
  }
  return contents;
}

// ---------------------------------------------------------------------------------------------
// LegacyMessageSetReader

LegacyMessageSetReader::LegacyMessageSetReader(std::string_view message_set,
                                               PartialTrailingEntry partial_trailing_entry,
                                               size_t max_decompressed_bytes)
    : data_(message_set), partial_trailing_entry_(partial_trailing_entry), budget_(max_decompressed_bytes) {}

bool LegacyMessageSetReader::Fail(absl::Status status) {
  status_ = std::move(status);
  return false;
}

bool LegacyMessageSetReader::Next(LegacyMessageView* message) {
  if (pending_index_ < pending_.size()) {
    *message = pending_[pending_index_++];
    return true;
  }
  if (done_ || !status_.ok()) return false;

  const std::string_view rest = data_.substr(position_);
  if (rest.empty()) {
    done_ = true;
    return false;
  }
  const absl::StatusOr<size_t> entry_size = NextEntrySize(rest);
  if (!entry_size.ok()) return Fail(entry_size.status());
  if (*entry_size == 0) {
    if (partial_trailing_entry_ == PartialTrailingEntry::kReject) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("legacy message set: partial message in the last ", rest.size(), " bytes")));
    }
    done_ = true;
    stopped_at_partial_ = true;
    return false;
  }
  absl::StatusOr<LegacyMessageView> parsed = ParseLegacyMessage(rest.substr(0, *entry_size));
  if (!parsed.ok()) return Fail(parsed.status());
  position_ += *entry_size;
  if (!parsed->is_compressed_wrapper()) {
    *message = *parsed;
    return true;
  }

  absl::StatusOr<LegacyWrapperContents> contents = ExpandLegacyWrapper(*parsed, budget_);
  if (!contents.ok()) return Fail(contents.status());
  budget_ -= contents->buffer->size();
  buffers_.push_back(std::move(contents->buffer));
  pending_ = std::move(contents->messages);
  pending_index_ = 0;
  *message = pending_[pending_index_++];
  return true;
}

// ---------------------------------------------------------------------------------------------
// LegacyMessageSetBuilder

LegacyMessageSetBuilder::LegacyMessageSetBuilder(Options options) : options_(std::move(options)) {
  if (options_.compression == CompressionType::kLz4 && options_.magic == 0) {
    options_.compress_options.lz4_header_checksum = Lz4HeaderChecksum::kKafkaLegacyMagicV0;
  }
}

absl::Status LegacyMessageSetBuilder::CheckOptions() const {
  if (options_.magic != 0 && options_.magic != 1) {
    return absl::InvalidArgumentError(absl::StrCat("legacy message set: magic ", options_.magic, " is not 0 or 1"));
  }
  if (options_.compression == CompressionType::kZstd) {
    return absl::InvalidArgumentError("legacy message set: zstd compression requires magic 2");
  }
  if (static_cast<int>(options_.compression) < 0 || options_.compression > CompressionType::kZstd) {
    return absl::InvalidArgumentError("legacy message set: unknown compression type");
  }
  return absl::OkStatus();
}

absl::Status LegacyMessageSetBuilder::Append(int64_t offset, int64_t timestamp, std::optional<std::string_view> key,
                                             std::optional<std::string_view> value) {
  CHRONIK_RECORDS_RETURN_IF_ERROR(CheckOptions());
  if (message_count_ > 0 && offset <= last_offset_) {
    return absl::InvalidArgumentError(absl::StrCat("offset ", offset, " does not follow offset ", last_offset_));
  }
  if (message_count_ == std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError("legacy message set: too many messages");
  }
  if ((key && key->size() > kMaxLength - 64) || (value && value->size() > kMaxLength - 64) ||
      (key && value && key->size() + value->size() > kMaxLength - 64)) {
    return absl::InvalidArgumentError("legacy message larger than 2^31-1 bytes");
  }
  if (message_count_ == 0) first_offset_ = offset;

  const int8_t magic = options_.magic;
  const bool log_append_time = magic >= 1 && options_.timestamp_type == TimestampType::kLogAppendTime;
  if (magic == 0) {
    timestamp = kNoTimestamp;
  } else if (log_append_time) {
    timestamp = options_.log_append_time_ms;
  }
  const int8_t attributes = log_append_time ? kLegacyTimestampTypeBit : 0;
  const bool compressed = options_.compression != CompressionType::kNone;
  const int64_t stored_offset = compressed && magic >= 1 ? WrappingSub(offset, first_offset_) : offset;
  AppendLegacyMessage(&messages_, stored_offset, magic, attributes, timestamp, key, value);

  max_timestamp_ = message_count_ == 0 ? timestamp : std::max(max_timestamp_, timestamp);
  last_offset_ = offset;
  ++message_count_;
  return absl::OkStatus();
}

absl::Status LegacyMessageSetBuilder::BuildAppend(std::string* out) const {
  CHRONIK_RECORDS_RETURN_IF_ERROR(CheckOptions());
  if (message_count_ == 0) return absl::FailedPreconditionError("legacy message set builder: no messages");
  if (options_.compression == CompressionType::kNone) {
    out->append(messages_);
    return absl::OkStatus();
  }
  std::string compressed;
  CHRONIK_RECORDS_RETURN_IF_ERROR(
      CompressAppend(options_.compression, messages_, options_.compress_options, &compressed));
  if (compressed.size() > kMaxLength - 64) {
    return absl::InvalidArgumentError("legacy compressed wrapper larger than 2^31-1 bytes");
  }
  int8_t attributes = static_cast<int8_t>(options_.compression);
  int64_t timestamp = kNoTimestamp;
  if (options_.magic >= 1) {
    if (options_.timestamp_type == TimestampType::kLogAppendTime) {
      attributes |= kLegacyTimestampTypeBit;
      timestamp = options_.log_append_time_ms;
    } else {
      timestamp = max_timestamp_;
    }
  }
  AppendLegacyMessage(out, last_offset_, options_.magic, attributes, timestamp, std::nullopt, compressed);
  return absl::OkStatus();
}

absl::StatusOr<std::string> LegacyMessageSetBuilder::Build() const {
  std::string out;
  CHRONIK_RECORDS_RETURN_IF_ERROR(BuildAppend(&out));
  return out;
}

}  // namespace chronik::protocol
