#include "chronik_ingest/admin_topics.h"

#include <map>
#include <set>
#include <string>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/create_partitions.h"
#include "chronik_protocol/messages/create_topics.h"
#include "chronik_protocol/messages/delete_topics.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::CreatePartitionsRequest;
using protocol::CreatePartitionsResponse;
using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;
using protocol::ErrorCode;

absl::Status Invalid(ErrorCode code, const std::string& message) {
  return KafkaError(absl::StatusCode::kInvalidArgument, code, message);
}

// Every replica of a one-broker cluster is this broker.
absl::Status CheckAssignment(const std::vector<int32_t>& brokers, int32_t node_id, int32_t partition) {
  if (brokers.size() != 1 || brokers[0] != node_id) {
    return Invalid(ErrorCode::kInvalidReplicaAssignment,
                   "Replica assignment for partition " + std::to_string(partition) +
                       " must be exactly this broker (" + std::to_string(node_id) + ")");
  }
  return absl::OkStatus();
}

// Partition count and configs of one CreatableTopic, or why it cannot be created.
absl::StatusOr<int32_t> PartitionsToCreate(const CreateTopicsRequest::CreatableTopic& t, const BrokerContext& broker) {
  if (!t.assignments.empty()) {
    if (t.num_partitions != -1 || t.replication_factor != -1) {
      return Invalid(ErrorCode::kInvalidRequest,
                     "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at "
                     "the same time.");
    }
    for (size_t i = 0; i < t.assignments.size(); ++i) {
      const auto& a = t.assignments[i];
      if (a.partition_index != static_cast<int32_t>(i)) {
        return Invalid(ErrorCode::kInvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence");
      }
      if (absl::Status s = CheckAssignment(a.broker_ids, broker.identity.node_id, a.partition_index); !s.ok()) return s;
    }
    return static_cast<int32_t>(t.assignments.size());
  }
  const int32_t rf = t.replication_factor == -1 ? broker.DefaultReplicationFactor() : t.replication_factor;
  if (rf <= 0) return Invalid(ErrorCode::kInvalidReplicationFactor, "Replication factor must be larger than 0.");
  if (rf > 1) {
    return Invalid(ErrorCode::kInvalidReplicationFactor,
                   "Unable to replicate the partition " + std::to_string(rf) +
                       " time(s): The target replication factor of " + std::to_string(rf) +
                       " cannot be reached because only 1 broker(s) are registered.");
  }
  const int32_t partitions = t.num_partitions == -1 ? broker.DefaultPartitions() : t.num_partitions;
  if (partitions <= 0) return Invalid(ErrorCode::kInvalidPartitions, "Number of partitions must be larger than 0.");
  return partitions;
}

void RegisterCreateTopics(HandlerTable& table, const BrokerContext& broker) {
  table.Add<CreateTopicsRequest, CreateTopicsResponse>(
      CreateTopicsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const CreateTopicsRequest& request) {
        CreateTopicsResponse response;
        std::map<std::string, int> seen;
        for (const auto& t : request.topics) ++seen[t.name];
        for (const auto& t : request.topics) {
          CreateTopicsResponse::CreatableTopicResult& out = response.topics.emplace_back();
          out.name = t.name;
          absl::Status error;
          std::shared_ptr<const Topic> created;
          if (seen[t.name] > 1) {
            error = Invalid(ErrorCode::kInvalidRequest, "Found multiple entries for topic " + t.name);
          } else if (!broker.Permits(ctx, AclOperation::kCreate, ResourceType::kCluster, auth::kClusterResourceName) &&
                     !broker.Authorized(ctx, AclOperation::kCreate, ResourceType::kTopic, t.name)) {
            error = KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kTopicAuthorizationFailed,
                               "Authorization failed.");
          } else {
            absl::StatusOr<int32_t> partitions = PartitionsToCreate(t, broker);
            std::map<std::string, std::string> configs;
            if (partitions.ok()) {
              for (const auto& c : t.configs) {
                if (!c.value.has_value()) {
                  error = Invalid(ErrorCode::kInvalidConfig, "Null value not supported for topic configs: " + c.name);
                  break;
                }
                configs[c.name] = *c.value;
              }
            } else {
              error = partitions.status();
            }
            if (error.ok()) {
              absl::StatusOr<std::shared_ptr<const Topic>> r =
                  broker.topics->Create(t.name, *partitions, configs, request.validate_only);
              if (r.ok()) {
                created = *r;
              } else {
                error = r.status();
              }
            }
          }
          if (!error.ok()) {
            out.error_code = static_cast<int16_t>(ToKafkaError(error, ErrorCode::kInvalidRequest));
            out.error_message = std::string(error.message());
            if (!request.validate_only) {
              broker.AuditAdmin(ctx, "CreateTopics", ResourceType::kTopic, t.name, out.error_code, std::string(error.message()));
            }
            continue;
          }
          if (!request.validate_only) {
            spdlog::info("created topic {} with {} partitions for {}", t.name, created->partitions, ctx.session.peer);
            broker.AuditAdmin(ctx, "CreateTopics", ResourceType::kTopic, t.name, 0,
                              std::to_string(created->partitions) + " partitions");
          }
          out.topic_id = request.validate_only ? protocol::Uuid{} : created->id;
          out.num_partitions = created->partitions;
          out.replication_factor = 1;
          auto& configs = out.configs.emplace();
          for (const DescribedConfig& d : created->configs.Describe()) {
            auto& c = configs.emplace_back();
            c.name = d.name;
            c.value = d.sensitive ? std::nullopt : d.value;
            c.read_only = d.read_only;
            c.config_source = static_cast<int8_t>(d.source);
            c.is_sensitive = d.sensitive;
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterDeleteTopics(HandlerTable& table, const BrokerContext& broker) {
  table.Add<DeleteTopicsRequest, DeleteTopicsResponse>(
      DeleteTopicsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const DeleteTopicsRequest& request) {
        DeleteTopicsResponse response;
        auto remove = [&](std::optional<std::string> name, protocol::Uuid id) {
          DeleteTopicsResponse::DeletableTopicResult& out = response.responses.emplace_back();
          out.name = name;
          out.topic_id = id;
          std::shared_ptr<const Topic> topic;
          if (broker.configs->Effective("delete.topic.enable").value_or("true") != "true") {
            out.error_code = static_cast<int16_t>(ErrorCode::kTopicDeletionDisabled);
            out.error_message = "Topic deletion is disabled.";
            return;
          }
          if (name.has_value() && id != protocol::Uuid{}) {
            out.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
            out.error_message = "Topic name and topic id cannot both be set";
            return;
          }
          topic = name.has_value() ? broker.topics->Find(*name) : broker.topics->FindById(id);
          // Authorization first: whether a topic exists is not told to who may not delete it. DELETE
          // on the cluster deletes any topic, as in Kafka.
          if ((name.has_value() || topic != nullptr) &&
              !broker.Permits(ctx, AclOperation::kDelete, ResourceType::kCluster, auth::kClusterResourceName) &&
              !broker.Authorized(ctx, AclOperation::kDelete, ResourceType::kTopic, topic ? topic->name : *name)) {
            out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
            out.error_message = "Authorization failed.";
            broker.AuditAdmin(ctx, "DeleteTopics", ResourceType::kTopic, topic ? topic->name : *name, out.error_code,
                              *out.error_message);
            return;
          }
          if (topic == nullptr) {
            out.error_code = static_cast<int16_t>(name.has_value() ? ErrorCode::kUnknownTopicOrPartition
                                                                   : ErrorCode::kUnknownTopicId);
            return;
          }
          out.name = topic->name;
          out.topic_id = topic->id;
          if (absl::Status s = broker.topics->Delete(topic->name); !s.ok()) {
            out.error_code = static_cast<int16_t>(ToKafkaError(s));
            out.error_message = std::string(s.message());
            broker.AuditAdmin(ctx, "DeleteTopics", ResourceType::kTopic, topic->name, out.error_code, std::string(s.message()));
            return;
          }
          spdlog::info("deleted topic {} for {}", topic->name, ctx.session.peer);
          broker.AuditAdmin(ctx, "DeleteTopics", ResourceType::kTopic, topic->name, 0, "");
        };
        for (const std::string& name : request.topic_names) remove(name, protocol::Uuid{});
        for (const auto& t : request.topics) remove(t.name, t.topic_id);
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterCreatePartitions(HandlerTable& table, const BrokerContext& broker) {
  table.Add<CreatePartitionsRequest, CreatePartitionsResponse>(
      CreatePartitionsRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const CreatePartitionsRequest& request) {
        CreatePartitionsResponse response;
        std::map<std::string, int> seen;
        for (const auto& t : request.topics) ++seen[t.name];
        for (const auto& t : request.topics) {
          CreatePartitionsResponse::CreatePartitionsTopicResult& out = response.results.emplace_back();
          out.name = t.name;
          absl::Status error;
          if (seen[t.name] > 1) {
            error = Invalid(ErrorCode::kInvalidRequest, "Duplicate topic in request: " + t.name);
          } else if (!broker.Authorized(ctx, AclOperation::kAlter, ResourceType::kTopic, t.name)) {
            error = KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kTopicAuthorizationFailed,
                               "Authorization failed.");
          } else if (std::shared_ptr<const Topic> topic = broker.topics->Find(t.name); topic == nullptr) {
            error = KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                               "The topic '" + t.name + "' does not exist.");
          } else {
            if (t.assignments.has_value()) {
              if (static_cast<int32_t>(t.assignments->size()) != t.count - topic->partitions) {
                error = Invalid(ErrorCode::kInvalidReplicaAssignment,
                                "Increasing the number of partitions by " +
                                    std::to_string(t.count - topic->partitions) + " but " +
                                    std::to_string(t.assignments->size()) + " assignments provided.");
              }
              for (size_t i = 0; error.ok() && i < t.assignments->size(); ++i) {
                error = CheckAssignment((*t.assignments)[i].broker_ids, broker.identity.node_id,
                                        topic->partitions + static_cast<int32_t>(i));
              }
            }
            if (error.ok()) {
              auto grown = broker.topics->AddPartitions(t.name, t.count, request.validate_only);
              if (!grown.ok()) {
                error = grown.status();
              } else if (!request.validate_only) {
                spdlog::info("topic {} now has {} partitions ({})", t.name, t.count, ctx.session.peer);
              }
            }
          }
          if (!error.ok()) {
            out.error_code = static_cast<int16_t>(ToKafkaError(error, ErrorCode::kInvalidRequest));
            out.error_message = std::string(error.message());
          }
          if (!request.validate_only) {
            broker.AuditAdmin(ctx, "CreatePartitions", ResourceType::kTopic, t.name, out.error_code,
                              error.ok() ? std::to_string(t.count) + " partitions" : std::string(error.message()));
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace

void RegisterTopicAdmin(HandlerTable& table, const BrokerContext& broker) {
  RegisterCreateTopics(table, broker);
  RegisterDeleteTopics(table, broker);
  RegisterCreatePartitions(table, broker);
}

}  // namespace chronik::ingest
