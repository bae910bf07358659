#pragma once

// Kafka's authorizer: ACLs (resource, pattern, principal, host, operation, ALLOW/DENY) durable in
// the metadata store (namespace "acls"), and the decision whether a principal from a host may do an
// operation to a resource, with Kafka's rules:
//  - super users may do everything;
//  - ACLs match a resource by LITERAL name, the LITERAL wildcard "*", or a PREFIXED pattern; a
//    principal by name or "User:*"; a host by address or "*";
//  - a matching DENY wins over any ALLOW;
//  - an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, of ALTER_CONFIGS also
//    DESCRIBE_CONFIGS, of ALL everything;
//  - a resource without any ACL is allowed only with allow.everyone.if.no.acl.found.
// Decisions read memory only; changes are durable before they are visible.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chronik_storage/metadata_store.h"

namespace chronik::auth {

// The protocol's numbers (ResourceType, PatternType, AclOperation, AclPermissionType).
enum class ResourceType : int8_t {
  kUnknown = 0, kAny = 1, kTopic = 2, kGroup = 3, kCluster = 4, kTransactionalId = 5, kDelegationToken = 6, kUser = 7,
};
enum class PatternType : int8_t { kUnknown = 0, kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4 };
enum class AclOperation : int8_t {
  kUnknown = 0, kAny = 1, kAll = 2, kRead = 3, kWrite = 4, kCreate = 5, kDelete = 6, kAlter = 7, kDescribe = 8,
  kClusterAction = 9, kDescribeConfigs = 10, kAlterConfigs = 11, kIdempotentWrite = 12, kCreateTokens = 13,
  kDescribeTokens = 14, kTwoPhaseCommit = 15,
};
enum class PermissionType : int8_t { kUnknown = 0, kAny = 1, kDeny = 2, kAllow = 3 };

std::string_view ResourceTypeName(ResourceType t);  // "TOPIC", ...
std::string_view AclOperationName(AclOperation op);  // "READ", ...
std::string_view PatternTypeName(PatternType t);      // "LITERAL", ...
std::string_view PermissionTypeName(PermissionType t);  // "ALLOW", ...

// The one cluster resource's name.
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";

struct AclBinding {
  ResourceType resource_type = ResourceType::kUnknown;
  std::string resource_name;
  PatternType pattern_type = PatternType::kLiteral;
  std::string principal;  // "User:alice", "User:*"
  std::string host;       // an address or "*"
  AclOperation operation = AclOperation::kUnknown;
  PermissionType permission = PermissionType::kUnknown;

  bool operator==(const AclBinding&) const = default;
  auto operator<=>(const AclBinding&) const = default;
};

// DescribeAcls/DeleteAcls filters: ANY and null match everything; pattern MATCH matches the ACLs
// that would apply to the named resource.
struct AclFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  PermissionType permission = PermissionType::kAny;

  bool Matches(const AclBinding& acl) const;
};

// Why an ACL cannot be created (InvalidArgument with Kafka's kind of message), or OK.
absl::Status ValidateAclBinding(const AclBinding& acl);

// The operations a resource type knows, for the authorized-operations bit sets.
std::vector<AclOperation> OperationsOf(ResourceType type);

struct AuthorizerOptions {
  std::vector<std::string> super_users;  // principals, "User:admin"
  bool allow_everyone_if_no_acl_found = false;
};

class Authorizer {
 public:
  Authorizer(storage::MetadataStore& store, AuthorizerOptions options);

  // Reads the stored ACLs; once, before serving.
  absl::Status Load();

  bool Authorize(std::string_view principal, std::string_view host, AclOperation op, ResourceType type,
                 std::string_view name) const;
  // Whether `principal` may do `op` to at least one resource of `type` (Kafka's
  // authorizeByResourceType, used for idempotent producers: WRITE to some topic).
  bool AuthorizeAny(std::string_view principal, std::string_view host, AclOperation op, ResourceType type) const;

  // Durable before it returns; a binding that exists already is not an error.
  absl::Status Create(const std::vector<AclBinding>& acls);
  std::vector<AclBinding> Describe(const AclFilter& filter) const;
  // Removes every ACL matching any filter; returns, per filter, what it removed.
  absl::StatusOr<std::vector<std::vector<AclBinding>>> Delete(const std::vector<AclFilter>& filters);

 private:
  bool IsSuperUser(std::string_view principal) const;
  // Rebuilds the lookup index from acls_.
  void Reindex() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::MetadataStore& store_;
  const AuthorizerOptions options_;
  mutable absl::Mutex mu_;
  std::vector<AclBinding> acls_ ABSL_GUARDED_BY(mu_);  // sorted
  // What Authorize reads, so that a check on every partition of every request looks at the ACLs
  // of its resource rather than all of them: LITERAL ACLs by type and name ("*" included), and
  // PREFIXED ones by type.
  std::map<ResourceType, std::map<std::string, std::vector<AclBinding>, std::less<>>> literal_ ABSL_GUARDED_BY(mu_);
  std::map<ResourceType, std::vector<AclBinding>> prefixed_ ABSL_GUARDED_BY(mu_);
  absl::Mutex write_mu_;  // one change at a time, so the store and acls_ agree
};

}  // namespace chronik::auth
