#pragma once

// A blocking Kafka client for in-process tests: encodes a request with the project's codec, sends
// it over a loopback socket and decodes the answer. Agreeing with ourselves proves the plumbing
// (listener, dispatcher, handlers, storage), not compatibility: that is the real clients' job.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/apis.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/wire.h"

namespace chronik::server::testing {

class TestClient {
 public:
  // Connects as a client does, trying again while the port is not yet listening (a broker's
  // Kafka port listens once Run starts).
  explicit TestClient(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0;; ++attempt) {
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd_ < 0) std::abort();
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return;
      const bool refused = errno == ECONNREFUSED;
      ::close(fd_);
      if (!refused || attempt == 1000) std::abort();
      ::usleep(10000);
    }
  }
  ~TestClient() { ::close(fd_); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // Sends `request` in `version` without waiting for the answer.
  template <typename Request>
  void Send(const Request& request, int16_t version) {
    const protocol::ApiDescriptor* api = protocol::FindApi(Request::kApiKey);
    protocol::RequestHeader h;
    h.api_key = Request::kApiKey;
    h.api_version = version;
    h.correlation_id = ++correlation_id_;
    h.client_id = "in-process-test";
    std::string frame(4, '\0');
    protocol::Writer w(&frame);
    h.Encode(w, protocol::RequestHeaderVersion(*api, version));
    request.Encode(w, version);
    const uint32_t size = static_cast<uint32_t>(frame.size() - 4);
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(size >> (8 * (3 - i)));
    WriteAll(frame);
  }

  // Reads the next answer as `Response` in `version`.
  template <typename Response>
  absl::StatusOr<Response> Receive(int16_t version) {
    std::string size_bytes = ReadExactly(4);
    if (size_bytes.size() != 4) return absl::UnavailableError("connection closed");
    const uint32_t size = (uint32_t{static_cast<uint8_t>(size_bytes[0])} << 24) |
                          (uint32_t{static_cast<uint8_t>(size_bytes[1])} << 16) |
                          (uint32_t{static_cast<uint8_t>(size_bytes[2])} << 8) | uint32_t{static_cast<uint8_t>(size_bytes[3])};
    std::string body = ReadExactly(size);
    if (body.size() != size) return absl::UnavailableError("connection closed mid-answer");
    protocol::Reader r(body);
    protocol::ResponseHeader h;
    const protocol::ApiDescriptor* api = protocol::FindApi(Response::kApiKey);
    if (absl::Status s = h.Decode(r, protocol::ResponseHeaderVersion(*api, version)); !s.ok()) return s;
    Response response;
    if (absl::Status s = response.Decode(r, version); !s.ok()) return s;
    return response;
  }

  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(const Request& request, int16_t version) {
    Send(request, version);
    return Receive<Response>(version);
  }

 private:
  void WriteAll(const std::string& bytes) {
    size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) std::abort();
      at += static_cast<size_t>(n);
    }
  }
  std::string ReadExactly(size_t size) {
    std::string out(size, '\0');
    size_t at = 0;
    while (at < size) {
      const ssize_t n = ::recv(fd_, out.data() + at, size - at, 0);
      if (n <= 0) {
        out.resize(at);
        return out;
      }
      at += static_cast<size_t>(n);
    }
    return out;
  }

  int fd_ = -1;
  int32_t correlation_id_ = 0;
};

}  // namespace chronik::server::testing
