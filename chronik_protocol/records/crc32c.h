#pragma once

// Checksums of the Kafka record formats: CRC-32C (Castagnoli) protects record batches v2, CRC-32
// (IEEE 802.3, the zlib/Java java.util.zip.CRC32 one) protects legacy messages v0/v1.
//
// Both follow the usual convention: the initial value and final result are bit-inverted inside the
// functions, so Crc32cExtend(Crc32c(a), b) == Crc32c(a + b) and Crc32cExtend(0, x) == Crc32c(x).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chronik::protocol {

// Uses the CPU's CRC-32C instructions when it has them (SSE4.2 on x86-64, the CRC32 extension on
// arm64; checked once, at first use), table lookups otherwise.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

uint32_t Crc32IeeeExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32Ieee(const void* data, size_t size) { return Crc32IeeeExtend(0, data, size); }
inline uint32_t Crc32Ieee(std::string_view data) { return Crc32IeeeExtend(0, data.data(), data.size()); }

// The two CRC-32C implementations, exposed so tests and benchmarks can compare them directly.
namespace crc32c_internal {

// Slicing-by-8 table implementation; works everywhere.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t size);

// True if ExtendHardware may be called on this CPU.
bool HardwareAvailable();

// The CPU instructions' implementation (SSE4.2 or ARMv8 CRC32). Calling it when
// HardwareAvailable() is false is a fatal CPU fault on x86-64 and arm64 and falls back to
// ExtendPortable on other architectures.
uint32_t ExtendHardware(uint32_t crc, const void* data, size_t size);

}  // namespace crc32c_internal
}  // namespace chronik::protocol
