#include "chronik_storage/object_store/http_store_util.h"

#include <algorithm>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace chronik::storage::objects {

bool IsRetryableStatus(int http_status) {
  return http_status == 408 || http_status == 429 || http_status == 500 || http_status == 502 ||
         http_status == 503 || http_status == 504;
}

absl::StatusOr<HttpResponse> SendWithRetries(HttpClient& client, const RetryPolicy& policy,
                                             absl::FunctionRef<HttpRequest()> make_request) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  absl::StatusOr<HttpResponse> result;
  for (int attempt = 0; attempt < std::max(1, policy.max_attempts); ++attempt) {
    if (attempt > 0) {
      absl::Duration cap = std::min(policy.max_backoff, policy.initial_backoff * (int64_t{1} << std::min(attempt, 20)));
      std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(0, absl::ToInt64Microseconds(cap)));
      absl::SleepFor(absl::Microseconds(jitter(random)));
    }
    result = client.Send(make_request());
    if (result.ok() ? !IsRetryableStatus(result->status)
                    : !absl::IsUnavailable(result.status()) && !absl::IsDeadlineExceeded(result.status())) {
      break;
    }
  }
  return result;
}

absl::StatusOr<HttpResponse> SendChecked(HttpClient& client, const RetryPolicy& policy,
                                         absl::FunctionRef<HttpRequest()> make_request, std::string_view what) {
  auto response = SendWithRetries(client, policy, make_request);
  if (!response.ok()) {
    return absl::Status(response.status().code(), absl::StrCat(std::string(what), ": ", response.status().message()));
  }
  if (response->status / 100 != 2) return StatusFromResponse(*response, what);
  return response;
}

absl::Status StatusFromResponse(const HttpResponse& response, std::string_view what) {
  std::string message = absl::StrCat(std::string(what), ": HTTP ", response.status);
  std::string code = XmlText(response.body, "Code");
  std::string detail = XmlText(response.body, "Message");
  if (!code.empty()) absl::StrAppend(&message, " ", code);
  if (!detail.empty()) absl::StrAppend(&message, ": ", detail.substr(0, 300));
  switch (response.status) {
    case 404:
      return absl::NotFoundError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 416:
      return absl::OutOfRangeError(message);
    case 409:
    case 412:
      return absl::FailedPreconditionError(message);
    default:
      if (IsRetryableStatus(response.status)) return absl::UnavailableError(message);
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::string> RangedBody(HttpResponse response, std::optional<ByteRange> range, std::string_view what) {
  if (!range) return std::move(response.body);
  const int64_t size = static_cast<int64_t>(response.body.size());
  if (response.status == 200) {
    if (range->first >= size) return absl::OutOfRangeError(absl::StrCat(std::string(what), ": range past the end"));
    return response.body.substr(range->first, range->last - range->first + 1);
  }
  if (size == 0) return absl::OutOfRangeError(absl::StrCat(std::string(what), ": range past the end"));
  return std::move(response.body);
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

std::string XmlText(std::string_view xml, std::string_view tag) {
  auto elements = XmlElements(xml, tag);
  return elements.empty() ? std::string() : XmlUnescape(elements.front());
}

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    std::string_view entity = text.substr(i + 1, semi - i - 1);
    uint32_t code = 0;
    bool known = true;
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() > 1 && entity[0] == '#' &&
               (entity[1] == 'x' ? absl::SimpleHexAtoi(std::string(entity.substr(2)), &code)
                                : absl::SimpleAtoi(std::string(entity.substr(1)), &code)) &&
               code <= 0x10FFFF) {
      // UTF-8 of the code point.
      if (code < 0x80) {
        out.push_back(static_cast<char>(code));
      } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
      } else if (code < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (code >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
      }
    } else {
      known = false;
    }
    if (known) {
      i = semi;
    } else {
      out.push_back('&');
    }
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string HttpDate(absl::Time t) { return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone()); }

std::string AmzDate(absl::Time t) { return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone()); }

}  // namespace chronik::storage::objects
