#include "chronik_protocol/records/records.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "chronik_protocol/records/legacy_message_set.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

constexpr size_t kLimit = 64 << 20;

std::string V2Batch(int64_t base_offset, int records, CompressionType codec = CompressionType::kNone,
                    bool transactional = false) {
  RecordBatchBuilder::Options o;
  o.base_offset = base_offset;
  o.compression = codec;
  o.transactional = transactional;
  o.producer_id = transactional ? 9 : -1;
  RecordBatchBuilder builder(o);
  for (int i = 0; i < records; ++i) {
    EXPECT_TRUE(builder.Append(1000 + i, "key", "value-" + std::to_string(i)).ok());
  }
  return *builder.Build();
}

std::string LegacySet(int8_t magic, int64_t first_offset, int messages,
                      CompressionType codec = CompressionType::kNone) {
  LegacyMessageSetBuilder::Options o;
  o.magic = magic;
  o.compression = codec;
  LegacyMessageSetBuilder builder(o);
  for (int i = 0; i < messages; ++i) EXPECT_TRUE(builder.Append(first_offset + i, 2000 + i, "k", "v").ok());
  return *builder.Build();
}

std::vector<RecordsEntry> Entries(RecordsIterator it, absl::Status* status) {
  std::vector<RecordsEntry> out;
  RecordsEntry e;
  while (it.Next(&e)) out.push_back(e);
  *status = it.status();
  return out;
}

TEST(RecordsTest, DetectMagic) {
  EXPECT_EQ(*DetectMagic(V2Batch(0, 1)), 2);
  EXPECT_EQ(*DetectMagic(LegacySet(1, 0, 1)), 1);
  EXPECT_EQ(*DetectMagic(LegacySet(0, 0, 1)), 0);
  EXPECT_FALSE(DetectMagic(std::string(16, '\0')).ok());
  std::string bad = V2Batch(0, 1);
  bad[16] = 3;
  EXPECT_FALSE(DetectMagic(bad).ok());
  bad[16] = static_cast<char>(-1);
  EXPECT_FALSE(DetectMagic(bad).ok());
}

TEST(RecordsTest, IteratesConcatenatedBatches) {
  const std::string a = V2Batch(0, 3), b = V2Batch(3, 2, CompressionType::kZstd), c = V2Batch(5, 4);
  absl::Status status;
  const std::string all = a + b + c;
  std::vector<RecordsEntry> entries = Entries(RecordsIterator::ForProduce(all), &status);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].bytes, a);
  EXPECT_EQ(entries[1].bytes, b);
  EXPECT_EQ(entries[2].bytes, c);
  EXPECT_EQ(entries[1].batch->base_offset(), 3);
  EXPECT_EQ(entries[1].batch->compression(), CompressionType::kZstd);
  EXPECT_FALSE(entries[0].message.has_value());
}

// A log written across a message-format upgrade holds every magic; fetches return them in order.
TEST(RecordsTest, MixedMagicsInOneFetch) {
  const std::string log = LegacySet(0, 0, 2) + LegacySet(1, 2, 3, CompressionType::kGzip) + V2Batch(5, 2);
  absl::Status status;
  std::vector<RecordsEntry> entries = Entries(RecordsIterator::ForFetch(log), &status);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].magic, 0);
  EXPECT_EQ(entries[1].magic, 0);
  EXPECT_EQ(entries[2].magic, 1);
  EXPECT_TRUE(entries[2].message->is_compressed_wrapper());
  EXPECT_EQ(entries[2].message->offset, 4);
  EXPECT_EQ(entries[3].magic, 2);
  EXPECT_EQ(entries[3].batch->base_offset(), 5);
}

TEST(RecordsTest, PartialTrailingEntryAtEveryCut) {
  const std::vector<std::string> parts = {V2Batch(0, 3), V2Batch(3, 10, CompressionType::kLz4),
                                          LegacySet(1, 13, 2, CompressionType::kGzip), V2Batch(15, 1)};
  std::string all;
  std::vector<size_t> ends;
  for (const std::string& p : parts) {
    all += p;
    ends.push_back(all.size());
  }
  for (size_t n = 0; n <= all.size(); ++n) {
    const std::string_view prefix = std::string_view(all).substr(0, n);
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= n) ++complete;
    const bool at_boundary = n == 0 || (complete > 0 && ends[complete - 1] == n);

    RecordsIterator fetch = RecordsIterator::ForFetch(prefix);
    absl::Status status;
    RecordsEntry e;
    size_t count = 0;
    while (fetch.Next(&e)) ++count;
    ASSERT_TRUE(fetch.status().ok()) << "cut " << n << ": " << fetch.status();
    ASSERT_EQ(count, complete) << "cut " << n;
    ASSERT_EQ(fetch.stopped_at_partial_entry(), !at_boundary) << "cut " << n;
    ASSERT_EQ(fetch.bytes_consumed(), complete == 0 ? 0 : ends[complete - 1]);

    std::vector<RecordsEntry> produced = Entries(RecordsIterator::ForProduce(prefix), &status);
    ASSERT_EQ(status.ok(), at_boundary) << "cut " << n;
    ASSERT_EQ(produced.size(), complete);
  }
}

TEST(RecordsTest, CorruptEntriesStopIteration) {
  std::string bytes = V2Batch(0, 2) + V2Batch(2, 2);
  bytes.back() ^= 1;  // CRC of the second batch
  absl::Status status;
  std::vector<RecordsEntry> entries = Entries(RecordsIterator::ForFetch(bytes), &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(entries.size(), 1u);
  // Skipping the CRC check (for data already verified) lets it through.
  entries = Entries(RecordsIterator(bytes, PartialTrailingEntry::kStop, CrcCheck::kSkip), &status);
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(entries.size(), 2u);

  // An entry size below any magic's minimum is corruption, not a partial entry.
  std::string tiny = V2Batch(0, 1);
  tiny[8] = tiny[9] = tiny[10] = 0;
  tiny[11] = 13;
  Entries(RecordsIterator::ForFetch(tiny), &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(RecordsTest, ValidateProducedV2) {
  const std::string records = V2Batch(0, 3, CompressionType::kGzip, true) + V2Batch(0, 4);
  absl::StatusOr<ProducedRecordsSummary> summary = ValidateProducedRecords(records, kLimit);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->magic, 2);
  EXPECT_EQ(summary->entry_count, 2);
  EXPECT_EQ(summary->record_count, 7);
  EXPECT_EQ(summary->compression, CompressionType::kGzip);
  EXPECT_EQ(summary->max_timestamp, 1003);
  EXPECT_TRUE(summary->has_transactional);
  EXPECT_FALSE(summary->has_control);
}

TEST(RecordsTest, ValidateProducedLegacy) {
  const std::string records = LegacySet(1, 0, 3, CompressionType::kSnappy) + LegacySet(1, 3, 2);
  absl::StatusOr<ProducedRecordsSummary> summary = ValidateProducedRecords(records, kLimit);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->magic, 1);
  EXPECT_EQ(summary->entry_count, 3);  // one wrapper, two plain messages
  EXPECT_EQ(summary->record_count, 5);
  EXPECT_EQ(summary->compression, CompressionType::kSnappy);
  EXPECT_EQ(summary->max_timestamp, 2002);

  absl::StatusOr<ProducedRecordsSummary> v0 = ValidateProducedRecords(LegacySet(0, 0, 2), kLimit);
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(v0->max_timestamp, kNoTimestamp);
}

TEST(RecordsTest, ValidateProducedRejects) {
  EXPECT_EQ(ValidateProducedRecords("", kLimit).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateProducedRecords(LegacySet(1, 0, 1) + V2Batch(1, 1), kLimit).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string whole = V2Batch(0, 2);
  EXPECT_EQ(ValidateProducedRecords(whole.substr(0, whole.size() - 1), kLimit).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A valid header over records that do not decode.
  std::string bad_count = V2Batch(0, 2);
  bad_count[batch_v2::kRecordsCountOffset + 3] = 3;
  absl::StatusOr<MutableRecordBatchView> m =
      MutableRecordBatchView::Parse(bad_count.data(), bad_count.size(), CrcCheck::kSkip);
  ASSERT_TRUE(m.ok());
  m->RecomputeCrc();
  EXPECT_EQ(ValidateProducedRecords(bad_count, kLimit).status().code(), absl::StatusCode::kInvalidArgument);

  // The decompression budget spans all batches.
  RecordBatchBuilder::Options o;
  o.compression = CompressionType::kZstd;
  RecordBatchBuilder big(o);
  ASSERT_TRUE(big.Append(0, std::nullopt, std::string(600'000, 'x')).ok());
  const std::string one = *big.Build();
  EXPECT_TRUE(ValidateProducedRecords(one, 1'000'000).ok());
  EXPECT_EQ(ValidateProducedRecords(one + one, 1'000'000).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace chronik::protocol
