#include "chronik_auth/sasl_server.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "chronik_auth/credential_store.h"
#include "chronik_auth/scram.h"
#include "chronik_storage/metadata_store.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::auth {
namespace {

class SaslServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<storage::MetadataStore>> store = storage::MetadataStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    credentials_.emplace(*store_);
    ASSERT_TRUE(credentials_
                    ->Apply({{"alice", ScramMechanism::kSha512, NewCredential(ScramMechanism::kSha512, "alice-secret")},
                             {"bob", ScramMechanism::kSha256, NewCredential(ScramMechanism::kSha256, "bob-secret", 8192)}})
                    .ok());
    absl::StatusOr<std::unique_ptr<SaslServer>> server = SaslServer::Create(*credentials_, "localhost");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  absl::Status Plain(std::string_view user, std::string_view password) {
    absl::StatusOr<std::unique_ptr<SaslExchange>> ex = server_->Start("PLAIN");
    if (!ex.ok()) return ex.status();
    std::string token = std::string(1, '\0') + std::string(user) + std::string(1, '\0') + std::string(password);
    absl::StatusOr<SaslExchange::Step> step = (*ex)->Next(token);
    if (!step.ok()) return step.status();
    if (!step->done || (*ex)->user() != user) return absl::InternalError("not done");
    return absl::OkStatus();
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::optional<CredentialStore> credentials_;
  std::unique_ptr<SaslServer> server_;
};

TEST_F(SaslServerTest, PlainChecksAgainstScramCredentials) {
  EXPECT_TRUE(Plain("alice", "alice-secret").ok());
  EXPECT_TRUE(Plain("bob", "bob-secret").ok());
  EXPECT_EQ(Plain("alice", "wrong").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Plain("nobody", "alice-secret").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Plain("alice", "").code(), absl::StatusCode::kUnauthenticated);
}

// The client half from Cyrus itself: an implementation of SCRAM independent of the store's.
struct ScramClient {
  static int Name(void* context, int id, const char** result, unsigned* len) {
    *result = static_cast<ScramClient*>(context)->user.c_str();
    if (len != nullptr) *len = static_cast<unsigned>(std::strlen(*result));
    return SASL_OK;
  }
  static int Pass(sasl_conn_t*, void* context, int, sasl_secret_t** secret) {
    ScramClient* self = static_cast<ScramClient*>(context);
    self->secret.assign(sizeof(sasl_secret_t) + self->password.size(), 0);
    auto* s = reinterpret_cast<sasl_secret_t*>(self->secret.data());
    s->len = self->password.size();
    std::memcpy(s->data, self->password.data(), self->password.size());
    *secret = s;
    return SASL_OK;
  }
  std::string user;
  std::string password;
  std::vector<unsigned char> secret;
};

absl::Status Scram(const SaslServer& server, const std::string& mech, const std::string& user,
                   const std::string& password) {
  static const int init = sasl_client_init(nullptr);
  if (init != SASL_OK) return absl::InternalError("sasl_client_init");
  ScramClient client{user, password, {}};
  sasl_callback_t callbacks[] = {
      {SASL_CB_AUTHNAME, reinterpret_cast<sasl_callback_ft>(reinterpret_cast<void (*)()>(&ScramClient::Name)), &client},
      {SASL_CB_USER, reinterpret_cast<sasl_callback_ft>(reinterpret_cast<void (*)()>(&ScramClient::Name)), &client},
      {SASL_CB_PASS, reinterpret_cast<sasl_callback_ft>(reinterpret_cast<void (*)()>(&ScramClient::Pass)), &client},
      {SASL_CB_LIST_END, nullptr, nullptr},
  };
  sasl_conn_t* conn = nullptr;
  if (sasl_client_new("kafka", "localhost", nullptr, nullptr, callbacks, 0, &conn) != SASL_OK) {
    return absl::InternalError("sasl_client_new");
  }
  std::unique_ptr<sasl_conn_t, void (*)(sasl_conn_t*)> guard(conn, [](sasl_conn_t* c) { sasl_dispose(&c); });
  const char* out = nullptr;
  unsigned out_len = 0;
  const char* chosen = nullptr;
  int r = sasl_client_start(conn, mech.c_str(), nullptr, &out, &out_len, &chosen);
  if (r != SASL_CONTINUE && r != SASL_OK) return absl::InternalError(sasl_errdetail(conn));
  absl::StatusOr<std::unique_ptr<SaslExchange>> ex = server.Start(mech);
  if (!ex.ok()) return ex.status();
  std::string token(out, out_len);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<SaslExchange::Step> step = (*ex)->Next(token);
    if (!step.ok()) return step.status();
    r = sasl_client_step(conn, step->challenge.data(), static_cast<unsigned>(step->challenge.size()), nullptr, &out,
                         &out_len);
    if (step->done) {
      if (r != SASL_OK) return absl::InternalError("the client did not accept the server's signature");
      if ((*ex)->user() != user) return absl::InternalError("wrong user " + (*ex)->user());
      return absl::OkStatus();
    }
    if (r != SASL_CONTINUE && r != SASL_OK) return absl::InternalError(sasl_errdetail(conn));
    token.assign(out == nullptr ? "" : out, out_len);
  }
  return absl::InternalError("too many steps");
}

TEST_F(SaslServerTest, ScramWithStoredKeysOnly) {
  EXPECT_TRUE(Scram(*server_, "SCRAM-SHA-512", "alice", "alice-secret").ok());
  EXPECT_TRUE(Scram(*server_, "SCRAM-SHA-256", "bob", "bob-secret").ok());
  EXPECT_EQ(Scram(*server_, "SCRAM-SHA-512", "alice", "wrong").code(), absl::StatusCode::kUnauthenticated);
  // A credential of the other mechanism does not serve.
  EXPECT_EQ(Scram(*server_, "SCRAM-SHA-256", "alice", "alice-secret").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Scram(*server_, "SCRAM-SHA-512", "nobody", "x").code(), absl::StatusCode::kUnauthenticated);
}

TEST(Scram, CredentialKeepsNoPassword) {
  const ScramCredential c = NewCredential(ScramMechanism::kSha256, "pencil");
  EXPECT_EQ(c.stored_key.size(), 32u);
  EXPECT_EQ(c.server_key.size(), 32u);
  EXPECT_TRUE(PasswordMatches(c, "pencil"));
  EXPECT_FALSE(PasswordMatches(c, "pencil2"));
  // RFC 7677's example exchange: the server's signature from the stored ServerKey.
  std::string salt;
  ASSERT_TRUE(absl::Base64Unescape("W22ZaJ0SNY7soEsUEjb6gQ==", &salt));
  const ScramCredential rfc = CredentialFromSaltedPassword(
      ScramMechanism::kSha256, salt, SaltedPassword(ScramMechanism::kSha256, "pencil", salt, 4096), 4096);
  const std::string auth_message =
      "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  unsigned char sig[EVP_MAX_MD_SIZE];
  unsigned int sig_len = 0;
  HMAC(EVP_sha256(), rfc.server_key.data(), static_cast<int>(rfc.server_key.size()),
       reinterpret_cast<const unsigned char*>(auth_message.data()), auth_message.size(), sig, &sig_len);
  EXPECT_EQ(absl::Base64Escape(std::string(reinterpret_cast<char*>(sig), sig_len)),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

}  // namespace
}  // namespace chronik::auth
