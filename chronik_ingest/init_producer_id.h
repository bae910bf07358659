#pragma once

#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/producer_ids.h"

namespace chronik::ingest {

// InitProducerId (v0-5) for idempotent producers: a fresh producer id at epoch 0 each time (as
// Kafka gives a producer without a transactional id). Transactional ids get
// COORDINATOR_NOT_AVAILABLE, as FindCoordinator answers for transactions, until the transaction
// coordinator exists.
void RegisterInitProducerId(HandlerTable& table, ProducerIdManager& ids);

}  // namespace chronik::ingest
