#include "chronik_protocol/records/crc32c.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

using crc32c_internal::ExtendHardware;
using crc32c_internal::ExtendPortable;
using crc32c_internal::HardwareAvailable;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

struct Vector {
  std::string input;
  uint32_t crc;
};

std::vector<Vector> Crc32cVectors() {
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  return {
      {"", 0x00000000u},
      {"a", 0xC1D04330u},
      {"123456789", 0xE3069283u},
      {"The quick brown fox jumps over the lazy dog", 0x22620404u},
      // RFC 3720 (iSCSI), appendix B.4.
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xFF'), 0x62A8AB43u},
      {ascending, 0x46DD794Eu},
      {descending, 0x113FDB5Cu},
  };
}

TEST(Crc32cTest, KnownVectorsDispatched) {
  for (const Vector& v : Crc32cVectors()) {
    EXPECT_EQ(Crc32c(v.input), v.crc) << "input size " << v.input.size();
  }
}

TEST(Crc32cTest, KnownVectorsPortable) {
  for (const Vector& v : Crc32cVectors()) {
    EXPECT_EQ(ExtendPortable(0, v.input.data(), v.input.size()), v.crc) << "input size " << v.input.size();
  }
}

// The hardware tests assert that the CPU has the instructions rather than skip: every machine this
// project builds for (x86-64 since Nehalem, ARMv8.1 and the common ARMv8.0 cores, qemu's default)
// has them, and a skip would leave the path untested without anyone noticing.
TEST(Crc32cTest, KnownVectorsHardware) {
  ASSERT_TRUE(HardwareAvailable());
  for (const Vector& v : Crc32cVectors()) {
    EXPECT_EQ(ExtendHardware(0, v.input.data(), v.input.size()), v.crc) << "input size " << v.input.size();
  }
}

// Covers every path of the hardware code: the unaligned head, the three-way long and short
// blocks with their merge tables, the 8-byte loop and the byte tail.
TEST(Crc32cTest, HardwareMatchesPortableOnManyLengthsAndAlignments) {
  ASSERT_TRUE(HardwareAvailable());
  const std::string data = RandomBytes((1 << 20) + 64, 1);
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
  for (size_t n : {4095, 4096, 8191, 8192, 24575, 24576, 24577, 24576 + 767, 24576 + 768, 24576 + 769, 49152,
                   49152 + 768 * 2 + 5, 100000, 1 << 20}) {
    lengths.push_back(n);
  }
  for (size_t n : lengths) {
    for (size_t align = 0; align < 16; ++align) {
      const char* p = data.data() + align;
      ASSERT_EQ(ExtendHardware(0, p, n), ExtendPortable(0, p, n)) << "length " << n << " alignment " << align;
    }
  }
}

TEST(Crc32cTest, HardwareMatchesPortableWithNonZeroStart) {
  ASSERT_TRUE(HardwareAvailable());
  const std::string data = RandomBytes(30000, 2);
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    const uint32_t start = static_cast<uint32_t>(rng());
    const size_t n = rng() % data.size();
    ASSERT_EQ(ExtendHardware(start, data.data(), n), ExtendPortable(start, data.data(), n));
  }
}

TEST(Crc32cTest, ExtendEqualsWholeAtEverySplit) {
  const std::string data = RandomBytes(1000, 4);
  const uint32_t whole = Crc32c(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    const uint32_t first = Crc32c(data.data(), split);
    ASSERT_EQ(Crc32cExtend(first, data.data() + split, data.size() - split), whole) << "split " << split;
    ASSERT_EQ(ExtendPortable(ExtendPortable(0, data.data(), split), data.data() + split, data.size() - split),
              whole);
  }
}

TEST(Crc32IeeeTest, KnownVectors) {
  EXPECT_EQ(Crc32Ieee(""), 0u);
  EXPECT_EQ(Crc32Ieee("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32Ieee("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(Crc32IeeeTest, ExtendEqualsWhole) {
  const std::string data = RandomBytes(777, 5);
  for (size_t split : {size_t{0}, size_t{1}, size_t{100}, size_t{776}, size_t{777}}) {
    EXPECT_EQ(Crc32IeeeExtend(Crc32Ieee(data.data(), split), data.data() + split, data.size() - split),
              Crc32Ieee(data));
  }
}

}  // namespace
}  // namespace chronik::protocol
