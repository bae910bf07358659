#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/partition_events.h"

namespace chronik::ingest {

// Registers Produce: validates each partition's records (CRC, framing, max.message.bytes),
// up-converts message sets v0/v1 to record batches v2, appends, and answers once every partition
// is durable per its topic's flush policy (acks=1 and acks=all alike: on one broker the leader is
// all of the ISR). acks=0 gets no answer. Appends wake fetches waiting on `events`.
void RegisterProduce(HandlerTable& table, const BrokerContext& broker, PartitionEvents& events);

}  // namespace chronik::ingest
