#include "chronik_protocol/records/crc32c.h"

#include <zlib.h>

#include <cstdint>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace chronik::protocol {
namespace {

// The Castagnoli polynomial in the bit-reflected form in which Kafka (and iSCSI) compute it.
constexpr uint32_t kCastagnoliReflected = 0x82F63B78u;

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// t[k][b] is the CRC register after feeding byte b followed by k zero bytes, so eight bytes can be
// folded with eight independent lookups instead of a serial chain of eight.
struct SlicingTables {
  uint32_t t[8][256];
};

constexpr SlicingTables MakeSlicingTables() {
  SlicingTables s{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1u) ? kCastagnoliReflected : 0u);
    s.t[0][i] = c;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t i = 0; i < 256; ++i) {
      s.t[k][i] = (s.t[k - 1][i] >> 8) ^ s.t[0][s.t[k - 1][i] & 0xFFu];
    }
  }
  return s;
}

constexpr SlicingTables kSlicing = MakeSlicingTables();

// Operates on the raw (non-inverted) register.
uint32_t RawPortable(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = kSlicing.t;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFFu];
    --n;
  }
  while (n >= 8) {
    const uint64_t w = LoadLe64(p) ^ c;
    c = t[7][w & 0xFF] ^ t[6][(w >> 8) & 0xFF] ^ t[5][(w >> 16) & 0xFF] ^ t[4][(w >> 24) & 0xFF] ^
        t[3][(w >> 32) & 0xFF] ^ t[2][(w >> 40) & 0xFF] ^ t[1][(w >> 48) & 0xFF] ^ t[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFFu];
    --n;
  }
  return c;
}

#if defined(__x86_64__) || defined(__aarch64__)
#define CHRONIK_HAVE_HARDWARE_CRC32C 1

// The CPU's CRC-32C instructions: SSE4.2's crc32 on x86-64, the ARMv8 CRC32 extension's crc32c*
// on arm64. Both take and return the raw (non-inverted) register. Functions that use them carry
// the target attribute, because the rest of the binary must run on CPUs without them.
#if defined(__x86_64__)
#define CHRONIK_CRC_TARGET __attribute__((target("sse4.2")))
CHRONIK_CRC_TARGET inline uint64_t HwCrc64(uint64_t c, uint64_t v) { return _mm_crc32_u64(c, v); }
CHRONIK_CRC_TARGET inline uint32_t HwCrc8(uint32_t c, uint8_t v) { return _mm_crc32_u8(c, v); }
#else
#define CHRONIK_CRC_TARGET __attribute__((target("+crc")))
CHRONIK_CRC_TARGET inline uint64_t HwCrc64(uint64_t c, uint64_t v) {
  return __crc32cd(static_cast<uint32_t>(c), v);
}
CHRONIK_CRC_TARGET inline uint32_t HwCrc8(uint32_t c, uint8_t v) { return __crc32cb(c, v); }
#endif

// Polynomial arithmetic modulo the Castagnoli polynomial, in the reflected representation where
// bit 31 is the coefficient of x^0. Used at compile time to build the tables that let the
// hardware path run three independent CRC streams and then merge them.
constexpr uint32_t MulModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 32; ++i) {
    if (a & (1u << (31 - i))) product ^= b;
    b = (b & 1u) ? (b >> 1) ^ kCastagnoliReflected : (b >> 1);
  }
  return product;
}

constexpr uint32_t XPowModP(uint64_t n) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t base = 1u << 30;    // x^1
  while (n != 0) {
    if (n & 1) result = MulModP(result, base);
    base = MulModP(base, base);
    n >>= 1;
  }
  return result;
}

// Advancing a raw CRC register over `bytes` zero bytes multiplies it by x^(8*bytes); that map is
// linear, so it splits into four byte-indexed lookups.
struct ShiftTable {
  uint32_t t[4][256];
};

constexpr ShiftTable MakeShiftTable(uint64_t bytes) {
  ShiftTable s{};
  const uint32_t xpow = XPowModP(8 * bytes);
  for (int k = 0; k < 4; ++k) {
    for (uint32_t b = 0; b < 256; ++b) s.t[k][b] = MulModP(xpow, b << (8 * k));
  }
  return s;
}

inline uint32_t Shift(const ShiftTable& s, uint32_t c) {
  return s.t[0][c & 0xFF] ^ s.t[1][(c >> 8) & 0xFF] ^ s.t[2][(c >> 16) & 0xFF] ^ s.t[3][c >> 24];
}

// The crc32 instruction has a latency of three cycles but a throughput of one per cycle (on x86-64
// and on the common arm64 cores alike), so three interleaved streams keep it busy. Two block sizes: long for bulk data, short for the
// few-hundred-byte records that dominate small batches.
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;
constexpr ShiftTable kShiftLong = MakeShiftTable(kLongBlock);
constexpr ShiftTable kShiftShort = MakeShiftTable(kShortBlock);

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

template <size_t kBlock>
CHRONIK_CRC_TARGET inline uint32_t ThreeWay(uint32_t c, const uint8_t** pp, size_t* np,
                                                          const ShiftTable& shift) {
  const uint8_t* p = *pp;
  size_t n = *np;
  while (n >= 3 * kBlock) {
    uint64_t c0 = c, c1 = 0, c2 = 0;
    const uint8_t* const block_end = p + kBlock;
    do {
      c0 = HwCrc64(c0, Load64(p));
      c1 = HwCrc64(c1, Load64(p + kBlock));
      c2 = HwCrc64(c2, Load64(p + 2 * kBlock));
      p += 8;
    } while (p < block_end);
    c = Shift(shift, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    c = Shift(shift, c) ^ static_cast<uint32_t>(c2);
    p += 2 * kBlock;
    n -= 3 * kBlock;
  }
  *pp = p;
  *np = n;
  return c;
}

CHRONIK_CRC_TARGET uint32_t RawHardware(uint32_t c, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    c = HwCrc8(c, *p++);
    --n;
  }
  c = ThreeWay<kLongBlock>(c, &p, &n, kShiftLong);
  c = ThreeWay<kShortBlock>(c, &p, &n, kShiftShort);
  uint64_t c64 = c;
  while (n >= 8) {
    c64 = HwCrc64(c64, Load64(p));
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n > 0) {
    c = HwCrc8(c, *p++);
    --n;
  }
  return c;
}

bool DetectHardware() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return (::getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#endif
}

#endif  // __x86_64__ || __aarch64__

using RawFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

RawFn ChooseRaw() {
#if defined(CHRONIK_HAVE_HARDWARE_CRC32C)
  if (DetectHardware()) return RawHardware;
#endif
  return RawPortable;
}

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size) {
  // A function-local static rather than a namespace-scope one: other static initializers may
  // compute CRCs before this translation unit's globals are set up.
  static const RawFn raw = ChooseRaw();
  return ~raw(~crc, static_cast<const uint8_t*>(data), size);
}

uint32_t Crc32IeeeExtend(uint32_t crc, const void* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), size));
}

namespace crc32c_internal {

uint32_t ExtendPortable(uint32_t crc, const void* data, size_t size) {
  return ~RawPortable(~crc, static_cast<const uint8_t*>(data), size);
}

bool HardwareAvailable() {
#if defined(CHRONIK_HAVE_HARDWARE_CRC32C)
  static const bool available = DetectHardware();
  return available;
#else
  return false;
#endif
}

uint32_t ExtendHardware(uint32_t crc, const void* data, size_t size) {
#if defined(CHRONIK_HAVE_HARDWARE_CRC32C)
  return ~RawHardware(~crc, static_cast<const uint8_t*>(data), size);
#else
  return ExtendPortable(crc, data, size);
#endif
}

}  // namespace crc32c_internal
}  // namespace chronik::protocol
