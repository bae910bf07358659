#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/partition_events.h"
#include "chronik_ingest/txn_coordinator.h"

namespace chronik::ingest {

// Registers Produce: validates each partition's records (CRC, framing, max.message.bytes),
// up-converts message sets v0/v1 to record batches v2, appends, and answers once every partition
// is durable per its topic's flush policy (acks=1 and acks=all alike: on one broker the leader is
// all of the ISR). acks=0 gets no answer. Appends wake fetches waiting on `events`.
// With `verify` (transaction.partition.verification.enable, KIP-890), a transactional batch is
// appended only to a partition its producer's ongoing transaction holds (INVALID_TXN_STATE).
void RegisterProduce(HandlerTable& table, const BrokerContext& broker, PartitionEvents& events,
                     const TxnCoordinator* verify);

}  // namespace chronik::ingest
