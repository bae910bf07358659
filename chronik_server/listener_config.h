#pragma once

// Kafka's listener settings turned into the listeners the broker opens: `listeners`,
// `advertised.listeners`, `listener.security.protocol.map`, `sasl.enabled.mechanisms` and the
// `ssl.*` settings, each of the last two also per listener as `listener.name.<name>.<setting>`
// (the name in lower case, as Kafka spells it). Without `listeners`, the server's own flags
// (--bind-addr, --kafka-port, --advertised-addr, --advertised-port) make one PLAINTEXT listener.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chronik_config/server_config.h"
#include "chronik_ingest/session.h"

namespace chronik::server {

enum class ClientAuth { kNone, kRequested, kRequired };

// One listener's TLS settings, PEM only (ssl.keystore.type=PEM, ssl.truststore.type=PEM).
struct TlsSettings {
  // The private key and its certificate chain: one PEM file (ssl.keystore.location), or inline
  // PEM (ssl.keystore.key and ssl.keystore.certificate.chain).
  std::string keystore_location;
  std::string keystore_key;
  std::string keystore_certificate_chain;
  std::optional<std::string> key_password;  // ssl.key.password, for an encrypted key
  // CA certificates that client certificates must chain to: a file or inline PEM.
  std::string truststore_location;
  std::string truststore_certificates;
  ClientAuth client_auth = ClientAuth::kNone;
  // ssl.principal.mapping.rules, checked by ParsePrincipalMappingRules.
  std::string principal_mapping_rules = "DEFAULT";
  // OpenSSL cipher names (TLS 1.2) and TLS 1.3 suite names; empty: OpenSSL's defaults.
  std::vector<std::string> cipher_suites;
  // Of "TLSv1.2", "TLSv1.3".
  std::vector<std::string> enabled_protocols = {"TLSv1.2", "TLSv1.3"};
};

struct ListenerSpec {
  std::string name;  // upper case, as Kafka normalizes it
  ingest::SecurityProtocol protocol = ingest::SecurityProtocol::kPlaintext;
  std::string bind_host;  // "" or a wildcard: every interface
  uint16_t port = 0;
  std::string advertised_host;
  uint16_t advertised_port = 0;
  // For SASL listeners: the mechanisms offered, in configuration order.
  std::vector<std::string> sasl_mechanisms;
  // For SSL and SASL_SSL listeners.
  std::optional<TlsSettings> tls;

  bool sasl() const;
  bool ssl() const;
};

// The SASL mechanisms this broker can serve.
inline constexpr std::string_view kSupportedSaslMechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

// Builds the listeners from `props` (the [kafka] table) and, when it has no `listeners`, from
// the server's flags. Every problem is an InvalidArgument naming the setting.
absl::StatusOr<std::vector<ListenerSpec>> ParseListeners(const std::map<std::string, std::string>& props,
                                                         const config::ServerConfig& cfg);

// Whether `name` is a setting ParseListeners reads (so the broker does not call it unknown).
bool IsListenerSetting(std::string_view name);

}  // namespace chronik::server
