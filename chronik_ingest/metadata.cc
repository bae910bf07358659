#include "chronik_ingest/metadata.h"

#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/metadata.h"

namespace chronik::ingest {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

void RegisterMetadata(HandlerTable& table, const BrokerIdentity& broker) {
  table.Add<MetadataRequest, MetadataResponse>(
      MetadataRequest::kMaxVersion, [broker](const RequestContext&, const MetadataRequest& request) {
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
