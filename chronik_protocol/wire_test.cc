#include "chronik_protocol/wire.h"

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
