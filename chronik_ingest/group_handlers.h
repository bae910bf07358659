#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/txn_coordinator.h"

namespace chronik::ingest {

// Registers FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
// OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and OffsetDelete over the coordinator.
// This broker coordinates every group (and every transaction: see txn_handlers.h). OffsetFetch
// asks `txns` whether an open transaction holds an offset (require_stable).
void RegisterGroupApis(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups,
                       const TxnCoordinator& txns);

}  // namespace chronik::ingest
