#include "chronik_protocol/records/compression.h"

#include <snappy.h>
#include <zstd.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Text-like data: compresses, but not to nothing.
std::string Compressible(size_t n, uint32_t seed) {
  static const char* const kWords[] = {"kafka ", "record ", "batch ", "offset ", "chronik ", "topic ", "42 "};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += kWords[rng() % 7];
  s.resize(n);
  return s;
}

void BigEndian32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

const std::string kXerialHeader("\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", 16);

struct Codec {
  const char* name;
  CompressionType type;
  SnappyFraming framing = SnappyFraming::kXerial;
};

class CodecTest : public ::testing::TestWithParam<Codec> {
 protected:
  CompressOptions Options() const {
    CompressOptions o;
    o.snappy_framing = GetParam().framing;
    return o;
  }
};

// The same tests minus those that only make sense for real compression.
class CompressingCodecTest : public CodecTest {};

const Codec kNoCompression{"none", CompressionType::kNone};
const Codec kCompressingCodecs[] = {
    {"gzip", CompressionType::kGzip},
    {"snappy_xerial", CompressionType::kSnappy, SnappyFraming::kXerial},
    {"snappy_raw", CompressionType::kSnappy, SnappyFraming::kRaw},
    {"lz4", CompressionType::kLz4},
    {"zstd", CompressionType::kZstd},
};

std::string CodecName(const ::testing::TestParamInfo<Codec>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(None, CodecTest, ::testing::Values(kNoCompression), CodecName);
INSTANTIATE_TEST_SUITE_P(Compressing, CodecTest, ::testing::ValuesIn(kCompressingCodecs), CodecName);
INSTANTIATE_TEST_SUITE_P(Compressing, CompressingCodecTest, ::testing::ValuesIn(kCompressingCodecs), CodecName);

TEST_P(CodecTest, RoundTripsManySizes) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{32 * 1024}, size_t{65536 + 17}, kMiB}) {
    for (const std::string& input : {Compressible(n, 1), RandomBytes(n, 2)}) {
      absl::StatusOr<std::string> compressed = Compress(GetParam().type, input, Options());
      ASSERT_TRUE(compressed.ok()) << compressed.status();
      absl::StatusOr<std::string> restored = Decompress(GetParam().type, *compressed, input.size());
      ASSERT_TRUE(restored.ok()) << "size " << n << ": " << restored.status();
      ASSERT_EQ(*restored, input) << "size " << n;
    }
  }
}

TEST_P(CompressingCodecTest, CompressibleDataShrinks) {
  const std::string input = Compressible(100000, 3);
  absl::StatusOr<std::string> compressed = Compress(GetParam().type, input, Options());
  ASSERT_TRUE(compressed.ok());
  EXPECT_LT(compressed->size(), input.size() / 2);
}

TEST_P(CodecTest, LimitIsInclusive) {
  const std::string input = Compressible(50000, 4);
  const std::string compressed = *Compress(GetParam().type, input, Options());
  EXPECT_TRUE(Decompress(GetParam().type, compressed, input.size()).ok());
  const absl::StatusOr<std::string> over = Decompress(GetParam().type, compressed, input.size() - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
}

TEST_P(CodecTest, DecompressAppendKeepsExistingContentAndRestoresOnFailure) {
  const std::string input = Compressible(5000, 5);
  const std::string compressed = *Compress(GetParam().type, input, Options());
  std::string out = "prefix";
  ASSERT_TRUE(DecompressAppend(GetParam().type, compressed, input.size(), &out).ok());
  EXPECT_EQ(out, "prefix" + input);
  out = "prefix";
  EXPECT_FALSE(DecompressAppend(GetParam().type, compressed, 10, &out).ok());
  EXPECT_EQ(out, "prefix");
}

// Every proper prefix of a compressed stream must fail cleanly (checked under ASan/UBSan too).
// snappy-java framing is the exception: a prefix ending on a block boundary is a valid shorter stream.
TEST_P(CompressingCodecTest, TruncatedInputFailsCleanly) {
  // Over two snappy-java blocks, several lz4 blocks.
  const std::string input = Compressible(70000, 6);
  const std::string compressed = *Compress(GetParam().type, input, Options());
  const bool xerial = GetParam().type == CompressionType::kSnappy && GetParam().framing == SnappyFraming::kXerial;
  for (size_t n = 0; n < compressed.size(); ++n) {
    absl::StatusOr<std::string> out = Decompress(GetParam().type, compressed.substr(0, n), 2 * input.size());
    if (xerial && out.ok()) {
      ASSERT_EQ(*out, input.substr(0, out->size())) << "prefix " << n;
      ASSERT_LT(out->size(), input.size());
      continue;
    }
    ASSERT_FALSE(out.ok()) << "prefix of " << n << " bytes decoded";
    ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
  }
}

TEST_P(CompressingCodecTest, CorruptInputNeverCrashes) {
  const std::string input = Compressible(20000, 7);
  const std::string compressed = *Compress(GetParam().type, input, Options());
  std::mt19937 rng(8);
  for (int i = 0; i < 500; ++i) {
    std::string bad = compressed;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    absl::StatusOr<std::string> out = Decompress(GetParam().type, bad, 2 * input.size());
    if (out.ok()) {
      EXPECT_LE(out->size(), 2 * input.size());
    }
  }
}

TEST(CompressionTest, CompressionTypeFromId) {
  for (int id = 0; id <= 4; ++id) {
    absl::StatusOr<CompressionType> t = CompressionTypeFromId(id);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(static_cast<int>(*t), id);
  }
  for (int id = 5; id <= 7; ++id) {
    EXPECT_EQ(CompressionTypeFromId(id).status().code(), absl::StatusCode::kUnimplemented);
  }
  EXPECT_EQ(CompressionTypeFromId(8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CompressionTypeFromId(-1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CompressionTypeName(CompressionType::kZstd), "zstd");
  EXPECT_EQ(CompressionTypeName(CompressionType::kNone), "none");
}

TEST(CompressionTest, InvalidLevelsRejected) {
  CompressOptions o;
  o.level = 42;
  EXPECT_EQ(Compress(CompressionType::kGzip, "x", o).status().code(), absl::StatusCode::kInvalidArgument);
  o.level = 1000;
  EXPECT_EQ(Compress(CompressionType::kZstd, "x", o).status().code(), absl::StatusCode::kInvalidArgument);
  o.level = 9;
  EXPECT_TRUE(Compress(CompressionType::kGzip, "x", o).ok());
  EXPECT_TRUE(Compress(CompressionType::kZstd, "x", o).ok());
  EXPECT_TRUE(Compress(CompressionType::kLz4, "x", o).ok());  // lz4 HC
}

// ---- snappy framings

TEST(SnappyTest, XerialEncodingHasJavaHeaderAndBlocks) {
  const std::string input = Compressible(100000, 9);
  const std::string out = *Compress(CompressionType::kSnappy, input);
  ASSERT_GT(out.size(), 16u);
  EXPECT_EQ(out.substr(0, 16), kXerialHeader);
  // 100000 bytes in 32 KiB blocks: four blocks, each a length-prefixed raw snappy block.
  size_t pos = 16;
  int blocks = 0;
  std::string restored;
  while (pos < out.size()) {
    ASSERT_LE(pos + 4, out.size());
    const uint32_t len = (uint32_t{static_cast<uint8_t>(out[pos])} << 24) |
                         (uint32_t{static_cast<uint8_t>(out[pos + 1])} << 16) |
                         (uint32_t{static_cast<uint8_t>(out[pos + 2])} << 8) | static_cast<uint8_t>(out[pos + 3]);
    std::string block;
    ASSERT_TRUE(snappy::Uncompress(out.data() + pos + 4, len, &block));
    restored += block;
    pos += 4 + len;
    ++blocks;
  }
  EXPECT_EQ(blocks, 4);
  EXPECT_EQ(restored, input);
}

TEST(SnappyTest, DecodesHandMadeXerialStream) {
  const std::string a = Compressible(1000, 10), b = RandomBytes(500, 11);
  std::string ca, cb;
  snappy::Compress(a.data(), a.size(), &ca);
  snappy::Compress(b.data(), b.size(), &cb);
  std::string stream = kXerialHeader;
  BigEndian32(&stream, static_cast<uint32_t>(ca.size()));
  stream += ca;
  BigEndian32(&stream, static_cast<uint32_t>(cb.size()));
  stream += cb;
  absl::StatusOr<std::string> out = Decompress(CompressionType::kSnappy, stream, kMiB);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, a + b);

  // snappy-java reads concatenated streams, header and all.
  out = Decompress(CompressionType::kSnappy, stream + stream, kMiB);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, a + b + a + b);

  // The limit covers all blocks together, not each block.
  EXPECT_EQ(Decompress(CompressionType::kSnappy, stream, a.size() + 10).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SnappyTest, DecodesRawBlockFromLibrary) {
  const std::string input = Compressible(70000, 12);
  std::string raw;
  snappy::Compress(input.data(), input.size(), &raw);
  absl::StatusOr<std::string> out = Decompress(CompressionType::kSnappy, raw, kMiB);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input);
}

TEST(SnappyTest, MalformedXerialRejected) {
  std::string negative = kXerialHeader;
  BigEndian32(&negative, 0x80000001u);
  EXPECT_EQ(Decompress(CompressionType::kSnappy, negative, kMiB).status().code(), absl::StatusCode::kInvalidArgument);
  std::string overlong = kXerialHeader;
  BigEndian32(&overlong, 100);
  overlong += "abc";
  EXPECT_EQ(Decompress(CompressionType::kSnappy, overlong, kMiB).status().code(), absl::StatusCode::kInvalidArgument);
  std::string short_length = kXerialHeader + std::string("\0\0", 2);
  EXPECT_EQ(Decompress(CompressionType::kSnappy, short_length, kMiB).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decompress(CompressionType::kSnappy, kXerialHeader.substr(0, 12), kMiB).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnappyTest, RawLengthHeaderAboveLimitRejectedBeforeAllocating) {
  // A raw block claiming 2^31 bytes: the claim alone must not cause an allocation.
  const std::string claim("\x80\x80\x80\x80\x08\x00", 6);
  std::string out;
  const absl::Status s = DecompressAppend(CompressionType::kSnappy, claim, kMiB, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_LT(out.capacity(), kMiB);
}

// ---- lz4 legacy checksum

TEST(Lz4Test, LegacyMagicV0HeaderChecksum) {
  const std::string input = Compressible(10000, 13);
  CompressOptions legacy;
  legacy.lz4_header_checksum = Lz4HeaderChecksum::kKafkaLegacyMagicV0;
  const std::string broken = *Compress(CompressionType::kLz4, input, legacy);
  const std::string standard = *Compress(CompressionType::kLz4, input);
  ASSERT_EQ(broken.size(), standard.size());
  // Only the header checksum byte (after magic, FLG and BD) differs.
  for (size_t i = 0; i < standard.size(); ++i) {
    if (i != 6) {
      ASSERT_EQ(broken[i], standard[i]) << "byte " << i;
    }
  }
  EXPECT_NE(broken[6], standard[6]);

  EXPECT_EQ(Decompress(CompressionType::kLz4, broken, kMiB).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> out =
      Decompress(CompressionType::kLz4, broken, kMiB, Lz4HeaderChecksum::kKafkaLegacyMagicV0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input);
  // Legacy reading also accepts correct checksums, as Kafka does for magic 0.
  out = Decompress(CompressionType::kLz4, standard, kMiB, Lz4HeaderChecksum::kKafkaLegacyMagicV0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input);
}

// ---- concatenation and trailing data

TEST(CompressionTest, ConcatenatedMembersAndFrames) {
  const std::string a = Compressible(3000, 14), b = Compressible(4000, 15);
  for (CompressionType t : {CompressionType::kGzip, CompressionType::kLz4, CompressionType::kZstd}) {
    const std::string joined = *Compress(t, a) + *Compress(t, b);
    absl::StatusOr<std::string> out = Decompress(t, joined, kMiB);
    ASSERT_TRUE(out.ok()) << CompressionTypeName(t) << ": " << out.status();
    EXPECT_EQ(*out, a + b);
  }
}

TEST(CompressionTest, GzipTrailingGarbageRejected) {
  const std::string stream = *Compress(CompressionType::kGzip, "hello") + "junk";
  EXPECT_EQ(Decompress(CompressionType::kGzip, stream, kMiB).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CompressionTest, EmptyInputIsNotAValidStream) {
  for (CompressionType t : {CompressionType::kGzip, CompressionType::kLz4, CompressionType::kZstd,
                            CompressionType::kSnappy}) {
    EXPECT_EQ(Decompress(t, "", kMiB).status().code(), absl::StatusCode::kInvalidArgument) << CompressionTypeName(t);
  }
}

// ---- decompression bombs

TEST(BombTest, ZstdHundredMiBOfZerosWithOneMiBLimit) {
  const std::string zeros(100 * kMiB, '\0');
  const std::string bomb = *Compress(CompressionType::kZstd, zeros);
  ASSERT_LT(bomb.size(), 64 * 1024u);
  std::string out;
  const absl::Status s = DecompressAppend(CompressionType::kZstd, bomb, kMiB, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(out.empty());
  EXPECT_LE(out.capacity(), 2 * kMiB + 2);
}

// Without a content size in the frame and with a window that fits the limit, only the output
// bound can stop it.
TEST(BombTest, ZstdStreamedWithoutContentSize) {
  const std::string zeros(100 * kMiB, '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 20);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  std::string bomb(ZSTD_compressBound(zeros.size()), '\0');
  const size_t n = ZSTD_compress2(cctx, bomb.data(), bomb.size(), zeros.data(), zeros.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  bomb.resize(n);
  ASSERT_EQ(ZSTD_getFrameContentSize(bomb.data(), bomb.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  std::string out;
  const absl::Status s = DecompressAppend(CompressionType::kZstd, bomb, kMiB, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_LE(out.capacity(), 2 * kMiB + 2);
  // The same stream with room for it decodes.
  absl::StatusOr<std::string> all = Decompress(CompressionType::kZstd, bomb, zeros.size());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), zeros.size());
}

TEST(BombTest, OtherCodecsStopAtTheLimit) {
  const std::string zeros(64 * kMiB, '\0');
  CompressOptions fast;
  fast.level = 1;
  for (CompressionType t : {CompressionType::kGzip, CompressionType::kLz4, CompressionType::kSnappy}) {
    const std::string bomb = *Compress(t, zeros, t == CompressionType::kGzip ? fast : CompressOptions{});
    std::string out;
    const absl::Status s = DecompressAppend(t, bomb, kMiB, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << CompressionTypeName(t) << ": " << s;
    EXPECT_LE(out.capacity(), 2 * kMiB + 2) << CompressionTypeName(t);
  }
}

}  // namespace
}  // namespace chronik::protocol
