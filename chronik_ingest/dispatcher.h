#pragma once

// Turns one request frame into one response frame using the handler table. Transport-free, so
// that the whole request path can be tested without sockets.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_protocol/wire.h"

namespace chronik::ingest {

// What a request came to: a complete response frame (int32 size prefix included; log data may be
// left in its files, to be sent from there), no response at all, or an error that closes the
// connection; its message says why, for the one log line.
using DispatchResult = absl::StatusOr<std::optional<protocol::SplicedBytes>>;

class Dispatcher {
 public:
  explicit Dispatcher(const HandlerTable& table) : table_(table) {}

  // `done` is called exactly once, possibly before Dispatch returns, possibly later from
  // another thread. `frame` need not outlive the call.
  void Dispatch(std::string_view frame, const ConnectionInfo& connection,
                std::function<void(DispatchResult)> done) const;

  // For callers (tests) whose handlers all answer at once: the frame as plain bytes.
  absl::StatusOr<std::optional<std::string>> Handle(std::string_view frame, const ConnectionInfo& connection) const;

 private:
  const HandlerTable& table_;
};

}  // namespace chronik::ingest
