#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// Registers FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
// OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and OffsetDelete over the coordinator.
// This broker coordinates every group; it coordinates no transactions.
void RegisterGroupApis(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups);

}  // namespace chronik::ingest
