#pragma once

// SCRAM credentials (RFC 5802) as Kafka keeps them: per user and mechanism a salt, an iteration
// count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword,
// "Server Key"). The password and SaltedPassword are never kept: they can be checked against a
// credential (PLAIN) but not recovered from it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chronik::auth {

// KIP-554's mechanism numbers (ScramMechanism in the protocol).
enum class ScramMechanism : int8_t { kUnknown = 0, kSha256 = 1, kSha512 = 2 };

std::string_view ScramMechanismName(ScramMechanism m);  // "SCRAM-SHA-256", ...
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);

// Kafka's bounds on the iteration count (AlterUserScramCredentials refuses others).
inline constexpr int32_t kMinScramIterations = 4096;
inline constexpr int32_t kMaxScramIterations = 16384;

struct ScramCredential {
  ScramMechanism mechanism = ScramMechanism::kUnknown;
  std::string salt;        // raw bytes
  int32_t iterations = 0;
  std::string stored_key;  // raw bytes
  std::string server_key;  // raw bytes

  bool operator==(const ScramCredential&) const = default;
};

// Hi(password, salt, iterations): PBKDF2 with the mechanism's HMAC.
std::string SaltedPassword(ScramMechanism m, std::string_view password, std::string_view salt, int32_t iterations);

// The credential of a salted password (what AlterUserScramCredentials carries).
ScramCredential CredentialFromSaltedPassword(ScramMechanism m, std::string_view salt, std::string_view salted_password,
                                             int32_t iterations);

// A fresh random salt.
std::string NewSalt();

// The credential of a password with a fresh random salt.
ScramCredential NewCredential(ScramMechanism m, std::string_view password, int32_t iterations = kMinScramIterations);

// Whether `password` is the one `credential` was made from (constant-time comparison).
bool PasswordMatches(const ScramCredential& credential, std::string_view password);

}  // namespace chronik::auth
