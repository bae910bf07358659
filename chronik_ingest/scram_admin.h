#pragma once

// DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554): SCRAM users managed by
// kafka-configs --entity-type users and the AdminClient, kept in chronik_auth's credential store.

#include "chronik_auth/credential_store.h"
#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/handler_table.h"

namespace chronik::ingest {

void RegisterScramAdmin(HandlerTable& table, const BrokerContext& broker, auth::CredentialStore& credentials);

}  // namespace chronik::ingest
