#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// Registers what admin tools and clients ask of partitions and the cluster beyond data:
// DeleteRecords, OffsetForLeaderEpoch (every batch is written in leader epoch 0 on one broker),
// DescribeLogDirs and DescribeCluster.
void RegisterPartitionAdmin(HandlerTable& table, const BrokerContext& broker);

}  // namespace chronik::ingest
