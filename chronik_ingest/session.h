#pragma once

// What the broker knows about one client connection, for as long as it is open. The listener
// creates it; handlers read it through their RequestContext, and the few that learn something
// about the client (ApiVersions its software; SASL, later, its principal) write it. A session is
// only touched by the requests of its own connection, which do not overlap except for pipelined
// Produce requests, and those do not write it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::auth {
class SaslExchange;
}  // namespace chronik::auth

namespace chronik::ingest {

// Kafka's security.protocol of a listener.
enum class SecurityProtocol { kPlaintext, kSsl, kSaslPlaintext, kSaslSsl };

std::string_view SecurityProtocolName(SecurityProtocol protocol);
// SASL_PLAINTEXT and SASL_SSL; SSL and SASL_SSL.
constexpr bool UsesSasl(SecurityProtocol p) {
  return p == SecurityProtocol::kSaslPlaintext || p == SecurityProtocol::kSaslSsl;
}
constexpr bool UsesTls(SecurityProtocol p) { return p == SecurityProtocol::kSsl || p == SecurityProtocol::kSaslSsl; }

// The clock of Session::session_expires_ms: steady, in ms.
int64_t SessionClockMs();

enum class AuthState {
  kNotRequired,    // a PLAINTEXT (or SSL without client auth) listener: the principal is final
  kAwaitingSasl,   // a SASL listener before SaslHandshake/SaslAuthenticate succeeded
  kAuthenticated,  // the principal was established by SASL or a client certificate
};

struct Session {
  uint64_t connection_id = 0;
  std::string listener_name = "PLAINTEXT";
  SecurityProtocol security_protocol = SecurityProtocol::kPlaintext;
  std::string peer;  // "host:port", for logs
  std::string host;  // the client's address alone (DescribeGroups reports it as "/host")
  // Kafka's KafkaPrincipal as "type:name".
  std::string principal = "User:ANONYMOUS";
  // Written by the SASL handlers on the handler pool, read by the listener as it frames requests.
  std::atomic<AuthState> auth_state{AuthState::kNotRequired};
  // From ApiVersions v3+ (KIP-511); empty until the client says.
  std::string client_software_name;
  std::string client_software_version;

  // SASL listeners: the mechanisms this listener offers.
  std::vector<std::string> sasl_mechanisms;
  // The mechanism the session authenticated with (a re-authentication must use it again).
  std::string sasl_mechanism;
  // The exchange between SaslHandshake and the SaslAuthenticate that ends it.
  std::shared_ptr<auth::SaslExchange> sasl;
  // After a v0 SaslHandshake the client sends bare length-prefixed SASL tokens, not requests.
  bool sasl_raw_tokens = false;
  // KIP-368: when the authenticated session ends (steady clock, ms); 0: never. After it, only a
  // re-authentication is served.
  int64_t session_expires_ms = 0;
  // Set by a handler whose answer ends the connection (a failed authentication): the listener
  // sends the answer this many ms late (connection.failed.authentication.delay.ms), then closes.
  // Atomic: the listener's reader may look while the handler pool sets it.
  std::atomic<int64_t> close_after_answer_ms{-1};
  std::string close_reason;  // for the log line; written before close_after_answer_ms

  // The connection ends `delay_ms` after this request's answer; `reason` for the log.
  void CloseAfterAnswer(int64_t delay_ms, std::string reason) {
    close_reason = std::move(reason);
    close_after_answer_ms.store(delay_ms, std::memory_order_release);
  }
};

// Told of every authentication: SASL (mechanism PLAIN, SCRAM-...) and TLS client certificates
// ("SSL"). On success the session's principal is the authenticated one; `reason` says why a
// failure failed, never with a secret in it.
using AuthenticationListener =
    std::function<void(const Session& session, std::string_view mechanism, bool success, std::string_view reason)>;

}  // namespace chronik::ingest
