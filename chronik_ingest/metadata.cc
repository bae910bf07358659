#include "chronik_ingest/metadata.h"

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/metadata.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

namespace {

void DescribeTopic(const Topic& topic, int32_t node_id, MetadataResponse::MetadataResponseTopic& out) {
  out.error_code = 0;
  out.name = topic.name;
  out.topic_id = topic.id;
  out.is_internal = false;
  out.partitions.reserve(static_cast<size_t>(topic.partitions));
  for (int32_t p = 0; p < topic.partitions; ++p) {
    MetadataResponse::MetadataResponsePartition& part = out.partitions.emplace_back();
    part.partition_index = p;
    part.leader_id = node_id;
    part.leader_epoch = 0;
    part.replica_nodes = {node_id};
    part.isr_nodes = {node_id};
  }
}

}  // namespace

void RegisterMetadata(HandlerTable& table, const BrokerContext& broker) {
  table.Add<MetadataRequest, MetadataResponse>(
      MetadataRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const MetadataRequest& request) -> absl::StatusOr<MetadataResponse> {
        const int16_t version = ctx.header.api_version;
        // Topic ids in Metadata requests arrived with v12 (v10 and v11 carry the field but Kafka
        // rejects its use), and a null name only makes sense with an id.
        if (request.topics.has_value() && version < 12) {
          for (const MetadataRequest::MetadataRequestTopic& t : *request.topics) {
            if (!t.name.has_value() || t.topic_id != protocol::Uuid{}) {
              return absl::InvalidArgumentError("Metadata v" + std::to_string(version) +
                                                " cannot look topics up by id");
            }
          }
        }
        const BrokerIdentity& id = broker.identity;
        MetadataResponse response;
        MetadataResponse::MetadataResponseBroker& b = response.brokers.emplace_back();
        b.node_id = id.node_id;
        const AdvertisedEndpoint& endpoint = id.AdvertisedFor(ctx.session);
        b.host = endpoint.host;
        b.port = endpoint.port;
        b.rack = id.rack;
        response.cluster_id = id.cluster_id;
        response.controller_id = id.node_id;

        // A null list (v1+) or, in v0, an empty one asks for every topic.
        const bool all = !request.topics.has_value() || (version == 0 && request.topics->empty());
        if (version >= 8 && version <= 10 && request.include_cluster_authorized_operations) {
          response.cluster_authorized_operations =
              broker.AuthorizedOperations(ctx, ResourceType::kCluster, auth::kClusterResourceName);
        }
        auto describe = [&](const Topic& topic, MetadataResponse::MetadataResponseTopic& out) {
          DescribeTopic(topic, id.node_id, out);
          if (version >= 8 && request.include_topic_authorized_operations) {
            out.topic_authorized_operations = broker.AuthorizedOperations(ctx, ResourceType::kTopic, topic.name);
          }
        };
        if (all) {
          // Topics the caller may not describe are left out, silently, as Kafka does.
          for (const auto& topic : broker.topics->List()) {
            if (!broker.Permits(ctx, AclOperation::kDescribe, ResourceType::kTopic, topic->name)) continue;
            describe(*topic, response.topics.emplace_back());
          }
          return response;
        }
        // Before v4 there is no allow_auto_topic_creation: such clients always allowed it.
        const bool may_create = broker.AutoCreateTopics() && (version < 4 || request.allow_auto_topic_creation);
        for (const MetadataRequest::MetadataRequestTopic& t : *request.topics) {
          MetadataResponse::MetadataResponseTopic& out = response.topics.emplace_back();
          out.name = t.name;
          out.topic_id = t.topic_id;
          std::shared_ptr<const Topic> topic =
              t.name.has_value() ? broker.topics->Find(*t.name) : broker.topics->FindById(t.topic_id);
          if (topic == nullptr && !t.name.has_value()) {
            out.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicId);
            continue;
          }
          const std::string name = topic != nullptr ? topic->name : *t.name;
          if (!broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kTopic, name)) {
            out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
            out.topic_id = protocol::Uuid{};
            continue;
          }
          // Creating a topic by asking for it takes CREATE on the cluster or on the topic.
          if (topic == nullptr && may_create &&
              !broker.Permits(ctx, AclOperation::kCreate, ResourceType::kCluster, auth::kClusterResourceName) &&
              !broker.Authorized(ctx, AclOperation::kCreate, ResourceType::kTopic, name)) {
            out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
            continue;
          }
          if (topic == nullptr && may_create) {
            absl::StatusOr<std::shared_ptr<const Topic>> created =
                broker.topics->Create(*t.name, broker.DefaultPartitions(), {}, /*validate_only=*/false);
            if (created.ok()) {
              spdlog::info("auto-created topic {} with {} partitions for {}", *t.name, (*created)->partitions,
                           ctx.session.peer);
              topic = *created;
            } else if (ToKafkaError(created.status()) == ErrorCode::kTopicAlreadyExists) {
              topic = broker.topics->Find(*t.name);  // created concurrently by another request
            } else {
              out.error_code = static_cast<int16_t>(ToKafkaError(created.status()));
              continue;
            }
          }
          if (topic == nullptr) {
            out.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
            continue;
          }
          describe(*topic, out);
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace chronik::ingest
