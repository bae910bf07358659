#include "chronik_search/document.h"

#include <cmath>
#include <cstdio>

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

void Flatten(const nlohmann::json& v, const std::string& path, int depth, Document& doc) {
  if (depth > kMaxDepth || doc.text.size() + doc.numbers.size() > kMaxFields) return;
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      for (const auto& [k, child] : v.items()) Flatten(child, path.empty() ? k : path + "." + k, depth + 1, doc);
      break;
    case nlohmann::json::value_t::array:
      for (const auto& child : v) Flatten(child, path, depth + 1, doc);
      break;
    case nlohmann::json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      doc.text.emplace_back(path, s);
      if (s.size() <= kMaxKeywordBytes) {
        doc.keywords.emplace_back(path, s);
      } else {
        doc.long_text.push_back(path);
      }
      if (std::optional<int64_t> ms = ParseDateMs(s)) doc.numbers.emplace_back(path, static_cast<double>(*ms));
      break;
    }
    case nlohmann::json::value_t::boolean:
      doc.numbers.emplace_back(path, v.get<bool>() ? 1.0 : 0.0);
      doc.keywords.emplace_back(path, v.get<bool>() ? "true" : "false");
      break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isfinite(d)) doc.numbers.emplace_back(path, d);
      break;
    }
    default:
      break;
  }
}

}  // namespace

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) return false;  // text with NULs is taken for binary
      ++i;
      continue;
    }
    size_t n;
    if ((c >> 5) == 0x6) {
      n = 1;
    } else if ((c >> 4) == 0xe) {
      n = 2;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n + 1;
  }
  return true;
}

std::optional<int64_t> ParseDateMs(std::string_view s) {
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
  nlohmann::json parsed = nlohmann::json::parse(*r.value, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    Flatten(parsed, "", 0, doc);
    doc.source = std::string(*r.value);  // as Elasticsearch keeps it: the record's own JSON
  } else {
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
