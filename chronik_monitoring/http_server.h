#pragma once

// A small HTTP/1.1 server (Boost.Beast) on its own thread and io_context, so that a slow scraper
// or admin client never occupies a Kafka network thread. Bounded: request headers and bodies have
// size limits, an idle or slow connection is closed after a timeout, and connections beyond a
// maximum are refused. Routes are exact paths; anything else gets a JSON 404.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace chronik::monitoring {

struct HttpRequest {
  std::string method;  // "GET", ...
  std::string target;  // path and query
  std::string accept;  // the Accept header
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

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

  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();

  // Before Bind.
  void Route(std::string path, Handler handler);
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
