#pragma once

// SASL on the broker's side, through Cyrus SASL's server plugins (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512), fed from Chronik's own credential store rather than any file: SCRAM reads the
// stored secrets through an in-process auxprop plugin, PLAIN checks the password against them
// through Cyrus's password-check callback. No configuration file, sasldb or plugin outside these
// is consulted.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_auth/credential_store.h"

typedef struct sasl_conn sasl_conn_t;

namespace chronik::auth {

struct CyrusLibrary;

// One authentication exchange of one connection. Not thread-safe; one thread at a time.
class SaslExchange {
 public:
  ~SaslExchange();
  SaslExchange(const SaslExchange&) = delete;
  SaslExchange& operator=(const SaslExchange&) = delete;

  struct Step {
    bool done = false;       // authenticated: user() is set
    std::string challenge;   // the server's token (may be empty)
  };
  // Feeds the client's next token. An error is a failed authentication (Unauthenticated, with a
  // message fit for the client that names no secret), after which the exchange is over.
  absl::StatusOr<Step> Next(std::string_view client_token);

  const std::string& mechanism() const { return mechanism_; }
  // The authenticated user name, once done.
  const std::string& user() const { return user_; }
  // Why the last step failed, in Cyrus's words, for the broker's log.
  const std::string& failure_detail() const { return detail_; }

  // What Cyrus's callbacks of this exchange reach (defined where they are).
  struct Context;

 private:
  friend class SaslServer;
  SaslExchange(const CyrusLibrary& sasl, std::string mechanism, std::unique_ptr<Context> context);

  const CyrusLibrary& sasl_;
  std::string mechanism_;
  std::unique_ptr<Context> context_;
  sasl_conn_t* conn_ = nullptr;
  bool started_ = false;
  bool finished_ = false;
  std::string user_;
  std::string detail_;
};

class SaslServer {
 public:
  // Loads and initializes Cyrus SASL for the process on first use (FailedPrecondition, naming
  // the packages to install, where it is missing); `credentials` must outlive the server and
  // every exchange it starts. `host_name` is given to Cyrus as the server's name, so that it
  // does not resolve one itself (a DNS lookup per exchange).
  static absl::StatusOr<std::unique_ptr<SaslServer>> Create(const CredentialStore& credentials,
                                                            std::string host_name);

  // A new exchange for `mechanism` (one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512).
  absl::StatusOr<std::unique_ptr<SaslExchange>> Start(std::string_view mechanism) const;

 private:
  SaslServer(const CyrusLibrary& sasl, const CredentialStore& credentials, std::string host_name)
      : sasl_(sasl), credentials_(credentials), host_name_(std::move(host_name)) {}
  const CyrusLibrary& sasl_;
  const CredentialStore& credentials_;
  const std::string host_name_;
};

}  // namespace chronik::auth
