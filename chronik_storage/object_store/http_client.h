#pragma once

// HTTP/1.1 for the object stores, with TLS through OpenSSL on the socket (the system's trust store
// unless a CA file is given). Connections are kept alive and reused; every request is bounded by a
// timeout. Callers are janitor and remote-reader threads, never network threads: a request blocks
// the calling thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace chronik::storage::objects {

// "http[s]://host[:port][/path]", the host a name, an IPv4 address or an IPv6 one in brackets
// (without a zone: link-local addresses are not for object stores).
struct Url {
  bool tls = false;
  std::string host;  // an IPv6 address without its brackets
  uint16_t port = 0;
  std::string path;  // "" or starting with '/', without a trailing '/'
};
absl::StatusOr<Url> ParseUrl(std::string_view url);

struct HttpOptions {
  absl::Duration timeout = absl::Seconds(30);
  // PEM file of CAs trusted instead of the system's.
  std::string ca_file;
  // "host:port" ("[address]:port" for IPv6) connected to instead of the request's host, which is
  // still sent and verified (as curl's --connect-to): for private endpoints whose names the
  // resolver does not know.
  std::string connect_address;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of header `name` (case-insensitive); "" when absent.
std::string_view FindHeader(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;
  std::string target;  // encoded path and query
  HttpHeaders headers;
  std::string_view body;
  // When set, a response body of known length that fits its capacity is read into its memory (the
  // string is taken; ObjectStore::GetReusing).
  std::string* response_buffer = nullptr;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::string_view Header(std::string_view name) const { return FindHeader(headers, name); }
};

class HttpClient {
 public:
  // Requests go to `host`, a name or an address (IPv6 without brackets), sent as Host with the port
  // when it is not the scheme's default.
  HttpClient(bool tls, std::string host, uint16_t port, HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // What the Host header says.
  const std::string& host_header() const { return host_header_; }

  // Unavailable or DeadlineExceeded when no response came (worth retrying); any HTTP status is a
  // response. Thread-safe: concurrent requests use separate connections.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request);

 private:
  struct Connection;
  absl::StatusOr<std::unique_ptr<Connection>> Connect();
  absl::StatusOr<HttpResponse> Exchange(Connection& connection, const HttpRequest& request, bool& keep_alive);
  // Reads exactly `size` bytes of a body into `to`, within the timeout.
  absl::Status ReadExactly(Connection& connection, char* to, size_t size);

  const bool tls_;
  const std::string host_;
  const uint16_t port_;
  const HttpOptions options_;
  const std::string host_header_;
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

}  // namespace chronik::storage::objects
