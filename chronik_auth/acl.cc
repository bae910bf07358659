#include "chronik_auth/acl.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace chronik::auth {
namespace {

constexpr std::string_view kNamespace = "acls";

// The stored key of an ACL is the ACL itself.
std::string Key(const AclBinding& a) {
  nlohmann::json j = nlohmann::json::array({static_cast<int>(a.resource_type), a.resource_name,
                                            static_cast<int>(a.pattern_type), a.principal, a.host,
                                            static_cast<int>(a.operation), static_cast<int>(a.permission)});
  return j.dump();
}

std::optional<AclBinding> FromKey(const std::string& key) {
  nlohmann::json j = nlohmann::json::parse(key, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.size() != 7) return std::nullopt;
  try {
    AclBinding a;
    a.resource_type = static_cast<ResourceType>(j[0].get<int>());
    a.resource_name = j[1].get<std::string>();
    a.pattern_type = static_cast<PatternType>(j[2].get<int>());
    a.principal = j[3].get<std::string>();
    a.host = j[4].get<std::string>();
    a.operation = static_cast<AclOperation>(j[5].get<int>());
    a.permission = static_cast<PermissionType>(j[6].get<int>());
    return a;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// Whether ACL pattern (type, name) applies to resource `name`.
bool PatternApplies(PatternType type, std::string_view pattern, std::string_view name) {
  if (type == PatternType::kLiteral) return pattern == name || pattern == "*";
  if (type == PatternType::kPrefixed) return name.starts_with(pattern);
  return false;
}

// Whether an ALLOW of `granted` allows `op` (Kafka's implied operations).
bool AllowImplies(AclOperation granted, AclOperation op) {
  if (granted == op || granted == AclOperation::kAll) return true;
  if (op == AclOperation::kDescribe) {
    return granted == AclOperation::kRead || granted == AclOperation::kWrite || granted == AclOperation::kDelete ||
           granted == AclOperation::kAlter;
  }
  if (op == AclOperation::kDescribeConfigs) return granted == AclOperation::kAlterConfigs;
  return false;
}

}  // namespace

std::string_view ResourceTypeName(ResourceType t) {
  switch (t) {
    case ResourceType::kAny: return "ANY";
    case ResourceType::kTopic: return "TOPIC";
    case ResourceType::kGroup: return "GROUP";
    case ResourceType::kCluster: return "CLUSTER";
    case ResourceType::kTransactionalId: return "TRANSACTIONAL_ID";
    case ResourceType::kDelegationToken: return "DELEGATION_TOKEN";
    case ResourceType::kUser: return "USER";
    case ResourceType::kUnknown: break;
  }
  return "UNKNOWN";
}

std::string_view AclOperationName(AclOperation op) {
  switch (op) {
    case AclOperation::kAny: return "ANY";
    case AclOperation::kAll: return "ALL";
    case AclOperation::kRead: return "READ";
    case AclOperation::kWrite: return "WRITE";
    case AclOperation::kCreate: return "CREATE";
    case AclOperation::kDelete: return "DELETE";
    case AclOperation::kAlter: return "ALTER";
    case AclOperation::kDescribe: return "DESCRIBE";
    case AclOperation::kClusterAction: return "CLUSTER_ACTION";
    case AclOperation::kDescribeConfigs: return "DESCRIBE_CONFIGS";
    case AclOperation::kAlterConfigs: return "ALTER_CONFIGS";
    case AclOperation::kIdempotentWrite: return "IDEMPOTENT_WRITE";
    case AclOperation::kCreateTokens: return "CREATE_TOKENS";
    case AclOperation::kDescribeTokens: return "DESCRIBE_TOKENS";
    case AclOperation::kTwoPhaseCommit: return "TWO_PHASE_COMMIT";
    case AclOperation::kUnknown: break;
  }
  return "UNKNOWN";
}

std::string_view PatternTypeName(PatternType t) {
  switch (t) {
    case PatternType::kAny: return "ANY";
    case PatternType::kMatch: return "MATCH";
    case PatternType::kLiteral: return "LITERAL";
    case PatternType::kPrefixed: return "PREFIXED";
    case PatternType::kUnknown: break;
  }
  return "UNKNOWN";
}

std::string_view PermissionTypeName(PermissionType t) {
  switch (t) {
    case PermissionType::kAny: return "ANY";
    case PermissionType::kDeny: return "DENY";
    case PermissionType::kAllow: return "ALLOW";
    case PermissionType::kUnknown: break;
  }
  return "UNKNOWN";
}

std::vector<AclOperation> OperationsOf(ResourceType type) {
  using O = AclOperation;
  switch (type) {
    case ResourceType::kTopic:
      return {O::kRead, O::kWrite, O::kCreate, O::kDescribe, O::kDelete, O::kAlter, O::kDescribeConfigs,
              O::kAlterConfigs};
    case ResourceType::kGroup:
      return {O::kRead, O::kDescribe, O::kDelete, O::kDescribeConfigs, O::kAlterConfigs};
    case ResourceType::kCluster:
      return {O::kCreate, O::kClusterAction, O::kDescribeConfigs, O::kAlterConfigs, O::kIdempotentWrite, O::kAlter,
              O::kDescribe};
    case ResourceType::kTransactionalId:
      return {O::kDescribe, O::kWrite, O::kTwoPhaseCommit};
    case ResourceType::kDelegationToken:
      return {O::kDescribe};
    case ResourceType::kUser:
      return {O::kCreateTokens, O::kDescribeTokens};
    default:
      return {};
  }
}

bool AclFilter::Matches(const AclBinding& acl) const {
  if (resource_type != ResourceType::kAny && resource_type != acl.resource_type) return false;
  if (operation != AclOperation::kAny && operation != acl.operation) return false;
  if (permission != PermissionType::kAny && permission != acl.permission) return false;
  if (principal.has_value() && *principal != acl.principal) return false;
  if (host.has_value() && *host != acl.host) return false;
  switch (pattern_type) {
    case PatternType::kAny:
      return !resource_name.has_value() || *resource_name == acl.resource_name;
    case PatternType::kMatch:
      return !resource_name.has_value() || PatternApplies(acl.pattern_type, acl.resource_name, *resource_name);
    default:
      return pattern_type == acl.pattern_type && (!resource_name.has_value() || *resource_name == acl.resource_name);
  }
}

absl::Status ValidateAclBinding(const AclBinding& acl) {
  if (acl.resource_type == ResourceType::kUnknown || acl.resource_type == ResourceType::kAny) {
    return absl::InvalidArgumentError("Invalid resource type: an ACL names one resource type");
  }
  if (acl.pattern_type != PatternType::kLiteral && acl.pattern_type != PatternType::kPrefixed) {
    return absl::InvalidArgumentError("Invalid pattern type: an ACL is LITERAL or PREFIXED");
  }
  if (acl.operation == AclOperation::kUnknown || acl.operation == AclOperation::kAny) {
    return absl::InvalidArgumentError("Invalid operation: an ACL names one operation or ALL");
  }
  if (acl.permission != PermissionType::kAllow && acl.permission != PermissionType::kDeny) {
    return absl::InvalidArgumentError("Invalid permission type: an ACL is ALLOW or DENY");
  }
  if (acl.resource_name.empty()) return absl::InvalidArgumentError("Resource name must not be empty");
  if (acl.resource_type == ResourceType::kCluster && acl.resource_name != kClusterResourceName) {
    return absl::InvalidArgumentError("The only valid name for the CLUSTER resource is kafka-cluster");
  }
  const size_t colon = acl.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == acl.principal.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Could not parse principal from `", acl.principal,
                                                   "` (no colon is present separating the principal type from the "
                                                   "principal name)"));
  }
  if (acl.host.empty()) return absl::InvalidArgumentError("Host must not be empty (use * for any host)");
  // Kafka does not check the operation against the resource type (an ACL that can never apply is
  // accepted); it only refuses operations it does not know.
  if (static_cast<int>(acl.operation) > static_cast<int>(AclOperation::kTwoPhaseCommit)) {
    return absl::InvalidArgumentError("Invalid operation: unknown operation " +
                                      std::to_string(static_cast<int>(acl.operation)));
  }
  return absl::OkStatus();
}

Authorizer::Authorizer(storage::MetadataStore& store, AuthorizerOptions options)
    : store_(store), options_(std::move(options)) {}

absl::Status Authorizer::Load() {
  std::vector<AclBinding> loaded;
  for (const auto& [key, value] : store_.Scan(kNamespace, "")) {
    std::optional<AclBinding> acl = FromKey(key);
    if (!acl.has_value()) return absl::DataLossError(absl::StrCat("a stored ACL cannot be read: ", key));
    loaded.push_back(*std::move(acl));
  }
  std::sort(loaded.begin(), loaded.end());
  absl::MutexLock lock(&mu_);
  acls_ = std::move(loaded);
  Reindex();
  return absl::OkStatus();
}

bool Authorizer::IsSuperUser(std::string_view principal) const {
  return std::find(options_.super_users.begin(), options_.super_users.end(), principal) != options_.super_users.end();
}

void Authorizer::Reindex() {
  literal_.clear();
  prefixed_.clear();
  for (const AclBinding& acl : acls_) {
    if (acl.pattern_type == PatternType::kPrefixed) {
      prefixed_[acl.resource_type].push_back(acl);
    } else {
      literal_[acl.resource_type][acl.resource_name].push_back(acl);
    }
  }
}

bool Authorizer::Authorize(std::string_view principal, std::string_view host, AclOperation op, ResourceType type,
                           std::string_view name) const {
  if (IsSuperUser(principal)) return true;
  bool any_acl = false;
  bool allowed = false;
  bool denied = false;
  auto consider = [&](const AclBinding& acl) {
    any_acl = true;
    if (acl.principal != principal && acl.principal != "User:*") return;
    if (acl.host != host && acl.host != "*") return;
    if (acl.permission == PermissionType::kDeny && (acl.operation == op || acl.operation == AclOperation::kAll)) {
      denied = true;
    }
    if (acl.permission == PermissionType::kAllow && AllowImplies(acl.operation, op)) allowed = true;
  };
  absl::ReaderMutexLock lock(&mu_);
  if (auto by_name = literal_.find(type); by_name != literal_.end()) {
    for (std::string_view literal : {name, std::string_view("*")}) {
      if (auto it = by_name->second.find(literal); it != by_name->second.end()) {
        for (const AclBinding& acl : it->second) consider(acl);
      }
      if (name == "*") break;
    }
  }
  if (auto it = prefixed_.find(type); it != prefixed_.end()) {
    for (const AclBinding& acl : it->second) {
      if (name.starts_with(acl.resource_name)) consider(acl);
    }
  }
  if (denied) return false;
  return allowed || (!any_acl && options_.allow_everyone_if_no_acl_found);
}

bool Authorizer::AuthorizeAny(std::string_view principal, std::string_view host, AclOperation op,
                              ResourceType type) const {
  if (IsSuperUser(principal)) return true;
  std::vector<std::string> names;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const AclBinding& acl : acls_) {
      if (acl.resource_type == type && acl.permission == PermissionType::kAllow &&
          (acl.principal == principal || acl.principal == "User:*") && (acl.host == host || acl.host == "*") &&
          AllowImplies(acl.operation, op)) {
        names.push_back(acl.resource_name);
      }
    }
  }
  // An ALLOW counts unless a DENY takes the very resource it names away.
  for (const std::string& n : names) {
    if (Authorize(principal, host, op, type, n)) return true;
  }
  // With no ALLOW anywhere, a resource without ACLs may still be open, unless a DENY on every
  // resource of the type ("*") shuts it.
  return options_.allow_everyone_if_no_acl_found && Authorize(principal, host, op, type, "*");
}

absl::Status Authorizer::Create(const std::vector<AclBinding>& acls) {
  absl::MutexLock write(&write_mu_);
  std::vector<storage::MetadataOp> ops;
  for (const AclBinding& acl : acls) ops.push_back(storage::MetadataOp::Put(std::string(kNamespace), Key(acl), ""));
  if (ops.empty()) return absl::OkStatus();
  if (absl::Status s = store_.Apply(std::move(ops)).status(); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  for (const AclBinding& acl : acls) {
    auto at = std::lower_bound(acls_.begin(), acls_.end(), acl);
    if (at == acls_.end() || *at != acl) acls_.insert(at, acl);
  }
  Reindex();
  return absl::OkStatus();
}

std::vector<AclBinding> Authorizer::Describe(const AclFilter& filter) const {
  std::vector<AclBinding> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const AclBinding& acl : acls_) {
    if (filter.Matches(acl)) out.push_back(acl);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<AclBinding>>> Authorizer::Delete(const std::vector<AclFilter>& filters) {
  absl::MutexLock write(&write_mu_);
  std::vector<std::vector<AclBinding>> matched;
  std::vector<AclBinding> doomed;
  for (const AclFilter& f : filters) {
    matched.push_back(Describe(f));
    doomed.insert(doomed.end(), matched.back().begin(), matched.back().end());
  }
  std::sort(doomed.begin(), doomed.end());
  doomed.erase(std::unique(doomed.begin(), doomed.end()), doomed.end());
  std::vector<storage::MetadataOp> ops;
  for (const AclBinding& acl : doomed) ops.push_back(storage::MetadataOp::Delete(std::string(kNamespace), Key(acl)));
  if (!ops.empty()) {
    if (absl::Status s = store_.Apply(std::move(ops)).status(); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  std::erase_if(acls_, [&](const AclBinding& a) { return std::binary_search(doomed.begin(), doomed.end(), a); });
  Reindex();
  return matched;
}

}  // namespace chronik::auth
