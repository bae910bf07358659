#include "chronik_ingest/admin_configs.h"

#include <functional>
#include <map>
#include <set>
#include <string>

#include "chronik_ingest/dynamic_configs.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/alter_configs.h"
#include "chronik_protocol/messages/describe_configs.h"
#include "chronik_protocol/messages/incremental_alter_configs.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::AlterConfigsRequest;
using protocol::AlterConfigsResponse;
using protocol::DescribeConfigsRequest;
using protocol::DescribeConfigsResponse;
using protocol::ErrorCode;
using protocol::IncrementalAlterConfigsRequest;
using protocol::IncrementalAlterConfigsResponse;

// Kafka's ConfigResource.Type numbers.
constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

absl::Status Invalid(ErrorCode code, const std::string& message) {
  return KafkaError(absl::StatusCode::kInvalidArgument, code, message);
}

// The configs one resource describes, or why it cannot.
absl::StatusOr<std::vector<DescribedConfig>> Describe(const BrokerContext& broker, int8_t type,
                                                      const std::string& name) {
  if (type == kTopicResource) {
    std::shared_ptr<const Topic> topic = broker.topics->Find(name);
    if (topic == nullptr) {
      return KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                        "Topic " + name + " does not exist");
    }
    return topic->configs.Describe();
  }
  if (type == kBrokerResource) {
    // "" is the cluster-wide default; a number names one broker, and only this one is here.
    if (!name.empty() && name != std::to_string(broker.identity.node_id)) {
      return Invalid(ErrorCode::kInvalidRequest, "Unexpected broker id, expected " +
                                                     std::to_string(broker.identity.node_id) + " or empty string, but received " + name);
    }
    return broker.dynamic_configs != nullptr ? broker.dynamic_configs->Describe(/*per_broker=*/!name.empty())
                                             : broker.configs->Describe(/*per_broker=*/!name.empty());
  }
  return Invalid(ErrorCode::kInvalidRequest, "Unsupported resource type " + std::to_string(type));
}

// Whether `ctx` may do `op` to the configs of a TOPIC (TOPIC_AUTHORIZATION_FAILED) or BROKER
// resource (CLUSTER_AUTHORIZATION_FAILED); other types are left to the caller to refuse.
absl::Status Authorize(const BrokerContext& broker, const RequestContext& ctx, AclOperation op, int8_t type,
                       const std::string& name) {
  if (type == kTopicResource && !broker.Authorized(ctx, op, ResourceType::kTopic, name)) {
    return KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kTopicAuthorizationFailed,
                      "Authorization failed.");
  }
  if (type == kBrokerResource && !broker.AuthorizedCluster(ctx, op)) {
    return KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kClusterAuthorizationFailed,
                      "Authorization failed.");
  }
  return absl::OkStatus();
}

void RegisterDescribeConfigs(HandlerTable& table, const BrokerContext& broker) {
  table.Add<DescribeConfigsRequest, DescribeConfigsResponse>(
      DescribeConfigsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const DescribeConfigsRequest& request) {
        const int16_t version = ctx.header.api_version;
        DescribeConfigsResponse response;
        for (const auto& resource : request.resources) {
          auto& result = response.results.emplace_back();
          result.resource_type = resource.resource_type;
          result.resource_name = resource.resource_name;
          const absl::Status denied =
              Authorize(broker, ctx, AclOperation::kDescribeConfigs, resource.resource_type, resource.resource_name);
          absl::StatusOr<std::vector<DescribedConfig>> configs =
              denied.ok() ? Describe(broker, resource.resource_type, resource.resource_name) : denied;
          if (!configs.ok()) {
            result.error_code = static_cast<int16_t>(ToKafkaError(configs.status(), ErrorCode::kInvalidRequest));
            result.error_message = std::string(configs.status().message());
            continue;
          }
          std::set<std::string> wanted;
          if (resource.configuration_keys.has_value()) {
            wanted.insert(resource.configuration_keys->begin(), resource.configuration_keys->end());
          }
          for (const DescribedConfig& d : *configs) {
            if (resource.configuration_keys.has_value() && wanted.count(d.name) == 0) continue;
            auto& c = result.configs.emplace_back();
            c.name = d.name;
            c.value = d.sensitive ? std::nullopt : d.value;
            c.read_only = d.read_only;
            c.is_default = d.source == ConfigSource::kDefaultConfig;
            c.config_source = static_cast<int8_t>(d.source);
            c.is_sensitive = d.sensitive;
            c.config_type = static_cast<int8_t>(d.type);
            c.documentation.reset();
            if (version >= 1 && request.include_synonyms) {
              for (const ConfigSynonymEntry& s : d.synonyms) {
                auto& out = c.synonyms.emplace_back();
                out.name = s.name;
                out.value = d.sensitive ? std::nullopt : s.value;
                out.source = static_cast<int8_t>(s.source);
              }
            }
          }
        }
        return response;
      });
}

// Applies `change` to a topic's configs (or only validates it), for both alter APIs.
absl::Status AlterTopic(const BrokerContext& broker, const std::string& name, bool validate_only,
                        const std::function<absl::StatusOr<TopicConfigSet>(const TopicConfigSet&)>& change) {
  std::shared_ptr<const Topic> topic = broker.topics->Find(name);
  if (topic == nullptr) {
    return KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                      "Topic " + name + " does not exist");
  }
  absl::StatusOr<TopicConfigSet> changed = change(topic->configs);
  if (!changed.ok()) {
    return WithKafkaError(changed.status(), changed.status().code() == absl::StatusCode::kInvalidArgument
                                                ? ErrorCode::kInvalidConfig
                                                : ErrorCode::kInvalidRequest);
  }
  if (validate_only) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const Topic>> saved = broker.topics->SetConfigs(name, *std::move(changed));
  if (!saved.ok()) return saved.status();
  spdlog::info("altered configs of topic {}", name);
  return absl::OkStatus();
}

// One BROKER resource's changes: name -> value, nullopt to delete; `replace_layer` for
// AlterConfigs, which replaces every dynamic value of the resource.
struct BrokerChange {
  std::map<std::string, std::optional<std::string>> values;
  bool replace_layer = false;
};

// Applies `change` to the dynamic configs of the cluster default ("") or this broker (its id).
absl::Status AlterBroker(const BrokerContext& broker, const std::string& name, bool validate_only,
                         const BrokerChange& change) {
  if (!name.empty() && name != std::to_string(broker.identity.node_id)) {
    return Invalid(ErrorCode::kInvalidRequest, "Unexpected broker id " + name);
  }
  if (broker.dynamic_configs == nullptr) {
    return Invalid(ErrorCode::kInvalidRequest,
                   "Broker configs are set when the broker starts and cannot be altered while it runs");
  }
  absl::Status s = broker.dynamic_configs->Alter(
      name.empty() ? BrokerConfigLayer::kDynamicDefault : BrokerConfigLayer::kDynamicBroker, change.values,
      change.replace_layer, validate_only);
  if (s.ok()) return s;
  // Kafka answers a broker config it refuses, or a value it does not take, with INVALID_REQUEST.
  const bool refused = absl::IsInvalidArgument(s) || absl::IsFailedPrecondition(s);
  return WithKafkaError(s, refused ? ErrorCode::kInvalidRequest : ErrorCode::kUnknownServerError);
}

template <typename Result>
void SetResult(Result& out, const absl::Status& s) {
  if (s.ok()) return;
  out.error_code = static_cast<int16_t>(ToKafkaError(s, ErrorCode::kInvalidRequest));
  out.error_message = std::string(s.message());
}

using ConfigChange = std::function<absl::StatusOr<TopicConfigSet>(const TopicConfigSet&)>;

// The resource loop both alter APIs share: `change_for` turns one topic resource into the change
// to make, `broker_change_for` one broker resource (or says why the request is invalid).
template <typename Response, typename Request, typename ChangeFor, typename BrokerChangeFor>
Response AlterEach(const BrokerContext& broker, const RequestContext& ctx, const Request& request,
                   ChangeFor change_for, BrokerChangeFor broker_change_for) {
  Response response;
  for (const auto& resource : request.resources) {
    auto& out = response.responses.emplace_back();
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    absl::Status s = Authorize(broker, ctx, AclOperation::kAlterConfigs, resource.resource_type, resource.resource_name);
    if (!s.ok()) {
      // Denied: answered below.
    } else if (resource.resource_type == kTopicResource) {
      absl::StatusOr<ConfigChange> change = change_for(resource);
      s = change.ok() ? AlterTopic(broker, resource.resource_name, request.validate_only, *change) : change.status();
    } else if (resource.resource_type == kBrokerResource) {
      absl::StatusOr<BrokerChange> change = broker_change_for(resource);
      s = change.ok() ? AlterBroker(broker, resource.resource_name, request.validate_only, *change) : change.status();
    } else {
      s = Invalid(ErrorCode::kInvalidRequest, "Unsupported resource type " + std::to_string(resource.resource_type));
    }
    SetResult(out, s);
    if (!request.validate_only) {
      std::string changed;
      for (const auto& c : resource.configs) changed += (changed.empty() ? "" : ",") + c.name;
      broker.AuditAdmin(ctx, Request::kApiName,
                        resource.resource_type == kTopicResource ? ResourceType::kTopic : ResourceType::kCluster,
                        resource.resource_name, out.error_code, s.ok() ? changed : std::string(s.message()));
    }
  }
  return response;
}

void RegisterAlterConfigs(HandlerTable& table, const BrokerContext& broker) {
  table.Add<AlterConfigsRequest, AlterConfigsResponse>(
      AlterConfigsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const AlterConfigsRequest& request) {
        return AlterEach<AlterConfigsResponse>(
            broker, ctx, request, [](const auto& resource) -> absl::StatusOr<ConfigChange> {
              std::map<std::string, std::string> configs;
              for (const auto& c : resource.configs) {
                if (!c.value.has_value()) {
                  return Invalid(ErrorCode::kInvalidRequest, "Null value not supported for : " + c.name);
                }
                configs[c.name] = *c.value;
              }
              // AlterConfigs replaces the whole set of overrides.
              return ConfigChange([configs](const TopicConfigSet& current) { return current.Replace(configs); });
            },
            [](const auto& resource) -> absl::StatusOr<BrokerChange> {
              BrokerChange change;
              change.replace_layer = true;
              for (const auto& c : resource.configs) {
                if (!c.value.has_value()) {
                  return Invalid(ErrorCode::kInvalidRequest, "Null value not supported for : " + c.name);
                }
                if (!change.values.emplace(c.name, *c.value).second) {
                  return Invalid(ErrorCode::kInvalidRequest, "Error due to duplicate config keys");
                }
              }
              return change;
            });
      },
      HandlerTraits{.blocking = true});
}

void RegisterIncrementalAlterConfigs(HandlerTable& table, const BrokerContext& broker) {
  table.Add<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(
      IncrementalAlterConfigsRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const IncrementalAlterConfigsRequest& request) {
        return AlterEach<IncrementalAlterConfigsResponse>(
            broker, ctx, request, [](const auto& resource) -> absl::StatusOr<ConfigChange> {
              std::vector<AlterConfigOp> ops;
              for (const auto& c : resource.configs) {
                ops.push_back(AlterConfigOp{c.name, static_cast<AlterConfigOpType>(c.config_operation), c.value});
              }
              return ConfigChange([ops](const TopicConfigSet& current) { return current.IncrementalAlter(ops); });
            },
            [](const auto& resource) -> absl::StatusOr<BrokerChange> {
              std::vector<AlterConfigOp> ops;
              for (const auto& c : resource.configs) {
                ops.push_back(AlterConfigOp{c.name, static_cast<AlterConfigOpType>(c.config_operation), c.value});
              }
              if (absl::Status s = CheckAlterOps(ops); !s.ok()) return WithKafkaError(s, ErrorCode::kInvalidRequest);
              BrokerChange change;
              for (AlterConfigOp& op : ops) {
                if (op.op == AlterConfigOpType::kAppend || op.op == AlterConfigOpType::kSubtract) {
                  // No LIST broker config is altered while running.
                  return Invalid(ErrorCode::kInvalidConfig,
                                 std::string("Config value ") + (op.op == AlterConfigOpType::kAppend ? "append" : "subtract") +
                                     " is not allowed for config key: " + op.name);
                }
                if (op.op != AlterConfigOpType::kSet && op.op != AlterConfigOpType::kDelete) {
                  return Invalid(ErrorCode::kInvalidRequest,
                                 "Unknown operations type " + std::to_string(static_cast<int>(op.op)));
                }
                change.values[op.name] = op.op == AlterConfigOpType::kDelete ? std::nullopt : std::move(op.value);
              }
              return change;
            });
      },
      HandlerTraits{.blocking = true});
}

}  // namespace

void RegisterConfigAdmin(HandlerTable& table, const BrokerContext& broker) {
  RegisterDescribeConfigs(table, broker);
  RegisterAlterConfigs(table, broker);
  RegisterIncrementalAlterConfigs(table, broker);
}

}  // namespace chronik::ingest
