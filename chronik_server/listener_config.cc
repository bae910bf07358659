#include "chronik_server/listener_config.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chronik_common/host_port.h"
#include "chronik_ingest/configs.h"

namespace chronik::server {
namespace {

using ingest::SecurityProtocol;

struct Endpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

absl::Status Bad(std::string_view setting, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("kafka.", std::string(setting), ": ", std::string(why)));
}

std::optional<SecurityProtocol> ParseProtocol(std::string_view text) {
  for (SecurityProtocol p : {SecurityProtocol::kPlaintext, SecurityProtocol::kSsl, SecurityProtocol::kSaslPlaintext,
                             SecurityProtocol::kSaslSsl}) {
    if (ingest::SecurityProtocolName(p) == text) return p;
  }
  return std::nullopt;
}

// "NAME://host:port" entries, as Kafka's listeners and advertised.listeners are written.
absl::StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view setting, std::string_view value) {
  std::vector<Endpoint> out;
  for (const std::string& element : ingest::SplitListValue(value)) {
    if (element.empty()) continue;
    const std::string_view item = element;
    const size_t sep = item.find("://");
    if (sep == std::string_view::npos || sep == 0) {
      return Bad(setting, absl::StrCat("\"", std::string(item), "\" is not NAME://host:port"));
    }
    Endpoint e;
    e.name = absl::AsciiStrToUpper(std::string(item.substr(0, sep)));
    auto split = common::SplitHostPort(item.substr(sep + 3));
    if (!split.ok()) return Bad(setting, absl::StrCat("\"", std::string(item), "\": ", split.status().message()));
    if (!split->port.has_value()) return Bad(setting, absl::StrCat("\"", std::string(item), "\" has no port"));
    e.host = split->host;
    const std::string& port_text = *split->port;
    int port = 0;
    if (!absl::SimpleAtoi(std::string(port_text), &port) || port < 0 || port > 65535) {
      return Bad(setting, absl::StrCat("\"", std::string(item), "\": the port must be a number from 0 to 65535"));
    }
    e.port = static_cast<uint16_t>(port);
    for (const Endpoint& seen : out) {
      if (seen.name == e.name) return Bad(setting, absl::StrCat("the listener name ", e.name, " is used twice"));
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) return Bad(setting, "names no listener");
  return out;
}

// listener.security.protocol.map, or Kafka's default: every protocol's name maps to itself.
absl::StatusOr<std::map<std::string, SecurityProtocol>> ParseProtocolMap(
    const std::map<std::string, std::string>& props) {
  std::map<std::string, SecurityProtocol> map;
  auto it = props.find("listener.security.protocol.map");
  if (it == props.end()) {
    for (SecurityProtocol p : {SecurityProtocol::kPlaintext, SecurityProtocol::kSsl, SecurityProtocol::kSaslPlaintext,
                               SecurityProtocol::kSaslSsl}) {
      map.emplace(std::string(ingest::SecurityProtocolName(p)), p);
    }
    return map;
  }
  for (const std::string& item : ingest::SplitListValue(it->second)) {
    if (item.empty()) continue;
    const size_t colon = item.find(':');
    const std::vector<std::string> parts = colon == std::string::npos || item.find(':', colon + 1) != std::string::npos
                                               ? std::vector<std::string>{item}
                                               : std::vector<std::string>{item.substr(0, colon), item.substr(colon + 1)};
    std::optional<SecurityProtocol> p = parts.size() == 2 ? ParseProtocol(absl::AsciiStrToUpper(parts[1])) : std::nullopt;
    if (!p.has_value()) {
      return Bad(it->first, absl::StrCat("\"", item,
                                         "\" is not NAME:PROTOCOL with a protocol of PLAINTEXT, SSL, SASL_PLAINTEXT, "
                                         "SASL_SSL"));
    }
    map[absl::AsciiStrToUpper(parts[0])] = *p;
  }
  return map;
}

// The value of `setting` for listener `name`: listener.name.<name>.<setting>, else <setting>.
// Normalized and validated as the broker config of that name.
absl::StatusOr<std::optional<std::string>> Setting(const std::map<std::string, std::string>& props,
                                                   const std::string& listener, std::string_view setting) {
  const std::string scoped = absl::StrCat("listener.name.", absl::AsciiStrToLower(listener), ".", std::string(setting));
  std::string used = scoped;
  auto it = props.find(scoped);
  if (it == props.end()) {
    used = std::string(setting);
    it = props.find(used);
  }
  const ingest::ConfigDef* def = ingest::FindBrokerConfig(setting);
  if (it == props.end()) {
    if (def != nullptr && def->default_value.has_value()) return std::optional<std::string>(*def->default_value);
    return std::optional<std::string>();
  }
  if (def == nullptr) return std::optional<std::string>(it->second);
  absl::StatusOr<std::string> normalized = ingest::NormalizeConfigValue(*def, it->second);
  if (!normalized.ok()) return Bad(used, std::string(normalized.status().message()));
  return std::optional<std::string>(*normalized);
}

absl::StatusOr<std::vector<std::string>> ListSetting(const std::map<std::string, std::string>& props,
                                                      const std::string& listener, std::string_view setting) {
  absl::StatusOr<std::optional<std::string>> v = Setting(props, listener, setting);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::vector<std::string>();
  return ingest::SplitListValue(**v);
}

// The settings a listener reads, per listener or broker-wide.
constexpr std::string_view kPerListenerSettings[] = {
    "sasl.enabled.mechanisms",     "ssl.cipher.suites",          "ssl.client.auth",
    "ssl.enabled.protocols",       "ssl.key.password",           "ssl.keystore.certificate.chain",
    "ssl.keystore.key",            "ssl.keystore.location",      "ssl.keystore.type",
    "ssl.principal.mapping.rules", "ssl.truststore.certificates", "ssl.truststore.location",
    "ssl.truststore.type",
};

absl::StatusOr<TlsSettings> ParseTls(const std::map<std::string, std::string>& props, const std::string& name,
                                     bool sasl) {
  TlsSettings tls;
  auto get = [&](std::string_view setting, std::string& out) -> absl::Status {
    absl::StatusOr<std::optional<std::string>> v = Setting(props, name, setting);
    if (!v.ok()) return v.status();
    out = v->value_or("");
    return absl::OkStatus();
  };
  std::string client_auth;
  std::string key_password;
  std::string store_type;  // validated: PEM is the only type
  std::string trust_type;
  for (auto [setting, out] : std::initializer_list<std::pair<std::string_view, std::string*>>{
           {"ssl.keystore.location", &tls.keystore_location},
           {"ssl.keystore.key", &tls.keystore_key},
           {"ssl.keystore.certificate.chain", &tls.keystore_certificate_chain},
           {"ssl.truststore.location", &tls.truststore_location},
           {"ssl.truststore.certificates", &tls.truststore_certificates},
           {"ssl.client.auth", &client_auth},
           {"ssl.principal.mapping.rules", &tls.principal_mapping_rules},
           {"ssl.key.password", &key_password},
           {"ssl.keystore.type", &store_type},
           {"ssl.truststore.type", &trust_type},
       }) {
    if (absl::Status s = get(setting, *out); !s.ok()) return s;
  }
  if (!key_password.empty()) tls.key_password = key_password;
  // KIP-684: on SASL_SSL, where SASL names the principal, only the listener's own ssl.client.auth
  // asks for client certificates; the broker-wide one is for SSL listeners.
  if (sasl) {
    auto scoped = props.find(absl::StrCat("listener.name.", absl::AsciiStrToLower(name), ".ssl.client.auth"));
    client_auth = scoped == props.end() ? "none" : client_auth;
  }
  tls.client_auth = client_auth == "required"    ? ClientAuth::kRequired
                    : client_auth == "requested" ? ClientAuth::kRequested
                                                 : ClientAuth::kNone;
  absl::StatusOr<std::vector<std::string>> ciphers = ListSetting(props, name, "ssl.cipher.suites");
  if (!ciphers.ok()) return ciphers.status();
  tls.cipher_suites = *ciphers;
  absl::StatusOr<std::vector<std::string>> protocols = ListSetting(props, name, "ssl.enabled.protocols");
  if (!protocols.ok()) return protocols.status();
  tls.enabled_protocols = *protocols;
  if (tls.enabled_protocols.empty()) {
    return Bad("ssl.enabled.protocols", absl::StrCat("listener ", name, " enables no TLS version"));
  }
  const bool file = !tls.keystore_location.empty();
  const bool inline_pem = !tls.keystore_key.empty() || !tls.keystore_certificate_chain.empty();
  if (file == inline_pem || (inline_pem && (tls.keystore_key.empty() || tls.keystore_certificate_chain.empty()))) {
    return Bad("ssl.keystore.location",
               absl::StrCat("listener ", name,
                            " needs its key and certificate chain: ssl.keystore.location (one PEM file), or both "
                            "ssl.keystore.key and ssl.keystore.certificate.chain"));
  }
  if (!tls.truststore_location.empty() && !tls.truststore_certificates.empty()) {
    return Bad("ssl.truststore.location",
               absl::StrCat("listener ", name, ": set ssl.truststore.location or ssl.truststore.certificates, not both"));
  }
  if (tls.client_auth != ClientAuth::kNone && tls.truststore_location.empty() && tls.truststore_certificates.empty()) {
    return Bad("ssl.client.auth",
               absl::StrCat("listener ", name, " asks for client certificates but has no trust store to check them "
                                               "(ssl.truststore.location)"));
  }
  return tls;
}

}  // namespace

bool ListenerSpec::sasl() const {
  return ingest::UsesSasl(protocol);
}

bool ListenerSpec::ssl() const { return ingest::UsesTls(protocol); }

bool IsListenerSetting(std::string_view name) {
  if (name == "listeners" || name == "advertised.listeners" || name == "listener.security.protocol.map") return true;
  if (!name.starts_with("listener.name.")) {
    return std::find(std::begin(kPerListenerSettings), std::end(kPerListenerSettings), name) !=
           std::end(kPerListenerSettings);
  }
  const std::string_view rest = name.substr(std::string_view("listener.name.").size());
  const size_t dot = rest.find('.');
  return dot != std::string_view::npos &&
         std::find(std::begin(kPerListenerSettings), std::end(kPerListenerSettings), rest.substr(dot + 1)) !=
             std::end(kPerListenerSettings);
}

absl::StatusOr<std::vector<ListenerSpec>> ParseListeners(const std::map<std::string, std::string>& props,
                                                         const config::ServerConfig& cfg) {
  // A per-listener setting this broker does not read would silently do nothing: refuse it.
  for (const auto& [key, value] : props) {
    if (key.starts_with("listener.name.") && !IsListenerSetting(key)) {
      return Bad(key, absl::StrCat("not a per-listener setting Chronik reads (it reads ",
                                   absl::StrJoin(std::vector<std::string>(std::begin(kPerListenerSettings), std::end(kPerListenerSettings)), ", "), ")"));
    }
  }
  std::vector<ListenerSpec> out;
  auto listeners_it = props.find("listeners");
  if (listeners_it == props.end()) {
    if (props.contains("advertised.listeners")) {
      return Bad("advertised.listeners", "is only read together with kafka.listeners");
    }
    ListenerSpec& l = out.emplace_back();
    l.name = "PLAINTEXT";
    l.bind_host = cfg.bind_addr;
    l.port = cfg.kafka_port;
    l.advertised_host = cfg.advertised_host;
    l.advertised_port = cfg.advertised_port;
  } else {
    absl::StatusOr<std::vector<Endpoint>> endpoints = ParseEndpoints("listeners", listeners_it->second);
    if (!endpoints.ok()) return endpoints.status();
    absl::StatusOr<std::map<std::string, SecurityProtocol>> protocols = ParseProtocolMap(props);
    if (!protocols.ok()) return protocols.status();
    std::vector<Endpoint> advertised;
    if (auto it = props.find("advertised.listeners"); it != props.end()) {
      absl::StatusOr<std::vector<Endpoint>> a = ParseEndpoints("advertised.listeners", it->second);
      if (!a.ok()) return a.status();
      advertised = *std::move(a);
    }
    std::set<uint16_t> ports;
    for (const Endpoint& e : *endpoints) {
      auto p = protocols->find(e.name);
      if (p == protocols->end()) {
        return Bad("listener.security.protocol.map", absl::StrCat("has no security protocol for listener ", e.name));
      }
      if (e.port != 0 && !ports.insert(e.port).second) {
        return Bad("listeners", absl::StrCat("port ", e.port, " is used by two listeners"));
      }
      ListenerSpec& l = out.emplace_back();
      l.name = e.name;
      l.protocol = p->second;
      l.bind_host = e.host;
      l.port = e.port;
      l.advertised_host = e.host.empty() || config::IsWildcardAddress(e.host) ? config::HostName() : e.host;
      l.advertised_port = e.port;
    }
    for (const Endpoint& a : advertised) {
      auto l = std::find_if(out.begin(), out.end(), [&](const ListenerSpec& s) { return s.name == a.name; });
      if (l == out.end()) {
        return Bad("advertised.listeners", absl::StrCat("names ", a.name, ", which kafka.listeners does not"));
      }
      if (a.host.empty() || config::IsWildcardAddress(a.host)) {
        return Bad("advertised.listeners", absl::StrCat(a.name, ": a client cannot connect to \"", a.host, "\""));
      }
      l->advertised_host = a.host;
      l->advertised_port = a.port;
    }
  }
  for (ListenerSpec& l : out) {
    if (l.sasl()) {
      absl::StatusOr<std::vector<std::string>> mechanisms = ListSetting(props, l.name, "sasl.enabled.mechanisms");
      if (!mechanisms.ok()) return mechanisms.status();
      for (std::string& m : *mechanisms) {
        if (std::find(std::begin(kSupportedSaslMechanisms), std::end(kSupportedSaslMechanisms), m) ==
            std::end(kSupportedSaslMechanisms)) {
          return Bad("sasl.enabled.mechanisms", absl::StrCat("listener ", l.name, ": ", m,
                                                             " is not a mechanism this broker serves (it serves ",
                                                             absl::StrJoin(std::vector<std::string>(std::begin(kSupportedSaslMechanisms), std::end(kSupportedSaslMechanisms)), ", "), ")"));
        }
      }
      if (mechanisms->empty()) {
        return Bad("sasl.enabled.mechanisms", absl::StrCat("listener ", l.name, " enables no SASL mechanism"));
      }
      l.sasl_mechanisms = *std::move(mechanisms);
    }
    if (l.ssl()) {
      absl::StatusOr<TlsSettings> tls = ParseTls(props, l.name, l.sasl());
      if (!tls.ok()) return tls.status();
      l.tls = *std::move(tls);
    }
  }
  return out;
}

}  // namespace chronik::server
