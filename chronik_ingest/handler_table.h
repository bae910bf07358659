#pragma once

// The one table of what the broker handles: API key → version range → handler. ApiVersions
// answers from it, and the dispatcher refuses everything that is not in it, so the broker can
// never advertise an API it does not serve.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/apis.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/wire.h"
#include "chronik_ingest/session.h"

namespace chronik::ingest {

// Every handler's view of its request: the header, and the session of the connection it came on
// (listener, principal, client software). Valid only until the handler returns: a handler that
// answers later copies what it needs. Authorization and request metrics hook in where the
// dispatcher builds this, once for every API.
struct RequestContext {
  const protocol::RequestHeader& header;
  Session& session;

  std::string_view client_id() const {
    return header.client_id.has_value() ? std::string_view(*header.client_id) : std::string_view();
  }
};

// A handler's answer: the encoded response body (with any log data left in its files or remote
// chunks, see protocol::SplicedBytes), nothing (a request Kafka does not answer, such as an acks=0 produce),
// or an error status for a request that is itself malformed, which closes the connection as
// Kafka does.
using ResponseBody = absl::StatusOr<std::optional<protocol::SplicedBytes>>;
using Respond = std::function<void(ResponseBody)>;

// Decodes the body before it returns (the bytes are not kept), then calls `respond` exactly
// once, now or later, from any thread.
using HandlerFn = std::function<void(const RequestContext&, std::string_view body, Respond respond)>;

// Told of every non-zero error code in a response a handler built (top level, per topic, per
// partition, ...): the request error metrics. Called on the answering thread; must be cheap.
using ErrorObserver = std::function<void(int16_t api_key, int16_t error_code)>;

// How the dispatcher runs a handler.
struct HandlerTraits {
  // May start before earlier requests of its connection are answered (Produce, so that a
  // producer's in-flight requests share one group commit). Answers still go out in order.
  bool pipelined = false;
  // May wait for the disk (an fsync of the metadata store, a scan of segment files) or for a
  // lock held across one: runs on the handler pool (num.io.threads), never on a network thread.
  bool blocking = false;
};

struct HandlerEntry {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  HandlerFn fn;
  HandlerTraits traits;
};

struct SupportedVersions {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
};

namespace internal {

template <typename Request>
absl::Status DecodeRequest(const RequestContext& ctx, std::string_view body, Request& request) {
  protocol::Reader r(body);
  absl::Status s = request.Decode(r, ctx.header.api_version);
  if (s.ok()) return s;
  return absl::InvalidArgumentError(std::string(Request::kApiName) + " v" + std::to_string(ctx.header.api_version) +
                                    " request: " + std::string(s.message()));
}

template <typename Response>
ResponseBody EncodeResponse(const Response& response, int16_t version) {
  protocol::SplicedBytes body;
  protocol::Writer w(&body.bytes, &body.splices);
  response.Encode(w, version);
  if (!w.ok()) {
    return absl::InternalError(std::string(Response::kApiName) +
                               " response cannot be encoded: " + std::string(w.status().message()));
  }
  return std::optional<protocol::SplicedBytes>(std::move(body));
}

template <typename Response>
void ReportErrors(const ErrorObserver& errors, const Response& response) {
  if (!errors) return;
  response.ForEachErrorCode([&](int16_t code) {
    if (code != 0) errors(Response::kApiKey, code);
  });
}

}  // namespace internal

class HandlerTable {
 public:
  // Registers a handler that answers at once, for versions [0, max_version] of Request's API (the
  // advertised minimum is 0 for every API: librdkafka rejects brokers that advertise more). `fn`
  // receives the decoded request and returns the response to encode in the same version, or a
  // StatusOr when it may find the request invalid in a way only its API's rules tell.
  template <typename Request, typename Response, typename Fn>
  void Add(int16_t max_version, Fn fn, HandlerTraits traits = {}) {
    static_assert(Request::kApiKey == Response::kApiKey);
    AddEntry(HandlerEntry{Request::kApiKey, 0, max_version,
                          [fn = std::move(fn), errors = errors_](const RequestContext& ctx, std::string_view body,
                                                                 Respond respond) {
                            Request request;
                            if (absl::Status s = internal::DecodeRequest(ctx, body, request); !s.ok()) {
                              return respond(s);
                            }
                            if constexpr (std::is_same_v<decltype(fn(ctx, request)), absl::StatusOr<Response>>) {
                              absl::StatusOr<Response> result = fn(ctx, request);
                              if (!result.ok()) return respond(result.status());
                              internal::ReportErrors(*errors, *result);
                              respond(internal::EncodeResponse(*result, ctx.header.api_version));
                            } else {
                              const Response response = fn(ctx, request);
                              internal::ReportErrors(*errors, response);
                              respond(internal::EncodeResponse(response, ctx.header.api_version));
                            }
                          },
                          traits});
  }

  // Registers a handler that answers later (after a durable write, a long poll, ...). `fn`
  // receives the decoded request and a `done` to call once with the response, an error, or
  // std::nullopt for a request that gets no answer.
  using NoResponse = std::nullopt_t;
  template <typename Request, typename Response, typename Fn>
  void AddAsync(int16_t max_version, Fn fn, HandlerTraits traits = {}) {
    static_assert(Request::kApiKey == Response::kApiKey);
    AddEntry(HandlerEntry{
        Request::kApiKey, 0, max_version,
        [fn = std::move(fn), errors = errors_](const RequestContext& ctx, std::string_view body, Respond respond) {
          auto request = std::make_shared<Request>();
          if (absl::Status s = internal::DecodeRequest(ctx, body, *request); !s.ok()) return respond(s);
          const int16_t version = ctx.header.api_version;
          fn(ctx, request,
             [respond = std::move(respond), version, errors](absl::StatusOr<std::optional<Response>> r) {
               if (!r.ok()) return respond(r.status());
               if (!r->has_value()) return respond(std::optional<protocol::SplicedBytes>());
               internal::ReportErrors(*errors, **r);
               respond(internal::EncodeResponse(**r, version));
             });
        },
        traits});
  }

  const HandlerEntry* Find(int16_t api_key) const;

  // Before the first request; handlers registered before and after it report to it.
  void SetErrorObserver(ErrorObserver observer) { *errors_ = std::move(observer); }

  // What serves the bare SASL tokens a client sends after a v0 SaslHandshake: the client's token
  // in, the server's token out, or an error that closes the connection (the bare exchange has no
  // way to say more). Runs on the handler pool.
  using RawSaslTokenFn = std::function<void(Session& session, std::string_view token,
                                            std::function<void(absl::StatusOr<std::string>)> respond)>;
  void SetRawSaslTokenHandler(RawSaslTokenFn fn) { raw_sasl_token_ = std::move(fn); }
  const RawSaslTokenFn& raw_sasl_token_handler() const { return raw_sasl_token_; }

  // What ApiVersions advertises: exactly the registered entries, in key order.
  std::vector<SupportedVersions> Supported() const;

 private:
  void AddEntry(HandlerEntry entry);

  std::map<int16_t, HandlerEntry> entries_;
  // Shared with the handlers' wrappers, so that they see an observer set after they were added.
  std::shared_ptr<ErrorObserver> errors_ = std::make_shared<ErrorObserver>();
  RawSaslTokenFn raw_sasl_token_;
};

}  // namespace chronik::ingest
