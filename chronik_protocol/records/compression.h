#pragma once

// The codecs Kafka producers may use for record batches and legacy wrapper messages. Every
// decompressor takes a hard limit on its output: untrusted input can claim or expand to any size,
// so the limit (not a size header in the data) bounds what is allocated.
//
// Errors: kInvalidArgument for corrupt or truncated compressed data, kResourceExhausted when the
// output would exceed the limit, kUnimplemented for compression ids Kafka does not define.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chronik::protocol {

// The value of attribute bits 0-2 in batches and legacy messages.
enum class CompressionType : int8_t {
  kNone = 0,
  kGzip = 1,
  kSnappy = 2,
  kLz4 = 3,
  kZstd = 4,
};

inline constexpr int kCompressionAttributeMask = 0x07;

// Maps attribute bits 0-2 to a codec; ids 5-7 are kUnimplemented (Kafka's
// UNSUPPORTED_COMPRESSION_TYPE).
absl::StatusOr<CompressionType> CompressionTypeFromId(int id);

// "none", "gzip", "snappy", "lz4", "zstd": the names of Kafka's compression.type config.
std::string_view CompressionTypeName(CompressionType type);

// Java clients wrap snappy in snappy-java's ("xerial") stream framing; librdkafka and others may
// send a bare snappy block. Both are accepted when decoding.
enum class SnappyFraming : uint8_t {
  kXerial,
  kRaw,
};

// Kafka before 0.10 computed the LZ4 frame header checksum over the wrong bytes (the magic number
// was included). Magic-0 messages keep that quirk for old clients: they are written with the
// broken checksum and read without checking it. Everything else uses the standard frame format.
enum class Lz4HeaderChecksum : uint8_t {
  kStandard,
  kKafkaLegacyMagicV0,
};

struct CompressOptions {
  // The codec's own default when unset (gzip 6, lz4 fast mode, zstd 3). Snappy has no levels.
  std::optional<int> level;
  SnappyFraming snappy_framing = SnappyFraming::kXerial;
  Lz4HeaderChecksum lz4_header_checksum = Lz4HeaderChecksum::kStandard;
};

// Appends the compressed form of `input` to `*out`. kNone appends `input` unchanged.
absl::Status CompressAppend(CompressionType type, std::string_view input, const CompressOptions& options,
                            std::string* out);

absl::StatusOr<std::string> Compress(CompressionType type, std::string_view input,
                                     const CompressOptions& options = {});

// Appends the decompressed form of `input` to `*out`, producing at most `max_output_bytes` bytes;
// input that would decompress to more fails with kResourceExhausted. Concatenated gzip members and
// lz4/zstd frames are decoded in sequence. On failure `*out` is restored to its original size.
absl::Status DecompressAppend(CompressionType type, std::string_view input, size_t max_output_bytes,
                              std::string* out,
                              Lz4HeaderChecksum lz4_header_checksum = Lz4HeaderChecksum::kStandard);

absl::StatusOr<std::string> Decompress(CompressionType type, std::string_view input, size_t max_output_bytes,
                                       Lz4HeaderChecksum lz4_header_checksum = Lz4HeaderChecksum::kStandard);

}  // namespace chronik::protocol
