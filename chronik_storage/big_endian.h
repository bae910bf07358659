#pragma once

// Big-endian fields of the storage engine's own files (indexes, producer snapshots), as Kafka
// lays out its files.

#include <cstdint>
#include <string>

namespace chronik::storage {

inline uint16_t LoadBe16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

inline uint32_t LoadBe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

inline uint64_t LoadBe64(const char* p) { return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4); }

inline void StoreBe16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

inline void StoreBe32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

inline void StoreBe64(std::string* out, uint64_t v) {
  StoreBe32(out, static_cast<uint32_t>(v >> 32));
  StoreBe32(out, static_cast<uint32_t>(v));
}

}  // namespace chronik::storage
