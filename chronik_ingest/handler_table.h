#pragma once

// The one table of what the broker handles: API key → version range → handler. ApiVersions
// answers from it, and the dispatcher refuses everything that is not in it, so the broker can
// never advertise an API it does not serve.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/apis.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/wire.h"

namespace chronik::ingest {

// Who sent a request: for logs, quotas and (later) authorization.
struct ConnectionInfo {
  std::string peer;  // "host:port"
};

struct RequestContext {
  const protocol::RequestHeader& header;
  const ConnectionInfo& connection;
};

// Decodes the body, does the work, encodes the response body. A non-OK status means the
// request itself was malformed: the connection is closed, as Kafka does.
using HandlerFn = std::function<absl::Status(const RequestContext&, std::string_view body,
                                             protocol::Writer& response_body)>;

struct HandlerEntry {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  HandlerFn fn;
};

struct SupportedVersions {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
};

class HandlerTable {
 public:
  // Registers a handler for versions [0, max_version] of Request's API (the advertised minimum
  // is 0 for every API: librdkafka rejects brokers that advertise more). `fn` receives the
  // decoded request and returns the response to encode in the same version.
  template <typename Request, typename Response, typename Fn>
  void Add(int16_t max_version, Fn fn) {
    static_assert(Request::kApiKey == Response::kApiKey);
    AddEntry(HandlerEntry{
        Request::kApiKey, 0, max_version,
        [fn = std::move(fn)](const RequestContext& ctx, std::string_view body,
                             protocol::Writer& out) -> absl::Status {
          Request request;
          protocol::Reader r(body);
          absl::Status s = request.Decode(r, ctx.header.api_version);
          if (!s.ok()) {
            return absl::InvalidArgumentError(std::string(Request::kApiName) + " v" +
                                              std::to_string(ctx.header.api_version) +
                                              " request: " + std::string(s.message()));
          }
          // A handler returns its response, or a StatusOr when it may find the request invalid
          // in a way only its API's rules tell (the connection is then closed, as Kafka does).
          Response response;
          if constexpr (std::is_same_v<decltype(fn(ctx, request)), absl::StatusOr<Response>>) {
            absl::StatusOr<Response> result = fn(ctx, request);
            if (!result.ok()) return result.status();
            response = *std::move(result);
          } else {
            response = fn(ctx, request);
          }
          response.Encode(out, ctx.header.api_version);
          if (!out.ok()) {
            return absl::InternalError(std::string(Request::kApiName) + " response cannot be encoded: " +
                                       std::string(out.status().message()));
          }
          return absl::OkStatus();
        }});
  }

  const HandlerEntry* Find(int16_t api_key) const;

  // What ApiVersions advertises: exactly the registered entries, in key order.
  std::vector<SupportedVersions> Supported() const;

 private:
  void AddEntry(HandlerEntry entry);

  std::map<int16_t, HandlerEntry> entries_;
};

}  // namespace chronik::ingest
