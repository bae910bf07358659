#pragma once

#include "chronik_ingest/handler_table.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/api_versions.h"

namespace chronik::ingest {

// The ApiVersions answer, derived from the handler table.
protocol::ApiVersionsResponse BuildApiVersionsResponse(const HandlerTable& table, protocol::ErrorCode error);

// Registers ApiVersions in `table`; the handler reads the table when it answers, so it lists
// every API registered before or after it.
void RegisterApiVersions(HandlerTable& table);

}  // namespace chronik::ingest
