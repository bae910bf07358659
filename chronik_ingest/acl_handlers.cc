#include "chronik_ingest/acl_handlers.h"

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/all_messages.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using auth::AclBinding;
using auth::AclFilter;
using auth::PatternType;
using auth::PermissionType;
using protocol::CreateAclsRequest;
using protocol::CreateAclsResponse;
using protocol::DeleteAclsRequest;
using protocol::DeleteAclsResponse;
using protocol::DescribeAclsRequest;
using protocol::DescribeAclsResponse;
using protocol::ErrorCode;

constexpr char kNoAuthorizer[] = "No Authorizer is configured.";

int16_t Code(ErrorCode c) { return static_cast<int16_t>(c); }

// Why a creation or deletion is refused before it is tried, if it is: no authorizer, no ALTER on
// the cluster, or the request's own `invalid` ACL or filter.
std::optional<std::pair<ErrorCode, std::string>> Refusal(const auth::Authorizer* authorizer, bool allowed,
                                                         const absl::Status& invalid) {
  if (authorizer == nullptr) return std::make_pair(ErrorCode::kSecurityDisabled, std::string(kNoAuthorizer));
  if (!allowed) return std::make_pair(ErrorCode::kClusterAuthorizationFailed, std::string("Authorization failed."));
  if (!invalid.ok()) return std::make_pair(ErrorCode::kInvalidRequest, std::string(invalid.message()));
  return std::nullopt;
}

// A filter as the request states it, or why it cannot be one.
template <typename F>
absl::StatusOr<AclFilter> FilterOf(const F& f) {
  AclFilter out;
  if (f.resource_type_filter < 1 || f.resource_type_filter > 7 || f.pattern_type_filter < 1 ||
      f.pattern_type_filter > 4 || f.operation < 1 || f.operation > 15 || f.permission_type < 1 ||
      f.permission_type > 3) {
    return absl::InvalidArgumentError("The filter names an unknown resource type, pattern type, operation or permission");
  }
  out.resource_type = static_cast<ResourceType>(f.resource_type_filter);
  out.resource_name = f.resource_name_filter;
  out.pattern_type = static_cast<PatternType>(f.pattern_type_filter);
  out.principal = f.principal_filter;
  out.host = f.host_filter;
  out.operation = static_cast<AclOperation>(f.operation);
  out.permission = static_cast<PermissionType>(f.permission_type);
  return out;
}

std::string Describe(const AclBinding& a) {
  return absl::StrCat(a.principal, " ", a.permission == PermissionType::kAllow ? "ALLOW" : "DENY", " ",
                      std::string(auth::AclOperationName(a.operation)), " from ", a.host, " on ",
                      a.pattern_type == PatternType::kPrefixed ? "PREFIXED " : "LITERAL ",
                      std::string(auth::ResourceTypeName(a.resource_type)), " ", a.resource_name);
}

}  // namespace

void RegisterAclApis(HandlerTable& table, const BrokerContext& broker, auth::Authorizer* authorizer) {
  table.Add<CreateAclsRequest, CreateAclsResponse>(
      CreateAclsRequest::kMaxVersion,
      [&broker, authorizer](const RequestContext& ctx, const CreateAclsRequest& request) {
        CreateAclsResponse response;
        const bool allowed = authorizer != nullptr && broker.AuthorizedCluster(ctx, AclOperation::kAlter);
        std::vector<AclBinding> valid;
        std::vector<size_t> valid_at;
        for (const auto& c : request.creations) {
          auto& out = response.results.emplace_back();
          AclBinding acl{static_cast<ResourceType>(c.resource_type), c.resource_name,
                         static_cast<PatternType>(c.resource_pattern_type), c.principal, c.host,
                         static_cast<AclOperation>(c.operation), static_cast<PermissionType>(c.permission_type)};
          if (auto refused = Refusal(authorizer, allowed, auth::ValidateAclBinding(acl))) {
            out.error_code = Code(refused->first);
            out.error_message = refused->second;
          } else {
            valid.push_back(acl);
            valid_at.push_back(response.results.size() - 1);
            continue;
          }
          broker.AuditAdmin(ctx, "CreateAcls", acl.resource_type, acl.resource_name, out.error_code, Describe(acl));
        }
        if (!valid.empty()) {
          absl::Status s = authorizer->Create(valid);
          for (size_t i = 0; i < valid.size(); ++i) {
            auto& out = response.results[valid_at[i]];
            if (!s.ok()) {
              out.error_code = Code(ErrorCode::kUnknownServerError);
              out.error_message = "The ACLs could not be stored";
            }
            broker.AuditAdmin(ctx, "CreateAcls", valid[i].resource_type, valid[i].resource_name, out.error_code,
                              Describe(valid[i]));
          }
          if (!s.ok()) spdlog::error("cannot store ACLs: {}", std::string(s.message()));
        }
        return response;
      },
      HandlerTraits{.blocking = true});

  table.Add<DescribeAclsRequest, DescribeAclsResponse>(
      DescribeAclsRequest::kMaxVersion,
      [&broker, authorizer](const RequestContext& ctx, const DescribeAclsRequest& request) {
        DescribeAclsResponse response;
        if (authorizer == nullptr) {
          response.error_code = Code(ErrorCode::kSecurityDisabled);
          response.error_message = kNoAuthorizer;
          return response;
        }
        if (!broker.AuthorizedCluster(ctx, AclOperation::kDescribe)) {
          response.error_code = Code(ErrorCode::kClusterAuthorizationFailed);
          response.error_message = "Authorization failed.";
          return response;
        }
        absl::StatusOr<AclFilter> filter = FilterOf(request);
        if (!filter.ok()) {
          response.error_code = Code(ErrorCode::kInvalidRequest);
          response.error_message = std::string(filter.status().message());
          return response;
        }
        // Grouped by resource, as Kafka answers.
        std::map<std::tuple<int8_t, std::string, int8_t>, std::vector<AclBinding>> by_resource;
        for (AclBinding& a : authorizer->Describe(*filter)) {
          by_resource[{static_cast<int8_t>(a.resource_type), a.resource_name, static_cast<int8_t>(a.pattern_type)}]
              .push_back(std::move(a));
        }
        for (auto& [key, acls] : by_resource) {
          auto& r = response.resources.emplace_back();
          r.resource_type = std::get<0>(key);
          r.resource_name = std::get<1>(key);
          r.pattern_type = std::get<2>(key);
          for (const AclBinding& a : acls) {
            auto& d = r.acls.emplace_back();
            d.principal = a.principal;
            d.host = a.host;
            d.operation = static_cast<int8_t>(a.operation);
            d.permission_type = static_cast<int8_t>(a.permission);
          }
        }
        return response;
      });

  table.Add<DeleteAclsRequest, DeleteAclsResponse>(
      DeleteAclsRequest::kMaxVersion,
      [&broker, authorizer](const RequestContext& ctx, const DeleteAclsRequest& request) {
        DeleteAclsResponse response;
        const bool allowed = authorizer != nullptr && broker.AuthorizedCluster(ctx, AclOperation::kAlter);
        std::vector<AclFilter> filters;
        std::vector<size_t> filters_at;
        for (const auto& f : request.filters) {
          auto& out = response.filter_results.emplace_back();
          absl::StatusOr<AclFilter> filter = FilterOf(f);
          if (auto refused = Refusal(authorizer, allowed, filter.status())) {
            out.error_code = Code(refused->first);
            out.error_message = refused->second;
          } else {
            filters.push_back(*filter);
            filters_at.push_back(response.filter_results.size() - 1);
            continue;
          }
          broker.AuditAdmin(ctx, "DeleteAcls", static_cast<ResourceType>(f.resource_type_filter),
                            f.resource_name_filter.value_or("*"), out.error_code, "");
        }
        if (filters.empty()) return response;
        absl::StatusOr<std::vector<std::vector<AclBinding>>> deleted = authorizer->Delete(filters);
        for (size_t i = 0; i < filters.size(); ++i) {
          auto& out = response.filter_results[filters_at[i]];
          if (!deleted.ok()) {
            out.error_code = Code(ErrorCode::kUnknownServerError);
            out.error_message = "The ACLs could not be deleted";
            continue;
          }
          for (const AclBinding& a : (*deleted)[i]) {
            auto& m = out.matching_acls.emplace_back();
            m.resource_type = static_cast<int8_t>(a.resource_type);
            m.resource_name = a.resource_name;
            m.pattern_type = static_cast<int8_t>(a.pattern_type);
            m.principal = a.principal;
            m.host = a.host;
            m.operation = static_cast<int8_t>(a.operation);
            m.permission_type = static_cast<int8_t>(a.permission);
            broker.AuditAdmin(ctx, "DeleteAcls", a.resource_type, a.resource_name, 0, Describe(a));
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace chronik::ingest
