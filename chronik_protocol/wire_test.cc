#include "chronik_protocol/wire.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "chronik_protocol/header.h"
#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

TEST(Wire, BigEndianIntegers) {
  std::string b;
  Writer w(&b);
  w.WriteInt16(0x0102);
  w.WriteInt32(-2);
  w.WriteInt64(0x0102030405060708);
  EXPECT_EQ(b, std::string("\x01\x02\xff\xff\xff\xfe\x01\x02\x03\x04\x05\x06\x07\x08", 14));
  Reader r(b);
  EXPECT_EQ(r.ReadInt16(), 0x0102);
  EXPECT_EQ(r.ReadInt32(), -2);
  EXPECT_EQ(r.ReadInt64(), 0x0102030405060708);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.ReadInt8(), 0);
  EXPECT_FALSE(r.ok());
}

TEST(Wire, CompactAndClassicStrings) {
  std::string b;
  Writer w(&b);
  w.WriteString("ab", true);
  w.WriteNullableString(std::nullopt, true);
  w.WriteString("ab", false);
  w.WriteNullableString(std::nullopt, false);
  EXPECT_EQ(b, std::string("\x03" "ab" "\x00" "\x00\x02" "ab" "\xff\xff", 10));
  Reader r(b);
  EXPECT_EQ(r.ReadString(true), "ab");
  EXPECT_FALSE(r.ReadNullableString(true).has_value());
  EXPECT_EQ(r.ReadString(false), "ab");
  EXPECT_FALSE(r.ReadNullableString(false).has_value());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Wire, NullForNonNullableFails) {
  Reader r(std::string_view("\xff\xff", 2));
  r.ReadString(false);
  EXPECT_FALSE(r.ok());
}

TEST(Wire, HugeLengthsFailWithoutAllocating) {
  // An array claiming 2^31-1 elements in a 4-byte frame.
  Reader r(std::string_view("\x7f\xff\xff\xff", 4));
  EXPECT_EQ(r.ReadArrayLength(false), 0);
  EXPECT_FALSE(r.ok());
  Reader r2(std::string_view("\x00\x10" "abc", 5));
  r2.ReadString(false);
  EXPECT_FALSE(r2.ok());
}

TEST(Wire, OverlongVarintFails) {
  Reader r(std::string_view("\xff\xff\xff\xff\xff\x01", 6));
  r.ReadUnsignedVarint();
  EXPECT_FALSE(r.ok());
}

TEST(Wire, OverlongClassicStringFailsTheWriter) {
  std::string b;
  Writer w(&b);
  w.WriteString(std::string(40000, 'x'), /*compact=*/true);
  EXPECT_TRUE(w.ok());
  w.WriteString(std::string(40000, 'x'), /*compact=*/false);
  EXPECT_FALSE(w.ok());
}

TEST(Wire, TaggedFieldsOutOfOrderAreRejected) {
  std::string b("\x02\x05\x00\x02\x00", 5);
  Reader r(b);
  std::vector<TaggedField> unknown;
  ReadTaggedFields(r, unknown);
  EXPECT_FALSE(r.ok());
}

TEST(Wire, TaggedFieldsAreSortedByTag) {
  std::string b;
  Writer w(&b);
  WriteTaggedFields(w, {TaggedField{5, "x"}}, {TaggedField{2, "yy"}});
  EXPECT_EQ(b, std::string("\x02" "\x02\x02yy" "\x05\x01x", 8));
}

// A temporary file holding `content`, open for reading; closed and removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string path = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/wireXXXXXX";
    fd_ = ::mkstemp(path.data());
    ::unlink(path.c_str());
    EXPECT_EQ(::write(fd_, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  }
  ~TempFile() { ::close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

TEST(Wire, RecordsSharedRangesAreSplicedOrRead) {
  auto file = std::make_shared<TempFile>("0123456789");
  Records records("ab");
  records.shared.push_back(SharedRange{file, file->fd(), 2, 3});
  records.shared.push_back(SharedRange{file, file->fd(), 8, 2});
  EXPECT_EQ(records.size(), 7);
  EXPECT_EQ(*records.Flatten(), "ab23489");

  // Without a splice list the writer reads the ranges in.
  std::string plain;
  Writer w(&plain);
  w.WriteInt8(7);
  w.WriteNullableRecords(records, /*compact=*/true);
  w.WriteInt8(9);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(plain, std::string("\x07\x08" "ab23489" "\x09"));

  // With one, the ranges stay in the file and are noted where they go.
  SplicedBytes spliced;
  Writer ws(&spliced.bytes, &spliced.splices);
  ws.WriteInt8(7);
  ws.WriteNullableRecords(records, /*compact=*/true);
  ws.WriteInt8(9);
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(spliced.bytes, std::string("\x07\x08" "ab" "\x09"));
  ASSERT_EQ(spliced.splices.size(), 2u);
  EXPECT_EQ(spliced.splices[0].at, 4u);
  EXPECT_EQ(spliced.splices[1].at, 4u);
  EXPECT_EQ(spliced.size(), static_cast<int64_t>(plain.size()));
  EXPECT_EQ(*spliced.Flatten(), plain);

  // Decoding gives bytes.
  Reader r(plain);
  r.ReadInt8();
  std::optional<std::string> decoded = r.ReadNullableBytes(true);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(Records(*decoded), Records("ab23489"));
}

TEST(Wire, RecordsMemoryRangesAreSplicedOrCopied) {
  auto chunk = std::make_shared<std::string>("0123456789");
  Records records("ab");
  records.shared.push_back(SharedRange{chunk, -1, 3, 4, chunk->data()});
  records.shared.push_back(SharedRange{chunk, -1, 0, 10, chunk->data()}.Sub(8, 2));
  EXPECT_EQ(records.size(), 8);
  EXPECT_EQ(*records.Flatten(), "ab345689");

  std::string plain;
  Writer w(&plain);
  w.WriteRecords(records, /*compact=*/true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(plain, std::string("\x09" "ab345689"));

  SplicedBytes spliced;
  Writer ws(&spliced.bytes, &spliced.splices);
  ws.WriteRecords(records, /*compact=*/true);
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(spliced.bytes, std::string("\x09" "ab"));
  ASSERT_EQ(spliced.splices.size(), 2u);
  EXPECT_EQ(*spliced.Flatten(), plain);
  // The range keeps its memory alive.
  std::weak_ptr<std::string> weak = chunk;
  chunk.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(*spliced.Flatten(), plain);
}

TEST(Wire, RecordsRangeBeyondTheFileIsAnError) {
  auto file = std::make_shared<TempFile>("0123");
  Records records;
  records.shared.push_back(SharedRange{file, file->fd(), 2, 5});
  EXPECT_FALSE(records.Flatten().ok());
  std::string out;
  Writer w(&out);
  w.WriteRecords(records, /*compact=*/false);
  EXPECT_FALSE(w.ok());
}

TEST(Header, ParsesFlexibleRequestFrame) {
  // ApiVersions v3 as librdkafka sends it: header v2 with client id and an empty tag section.
  RequestHeader h;
  h.api_key = 18;
  h.api_version = 3;
  h.correlation_id = 1;
  h.client_id = "rdkafka";
  std::string frame;
  Writer w(&frame);
  h.Encode(w, 2);
  w.WriteRaw(std::string_view("\x08librdkafka\x06" "2.0.2\x00", 18));
  auto parsed = ParseRequestFrame(frame);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->version_supported);
  EXPECT_EQ(parsed->header.client_id, "rdkafka");
  EXPECT_EQ(parsed->body.size(), 18u);
}

TEST(Header, UnknownKeyAndVersionStillGiveCorrelationId) {
  RequestHeader h;
  h.api_key = 18;
  h.api_version = 99;
  h.correlation_id = 77;
  h.client_id = "x";
  std::string frame;
  Writer w(&frame);
  h.Encode(w, 1);
  auto parsed = ParseRequestFrame(frame);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->version_supported);
  EXPECT_EQ(parsed->header.correlation_id, 77);

  h.api_key = 9999;
  frame.clear();
  h.Encode(w, 1);
  parsed = ParseRequestFrame(frame);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->api, nullptr);
  EXPECT_EQ(parsed->header.correlation_id, 77);

  EXPECT_FALSE(ParseRequestFrame(std::string_view("\x00\x12\x00", 3)).ok());
}

}  // namespace
}  // namespace chronik::protocol
