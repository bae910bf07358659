#include "chronik_search/document.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace chronik::search {

namespace {

// Bounds what one record may add to the index: deeply nested or huge documents are cut, not
// refused (the log keeps them whole).
constexpr int kMaxDepth = 16;
constexpr size_t kMaxFields = 1024;
// Longer strings are text only, as in Elasticsearch's dynamic mapping (ignore_above 256).
constexpr size_t kMaxKeywordBytes = 256;

// A JSON object's values by dotted path, read in one pass without building a tree: the indexer
// reads every record, and nlohmann::json's tree of maps and strings cost 9 us of a 331-byte
// record against 3 us this way (index_bench). It accepts exactly what nlohmann::json's strict
// parser accepts (json_fuzzer checks the two against each other), so that what is not JSON is
// indexed as text. Fields come in document order, and a key given twice is indexed twice, as an
// array's elements are.
class Flattener {
 public:
  Flattener(std::string_view json, Document& doc) : p_(json.data()), end_(json.data() + json.size()), doc_(doc) {}

  // False if the input is not one JSON object; `doc` then holds whatever was added before the
  // error, which the caller takes back.
  bool Object() {
    if (end_ - p_ >= 3 && std::string_view(p_, 3) == "\xEF\xBB\xBF") p_ += 3;  // a byte order mark
    SkipSpace();
    if (p_ == end_ || *p_ != '{') return false;
    if (!Value(0)) return false;
    SkipSpace();
    return p_ == end_;
  }

 private:
  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool Full() const { return doc_.text.size() + doc_.numbers.size() > kMaxFields; }

  // One value at `depth` (the object's own members are at 1); past kMaxDepth it is only checked.
  bool Value(int depth) {
    if (p_ == end_) return false;
    if (depth > kMaxDepth && (*p_ == '{' || *p_ == '[')) return SkipContainer();
    switch (*p_) {
      case '{': {
        const size_t path_size = path_.size();
        return Sequence('}', [&] {
          std::string_view key;
          if (!Key(&key)) return false;
          if (path_size != 0) path_ += '.';
          path_.append(key);
          if (!Value(depth + 1)) return false;
          path_.resize(path_size);
          return true;
        });
      }
      case '[':
        return Sequence(']', [&] { return Value(depth + 1); });
      case '"': {
        std::string_view s;
        if (!String(&s)) return false;
        if (depth <= kMaxDepth && !Full()) AddString(s);
        return true;
      }
      case 't':
      case 'f': {
        const bool b = *p_ == 't';
        if (!Literal(b ? "true" : "false")) return false;
        if (depth <= kMaxDepth && !Full()) {
          doc_.numbers.emplace_back(path_, b ? 1.0 : 0.0);
          doc_.keywords.emplace_back(path_, b ? "true" : "false");
        }
        return true;
      }
      case 'n':
        return Literal("null");
      default: {
        double d;
        if (!Number(&d)) return false;
        if (depth <= kMaxDepth && !Full()) doc_.numbers.emplace_back(path_, d);
        return true;
      }
    }
  }

  // An object's members or an array's elements, from its opening bracket at p_ to its closing one:
  // each read by `item`, with commas between them.
  template <typename Item>
  bool Sequence(char close, Item item) {
    ++p_;
    SkipSpace();
    if (p_ != end_ && *p_ == close) {
      ++p_;
      return true;
    }
    for (;;) {
      if (!item()) return false;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == close) {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      SkipSpace();
    }
  }

  void AddString(std::string_view s) {
    doc_.text.emplace_back(path_, s);
    if (s.size() <= kMaxKeywordBytes) {
      doc_.keywords.emplace_back(path_, s);
    } else {
      doc_.long_text.push_back(path_);
    }
    if (std::optional<int64_t> ms = ParseDateMs(s)) doc_.numbers.emplace_back(path_, static_cast<double>(*ms));
  }

  bool Literal(std::string_view word) {
    if (end_ - p_ < static_cast<ptrdiff_t>(word.size()) || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // A container too deep to index: checked, with a stack of its closing brackets, not recursed
  // into.
  bool SkipContainer() {
    std::vector<char> open;
    std::string_view key;
    for (;;) {
      // A value.
      if (p_ == end_) return false;
      const char c = *p_;
      if (c == '{' || c == '[') {
        const char close = c == '{' ? '}' : ']';
        ++p_;
        SkipSpace();
        if (p_ != end_ && *p_ == close) {
          ++p_;
        } else {
          open.push_back(close);
          if (c == '{' && !Key(&key)) return false;
          continue;
        }
      } else if (!Scalar()) {
        return false;
      }
      // After a value: a comma (and in an object the next key), or as many closing brackets as
      // close here.
      for (;;) {
        if (open.empty()) return true;
        SkipSpace();
        if (p_ == end_) return false;
        if (*p_ == ',') {
          ++p_;
          SkipSpace();
          if (open.back() == '}' && !Key(&key)) return false;
          break;
        }
        if (*p_ != open.back()) return false;
        ++p_;
        open.pop_back();
      }
    }
  }

  // A member's key (valid until the next string is read) and its colon.
  bool Key(std::string_view* key) {
    if (p_ == end_ || *p_ != '"' || !String(key)) return false;
    SkipSpace();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    SkipSpace();
    return true;
  }

  // Within SkipContainer: a string, number or literal.
  bool Scalar() {
    std::string_view s;
    double d;
    switch (*p_) {
      case '"': return String(&s);
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number(&d);
    }
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool Hex4(uint32_t* out) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = Hex(p_[i]);
      if (h < 0) return false;
      v = v << 4 | static_cast<uint32_t>(h);
    }
    p_ += 4;
    *out = v;
    return true;
  }

  // The string at p_ (its opening quote), unescaped: a view of the input when it has no escapes,
  // else of scratch_, valid until the next string.
  bool String(std::string_view* out) {
    const char* start = ++p_;
    while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
    if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;
    if (*p_ == '"') {
      *out = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    std::string& s = scratch_;
    s.assign(start, p_);
    while (p_ != end_) {
      const char c = *p_++;
      if (c == '"') {
        *out = s;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"': s.push_back('"'); break;
        case '\\': s.push_back('\\'); break;
        case '/': s.push_back('/'); break;
        case 'b': s.push_back('\b'); break;
        case 'f': s.push_back('\f'); break;
        case 'n': s.push_back('\n'); break;
        case 'r': s.push_back('\r'); break;
        case 't': s.push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a second half first
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(s, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  static void AppendUtf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | cp >> 6));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | cp >> 12));
      s.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | cp >> 18));
      s.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; a number too large for a double is not JSON
  // the index takes (nor is it for nlohmann::json), one too small is 0.
  bool Number(double* out) {
    const char* start = p_;
    auto digits = [this] {
      const char* from = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ != from;
    };
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    double d = 0;
    const auto [ptr, ec] = std::from_chars(start, p_, d);
    if (ec == std::errc::result_out_of_range) {
      // Too large or too small: strtod tells which.
      const std::string copy(start, p_);
      d = std::strtod(copy.c_str(), nullptr);
      if (!std::isfinite(d)) return false;
    } else if (ec != std::errc() || ptr != p_) {
      return false;
    }
    *out = d == 0 ? 0.0 : d;  // -0 is 0, as an integer it is
    return true;
  }

  const char* p_;
  const char* const end_;
  Document& doc_;
  std::string path_;
  std::string scratch_;  // an escaped string, unescaped
};

}  // namespace

bool IsUtf8(std::string_view s) {
  // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  auto tail = [&](int n, unsigned char lo, unsigned char hi) {
    if (end - p <= n || p[1] < lo || p[1] > hi) return false;
    for (int k = 2; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
    }
    p += n + 1;
    return true;
  };
  while (p != end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c == 0) return false;  // text with NULs is taken for binary
      ++p;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!tail(1, 0x80, 0xBF)) return false;
    } else if (c == 0xE0) {
      if (!tail(2, 0xA0, 0xBF)) return false;
    } else if (c == 0xED) {
      if (!tail(2, 0x80, 0x9F)) return false;
    } else if (c >= 0xE1 && c <= 0xEF) {
      if (!tail(2, 0x80, 0xBF)) return false;
    } else if (c == 0xF0) {
      if (!tail(3, 0x90, 0xBF)) return false;
    } else if (c >= 0xF1 && c <= 0xF3) {
      if (!tail(3, 0x80, 0xBF)) return false;
    } else if (c == 0xF4) {
      if (!tail(3, 0x80, 0x8F)) return false;
    } else {
      return false;
    }
  }
  return true;
}

namespace {

// The common forms, "2026-11-30" and "2026-11-30T12:00:00[.fff][Z|+hh:mm|-hh:mm]", read without
// absl::ParseTime, which costs the indexer more than the rest of a record's fields; anything else
// (or out of range: a leap second, a day the month lacks) is left to it.
std::optional<int64_t> CommonDateMs(std::string_view s) {
  auto num = [&](size_t at, size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, month, day, hour = 0, minute = 0, second = 0, millis = 0, offset_minutes = 0;
  if (!num(0, 4, &year) || !num(5, 2, &month) || !num(8, 2, &day)) return std::nullopt;
  if (month < 1 || month > 12 || day < 1) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  if (s.size() > 10) {
    if (s[10] != 'T' || s.size() < 19 || s[13] != ':' || s[16] != ':' || !num(11, 2, &hour) || !num(14, 2, &minute) ||
        !num(17, 2, &second) || hour > 23 || minute > 59 || second > 59) {
      return std::nullopt;
    }
    size_t at = 19;
    if (at < s.size() && s[at] == '.') {
      size_t digits = 0;
      for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++digits) {
        if (digits < 3) millis = millis * 10 + (s[at] - '0');
      }
      if (digits == 0 || digits > 9) return std::nullopt;
      for (; digits < 3; ++digits) millis *= 10;
    }
    if (at < s.size()) {
      int oh, om;
      if (s[at] == 'Z' && at + 1 == s.size()) {
        // UTC
      } else if ((s[at] == '+' || s[at] == '-') && at + 6 == s.size() && s[at + 3] == ':' && num(at + 1, 2, &oh) &&
                 num(at + 4, 2, &om) && oh <= 23 && om <= 59) {
        offset_minutes = (s[at] == '-' ? -1 : 1) * (oh * 60 + om);
      } else {
        return std::nullopt;
      }
    }
  }
  // Days since 1970-01-01 of a proleptic Gregorian date (years counted from March).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;  // floor: year 0 counts from March of year -1
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

}  // namespace

std::optional<int64_t> ParseDateMs(std::string_view s) {
  if (s.size() < 10 || s.size() > 35 || s[4] != '-' || s[7] != '-') return std::nullopt;
  if (std::optional<int64_t> ms = CommonDateMs(s)) return ms;
  return ParseDateMsByAbsl(s);
}

std::optional<int64_t> ParseDateMsByAbsl(std::string_view s) {
  if (s.size() < 10 || s.size() > 35 || s[4] != '-' || s[7] != '-') return std::nullopt;
  absl::Time t;
  std::string err;
  const std::string str(s);
  if (s.size() == 10) {
    if (!absl::ParseTime("%Y-%m-%d", str, &t, &err)) return std::nullopt;
  } else if (!absl::ParseTime(absl::RFC3339_full, str, &t, &err) &&
             !absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", str, &t, &err)) {
    return std::nullopt;
  }
  return absl::ToUnixMillis(t);
}

Document MakeDocument(const RecordFields& r) {
  Document doc;
  doc.partition = r.partition;
  doc.offset = r.offset;
  doc.timestamp = r.timestamp;
  if (r.key.has_value() && IsUtf8(*r.key)) {
    doc.key = std::string(*r.key);
    doc.keywords.emplace_back("_key", *doc.key);
    doc.text.emplace_back("_key", *doc.key);
  }
  for (const auto& [name, value] : r.headers) {
    if (value.has_value() && IsUtf8(*value) && IsUtf8(name)) {
      doc.keywords.emplace_back("_headers." + std::string(name), std::string(*value));
    }
  }
  if (!r.value.has_value() || !IsUtf8(*r.value)) {
    doc.source = "{}";
    return doc;
  }
  const size_t texts = doc.text.size(), keywords = doc.keywords.size(), numbers = doc.numbers.size(),
               long_texts = doc.long_text.size();
  if (Flattener(*r.value, doc).Object()) {
    doc.source = std::string(*r.value);  // as Elasticsearch keeps it: the record's own JSON
  } else {
    // Not a JSON object after all: the fields read before the error are taken back.
    doc.text.resize(texts);
    doc.keywords.resize(keywords);
    doc.numbers.resize(numbers);
    doc.long_text.resize(long_texts);
    const std::string text(*r.value);
    doc.text.emplace_back("value", text);
    if (text.size() <= kMaxKeywordBytes) {
      doc.keywords.emplace_back("value", text);
    } else {
      doc.long_text.push_back("value");
    }
    doc.source = nlohmann::json{{"value", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return doc;
}

}  // namespace chronik::search
