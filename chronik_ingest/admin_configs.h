#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// Registers DescribeConfigs (topics and this broker), AlterConfigs and IncrementalAlterConfigs
// (topics; changes are validated, persisted with the topic and applied to its logs at once).
// Broker configs are set at start-up: altering them is refused with INVALID_REQUEST.
void RegisterConfigAdmin(HandlerTable& table, const BrokerContext& broker);

}  // namespace chronik::ingest
