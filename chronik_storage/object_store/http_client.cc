#include "chronik_storage/object_store/http_client.h"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <mutex>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chronik::storage::objects {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// The stale keep-alive connections a server closed while they sat idle are only found by using them.
constexpr size_t kMaxIdleConnections = 8;

// How much of a body a plain connection waits for before it reads again.
constexpr size_t kBodyLowWater = 256 << 10;
// More than any one object or range the stores are asked for (a segment is below 2 GiB).
constexpr uint64_t kMaxBody = uint64_t{4} << 30;

std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

absl::Status TransportError(const beast::error_code& ec, std::string_view step, std::string_view host) {
  std::string message = absl::StrCat(std::string(host), ": ", std::string(step), ": ", ec.message());
  if (ec == beast::error::timeout) return absl::DeadlineExceededError(message);
  return absl::UnavailableError(message);
}

}  // namespace

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  Url out;
  std::string_view rest = url;
  if (rest.substr(0, 8) == "https://") {
    rest.remove_prefix(8);
    out.tls = true;
    out.port = 443;
  } else if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
    out.port = 80;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not an http:// or https:// URL: ", std::string(url)));
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    out.path = std::string(path);
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(std::string(authority.substr(colon + 1)), &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port in URL: ", std::string(url)));
    }
    out.port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in URL: ", std::string(url)));
  out.host = std::string(authority);
  return out;
}

std::string_view FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, absl::string_view(name.data(), name.size()))) return v;
  }
  return {};
}

struct HttpClient::Connection {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Runs the operation just started to its end; the stream's deadline cancels it if need be.
  void Run() {
    ioc.restart();
    ioc.run();
  }

  // Starts op(stream, done) on whichever stream this connection has and runs it to its end,
  // cancelled after `timeout`.
  template <typename Op>
  beast::error_code RunOnStream(absl::Duration timeout, Op op) {
    beast::error_code ec;
    tcp().expires_after(ToChrono(timeout));
    auto done = [&ec](beast::error_code e, size_t) { ec = e; };
    if (secure) {
      op(*secure, done);
    } else {
      op(*plain, done);
    }
    Run();
    return ec;
  }
};

struct HttpClient::Shared {
  explicit Shared(bool tls) : tls_context(ssl::context::tls_client) {}
  ssl::context tls_context;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;
};

HttpClient::HttpClient(bool tls, std::string host, uint16_t port, HttpOptions options)
    : tls_(tls),
      host_(std::move(host)),
      port_(port),
      options_(std::move(options)),
      host_header_(port_ == (tls_ ? 443 : 80) ? host_ : absl::StrCat(host_, ":", port_)),
      shared_(std::make_unique<Shared>(tls)) {
  if (tls_) {
    auto& ctx = shared_->tls_context;
    beast::error_code ec;
    if (options_.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options_.ca_file, ec);
    }
    // A bad CA file shows as a failed handshake on every request, naming the certificate problem.
    ctx.set_verify_mode(ssl::verify_peer);
  }
}

HttpClient::~HttpClient() = default;

absl::StatusOr<std::unique_ptr<HttpClient::Connection>> HttpClient::Connect() {
  auto c = std::make_unique<Connection>();
  std::string connect_host = host_;
  std::string connect_port = std::to_string(port_);
  if (!options_.connect_address.empty()) {
    size_t colon = options_.connect_address.rfind(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError("connect_address is not host:port");
    connect_host = options_.connect_address.substr(0, colon);
    connect_port = options_.connect_address.substr(colon + 1);
  }
  tcp::resolver resolver(c->ioc);
  beast::error_code ec;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(connect_host, connect_port, [&](beast::error_code e, tcp::resolver::results_type r) {
    ec = e;
    endpoints = std::move(r);
  });
  c->Run();
  if (ec) return TransportError(ec, "resolve", connect_host);

  if (tls_) {
    c->secure.emplace(c->ioc, shared_->tls_context);
  } else {
    c->plain.emplace(c->ioc);
  }
  c->tcp().expires_after(ToChrono(options_.timeout));
  c->tcp().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  c->Run();
  if (ec) return TransportError(ec, "connect", host_header_);
  c->tcp().socket().set_option(tcp::no_delay(true));

  if (tls_) {
    if (!SSL_set_tlsext_host_name(c->secure->native_handle(), host_.c_str())) {
      return absl::InternalError("cannot set the TLS server name");
    }
    c->secure->set_verify_callback(ssl::host_name_verification(host_));
    c->secure->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    c->Run();
    if (ec) return TransportError(ec, "TLS handshake", host_header_);
  }
  return c;
}

absl::Status HttpClient::ReadExactly(Connection& c, char* to, size_t size) {
  if (size == 0) return absl::OkStatus();
  if (c.secure) {
    beast::error_code ec = c.RunOnStream(
        options_.timeout, [&](auto& stream, auto done) { asio::async_read(stream, asio::buffer(to, size), done); });
    if (ec) return TransportError(ec, "receive", host_header_);
    return absl::OkStatus();
  }
  // Plain TCP: recv into the destination, and poll only when the socket is empty. SO_RCVLOWAT
  // makes poll wait for a good part of what is missing rather than wake for every segment.
  const int fd = c.plain->socket().native_handle();
  const absl::Time deadline = absl::Now() + options_.timeout;
  int lowat = 0;
  while (size > 0) {
    ssize_t n = ::recv(fd, to, size, MSG_DONTWAIT);
    if (n > 0) {
      to += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return absl::UnavailableError(absl::StrCat(host_header_, ": receive: connection closed in a body"));
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat(host_header_, ": receive: ", std::strerror(errno)));
    }
    const int want = static_cast<int>(std::min<size_t>(size, kBodyLowWater));
    if (want != lowat) {
      lowat = want;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
    }
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) return absl::DeadlineExceededError(absl::StrCat(host_header_, ": receive: timed out"));
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1 << 30))) < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat(host_header_, ": receive: poll: ", std::strerror(errno)));
    }
  }
  if (lowat > 1) {
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
  }
  return absl::OkStatus();
}

absl::StatusOr<HttpResponse> HttpClient::Exchange(Connection& c, const HttpRequest& request, bool& keep_alive) {
  http::request<http::span_body<const char>> req;
  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(http::field::host, host_header_);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = beast::span<const char>(request.body.data(), request.body.size());
  req.prepare_payload();

  beast::error_code ec =
      c.RunOnStream(options_.timeout, [&](auto& stream, auto done) { http::async_write(stream, req, done); });
  if (ec) return TransportError(ec, "send", host_header_);

  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  if (request.method == "HEAD") parser.skip(true);
  ec = c.RunOnStream(options_.timeout,
                     [&](auto& stream, auto done) { http::async_read_header(stream, c.buffer, parser, done); });
  if (ec) return TransportError(ec, "receive", host_header_);

  auto& res = parser.get();
  HttpResponse out;
  if (request.method != "HEAD" && !parser.is_done()) {
    const auto length = parser.content_length();
    if (length && !parser.chunked()) {
      if (*length > kMaxBody) {
        return absl::InternalError(absl::StrCat(host_header_, ": a body of ", *length, " bytes is past any object we read"));
      }
      // A body of known length (a ranged GET of megabytes) goes straight into its string: the
      // parser would take it in small reads, each a round through the io_context, and copy it.
      // An error's small body leaves the buffer for the retry.
      if (request.response_buffer != nullptr && res.result_int() / 100 == 2 &&
          request.response_buffer->capacity() >= *length) {
        out.body = std::move(*request.response_buffer);
      }
      out.body.resize(*length);
      const size_t buffered = std::min<size_t>(c.buffer.size(), *length);
      asio::buffer_copy(asio::buffer(out.body.data(), buffered), c.buffer.data());
      c.buffer.consume(buffered);
      if (auto st = ReadExactly(c, out.body.data() + buffered, *length - buffered); !st.ok()) return st;
    } else {
      ec = c.RunOnStream(options_.timeout,
                         [&](auto& stream, auto done) { http::async_read(stream, c.buffer, parser, done); });
      if (ec) return TransportError(ec, "receive", host_header_);
      out.body = std::move(res.body());
    }
  }
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  keep_alive = res.keep_alive();
  return out;
}

absl::StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  std::unique_ptr<Connection> connection;
  {
    std::lock_guard lock(shared_->mu);
    if (!shared_->idle.empty()) {
      connection = std::move(shared_->idle.back());
      shared_->idle.pop_back();
    }
  }
  bool keep_alive = false;
  absl::StatusOr<HttpResponse> response;
  if (connection) {
    response = Exchange(*connection, request, keep_alive);
    // A connection the server closed while it was idle fails at once: try again on a new one.
    if (!response.ok()) connection.reset();
  }
  if (!connection) {
    auto fresh = Connect();
    if (!fresh.ok()) return fresh.status();
    connection = std::move(*fresh);
    response = Exchange(*connection, request, keep_alive);
  }
  if (response.ok() && keep_alive) {
    std::lock_guard lock(shared_->mu);
    if (shared_->idle.size() < kMaxIdleConnections) shared_->idle.push_back(std::move(connection));
  }
  return response;
}

}  // namespace chronik::storage::objects
