#include "chronik_ingest/metadata.h"

#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/metadata.h"

namespace chronik::ingest {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

void RegisterMetadata(HandlerTable& table, const BrokerIdentity& broker) {
  table.Add<MetadataRequest, MetadataResponse>(
      MetadataRequest::kMaxVersion,
      [broker](const RequestContext& ctx, const MetadataRequest& request) -> absl::StatusOr<MetadataResponse> {
        // Topic ids in Metadata requests arrived with v12 (v10 and v11 carry the field but Kafka
        // rejects its use), and a null name only makes sense with an id.
        if (request.topics.has_value() && ctx.header.api_version < 12) {
          for (const MetadataRequest::MetadataRequestTopic& t : *request.topics) {
            if (!t.name.has_value() || t.topic_id != protocol::Uuid{}) {
              return absl::InvalidArgumentError("Metadata v" + std::to_string(ctx.header.api_version) +
                                                " cannot look topics up by id");
            }
          }
        }
        MetadataResponse response;
        MetadataResponse::MetadataResponseBroker& b = response.brokers.emplace_back();
        b.node_id = broker.node_id;
        b.host = broker.advertised_host;
        b.port = broker.advertised_port;
        b.rack = broker.rack;
        response.cluster_id = broker.cluster_id;
        response.controller_id = broker.node_id;
        // A null list (v1+) or, in v0, an empty one asks for every topic: there are none yet.
        if (request.topics.has_value()) {
          for (const MetadataRequest::MetadataRequestTopic& t : *request.topics) {
            MetadataResponse::MetadataResponseTopic& out = response.topics.emplace_back();
            out.name = t.name;
            out.topic_id = t.topic_id;
            out.error_code = static_cast<int16_t>(t.name.has_value() ? ErrorCode::kUnknownTopicOrPartition
                                                                     : ErrorCode::kUnknownTopicId);
          }
        }
        return response;
      });
}

}  // namespace chronik::ingest
