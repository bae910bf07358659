#pragma once

// The SCRAM credentials of every user, durable in the metadata store (namespace
// "scram_credentials", one entry per user and mechanism). Lookups read the store's memory and
// never wait for the disk; changes are one durable batch.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "chronik_auth/scram.h"
#include "chronik_storage/metadata_store.h"

namespace chronik::auth {

class CredentialStore {
 public:
  explicit CredentialStore(storage::MetadataStore& store) : store_(store) {}

  std::optional<ScramCredential> Find(std::string_view user, ScramMechanism m) const;
  // Every credential of `user`, in mechanism order.
  std::vector<ScramCredential> ForUser(std::string_view user) const;
  // Every user with a credential, sorted.
  std::vector<std::string> Users() const;

  struct Change {
    std::string user;
    ScramMechanism mechanism = ScramMechanism::kUnknown;
    std::optional<ScramCredential> credential;  // nullopt: delete
  };
  // All or nothing, durable before it returns.
  absl::Status Apply(const std::vector<Change>& changes);

 private:
  storage::MetadataStore& store_;
};

}  // namespace chronik::auth
