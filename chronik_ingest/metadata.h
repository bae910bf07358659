#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// Registers Metadata: the broker, and every requested topic (or all of them) with this broker as
// leader and only replica of every partition. A named topic that does not exist is created with
// the broker's defaults when the request and auto.create.topics.enable allow it.
void RegisterMetadata(HandlerTable& table, const BrokerContext& broker);

}  // namespace chronik::ingest
