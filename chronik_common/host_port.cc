#include "chronik_common/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/str_cat.h"

namespace chronik::common {

bool IsIpv6Literal(std::string_view text) {
  in6_addr address;
  return ::inet_pton(AF_INET6, std::string(text).c_str(), &address) == 1;
}

bool IsIpLiteral(std::string_view text) {
  in_addr v4;
  return ::inet_pton(AF_INET, std::string(text).c_str(), &v4) == 1 || IsIpv6Literal(text);
}

std::string BracketedHost(std::string_view host) {
  return host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
}

absl::StatusOr<HostPort> SplitHostPort(std::string_view text) {
  HostPort out;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("unclosed [");
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return absl::InvalidArgumentError("only :port may follow a bracketed address");
    }
    if (!after.empty()) out.port = std::string(after.substr(1));
    out.host = std::string(text.substr(1, close - 1));
    // A link-local address may name its interface ("fe80::1%eth0"), which getaddrinfo takes.
    if (!IsIpv6Literal(std::string_view(out.host).substr(0, out.host.find('%')))) {
      return absl::InvalidArgumentError(out.host + " in brackets is not an IPv6 address");
    }
    return out;
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(text);
    return out;
  }
  out.host = std::string(text.substr(0, colon));
  out.port = std::string(text.substr(colon + 1));
  if (out.host.find(':') != std::string::npos) {
    return absl::InvalidArgumentError("an IPv6 address is written in brackets, [address]:port");
  }
  return out;
}

}  // namespace chronik::common
