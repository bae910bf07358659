#include "chronik_protocol/records/compression.h"

#define ZLIB_CONST
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/byte_io.h"
#include "chronik_protocol/records/status_util.h"

namespace chronik::protocol {
namespace {

using records_internal::AbslView;
using records_internal::AppendBe32;
using records_internal::ByteReader;
using records_internal::StoreBe32;

absl::Status Corrupt(std::string_view codec, std::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(codec), ": corrupt compressed data: ", AbslView(detail)));
}

absl::Status TooLarge(std::string_view codec, size_t limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat(AbslView(codec), ": decompressed data exceeds the limit of ", limit, " bytes"));
}

inline uint32_t LoadLe32(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}

// Decoders write into windows of `*out` that grow geometrically from a hint, but the total never
// exceeds limit + 1 bytes: a decoder filling that last byte is how "more than the limit" is
// noticed, without believing any size the (untrusted) input states.
class BoundedSink {
 public:
  struct Window {
    char* data;
    size_t size;
  };

  BoundedSink(std::string* out, size_t limit, size_t size_hint)
      : out_(out),
        base_(out->size()),
        limit_(limit),
        capacity_cap_(limit == SIZE_MAX ? limit : limit + 1),
        hint_(size_hint) {}

  // Callers check exceeded() after every Commit, so there is always room when this is called.
  Window Next() {
    if (written_ == out_->size() - base_) Grow();
    return {out_->data() + base_ + written_, out_->size() - base_ - written_};
  }

  void Commit(size_t n) { written_ += n; }
  bool exceeded() const { return written_ > limit_; }
  void Finish() { out_->resize(base_ + written_); }

 private:
  static constexpr size_t kMinChunk = 1024;

  void Grow() {
    const size_t cap = out_->size() - base_;
    size_t want;
    if (cap == 0) {
      want = std::max(hint_, kMinChunk);
    } else {
      want = cap > capacity_cap_ / 2 ? capacity_cap_ : cap * 2;
    }
    want = std::min(want, capacity_cap_);
    if (want > cap) out_->resize(base_ + want);
  }

  std::string* out_;
  size_t base_;
  size_t limit_;
  size_t capacity_cap_;
  size_t hint_;
  size_t written_ = 0;
};

size_t DefaultHint(std::string_view input) {
  return input.size() > SIZE_MAX / 4 ? SIZE_MAX : input.size() * 4;
}

// A size the data declares (gzip's ISIZE, zstd's content size) saves regrowing, but it is only a
// claim: corrupt or hostile input would otherwise make every attempt allocate the whole limit.
// Beyond a generous ratio the buffer grows geometrically instead, as the output proves itself.
size_t DeclaredSizeHint(uint64_t declared, std::string_view input) {
  constexpr size_t kMaxRatio = 32;
  constexpr size_t kFloor = 64 * 1024;
  const size_t cap = input.size() > SIZE_MAX / kMaxRatio ? SIZE_MAX : std::max(input.size() * kMaxRatio, kFloor);
  return declared >= cap ? cap : static_cast<size_t>(declared) + 1;
}

// ---------------------------------------------------------------------------------------------
// gzip

struct InflateCloser {
  void operator()(z_stream* z) const { inflateEnd(z); }
};

struct DeflateCloser {
  void operator()(z_stream* z) const { deflateEnd(z); }
};

// zlib counts in uInt; inputs beyond 4 GiB are handed over in pieces.
class ZlibInput {
 public:
  ZlibInput(z_stream* zs, std::string_view input)
      : zs_(zs), next_(reinterpret_cast<const Bytef*>(input.data())), left_(input.size()) {}

  void Refill() {
    if (zs_->avail_in != 0 || left_ == 0) return;
    const uInt n = static_cast<uInt>(std::min<size_t>(left_, UINT_MAX));
    zs_->next_in = next_;
    zs_->avail_in = n;
    next_ += n;
    left_ -= n;
  }

  bool exhausted() const { return zs_->avail_in == 0 && left_ == 0; }

 private:
  z_stream* zs_;
  const Bytef* next_;
  size_t left_;
};

absl::Status GzipDecompress(std::string_view input, size_t limit, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("gzip: inflateInit2 failed");
  std::unique_ptr<z_stream, InflateCloser> closer(&zs);

  // The trailer's ISIZE is the length mod 2^32, and only a hint.
  size_t hint = DefaultHint(input);
  if (input.size() >= 18) hint = DeclaredSizeHint(LoadLe32(input.data() + input.size() - 4), input);
  BoundedSink sink(out, limit, hint);
  ZlibInput in(&zs, input);

  for (;;) {
    in.Refill();
    const BoundedSink::Window w = sink.Next();
    const uInt avail = static_cast<uInt>(std::min<size_t>(w.size, UINT_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(w.data);
    zs.avail_out = avail;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    sink.Commit(avail - zs.avail_out);
    if (sink.exceeded()) return TooLarge("gzip", limit);
    if (rc == Z_STREAM_END) {
      in.Refill();
      if (in.exhausted()) break;
      // gzip(1) and Java's GZIPInputStream both read concatenated members.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1F && zs.next_in[1] == 0x8B) {
        inflateReset(&zs);
        continue;
      }
      return Corrupt("gzip", "trailing bytes after the gzip stream");
    }
    if (rc == Z_BUF_ERROR) {
      // The output window always has room, so no progress means the input ran out mid-stream.
      if (in.exhausted()) return Corrupt("gzip", "truncated stream");
      continue;
    }
    if (rc != Z_OK) return Corrupt("gzip", zs.msg != nullptr ? zs.msg : "inflate failed");
  }
  sink.Finish();
  return absl::OkStatus();
}

absl::Status GzipCompress(std::string_view input, std::optional<int> level, std::string* out) {
  const int lvl = level.value_or(Z_DEFAULT_COMPRESSION);
  if (lvl != Z_DEFAULT_COMPRESSION && (lvl < Z_NO_COMPRESSION || lvl > Z_BEST_COMPRESSION)) {
    return absl::InvalidArgumentError(absl::StrCat("gzip: compression level ", lvl, " is not in [0, 9]"));
  }
  z_stream zs{};
  if (deflateInit2(&zs, lvl, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("gzip: deflateInit2 failed");
  }
  std::unique_ptr<z_stream, DeflateCloser> closer(&zs);

  const size_t base = out->size();
  size_t capacity = deflateBound(&zs, input.size());
  out->resize(base + capacity);
  size_t produced = 0;
  ZlibInput in(&zs, input);
  for (;;) {
    in.Refill();
    if (produced == capacity) {
      capacity += capacity / 2 + 64;
      out->resize(base + capacity);
    }
    const uInt avail = static_cast<uInt>(std::min<size_t>(capacity - produced, UINT_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + base + produced);
    zs.avail_out = avail;
    const int rc = deflate(&zs, in.exhausted() ? Z_FINISH : Z_NO_FLUSH);
    produced += avail - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out->resize(base);
      return absl::InternalError(absl::StrCat("gzip: deflate failed (", rc, ")"));
    }
  }
  out->resize(base + produced);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// snappy

// snappy-java's stream header: magic, then int32 version and int32 minimum compatible version.
constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderSize = 16;
constexpr int32_t kXerialVersion = 1;
constexpr int32_t kXerialCompatibleVersion = 1;
// snappy-java's default block size, so Java consumers see the stream they would have written.
constexpr size_t kXerialBlockSize = 32 * 1024;

bool StartsWithXerialMagic(std::string_view input) {
  return input.size() >= sizeof(kXerialMagic) && std::memcmp(input.data(), kXerialMagic, sizeof(kXerialMagic)) == 0;
}

// `produced` is what earlier blocks of the same stream already wrote; the limit covers the total.
absl::Status SnappyRawBlockDecompress(std::string_view block, size_t limit, size_t produced, std::string* out) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
    return Corrupt("snappy", "invalid block length header");
  }
  if (length > limit - produced) return TooLarge("snappy", limit);
  const size_t base = out->size();
  out->resize(base + length);
  if (!snappy::RawUncompress(block.data(), block.size(), out->data() + base)) {
    out->resize(base);
    return Corrupt("snappy", "invalid block");
  }
  return absl::OkStatus();
}

absl::Status SnappyXerialDecompress(std::string_view input, size_t limit, std::string* out) {
  const size_t base = out->size();
  ByteReader r(input);
  while (!r.empty()) {
    // Concatenated snappy-java streams repeat the header; a block length can never look like it
    // because the magic's first byte would make the length negative.
    if (StartsWithXerialMagic(r.rest())) {
      std::string_view header;
      if (!r.ReadBytes(kXerialHeaderSize, &header)) return Corrupt("snappy", "truncated xerial header");
      continue;
    }
    int32_t length;
    if (!r.ReadInt32(&length)) return Corrupt("snappy", "truncated xerial block length");
    if (length < 0) return Corrupt("snappy", absl::StrCat("negative xerial block length ", length));
    std::string_view block;
    if (!r.ReadBytes(static_cast<size_t>(length), &block)) return Corrupt("snappy", "truncated xerial block");
    CHRONIK_RECORDS_RETURN_IF_ERROR(SnappyRawBlockDecompress(block, limit, out->size() - base, out));
  }
  return absl::OkStatus();
}

absl::Status SnappyDecompress(std::string_view input, size_t limit, std::string* out) {
  if (StartsWithXerialMagic(input)) return SnappyXerialDecompress(input, limit, out);
  return SnappyRawBlockDecompress(input, limit, 0, out);
}

void SnappyRawCompressAppend(std::string_view input, std::string* out) {
  const size_t base = out->size();
  out->resize(base + snappy::MaxCompressedLength(input.size()));
  size_t length = 0;
  snappy::RawCompress(input.data(), input.size(), out->data() + base, &length);
  out->resize(base + length);
}

void SnappyXerialCompress(std::string_view input, std::string* out) {
  out->append(kXerialMagic, sizeof(kXerialMagic));
  AppendBe32(out, kXerialVersion);
  AppendBe32(out, kXerialCompatibleVersion);
  for (size_t pos = 0; pos < input.size(); pos += kXerialBlockSize) {
    const std::string_view chunk = input.substr(pos, kXerialBlockSize);
    const size_t length_at = out->size();
    out->append(4, '\0');
    SnappyRawCompressAppend(chunk, out);
    StoreBe32(out->data() + length_at, static_cast<uint32_t>(out->size() - length_at - 4));
  }
}

// ---------------------------------------------------------------------------------------------
// lz4

constexpr uint32_t kLz4FrameMagic = 0x184D2204u;

// XXH32, as the LZ4 frame format specifies for its header checksum. Only the legacy Kafka quirk
// needs it (liblz4 keeps its copy private); inputs are a few bytes, so plain code is enough.
uint32_t Xxh32(const uint8_t* p, size_t n, uint32_t seed) {
  constexpr uint32_t kP1 = 2654435761u, kP2 = 2246822519u, kP3 = 3266489917u, kP4 = 668265263u,
                     kP5 = 374761393u;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  auto le32 = [](const uint8_t* q) {
    return uint32_t{q[0]} | (uint32_t{q[1]} << 8) | (uint32_t{q[2]} << 16) | (uint32_t{q[3]} << 24);
  };
  auto round = [&](uint32_t acc, uint32_t lane) { return rotl(acc + lane * kP2, 13) * kP1; };
  const uint8_t* const end = p + n;
  uint32_t h;
  if (n >= 16) {
    uint32_t v1 = seed + kP1 + kP2, v2 = seed + kP2, v3 = seed, v4 = seed - kP1;
    const uint8_t* const limit = end - 16;
    do {
      v1 = round(v1, le32(p));
      v2 = round(v2, le32(p + 4));
      v3 = round(v3, le32(p + 8));
      v4 = round(v4, le32(p + 12));
      p += 16;
    } while (p <= limit);
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint32_t>(n);
  while (end - p >= 4) {
    h = rotl(h + le32(p) * kP3, 17) * kP4;
    p += 4;
  }
  while (p < end) {
    h = rotl(h + uint32_t{*p} * kP5, 11) * kP1;
    ++p;
  }
  h ^= h >> 15;
  h *= kP2;
  h ^= h >> 13;
  h *= kP3;
  h ^= h >> 16;
  return h;
}

// Position of the header checksum byte of the lz4 frame starting `frame`, or 0 if `frame` does not
// hold a complete frame header.
size_t Lz4HeaderChecksumPosition(std::string_view frame) {
  if (frame.size() < 7 || LoadLe32(frame.data()) != kLz4FrameMagic) return 0;
  const auto flg = static_cast<uint8_t>(frame[4]);
  const size_t pos = 6 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  return pos < frame.size() ? pos : 0;
}

// The standard checksum covers the frame descriptor (from FLG); Kafka's old one started at the magic.
char Lz4HeaderChecksumByte(std::string_view frame, size_t position, Lz4HeaderChecksum kind) {
  const size_t start = kind == Lz4HeaderChecksum::kKafkaLegacyMagicV0 ? 0 : 4;
  const uint32_t h = Xxh32(reinterpret_cast<const uint8_t*>(frame.data()) + start, position - start, 0);
  return static_cast<char>((h >> 8) & 0xFF);
}

struct Lz4DctxFree {
  void operator()(LZ4F_dctx* d) const { LZ4F_freeDecompressionContext(d); }
};

absl::Status Lz4Decompress(std::string_view input, size_t limit, std::string* out,
                           Lz4HeaderChecksum header_checksum) {
  // Legacy magic-0 data may carry either checksum, so the header is rewritten with the correct one
  // and liblz4's check then passes. The copy is confined to this rare path.
  std::string patched;
  if (header_checksum == Lz4HeaderChecksum::kKafkaLegacyMagicV0) {
    const size_t hc = Lz4HeaderChecksumPosition(input);
    if (hc != 0) {
      patched.assign(input);
      patched[hc] = Lz4HeaderChecksumByte(patched, hc, Lz4HeaderChecksum::kStandard);
      input = patched;
    }
  }

  LZ4F_dctx* raw_dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_dctx, LZ4F_VERSION))) {
    return absl::ResourceExhaustedError("lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, Lz4DctxFree> dctx(raw_dctx);

  BoundedSink sink(out, limit, DefaultHint(input));
  const char* src = input.data();
  size_t src_left = input.size();
  size_t rc = 1;
  for (;;) {
    const BoundedSink::Window w = sink.Next();
    size_t dst_size = w.size;
    size_t src_size = src_left;
    rc = LZ4F_decompress(dctx.get(), w.data, &dst_size, src, &src_size, nullptr);
    if (LZ4F_isError(rc)) return Corrupt("lz4", LZ4F_getErrorName(rc));
    sink.Commit(dst_size);
    if (sink.exceeded()) return TooLarge("lz4", limit);
    src += src_size;
    src_left -= src_size;
    // A full window may mean liblz4 holds more decoded bytes; otherwise everything is flushed.
    if (src_left == 0 && dst_size < w.size) break;
  }
  // A zero hint means the last frame ended exactly at the end of the input; a following frame
  // would have been started by the same context.
  if (rc != 0) return Corrupt("lz4", "truncated frame");
  sink.Finish();
  return absl::OkStatus();
}

absl::Status Lz4Compress(std::string_view input, const CompressOptions& options, std::string* out) {
  // What Kafka's Java producer writes: 64 KiB independent blocks and no optional checksums or
  // content size, which the oldest Java consumers cannot read.
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.compressionLevel = options.level.value_or(0);

  const size_t base = out->size();
  const size_t bound = LZ4F_compressFrameBound(input.size(), &prefs);
  out->resize(base + bound);
  const size_t n = LZ4F_compressFrame(out->data() + base, bound, input.data(), input.size(), &prefs);
  if (LZ4F_isError(n)) {
    out->resize(base);
    return absl::InternalError(absl::StrCat("lz4: ", LZ4F_getErrorName(n)));
  }
  out->resize(base + n);
  if (options.lz4_header_checksum == Lz4HeaderChecksum::kKafkaLegacyMagicV0) {
    const std::string_view frame(out->data() + base, n);
    const size_t hc = Lz4HeaderChecksumPosition(frame);
    if (hc == 0) return absl::InternalError("lz4: liblz4 wrote no frame header");
    (*out)[base + hc] = Lz4HeaderChecksumByte(frame, hc, Lz4HeaderChecksum::kKafkaLegacyMagicV0);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// zstd

struct ZstdDctxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// The decoder allocates a window buffer as large as the frame header asks for. Capping the window
// at the output limit keeps that allocation bounded too, but never below 8 MiB: streaming
// compressors (zstd-jni in Java producers) pick windows up to that size even for small payloads.
int ZstdWindowLogMax(size_t limit) {
  constexpr int kFloor = 23;
  constexpr int kCeiling = sizeof(size_t) == 8 ? 31 : 30;
  int log = 0;
  while (log < kCeiling && (size_t{1} << log) < limit) ++log;
  return std::clamp(log, kFloor, kCeiling);
}

absl::Status ZstdDecompress(std::string_view input, size_t limit, std::string* out) {
  size_t hint = DefaultHint(input);
  const unsigned long long declared = ZSTD_getFrameContentSize(input.data(), input.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
    if (declared > limit) return TooLarge("zstd", limit);
    hint = DeclaredSizeHint(declared, input);
  }

  std::unique_ptr<ZSTD_DCtx, ZstdDctxFree> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) return absl::ResourceExhaustedError("zstd: cannot create a decompression context");
  const size_t set = ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, ZstdWindowLogMax(limit));
  if (ZSTD_isError(set)) return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(set)));

  BoundedSink sink(out, limit, hint);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  size_t rc = 1;
  for (;;) {
    const BoundedSink::Window w = sink.Next();
    ZSTD_outBuffer ob{w.data, w.size, 0};
    rc = ZSTD_decompressStream(dctx.get(), &ob, &in);
    if (ZSTD_isError(rc)) {
      if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "zstd: frame window is larger than the decompression limit allows (limit ", limit, " bytes)"));
      }
      return Corrupt("zstd", ZSTD_getErrorName(rc));
    }
    sink.Commit(ob.pos);
    if (sink.exceeded()) return TooLarge("zstd", limit);
    if (in.pos == in.size && ob.pos < ob.size) break;
  }
  if (rc != 0) return Corrupt("zstd", "truncated frame");
  sink.Finish();
  return absl::OkStatus();
}

absl::Status ZstdCompress(std::string_view input, std::optional<int> level, std::string* out) {
  const int lvl = level.value_or(ZSTD_CLEVEL_DEFAULT);
  if (lvl < ZSTD_minCLevel() || lvl > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(absl::StrCat("zstd: compression level ", lvl, " is not in [",
                                                   ZSTD_minCLevel(), ", ", ZSTD_maxCLevel(), "]"));
  }
  const size_t base = out->size();
  const size_t bound = ZSTD_compressBound(input.size());
  out->resize(base + bound);
  const size_t n = ZSTD_compress(out->data() + base, bound, input.data(), input.size(), lvl);
  if (ZSTD_isError(n)) {
    out->resize(base);
    return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(n)));
  }
  out->resize(base + n);
  return absl::OkStatus();
}

absl::Status DecompressDispatch(CompressionType type, std::string_view input, size_t limit, std::string* out,
                                Lz4HeaderChecksum lz4_header_checksum) {
  switch (type) {
    case CompressionType::kNone:
      if (input.size() > limit) return TooLarge("none", limit);
      out->append(input);
      return absl::OkStatus();
    case CompressionType::kGzip:
      return GzipDecompress(input, limit, out);
    case CompressionType::kSnappy:
      return SnappyDecompress(input, limit, out);
    case CompressionType::kLz4:
      return Lz4Decompress(input, limit, out, lz4_header_checksum);
    case CompressionType::kZstd:
      return ZstdDecompress(input, limit, out);
  }
  return absl::UnimplementedError(absl::StrCat("unknown compression type ", static_cast<int>(type)));
}

}  // namespace

absl::StatusOr<CompressionType> CompressionTypeFromId(int id) {
  if (id >= 0 && id <= static_cast<int>(CompressionType::kZstd)) return static_cast<CompressionType>(id);
  if (id > static_cast<int>(CompressionType::kZstd) && id <= kCompressionAttributeMask) {
    return absl::UnimplementedError(absl::StrCat("unsupported compression type id ", id));
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid compression type id ", id));
}

std::string_view CompressionTypeName(CompressionType type) {
  switch (type) {
    case CompressionType::kNone:
      return "none";
    case CompressionType::kGzip:
      return "gzip";
    case CompressionType::kSnappy:
      return "snappy";
    case CompressionType::kLz4:
      return "lz4";
    case CompressionType::kZstd:
      return "zstd";
  }
  return "unknown";
}

absl::Status CompressAppend(CompressionType type, std::string_view input, const CompressOptions& options,
                            std::string* out) {
  switch (type) {
    case CompressionType::kNone:
      out->append(input);
      return absl::OkStatus();
    case CompressionType::kGzip:
      return GzipCompress(input, options.level, out);
    case CompressionType::kSnappy:
      if (options.snappy_framing == SnappyFraming::kXerial) {
        SnappyXerialCompress(input, out);
      } else {
        SnappyRawCompressAppend(input, out);
      }
      return absl::OkStatus();
    case CompressionType::kLz4:
      return Lz4Compress(input, options, out);
    case CompressionType::kZstd:
      return ZstdCompress(input, options.level, out);
  }
  return absl::UnimplementedError(absl::StrCat("unknown compression type ", static_cast<int>(type)));
}

absl::StatusOr<std::string> Compress(CompressionType type, std::string_view input, const CompressOptions& options) {
  std::string out;
  CHRONIK_RECORDS_RETURN_IF_ERROR(CompressAppend(type, input, options, &out));
  return out;
}

absl::Status DecompressAppend(CompressionType type, std::string_view input, size_t max_output_bytes,
                              std::string* out, Lz4HeaderChecksum lz4_header_checksum) {
  const size_t base = out->size();
  absl::Status status = DecompressDispatch(type, input, max_output_bytes, out, lz4_header_checksum);
  if (!status.ok()) out->resize(base);
  return status;
}

absl::StatusOr<std::string> Decompress(CompressionType type, std::string_view input, size_t max_output_bytes,
                                       Lz4HeaderChecksum lz4_header_checksum) {
  std::string out;
  CHRONIK_RECORDS_RETURN_IF_ERROR(DecompressAppend(type, input, max_output_bytes, &out, lz4_header_checksum));
  return out;
}

}  // namespace chronik::protocol
