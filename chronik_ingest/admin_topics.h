#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// Registers CreateTopics, DeleteTopics and CreatePartitions over the topic registry, with
// Kafka's per-topic errors (one broker: replication factor 1, every replica on this node).
void RegisterTopicAdmin(HandlerTable& table, const BrokerContext& broker);

}  // namespace chronik::ingest
