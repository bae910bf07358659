#pragma once

// Turns one request frame into one response frame using the handler table. Transport-free, so
// that the whole request path can be tested without sockets.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/session.h"
#include "chronik_protocol/wire.h"

namespace chronik::ingest {

// What a request came to: a complete response frame (int32 size prefix included; log data may be
// left in its files or remote chunks, to be sent from there), no response at all, or an error that closes the
// connection; its message says why, for the one log line.
using DispatchResult = absl::StatusOr<std::optional<protocol::SplicedBytes>>;

// Runs a blocking handler's work on the handler pool (num.io.threads).
using BlockingExecutor = std::function<void(std::function<void()>)>;

// Told of every request a handler answered (the request metrics): its API and version, the time
// it waited for the handler pool (0 for handlers that run at once), the time from its arrival to
// its answer, and the answer's size. Called on the answering thread; must be cheap.
using RequestObserver =
    std::function<void(int16_t api_key, int16_t version, int64_t queue_ns, int64_t total_ns, int64_t response_bytes)>;

class Dispatcher {
 public:
  // Without `blocking`, blocking handlers run on the caller's thread (tests).
  // `on_authentication` hears of requests refused for the connection's authentication state.
  explicit Dispatcher(const HandlerTable& table, BlockingExecutor blocking = nullptr,
                      AuthenticationListener on_authentication = nullptr, RequestObserver observe = nullptr)
      : table_(table),
        blocking_(std::move(blocking)),
        on_authentication_(std::move(on_authentication)),
        observe_(std::move(observe)) {}

  // `done` is called exactly once, possibly before Dispatch returns, possibly later from
  // another thread. `frame` need not outlive the call; `session` lives until `done`.
  // `decoded`, if given, is called once the request has been decoded and its bytes are no longer
  // needed (the request budget is given back then): before Dispatch returns, or on the handler
  // pool for a blocking handler.
  void Dispatch(std::string_view frame, std::shared_ptr<Session> session, std::function<void(DispatchResult)> done,
                std::function<void()> decoded = nullptr) const;

  // Whether a request of `frame`'s API may start before earlier requests of its connection are
  // answered (the handler table says; a frame too short to name its API may not).
  bool MayPipeline(std::string_view frame) const;

  // For callers (tests) whose handlers all answer at once: the frame as plain bytes.
  absl::StatusOr<std::optional<std::string>> Handle(std::string_view frame, Session& session) const;

 private:
  void DispatchRawSaslToken(std::string_view frame, std::shared_ptr<Session> session,
                            std::function<void(DispatchResult)> done, std::function<void()> decoded) const;

  const HandlerTable& table_;
  const BlockingExecutor blocking_;
  const AuthenticationListener on_authentication_;
  const RequestObserver observe_;
};

}  // namespace chronik::ingest
