#pragma once

// CreateAcls, DescribeAcls and DeleteAcls (v0-3): the authorizer's ACLs managed by kafka-acls and
// the AdminClient. Without an authorizer (authorizer.class.name unset) they answer
// SECURITY_DISABLED, as Kafka does.

#include "chronik_auth/acl.h"
#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

void RegisterAclApis(HandlerTable& table, const BrokerContext& broker, auth::Authorizer* authorizer);

}  // namespace chronik::ingest
