#pragma once

// Kafka's two variable-length integer encodings: the unsigned LEB128 varint of flexible
// protocol versions (lengths, tag numbers) and the zig-zag varint/varlong of record batches v2.
// Decoders never read past `end` and report failure instead of guessing.

#include <cstddef>
#include <cstdint>
#include <string>

namespace chronik::protocol {

inline constexpr size_t kMaxVarintBytes = 5;
inline constexpr size_t kMaxVarlongBytes = 10;

// Reads an unsigned varint of at most 5 bytes from [*p, end). On success advances *p.
inline bool DecodeUnsignedVarint(const uint8_t** p, const uint8_t* end, uint32_t* out) {
  uint32_t value = 0;
  const uint8_t* q = *p;
  for (int shift = 0; shift < 35; shift += 7) {
    if (q == end) return false;
    const uint8_t b = *q++;
    if (shift == 28 && (b & 0xF0) != 0) return false;  // more than 32 bits
    value |= static_cast<uint32_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *p = q;
      *out = value;
      return true;
    }
  }
  return false;
}

inline bool DecodeUnsignedVarlong(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  uint64_t value = 0;
  const uint8_t* q = *p;
  for (int shift = 0; shift < 70; shift += 7) {
    if (q == end) return false;
    const uint8_t b = *q++;
    if (shift == 63 && (b & 0xFE) != 0) return false;  // more than 64 bits
    value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *p = q;
      *out = value;
      return true;
    }
  }
  return false;
}

inline bool DecodeVarint(const uint8_t** p, const uint8_t* end, int32_t* out) {
  uint32_t raw;
  if (!DecodeUnsignedVarint(p, end, &raw)) return false;
  *out = static_cast<int32_t>((raw >> 1) ^ (~(raw & 1) + 1));
  return true;
}

inline bool DecodeVarlong(const uint8_t** p, const uint8_t* end, int64_t* out) {
  uint64_t raw;
  if (!DecodeUnsignedVarlong(p, end, &raw)) return false;
  *out = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
  return true;
}

inline void AppendUnsignedVarlong(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

inline void AppendUnsignedVarint(std::string* out, uint32_t value) { AppendUnsignedVarlong(out, value); }

inline void AppendVarint(std::string* out, int32_t value) {
  AppendUnsignedVarlong(out, (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31));
}

inline void AppendVarlong(std::string* out, int64_t value) {
  AppendUnsignedVarlong(out, (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
}

inline size_t UnsignedVarlongSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

inline size_t VarintSize(int32_t value) {
  return UnsignedVarlongSize((static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31));
}

inline size_t VarlongSize(int64_t value) {
  return UnsignedVarlongSize((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
}

}  // namespace chronik::protocol
