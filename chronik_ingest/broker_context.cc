#include "chronik_ingest/broker_context.h"


namespace chronik::ingest {
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

}  // namespace chronik::ingest
