#pragma once

// What handlers share about the broker they run in.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "chronik_ingest/configs.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/topic_registry.h"
#include "chronik_storage/partition_log.h"

namespace chronik::ingest {

struct AdvertisedEndpoint {
  std::string host;
  int32_t port = 9092;
};

// How this broker describes itself to clients.
struct BrokerIdentity {
  int32_t node_id = 1;
  // By listener name: a client is told the endpoint of the listener it came in on.
  std::map<std::string, AdvertisedEndpoint> advertised;
  std::optional<std::string> rack;
  std::string cluster_id;

  // The endpoint of the listener `session` came in on.
  const AdvertisedEndpoint& AdvertisedFor(const Session& session) const;
};

// What a request does to a resource, in Kafka's ACL terms (AclOperation).
enum class AclOperation { kRead, kWrite, kCreate, kDelete, kAlter, kDescribe, kDescribeConfigs, kAlterConfigs };

struct BrokerContext {
  BrokerIdentity identity;
  const BrokerConfigValues* configs = nullptr;
  TopicRegistry* topics = nullptr;
  // The one log directory, absolute, as DescribeLogDirs reports it.
  std::string log_dir;

  // Broker settings handlers consult (num.partitions, auto.create.topics.enable, ...).
  int32_t DefaultPartitions() const;
  int16_t DefaultReplicationFactor() const;
  bool AutoCreateTopics() const;

  // The one way a topic/partition handler (Produce, Fetch, ListOffsets, DeleteRecords,
  // OffsetForLeaderEpoch) reaches a partition: `ctx`'s principal doing `op` to `topic` (where the
  // authorizer will check TOPIC ACLs, once it exists), then the partition's log. An error carries
  // the Kafka code that answers for the partition (UNKNOWN_TOPIC_OR_PARTITION).
  absl::StatusOr<std::shared_ptr<storage::PartitionLog>> Partition(const RequestContext& ctx, AclOperation op,
                                                                   std::string_view topic, int32_t partition) const;
};

}  // namespace chronik::ingest
