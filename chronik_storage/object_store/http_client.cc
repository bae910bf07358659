#include "chronik_storage/object_store/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>

#include <boost/beast/http.hpp>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_common/host_port.h"

namespace chronik::storage::objects {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// The stale keep-alive connections a server closed while they sat idle are only found by using them.
constexpr size_t kMaxIdleConnections = 8;

// How much of a body a connection waits for before it reads again.
constexpr size_t kBodyLowWater = 256 << 10;
// More than any one object or range the stores are asked for (a segment is below 2 GiB).
constexpr uint64_t kMaxBody = uint64_t{4} << 30;
// What one read of a response's head (or of a body of unknown length) asks for.
constexpr size_t kReadChunk = 64 << 10;
// What one recv of a TLS connection takes: many records.
constexpr size_t kTlsReadBuffer = 256 << 10;
// The most plaintext one TLS record carries.
constexpr size_t kTlsRecordPlaintext = 16 << 10;

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

// What OpenSSL reads and writes through: the socket, and a buffer that takes many TLS records in
// one recv. OpenSSL's own read-ahead would do the latter, but it moves all it holds after a record
// to the front of its buffer before each next record: 39 % of a TLS download's CPU here.
struct TlsSocket {
  int fd = -1;
  std::unique_ptr<char[]> buffer = std::make_unique_for_overwrite<char[]>(kTlsReadBuffer);
  size_t begin = 0;
  size_t end = 0;
};

// A BIO on a TlsSocket, whose writes never raise SIGPIPE (OpenSSL's own writes with write(2)): a
// store that closes a connection must cost that request, not the process.
BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "chronik-socket");
    BIO_meth_set_write(m, [](BIO* b, const char* data, int size) -> int {
      BIO_clear_retry_flags(b);
      const ssize_t n = ::send(static_cast<TlsSocket*>(BIO_get_data(b))->fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
      return static_cast<int>(n);
    });
    BIO_meth_set_read(m, [](BIO* b, char* data, int size) -> int {
      BIO_clear_retry_flags(b);
      TlsSocket& socket = *static_cast<TlsSocket*>(BIO_get_data(b));
      if (socket.begin == socket.end) {
        // Empty: a retry means the socket is empty too, which a poll for POLLIN then waits on.
        const ssize_t n = ::recv(socket.fd, socket.buffer.get(), kTlsReadBuffer, 0);
        if (n <= 0) {
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
          return static_cast<int>(n);
        }
        socket.begin = 0;
        socket.end = static_cast<size_t>(n);
      }
      const size_t n = std::min(static_cast<size_t>(size), socket.end - socket.begin);
      std::memcpy(data, socket.buffer.get() + socket.begin, n);
      socket.begin += n;
      return static_cast<int>(n);
    });
    BIO_meth_set_ctrl(m, [](BIO* b, int cmd, long, void*) -> long {
      if (cmd == BIO_CTRL_FLUSH) return 1;
      if (cmd == BIO_CTRL_PENDING) {
        const TlsSocket& socket = *static_cast<TlsSocket*>(BIO_get_data(b));
        return static_cast<long>(socket.end - socket.begin);
      }
      return 0;
    });
    BIO_meth_set_create(m, [](BIO* b) -> int {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
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
  auto split = common::SplitHostPort(authority);
  if (!split.ok()) return absl::InvalidArgumentError(absl::StrCat("bad host in URL ", std::string(url), ": ", split.status().message()));
  const std::optional<std::string>& port = split->port;
  if (port.has_value()) {
    uint32_t number = 0;
    if (!absl::SimpleAtoi(std::string(*port), &number) || number == 0 || number > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port in URL: ", std::string(url)));
    }
    out.port = static_cast<uint16_t>(number);
  }
  if (split->host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in URL: ", std::string(url)));
  out.host = split->host;
  return out;
}

std::string_view FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, absl::string_view(name.data(), name.size()))) return v;
  }
  return {};
}

// One kept-alive connection: a socket, with OpenSSL on it for https (through a TlsSocket, not a
// memory BIO pair: a recv takes many records at once, and no round through an event loop per
// record). Non-blocking; every wait is a poll bounded by a deadline.
struct HttpClient::Connection {
  int fd = -1;
  SSL* ssl = nullptr;
  std::unique_ptr<TlsSocket> tls_socket;  // under ssl's BIO
  int low_water = 1;  // the socket's SO_RCVLOWAT

  // How many bytes poll waits for: a good part of what is certain to come, rather than a wake for
  // every segment.
  void SetLowWater(size_t coming) {
    const int want = static_cast<int>(std::clamp<size_t>(coming, 1, kBodyLowWater));
    if (want == low_water) return;
    low_water = want;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &low_water, sizeof(low_water));
  }

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }

  // Waits until the socket is ready for `events` or the deadline passes.
  absl::Status Wait(short events, absl::Time deadline, const char* what, const std::string& host) {
    for (;;) {
      const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (wait_ms <= 0) return absl::DeadlineExceededError(absl::StrCat(host, ": ", what, ": timed out"));
      pollfd p{fd, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1 << 30)));
      if (n > 0) return absl::OkStatus();
      if (n < 0 && errno != EINTR) {
        return absl::UnavailableError(absl::StrCat(host, ": ", what, ": poll: ", std::strerror(errno)));
      }
    }
  }

  // What an OpenSSL call that returned `result` asks for: kOk to retry after waiting for
  // `*events`, or the error that ends the connection.
  absl::Status TlsWant(int result, short* events, const char* what, const std::string& host) {
    const int error = SSL_get_error(ssl, result);
    if (error == SSL_ERROR_WANT_READ) {
      *events = POLLIN;
      return absl::OkStatus();
    }
    if (error == SSL_ERROR_WANT_WRITE) {
      *events = POLLOUT;
      return absl::OkStatus();
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      return absl::UnavailableError(absl::StrCat(host, ": ", what, ": connection closed"));
    }
    if (error == SSL_ERROR_SYSCALL && errno != 0) {
      return absl::UnavailableError(absl::StrCat(host, ": ", what, ": ", std::strerror(errno)));
    }
    if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      // The peer closed the TCP connection without TLS's close_notify.
      return absl::UnavailableError(absl::StrCat(host, ": ", what, ": connection closed"));
    }
    return absl::UnavailableError(absl::StrCat(host, ": ", what, ": ", OpenSslErrors()));
  }

  // Some bytes (at most `size`) into `to`; 0 when the peer closed the connection. `coming`: how
  // many bytes are certain to arrive on the socket, which a wait may wait for.
  absl::StatusOr<size_t> ReadSome(char* to, size_t size, absl::Time deadline, const std::string& host,
                                  size_t coming = 0) {
    for (;;) {
      short events = POLLIN;
      if (ssl != nullptr) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_read(ssl, to, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
        if (n > 0) return static_cast<size_t>(n);
        if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) return 0;
        if (auto st = TlsWant(n, &events, "receive", host); !st.ok()) return st;
      } else {
        const ssize_t n = ::recv(fd, to, size, MSG_DONTWAIT);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          return absl::UnavailableError(absl::StrCat(host, ": receive: ", std::strerror(errno)));
        }
      }
      SetLowWater(events == POLLIN && (ssl == nullptr || !SSL_in_init(ssl)) ? coming : 1);
      if (auto st = Wait(events, deadline, "receive", host); !st.ok()) return st;
    }
  }

  absl::Status WriteAll(std::string_view data, absl::Time deadline, const std::string& host) {
    while (!data.empty()) {
      short events = POLLOUT;
      if (ssl != nullptr) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_write(ssl, data.data(), static_cast<int>(std::min<size_t>(data.size(), INT32_MAX)));
        if (n > 0) {
          data.remove_prefix(static_cast<size_t>(n));
          continue;
        }
        if (auto st = TlsWant(n, &events, "send", host); !st.ok()) return st;
      } else {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
          data.remove_prefix(static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          return absl::UnavailableError(absl::StrCat(host, ": send: ", std::strerror(errno)));
        }
      }
      if (auto st = Wait(events, deadline, "send", host); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
};

struct HttpClient::Shared {
  SSL_CTX* tls_context = nullptr;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;
  ~Shared() {
    if (tls_context != nullptr) SSL_CTX_free(tls_context);
  }
};

HttpClient::HttpClient(bool tls, std::string host, uint16_t port, HttpOptions options)
    : tls_(tls),
      host_(std::move(host)),
      port_(port),
      options_(std::move(options)),
      host_header_(port_ == (tls_ ? 443 : 80) ? common::BracketedHost(host_)
                                                : absl::StrCat(common::BracketedHost(host_), ":", port_)),
      shared_(std::make_unique<Shared>()) {
  if (tls_) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx != nullptr) {
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      // A bad CA file shows as a failed handshake on every request, naming the certificate problem.
      if (options_.ca_file.empty()) {
        SSL_CTX_set_default_verify_paths(ctx);
      } else {
        SSL_CTX_load_verify_locations(ctx, options_.ca_file.c_str(), nullptr);
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      // TlsSocket buffers below OpenSSL, and ReadExactly's low-water wait counts on OpenSSL holding
      // at most one partial record when it wants more: no read-ahead. A renegotiation would make it
      // wait for a few handshake bytes as if they were a body's; stores do not ask for one.
      SSL_CTX_set_read_ahead(ctx, 0);
      SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
      ERR_clear_error();
    }
    shared_->tls_context = ctx;
  }
}

HttpClient::~HttpClient() = default;

absl::StatusOr<std::unique_ptr<HttpClient::Connection>> HttpClient::Connect() {
  std::string connect_host = host_;
  std::string connect_port = std::to_string(port_);
  if (!options_.connect_address.empty()) {
    auto split = common::SplitHostPort(options_.connect_address);
    if (!split.ok()) return absl::InvalidArgumentError(absl::StrCat("connect_address: ", split.status().message()));
    if (!split->port.has_value()) return absl::InvalidArgumentError("connect_address is not host:port");
    connect_host = split->host;
    connect_port = *split->port;
  }
  if (tls_ && shared_->tls_context == nullptr) return absl::InternalError("cannot make a TLS context");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(connect_host.c_str(), connect_port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat(connect_host, ": resolve: ", ::gai_strerror(rc)));
  }
  const absl::Time deadline = absl::Now() + options_.timeout;
  auto c = std::make_unique<Connection>();
  absl::Status st = absl::UnavailableError(absl::StrCat(host_header_, ": connect: no address"));
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    c->fd = fd;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      st = c->Wait(POLLOUT, deadline, "connect", host_header_);
      int error = 0;
      socklen_t len = sizeof(error);
      if (st.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) break;
      if (st.ok()) st = absl::UnavailableError(absl::StrCat(host_header_, ": connect: ", std::strerror(error)));
    } else {
      st = absl::UnavailableError(absl::StrCat(host_header_, ": connect: ", std::strerror(errno)));
    }
    ::close(fd);
    c->fd = -1;
    if (absl::IsDeadlineExceeded(st)) break;
  }
  ::freeaddrinfo(found);
  if (c->fd < 0) return st;
  const int one = 1;
  ::setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  if (tls_) {
    c->ssl = SSL_new(shared_->tls_context);
    BIO* bio = c->ssl != nullptr ? BIO_new(SocketMethod()) : nullptr;
    if (bio == nullptr) return absl::InternalError(absl::StrCat("cannot make a TLS connection: ", OpenSslErrors()));
    c->tls_socket = std::make_unique<TlsSocket>();
    c->tls_socket->fd = c->fd;
    BIO_set_data(bio, c->tls_socket.get());
    SSL_set_bio(c->ssl, bio, bio);
    // SNI carries DNS names only (RFC 6066); the certificate must name the host: an address when
    // the host is one, else a DNS name.
    const bool literal = common::IsIpLiteral(host_);
    if (!literal && !SSL_set_tlsext_host_name(c->ssl, host_.c_str())) {
      return absl::InternalError("cannot set the TLS server name");
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(c->ssl);
    if (!(literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str()) : X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0))) {
      return absl::InternalError("cannot set the TLS host to verify");
    }
    for (;;) {
      ERR_clear_error();
      errno = 0;
      const int rc = SSL_connect(c->ssl);
      if (rc == 1) break;
      short events = POLLIN;
      if (auto want = c->TlsWant(rc, &events, "TLS handshake", host_header_); !want.ok()) {
        if (long verify = SSL_get_verify_result(c->ssl); verify != X509_V_OK) {
          return absl::UnavailableError(absl::StrCat(host_header_, ": TLS handshake: certificate verify failed: ",
                                                     X509_verify_cert_error_string(verify)));
        }
        return want;
      }
      if (auto waited = c->Wait(events, deadline, "TLS handshake", host_header_); !waited.ok()) return waited;
    }
  }
  return c;
}

absl::Status HttpClient::ReadExactly(Connection& c, char* to, size_t size) {
  if (size == 0) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + options_.timeout;
  absl::Cleanup reset_low_water = [&c] { c.SetLowWater(1); };
  if (c.ssl != nullptr) {
    while (size > 0) {
      // When OpenSSL wants more, it holds less than one record: all but that record's plaintext
      // is still to come on the socket, as ciphertext.
      auto n = c.ReadSome(to, size, deadline, host_header_, size > kTlsRecordPlaintext ? size - kTlsRecordPlaintext : 0);
      if (!n.ok()) return n.status();
      if (*n == 0) return absl::UnavailableError(absl::StrCat(host_header_, ": receive: connection closed in a body"));
      to += *n;
      size -= *n;
    }
    return absl::OkStatus();
  }
  // Plain TCP: recv into the destination, and poll only when the socket is empty.
  const int fd = c.fd;
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
    c.SetLowWater(size);
    if (auto st = c.Wait(POLLIN, deadline, "receive", host_header_); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<HttpResponse> HttpClient::Exchange(Connection& c, const HttpRequest& request, bool& keep_alive) {
  // As Beast's prepare_payload: a body's length, and Content-Length: 0 for an empty PUT or POST.
  std::string head = absl::StrCat(request.method, " ", request.target, " HTTP/1.1\r\nHost: ", host_header_, "\r\n");
  for (const auto& [name, value] : request.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  if (!request.body.empty() || request.method == "PUT" || request.method == "POST") {
    absl::StrAppend(&head, "Content-Length: ", request.body.size(), "\r\n");
  }
  head += "\r\n";
  absl::Time deadline = absl::Now() + options_.timeout;
  // A small body goes with the head in one write (one TLS record, one segment).
  if (request.body.size() <= kReadChunk) {
    head.append(request.body.data(), request.body.size());
    if (auto st = c.WriteAll(head, deadline, host_header_); !st.ok()) return st;
  } else if (auto st = c.WriteAll(head, deadline, host_header_); !st.ok()) {
    return st;
  } else if (auto body = c.WriteAll(request.body, deadline, host_header_); !body.ok()) {
    return body;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  parser.header_limit(1 << 20);
  if (request.method == "HEAD") parser.skip(true);
  // The head, read in chunks and given to the parser, which leaves the body's first bytes.
  deadline = absl::Now() + options_.timeout;
  // What was read and the parser has not taken yet (after the head: the body's first bytes).
  std::string pending;
  // Appends what one read brings to `pending`; 0 when the peer closed the connection.
  auto read_more = [&]() -> absl::StatusOr<size_t> {
    const size_t old = pending.size();
    pending.resize(old + kReadChunk);
    auto n = c.ReadSome(pending.data() + old, kReadChunk, deadline, host_header_);
    pending.resize(old + (n.ok() ? *n : 0));
    return n;
  };
  // Gives `pending` to the parser, which keeps what it cannot take yet.
  auto feed = [&]() -> absl::Status {
    beast::error_code ec;
    pending.erase(0, parser.put(boost::asio::buffer(pending.data(), pending.size()), ec));
    if (ec && ec != http::error::need_more) {
      return absl::UnavailableError(absl::StrCat(host_header_, ": receive: ", ec.message()));
    }
    return absl::OkStatus();
  };
  while (!parser.is_header_done()) {
    auto n = read_more();
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::UnavailableError(absl::StrCat(host_header_, ": receive: connection closed"));
    if (auto st = feed(); !st.ok()) return st;
  }

  auto& res = parser.get();
  HttpResponse out;
  if (request.method != "HEAD" && !parser.is_done()) {
    const auto length = parser.content_length();
    if (length && !parser.chunked()) {
      if (*length > kMaxBody) {
        return absl::InternalError(absl::StrCat(host_header_, ": a body of ", *length, " bytes is past any object we read"));
      }
      // A body of known length (a ranged GET of megabytes) goes straight into its string. An
      // error's small body leaves the buffer for the retry.
      if (request.response_buffer != nullptr && res.result_int() / 100 == 2 &&
          request.response_buffer->capacity() >= *length) {
        out.body = std::move(*request.response_buffer);
      }
      out.body.resize(*length);
      const size_t have = std::min<size_t>(pending.size(), *length);
      std::memcpy(out.body.data(), pending.data(), have);
      pending.erase(0, have);
      if (auto st = ReadExactly(c, out.body.data() + have, *length - have); !st.ok()) return st;
    } else {
      // Chunked, or until the connection closes: through the parser.
      parser.eager(true);
      deadline = absl::Now() + options_.timeout;  // the body's own, as a body of known length has
      for (;;) {
        if (!pending.empty()) {
          if (auto st = feed(); !st.ok()) return st;
        }
        if (parser.is_done()) break;
        auto n = read_more();
        if (!n.ok()) return n.status();
        if (*n == 0) {
          beast::error_code ec;
          parser.put_eof(ec);
          if (ec) return absl::UnavailableError(absl::StrCat(host_header_, ": receive: ", ec.message()));
          break;
        }
      }
      out.body = std::move(res.body());
    }
  }
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  // Bytes past the response would be taken for the next one's: such a connection is not reused.
  // (The parser's keep_alive also says no for a body that ran until the connection closed.)
  // Bytes already received past the response would be taken for the next request's answer.
  keep_alive = parser.keep_alive() && pending.empty() &&
               (c.ssl == nullptr || (SSL_pending(c.ssl) == 0 && c.tls_socket->begin == c.tls_socket->end));
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
