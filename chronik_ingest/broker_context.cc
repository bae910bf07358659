#include "chronik_ingest/broker_context.h"

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"

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

absl::StatusOr<std::shared_ptr<storage::PartitionLog>> BrokerContext::Partition(const RequestContext&, AclOperation,
                                                                                std::string_view topic,
                                                                                int32_t partition) const {
  std::shared_ptr<storage::PartitionLog> log = topics->Log(topic, partition);
  if (log == nullptr) {
    return KafkaError(absl::StatusCode::kNotFound, protocol::ErrorCode::kUnknownTopicOrPartition,
                      "This server does not host this topic-partition.");
  }
  return log;
}

}  // namespace chronik::ingest
