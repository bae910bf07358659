#pragma once

// What a record becomes in the search index: its _source and its fields by kind. A JSON value is
// indexed by field (nested objects as dotted paths, arrays as their elements): strings as text and
// as keywords (and as dates when they read as ISO-8601), numbers and booleans as numbers. A value
// that is UTF-8 but not a JSON object is the text field "value"; a binary value has no fields.
// Every document also has _key and _headers.<name>; _timestamp, _partition and _offset are its
// own (the index serves them from the document, not as fields).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronik::search {

struct Document {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::string source;  // the _source, as JSON text
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<std::pair<std::string, std::string>> keywords;
  std::vector<std::pair<std::string, double>> numbers;
  // Fields whose strings are too long to be keywords: text only, yet they exist.
  std::vector<std::string> long_text;
};

struct RecordFields {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
};

Document MakeDocument(const RecordFields& record);

// ISO-8601 / RFC 3339 date or date-time ("2026-11-30", "2026-11-30T12:00:00Z", with fraction or
// offset) as ms since the epoch; nullopt for anything else.
std::optional<int64_t> ParseDateMs(std::string_view s);
// ParseDateMs by absl::ParseTime alone, without the reading of common forms it tries first: what
// that reading is checked against (fuzz/json_fuzzer.cc).
std::optional<int64_t> ParseDateMsByAbsl(std::string_view s);

bool IsUtf8(std::string_view s);

}  // namespace chronik::search
