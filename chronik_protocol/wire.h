#pragma once

// Primitive encodings of the Kafka wire protocol (big-endian integers, classic and compact
// strings/bytes/arrays, UUIDs, tagged-field sections). Generated message code is written
// against these two classes only.
//
// The Reader keeps a sticky error instead of returning a status from every call: generated
// decoders read a whole struct and check once, which keeps them short and fast, and after the
// first error every read returns a zero value without touching memory.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/varint.h"

namespace chronik::protocol {

using Uuid = std::array<uint8_t, 16>;

// `size` bytes a response carries without copying them into its encoding, kept alive by `owner`
// while the range is referenced: at `position` of the open file `fd` (log data, which the
// transport sends straight from the page cache with sendfile), or, when `memory` is set, at
// memory + position (a chunk of a remote segment, which the transport writes from where it lies).
struct SharedRange {
  std::shared_ptr<const void> owner;
  int fd = -1;
  int64_t position = 0;
  int64_t size = 0;
  const char* memory = nullptr;
  bool operator==(const SharedRange&) const = default;

  // `n` bytes from `offset` within this range.
  SharedRange Sub(int64_t offset, int64_t n) const { return SharedRange{owner, fd, position + offset, n, memory}; }
  // Appends the range's bytes to `*out` (pread for a file); an error if the file is shorter.
  absl::Status AppendTo(std::string* out) const;
};

// The value of a `records` field: bytes in the encoding followed by shared ranges. Decoding always
// yields bytes; shared ranges appear only in responses the broker builds from its log or its
// remote chunks.
struct Records {
  std::string bytes;
  std::vector<SharedRange> shared;

  Records() = default;
  // Implicit: most records are plain bytes.
  Records(std::string b) : bytes(std::move(b)) {}  // NOLINT(google-explicit-constructor)

  int64_t size() const;
  bool empty() const { return size() == 0; }
  // The whole value as bytes (reads the shared ranges).
  absl::StatusOr<std::string> Flatten() const;
  bool operator==(const Records&) const = default;
};

// Shared bytes to be sent at a position of an encoded buffer.
struct Splice {
  size_t at = 0;  // byte position in SplicedBytes::bytes before which the range goes
  SharedRange range;
};

// An encoding whose shared ranges were left where they lie: `bytes` with each splice's range
// inserted at its position. A transport sends the pieces in order; anything else flattens it.
struct SplicedBytes {
  std::string bytes;
  std::vector<Splice> splices;  // in ascending `at`

  SplicedBytes() = default;
  explicit SplicedBytes(std::string b) : bytes(std::move(b)) {}

  int64_t size() const;
  absl::StatusOr<std::string> Flatten() const;
};

// A tagged field this build does not know, kept so that re-encoding reproduces it.
struct TaggedField {
  uint32_t tag = 0;
  std::string data;
  bool operator==(const TaggedField&) const = default;
};

class Reader {
 public:
  explicit Reader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}

  bool ok() const { return error_.empty(); }
  absl::Status status() const {
    return ok() ? absl::OkStatus() : absl::InvalidArgumentError(error_);
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* position() const { return p_; }

  // Records the first error only: it names the real cause, later ones are consequences.
  void Fail(std::string_view why) {
    if (error_.empty()) error_ = std::string(why);
    p_ = end_;
  }

  bool ReadBool() { return ReadFixed<uint8_t>() != 0; }
  int8_t ReadInt8() { return static_cast<int8_t>(ReadFixed<uint8_t>()); }
  int16_t ReadInt16() { return static_cast<int16_t>(ReadFixed<uint16_t>()); }
  uint16_t ReadUint16() { return ReadFixed<uint16_t>(); }
  int32_t ReadInt32() { return static_cast<int32_t>(ReadFixed<uint32_t>()); }
  uint32_t ReadUint32() { return ReadFixed<uint32_t>(); }
  int64_t ReadInt64() { return static_cast<int64_t>(ReadFixed<uint64_t>()); }
  double ReadFloat64() {
    const uint64_t bits = ReadFixed<uint64_t>();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  Uuid ReadUuid() {
    Uuid u{};
    if (Need(16)) {
      std::memcpy(u.data(), p_, 16);
      p_ += 16;
    }
    return u;
  }
  uint32_t ReadUnsignedVarint() {
    uint32_t v = 0;
    if (!DecodeUnsignedVarint(&p_, end_, &v)) Fail("malformed unsigned varint");
    return v;
  }
  std::string_view ReadView(size_t n) {
    if (!Need(n)) return {};
    std::string_view v(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return v;
  }

  // Classic strings have an int16 length; compact ones an unsigned varint of length + 1.
  std::optional<std::string> ReadNullableString(bool compact) {
    int64_t n;
    if (compact) {
      n = static_cast<int64_t>(ReadUnsignedVarint()) - 1;
    } else {
      n = ReadInt16();
    }
    if (!ok()) return std::string();
    if (n < 0) {
      if (n != -1) Fail("negative string length");
      return std::nullopt;
    }
    return std::string(ReadView(static_cast<size_t>(n)));
  }
  std::string ReadString(bool compact) {
    std::optional<std::string> s = ReadNullableString(compact);
    if (!s.has_value()) {
      Fail("null value for a non-nullable string");
      return std::string();
    }
    return std::move(*s);
  }

  std::optional<std::string> ReadNullableBytes(bool compact) {
    const int64_t n = compact ? static_cast<int64_t>(ReadUnsignedVarint()) - 1 : ReadInt32();
    if (!ok()) return std::string();
    if (n < 0) {
      if (n != -1) Fail("negative bytes length");
      return std::nullopt;
    }
    return std::string(ReadView(static_cast<size_t>(n)));
  }
  std::string ReadBytes(bool compact) {
    std::optional<std::string> b = ReadNullableBytes(compact);
    if (!b.has_value()) {
      Fail("null value for non-nullable bytes");
      return std::string();
    }
    return std::move(*b);
  }

  // Returns -1 for a null array. Every element takes at least one byte on the wire, so a count
  // larger than what is left is malformed and rejected before anything is allocated.
  int32_t ReadArrayLength(bool compact) {
    const int64_t n = compact ? static_cast<int64_t>(ReadUnsignedVarint()) - 1 : ReadInt32();
    if (!ok()) return 0;
    if (n < -1) {
      Fail("negative array length");
      return 0;
    }
    if (n > static_cast<int64_t>(remaining())) {
      Fail("array length exceeds remaining bytes");
      return 0;
    }
    return static_cast<int32_t>(n);
  }

 private:
  bool Need(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      Fail("unexpected end of data");
      return false;
    }
    return true;
  }
  template <typename T>
  T ReadFixed() {
    if (!Need(sizeof(T))) return 0;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p_[i]);
    p_ += sizeof(T);
    return v;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  std::string error_;
};

// Appends to a string. A value the wire format cannot carry (a classic string over 32767
// bytes, say) marks the writer failed instead of writing a corrupt length; callers check ok()
// once after encoding a message.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  // Shared ranges of `records` fields are not read but noted in `*splices` (positions in `*out`).
  Writer(std::string* out, std::vector<Splice>* splices) : out_(out), splices_(splices) {}

  std::string* buffer() { return out_; }
  bool ok() const { return error_.empty(); }
  absl::Status status() const { return ok() ? absl::OkStatus() : absl::InvalidArgumentError(error_); }

  void WriteBool(bool v) { out_->push_back(v ? 1 : 0); }
  void WriteInt8(int8_t v) { out_->push_back(static_cast<char>(v)); }
  void WriteInt16(int16_t v) { WriteFixed<uint16_t>(static_cast<uint16_t>(v)); }
  void WriteUint16(uint16_t v) { WriteFixed<uint16_t>(v); }
  void WriteInt32(int32_t v) { WriteFixed<uint32_t>(static_cast<uint32_t>(v)); }
  void WriteUint32(uint32_t v) { WriteFixed<uint32_t>(v); }
  void WriteInt64(int64_t v) { WriteFixed<uint64_t>(static_cast<uint64_t>(v)); }
  void WriteFloat64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    WriteFixed<uint64_t>(bits);
  }
  void WriteUuid(const Uuid& u) { out_->append(reinterpret_cast<const char*>(u.data()), u.size()); }
  void WriteUnsignedVarint(uint32_t v) { AppendUnsignedVarint(out_, v); }
  void WriteRaw(std::string_view v) { out_->append(v); }

  void WriteString(std::string_view s, bool compact) {
    if (!compact && s.size() > static_cast<size_t>(INT16_MAX)) return Fail("string longer than 32767 bytes");
    if (compact) {
      WriteUnsignedVarint(static_cast<uint32_t>(s.size() + 1));
    } else {
      WriteInt16(static_cast<int16_t>(s.size()));
    }
    out_->append(s);
  }
  void WriteNullableString(const std::optional<std::string>& s, bool compact) {
    if (s.has_value()) {
      WriteString(*s, compact);
    } else if (compact) {
      WriteUnsignedVarint(0);
    } else {
      WriteInt16(-1);
    }
  }
  void WriteBytes(std::string_view b, bool compact) {
    if (b.size() > static_cast<size_t>(INT32_MAX) - 1) return Fail("bytes longer than 2 GiB");
    if (compact) {
      WriteUnsignedVarint(static_cast<uint32_t>(b.size() + 1));
    } else {
      WriteInt32(static_cast<int32_t>(b.size()));
    }
    out_->append(b);
  }
  void WriteNullableBytes(const std::optional<std::string>& b, bool compact) {
    if (b.has_value()) {
      WriteBytes(*b, compact);
    } else if (compact) {
      WriteUnsignedVarint(0);
    } else {
      WriteInt32(-1);
    }
  }
  void WriteRecords(const Records& r, bool compact) {
    const int64_t size = r.size();
    if (size > static_cast<int64_t>(INT32_MAX) - 1) return Fail("records longer than 2 GiB");
    if (compact) {
      WriteUnsignedVarint(static_cast<uint32_t>(size + 1));
    } else {
      WriteInt32(static_cast<int32_t>(size));
    }
    out_->append(r.bytes);
    for (const SharedRange& f : r.shared) {
      if (splices_ != nullptr) {
        splices_->push_back(Splice{out_->size(), f});
      } else if (absl::Status s = f.AppendTo(out_); !s.ok()) {
        return Fail(std::string(s.message()));
      }
    }
  }
  void WriteNullableRecords(const std::optional<Records>& r, bool compact) {
    if (r.has_value()) {
      WriteRecords(*r, compact);
    } else if (compact) {
      WriteUnsignedVarint(0);
    } else {
      WriteInt32(-1);
    }
  }
  void WriteArrayLength(int32_t n, bool compact) {
    if (compact) {
      WriteUnsignedVarint(static_cast<uint32_t>(n + 1));
    } else {
      WriteInt32(n);
    }
  }

 private:
  void Fail(std::string_view why) {
    if (error_.empty()) error_ = std::string(why);
  }

  template <typename T>
  void WriteFixed(T v) {
    char b[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<char>(v >> (8 * (sizeof(T) - 1 - i)));
    out_->append(b, sizeof(T));
  }

  std::string* out_;
  std::vector<Splice>* splices_ = nullptr;
  std::string error_;
};

// Reads a tagged-field section. `on_known(tag, data)` decodes a field it knows and returns true,
// or returns false for a tag it does not know, which is then kept in `unknown` so that
// re-encoding reproduces it. Tags must be strictly ascending, as the protocol requires.
template <typename OnKnown>
void ReadTaggedFields(Reader& r, std::vector<TaggedField>& unknown, OnKnown&& on_known) {
  const uint32_t count = r.ReadUnsignedVarint();
  int64_t last_tag = -1;
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    const uint32_t tag = r.ReadUnsignedVarint();
    const uint32_t size = r.ReadUnsignedVarint();
    const std::string_view data = r.ReadView(size);
    if (!r.ok()) return;
    if (static_cast<int64_t>(tag) <= last_tag) {
      r.Fail("tagged fields out of order or repeated");
      return;
    }
    last_tag = tag;
    if (!on_known(tag, data)) unknown.push_back(TaggedField{tag, std::string(data)});
  }
}

inline void ReadTaggedFields(Reader& r, std::vector<TaggedField>& unknown) {
  ReadTaggedFields(r, unknown, [](uint32_t, std::string_view) { return false; });
}

// A tagged-field section: known fields (already encoded by the caller) merged with unknown ones
// in ascending tag order, as the protocol requires.
void WriteTaggedFields(Writer& w, std::vector<TaggedField>&& known,
                       const std::vector<TaggedField>& unknown);

}  // namespace chronik::protocol
