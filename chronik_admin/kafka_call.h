#pragma once

// Runs a Kafka request through the broker's own dispatcher, as the request of an in-process
// session: the admin API's operations are the Kafka APIs' handlers, with their authorization,
// validation, errors and metrics, never a second implementation of them.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/session.h"
#include "chronik_protocol/wire.h"

namespace chronik::admin {

class KafkaCaller {
 public:
  KafkaCaller(const ingest::Dispatcher& dispatcher, const ingest::HandlerTable& table)
      : dispatcher_(dispatcher), table_(table) {}

  // Sends `request` in the highest version the broker serves for its API and calls `done` once,
  // from any thread, with the decoded response or an error (the API is not served, or the
  // handler found the request malformed).
  template <typename Request, typename Response>
  void Call(std::shared_ptr<ingest::Session> session, const Request& request,
            std::function<void(absl::StatusOr<Response>)> done) const {
    static_assert(Request::kApiKey == Response::kApiKey);
    const int16_t version = ServedVersion(Request::kApiKey);
    if (version < 0) return done(absl::UnimplementedError(std::string(Request::kApiName) + " is not served"));
    std::string frame = StartRequest(Request::kApiKey, version);
    protocol::Writer w(&frame);
    request.Encode(w, version);
    if (!w.ok()) return done(w.status());
    Send(frame, std::move(session), [done = std::move(done), version](absl::StatusOr<std::string> body) {
      if (!body.ok()) return done(body.status());
      Response response;
      protocol::Reader r(*body);
      if (absl::Status s = response.Decode(r, version); !s.ok()) return done(s);
      done(std::move(response));
    });
  }

  // The highest version of `api_key` the broker serves, or -1.
  int16_t ServedVersion(int16_t api_key) const;

 private:
  // The request frame's header (no size prefix: the dispatcher takes what follows it).
  static std::string StartRequest(int16_t api_key, int16_t version);
  // Dispatches `frame`; `done` gets the response body after its header.
  void Send(std::string_view frame, std::shared_ptr<ingest::Session> session,
            std::function<void(absl::StatusOr<std::string>)> done) const;

  const ingest::Dispatcher& dispatcher_;
  const ingest::HandlerTable& table_;
};

}  // namespace chronik::admin
