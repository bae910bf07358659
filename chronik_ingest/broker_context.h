#pragma once

// What handlers share about the broker they run in.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "chronik_auth/acl.h"
#include "chronik_ingest/configs.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/topic_registry.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/tiered/remote_log.h"

namespace chronik::ingest {

class DynamicBrokerConfigs;

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

using auth::AclOperation;
using auth::ResourceType;

// Told of every authorization denial (the audit log).
using DenialListener = std::function<void(const RequestContext& ctx, AclOperation op, ResourceType type,
                                          std::string_view name)>;

struct BrokerContext {
  BrokerIdentity identity;
  const BrokerConfigValues* configs = nullptr;
  // Broker configs altered while running (AlterConfigs on BROKER); null: none can be.
  DynamicBrokerConfigs* dynamic_configs = nullptr;
  TopicRegistry* topics = nullptr;
  // Tiered storage; null unless remote.log.storage.system.enable.
  storage::tiered::RemoteLogManager* remote = nullptr;
  // The one log directory, absolute, as DescribeLogDirs reports it.
  std::string log_dir;
  // Null without authorizer.class.name: then, as in Kafka, every request is allowed.
  const auth::Authorizer* authorizer = nullptr;
  DenialListener on_denied;
  // Told of every administrative change a request attempted (topics, partitions, configs, ACLs,
  // users, groups and records deleted), with its outcome: the audit log.
  using AdminListener = std::function<void(const RequestContext& ctx, std::string_view action, ResourceType type,
                                           std::string_view name, int16_t error_code, std::string_view detail)>;
  AdminListener on_admin;
  // Told of records accepted by Produce for a topic (before they are durable), and of records
  // durably stored: the traffic metrics. Called on handler and flusher threads; must be cheap.
  std::function<void(std::string_view topic, int64_t records, int64_t bytes)> on_produced;
  std::function<void(std::string_view topic, int64_t records)> on_stored;

  // The remote copy's offsets of `tp`; empty without tiered storage.
  storage::tiered::RemoteLogManager::Bounds RemoteBounds(const storage::TopicPartition& tp) const {
    return remote != nullptr ? remote->RemoteBounds(tp) : storage::tiered::RemoteLogManager::Bounds{};
  }

  void AuditAdmin(const RequestContext& ctx, std::string_view action, ResourceType type, std::string_view name,
                  int16_t error_code, std::string_view detail = "") const {
    if (on_admin) on_admin(ctx, action, type, name, error_code, detail);
  }

  // The one authorization hook every handler goes through: whether `ctx`'s principal, from its
  // host, may do `op` to the resource. A denial is logged and told to on_denied.
  bool Authorized(const RequestContext& ctx, AclOperation op, ResourceType type, std::string_view name) const;
  // The same question where a "no" is not a denial (a filter, or one of two alternatives): nothing
  // is logged.
  bool Permits(const RequestContext& ctx, AclOperation op, ResourceType type, std::string_view name) const;
  bool AuthorizedCluster(const RequestContext& ctx, AclOperation op) const {
    return Authorized(ctx, op, ResourceType::kCluster, auth::kClusterResourceName);
  }
  // Whether it may do `op` to some resource of `type` (an idempotent producer's WRITE to a topic).
  bool AuthorizedAny(const RequestContext& ctx, AclOperation op, ResourceType type) const;
  // Kafka's authorized-operations bit set of a resource (bit n: AclOperation n), for Metadata,
  // DescribeGroups and DescribeCluster.
  int32_t AuthorizedOperations(const RequestContext& ctx, ResourceType type, std::string_view name) const;

 private:
  // Logs a denial and tells on_denied.
  void ReportDenial(const RequestContext& ctx, AclOperation op, ResourceType type, std::string_view name) const;

 public:

  // Broker settings handlers consult (num.partitions, auto.create.topics.enable, ...).
  int32_t DefaultPartitions() const;
  int16_t DefaultReplicationFactor() const;
  bool AutoCreateTopics() const;

  // The one way a topic/partition handler (Produce, Fetch, ListOffsets, DeleteRecords,
  // OffsetForLeaderEpoch) reaches a partition: `ctx`'s principal authorized to do `op` to `topic`,
  // then the partition's log. An error carries the Kafka code that answers for the partition
  // (TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION).
  absl::StatusOr<std::shared_ptr<storage::PartitionLog>> Partition(const RequestContext& ctx, AclOperation op,
                                                                   std::string_view topic, int32_t partition) const;
};

}  // namespace chronik::ingest
