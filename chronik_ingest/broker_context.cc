#include "chronik_ingest/broker_context.h"

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/apis.h"
#include "chronik_protocol/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {

const AdvertisedEndpoint& BrokerIdentity::AdvertisedFor(const Session& session) const {
  static const AdvertisedEndpoint kNone{"", -1};
  auto it = advertised.find(session.listener_name);
  return it != advertised.end() ? it->second : kNone;
}

namespace {

int64_t IntSetting(const BrokerConfigValues* configs, const char* name, int64_t fallback) {
  return configs == nullptr ? fallback : configs->EffectiveInt(name, fallback);
}

}  // namespace

int32_t BrokerContext::DefaultPartitions() const {
  return static_cast<int32_t>(IntSetting(configs, "num.partitions", 1));
}

int16_t BrokerContext::DefaultReplicationFactor() const {
  return static_cast<int16_t>(IntSetting(configs, "default.replication.factor", 1));
}

bool BrokerContext::AutoCreateTopics() const {
  if (configs == nullptr) return true;
  std::optional<std::string> v = configs->Effective("auto.create.topics.enable");
  return !v.has_value() || *v == "true";
}

bool BrokerContext::Authorized(const RequestContext& ctx, AclOperation op, ResourceType type,
                               std::string_view name) const {
  if (authorizer == nullptr) return true;
  if (authorizer->Authorize(ctx.session.principal, ctx.session.host, op, type, name)) return true;
  ReportDenial(ctx, op, type, name);
  return false;
}

void BrokerContext::ReportDenial(const RequestContext& ctx, AclOperation op, ResourceType type,
                                 std::string_view name) const {
  spdlog::info("authorization denied: {} from {} may not {} {} \"{}\" ({} v{})", ctx.session.principal,
               ctx.session.host, std::string(auth::AclOperationName(op)), std::string(auth::ResourceTypeName(type)),
               std::string(name), protocol::FindApi(ctx.header.api_key) != nullptr
                                      ? std::string(protocol::FindApi(ctx.header.api_key)->name)
                                      : std::to_string(ctx.header.api_key),
               ctx.header.api_version);
  if (on_denied) on_denied(ctx, op, type, name);
}

bool BrokerContext::Permits(const RequestContext& ctx, AclOperation op, ResourceType type,
                            std::string_view name) const {
  return authorizer == nullptr || authorizer->Authorize(ctx.session.principal, ctx.session.host, op, type, name);
}

bool BrokerContext::AuthorizedAny(const RequestContext& ctx, AclOperation op, ResourceType type) const {
  if (authorizer == nullptr) return true;
  if (authorizer->AuthorizeAny(ctx.session.principal, ctx.session.host, op, type)) return true;
  ReportDenial(ctx, op, type, "*");  // no resource of the type: reported as "*"
  return false;
}

int32_t BrokerContext::AuthorizedOperations(const RequestContext& ctx, ResourceType type,
                                            std::string_view name) const {
  int32_t bits = 0;
  for (AclOperation op : auth::OperationsOf(type)) {
    // Asking is not an attempt: no denial is logged for the bits left out.
    if (Permits(ctx, op, type, name)) {
      bits |= int32_t{1} << static_cast<int>(op);
    }
  }
  return bits;
}

absl::StatusOr<std::shared_ptr<storage::PartitionLog>> BrokerContext::Partition(const RequestContext& ctx,
                                                                                AclOperation op,
                                                                                std::string_view topic,
                                                                                int32_t partition) const {
  if (!Authorized(ctx, op, ResourceType::kTopic, topic)) {
    return KafkaError(absl::StatusCode::kPermissionDenied, protocol::ErrorCode::kTopicAuthorizationFailed,
                      "Not authorized to access topics: [" + std::string(topic) + "]");
  }
  std::shared_ptr<storage::PartitionLog> log = topics->Log(topic, partition);
  if (log == nullptr) {
    return KafkaError(absl::StatusCode::kNotFound, protocol::ErrorCode::kUnknownTopicOrPartition,
                      "This server does not host this topic-partition.");
  }
  return log;
}

}  // namespace chronik::ingest
