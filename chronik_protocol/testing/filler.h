#pragma once

// Supplies values for the generated Fill() functions, which build messages that are valid for a
// given version. Round-trip tests use it to reach every field of every version, including nulls,
// empty collections and unknown tagged fields.

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "chronik_protocol/wire.h"

namespace chronik::protocol {

class Filler {
 public:
  enum class Mode {
    kRandom,   // random values, random nulls, short arrays
    kNulls,    // every nullable field null, arrays empty
    kEmpty,    // empty strings and arrays, zero numbers, no nulls
    kExtreme,  // limits of every numeric type, long strings, all tagged fields set
  };

  Filler(Mode mode, uint64_t seed) : mode_(mode), rng_(seed) {}

  bool Null() {
    switch (mode_) {
      case Mode::kNulls:
        return true;
      case Mode::kRandom:
        return Pick(4) == 0;
      default:
        return false;
    }
  }

  bool SetTagged() { return mode_ == Mode::kExtreme || (mode_ == Mode::kRandom && Pick(2) == 0); }

  // Nesting is bounded so that recursive fills stay small.
  int ArrayLength() {
    if (mode_ == Mode::kNulls || mode_ == Mode::kEmpty || depth_ > 3) return 0;
    if (mode_ == Mode::kExtreme) return 2;
    return static_cast<int>(Pick(3));
  }
  void Enter() { ++depth_; }
  void Leave() { --depth_; }

  template <typename T>
  T Value() {
    if constexpr (std::is_same_v<T, bool>) {
      return mode_ == Mode::kExtreme || (mode_ == Mode::kRandom && Pick(2) == 1);
    } else if constexpr (std::is_same_v<T, Uuid>) {
      Uuid u{};
      if (mode_ != Mode::kEmpty && mode_ != Mode::kNulls) {
        for (auto& b : u) b = static_cast<uint8_t>(Pick(256));
      }
      return u;
    } else if constexpr (std::is_same_v<T, double>) {
      if (mode_ == Mode::kExtreme) return std::numeric_limits<double>::max();
      if (mode_ != Mode::kRandom) return 0.0;
      return std::uniform_real_distribution<double>(-1e9, 1e9)(rng_);
    } else {
      if (mode_ == Mode::kExtreme) {
        return (Pick(2) == 0) ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max();
      }
      if (mode_ != Mode::kRandom) return 0;
      return static_cast<T>(rng_());
    }
  }

  std::string Text() {
    if (mode_ == Mode::kEmpty || mode_ == Mode::kNulls) return std::string();
    const size_t n = mode_ == Mode::kExtreme ? 300 : Pick(12);
    std::string s(n, ' ');
    for (char& c : s) c = static_cast<char>('a' + Pick(26));
    return s;
  }

  // Unknown tags start above every tag the struct knows, so they never collide with a field.
  void UnknownTags(std::vector<TaggedField>& out, uint32_t first_free_tag) {
    if (mode_ != Mode::kRandom && mode_ != Mode::kExtreme) return;
    if (mode_ == Mode::kRandom && Pick(3) != 0) return;
    TaggedField f;
    f.tag = first_free_tag + static_cast<uint32_t>(Pick(1000));
    f.data = Text();
    out.push_back(std::move(f));
  }

 private:
  uint64_t Pick(uint64_t n) { return rng_() % n; }

  Mode mode_;
  std::mt19937_64 rng_;
  int depth_ = 0;
};

}  // namespace chronik::protocol
