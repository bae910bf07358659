#pragma once

// Ports on the loopback address (127.0.0.1, or ::1) for the servers tests and benchmarks start.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace chronik::testing {

namespace loopback_internal {

inline socklen_t Address(bool ipv6, uint16_t port, sockaddr_storage* out) {
  *out = {};
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    return sizeof(sockaddr_in6);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(out);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons(port);
  return sizeof(sockaddr_in);
}

}  // namespace loopback_internal

// A port nothing listens on now (0 if none could be had).
inline uint16_t FreeLoopbackPort(bool ipv6 = false) {
  sockaddr_storage addr;
  socklen_t len = loopback_internal::Address(ipv6, 0, &addr);
  int fd = ::socket(addr.ss_family, SOCK_STREAM, 0);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return 0;
  return ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

// Whether something accepts connections on the loopback address's `port`.
inline bool AcceptsOnLoopback(uint16_t port, bool ipv6 = false) {
  sockaddr_storage addr;
  const socklen_t len = loopback_internal::Address(ipv6, port, &addr);
  int fd = ::socket(addr.ss_family, SOCK_STREAM, 0);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0;
  ::close(fd);
  return ok;
}

}  // namespace chronik::testing
