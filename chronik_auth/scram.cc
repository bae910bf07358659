#include "chronik_auth/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace chronik::auth {
namespace {

const EVP_MD* Digest(ScramMechanism m) { return m == ScramMechanism::kSha512 ? EVP_sha512() : EVP_sha256(); }

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string_view ScramMechanismName(ScramMechanism m) {
  switch (m) {
    case ScramMechanism::kSha256:
      return "SCRAM-SHA-256";
    case ScramMechanism::kSha512:
      return "SCRAM-SHA-512";
    case ScramMechanism::kUnknown:
      break;
  }
  return "UNKNOWN";
}

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

std::string SaltedPassword(ScramMechanism m, std::string_view password, std::string_view salt, int32_t iterations) {
  const EVP_MD* md = Digest(m);
  std::string out(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations, md,
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

ScramCredential CredentialFromSaltedPassword(ScramMechanism m, std::string_view salt, std::string_view salted_password,
                                             int32_t iterations) {
  const EVP_MD* md = Digest(m);
  ScramCredential c;
  c.mechanism = m;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = Hash(md, Hmac(md, salted_password, "Client Key"));
  c.server_key = Hmac(md, salted_password, "Server Key");
  return c;
}

std::string NewSalt() {
  std::string salt(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) std::abort();
  return salt;
}

ScramCredential NewCredential(ScramMechanism m, std::string_view password, int32_t iterations) {
  const std::string salt = NewSalt();
  return CredentialFromSaltedPassword(m, salt, SaltedPassword(m, password, salt, iterations), iterations);
}

bool PasswordMatches(const ScramCredential& credential, std::string_view password) {
  const ScramCredential candidate =
      CredentialFromSaltedPassword(credential.mechanism, credential.salt,
                                   SaltedPassword(credential.mechanism, password, credential.salt, credential.iterations),
                                   credential.iterations);
  return candidate.stored_key.size() == credential.stored_key.size() &&
         CRYPTO_memcmp(candidate.stored_key.data(), credential.stored_key.data(), candidate.stored_key.size()) == 0;
}

}  // namespace chronik::auth
