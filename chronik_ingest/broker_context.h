#pragma once

// What handlers share about the broker they run in.

#include <cstdint>
#include <optional>
#include <string>

#include "chronik_ingest/configs.h"
#include "chronik_ingest/topic_registry.h"

namespace chronik::ingest {

// How this broker describes itself to clients.
struct BrokerIdentity {
  int32_t node_id = 1;
  std::string advertised_host;
  int32_t advertised_port = 9092;
  std::optional<std::string> rack;
  std::string cluster_id;
};

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
};

}  // namespace chronik::ingest
