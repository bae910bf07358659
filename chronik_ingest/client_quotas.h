#pragma once

// DescribeClientQuotas (KIP-546). Chronik enforces no client quotas, so a valid filter matches no
// entity and the answer is empty, which is what kafka-configs --describe --entity-type users shows
// beside a user's SCRAM credentials. AlterClientQuotas is not served: a quota set there would do
// nothing.

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

void RegisterDescribeClientQuotas(HandlerTable& table, const BrokerContext& broker);

}  // namespace chronik::ingest
