#pragma once

// How text becomes words, for the index and for queries alike (so that they always agree): a word
// is a run of letters and digits, lowercased. Letters are ASCII's and every code point above it
// except the punctuation, spaces and symbols of the common blocks; case is folded for ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic. Accents are kept, as Elasticsearch's standard
// analyzer keeps them. Bytes that are not UTF-8 are taken as they are.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::search {

namespace tokenizer_internal {

// The code point at `s[i]` and its length in bytes (1 for a byte that does not start UTF-8).
inline char32_t Decode(std::string_view s, size_t i, size_t* len) {
  const auto b = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  auto bits = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b >= 0xC2 && b < 0xE0 && cont(1)) {
    *len = 2;
    return static_cast<char32_t>(b & 0x1F) << 6 | bits(1);
  }
  if (b >= 0xE0 && b < 0xF0 && cont(1) && cont(2)) {
    *len = 3;
    return static_cast<char32_t>(b & 0x0F) << 12 | bits(1) << 6 | bits(2);
  }
  if (b >= 0xF0 && b < 0xF5 && cont(1) && cont(2) && cont(3)) {
    *len = 4;
    return static_cast<char32_t>(b & 0x07) << 18 | bits(1) << 12 | bits(2) << 6 | bits(3);
  }
  *len = 1;
  return b;
}

inline constexpr auto kAsciiWord = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  return t;
}();

inline bool IsWordCodePoint(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c <= 0xBF) return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xB2 && c <= 0xB3) || c == 0xB9 || (c >= 0xBC && c != 0xBF);
  if (c == 0xD7 || c == 0xF7) return false;                      // multiplication and division signs
  if (c >= 0x2000 && c <= 0x2BFF) return false;                  // punctuation, symbols, arrows, shapes
  if (c >= 0x3000 && c <= 0x303F) return false;                  // CJK punctuation
  if (c >= 0xFE30 && c <= 0xFE6F) return false;                  // CJK compatibility and small forms
  if (c >= 0xFF00 && c <= 0xFF0F) return false;                  // fullwidth punctuation
  if (c >= 0xFF1A && c <= 0xFF20) return false;
  if (c >= 0xFF3B && c <= 0xFF40) return false;
  if (c >= 0xFF5B && c <= 0xFF65) return false;
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;                // emoji and pictographs
  return c != 0xFEFF;                                            // byte order mark
}

inline char32_t Lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 32;                  // Latin-1
  if (c == 0x130) return 'i';                                    // capital I with dot above
  if (c >= 0x100 && c <= 0x137) return c | 1;                    // Latin Extended-A, in pairs
  if (c >= 0x139 && c <= 0x148) return (c & 1) != 0 ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) != 0 ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;     // Greek
  if (c == 0x386) return 0x3AC;                                  // Greek capitals with tonos
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x410 && c <= 0x42F) return c + 32;                   // Cyrillic
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

inline void AppendUtf8(std::string* out, char32_t c) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace tokenizer_internal

// Calls `fn()` for each word of `text`, in order, with the word written into `*out` after its first
// `keep` bytes (a prefix the caller keeps there, such as a term's field).
template <typename Fn>
void ForEachWord(std::string_view text, std::string* out, size_t keep, Fn&& fn) {
  using namespace tokenizer_internal;
  out->resize(keep);
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      // ASCII letters and digits lowercase as c | 0x20 (digits have that bit already).
      size_t j = i;
      while (j < text.size() && kAsciiWord[static_cast<unsigned char>(text[j])]) ++j;
      if (j > i) {
        const size_t at = out->size();
        out->resize(at + (j - i));
        char* dst = out->data() + at;
        for (size_t k = i; k < j; ++k) *dst++ = static_cast<char>(text[k] | 0x20);
        i = j;
        if (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x80) continue;  // the word goes on
      } else {
        ++i;
      }
      if (out->size() > keep) {
        fn();
        out->resize(keep);
      }
      continue;
    }
    size_t len = 1;
    const char32_t c = Decode(text, i, &len);
    if (len == 1) {
      out->push_back(static_cast<char>(b));  // not UTF-8: the byte as it is
    } else if (IsWordCodePoint(c)) {
      AppendUtf8(out, Lower(c));
    } else if (out->size() > keep) {
      fn();
      out->resize(keep);
    }
    i += len;
  }
  if (out->size() > keep) fn();
}

inline std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  ForEachWord(text, &word, 0, [&] { out.push_back(word); });
  return out;
}

}  // namespace chronik::search
