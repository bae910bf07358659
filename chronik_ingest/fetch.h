#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/partition_events.h"

namespace chronik::ingest {

// Registers Fetch: whole batches from each partition's fetch offset up to its high watermark,
// within partition_max_bytes and max_bytes (the first batch is returned even when larger, as in
// Kafka), waiting up to max_wait_ms for min_bytes without polling (an append wakes the fetch).
// Fetch v0-v3 clients get message sets v0/v1, which is all they can read. Fetch sessions are
// not kept: every answer has session id 0, which tells clients to send full fetches.
void RegisterFetch(HandlerTable& table, const BrokerContext& broker, PartitionEvents& events);

}  // namespace chronik::ingest
