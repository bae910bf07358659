#include "chronik_protocol/records/record_batch.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

constexpr size_t kLimit = 64 << 20;

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void SetBe(std::string* s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
}

// Re-seals a hand-edited batch: batchLength from the size, CRC from the content.
void Reseal(std::string* batch) {
  SetBe(batch, batch_v2::kBatchLengthOffset, batch->size() - batch_v2::kLogOverhead, 4);
  absl::StatusOr<MutableRecordBatchView> m =
      MutableRecordBatchView::Parse(batch->data(), batch->size(), CrcCheck::kSkip);
  ASSERT_TRUE(m.ok()) << m.status();
  m->RecomputeCrc();
}

struct Header {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Rec {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  friend bool operator==(const Rec&, const Rec&) = default;
};

std::optional<std::string> Copy(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

absl::StatusOr<std::vector<Rec>> ReadAll(std::string_view bytes, size_t limit = kLimit) {
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  if (!batch.ok()) return batch.status();
  absl::StatusOr<RecordReader> reader = RecordReader::Create(*batch, limit);
  if (!reader.ok()) return reader.status();
  std::vector<Rec> out;
  RecordView r;
  while (reader->Next(&r)) {
    Rec rec{r.offset, r.timestamp, Copy(r.key), Copy(r.value), {}};
    for (const RecordHeader& h : r.headers) rec.headers.push_back({std::string(h.key), Copy(h.value)});
    EXPECT_EQ(static_cast<int32_t>(rec.headers.size()), r.headers.size());
    out.push_back(std::move(rec));
  }
  if (!reader->status().ok()) return reader->status();
  return out;
}

absl::StatusOr<std::string> Build(const RecordBatchBuilder::Options& options, const std::vector<Rec>& records) {
  RecordBatchBuilder builder(options);
  for (const Rec& r : records) {
    std::vector<RecordHeader> headers;
    for (const Header& h : r.headers) headers.push_back({h.key, h.value});
    absl::Status s = builder.AppendWithOffset(r.offset, r.timestamp, r.key, r.value, headers);
    if (!s.ok()) return s;
  }
  return builder.Build();
}

std::vector<Rec> SampleRecords(int64_t base_offset) {
  return {
      {base_offset, 1000, "key-0", "value-0", {}},
      {base_offset + 1, 1005, std::nullopt, "value without key", {{"h1", "v1"}, {"h2", std::nullopt}}},
      {base_offset + 2, 990, "key-2", std::nullopt, {{"", ""}}},
      {base_offset + 3, 1001, "", "", {}},
      {base_offset + 4, 1002, std::string("\0bin\xff", 5), std::string(3000, 'x'), {{"trace", std::string(200, 't')}}},
  };
}

const CompressionType kAllCodecs[] = {CompressionType::kNone, CompressionType::kGzip, CompressionType::kSnappy,
                                      CompressionType::kLz4, CompressionType::kZstd};

class CodecBatchTest : public ::testing::TestWithParam<CompressionType> {};

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecBatchTest, ::testing::ValuesIn(kAllCodecs),
                         [](const auto& info) { return std::string(CompressionTypeName(info.param)); });

// The layout checked against the protocol guide independently of the builder's own code.
TEST(RecordBatchTest, BuilderMatchesHandAssembledBytes) {
  std::string expected;
  PutBe(&expected, 5, 8);    // baseOffset
  PutBe(&expected, 58, 4);   // batchLength: 49 header bytes after it + 9 record bytes
  PutBe(&expected, 3, 4);    // partitionLeaderEpoch
  expected.push_back(2);     // magic
  PutBe(&expected, 0, 4);    // crc, filled below
  PutBe(&expected, 0, 2);    // attributes
  PutBe(&expected, 0, 4);    // lastOffsetDelta
  PutBe(&expected, 1000, 8);  // baseTimestamp
  PutBe(&expected, 1000, 8);  // maxTimestamp
  PutBe(&expected, 77, 8);   // producerId
  PutBe(&expected, 2, 2);    // producerEpoch
  PutBe(&expected, 9, 4);    // baseSequence
  PutBe(&expected, 1, 4);    // recordsCount
  // length 8 (zig-zag 0x10), attributes, timestampDelta 0, offsetDelta 0, key "k", value "v", 0 headers
  expected += std::string("\x10\x00\x00\x00\x02k\x02v\x00", 9);
  SetBe(&expected, 17, Crc32c(std::string_view(expected).substr(21)), 4);

  RecordBatchBuilder::Options o;
  o.base_offset = 5;
  o.partition_leader_epoch = 3;
  o.producer_id = 77;
  o.producer_epoch = 2;
  o.base_sequence = 9;
  RecordBatchBuilder builder(o);
  ASSERT_TRUE(builder.Append(1000, "k", "v").ok());
  absl::StatusOr<std::string> built = builder.Build();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(*built, expected);
}

TEST_P(CodecBatchTest, RoundTripsRecordsAndHeader) {
  RecordBatchBuilder::Options o;
  o.base_offset = 100;
  o.partition_leader_epoch = 12;
  o.compression = GetParam();
  o.transactional = true;
  o.producer_id = 4242;
  o.producer_epoch = 7;
  o.base_sequence = 31;
  const std::vector<Rec> records = SampleRecords(100);
  absl::StatusOr<std::string> bytes = Build(o, records);
  ASSERT_TRUE(bytes.ok()) << bytes.status();

  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(*bytes);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->size_bytes(), bytes->size());
  EXPECT_EQ(batch->base_offset(), 100);
  EXPECT_EQ(batch->batch_length(), static_cast<int32_t>(bytes->size() - 12));
  EXPECT_EQ(batch->partition_leader_epoch(), 12);
  EXPECT_EQ(batch->magic(), 2);
  EXPECT_EQ(batch->compression(), GetParam());
  EXPECT_EQ(batch->timestamp_type(), TimestampType::kCreateTime);
  EXPECT_TRUE(batch->is_transactional());
  EXPECT_FALSE(batch->is_control());
  EXPECT_FALSE(batch->has_delete_horizon());
  EXPECT_EQ(batch->delete_horizon_ms(), std::nullopt);
  EXPECT_EQ(batch->last_offset_delta(), 4);
  EXPECT_EQ(batch->last_offset(), 104);
  EXPECT_EQ(batch->next_offset(), 105);
  EXPECT_EQ(batch->base_timestamp(), 1000);  // the first record's, even though a later one is smaller
  EXPECT_EQ(batch->max_timestamp(), 1005);
  EXPECT_EQ(batch->producer_id(), 4242);
  EXPECT_EQ(batch->producer_epoch(), 7);
  EXPECT_EQ(batch->base_sequence(), 31);
  EXPECT_EQ(batch->records_count(), 5);
  EXPECT_EQ(batch->crc(), batch->ComputeCrc());

  absl::StatusOr<std::vector<Rec>> read = ReadAll(*bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, records);
}

TEST_P(CodecBatchTest, ManyRecords) {
  std::mt19937 rng(static_cast<uint32_t>(GetParam()));
  std::vector<Rec> records;
  for (int i = 0; i < 5000; ++i) {
    Rec r;
    r.offset = i;
    r.timestamp = 1'700'000'000'000 + static_cast<int64_t>(rng() % 100000) - 50000;
    if (rng() % 5 != 0) r.key = "key-" + std::to_string(rng() % 1000);
    if (rng() % 7 != 0) r.value = std::string(rng() % 300, static_cast<char>('a' + i % 26));
    for (uint32_t h = rng() % 3; h > 0; --h) r.headers.push_back({"h" + std::to_string(h), std::to_string(i)});
    records.push_back(std::move(r));
  }
  RecordBatchBuilder::Options o;
  o.compression = GetParam();
  absl::StatusOr<std::string> bytes = Build(o, records);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<std::vector<Rec>> read = ReadAll(*bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, records);
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(*bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(ValidateRecords(*batch, kLimit).ok());
}

// Every prefix of a batch is rejected by Parse (the batchLength no longer fits).
TEST_P(CodecBatchTest, EveryTruncationOfTheBatchFails) {
  RecordBatchBuilder::Options o;
  o.compression = GetParam();
  const std::string bytes = *Build(o, SampleRecords(0));
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(batch.ok()) << "prefix " << n;
    ASSERT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// A cut records section with a re-sealed header (valid length and CRC) must fail while decoding.
TEST_P(CodecBatchTest, EveryTruncationOfTheRecordsWithValidCrcFails) {
  RecordBatchBuilder::Options o;
  o.compression = GetParam();
  const std::string bytes = *Build(o, SampleRecords(0));
  for (size_t n = batch_v2::kHeaderSize; n < bytes.size(); ++n) {
    std::string cut = bytes.substr(0, n);
    Reseal(&cut);
    absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(cut);
    ASSERT_TRUE(batch.ok()) << batch.status();
    const absl::Status s = ValidateRecords(*batch, kLimit);
    ASSERT_FALSE(s.ok()) << "records cut to " << n - batch_v2::kHeaderSize << " bytes";
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
}

TEST_P(CodecBatchTest, DecompressionLimitApplies) {
  if (GetParam() == CompressionType::kNone) return;  // nothing is decompressed
  RecordBatchBuilder::Options o;
  o.compression = GetParam();
  RecordBatchBuilder builder(o);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(builder.Append(0, std::nullopt, std::string(10000, 'z')).ok());
  const std::string bytes = *builder.Build();
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<RecordReader> reader = RecordReader::Create(*batch, 100000);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kResourceExhausted) << reader.status();
  EXPECT_TRUE(RecordReader::Create(*batch, 2'000'000).ok());
}

TEST(RecordBatchTest, UncompressedRecordsAreViewsIntoTheBatch) {
  const std::string bytes = *Build({}, SampleRecords(0));
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<RecordReader> reader = RecordReader::Create(*batch, 0);  // limit unused: nothing to inflate
  ASSERT_TRUE(reader.ok());
  RecordView r;
  ASSERT_TRUE(reader->Next(&r));
  EXPECT_GE(r.key->data(), bytes.data());
  EXPECT_LT(r.key->data(), bytes.data() + bytes.size());
  EXPECT_EQ(r.encoded.data(), bytes.data() + batch_v2::kHeaderSize);
}

TEST(RecordBatchTest, ReaderViewsSurviveMoves) {
  // One tiny record: the decompressed section is short enough for std::string's inline storage,
  // which a moved std::string would not keep at the same address.
  RecordBatchBuilder::Options o;
  o.compression = CompressionType::kZstd;
  RecordBatchBuilder builder(o);
  ASSERT_TRUE(builder.Append(0, std::nullopt, "v").ok());
  const std::string bytes = *builder.Build();
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<RecordReader> created = RecordReader::Create(*batch, 1000);
  ASSERT_TRUE(created.ok());
  ASSERT_LT(created->records_data().size(), 15u);
  RecordReader reader = std::move(*created);
  RecordView r;
  ASSERT_TRUE(reader.Next(&r));
  RecordReader moved_again = std::move(reader);
  EXPECT_EQ(r.value, "v");
  EXPECT_FALSE(moved_again.Next(&r));
  EXPECT_TRUE(moved_again.status().ok());
}

TEST(RecordBatchTest, OffsetGapsAndDecreasingTimestamps) {
  const std::vector<Rec> records = {
      {50, 500, "a", "1", {}}, {53, 400, "b", "2", {}}, {60, 700, "c", "3", {}}};
  RecordBatchBuilder::Options o;
  o.base_offset = 50;
  const std::string bytes = *Build(o, records);
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->last_offset_delta(), 10);
  EXPECT_EQ(batch->records_count(), 3);
  EXPECT_EQ(batch->max_timestamp(), 700);
  EXPECT_EQ(*ReadAll(bytes), records);
}

TEST(RecordBatchTest, LogAppendTimeBatchReportsAppendTimeForEveryRecord) {
  RecordBatchBuilder::Options o;
  o.timestamp_type = TimestampType::kLogAppendTime;
  o.log_append_time_ms = 123456;
  const std::string bytes = *Build(o, SampleRecords(0));
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(batch->max_timestamp(), 123456);
  absl::StatusOr<std::vector<Rec>> read = ReadAll(bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  for (const Rec& r : *read) EXPECT_EQ(r.timestamp, 123456);
}

TEST(RecordBatchTest, DeleteHorizon) {
  RecordBatchBuilder::Options o;
  o.delete_horizon_ms = 5'000'000;
  const std::vector<Rec> records = SampleRecords(0);
  const std::string bytes = *Build(o, records);
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->has_delete_horizon());
  EXPECT_EQ(batch->delete_horizon_ms(), 5'000'000);
  EXPECT_EQ(batch->base_timestamp(), 5'000'000);
  EXPECT_EQ(*ReadAll(bytes), records);  // record timestamps are deltas from the horizon
}

TEST(RecordBatchTest, ParseIgnoresBytesAfterTheBatch) {
  const std::string bytes = *Build({}, SampleRecords(0));
  const std::string with_tail = bytes + "more bytes";
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(with_tail);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->bytes(), bytes);
}

TEST(RecordBatchTest, CrcCorruptionDetected) {
  for (CompressionType codec : {CompressionType::kNone, CompressionType::kZstd}) {
    RecordBatchBuilder::Options o;
    o.compression = codec;
    const std::string bytes = *Build(o, SampleRecords(0));
    for (size_t i = batch_v2::kAttributesOffset; i < bytes.size(); ++i) {
      std::string bad = bytes;
      bad[i] ^= 0x10;  // keeps the compression bits, flips the transactional bit in attributes
      absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bad);
      ASSERT_FALSE(batch.ok()) << "byte " << i;
      ASSERT_EQ(batch.status().code(), absl::StatusCode::kDataLoss) << "byte " << i << ": " << batch.status();
      EXPECT_TRUE(RecordBatchView::Parse(bad, CrcCheck::kSkip).ok());
    }
    for (size_t i = batch_v2::kCrcOffset; i < batch_v2::kAttributesOffset; ++i) {
      std::string bad = bytes;
      bad[i] ^= 0x01;
      ASSERT_EQ(RecordBatchView::Parse(bad).status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(RecordBatchTest, InvalidHeadersRejected) {
  const std::string good = *Build({}, SampleRecords(0));
  auto code_after = [&](auto edit) {
    std::string bad = good;
    edit(&bad);
    return RecordBatchView::Parse(bad, CrcCheck::kSkip).status().code();
  };
  EXPECT_EQ(code_after([](std::string* b) { SetBe(b, 8, 48, 4); }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_after([](std::string* b) { SetBe(b, 8, 0xFFFFFFFF, 4); }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_after([&](std::string* b) { SetBe(b, 8, good.size() - 11, 4); }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_after([](std::string* b) { (*b)[16] = 1; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_after([](std::string* b) { (*b)[16] = 3; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_after([](std::string* b) { SetBe(b, 21, 5, 2); }), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(code_after([](std::string* b) { SetBe(b, 21, 7, 2); }), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(code_after([](std::string* b) { SetBe(b, 57, 0xFFFFFFFF, 4); }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code_after([](std::string* b) { SetBe(b, 23, 0x80000000, 4); }), absl::StatusCode::kInvalidArgument);
}

TEST(RecordBatchTest, RecordCountMustMatchTheRecords) {
  const std::string good = *Build({}, SampleRecords(0));
  for (int32_t count : {0, 4, 6, 1000}) {
    std::string bad = good;
    SetBe(&bad, batch_v2::kRecordsCountOffset, static_cast<uint32_t>(count), 4);
    Reseal(&bad);
    absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bad);
    ASSERT_TRUE(batch.ok());
    EXPECT_EQ(ValidateRecords(*batch, kLimit).code(), absl::StatusCode::kInvalidArgument) << "count " << count;
  }
}

TEST(RecordBatchTest, MalformedRecordFieldsRejected) {
  auto batch_with_records = [](const std::string& records, int32_t count) {
    std::string bytes = *Build({}, {{0, 0, "k", "v", {}}});
    bytes.resize(batch_v2::kHeaderSize);
    bytes += records;
    SetBe(&bytes, batch_v2::kRecordsCountOffset, static_cast<uint32_t>(count), 4);
    Reseal(&bytes);
    return bytes;
  };
  auto validate = [&](const std::string& records, int32_t count = 1) {
    const std::string bytes = batch_with_records(records, count);
    return ValidateRecords(*RecordBatchView::Parse(bytes), kLimit).code();
  };
  // Well-formed baseline: length 7: attrs, ts, offset, null key (1 = zig-zag -1), null value, 0 headers.
  EXPECT_EQ(validate(std::string("\x0c\x00\x00\x00\x01\x01\x00", 7)), absl::StatusCode::kOk);
  // Key length -2.
  EXPECT_EQ(validate(std::string("\x0c\x00\x00\x00\x03\x01\x00", 7)), absl::StatusCode::kInvalidArgument);
  // Negative header count.
  EXPECT_EQ(validate(std::string("\x0c\x00\x00\x00\x01\x01\x01", 7)), absl::StatusCode::kInvalidArgument);
  // Record length larger than what follows.
  EXPECT_EQ(validate(std::string("\x0e\x00\x00\x00\x01\x01\x00", 7)), absl::StatusCode::kInvalidArgument);
  // Record length shorter than its fields.
  EXPECT_EQ(validate(std::string("\x0a\x00\x00\x00\x01\x01\x00", 7)), absl::StatusCode::kInvalidArgument);
  // Record length with bytes left over inside the record.
  EXPECT_EQ(validate(std::string("\x0e\x00\x00\x00\x01\x01\x00\x00", 8)), absl::StatusCode::kInvalidArgument);
  // Negative record length.
  EXPECT_EQ(validate(std::string("\x01", 1)), absl::StatusCode::kInvalidArgument);
  // Unterminated varint.
  EXPECT_EQ(validate(std::string("\xff\xff\xff\xff\xff\xff", 6)), absl::StatusCode::kInvalidArgument);
  // Header key length -1 (keys may not be null).
  EXPECT_EQ(validate(std::string("\x10\x00\x00\x00\x01\x01\x02\x01\x01", 9)), absl::StatusCode::kInvalidArgument);
  // Huge header count in a short record.
  EXPECT_EQ(validate(std::string("\x14\x00\x00\x00\x01\x01\xfe\xff\xff\xff\x0f", 11)),
            absl::StatusCode::kInvalidArgument);
}

// Random damage to an uncompressed records section (with a valid CRC) never crashes; run under
// ASan/UBSan to make that meaningful.
TEST(RecordBatchTest, RandomMutationsNeverCrash) {
  const std::string good = *Build({}, SampleRecords(0));
  std::mt19937 rng(99);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const size_t at = batch_v2::kHeaderSize + rng() % (bad.size() - batch_v2::kHeaderSize);
      bad[at] = static_cast<char>(rng());
    }
    Reseal(&bad);
    absl::StatusOr<std::vector<Rec>> read = ReadAll(bad);
    if (!read.ok()) ++rejected;
  }
  EXPECT_GT(rejected, 0);
}

TEST(RecordBatchTest, PatchingInPlaceKeepsTheBatchValid) {
  RecordBatchBuilder::Options o;
  o.compression = CompressionType::kLz4;
  std::string bytes = *Build(o, SampleRecords(0));
  const uint32_t original_crc = RecordBatchView::Parse(bytes)->crc();

  absl::StatusOr<MutableRecordBatchView> m = MutableRecordBatchView::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(m.ok()) << m.status();
  m->SetBaseOffset(1'000'000);
  m->SetPartitionLeaderEpoch(42);
  // Offsets and epoch lie outside the CRC: no recomputation needed or done.
  ASSERT_TRUE(RecordBatchView::Parse(bytes).ok());
  EXPECT_EQ(RecordBatchView::Parse(bytes)->crc(), original_crc);

  m->SetMaxTimestamp(TimestampType::kLogAppendTime, 777);
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_NE(batch->crc(), original_crc);
  EXPECT_EQ(batch->base_offset(), 1'000'000);
  EXPECT_EQ(batch->partition_leader_epoch(), 42);
  EXPECT_EQ(batch->timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(batch->max_timestamp(), 777);
  EXPECT_EQ(batch->compression(), CompressionType::kLz4);
  EXPECT_EQ(m->view().bytes(), batch->bytes());
  absl::StatusOr<std::vector<Rec>> read = ReadAll(bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  for (size_t i = 0; i < read->size(); ++i) {
    EXPECT_EQ((*read)[i].offset, 1'000'000 + static_cast<int64_t>(i));
    EXPECT_EQ((*read)[i].timestamp, 777);
  }

  m->SetMaxTimestamp(TimestampType::kCreateTime, 1005);
  batch = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->timestamp_type(), TimestampType::kCreateTime);
  EXPECT_EQ((*ReadAll(bytes))[1].timestamp, 1005);
}

TEST(RecordBatchTest, MutableParseRejectsBadCrc) {
  std::string bytes = *Build({}, SampleRecords(0));
  bytes.back() ^= 1;
  EXPECT_EQ(MutableRecordBatchView::Parse(bytes.data(), bytes.size()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(RecordBatchTest, EndTransactionMarkerBatch) {
  EndTransactionMarkerBatch marker;
  marker.base_offset = 900;
  marker.producer_id = 55;
  marker.producer_epoch = 3;
  marker.type = ControlRecordType::kAbort;
  marker.coordinator_epoch = 17;
  marker.timestamp_ms = 1234;
  absl::StatusOr<std::string> bytes = BuildEndTransactionMarkerBatch(marker);
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(*bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->is_control());
  EXPECT_TRUE(batch->is_transactional());
  EXPECT_EQ(batch->producer_id(), 55);
  EXPECT_EQ(batch->producer_epoch(), 3);
  EXPECT_EQ(batch->base_sequence(), -1);
  EXPECT_EQ(batch->records_count(), 1);
  absl::StatusOr<RecordReader> reader = RecordReader::Create(*batch, kLimit);
  ASSERT_TRUE(reader.ok());
  RecordView r;
  ASSERT_TRUE(reader->Next(&r));
  EXPECT_EQ(r.offset, 900);
  EXPECT_EQ(r.timestamp, 1234);
  absl::StatusOr<ControlRecordKey> key = ParseControlRecordKey(r.key);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->version, 0);
  EXPECT_EQ(key->type, static_cast<int16_t>(ControlRecordType::kAbort));
  absl::StatusOr<EndTransactionMarker> value = ParseEndTransactionMarker(r.value);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->coordinator_epoch, 17);
  EXPECT_EQ(*r.key, std::string("\0\0\0\0", 4));
  EXPECT_EQ(*r.value, std::string("\0\0\0\0\0\x11", 6));
}

TEST(RecordBatchTest, ControlRecordParsingErrors) {
  EXPECT_FALSE(ParseControlRecordKey(std::nullopt).ok());
  EXPECT_FALSE(ParseControlRecordKey(std::string_view("\0\0\0", 3)).ok());
  EXPECT_FALSE(ParseControlRecordKey(std::string_view("\xff\xff\0\0", 4)).ok());
  // Newer versions and unknown types (KRaft's) are read, not rejected.
  absl::StatusOr<ControlRecordKey> key = ParseControlRecordKey(std::string_view("\0\x01\0\x05\x99", 5));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->version, 1);
  EXPECT_EQ(key->type, 5);
  EXPECT_EQ(ParseControlRecordKey(EncodeControlRecordKey(ControlRecordType::kCommit))->type, 1);
  EXPECT_FALSE(ParseEndTransactionMarker(std::nullopt).ok());
  EXPECT_FALSE(ParseEndTransactionMarker(std::string_view("\0\0\0\0\0", 5)).ok());
  EXPECT_EQ(ParseEndTransactionMarker(EncodeEndTransactionMarker({0, -5}))->coordinator_epoch, -5);
}

TEST(RecordBatchBuilderTest, Errors) {
  RecordBatchBuilder::Options o;
  o.base_offset = 10;
  RecordBatchBuilder builder(o);
  EXPECT_EQ(builder.Build().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(builder.AppendWithOffset(9, 0, "k", "v").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(builder.AppendWithOffset(12, 0, "k", "v").ok());
  EXPECT_EQ(builder.AppendWithOffset(12, 0, "k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.AppendWithOffset(10 + (int64_t{1} << 31), 0, "k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.next_offset(), 13);
  ASSERT_TRUE(builder.Append(0, "k", "v").ok());
  EXPECT_EQ(builder.record_count(), 2);
  EXPECT_GT(builder.uncompressed_size_bytes(), batch_v2::kHeaderSize);
  // Building does not consume the builder.
  EXPECT_EQ(*builder.Build(), *builder.Build());
}

TEST(RecordBatchBuilderTest, ExtremeOffsetsAndTimestampsDoNotOverflow) {
  RecordBatchBuilder::Options o;
  o.base_offset = INT64_MAX - 1;
  RecordBatchBuilder builder(o);
  ASSERT_TRUE(builder.Append(INT64_MIN, "a", "b").ok());
  ASSERT_TRUE(builder.Append(INT64_MAX, "a", "b").ok());
  const std::string bytes = *builder.Build();
  absl::StatusOr<std::vector<Rec>> read = ReadAll(bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].timestamp, INT64_MIN);
  EXPECT_EQ((*read)[1].timestamp, INT64_MAX);
  EXPECT_EQ((*read)[1].offset, INT64_MAX);
  EXPECT_EQ(RecordBatchView::Parse(bytes)->next_offset(), INT64_MIN);  // wraps, as in Java
}

}  // namespace
}  // namespace chronik::protocol
