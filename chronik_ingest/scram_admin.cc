#include "chronik_ingest/scram_admin.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/all_messages.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using auth::ScramMechanism;
using protocol::AlterUserScramCredentialsRequest;
using protocol::AlterUserScramCredentialsResponse;
using protocol::DescribeUserScramCredentialsRequest;
using protocol::DescribeUserScramCredentialsResponse;
using protocol::ErrorCode;

struct UserError {
  ErrorCode code = ErrorCode::kNone;
  std::string message;
};

std::optional<ScramMechanism> Mechanism(int8_t m) {
  if (m == static_cast<int8_t>(ScramMechanism::kSha256)) return ScramMechanism::kSha256;
  if (m == static_cast<int8_t>(ScramMechanism::kSha512)) return ScramMechanism::kSha512;
  return std::nullopt;
}

std::string MechanismName(int8_t m) {
  std::optional<ScramMechanism> known = Mechanism(m);
  return known.has_value() ? std::string(auth::ScramMechanismName(*known)) : "mechanism " + std::to_string(m);
}

}  // namespace

void RegisterScramAdmin(HandlerTable& table, const BrokerContext& broker, auth::CredentialStore& credentials) {
  table.Add<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>(
      DescribeUserScramCredentialsRequest::kMaxVersion,
      [&broker, &credentials](const RequestContext& ctx, const DescribeUserScramCredentialsRequest& request) {
        DescribeUserScramCredentialsResponse response;
        if (!broker.AuthorizedCluster(ctx, AclOperation::kDescribe)) {
          response.error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed);
          response.error_message = "Authorization failed.";
          return response;
        }
        std::vector<std::string> users;
        std::set<std::string> duplicated;
        const bool all = !request.users.has_value() || request.users->empty();
        if (all) {
          users = credentials.Users();
        } else {
          std::set<std::string> seen;
          for (const auto& u : *request.users) {
            if (!seen.insert(u.name).second) duplicated.insert(u.name);
            if (std::find(users.begin(), users.end(), u.name) == users.end()) users.push_back(u.name);
          }
        }
        for (const std::string& user : users) {
          auto& r = response.results.emplace_back();
          r.user = user;
          if (duplicated.contains(user)) {
            r.error_code = static_cast<int16_t>(ErrorCode::kDuplicateResource);
            r.error_message = "Cannot describe SCRAM credentials for the same user twice in a single request: " + user;
            continue;
          }
          std::vector<auth::ScramCredential> found = credentials.ForUser(user);
          if (found.empty()) {
            r.error_code = static_cast<int16_t>(ErrorCode::kResourceNotFound);
            r.error_message = "Attempt to describe a user credential that does not exist: " + user;
            continue;
          }
          for (const auth::ScramCredential& c : found) {
            auto& info = r.credential_infos.emplace_back();
            info.mechanism = static_cast<int8_t>(c.mechanism);
            info.iterations = c.iterations;
          }
        }
        return response;
      });

  // Blocking: the change is durable before the answer.
  table.Add<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>(
      AlterUserScramCredentialsRequest::kMaxVersion,
      [&broker, &credentials](const RequestContext& ctx, const AlterUserScramCredentialsRequest& request) {
        // Kafka answers per user: one bad alteration fails every alteration of that user.
        std::map<std::string, UserError> users;
        const bool allowed = broker.AuthorizedCluster(ctx, AclOperation::kAlter);
        std::map<std::pair<std::string, int8_t>, int> seen;
        auto fail = [&users](const std::string& user, ErrorCode code, std::string message) {
          UserError& e = users[user];
          if (e.code == ErrorCode::kNone) e = {code, std::move(message)};
        };
        for (const auto& d : request.deletions) {
          users.emplace(d.name, UserError{});
          ++seen[{d.name, d.mechanism}];
        }
        for (const auto& u : request.upsertions) {
          users.emplace(u.name, UserError{});
          ++seen[{u.name, u.mechanism}];
        }
        for (const auto& [key, count] : seen) {
          if (!allowed) fail(key.first, ErrorCode::kClusterAuthorizationFailed, "Authorization failed.");
          if (count > 1) {
            fail(key.first, ErrorCode::kDuplicateResource,
                 "A user credential cannot be altered twice in the same request");
          }
        }
        std::vector<auth::CredentialStore::Change> changes;
        auto check_common = [&](const std::string& name, int8_t mechanism) -> std::optional<ScramMechanism> {
          if (name.empty()) {
            fail(name, ErrorCode::kUnacceptableCredential, "Username must not be empty");
            return std::nullopt;
          }
          std::optional<ScramMechanism> m = Mechanism(mechanism);
          if (!m.has_value()) fail(name, ErrorCode::kUnsupportedSaslMechanism, "Unknown SCRAM mechanism");
          return m;
        };
        for (const auto& d : request.deletions) {
          std::optional<ScramMechanism> m = check_common(d.name, d.mechanism);
          if (!m.has_value()) continue;
          if (!credentials.Find(d.name, *m).has_value()) {
            fail(d.name, ErrorCode::kResourceNotFound, "Attempt to delete a user credential that does not exist");
            continue;
          }
          changes.push_back({d.name, *m, std::nullopt});
        }
        for (const auto& u : request.upsertions) {
          std::optional<ScramMechanism> m = check_common(u.name, u.mechanism);
          if (!m.has_value()) continue;
          if (u.iterations < auth::kMinScramIterations) {
            fail(u.name, ErrorCode::kUnacceptableCredential, "Too few iterations");
            continue;
          }
          if (u.iterations > auth::kMaxScramIterations) {
            fail(u.name, ErrorCode::kUnacceptableCredential, "Too many iterations");
            continue;
          }
          if (u.salt.empty() || u.salted_password.empty()) {
            fail(u.name, ErrorCode::kUnacceptableCredential, "A credential needs a salt and a salted password");
            continue;
          }
          changes.push_back(
              {u.name, *m, auth::CredentialFromSaltedPassword(*m, u.salt, u.salted_password, u.iterations)});
        }
        std::erase_if(changes, [&users](const auto& c) { return users[c.user].code != ErrorCode::kNone; });
        if (absl::Status s = credentials.Apply(changes); !s.ok()) {
          spdlog::error("cannot store SCRAM credentials: {}", std::string(s.message()));
          for (const auto& c : changes) fail(c.user, ErrorCode::kUnknownServerError, "The credentials could not be stored");
        } else {
          for (const auto& c : changes) {
            spdlog::info("{} {} credential of user {} (by {})", c.credential.has_value() ? "set" : "deleted",
                         auth::ScramMechanismName(c.mechanism), c.user, ctx.session.principal);
          }
        }
        AlterUserScramCredentialsResponse response;
        for (const auto& [user, error] : users) {
          auto& r = response.results.emplace_back();
          r.user = user;
          r.error_code = static_cast<int16_t>(error.code);
          if (error.code != ErrorCode::kNone) r.error_message = error.message;
          // What changed, never a salt or key.
          std::string what;
          for (const auto& d : request.deletions) {
            if (d.name == user) what += "delete " + MechanismName(d.mechanism) + ";";
          }
          for (const auto& u : request.upsertions) {
            if (u.name == user) {
              what += "set " + MechanismName(u.mechanism) + " iterations " + std::to_string(u.iterations) + ";";
            }
          }
          broker.AuditAdmin(ctx, "AlterUserScramCredentials", ResourceType::kUser, user, r.error_code,
                            error.code == ErrorCode::kNone ? what : error.message);
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace chronik::ingest
