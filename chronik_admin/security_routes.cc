// ACLs and SCRAM users.

#include <set>

#include "absl/strings/str_cat.h"
#include "chronik_admin/exchange.h"
#include "chronik_auth/acl.h"
#include "chronik_auth/scram.h"
#include "chronik_protocol/messages/alter_user_scram_credentials.h"
#include "chronik_protocol/messages/create_acls.h"
#include "chronik_protocol/messages/delete_acls.h"
#include "chronik_protocol/messages/describe_acls.h"
#include "chronik_protocol/messages/describe_user_scram_credentials.h"

namespace chronik::admin::internal {

using namespace protocol;  // NOLINT: the message types

namespace {

// The enum value named `name` (by `name_of`, over 0..max), or an error naming the field.
template <typename Enum>
absl::StatusOr<int8_t> ParseName(std::string_view field, const std::string& name, int max,
                                 std::string_view (*name_of)(Enum)) {
  for (int v = 1; v <= max; ++v) {
    if (name_of(static_cast<Enum>(v)) == name) return static_cast<int8_t>(v);
  }
  std::string known;
  for (int v = 1; v <= max; ++v) absl::StrAppend(&known, v == 1 ? "" : ", ", std::string(name_of(static_cast<Enum>(v))));
  return absl::InvalidArgumentError(absl::StrCat("\"", std::string(field), "\": unknown ", name, "; one of ", known));
}

absl::StatusOr<int8_t> ResourceType(const std::string& s) {
  return ParseName<auth::ResourceType>("resource_type", s, 7, auth::ResourceTypeName);
}
absl::StatusOr<int8_t> PatternType(const std::string& s) {
  return ParseName<auth::PatternType>("pattern_type", s, 4, auth::PatternTypeName);
}
absl::StatusOr<int8_t> Operation(const std::string& s) {
  return ParseName<auth::AclOperation>("operation", s, 15, auth::AclOperationName);
}
absl::StatusOr<int8_t> Permission(const std::string& s) {
  return ParseName<auth::PermissionType>("permission", s, 3, auth::PermissionTypeName);
}

nlohmann::json AclJson(int8_t resource_type, const std::string& resource_name, int8_t pattern_type,
                       const std::string& principal, const std::string& host, int8_t operation, int8_t permission) {
  return {{"resource_type", auth::ResourceTypeName(static_cast<auth::ResourceType>(resource_type))},
          {"resource_name", resource_name},
          {"pattern_type", auth::PatternTypeName(static_cast<auth::PatternType>(pattern_type))},
          {"principal", principal},
          {"host", host},
          {"operation", auth::AclOperationName(static_cast<auth::AclOperation>(operation))},
          {"permission", auth::PermissionTypeName(static_cast<auth::PermissionType>(permission))}};
}

// An ACL filter from query parameters: absent ones match anything.
struct Filter {
  int8_t resource_type = 1;  // ANY
  std::optional<std::string> resource_name;
  int8_t pattern_type = 1;  // ANY
  std::optional<std::string> principal;
  std::optional<std::string> host;
  int8_t operation = 1;   // ANY
  int8_t permission = 1;  // ANY
};

absl::StatusOr<Filter> FilterFromQuery(const std::map<std::string, std::string>& q) {
  Filter f;
  static const std::set<std::string> kKnown = {"resource_type", "resource_name", "pattern_type", "principal",
                                               "host",          "operation",     "permission"};
  for (const auto& [k, _] : q) {
    if (!kKnown.contains(k)) return absl::InvalidArgumentError(absl::StrCat("unknown query parameter ", k));
  }
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = q.find(k);
    return it == q.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const std::pair<const char*, std::pair<absl::StatusOr<int8_t> (*)(const std::string&), int8_t*>> enums[] = {
      {"resource_type", {ResourceType, &f.resource_type}},
      {"pattern_type", {PatternType, &f.pattern_type}},
      {"operation", {Operation, &f.operation}},
      {"permission", {Permission, &f.permission}},
  };
  for (const auto& [key, parse_into] : enums) {
    if (auto v = get(key)) {
      absl::StatusOr<int8_t> t = parse_into.first(*v);
      if (!t.ok()) return t.status();
      *parse_into.second = *t;
    }
  }
  f.resource_name = get("resource_name");
  f.principal = get("principal");
  f.host = get("host");
  return f;
}

// A DescribeAclsRequest or a DeleteAclsFilter: the same fields.
template <typename T>
void SetFilter(T& out, const Filter& f) {
  out.resource_type_filter = f.resource_type;
  out.resource_name_filter = f.resource_name;
  out.pattern_type_filter = f.pattern_type;
  out.principal_filter = f.principal;
  out.host_filter = f.host;
  out.operation = f.operation;
  out.permission_type = f.permission;
}

void DescribeAcls(const ExchangePtr& x) {
  absl::StatusOr<Filter> f = FilterFromQuery(x->query);
  if (!f.ok()) return x->BadRequest(std::string(f.status().message()));
  DescribeAclsRequest request;
  SetFilter(request, *f);
  x->Call<DescribeAclsRequest, DescribeAclsResponse>(request, [x](const DescribeAclsResponse& r) {
    if (r.error_code != 0) return x->KafkaError(r.error_code, r.error_message, "DescribeAcls");
    nlohmann::json acls = nlohmann::json::array();
    for (const auto& res : r.resources) {
      for (const auto& a : res.acls) {
        acls.push_back(AclJson(res.resource_type, res.resource_name, res.pattern_type, a.principal, a.host, a.operation,
                               a.permission_type));
      }
    }
    x->Ok(200, {{"acls", std::move(acls)}});
  });
}

void CreateAcls(const ExchangePtr& x) {
  auto it = x->body.find("acls");
  if (it == x->body.end() || !it->is_array() || it->empty()) return x->BadRequest("\"acls\" must be a non-empty array");
  CreateAclsRequest request;
  for (const nlohmann::json& a : *it) {
    if (!a.is_object()) return x->BadRequest("each of \"acls\" must be an object");
    std::map<std::string, std::string> fields;
    for (const char* k : {"resource_type", "resource_name", "pattern_type", "principal", "host", "operation", "permission"}) {
      absl::StatusOr<std::optional<std::string>> v = OptionalString(a, k);
      if (!v.ok()) return x->BadRequest(std::string(v.status().message()));
      if (v->has_value()) fields[k] = **v;
    }
    for (const char* k : {"resource_type", "resource_name", "principal", "operation", "permission"}) {
      if (!fields.contains(k)) return x->BadRequest(absl::StrCat("an ACL needs \"", k, "\""));
    }
    absl::StatusOr<int8_t> type = ResourceType(fields["resource_type"]);
    absl::StatusOr<int8_t> pattern = PatternType(fields.contains("pattern_type") ? fields["pattern_type"] : "LITERAL");
    absl::StatusOr<int8_t> op = Operation(fields["operation"]);
    absl::StatusOr<int8_t> permission = Permission(fields["permission"]);
    for (const absl::Status& s : {type.status(), pattern.status(), op.status(), permission.status()}) {
      if (!s.ok()) return x->BadRequest(std::string(s.message()));
    }
    CreateAclsRequest::AclCreation c;
    c.resource_type = *type;
    c.resource_name = fields["resource_name"];
    c.resource_pattern_type = *pattern;
    c.principal = fields["principal"];
    c.host = fields.contains("host") ? fields["host"] : "*";
    c.operation = *op;
    c.permission_type = *permission;
    request.creations.push_back(std::move(c));
  }
  x->Call<CreateAclsRequest, CreateAclsResponse>(request, [x](const CreateAclsResponse& r) {
    int created = 0;
    for (size_t i = 0; i < r.results.size(); ++i) {
      if (r.results[i].error_code != 0) {
        return x->KafkaError(r.results[i].error_code, r.results[i].error_message,
                             absl::StrCat("CreateAcls: ACL ", i, " (", created, " before it created)"));
      }
      ++created;
    }
    x->Ok(201, {{"created", created}});
  });
}

void DeleteAcls(const ExchangePtr& x) {
  absl::StatusOr<Filter> f = FilterFromQuery(x->query);
  if (!f.ok()) return x->BadRequest(std::string(f.status().message()));
  if (!x->query.contains("resource_type")) {
    return x->BadRequest("resource_type is required (ANY deletes the matching ACLs of every type)");
  }
  DeleteAclsRequest request;
  DeleteAclsRequest::DeleteAclsFilter d;
  SetFilter(d, *f);
  request.filters.push_back(std::move(d));
  x->Call<DeleteAclsRequest, DeleteAclsResponse>(request, [x](const DeleteAclsResponse& r) {
    nlohmann::json deleted = nlohmann::json::array();
    for (const auto& fr : r.filter_results) {
      if (fr.error_code != 0) return x->KafkaError(fr.error_code, fr.error_message, "DeleteAcls");
      for (const auto& m : fr.matching_acls) {
        if (m.error_code != 0) return x->KafkaError(m.error_code, m.error_message, "DeleteAcls");
        deleted.push_back(
            AclJson(m.resource_type, m.resource_name, m.pattern_type, m.principal, m.host, m.operation, m.permission_type));
      }
    }
    x->Ok(200, {{"deleted", std::move(deleted)}});
  });
}

void DescribeUsers(const ExchangePtr& x) {
  DescribeUserScramCredentialsRequest request;
  request.users.reset();  // all
  x->Call<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>(
      request, [x](const DescribeUserScramCredentialsResponse& r) {
        if (r.error_code != 0) return x->KafkaError(r.error_code, r.error_message, "DescribeUserScramCredentials");
        nlohmann::json users = nlohmann::json::array();
        for (const auto& u : r.results) {
          if (u.error_code != 0) return x->KafkaError(u.error_code, u.error_message, "DescribeUserScramCredentials");
          nlohmann::json credentials = nlohmann::json::array();
          for (const auto& c : u.credential_infos) {
            credentials.push_back({{"mechanism", auth::ScramMechanismName(static_cast<auth::ScramMechanism>(c.mechanism))},
                                   {"iterations", c.iterations}});
          }
          users.push_back({{"name", u.user}, {"credentials", std::move(credentials)}});
        }
        x->Ok(200, {{"users", std::move(users)}});
      });
}

void AlterUser(const ExchangePtr& x, AlterUserScramCredentialsRequest request, nlohmann::json answer) {
  x->Call<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>(
      request, [x, answer = std::move(answer)](const AlterUserScramCredentialsResponse& r) {
        for (const auto& res : r.results) {
          if (res.error_code != 0) return x->KafkaError(res.error_code, res.error_message, "AlterUserScramCredentials");
        }
        x->Ok(200, answer);
      });
}

void PutUser(const ExchangePtr& x) {
  const std::string user = x->params.at("user");
  absl::StatusOr<std::optional<std::string>> mechanism = OptionalString(x->body, "mechanism");
  absl::StatusOr<std::optional<std::string>> password = OptionalString(x->body, "password");
  absl::StatusOr<std::optional<int64_t>> iterations = OptionalInt(x->body, "iterations");
  for (const absl::Status& s : {mechanism.status(), password.status(), iterations.status()}) {
    if (!s.ok()) return x->BadRequest(std::string(s.message()));
  }
  if (!password->has_value() || (*password)->empty()) return x->BadRequest("\"password\" is required");
  const std::optional<auth::ScramMechanism> m = auth::ParseScramMechanism(mechanism->value_or("SCRAM-SHA-256"));
  if (!m.has_value()) return x->BadRequest("\"mechanism\" must be SCRAM-SHA-256 or SCRAM-SHA-512");
  const int64_t n = iterations->value_or(auth::kMinScramIterations);
  // The handler refuses counts out of Kafka's bounds; this only keeps the hashing here bounded.
  if (n < 1 || n > INT32_MAX) return x->BadRequest("\"iterations\" is out of range");
  AlterUserScramCredentialsRequest request;
  AlterUserScramCredentialsRequest::ScramCredentialUpsertion u;
  u.name = user;
  u.mechanism = static_cast<int8_t>(*m);
  u.iterations = static_cast<int32_t>(n);
  u.salt = auth::NewSalt();
  // As a Kafka admin client does: only the salted password leaves here.
  u.salted_password = n >= auth::kMinScramIterations && n <= auth::kMaxScramIterations
                          ? auth::SaltedPassword(*m, **password, u.salt, u.iterations)
                          : std::string(1, '\0');
  request.upsertions.push_back(std::move(u));
  AlterUser(x, std::move(request),
            {{"name", user}, {"mechanism", auth::ScramMechanismName(*m)}, {"iterations", n}});
}

void DeleteUser(const ExchangePtr& x) {
  const std::string user = x->params.at("user");
  std::vector<auth::ScramMechanism> mechanisms;
  if (auto it = x->query.find("mechanism"); it != x->query.end()) {
    const std::optional<auth::ScramMechanism> m = auth::ParseScramMechanism(it->second);
    if (!m.has_value()) return x->BadRequest("mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
    mechanisms.push_back(*m);
  } else {
    mechanisms = {auth::ScramMechanism::kSha256, auth::ScramMechanism::kSha512};
  }
  // Without a mechanism: the ones the user has (deleting one it lacks is an error in Kafka).
  DescribeUserScramCredentialsRequest describe;
  DescribeUserScramCredentialsRequest::UserName name;
  name.name = user;
  describe.users->push_back(std::move(name));
  x->Call<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>(
      describe, [x, user, mechanisms, explicit_one = x->query.contains("mechanism")](
                    const DescribeUserScramCredentialsResponse& r) {
        if (r.error_code != 0) return x->KafkaError(r.error_code, r.error_message, "DescribeUserScramCredentials");
        std::set<int8_t> has;
        for (const auto& u : r.results) {
          if (u.error_code != 0) return x->KafkaError(u.error_code, u.error_message, "DescribeUserScramCredentials");
          for (const auto& c : u.credential_infos) has.insert(c.mechanism);
        }
        AlterUserScramCredentialsRequest request;
        nlohmann::json deleted = nlohmann::json::array();
        for (auth::ScramMechanism m : mechanisms) {
          if (!explicit_one && !has.contains(static_cast<int8_t>(m))) continue;
          AlterUserScramCredentialsRequest::ScramCredentialDeletion d;
          d.name = user;
          d.mechanism = static_cast<int8_t>(m);
          request.deletions.push_back(std::move(d));
          deleted.push_back(auth::ScramMechanismName(m));
        }
        if (request.deletions.empty()) {
          // Nothing to delete: the handler says RESOURCE_NOT_FOUND, as Kafka does.
          AlterUserScramCredentialsRequest::ScramCredentialDeletion d;
          d.name = user;
          d.mechanism = static_cast<int8_t>(auth::ScramMechanism::kSha256);
          request.deletions.push_back(std::move(d));
        }
        AlterUser(x, std::move(request), {{"name", user}, {"deleted", std::move(deleted)}});
      });
}

}  // namespace

void AddSecurityRoutes(std::vector<RouteEntry>& routes) {
  routes.push_back(RouteEntry{"GET", "/api/v1/acls", DescribeAcls});
  routes.push_back(RouteEntry{"POST", "/api/v1/acls", CreateAcls});
  routes.push_back(RouteEntry{"DELETE", "/api/v1/acls", DeleteAcls});
  routes.push_back(RouteEntry{"GET", "/api/v1/users", DescribeUsers});
  routes.push_back(RouteEntry{"PUT", "/api/v1/users/{user}", PutUser});
  routes.push_back(RouteEntry{"DELETE", "/api/v1/users/{user}", DeleteUser});
}

}  // namespace chronik::admin::internal
