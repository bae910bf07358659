#pragma once

// Text as Kafka's Java code reads and writes it, for config values: trimming, parsing numbers,
// printing doubles, splitting lists.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::ingest::config_text {

// String.trim(): drops every char <= ' ' at both ends.
std::string_view JavaTrim(std::string_view s);
// Java regex \s.
bool IsRegexSpace(char c);
// ASCII only, as Kafka's config names and values compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Integer.parseInt / Long.parseLong / Short.parseShort: [+-]?[0-9]+ within [min, max].
std::optional<int64_t> ParseJavaInteger(std::string_view s, int64_t min, int64_t max);
// Double.parseDouble for decimal input: [+-]? (NaN | Infinity | digits[.digits][e[+-]digits])
// with an optional f/F/d/D suffix. (Java's hexadecimal form is not accepted.)
std::optional<double> ParseJavaDouble(std::string_view s);
// Double.toString: shortest round-trip digits; plain notation for 1e-3 <= |d| < 1e7 (always
// with a fraction), else "d.dddE[-]n".
std::string JavaDoubleToString(double d);
// Java's String.split(","): trailing empty strings dropped ("" gives {""}).
std::vector<std::string> JavaSplitComma(std::string_view s);

// String.join: the parts (strings or string views) with `separator` between them.
template <typename Parts>
std::string Join(const Parts& parts, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& part : parts) {
    if (!first) out += separator;
    first = false;
    out += part;
  }
  return out;
}

}  // namespace chronik::ingest::config_text
