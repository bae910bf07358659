#pragma once

// Host text as listeners ("NAME://[::1]:9092"), object store URLs ("https://[::1]:9000/b") and
// the server's settings write it: an IPv6 address goes in brackets wherever a port may follow
// (RFC 3986), and nowhere else.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace chronik::common {

// Whether `text` is an IPv6 address (without brackets).
bool IsIpv6Literal(std::string_view text);
// Whether `text` is an IPv4 or IPv6 address (without brackets), not a name.
bool IsIpLiteral(std::string_view text);
// `host` as it is written before ":port" or in a URL: an IPv6 address in brackets.
std::string BracketedHost(std::string_view host);

struct HostPort {
  std::string host;  // brackets taken off; may be empty ("PLAINTEXT://:9092")
  std::optional<std::string> port;  // the text after ':', unchecked
};
// Splits "host", "host:port", "[address]" or "[address]:port" (an address may end in "%zone").
// Refuses an IPv6 address without
// brackets (whose last group cannot be told from a port), an unclosed '[', text after ']' other
// than ":port", and brackets around what is not an IPv6 address.
absl::StatusOr<HostPort> SplitHostPort(std::string_view text);

}  // namespace chronik::common
