#pragma once

// SaslHandshake (v0-1) and SaslAuthenticate (v0-2), and the bare tokens that follow a v0
// handshake: authentication on SASL listeners, through chronik_auth's SaslServer. Which requests
// a connection may send before (or after its session expires) is the dispatcher's to enforce.

#include <cstdint>

#include "chronik_auth/sasl_server.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

struct SaslSettings {
  const auth::SaslServer* server = nullptr;
  // connections.max.reauth.ms: the session lifetime SaslAuthenticate v1+ announces; 0: none.
  int64_t reauth_ms = 0;
  // connection.failed.authentication.delay.ms: how late a failed authentication is answered.
  int64_t failed_authentication_delay_ms = 100;
  AuthenticationListener on_authentication;
};

void RegisterSaslApis(HandlerTable& table, SaslSettings settings);

}  // namespace chronik::ingest
