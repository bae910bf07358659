#include "chronik_ingest/dispatcher.h"

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "chronik_ingest/api_versions.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/messages/all_messages.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ResponseHeader;
using protocol::Writer;

void PatchSize(std::string& frame, int64_t spliced = 0) {
  const uint32_t size = static_cast<uint32_t>(static_cast<int64_t>(frame.size()) - 4 + spliced);
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(size >> (8 * (3 - i)));
}

std::optional<protocol::SplicedBytes> Answer(std::string frame) {
  return std::optional<protocol::SplicedBytes>(protocol::SplicedBytes(std::move(frame)));
}

std::string StartFrame(int32_t correlation_id, int16_t header_version) {
  std::string frame(4, '\0');
  Writer w(&frame);
  ResponseHeader h;
  h.correlation_id = correlation_id;
  h.Encode(w, header_version);
  return frame;
}

// The body of `Response` in `version` saying UNSUPPORTED_VERSION: a default answer with every
// top-level error code set, as Kafka's error responses have.
template <typename Response>
std::optional<std::string> UnsupportedBody(int16_t version, std::string_view why) {
  Response r;
  if constexpr (requires { r.error_code; }) r.error_code = static_cast<int16_t>(protocol::ErrorCode::kUnsupportedVersion);
  if constexpr (requires { r.error_message = std::string(why); }) r.error_message = std::string(why);
  std::string body;
  Writer w(&body);
  r.Encode(w, version);
  if (!w.ok()) return std::nullopt;
  return body;
}

// An UNSUPPORTED_VERSION answer to a request the broker does not serve. In a version whose layout
// the codec knows, it is that API's response; otherwise (an API or version newer than the codec)
// no layout is known, and the answer is a v0 response header and the int16 error code, which is
// how every classic response that has a top-level error begins.
std::string UnsupportedAnswer(const protocol::ParsedRequest& parsed, std::string_view why) {
  const int16_t version = parsed.header.api_version;
  if (parsed.api != nullptr && parsed.version_supported) {
    std::optional<std::string> body;
    switch (parsed.header.api_key) {
#define CHRONIK_UNSUPPORTED_CASE(Name, Request, Response) \
  case protocol::Request::kApiKey:                       \
    body = UnsupportedBody<protocol::Response>(version, why); \
    break;
      CHRONIK_FOR_EACH_API(CHRONIK_UNSUPPORTED_CASE)
#undef CHRONIK_UNSUPPORTED_CASE
    }
    if (body.has_value()) {
      std::string out = StartFrame(parsed.header.correlation_id, protocol::ResponseHeaderVersion(*parsed.api, version));
      out.append(*body);
      PatchSize(out);
      return out;
    }
  }
  std::string out = StartFrame(parsed.header.correlation_id, 0);
  Writer w(&out);
  w.WriteInt16(static_cast<int16_t>(protocol::ErrorCode::kUnsupportedVersion));
  PatchSize(out);
  return out;
}

// Calls `fn` when it goes out of scope, unless it was taken.
struct CallOnExit {
  std::function<void()> fn;
  ~CallOnExit() {
    if (fn) fn();
  }
};

// The one place that decides which requests a connection may send in its authentication state:
// before SASL authentication only ApiVersions and the SASL requests, after the session's
// lifetime (KIP-368) only a re-authentication. Anything else closes the connection, as Kafka does.
absl::Status CheckAuthenticationState(const Session& session, int16_t key) {
  const bool sasl_request =
      key == protocol::SaslHandshakeRequest::kApiKey || key == protocol::SaslAuthenticateRequest::kApiKey;
  if (session.auth_state.load(std::memory_order_acquire) == AuthState::kAwaitingSasl) {
    if (sasl_request || key == protocol::ApiVersionsRequest::kApiKey) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat("request of API key ", key,
                                                    " before SASL authentication on listener ",
                                                    session.listener_name));
  }
  if (session.session_expires_ms > 0 && !sasl_request && SessionClockMs() >= session.session_expires_ms) {
    return absl::PermissionDeniedError(
        absl::StrCat("the authenticated session of ", session.principal,
                     " expired (connections.max.reauth.ms) and the client did not re-authenticate"));
  }
  return absl::OkStatus();
}

std::optional<protocol::SplicedBytes> RawToken(const std::string& token) {
  std::string out(4, '\0');
  out.append(token);
  PatchSize(out);
  return Answer(std::move(out));
}

}  // namespace

void Dispatcher::DispatchRawSaslToken(std::string_view frame, std::shared_ptr<Session> session,
                                      std::function<void(DispatchResult)> done,
                                      std::function<void()> decoded) const {
  const HandlerTable::RawSaslTokenFn& handler = table_.raw_sasl_token_handler();
  if (!handler) return done(absl::FailedPreconditionError("bare SASL tokens are not served"));
  auto run = [&handler, token = std::string(frame), session, done = std::move(done),
              decoded = std::move(decoded)]() mutable {
    if (decoded) decoded();
    handler(*session, token, [done = std::move(done)](absl::StatusOr<std::string> answer) {
      if (!answer.ok()) return done(answer.status());
      done(RawToken(*answer));
    });
  };
  if (blocking_) return blocking_(std::move(run));
  run();
}

void Dispatcher::Dispatch(std::string_view frame, std::shared_ptr<Session> session,
                          std::function<void(DispatchResult)> done, std::function<void()> decoded) const {
  if (session->sasl_raw_tokens) return DispatchRawSaslToken(frame, std::move(session), std::move(done), std::move(decoded));
  CallOnExit decoded_on_return{std::move(decoded)};
  absl::StatusOr<protocol::ParsedRequest> parsed = protocol::ParseRequestFrame(frame);
  if (!parsed.ok()) return done(parsed.status());
  const protocol::RequestHeader& header = parsed->header;
  const int16_t key = header.api_key;
  const int16_t version = header.api_version;
  if (absl::Status s = CheckAuthenticationState(*session, key); !s.ok()) {
    if (on_authentication_) on_authentication_(*session, "", false, std::string(s.message()));
    return done(s);
  }

  const HandlerEntry* entry = table_.Find(key);
  if (entry == nullptr) {
    const std::string why = parsed->api != nullptr
                                ? absl::StrCat(std::string(parsed->api->name), " is not served by this broker")
                                : absl::StrCat("API key ", key, " is not served by this broker");
    spdlog::debug("{} from {}: answered UNSUPPORTED_VERSION", why, session->peer);
    return done(Answer(UnsupportedAnswer(*parsed, why)));
  }
  if (version < entry->min_version || version > entry->max_version) {
    if (key == protocol::ApiVersionsRequest::kApiKey) {
      // A client newer than us: answer in v0, which every client can read, with the versions we
      // do support, so that it retries with one of them.
      std::string out = StartFrame(header.correlation_id, 0);
      Writer w(&out);
      BuildApiVersionsResponse(table_, protocol::ErrorCode::kUnsupportedVersion).Encode(w, 0);
      PatchSize(out);
      return done(Answer(std::move(out)));
    }
    const std::string why = absl::StrCat(std::string(parsed->api->name), " v", version,
                                         " is not served by this broker (served: v", entry->min_version, "-v",
                                         entry->max_version, ")");
    spdlog::debug("{} from {}: answered UNSUPPORTED_VERSION", why, session->peer);
    return done(Answer(UnsupportedAnswer(*parsed, why)));
  }

  const int32_t correlation_id = header.correlation_id;
  const int16_t header_version = protocol::ResponseHeaderVersion(*parsed->api, version);
  // Only with an observer: when the request arrived and how long it waited for the pool.
  struct Timing {
    std::chrono::steady_clock::time_point arrived = std::chrono::steady_clock::now();
    int64_t queue_ns = 0;
  };
  std::shared_ptr<Timing> timing = observe_ ? std::make_shared<Timing>() : nullptr;
  auto respond = [done = std::move(done), correlation_id, header_version, timing, observe = &observe_, key,
                  version](ResponseBody body) {
    if (!body.ok()) return done(body.status());
    if (timing != nullptr) {
      int64_t size = 0;
      if (body->has_value()) {
        size = static_cast<int64_t>((*body)->bytes.size());
        for (const protocol::Splice& s : (*body)->splices) size += s.range.size;
      }
      const int64_t total = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - timing->arrived)
                                .count();
      (*observe)(key, version, timing->queue_ns, total, size);
    }
    if (!body->has_value()) return done(std::optional<protocol::SplicedBytes>());
    protocol::SplicedBytes out(StartFrame(correlation_id, header_version));
    const size_t header_size = out.bytes.size();
    out.bytes.append((*body)->bytes);
    out.splices = std::move((*body)->splices);
    int64_t spliced = 0;
    for (protocol::Splice& s : out.splices) {
      s.at += header_size;
      spliced += s.range.size;
    }
    PatchSize(out.bytes, spliced);
    done(std::optional<protocol::SplicedBytes>(std::move(out)));
  };
  if (entry->traits.blocking && blocking_) {
    // The frame goes with the work (the caller's buffer is reused once Dispatch returns); the
    // handler decodes it on the pool.
    // The header parsed here and a copy of the body go with the work (the caller's buffer is
    // reused once Dispatch returns), and so does the budget, given back once the pool has
    // decoded the body.
    auto request = std::make_shared<std::pair<protocol::RequestHeader, std::string>>(header, parsed->body);
    blocking_([entry, request, session = std::move(session), respond = std::move(respond),
               decoded = std::move(decoded_on_return.fn), timing]() mutable {
      if (timing != nullptr) {
        timing->queue_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - timing->arrived)
                .count();
      }
      CallOnExit decoded_on_return{std::move(decoded)};
      RequestContext ctx{request->first, *session};
      entry->fn(ctx, request->second, std::move(respond));
    });
    return;
  }
  RequestContext ctx{header, *session};
  entry->fn(ctx, parsed->body, std::move(respond));
}

bool Dispatcher::MayPipeline(std::string_view frame) const {
  if (frame.size() < 2) return false;
  const int16_t key = static_cast<int16_t>((static_cast<uint8_t>(frame[0]) << 8) | static_cast<uint8_t>(frame[1]));
  const HandlerEntry* entry = table_.Find(key);
  return entry != nullptr && entry->traits.pipelined;
}

absl::StatusOr<std::optional<std::string>> Dispatcher::Handle(std::string_view frame, Session& session) const {
  std::optional<DispatchResult> result;
  // The caller's session outlives this synchronous call: share it without owning it.
  Dispatch(frame, std::shared_ptr<Session>(std::shared_ptr<Session>(), &session),
           [&result](DispatchResult r) { result = std::move(r); });
  if (!result.has_value()) return absl::InternalError("handler did not answer at once");
  if (!result->ok()) return result->status();
  if (!(*result)->has_value()) return std::optional<std::string>();
  absl::StatusOr<std::string> flat = (**result)->Flatten();
  if (!flat.ok()) return flat.status();
  return std::optional<std::string>(*std::move(flat));
}

}  // namespace chronik::ingest
