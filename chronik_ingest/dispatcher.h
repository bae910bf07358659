#pragma once

// Turns one request frame into one response frame using the handler table. Transport-free, so
// that the whole request path can be tested without sockets.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

class Dispatcher {
 public:
  explicit Dispatcher(const HandlerTable& table) : table_(table) {}

  // The complete response frame (int32 size prefix included). An error status means the
  // connection must be closed; its message says why, for the one log line about it.
  absl::StatusOr<std::string> Handle(std::string_view frame, const ConnectionInfo& connection) const;

 private:
  const HandlerTable& table_;
};

}  // namespace chronik::ingest
