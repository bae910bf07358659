#include "chronik_protocol/records/record_batch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/byte_io.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/records/status_util.h"

namespace chronik::protocol {
namespace {

using records_internal::AppendBe16;
using records_internal::AppendBe32;
using records_internal::ByteReader;
using records_internal::LoadBe16;
using records_internal::LoadBe32;
using records_internal::LoadBe64;
using records_internal::StoreBe16;
using records_internal::StoreBe32;
using records_internal::StoreBe64;
using records_internal::WrappingAdd;

template <typename... Args>
absl::Status Malformed(const Args&... args) {
  return absl::InvalidArgumentError(absl::StrCat("record batch: ", args...));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RecordBatchView

absl::StatusOr<RecordBatchView> RecordBatchView::Parse(std::string_view bytes, CrcCheck crc_check) {
  using namespace batch_v2;
  if (bytes.size() < kHeaderSize) {
    return Malformed("need ", kHeaderSize, " bytes for the header, have ", bytes.size());
  }
  const auto batch_length = static_cast<int32_t>(LoadBe32(bytes.data() + kBatchLengthOffset));
  if (batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead)) {
    return Malformed("batchLength ", batch_length, " is smaller than the batch header");
  }
  const size_t total = kLogOverhead + static_cast<size_t>(batch_length);
  if (total > bytes.size()) {
    return Malformed("batchLength ", batch_length, " runs past the ", bytes.size() - kLogOverhead,
                     " bytes that follow it");
  }
  const auto magic = static_cast<int8_t>(bytes[kMagicOffset]);
  if (magic != kMagic) return Malformed("magic is ", magic, ", expected 2");

  RecordBatchView view(bytes.substr(0, total));
  const absl::StatusOr<CompressionType> compression =
      CompressionTypeFromId(view.attributes() & kCompressionAttributeMask);
  if (!compression.ok()) return compression.status();
  if (view.records_count() < 0) return Malformed("negative recordsCount ", view.records_count());
  if (view.last_offset_delta() < 0) return Malformed("negative lastOffsetDelta ", view.last_offset_delta());
  if (crc_check == CrcCheck::kVerify) {
    const uint32_t computed = view.ComputeCrc();
    if (computed != view.crc()) {
      return absl::DataLossError(absl::StrCat("record batch at base offset ", view.base_offset(),
                                              ": CRC-32C mismatch: stored ", view.crc(), ", computed ", computed));
    }
  }
  return view;
}

int64_t RecordBatchView::base_offset() const {
  return static_cast<int64_t>(LoadBe64(bytes_.data() + batch_v2::kBaseOffsetOffset));
}
int32_t RecordBatchView::batch_length() const {
  return static_cast<int32_t>(LoadBe32(bytes_.data() + batch_v2::kBatchLengthOffset));
}
int32_t RecordBatchView::partition_leader_epoch() const {
  return static_cast<int32_t>(LoadBe32(bytes_.data() + batch_v2::kPartitionLeaderEpochOffset));
}
int8_t RecordBatchView::magic() const { return static_cast<int8_t>(bytes_[batch_v2::kMagicOffset]); }
uint32_t RecordBatchView::crc() const { return LoadBe32(bytes_.data() + batch_v2::kCrcOffset); }
int16_t RecordBatchView::attributes() const {
  return static_cast<int16_t>(LoadBe16(bytes_.data() + batch_v2::kAttributesOffset));
}
int32_t RecordBatchView::last_offset_delta() const {
  return static_cast<int32_t>(LoadBe32(bytes_.data() + batch_v2::kLastOffsetDeltaOffset));
}
int64_t RecordBatchView::base_timestamp() const {
  return static_cast<int64_t>(LoadBe64(bytes_.data() + batch_v2::kBaseTimestampOffset));
}
int64_t RecordBatchView::max_timestamp() const {
  return static_cast<int64_t>(LoadBe64(bytes_.data() + batch_v2::kMaxTimestampOffset));
}
int64_t RecordBatchView::producer_id() const {
  return static_cast<int64_t>(LoadBe64(bytes_.data() + batch_v2::kProducerIdOffset));
}
int16_t RecordBatchView::producer_epoch() const {
  return static_cast<int16_t>(LoadBe16(bytes_.data() + batch_v2::kProducerEpochOffset));
}
int32_t RecordBatchView::base_sequence() const {
  return static_cast<int32_t>(LoadBe32(bytes_.data() + batch_v2::kBaseSequenceOffset));
}
int32_t RecordBatchView::records_count() const {
  return static_cast<int32_t>(LoadBe32(bytes_.data() + batch_v2::kRecordsCountOffset));
}

CompressionType RecordBatchView::compression() const {
  // Parse rejected ids outside the enum.
  return static_cast<CompressionType>(attributes() & kCompressionAttributeMask);
}
TimestampType RecordBatchView::timestamp_type() const {
  return (attributes() & kBatchTimestampTypeBit) ? TimestampType::kLogAppendTime : TimestampType::kCreateTime;
}
bool RecordBatchView::is_transactional() const { return (attributes() & kBatchTransactionalBit) != 0; }
bool RecordBatchView::is_control() const { return (attributes() & kBatchControlBit) != 0; }
bool RecordBatchView::has_delete_horizon() const { return (attributes() & kBatchDeleteHorizonBit) != 0; }
std::optional<int64_t> RecordBatchView::delete_horizon_ms() const {
  if (!has_delete_horizon()) return std::nullopt;
  return base_timestamp();
}

int64_t RecordBatchView::last_offset() const { return WrappingAdd(base_offset(), last_offset_delta()); }
int64_t RecordBatchView::next_offset() const { return WrappingAdd(last_offset(), 1); }

uint32_t RecordBatchView::ComputeCrc() const {
  const std::string_view covered = bytes_.substr(batch_v2::kAttributesOffset);
  return Crc32c(covered);
}

// ---------------------------------------------------------------------------------------------
// MutableRecordBatchView

absl::StatusOr<MutableRecordBatchView> MutableRecordBatchView::Parse(char* data, size_t size, CrcCheck crc_check) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(std::string_view(data, size), crc_check);
  if (!view.ok()) return view.status();
  return MutableRecordBatchView(data, view->size_bytes());
}

RecordBatchView MutableRecordBatchView::view() const {
  // Parse validated these bytes, and the setters keep them valid.
  return *RecordBatchView::Parse(std::string_view(data_, size_), CrcCheck::kSkip);
}

void MutableRecordBatchView::SetBaseOffset(int64_t base_offset) {
  StoreBe64(data_ + batch_v2::kBaseOffsetOffset, static_cast<uint64_t>(base_offset));
}

void MutableRecordBatchView::SetPartitionLeaderEpoch(int32_t epoch) {
  StoreBe32(data_ + batch_v2::kPartitionLeaderEpochOffset, static_cast<uint32_t>(epoch));
}

void MutableRecordBatchView::SetMaxTimestamp(TimestampType type, int64_t max_timestamp) {
  auto attributes = static_cast<uint16_t>(LoadBe16(data_ + batch_v2::kAttributesOffset));
  attributes = static_cast<uint16_t>(attributes & ~static_cast<uint16_t>(kBatchTimestampTypeBit));
  if (type == TimestampType::kLogAppendTime) attributes |= static_cast<uint16_t>(kBatchTimestampTypeBit);
  StoreBe16(data_ + batch_v2::kAttributesOffset, attributes);
  StoreBe64(data_ + batch_v2::kMaxTimestampOffset, static_cast<uint64_t>(max_timestamp));
  RecomputeCrc();
}

void MutableRecordBatchView::RecomputeCrc() {
  const uint32_t crc = Crc32c(data_ + batch_v2::kAttributesOffset, size_ - batch_v2::kAttributesOffset);
  StoreBe32(data_ + batch_v2::kCrcOffset, crc);
}

// ---------------------------------------------------------------------------------------------
// RecordHeaderList

RecordHeaderList::Iterator::Iterator(std::string_view data, int32_t count) : data_(data), remaining_(count) {
  if (remaining_ > 0) Decode();
}

RecordHeaderList::Iterator& RecordHeaderList::Iterator::operator++() {
  if (remaining_ > 0 && --remaining_ > 0) Decode();
  return *this;
}

void RecordHeaderList::Iterator::Decode() {
  // The reader validated these bytes before handing out the list; failing here would mean the
  // list was built by hand from bad bytes, and ending the iteration is the safe answer.
  ByteReader in(data_);
  int32_t key_length = 0;
  int32_t value_length = 0;
  std::string_view key;
  std::string_view value;
  if (!in.ReadVarint(&key_length) || key_length < 0 || !in.ReadBytes(static_cast<size_t>(key_length), &key) ||
      !in.ReadVarint(&value_length) || value_length < -1 ||
      (value_length >= 0 && !in.ReadBytes(static_cast<size_t>(value_length), &value))) {
    remaining_ = 0;
    return;
  }
  current_.key = key;
  current_.value = value_length < 0 ? std::nullopt : std::optional<std::string_view>(value);
  data_ = in.rest();
}

// ---------------------------------------------------------------------------------------------
// RecordReader

RecordReader::RecordReader(const RecordBatchView& batch, std::unique_ptr<std::string> buffer, std::string_view data)
    : batch_(batch), buffer_(std::move(buffer)), data_(data) {}

absl::StatusOr<RecordReader> RecordReader::Create(const RecordBatchView& batch, size_t max_decompressed_bytes) {
  if (batch.compression() == CompressionType::kNone) return RecordReader(batch, nullptr, batch.records_data());
  auto buffer = std::make_unique<std::string>();
  const absl::Status status =
      DecompressAppend(batch.compression(), batch.records_data(), max_decompressed_bytes, buffer.get());
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("record batch at base offset ", batch.base_offset(), ": ",
                                                    status.message()));
  }
  const std::string_view data(*buffer);
  return RecordReader(batch, std::move(buffer), data);
}

bool RecordReader::Fail(absl::Status status) {
  status_ = std::move(status);
  return false;
}

bool RecordReader::Next(RecordView* record) {
  if (done_ || !status_.ok()) return false;
  const auto fail = [&](const auto&... args) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("record batch at base offset ", batch_.base_offset(),
                                                        ": record ", read_, ": ", args...)));
  };
  if (read_ == batch_.records_count()) {
    if (position_ != data_.size()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("record batch at base offset ", batch_.base_offset(), ": ", data_.size() - position_,
                       " bytes left after the last of ", read_, " records")));
    }
    done_ = true;
    return false;
  }

  ByteReader in(data_.substr(position_));
  int32_t length = 0;
  if (!in.ReadVarint(&length)) {
    return in.empty() ? fail("missing; recordsCount is ", batch_.records_count()) : fail("malformed length varint");
  }
  std::string_view body;
  if (length < 0 || !in.ReadBytes(static_cast<size_t>(length), &body)) {
    return fail("length ", length, " does not fit in the remaining bytes");
  }

  ByteReader b(body);
  RecordView r;
  if (!b.ReadInt8(&r.attributes)) return fail("truncated attributes");
  if (!b.ReadVarlong(&r.timestamp_delta)) return fail("malformed timestampDelta");
  if (!b.ReadVarint(&r.offset_delta)) return fail("malformed offsetDelta");

  const auto read_nullable = [&](std::optional<std::string_view>* out) {
    int32_t n = 0;
    if (!b.ReadVarint(&n) || n < -1) return false;
    if (n == -1) {
      *out = std::nullopt;
      return true;
    }
    std::string_view bytes;
    if (!b.ReadBytes(static_cast<size_t>(n), &bytes)) return false;
    *out = bytes;
    return true;
  };
  if (!read_nullable(&r.key)) return fail("malformed key");
  if (!read_nullable(&r.value)) return fail("malformed value");

  int32_t header_count = 0;
  if (!b.ReadVarint(&header_count) || header_count < 0) return fail("malformed header count");
  // Each header takes at least two bytes; this rejects absurd counts before looping over them.
  if (static_cast<size_t>(header_count) > b.remaining() / 2) {
    return fail("header count ", header_count, " does not fit in the record");
  }
  const size_t headers_start = b.position();
  for (int32_t i = 0; i < header_count; ++i) {
    int32_t key_length = 0;
    std::string_view key;
    if (!b.ReadVarint(&key_length) || key_length < 0 || !b.ReadBytes(static_cast<size_t>(key_length), &key)) {
      return fail("header ", i, ": malformed key");
    }
    std::optional<std::string_view> value;
    if (!read_nullable(&value)) return fail("header ", i, ": malformed value");
  }
  r.headers = RecordHeaderList(body.substr(headers_start, b.position() - headers_start), header_count);
  if (!b.empty()) return fail(b.remaining(), " bytes left inside the record after its headers");

  r.offset = WrappingAdd(batch_.base_offset(), r.offset_delta);
  r.timestamp = batch_.timestamp_type() == TimestampType::kLogAppendTime
                    ? batch_.max_timestamp()
                    : WrappingAdd(batch_.base_timestamp(), r.timestamp_delta);
  r.encoded = data_.substr(position_, in.position());
  position_ += in.position();
  ++read_;
  *record = r;
  return true;
}

absl::Status ValidateRecords(const RecordBatchView& batch, size_t max_decompressed_bytes) {
  CHRONIK_RECORDS_ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Create(batch, max_decompressed_bytes));
  RecordView record;
  while (reader.Next(&record)) {
  }
  return reader.status();
}

// ---------------------------------------------------------------------------------------------
// Control records

absl::StatusOr<ControlRecordKey> ParseControlRecordKey(std::optional<std::string_view> key) {
  if (!key.has_value()) return absl::InvalidArgumentError("control record: null key");
  ByteReader in(*key);
  ControlRecordKey out;
  if (!in.ReadInt16(&out.version) || !in.ReadInt16(&out.type)) {
    return absl::InvalidArgumentError(absl::StrCat("control record: key of ", key->size(), " bytes, need 4"));
  }
  if (out.version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("control record: negative key version ", out.version));
  }
  return out;
}

std::string EncodeControlRecordKey(ControlRecordType type) {
  std::string out;
  AppendBe16(&out, 0);
  AppendBe16(&out, static_cast<uint16_t>(type));
  return out;
}

absl::StatusOr<EndTransactionMarker> ParseEndTransactionMarker(std::optional<std::string_view> value) {
  if (!value.has_value()) return absl::InvalidArgumentError("end transaction marker: null value");
  ByteReader in(*value);
  EndTransactionMarker out;
  if (!in.ReadInt16(&out.version) || !in.ReadInt32(&out.coordinator_epoch)) {
    return absl::InvalidArgumentError(
        absl::StrCat("end transaction marker: value of ", value->size(), " bytes, need 6"));
  }
  if (out.version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("end transaction marker: negative version ", out.version));
  }
  return out;
}

std::string EncodeEndTransactionMarker(const EndTransactionMarker& marker) {
  std::string out;
  AppendBe16(&out, static_cast<uint16_t>(marker.version));
  AppendBe32(&out, static_cast<uint32_t>(marker.coordinator_epoch));
  return out;
}

}  // namespace chronik::protocol
