#include "chronik_monitoring/http_server.h"

#include <atomic>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "nlohmann/json.hpp"

namespace chronik::monitoring {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQueryParameters(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (!pair.empty()) {
      out[UrlDecode(pair.substr(0, eq), true)] =
          eq == std::string_view::npos ? std::string() : UrlDecode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

HttpResponse JsonError(int status, std::string_view error, std::string_view message) {
  nlohmann::json j = {{"error", std::string(error)}, {"message", std::string(message)}};
  return HttpResponse{status, "application/json", j.dump() + "\n", {}};
}

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : options(std::move(o)), acceptor(asio::make_strand(io)) {}

  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl& owner, tcp::socket socket) : owner_(owner), stream_(std::move(socket)) {}
    ~Connection() { owner_.open.fetch_sub(1); }

    void Read() {
      parser_.emplace();
      parser_->header_limit(16 * 1024);
      parser_->body_limit(static_cast<uint64_t>(owner_.options.max_body_bytes));
      stream_.expires_after(std::chrono::milliseconds(owner_.options.idle_timeout_ms));
      http::async_read(stream_, buffer_, *parser_,
                       [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
    }

   private:
    void OnRead(beast::error_code ec) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof) return Close();
      if (ec == http::error::body_limit) {
        return Send(JsonError(413, "payload_too_large",
                              absl::StrCat("the body is over ", owner_.options.max_body_bytes, " bytes")),
                    false);
      }
      if (ec == http::error::header_limit) return Send(JsonError(431, "headers_too_large", "the headers are too large"), false);
      if (ec) return Send(JsonError(400, "bad_request", ec.message()), false);
      const auto& req = parser_->get();
      HttpRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      r.accept = std::string(req[http::field::accept]);
      r.authorization = std::string(req[http::field::authorization]);
      beast::error_code peer_ec;
      const tcp::endpoint peer = stream_.socket().remote_endpoint(peer_ec);
      if (!peer_ec) r.peer = absl::StrCat(peer.address().to_string(), ":", peer.port());
      r.body = req.body();
      const bool keep_alive = req.keep_alive();
      const std::string path = r.target.substr(0, r.target.find('?'));
      if (auto it = owner_.routes.find(path); it != owner_.routes.end()) return Send(it->second(r), keep_alive);
      for (const auto& [prefix, handler] : owner_.prefix_routes) {
        if (path.starts_with(prefix)) {
          return handler(std::move(r), [self = shared_from_this(), keep_alive](HttpResponse response) {
            asio::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
              self->Send(std::move(response), keep_alive);
            });
          });
        }
      }
      Send(JsonError(404, "not_found", "no route " + path), keep_alive);
    }

    void Send(HttpResponse r, bool keep_alive) {
      auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
      res->set(http::field::server, "chronik");
      res->set(http::field::content_type, r.content_type);
      for (const auto& [name, value] : r.headers) res->set(name, value);
      res->keep_alive(keep_alive);
      res->body() = std::move(r.body);
      res->prepare_payload();
      stream_.expires_after(std::chrono::milliseconds(owner_.options.idle_timeout_ms));
      http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
        if (ec || !keep_alive) return self->Close();
        self->Read();
      });
    }

    void Close() {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.close();
    }

    Impl& owner_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
  };

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (open.fetch_add(1) >= options.max_connections) {
          open.fetch_sub(1);
          beast::error_code ignored;
          socket.close(ignored);  // over the limit: refused at once
        } else {
          std::make_shared<Connection>(*this, std::move(socket))->Read();
        }
      }
      Accept();
    });
  }

  HttpServerOptions options;
  std::map<std::string, Handler> routes;
  std::vector<std::pair<std::string, AsyncHandler>> prefix_routes;
  // Before io: connections still queued in io when it is destroyed count themselves out here.
  std::atomic<int> open{0};
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  uint16_t port = 0;
};

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string path, Handler handler) { impl_->routes[std::move(path)] = std::move(handler); }

void HttpServer::RoutePrefix(std::string prefix, AsyncHandler handler) {
  impl_->prefix_routes.emplace_back(std::move(prefix), std::move(handler));
}

absl::Status HttpServer::Bind() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.bind_addr, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bind address ", impl_->options.bind_addr, ": ", ec.message()));
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", impl_->options.bind_addr, ":", impl_->options.port, ": ", ec.message()));
  }
  impl_->port = impl_->acceptor.local_endpoint().port();
  return absl::OkStatus();
}

void HttpServer::Start() {
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void HttpServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
}

uint16_t HttpServer::bound_port() const { return impl_->port; }

}  // namespace chronik::monitoring
