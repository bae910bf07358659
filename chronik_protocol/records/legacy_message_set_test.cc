#include "chronik_protocol/records/legacy_message_set.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "chronik_protocol/records/compression.h"
#include "chronik_protocol/records/crc32c.h"
#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

constexpr size_t kLimit = 64 << 20;

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void PutNullable(std::string* out, const std::optional<std::string>& v) {
  if (!v) {
    PutBe(out, 0xFFFFFFFFu, 4);
    return;
  }
  PutBe(out, v->size(), 4);
  *out += *v;
}

// Writes one message straight from the protocol guide's layout, independently of the builder,
// with whatever attributes and offsets a test needs (including invalid ones).
std::string HandMessage(int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp,
                        const std::optional<std::string>& key, const std::optional<std::string>& value) {
  std::string body;
  body.push_back(static_cast<char>(magic));
  body.push_back(static_cast<char>(attributes));
  if (magic == 1) PutBe(&body, static_cast<uint64_t>(timestamp), 8);
  PutNullable(&body, key);
  PutNullable(&body, value);
  std::string out;
  PutBe(&out, static_cast<uint64_t>(offset), 8);
  PutBe(&out, body.size() + 4, 4);
  PutBe(&out, Crc32Ieee(body), 4);
  return out + body;
}

struct Msg {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  friend bool operator==(const Msg&, const Msg&) = default;
};

std::optional<std::string> Copy(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

struct ReadResult {
  std::vector<Msg> messages;
  absl::Status status;
  bool stopped_at_partial = false;
};

ReadResult ReadAll(LegacyMessageSetReader reader) {
  ReadResult result;
  LegacyMessageView m;
  while (reader.Next(&m)) result.messages.push_back({m.offset, m.timestamp, Copy(m.key), Copy(m.value)});
  result.status = reader.status();
  result.stopped_at_partial = reader.stopped_at_partial_entry();
  return result;
}

std::vector<Msg> SampleMessages(int64_t first_offset) {
  return {{first_offset, 1000, "k0", "v0"},
          {first_offset + 1, 1003, std::nullopt, "no key"},
          {first_offset + 2, 999, "k2", std::nullopt},
          {first_offset + 3, 1001, "", std::string(5000, 'q')}};
}

absl::StatusOr<std::string> Build(const LegacyMessageSetBuilder::Options& options, const std::vector<Msg>& messages) {
  LegacyMessageSetBuilder builder(options);
  for (const Msg& m : messages) {
    absl::Status s = builder.Append(m.offset, m.timestamp, m.key, m.value);
    if (!s.ok()) return s;
  }
  return builder.Build();
}

std::vector<Msg> WithoutTimestamps(std::vector<Msg> messages) {
  for (Msg& m : messages) m.timestamp = kNoTimestamp;
  return messages;
}

TEST(LegacyMessageSetTest, BuilderMatchesHandAssembledBytes) {
  for (int8_t magic : {0, 1}) {
    LegacyMessageSetBuilder::Options o;
    o.magic = magic;
    LegacyMessageSetBuilder builder(o);
    ASSERT_TRUE(builder.Append(7, 1234, "key", "value").ok());
    ASSERT_TRUE(builder.Append(8, 1235, std::nullopt, std::nullopt).ok());
    const std::string expected = HandMessage(7, magic, 0, 1234, "key", "value") +
                                 HandMessage(8, magic, 0, 1235, std::nullopt, std::nullopt);
    EXPECT_EQ(*builder.Build(), expected) << "magic " << int{magic};
  }
  // The smallest messages have exactly the minimum sizes.
  EXPECT_EQ(HandMessage(0, 0, 0, 0, std::nullopt, std::nullopt).size(), 12u + legacy_message::kMinSizeV0);
  EXPECT_EQ(HandMessage(0, 1, 0, 0, std::nullopt, std::nullopt).size(), 12u + legacy_message::kMinSizeV1);
}

TEST(LegacyMessageSetTest, ParsesSingleMessageFields) {
  const std::string bytes = HandMessage(42, 1, kLegacyTimestampTypeBit, 5555, std::nullopt, "v");
  const std::string with_tail = bytes + "trailing";
  absl::StatusOr<LegacyMessageView> m = ParseLegacyMessage(with_tail);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->offset, 42);
  EXPECT_EQ(m->magic, 1);
  EXPECT_EQ(m->timestamp, 5555);
  EXPECT_EQ(m->timestamp_type, TimestampType::kLogAppendTime);
  EXPECT_EQ(m->key, std::nullopt);
  EXPECT_EQ(m->value, "v");
  EXPECT_EQ(m->encoded, bytes);
  EXPECT_EQ(m->encoded.data(), with_tail.data());
  EXPECT_FALSE(m->is_compressed_wrapper());
  // Uncompressed values are views into the input.
  EXPECT_EQ(m->value->data(), with_tail.data() + bytes.size() - 1);

  absl::StatusOr<LegacyMessageView> v0 = ParseLegacyMessage(HandMessage(1, 0, 0, 0, "k", "v"));
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(v0->timestamp, kNoTimestamp);
  EXPECT_EQ(v0->timestamp_type, TimestampType::kNoTimestampType);
}

TEST(LegacyMessageSetTest, UncompressedRoundTrip) {
  for (int8_t magic : {0, 1}) {
    LegacyMessageSetBuilder::Options o;
    o.magic = magic;
    const std::vector<Msg> messages = SampleMessages(100);
    absl::StatusOr<std::string> bytes = Build(o, messages);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ReadResult r = ReadAll(LegacyMessageSetReader::ForProduce(*bytes, kLimit));
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.messages, magic == 0 ? WithoutTimestamps(messages) : messages);
  }
}

struct LegacyCase {
  int8_t magic;
  CompressionType codec;
};

class CompressedLegacyTest : public ::testing::TestWithParam<LegacyCase> {};

INSTANTIATE_TEST_SUITE_P(
    All, CompressedLegacyTest,
    ::testing::Values(LegacyCase{0, CompressionType::kGzip}, LegacyCase{0, CompressionType::kSnappy},
                      LegacyCase{0, CompressionType::kLz4}, LegacyCase{1, CompressionType::kGzip},
                      LegacyCase{1, CompressionType::kSnappy}, LegacyCase{1, CompressionType::kLz4}),
    [](const auto& info) {
      return "v" + std::to_string(info.param.magic) + "_" + std::string(CompressionTypeName(info.param.codec));
    });

TEST_P(CompressedLegacyTest, RoundTripWithAbsoluteOffsets) {
  LegacyMessageSetBuilder::Options o;
  o.magic = GetParam().magic;
  o.compression = GetParam().codec;
  // Gaps, as in a compacted log being down-converted.
  std::vector<Msg> messages = SampleMessages(0);
  messages[0].offset = 1000;
  messages[1].offset = 1002;
  messages[2].offset = 1003;
  messages[3].offset = 1010;
  absl::StatusOr<std::string> bytes = Build(o, messages);
  ASSERT_TRUE(bytes.ok()) << bytes.status();

  // One wrapper, at the last inner offset, carrying the max timestamp (magic 1).
  absl::StatusOr<LegacyMessageView> wrapper = ParseLegacyMessage(*bytes);
  ASSERT_TRUE(wrapper.ok()) << wrapper.status();
  EXPECT_EQ(wrapper->encoded.size(), bytes->size());
  EXPECT_TRUE(wrapper->is_compressed_wrapper());
  EXPECT_EQ(wrapper->compression(), GetParam().codec);
  EXPECT_EQ(wrapper->offset, 1010);
  EXPECT_EQ(wrapper->key, std::nullopt);
  if (GetParam().magic == 1) {
    EXPECT_EQ(wrapper->timestamp, 1003);
  }

  // Inner offsets as stored: relative for magic 1 (KIP-31), absolute for magic 0.
  absl::StatusOr<LegacyWrapperContents> contents = ExpandLegacyWrapper(*wrapper, kLimit);
  ASSERT_TRUE(contents.ok()) << contents.status();
  ASSERT_EQ(contents->messages.size(), 4u);
  absl::StatusOr<LegacyMessageView> first_inner = ParseLegacyMessage(contents->messages[0].encoded);
  absl::StatusOr<LegacyMessageView> last_inner = ParseLegacyMessage(contents->messages[3].encoded);
  EXPECT_EQ(first_inner->offset, GetParam().magic == 1 ? 0 : 1000);
  EXPECT_EQ(last_inner->offset, GetParam().magic == 1 ? 10 : 1010);

  ReadResult r = ReadAll(LegacyMessageSetReader::ForProduce(*bytes, kLimit));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, GetParam().magic == 0 ? WithoutTimestamps(messages) : messages);
}

TEST_P(CompressedLegacyTest, UncompressedAndCompressedEntriesMixed) {
  LegacyMessageSetBuilder::Options plain;
  plain.magic = GetParam().magic;
  LegacyMessageSetBuilder::Options packed = plain;
  packed.compression = GetParam().codec;
  const std::string bytes = *Build(plain, SampleMessages(0)) + *Build(packed, SampleMessages(4)) +
                            *Build(plain, SampleMessages(8)) + *Build(packed, SampleMessages(12));
  ReadResult r = ReadAll(LegacyMessageSetReader::ForFetch(bytes, kLimit));
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.messages.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(r.messages[i].offset, i);
}

TEST_P(CompressedLegacyTest, DecompressionBudgetCoversTheWholeSet) {
  LegacyMessageSetBuilder::Options o;
  o.magic = GetParam().magic;
  o.compression = GetParam().codec;
  LegacyMessageSetBuilder builder(o);
  ASSERT_TRUE(builder.Append(0, 0, std::nullopt, std::string(600'000, 'a')).ok());
  const std::string wrapper = *builder.Build();
  ReadResult one = ReadAll(LegacyMessageSetReader::ForProduce(wrapper, 1'000'000));
  EXPECT_TRUE(one.status.ok()) << one.status;
  ReadResult two = ReadAll(LegacyMessageSetReader::ForProduce(wrapper + wrapper, 1'000'000));
  EXPECT_EQ(two.status.code(), absl::StatusCode::kResourceExhausted) << two.status;
  EXPECT_EQ(two.messages.size(), 1u);
}

TEST(LegacyMessageSetTest, LogAppendTimeWrapperOverridesInnerTimestamps) {
  LegacyMessageSetBuilder::Options o;
  o.magic = 1;
  o.compression = CompressionType::kGzip;
  o.timestamp_type = TimestampType::kLogAppendTime;
  o.log_append_time_ms = 777;
  const std::string bytes = *Build(o, SampleMessages(0));
  ReadResult r = ReadAll(LegacyMessageSetReader::ForProduce(bytes, kLimit));
  ASSERT_TRUE(r.status.ok());
  for (const Msg& m : r.messages) EXPECT_EQ(m.timestamp, 777);

  // Also when the inner messages carry their own (create) timestamps, as a broker that stamped
  // only the wrapper leaves them.
  std::string inner;
  for (int i = 0; i < 3; ++i) inner += HandMessage(i, 1, 0, 100 + i, std::nullopt, "x");
  const std::string wrapper = HandMessage(2, 1, static_cast<int8_t>(1 | kLegacyTimestampTypeBit), 999, std::nullopt,
                                          *Compress(CompressionType::kGzip, inner));
  LegacyMessageSetReader reader = LegacyMessageSetReader::ForProduce(wrapper, kLimit);
  LegacyMessageView m;
  int n = 0;
  while (reader.Next(&m)) {
    EXPECT_EQ(m.timestamp, 999);
    EXPECT_EQ(m.timestamp_type, TimestampType::kLogAppendTime);
    ++n;
  }
  EXPECT_TRUE(reader.status().ok());
  EXPECT_EQ(n, 3);
}

TEST(LegacyMessageSetTest, UncompressedLogAppendTime) {
  LegacyMessageSetBuilder::Options o;
  o.magic = 1;
  o.timestamp_type = TimestampType::kLogAppendTime;
  o.log_append_time_ms = 31337;
  const std::string bytes = *Build(o, SampleMessages(0));
  LegacyMessageSetReader reader = LegacyMessageSetReader::ForProduce(bytes, kLimit);
  LegacyMessageView m;
  while (reader.Next(&m)) {
    EXPECT_EQ(m.timestamp, 31337);
    EXPECT_EQ(m.timestamp_type, TimestampType::kLogAppendTime);
  }
  EXPECT_TRUE(reader.status().ok());
}

TEST(LegacyMessageSetTest, Lz4MagicV0UsesKafkasLegacyHeaderChecksum) {
  LegacyMessageSetBuilder::Options o;
  o.magic = 0;
  o.compression = CompressionType::kLz4;
  const std::string bytes = *Build(o, SampleMessages(0));
  absl::StatusOr<LegacyMessageView> wrapper = ParseLegacyMessage(bytes);
  ASSERT_TRUE(wrapper.ok());
  // A standard lz4 reader rejects the frame; the magic-0 path reads it.
  EXPECT_FALSE(Decompress(CompressionType::kLz4, *wrapper->value, kLimit).ok());
  ReadResult r = ReadAll(LegacyMessageSetReader::ForProduce(bytes, kLimit));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages.size(), 4u);

  o.magic = 1;
  const std::string v1 = *Build(o, SampleMessages(0));
  EXPECT_TRUE(Decompress(CompressionType::kLz4, *ParseLegacyMessage(v1)->value, kLimit).ok());
}

TEST(LegacyMessageSetTest, PartialTrailingEntry) {
  LegacyMessageSetBuilder::Options o;
  o.magic = 1;
  const std::string whole = *Build(o, SampleMessages(0));
  size_t boundaries[5] = {0};
  {
    LegacyMessageSetReader reader = LegacyMessageSetReader::ForProduce(whole, kLimit);
    LegacyMessageView m;
    for (int i = 1; reader.Next(&m); ++i) boundaries[i] = boundaries[i - 1] + m.encoded.size();
    ASSERT_EQ(boundaries[4], whole.size());
  }
  for (size_t n = 0; n <= whole.size(); ++n) {
    const std::string_view prefix = std::string_view(whole).substr(0, n);
    int complete = 0;
    while (complete < 4 && boundaries[complete + 1] <= n) ++complete;
    const bool at_boundary = boundaries[complete] == n;

    ReadResult fetched = ReadAll(LegacyMessageSetReader::ForFetch(prefix, kLimit));
    ASSERT_TRUE(fetched.status.ok()) << "prefix " << n << ": " << fetched.status;
    ASSERT_EQ(fetched.messages.size(), static_cast<size_t>(complete)) << "prefix " << n;
    ASSERT_EQ(fetched.stopped_at_partial, !at_boundary) << "prefix " << n;

    ReadResult produced = ReadAll(LegacyMessageSetReader::ForProduce(prefix, kLimit));
    ASSERT_EQ(produced.status.ok(), at_boundary) << "prefix " << n;
    ASSERT_EQ(produced.messages.size(), static_cast<size_t>(complete));
    if (!at_boundary) {
      ASSERT_EQ(produced.status.code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(LegacyMessageSetTest, ImpossibleSizeIsCorruptionEvenWhenFetched) {
  std::string bytes = HandMessage(0, 1, 0, 0, "k", "v");
  std::string bad;
  PutBe(&bad, 1, 8);
  PutBe(&bad, 13, 4);  // below the 14-byte minimum
  bad += std::string(13, '\0');
  ReadResult r = ReadAll(LegacyMessageSetReader::ForFetch(bytes + bad, kLimit));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.messages.size(), 1u);
}

TEST(LegacyMessageSetTest, CrcCorruptionDetected) {
  const std::string good = HandMessage(3, 1, 0, 10, "key", "value");
  for (size_t i = legacy_message::kCrcOffset; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x40;
    absl::StatusOr<LegacyMessageView> m = ParseLegacyMessage(bad);
    ASSERT_FALSE(m.ok()) << "byte " << i;
    EXPECT_TRUE(ParseLegacyMessage(bad, CrcCheck::kSkip).ok() || m.status().code() != absl::StatusCode::kDataLoss);
  }
  // Inner messages are checked too.
  std::string inner = HandMessage(0, 1, 0, 0, "k", "v");
  inner.back() ^= 1;
  const std::string wrapper =
      HandMessage(0, 1, 1, 0, std::nullopt, *Compress(CompressionType::kGzip, inner));
  EXPECT_EQ(ReadAll(LegacyMessageSetReader::ForProduce(wrapper, kLimit)).status.code(), absl::StatusCode::kDataLoss);
}

TEST(LegacyMessageSetTest, InvalidMessagesRejected) {
  auto parse_code = [](const std::string& bytes) { return ParseLegacyMessage(bytes).status().code(); };
  EXPECT_EQ(parse_code(HandMessage(0, 2, 0, 0, "k", "v")), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_code(HandMessage(0, 1, 4, 0, std::nullopt, "v")), absl::StatusCode::kUnimplemented);  // zstd
  EXPECT_EQ(parse_code(HandMessage(0, 1, 6, 0, std::nullopt, "v")), absl::StatusCode::kUnimplemented);
  // Key length -2.
  std::string body("\x01\x00", 2);
  PutBe(&body, 0, 8);
  PutBe(&body, 0xFFFFFFFEu, 4);
  PutBe(&body, 0xFFFFFFFFu, 4);
  std::string msg;
  PutBe(&msg, 0, 8);
  PutBe(&msg, body.size() + 4, 4);
  PutBe(&msg, Crc32Ieee(body), 4);
  EXPECT_EQ(parse_code(msg + body), absl::StatusCode::kInvalidArgument);
  // Magic 1 needs room for its timestamp.
  std::string short_v1;
  PutBe(&short_v1, 0, 8);
  PutBe(&short_v1, 14, 4);
  std::string short_body("\x01\x00", 2);
  PutBe(&short_body, 0xFFFFFFFFu, 4);
  PutBe(&short_body, 0xFFFFFFFFu, 4);
  PutBe(&short_v1, Crc32Ieee(short_body), 4);
  EXPECT_EQ(parse_code(short_v1 + short_body), absl::StatusCode::kInvalidArgument);
  // Bytes left after the value.
  std::string tail_body("\x00\x00", 2);
  PutBe(&tail_body, 0xFFFFFFFFu, 4);
  PutBe(&tail_body, 0xFFFFFFFFu, 4);
  tail_body += "x";
  std::string tail;
  PutBe(&tail, 0, 8);
  PutBe(&tail, tail_body.size() + 4, 4);
  PutBe(&tail, Crc32Ieee(tail_body), 4);
  EXPECT_EQ(parse_code(tail + tail_body), absl::StatusCode::kInvalidArgument);
}

TEST(LegacyMessageSetTest, InvalidWrappersRejected) {
  auto code = [](const std::string& set) {
    return ReadAll(LegacyMessageSetReader::ForProduce(set, kLimit)).status.code();
  };
  const std::string inner_v1 = HandMessage(0, 1, 0, 0, "k", "v");
  // Null value.
  EXPECT_EQ(code(HandMessage(0, 1, 1, 0, std::nullopt, std::nullopt)), absl::StatusCode::kInvalidArgument);
  // Nothing inside.
  EXPECT_EQ(code(HandMessage(0, 1, 1, 0, std::nullopt, *Compress(CompressionType::kGzip, ""))),
            absl::StatusCode::kInvalidArgument);
  // Inner magic differs from the wrapper's.
  EXPECT_EQ(code(HandMessage(0, 0, 1, 0, std::nullopt, *Compress(CompressionType::kGzip, inner_v1))),
            absl::StatusCode::kInvalidArgument);
  // Nested compression.
  const std::string nested = HandMessage(0, 1, 1, 0, std::nullopt, *Compress(CompressionType::kGzip, inner_v1));
  EXPECT_EQ(code(HandMessage(0, 1, 1, 0, std::nullopt, *Compress(CompressionType::kGzip, nested))),
            absl::StatusCode::kInvalidArgument);
  // Truncated inner set.
  EXPECT_EQ(code(HandMessage(0, 1, 1, 0, std::nullopt,
                             *Compress(CompressionType::kGzip, inner_v1.substr(0, inner_v1.size() - 1)))),
            absl::StatusCode::kInvalidArgument);
  // Garbage instead of compressed data.
  EXPECT_EQ(code(HandMessage(0, 1, 1, 0, std::nullopt, "not gzip")), absl::StatusCode::kInvalidArgument);
  // Not a wrapper at all.
  EXPECT_FALSE(ExpandLegacyWrapper(*ParseLegacyMessage(inner_v1), kLimit).ok());
}

TEST(LegacyMessageSetTest, RandomMutationsNeverCrash) {
  LegacyMessageSetBuilder::Options o;
  o.magic = 1;
  const std::string good = *Build(o, SampleMessages(0));
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    for (int f = 0; f < 3; ++f) bad[rng() % bad.size()] = static_cast<char>(rng());
    ReadResult fetched = ReadAll(LegacyMessageSetReader(bad, PartialTrailingEntry::kStop, kLimit));
    (void)fetched;
  }
}

TEST(LegacyMessageSetBuilderTest, Errors) {
  LegacyMessageSetBuilder::Options o;
  o.magic = 1;
  LegacyMessageSetBuilder empty(o);
  EXPECT_EQ(empty.Build().status().code(), absl::StatusCode::kFailedPrecondition);

  LegacyMessageSetBuilder builder(o);
  ASSERT_TRUE(builder.Append(5, 0, "k", "v").ok());
  EXPECT_EQ(builder.Append(5, 0, "k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.message_count(), 1);

  o.compression = CompressionType::kZstd;
  LegacyMessageSetBuilder zstd(o);
  EXPECT_EQ(zstd.Append(0, 0, "k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(zstd.Build().ok());

  o.compression = CompressionType::kNone;
  o.magic = 2;
  LegacyMessageSetBuilder magic2(o);
  EXPECT_EQ(magic2.Append(0, 0, "k", "v").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace chronik::protocol
