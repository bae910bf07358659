#include "chronik_auth/http_auth.h"

#include "absl/strings/escaping.h"
#include "chronik_auth/scram.h"
#include "openssl/crypto.h"

namespace chronik::auth {

absl::StatusOr<std::optional<std::string>> AuthenticateHttp(std::string_view authorization,
                                                           const CredentialStore* credentials,
                                                           const std::optional<BearerToken>& token) {
  if (authorization.empty()) return std::optional<std::string>();
  if (authorization.starts_with("Basic ")) {
    std::string decoded;
    if (!absl::Base64Unescape(std::string(authorization.substr(6)), &decoded) ||
        decoded.find(':') == std::string::npos) {
      return absl::UnauthenticatedError("malformed Basic credentials");
    }
    const std::string name = decoded.substr(0, decoded.find(':'));
    const std::string password = decoded.substr(decoded.find(':') + 1);
    if (credentials != nullptr) {
      for (const ScramCredential& c : credentials->ForUser(name)) {
        if (PasswordMatches(c, password)) return std::optional<std::string>(name);
      }
    }
    return absl::UnauthenticatedError("wrong user name or password");
  }
  if (authorization.starts_with("Bearer ")) {
    const std::string_view given = authorization.substr(7);
    if (!token.has_value() || given.size() != token->token.size() ||
        CRYPTO_memcmp(given.data(), token->token.data(), given.size()) != 0) {
      return absl::UnauthenticatedError("wrong bearer token");
    }
    return std::optional<std::string>(token->user);
  }
  return absl::UnauthenticatedError("only Basic and Bearer authorization are served");
}

}  // namespace chronik::auth
