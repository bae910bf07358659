#pragma once

#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

// Registers ListOffsets: earliest (-2), latest (-1), max timestamp (-3) and by timestamp, from
// the partition logs and their time indexes. "Latest" is the high watermark (with no
// transactions the last stable offset is the same).
void RegisterListOffsets(HandlerTable& table, const BrokerContext& broker);

}  // namespace chronik::ingest
