#pragma once

// Who an HTTP request's Authorization header says it is, for the broker's HTTP APIs (admin,
// search): HTTP Basic with a SCRAM user's name and password, or a bearer token from
// configuration that stands for a user.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chronik_auth/credential_store.h"

namespace chronik::auth {

struct BearerToken {
  std::string user;
  std::string token;
};

// The authenticated user; nullopt when there is no header; kUnauthenticated (with a reason that
// holds no secret) for credentials that are malformed or wrong. `credentials` null: Basic fails.
absl::StatusOr<std::optional<std::string>> AuthenticateHttp(std::string_view authorization,
                                                           const CredentialStore* credentials,
                                                           const std::optional<BearerToken>& token);

}  // namespace chronik::auth
