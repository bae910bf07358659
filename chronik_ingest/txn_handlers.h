#pragma once

#include <cstdint>
#include <functional>

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/txn_coordinator.h"
#include "chronik_protocol/errors.h"

namespace chronik::ingest {

// Registers AddPartitionsToTxn (0-5, the batched v4+ form with VerifyOnly included),
// AddOffsetsToTxn, EndTxn and TxnOffsetCommit over the transaction coordinator (they may write
// the metadata store or wait for markers to be durable: they run on the blocking pool), and the
// tooling APIs of KIP-664 that kafka-transactions uses: DescribeProducers (a partition's
// producers and open transactions), DescribeTransactions and ListTransactions.
void RegisterTxnApis(HandlerTable& table, const BrokerContext& broker, TxnCoordinator& txns,
                     std::function<int64_t()> now_ms);

// A fenced producer learns it by PRODUCER_FENCED since KIP-588; request versions from before it
// get INVALID_PRODUCER_EPOCH, as Kafka answers them.
protocol::ErrorCode FencedForVersion(protocol::ErrorCode code, int16_t version, int16_t first_fenced_version);

}  // namespace chronik::ingest
