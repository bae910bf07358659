#pragma once

// What the broker knows about one client connection, for as long as it is open. The listener
// creates it; handlers read it through their RequestContext, and the few that learn something
// about the client (ApiVersions its software; SASL, later, its principal) write it. A session is
// only touched by the requests of its own connection, which do not overlap except for pipelined
// Produce requests, and those do not write it.

#include <cstdint>
#include <string>
#include <string_view>

namespace chronik::ingest {

// Kafka's security.protocol of a listener.
enum class SecurityProtocol { kPlaintext, kSsl, kSaslPlaintext, kSaslSsl };

std::string_view SecurityProtocolName(SecurityProtocol protocol);

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
  AuthState auth_state = AuthState::kNotRequired;
  // From ApiVersions v3+ (KIP-511); empty until the client says.
  std::string client_software_name;
  std::string client_software_version;
};

}  // namespace chronik::ingest
