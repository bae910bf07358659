#pragma once

// A small HTTP/1.1 server (Boost.Beast) on its own thread and io_context, so that a slow scraper
// or admin client never occupies a Kafka network thread. Bounded: request headers and bodies have
// size limits, an idle or slow connection is closed after a timeout, and connections beyond a
// maximum are refused. Routes are exact paths, answered at once, or path prefixes, answered later
// (from any thread) by a handler that waits for other work; anything else gets a JSON 404.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace chronik::monitoring {

struct HttpRequest {
  std::string method;  // "GET", ...
  std::string target;  // path and query
  std::string accept;  // the Accept header
  std::string authorization;  // the Authorization header
  std::string peer;           // the client's "host:port"
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more headers (Allow, WWW-Authenticate)
};

// %XX decoded (and '+' as a space in query strings).
std::string UrlDecode(std::string_view s, bool plus_is_space);
// A query string ("a=1&b=x%20y") as decoded names and values; a name without '=' has value "".
std::map<std::string, std::string> ParseQueryParameters(std::string_view query);

// A JSON error body: {"error": "<reason>", "message": "..."}.
HttpResponse JsonError(int status, std::string_view error, std::string_view message);

struct HttpServerOptions {
  std::string bind_addr = "0.0.0.0";
  uint16_t port = 0;
  int64_t max_body_bytes = 1 << 20;
  int64_t idle_timeout_ms = 30000;
  int max_connections = 1024;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Calls `reply` exactly once, from any thread. The connection reads nothing more until then.
  using Reply = std::function<void(HttpResponse)>;
  using AsyncHandler = std::function<void(HttpRequest, Reply reply)>;

  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();

  // Before Bind.
  void Route(std::string path, Handler handler);
  // Every path that starts with `prefix` and has no exact route.
  void RoutePrefix(std::string prefix, AsyncHandler handler);
  // Binds and listens; a port in use is an error naming the address.
  absl::Status Bind();
  void Start();
  void Stop();
  uint16_t bound_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronik::monitoring
