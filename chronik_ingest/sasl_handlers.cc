#include "chronik_ingest/sasl_handlers.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/all_messages.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using protocol::SaslAuthenticateRequest;
using protocol::SaslAuthenticateResponse;
using protocol::SaslHandshakeRequest;
using protocol::SaslHandshakeResponse;


// The outcome of one client token, shared by SaslAuthenticate and the bare-token exchange.
struct TokenOutcome {
  absl::Status failure;  // OK unless authentication failed; the connection then closes
  std::string server_token;
  bool authenticated = false;
};

TokenOutcome Step(const SaslSettings& settings, Session& session, std::string_view token) {
  TokenOutcome out;
  absl::StatusOr<auth::SaslExchange::Step> step = session.sasl->Next(token);
  const std::string mechanism = session.sasl->mechanism();
  if (step.ok() && step->done) {
    const std::string principal = absl::StrCat("User:", session.sasl->user());
    // KIP-368: a re-authentication may renew the session, never change who it belongs to.
    if (session.auth_state.load() == AuthState::kAuthenticated && principal != session.principal) {
      step = absl::UnauthenticatedError(absl::StrCat("Cannot change principals during re-authentication from ",
                                                     session.principal, ": ", principal));
    } else {
      session.principal = principal;
      session.sasl_mechanism = mechanism;
      session.auth_state.store(AuthState::kAuthenticated, std::memory_order_release);
      session.session_expires_ms = settings.reauth_ms > 0 ? SessionClockMs() + settings.reauth_ms : 0;
      spdlog::info("authenticated {} with {} from {} on listener {}", principal, mechanism, session.peer,
                   session.listener_name);
      if (settings.on_authentication) settings.on_authentication(session, mechanism, true, "");
      out.authenticated = true;
    }
  }
  if (!step.ok()) {
    spdlog::info("failed authentication with {} from {} on listener {}: {} ({})", mechanism, session.peer,
                 session.listener_name, std::string(step.status().message()),
                 session.sasl->failure_detail().empty() ? "re-authentication" : session.sasl->failure_detail());
    out.failure = step.status();
    session.CloseAfterAnswer(settings.failed_authentication_delay_ms, "authentication failed");
    if (settings.on_authentication) {
      settings.on_authentication(session, mechanism, false,
                                 session.sasl->failure_detail().empty() ? std::string(step.status().message())
                                                                        : session.sasl->failure_detail());
    }
  } else {
    out.server_token = std::move(step->challenge);
  }
  if (!step.ok() || out.authenticated) {
    session.sasl.reset();
    session.sasl_raw_tokens = false;
  }
  return out;
}

}  // namespace

void RegisterSaslApis(HandlerTable& table, SaslSettings settings) {
  table.Add<SaslHandshakeRequest, SaslHandshakeResponse>(
      SaslHandshakeRequest::kMaxVersion, [settings](const RequestContext& ctx, const SaslHandshakeRequest& request) {
        Session& session = ctx.session;
        SaslHandshakeResponse response;
        response.mechanisms = session.sasl_mechanisms;
        const bool reauthentication = session.auth_state.load() == AuthState::kAuthenticated;
        // A handshake where no exchange can start: on a listener without SASL, in the middle of
        // an exchange, or once authenticated unless the broker asked for re-authentication.
        // A re-authentication keeps its mechanism, as Kafka requires.
        if (!UsesSasl(session.security_protocol) || session.sasl != nullptr ||
            (reauthentication &&
             (settings.reauth_ms == 0 || ctx.header.api_version == 0 || request.mechanism != session.sasl_mechanism))) {
          response.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
          if (UsesSasl(session.security_protocol)) {
            session.CloseAfterAnswer(0, "SaslHandshake in the wrong state");
            if (settings.on_authentication) {
              settings.on_authentication(session, request.mechanism, false, "SaslHandshake in the wrong state");
            }
          }
          return response;
        }
        if (std::find(session.sasl_mechanisms.begin(), session.sasl_mechanisms.end(), request.mechanism) ==
            session.sasl_mechanisms.end()) {
          spdlog::info("unsupported SASL mechanism \"{}\" from {} on listener {} (enabled: {})",
                       absl::CHexEscape(request.mechanism),
                       session.peer, session.listener_name, absl::StrJoin(session.sasl_mechanisms, ","));
          if (settings.on_authentication) {
            settings.on_authentication(session, request.mechanism, false, "unsupported SASL mechanism");
          }
          response.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedSaslMechanism);
          session.CloseAfterAnswer(0, "unsupported SASL mechanism " + absl::CHexEscape(request.mechanism));
          return response;
        }
        absl::StatusOr<std::unique_ptr<auth::SaslExchange>> exchange = settings.server->Start(request.mechanism);
        if (!exchange.ok()) {
          spdlog::error("cannot start a SASL exchange: {}", std::string(exchange.status().message()));
          response.error_code = static_cast<int16_t>(ErrorCode::kUnknownServerError);
          session.CloseAfterAnswer(0, "no SASL exchange could be started");
          return response;
        }
        session.sasl = *std::move(exchange);
        session.sasl_raw_tokens = ctx.header.api_version == 0;
        return response;
      });

  // Blocking: PLAIN derives the salted password (thousands of HMACs) to check it.
  table.Add<SaslAuthenticateRequest, SaslAuthenticateResponse>(
      SaslAuthenticateRequest::kMaxVersion,
      [settings](const RequestContext& ctx, const SaslAuthenticateRequest& request) {
        Session& session = ctx.session;
        SaslAuthenticateResponse response;
        if (session.sasl == nullptr) {
          response.error_code = static_cast<int16_t>(ErrorCode::kIllegalSaslState);
          response.error_message = "SaslAuthenticate without a SaslHandshake that chose a mechanism";
          session.CloseAfterAnswer(0, *response.error_message);
          if (settings.on_authentication) settings.on_authentication(session, "", false, *response.error_message);
          return response;
        }
        TokenOutcome out = Step(settings, session, request.auth_bytes);
        if (!out.failure.ok()) {
          response.error_code = static_cast<int16_t>(ErrorCode::kSaslAuthenticationFailed);
          response.error_message = std::string(out.failure.message());
          return response;
        }
        response.auth_bytes = std::move(out.server_token);
        if (out.authenticated) response.session_lifetime_ms = settings.reauth_ms;
        return response;
      },
      HandlerTraits{.blocking = true});

  table.SetRawSaslTokenHandler(
      [settings](Session& session, std::string_view token, std::function<void(absl::StatusOr<std::string>)> respond) {
        if (session.sasl == nullptr) return respond(absl::FailedPreconditionError("a SASL token without an exchange"));
        TokenOutcome out = Step(settings, session, token);
        if (!out.failure.ok()) return respond(out.failure);
        respond(std::move(out.server_token));
      });
}

}  // namespace chronik::ingest
