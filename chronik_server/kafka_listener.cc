#include "chronik_server/kafka_listener.h"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/ssl/error.hpp"
#include "boost/asio/ssl/stream.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"
#include "spdlog/spdlog.h"

namespace chronik::server {

namespace asio = boost::asio;
using asio::ip::tcp;

// One client connection. Answers go out in request order. A request is read and started only
// once every earlier one has been answered, as Kafka does, with one exception: the handler table's
// pipelined APIs (Produce) may overlap earlier requests of theirs (up to kMaxPipelined), so that
// a producer's in-flight requests share the storage's group commit instead of each waiting for
// the previous fsync.
// Their appends still happen in request order, since a handler appends before it returns.
// Two coroutines, both on the connection's strand: Serve reads and starts requests, WriteAnswers
// writes the answers at the front of `pending_` as they complete.
class KafkaListener::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(KafkaListener& owner, uint64_t id, tcp::socket socket)
      : owner_(owner), id_(id), socket_(std::move(socket)), session_(std::make_shared<ingest::Session>()) {
    boost::system::error_code ec;
    const tcp::endpoint ep = socket_.remote_endpoint(ec);
    const ListenerOptions& o = owner_.options_;
    session_->connection_id = id;
    session_->listener_name = o.listener_name;
    session_->security_protocol = o.protocol;
    session_->sasl_mechanisms = o.sasl_mechanisms;
    sasl_ = ingest::UsesSasl(o.protocol);
    if (sasl_) session_->auth_state = ingest::AuthState::kAwaitingSasl;
    if (o.tls != nullptr) tls_endpoint_ = o.tls->Current();
    if (o.connections != nullptr) o.connections->Add(1);
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; they are a.b.c.d, as in Kafka
    // (and in host-scoped ACLs).
    asio::ip::address address = ep.address();
    if (!ec && address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    session_->host = ec ? std::string("unknown") : address.to_string();
    session_->peer = ec ? session_->host : absl::StrCat(session_->host, ":", ep.port());
  }

  ~Connection() {
    if (owner_.options_.connections != nullptr) owner_.options_.connections->Add(-1);
  }

  // Static, with the connection as a parameter: the coroutine frame then owns a reference, so
  // the connection lives exactly as long as its coroutine.
  static asio::awaitable<void> Run(std::shared_ptr<Connection> self) {
    std::string reason;
    if (self->sasl_ || self->tls_endpoint_ != nullptr) self->StartAuthenticationDeadline();
    if (self->tls_endpoint_ != nullptr) reason = co_await self->Handshake();
    if (reason.empty()) {
      asio::co_spawn(self->socket_.get_executor(), WriteAnswers(self), asio::detached);
      reason = co_await self->Serve();
    }
    if (self->timed_out_) reason = self->close_reason_;
    self->auth_deadline_.cancel();
    if (self->writer_failed_) reason = self->close_reason_;
    self->reading_done_ = true;
    self->progress_.cancel();
    boost::system::error_code ignored;
    self->socket_.close(ignored);
    if (!reason.empty()) spdlog::info("closed connection from {}: {}", self->session_->peer, reason);
    self->owner_.Forget(self->id_);
  }

  tcp::socket::executor_type executor() { return socket_.get_executor(); }
  uint64_t id() const { return id_; }
  const std::string& peer() const { return session_->peer; }

  void Close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
      self->socket_.close(ignored);
    });
  }

 private:
  // Returns why the connection ended, or "" for an ordinary close by the client.
  asio::awaitable<std::string> Serve() {
    std::string frame;
    for (;;) {
      unsigned char size_bytes[4];
      boost::system::error_code ec;
      co_await ReadExactly(asio::buffer(size_bytes), ec);
      if (ec) co_return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ? std::string() : ec.message();
      const int32_t size = static_cast<int32_t>((uint32_t{size_bytes[0]} << 24) | (uint32_t{size_bytes[1]} << 16) |
                                                (uint32_t{size_bytes[2]} << 8) | uint32_t{size_bytes[3]});
      if (size < 0) co_return absl::StrCat("negative request size ", size);
      if (size > owner_.options_.max_request_size) {
        co_return absl::StrCat("request of ", size, " bytes exceeds the maximum request size of ",
                               owner_.options_.max_request_size, " bytes (--max-request-size)");
      }
      const bool authenticating = session_->auth_state.load() == ingest::AuthState::kAwaitingSasl;
      if (authenticating && size > owner_.options_.sasl_max_receive_size) {
        std::string reason = absl::StrCat("a frame of ", size, " bytes before SASL authentication exceeds ",
                                          "sasl.server.max.receive.size (", owner_.options_.sasl_max_receive_size, ")");
        if (owner_.options_.on_authentication) owner_.options_.on_authentication(*session_, "", false, reason);
        co_return reason;
      }
      const bool granted = co_await AcquireBudget(size);
      if (!granted) co_return std::string("the broker is shutting down");
      // Given back once the request is decoded, which for a blocking handler happens on the pool.
      auto grant = std::make_shared<RequestBudget::Grant>(owner_.budget_, size);
      // The buffer grows with the bytes that actually arrive, so a size prefix alone never
      // reserves memory, and one large request does not pin its buffer for the connection's life.
      while (frame.size() < static_cast<size_t>(size)) {
        const size_t chunk = std::min(static_cast<size_t>(size) - frame.size(), kReadChunkBytes);
        const size_t at = frame.size();
        frame.resize(at + chunk);
        co_await ReadExactly(asio::buffer(frame.data() + at, chunk), ec);
        if (ec) co_return absl::StrCat("disconnected in the middle of a request: ", ec.message());
      }

      // A pipelined API (Produce) may overlap earlier requests of its kind; anything else waits
      // until every earlier request has been answered.
      // Nothing is started behind an answer that ends the connection (a failed re-authentication):
      // the reader waits for the writer to send that answer and close.
      if (session_->close_after_answer_ms.load(std::memory_order_acquire) >= 0) {
        while (!writer_failed_) {
          drained_.expires_at(asio::steady_timer::time_point::max());
          co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        co_return close_reason_;
      }
      // Nothing overlaps an authentication exchange, whose frames may not even be requests.
      const bool pipelined = !authenticating && owner_.dispatcher_.MayPipeline(frame);
      while (!writer_failed_ && !pending_.empty() &&
             !(pipelined && pending_.size() < kMaxPipelined &&
               std::all_of(pending_.begin(), pending_.end(), [](const auto& p) { return p->pipelined; }))) {
        drained_.expires_at(asio::steady_timer::time_point::max());
        co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (writer_failed_) co_return close_reason_;
      auto slot = std::make_shared<Pending>();
      slot->pipelined = pipelined;
      pending_.push_back(slot);
      owner_.dispatcher_.Dispatch(
          frame, session_,
          [slot, self = shared_from_this()](ingest::DispatchResult r) {
            asio::post(self->socket_.get_executor(), [slot, self, r = std::move(r)]() mutable {
              slot->result = std::move(r);
              slot->done = true;
              self->progress_.cancel();
            });
          },
          [grant] { grant->Release(); });
      // The frame was decoded or copied: the buffer shrinks. The budget was (or will be, once the
      // pool decodes it) given back, even while the answer waits (a long poll, a join barrier).
      frame.clear();
      if (frame.capacity() > kKeptBufferBytes) frame.shrink_to_fit();
      grant.reset();
    }
  }

  // Writes completed answers from the front of pending_, in request order.
  static asio::awaitable<void> WriteAnswers(std::shared_ptr<Connection> self) {
    for (;;) {
      while (!self->pending_.empty() && self->pending_.front()->done) {
        std::shared_ptr<Pending> slot = self->pending_.front();
        self->pending_.pop_front();
        // A failed authentication is answered late (or, in the bare-token exchange, closed late),
        // then the connection closes. Nothing read behind such an answer is started: the reader is
        // woken only by answers that leave the connection open.
        const int64_t close_after_ms = self->session_->close_after_answer_ms.load(std::memory_order_acquire);
        if (close_after_ms < 0) self->drained_.cancel();
        if (close_after_ms > 0) {
          asio::steady_timer delay(self->socket_.get_executor(), std::chrono::milliseconds(close_after_ms));
          boost::system::error_code ignored;
          co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        if (!slot->result.ok()) co_return self->Fail(std::string(slot->result.status().message()));
        if (slot->result->has_value()) {  // else a request Kafka does not answer
          const boost::system::error_code ec = co_await self->Send(**slot->result);
          if (ec) co_return self->Fail(ec.message());
        }
        if (close_after_ms >= 0) co_return self->Fail("closed after its answer: " + self->session_->close_reason);
      }
      if (self->reading_done_) co_return;
      self->progress_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await self->progress_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Sends one answer. Its file ranges (fetched log data) go with sendfile, straight from the page
  // cache; its memory ranges (remote chunks) are written from where they lie, gathered with the
  // encoded bytes around them. When the socket is full, a chunk of a file range is copied and
  // written through Asio instead of waiting for writability ourselves: a bare wait can miss the
  // socket's one "writable again" edge if it comes before the wait is queued, while Asio's own
  // writes cannot.
  asio::awaitable<boost::system::error_code> Send(const protocol::SplicedBytes& frame) {
    if (tls_.has_value()) co_return co_await SendTls(frame);
    boost::system::error_code ec;
    std::vector<asio::const_buffer> gathered;
    auto flush = [&]() -> asio::awaitable<void> {
      if (!gathered.empty()) co_await WriteAll(gathered, ec);
      gathered.clear();
    };
    size_t at = 0;
    for (const protocol::Splice& splice : frame.splices) {
      if (splice.at > at) gathered.push_back(asio::buffer(frame.bytes.data() + at, splice.at - at));
      at = splice.at;
      if (splice.range.memory != nullptr) {
        gathered.push_back(asio::buffer(splice.range.memory + splice.range.position, static_cast<size_t>(splice.range.size)));
        continue;
      }
      co_await flush();
      if (ec) co_return ec;
      ec = co_await SendRange(splice.range);
      if (ec) co_return ec;
    }
    if (at < frame.bytes.size()) gathered.push_back(asio::buffer(frame.bytes.data() + at, frame.bytes.size() - at));
    co_await flush();
    co_return ec;
  }

  // Needs SIGPIPE ignored (main does): sendfile has no MSG_NOSIGNAL.
  asio::awaitable<boost::system::error_code> SendRange(const protocol::SharedRange& range) {
    boost::system::error_code ec;
    // sendfile must not block the strand's thread (set once per connection; the getter is free).
    if (!socket_.native_non_blocking()) socket_.native_non_blocking(true, ec);
    if (ec) co_return ec;
    int64_t sent = 0;
    while (sent < range.size) {
      off_t offset = range.position + sent;
      const ssize_t n = ::sendfile(socket_.native_handle(), range.fd, &offset,
                                   static_cast<size_t>(std::min<int64_t>(range.size - sent, 1 << 30)));
      if (n > 0) {
        sent += n;
        continue;
      }
      // The frame promised these bytes; a file that ends early cannot be answered around.
      if (n == 0) co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) co_return boost::system::error_code(errno, boost::system::system_category());
      const protocol::SharedRange rest = range.Sub(sent, range.size - sent);
      ec = co_await CopyRange(rest, kFallbackChunkBytes);
      if (ec) co_return ec;
      sent += std::min<int64_t>(rest.size, kFallbackChunkBytes);
    }
    co_return ec;
  }

  // TLS encrypts in user space (the kernel here has no kTLS, so SSL_sendfile cannot be used): the
  // answer, log data included, is gathered into large buffers, each written through OpenSSL as
  // full TLS records. Writing the pieces one by one instead (a partition's header, then its data,
  // ...) makes many small records and segments, which leaves both ends waiting on each other.
  asio::awaitable<boost::system::error_code> SendTls(const protocol::SplicedBytes& frame) {
    boost::system::error_code ec;
    std::string out;
    out.reserve(kTlsWriteBytes);
    auto flush = [&]() -> asio::awaitable<void> {
      if (!out.empty()) co_await WriteAll(asio::buffer(out), ec);
      out.clear();
    };
    auto add_bytes = [&](size_t from, size_t to) -> asio::awaitable<void> {
      while (from < to && !ec) {
        const size_t n = std::min(to - from, kTlsWriteBytes - out.size());
        out.append(frame.bytes, from, n);
        from += n;
        if (out.size() >= kTlsWriteBytes) co_await flush();
      }
    };
    size_t at = 0;
    for (const protocol::Splice& splice : frame.splices) {
      co_await add_bytes(at, splice.at);
      at = splice.at;
      for (int64_t done = 0; done < splice.range.size && !ec;) {
        const int64_t n = std::min<int64_t>(splice.range.size - done, static_cast<int64_t>(kTlsWriteBytes - out.size()));
        const protocol::SharedRange part = splice.range.Sub(done, n);
        if (absl::Status s = part.AppendTo(&out); !s.ok()) {
          co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
        }
        done += n;
        if (out.size() >= kTlsWriteBytes) co_await flush();
      }
      if (ec) co_return ec;
    }
    co_await add_bytes(at, frame.bytes.size());
    if (!ec) co_await flush();
    co_return ec;
  }

  // Writes the first `limit` bytes of `range` by copying them, in chunks (a socket sendfile found
  // full).
  asio::awaitable<boost::system::error_code> CopyRange(const protocol::SharedRange& range, int64_t limit) {
    boost::system::error_code ec;
    std::string chunk;
    const int64_t total = std::min(limit, range.size);
    for (int64_t done = 0; done < total;) {
      const protocol::SharedRange part = range.Sub(done, std::min<int64_t>(total - done, kFallbackChunkBytes));
      chunk.clear();
      if (absl::Status s = part.AppendTo(&chunk); !s.ok()) {
        co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
      }
      co_await WriteAll(asio::buffer(chunk), ec);
      if (ec) co_return ec;
      done += part.size;
    }
    co_return ec;
  }

  template <typename Buffer>
  asio::awaitable<void> ReadExactly(Buffer buffer, boost::system::error_code& ec) {
    if (tls_.has_value()) {
      co_await asio::async_read(*tls_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_read(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  template <typename Buffer>
  asio::awaitable<void> WriteAll(Buffer buffer, boost::system::error_code& ec) {
    if (tls_.has_value()) {
      co_await asio::async_write(*tls_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // The TLS handshake; on an SSL listener the client certificate, if any, names the principal.
  // Returns why the connection ends, or "".
  asio::awaitable<std::string> Handshake() {
    tls_.emplace(socket_, *tls_endpoint_->context);
    boost::system::error_code ec;
    co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    const ingest::AuthenticationListener& audit = owner_.options_.on_authentication;
    if (timed_out_) co_return close_reason_;
    if (ec) {
      std::string reason = absl::StrCat("TLS handshake failed: ", ec.message());
      if (audit) audit(*session_, "SSL", false, reason);
      co_return reason;
    }
    // On SASL_SSL, SASL names the principal; the certificate (if asked for) only has to verify.
    if (std::optional<std::string> subject = sasl_ ? std::nullopt : PeerSubject(tls_->native_handle());
        subject.has_value()) {
      absl::StatusOr<std::string> name = tls_endpoint_->mapper.Map(*subject);
      if (!name.ok()) {
        if (audit) audit(*session_, "SSL", false, std::string(name.status().message()));
        co_return std::string(name.status().message());
      }
      if (!sasl_) {
        session_->principal = absl::StrCat("User:", *name);
        session_->auth_state = ingest::AuthState::kAuthenticated;
        if (audit) audit(*session_, "SSL", true, "");
      }
    }
    handshake_done_ = true;
    co_return std::string();
  }

  // A connection that has not finished its TLS handshake and SASL authentication by the deadline
  // is closed.
  void StartAuthenticationDeadline() {
    auth_deadline_.expires_after(std::chrono::milliseconds(owner_.options_.authentication_timeout_ms));
    auth_deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      const bool tls_pending = self->tls_endpoint_ != nullptr && !self->handshake_done_;
      const bool sasl_pending = self->session_->auth_state.load() == ingest::AuthState::kAwaitingSasl;
      if (!tls_pending && !sasl_pending) return;
      self->timed_out_ = true;
      self->close_reason_ = absl::StrCat(tls_pending ? "TLS handshake" : "SASL authentication", " not completed within ",
                                         self->owner_.options_.authentication_timeout_ms, " ms");
      if (self->owner_.options_.on_authentication) {
        self->owner_.options_.on_authentication(*self->session_, tls_pending ? "SSL" : "", false, self->close_reason_);
      }
      self->Fail(self->close_reason_);
    });
  }

  // The connection ends for `reason`: the reader sees its socket closed.
  void Fail(std::string reason) {
    writer_failed_ = true;
    close_reason_ = std::move(reason);
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    drained_.cancel();
  }

  // Waits until the broker-wide budget admits a request of `size` bytes; false on shutdown. The
  // wait is a timer that the grant cancels, on this connection's strand.
  asio::awaitable<bool> AcquireBudget(int32_t size) {
    // 0: waiting, 1: granted, 2: refused.
    auto state = std::make_shared<std::atomic<int>>(0);
    auto self = shared_from_this();
    if (owner_.budget_.TryAcquire(size, [state, self](bool granted) {
          state->store(granted ? 1 : 2);
          asio::post(self->socket_.get_executor(), [self] { self->budget_wait_.cancel(); });
        })) {
      co_return true;
    }
    while (state->load() == 0) {
      budget_wait_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await budget_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return state->load() == 1;
  }

  struct Pending {
    bool pipelined = false;
    bool done = false;
    ingest::DispatchResult result = std::optional<protocol::SplicedBytes>();
  };

  static constexpr size_t kReadChunkBytes = 256 * 1024;
  static constexpr int64_t kFallbackChunkBytes = 64 * 1024;
  static constexpr size_t kTlsWriteBytes = 256 * 1024;
  // A Produce request waiting here is already in the page cache and joins the next group commit;
  // one left in the socket must wait for the commit after that. What a waiting request holds is
  // its small response, so the bound can be generous.
  static constexpr size_t kMaxPipelined = 256;
  static constexpr size_t kKeptBufferBytes = 1024 * 1024;

  KafkaListener& owner_;
  const uint64_t id_;
  tcp::socket socket_;
  asio::steady_timer budget_wait_{socket_.get_executor()};
  asio::steady_timer auth_deadline_{socket_.get_executor()};
  // SSL and SASL_SSL listeners: the endpoint this connection was accepted with, and its stream.
  std::shared_ptr<const TlsEndpoint> tls_endpoint_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  bool sasl_ = false;
  bool handshake_done_ = false;
  bool timed_out_ = false;
  // Strand-only state shared by Serve and WriteAnswers.
  std::deque<std::shared_ptr<Pending>> pending_;  // started requests, in request order
  asio::steady_timer progress_{socket_.get_executor()};  // wakes WriteAnswers: an answer is ready
  asio::steady_timer drained_{socket_.get_executor()};   // wakes Serve: an answer went out
  bool reading_done_ = false;
  bool writer_failed_ = false;
  std::string close_reason_;
  std::shared_ptr<ingest::Session> session_;
};

KafkaListener::KafkaListener(asio::io_context& io, const ingest::Dispatcher& dispatcher, ListenerOptions options)
    : io_(io),
      dispatcher_(dispatcher),
      options_(std::move(options)),
      accept_strand_(asio::make_strand(io)),
      acceptor_(accept_strand_),
      accept_retry_(accept_strand_),
      budget_(options_.queued_max_request_bytes, options_.queued_max_requests) {}

KafkaListener::~KafkaListener() = default;

absl::Status KafkaListener::Bind() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.bind_addr, ec);
  tcp::endpoint endpoint;
  if (ec) {
    // A host name: resolve it to the first address.
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(options_.bind_addr, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind address ", options_.bind_addr, " cannot be resolved: ", ec.message()));
    }
    endpoint = results.begin()->endpoint();
  } else {
    endpoint = tcp::endpoint(address, options_.port);
  }
  const std::string where = absl::StrCat(options_.bind_addr, ":", options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
  }
  bound_port_ = acceptor_.local_endpoint().port();
  return absl::OkStatus();
}

absl::Status KafkaListener::Listen() {
  boost::system::error_code ec;
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.bind_addr, ":", bound_port_, ": ", ec.message()));
  }
  return absl::OkStatus();
}

void KafkaListener::Start() {
  asio::post(accept_strand_, [this] { Accept(); });
}

void KafkaListener::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) return;
      // Out of descriptors and the like: the pending connection stays in the backlog, so retrying
      // at once would spin. Back off briefly instead.
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopping_) Accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::shared_ptr<Connection> conn;
    {
      // Deciding under the registry lock means Stop() either sees this connection or we see
      // that it is stopping; no connection can slip past the shutdown.
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;  // the socket closes as it goes out of scope
      const uint64_t id = next_id_++;
      conn = std::make_shared<Connection>(*this, id, std::move(socket));
      connections_.emplace(id, conn);
    }
    asio::co_spawn(conn->executor(), Connection::Run(conn), [this, conn](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("connection from {} failed: {}", conn->peer(), ex.what());
      }
      Forget(conn->id());
    });
    Accept();
  });
}

void KafkaListener::Forget(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  connections_.erase(id);
}

void KafkaListener::Stop() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.exchange(true)) return;
    for (auto& [id, weak] : connections_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  asio::post(accept_strand_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
  });
  budget_.Close();
  for (auto& c : open) c->Close();
}

}  // namespace chronik::server
