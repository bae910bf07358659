#pragma once

// A listener's TLS: the OpenSSL context built from its settings, how a client certificate's
// subject becomes a principal, and the reload that swaps in new certificates without a restart
// (SIGHUP): connections accepted after it use the new context, open ones keep theirs.

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio/ssl/context.hpp"
#include "chronik_auth/principal_mapping.h"
#include "chronik_server/listener_config.h"

namespace chronik::server {

struct TlsEndpoint {
  std::shared_ptr<boost::asio::ssl::context> context;
  auth::PrincipalMapper mapper;
  ClientAuth client_auth = ClientAuth::kNone;
};

absl::StatusOr<std::shared_ptr<const TlsEndpoint>> BuildTlsEndpoint(const TlsSettings& settings);

// The subject of the peer's certificate in RFC 2253 form ("CN=alice,O=Example"), if it sent one
// (it was verified during the handshake).
std::optional<std::string> PeerSubject(SSL* ssl);

// The current endpoint of one listener, reloadable from any thread.
class TlsHolder {
 public:
  explicit TlsHolder(TlsSettings settings) : settings_(std::move(settings)) {}

  // Builds the endpoint from the settings' files (again): the first call at start, later ones on
  // reload. On error the previous endpoint stays.
  absl::Status Reload();
  std::shared_ptr<const TlsEndpoint> Current() const;

 private:
  const TlsSettings settings_;
  mutable std::mutex mu_;
  std::shared_ptr<const TlsEndpoint> current_;
};

}  // namespace chronik::server
