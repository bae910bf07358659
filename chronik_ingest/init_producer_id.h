#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/producer_ids.h"
#include "chronik_ingest/txn_coordinator.h"

namespace chronik::ingest {

// InitProducerId (v0-5). Without a transactional id: a fresh producer id at epoch 0 each time (as
// Kafka gives an idempotent producer). With one: the transaction coordinator's producer id and
// bumped epoch (see TxnCoordinator::InitProducerId).
void RegisterInitProducerId(HandlerTable& table, const BrokerContext& broker, ProducerIdManager& ids,
                            TxnCoordinator& txns);

}  // namespace chronik::ingest
