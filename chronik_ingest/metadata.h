#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// How this broker describes itself to clients.
struct BrokerIdentity {
  int32_t node_id = 1;
  std::string advertised_host;
  int32_t advertised_port = 9092;
  std::optional<std::string> rack;
  std::string cluster_id;
};

// Registers Metadata. Until topics are stored, every named topic is answered with
// UNKNOWN_TOPIC_OR_PARTITION (or UNKNOWN_TOPIC_ID when asked for by id) and a request for all
// topics gets an empty list.
void RegisterMetadata(HandlerTable& table, const BrokerIdentity& broker);

}  // namespace chronik::ingest
