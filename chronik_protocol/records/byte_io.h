#pragma once

// Big-endian fixed-width access and a bounds-checked cursor for the records codecs. Private to
// chronik_protocol/records. Loads are composed from bytes so they are correct on any host and for
// any alignment; compilers turn them into a single load plus byte swap.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chronik_protocol/varint.h"

namespace chronik::protocol::records_internal {

inline uint16_t LoadBe16(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((uint16_t{b[0]} << 8) | uint16_t{b[1]});
}

inline uint32_t LoadBe32(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

inline uint64_t LoadBe64(const char* p) {
  return (uint64_t{LoadBe32(p)} << 32) | uint64_t{LoadBe32(p + 4)};
}

inline void StoreBe16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}

inline void StoreBe32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

inline void StoreBe64(char* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

inline void AppendBe16(std::string* out, uint16_t v) {
  char b[2];
  StoreBe16(b, v);
  out->append(b, 2);
}

inline void AppendBe32(std::string* out, uint32_t v) {
  char b[4];
  StoreBe32(b, v);
  out->append(b, 4);
}

inline void AppendBe64(std::string* out, uint64_t v) {
  char b[8];
  StoreBe64(b, v);
  out->append(b, 8);
}

// Offsets and timestamps are base + delta where both come off the wire; signed overflow would be
// undefined behaviour, so the sum wraps like Java's long arithmetic does.
inline int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

inline int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// A read cursor over untrusted bytes. A failed read leaves the cursor unchanged, so callers can
// report where decoding stopped.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  std::string_view rest() const { return data_.substr(pos_); }

  bool ReadInt8(int8_t* out) {
    if (remaining() < 1) return false;
    *out = static_cast<int8_t>(data_[pos_]);
    pos_ += 1;
    return true;
  }

  bool ReadInt16(int16_t* out) {
    if (remaining() < 2) return false;
    *out = static_cast<int16_t>(LoadBe16(data_.data() + pos_));
    pos_ += 2;
    return true;
  }

  bool ReadInt32(int32_t* out) {
    if (remaining() < 4) return false;
    *out = static_cast<int32_t>(LoadBe32(data_.data() + pos_));
    pos_ += 4;
    return true;
  }

  bool ReadUint32(uint32_t* out) {
    if (remaining() < 4) return false;
    *out = LoadBe32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }

  bool ReadInt64(int64_t* out) {
    if (remaining() < 8) return false;
    *out = static_cast<int64_t>(LoadBe64(data_.data() + pos_));
    pos_ += 8;
    return true;
  }

  bool ReadVarint(int32_t* out) {
    const uint8_t* p = cursor();
    if (!DecodeVarint(&p, end(), out)) return false;
    pos_ = static_cast<size_t>(p - begin());
    return true;
  }

  bool ReadVarlong(int64_t* out) {
    const uint8_t* p = cursor();
    if (!DecodeVarlong(&p, end(), out)) return false;
    pos_ = static_cast<size_t>(p - begin());
    return true;
  }

  bool ReadBytes(size_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  const uint8_t* begin() const { return reinterpret_cast<const uint8_t*>(data_.data()); }
  const uint8_t* cursor() const { return begin() + pos_; }
  const uint8_t* end() const { return begin() + data_.size(); }

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace chronik::protocol::records_internal
