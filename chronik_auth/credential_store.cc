#include "chronik_auth/credential_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace chronik::auth {
namespace {

constexpr std::string_view kNamespace = "scram_credentials";

// user NUL mechanism: a user name may hold any character but NUL, which Kafka's SCRAM names cannot.
std::string Key(std::string_view user, ScramMechanism m) {
  return absl::StrCat(std::string(user), std::string(1, '\0'), std::string(ScramMechanismName(m)));
}

std::string Encode(const ScramCredential& c) {
  nlohmann::json j;
  j["salt"] = absl::Base64Escape(c.salt);
  j["iterations"] = c.iterations;
  j["stored_key"] = absl::Base64Escape(c.stored_key);
  j["server_key"] = absl::Base64Escape(c.server_key);
  return j.dump();
}

std::optional<ScramCredential> Decode(ScramMechanism m, const std::string& value) {
  nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  ScramCredential c;
  c.mechanism = m;
  try {
    c.iterations = j.at("iterations").get<int32_t>();
    if (!absl::Base64Unescape(j.at("salt").get<std::string>(), &c.salt) ||
        !absl::Base64Unescape(j.at("stored_key").get<std::string>(), &c.stored_key) ||
        !absl::Base64Unescape(j.at("server_key").get<std::string>(), &c.server_key)) {
      return std::nullopt;
    }
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return c;
}

}  // namespace

std::optional<ScramCredential> CredentialStore::Find(std::string_view user, ScramMechanism m) const {
  std::optional<std::string> v = store_.Get(kNamespace, Key(user, m));
  if (!v.has_value()) return std::nullopt;
  return Decode(m, *v);
}

std::vector<ScramCredential> CredentialStore::ForUser(std::string_view user) const {
  std::vector<ScramCredential> out;
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    if (std::optional<ScramCredential> c = Find(user, m); c.has_value()) out.push_back(*std::move(c));
  }
  return out;
}

std::vector<std::string> CredentialStore::Users() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : store_.Scan(kNamespace, "")) {
    std::string user = key.substr(0, key.find('\0'));
    if (out.empty() || out.back() != user) out.push_back(std::move(user));
  }
  return out;
}

absl::Status CredentialStore::Apply(const std::vector<Change>& changes) {
  std::vector<storage::MetadataOp> ops;
  for (const Change& c : changes) {
    if (c.credential.has_value()) {
      ops.push_back(storage::MetadataOp::Put(std::string(kNamespace), Key(c.user, c.mechanism), Encode(*c.credential)));
    } else {
      ops.push_back(storage::MetadataOp::Delete(std::string(kNamespace), Key(c.user, c.mechanism)));
    }
  }
  if (ops.empty()) return absl::OkStatus();
  return store_.Apply(std::move(ops)).status();
}

}  // namespace chronik::auth
