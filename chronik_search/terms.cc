#include "chronik_search/terms.h"

#include <sqlite3.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>


namespace chronik::search::terms {

namespace {

constexpr char kEscape = '\x01';
constexpr char kSep = '\x02';      // between a term's field and its value
constexpr char kTermEnd = '\x03';  // after a field's terms (FieldEnd); between a row's terms

// Bytes 0..3 become kEscape followed by '0'..'3': every other byte is above them, so the order of
// escaped strings is the order of the originals.
void AppendEscaped(std::string* out, std::string_view s) {
  // Runs without such bytes (nearly every value) are appended whole; eight bytes at a time are
  // checked for one below 4 (the zero-byte test on each byte minus 4).
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (((w - 0x0404040404040404ULL) & ~w & 0x8080808080808080ULL) != 0) break;
  }
  size_t run = 0;
  for (; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u > 3) continue;
    out->append(s.data() + run, i - run);
    out->push_back(kEscape);
    out->push_back(static_cast<char>('0' + u));
    run = i + 1;
  }
  out->append(s.data() + run, s.size() - run);
}

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == kEscape && i + 1 < s.size()) {
      out.push_back(static_cast<char>(s[++i] - '0'));
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Start(Kind kind, std::string_view field) {
  std::string t(1, static_cast<char>(kind));
  AppendEscaped(&t, field);
  return t;
}

// The value after the field: nullopt if `term` is not of `kind`.
std::optional<std::string_view> Payload(std::string_view term, Kind kind) {
  if (term.empty() || term[0] != static_cast<char>(kind)) return std::nullopt;
  const size_t sep = term.find(kSep);
  if (sep == std::string_view::npos) return std::nullopt;
  return term.substr(sep + 1);
}

// Doubles as unsigned integers in the same order: negative numbers inverted, positive ones above
// them.
uint64_t OrderedBits(double v) {
  const auto bits = std::bit_cast<uint64_t>(v);
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
}

double FromOrderedBits(uint64_t u) {
  return std::bit_cast<double>((u >> 63) != 0 ? u & ~(uint64_t{1} << 63) : ~u);
}

void KeywordValueFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (p == nullptr) return;
  std::optional<std::string> v = KeywordValue(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  if (v.has_value()) sqlite3_result_text(ctx, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
}

void NumberValueFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (p == nullptr) return;
  std::optional<double> v = NumberValue(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  if (v.has_value()) sqlite3_result_double(ctx, *v);
}

}  // namespace

void AppendKeyword(std::string* row, std::string_view field, std::string_view value) {
  if (!row->empty()) row->push_back(kTermEnd);
  row->push_back(static_cast<char>(Kind::kKeyword));
  AppendEscaped(row, field);
  row->push_back(kSep);
  AppendEscaped(row, value);
}

void AppendNumber(std::string* row, std::string_view field, double value) {
  if (!row->empty()) row->push_back(kTermEnd);
  row->push_back(static_cast<char>(Kind::kNumber));
  AppendEscaped(row, field);
  row->push_back(kSep);
  const uint64_t bits = OrderedBits(value == 0 ? 0.0 : value);
  char hex[16];
  for (int i = 0; i < 16; ++i) hex[i] = "0123456789abcdef"[(bits >> (60 - 4 * i)) & 0xf];
  row->append(hex, sizeof(hex));
}

void AppendTextFieldStart(std::string* out, std::string_view field) {
  out->push_back(static_cast<char>(Kind::kText));
  AppendEscaped(out, field);
  out->push_back(kSep);
}

std::string TextFieldStart(std::string_view field) {
  std::string t;
  AppendTextFieldStart(&t, field);
  return t;
}

std::string Text(std::string_view field, std::string_view word) { return TextFieldStart(field).append(word); }

std::string Keyword(std::string_view field, std::string_view value) {
  std::string t;
  AppendKeyword(&t, field, value);
  return t;
}

std::string Number(std::string_view field, double value) {
  std::string t;
  AppendNumber(&t, field, value);
  return t;
}

std::string Presence(std::string_view field) { return Start(Kind::kPresence, field); }

std::string FieldStart(Kind kind, std::string_view field) { return Start(kind, field) + kSep; }
std::string FieldEnd(Kind kind, std::string_view field) { return Start(kind, field) + kTermEnd; }

std::string PrefixEnd(std::string_view field, std::string_view prefix) {
  return Keyword(field, prefix) + "\xff";  // above every byte of UTF-8
}


std::optional<std::string> KeywordValue(std::string_view term) {
  std::optional<std::string_view> p = Payload(term, Kind::kKeyword);
  if (!p.has_value()) return std::nullopt;
  return Unescape(*p);
}

std::optional<double> NumberValue(std::string_view term) {
  std::optional<std::string_view> p = Payload(term, Kind::kNumber);
  if (!p.has_value() || p->size() != 16) return std::nullopt;
  uint64_t u = 0;
  for (char c : *p) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    u = u << 4 | static_cast<uint64_t>(d);
  }
  return FromOrderedBits(u);
}

bool Register(sqlite3* db) {
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  return sqlite3_create_function_v2(db, "kw_value", 1, flags, nullptr, KeywordValueFn, nullptr, nullptr, nullptr) ==
             SQLITE_OK &&
         sqlite3_create_function_v2(db, "num_value", 1, flags, nullptr, NumberValueFn, nullptr, nullptr, nullptr) ==
             SQLITE_OK;
}

}  // namespace chronik::search::terms
