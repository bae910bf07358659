#include "chronik_protocol/records/record_batch_builder.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/byte_io.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/records/status_util.h"
#include "chronik_protocol/varint.h"

namespace chronik::protocol {
namespace {

using records_internal::AppendBe16;
using records_internal::AppendBe32;
using records_internal::AppendBe64;
using records_internal::StoreBe32;
using records_internal::WrappingAdd;
using records_internal::WrappingSub;

constexpr size_t kMaxLength = static_cast<size_t>(std::numeric_limits<int32_t>::max());

size_t NullableBytesSize(const std::optional<std::string_view>& bytes) {
  if (!bytes.has_value()) return VarintSize(-1);
  return VarintSize(static_cast<int32_t>(bytes->size())) + bytes->size();
}

void AppendNullableBytes(std::string* out, const std::optional<std::string_view>& bytes) {
  if (!bytes.has_value()) {
    AppendVarint(out, -1);
    return;
  }
  AppendVarint(out, static_cast<int32_t>(bytes->size()));
  out->append(*bytes);
}

}  // namespace

RecordBatchBuilder::RecordBatchBuilder(Options options) : options_(std::move(options)) {
  last_offset_ = WrappingSub(options_.base_offset, 1);
}

int64_t RecordBatchBuilder::next_offset() const { return WrappingAdd(last_offset_, 1); }

absl::Status RecordBatchBuilder::Append(int64_t timestamp, std::optional<std::string_view> key,
                                        std::optional<std::string_view> value,
                                        std::span<const RecordHeader> headers) {
  return AppendWithOffset(next_offset(), timestamp, key, value, headers);
}

absl::Status RecordBatchBuilder::AppendWithOffset(int64_t offset, int64_t timestamp,
                                                  std::optional<std::string_view> key,
                                                  std::optional<std::string_view> value,
                                                  std::span<const RecordHeader> headers) {
  if (offset < options_.base_offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset ", offset, " precedes the batch's base offset ", options_.base_offset));
  }
  if (record_count_ > 0 && offset <= last_offset_) {
    return absl::InvalidArgumentError(absl::StrCat("offset ", offset, " does not follow offset ", last_offset_));
  }
  const int64_t offset_delta = WrappingSub(offset, options_.base_offset);
  if (offset_delta > std::numeric_limits<int32_t>::max() || record_count_ == std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("offset ", offset, " is too far from the base offset"));
  }
  if ((key && key->size() > kMaxLength) || (value && value->size() > kMaxLength)) {
    return absl::InvalidArgumentError("record key or value longer than 2^31-1 bytes");
  }
  if (headers.size() > kMaxLength) return absl::InvalidArgumentError("too many record headers");

  if (record_count_ == 0) base_timestamp_ = options_.delete_horizon_ms.value_or(timestamp);
  const int64_t timestamp_delta = WrappingSub(timestamp, base_timestamp_);

  size_t body = 1 + VarlongSize(timestamp_delta) + VarintSize(static_cast<int32_t>(offset_delta)) +
                NullableBytesSize(key) + NullableBytesSize(value) + VarintSize(static_cast<int32_t>(headers.size()));
  for (const RecordHeader& h : headers) {
    if (h.key.size() > kMaxLength || (h.value && h.value->size() > kMaxLength)) {
      return absl::InvalidArgumentError("record header key or value longer than 2^31-1 bytes");
    }
    body += NullableBytesSize(h.key) + NullableBytesSize(h.value);
  }
  if (body > kMaxLength) return absl::InvalidArgumentError("record longer than 2^31-1 bytes");

  const size_t start = records_.size();
  records_.reserve(start + VarintSize(static_cast<int32_t>(body)) + body);
  AppendVarint(&records_, static_cast<int32_t>(body));
  records_.push_back('\0');  // record attributes: unused by Kafka so far
  AppendVarlong(&records_, timestamp_delta);
  AppendVarint(&records_, static_cast<int32_t>(offset_delta));
  AppendNullableBytes(&records_, key);
  AppendNullableBytes(&records_, value);
  AppendVarint(&records_, static_cast<int32_t>(headers.size()));
  for (const RecordHeader& h : headers) {
    AppendNullableBytes(&records_, h.key);
    AppendNullableBytes(&records_, h.value);
  }

  ++record_count_;
  last_offset_ = offset;
  max_timestamp_ = record_count_ == 1 ? timestamp : std::max(max_timestamp_, timestamp);
  return absl::OkStatus();
}

absl::Status RecordBatchBuilder::BuildAppend(std::string* out) const {
  if (record_count_ == 0) return absl::FailedPreconditionError("record batch builder: no records");
  int16_t attributes = static_cast<int16_t>(options_.compression);
  if (options_.timestamp_type == TimestampType::kLogAppendTime) attributes |= kBatchTimestampTypeBit;
  if (options_.transactional) attributes |= kBatchTransactionalBit;
  if (options_.control) attributes |= kBatchControlBit;
  if (options_.delete_horizon_ms.has_value()) attributes |= kBatchDeleteHorizonBit;
  const int64_t max_timestamp =
      options_.timestamp_type == TimestampType::kLogAppendTime ? options_.log_append_time_ms : max_timestamp_;

  const size_t start = out->size();
  AppendBe64(out, static_cast<uint64_t>(options_.base_offset));
  AppendBe32(out, 0);  // batchLength, known once the records are (compressed and) written
  AppendBe32(out, static_cast<uint32_t>(options_.partition_leader_epoch));
  out->push_back(static_cast<char>(batch_v2::kMagic));
  AppendBe32(out, 0);  // crc, computed last
  AppendBe16(out, static_cast<uint16_t>(attributes));
  AppendBe32(out, static_cast<uint32_t>(WrappingSub(last_offset_, options_.base_offset)));
  AppendBe64(out, static_cast<uint64_t>(base_timestamp_));
  AppendBe64(out, static_cast<uint64_t>(max_timestamp));
  AppendBe64(out, static_cast<uint64_t>(options_.producer_id));
  AppendBe16(out, static_cast<uint16_t>(options_.producer_epoch));
  AppendBe32(out, static_cast<uint32_t>(options_.base_sequence));
  AppendBe32(out, static_cast<uint32_t>(record_count_));

  absl::Status status = CompressAppend(options_.compression, records_, options_.compress_options, out);
  if (!status.ok()) {
    out->resize(start);
    return status;
  }
  const size_t batch_length = out->size() - start - batch_v2::kLogOverhead;
  if (batch_length > kMaxLength) {
    out->resize(start);
    return absl::InvalidArgumentError(absl::StrCat("record batch of ", batch_length, " bytes exceeds 2^31-1"));
  }
  char* batch = out->data() + start;
  StoreBe32(batch + batch_v2::kBatchLengthOffset, static_cast<uint32_t>(batch_length));
  StoreBe32(batch + batch_v2::kCrcOffset,
            Crc32c(batch + batch_v2::kAttributesOffset, out->size() - start - batch_v2::kAttributesOffset));
  return absl::OkStatus();
}

absl::StatusOr<std::string> RecordBatchBuilder::Build() const {
  std::string out;
  CHRONIK_RECORDS_RETURN_IF_ERROR(BuildAppend(&out));
  return out;
}

absl::StatusOr<std::string> BuildEndTransactionMarkerBatch(const EndTransactionMarkerBatch& marker) {
  RecordBatchBuilder::Options options;
  options.base_offset = marker.base_offset;
  options.partition_leader_epoch = marker.partition_leader_epoch;
  options.transactional = true;
  options.control = true;
  options.producer_id = marker.producer_id;
  options.producer_epoch = marker.producer_epoch;
  RecordBatchBuilder builder(options);
  const std::string key = EncodeControlRecordKey(marker.type);
  const std::string value = EncodeEndTransactionMarker({.version = 0, .coordinator_epoch = marker.coordinator_epoch});
  CHRONIK_RECORDS_RETURN_IF_ERROR(builder.Append(marker.timestamp_ms, key, value));
  return builder.Build();
}

}  // namespace chronik::protocol
