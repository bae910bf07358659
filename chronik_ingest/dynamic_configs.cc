#include "chronik_ingest/dynamic_configs.h"

#include <set>

#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

constexpr std::string_view kDefaultPrefix = "default/";
constexpr std::string_view kBrokerPrefix = "broker/";

}  // namespace

std::string DynamicBrokerConfigs::StoreKey(BrokerConfigLayer layer, std::string_view name) {
  return std::string(layer == BrokerConfigLayer::kDynamicDefault ? kDefaultPrefix : kBrokerPrefix) + std::string(name);
}

absl::Status DynamicBrokerConfigs::Register(std::string_view name, Applier apply) {
  if (loaded_) return absl::FailedPreconditionError("broker configs are registered before they are loaded");
  const ConfigDef* def = FindBrokerConfig(name);
  if (def == nullptr || def->read_only || def->type == ConfigType::kList) {
    return absl::InvalidArgumentError(std::string(name) + " is not a broker config that can be altered while running");
  }
  appliers_.insert_or_assign(std::string(name), std::move(apply));
  return absl::OkStatus();
}

absl::Status DynamicBrokerConfigs::Load() {
  absl::MutexLock alter_lock(&alter_mu_);
  std::map<std::string, std::optional<std::string>, std::less<>> effective;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, value] : store_.Scan(kNamespace)) {
      BrokerConfigLayer layer = BrokerConfigLayer::kDynamicBroker;
      std::string_view name = key;
      if (name.starts_with(kDefaultPrefix)) {
        layer = BrokerConfigLayer::kDynamicDefault;
        name.remove_prefix(kDefaultPrefix.size());
      } else if (name.starts_with(kBrokerPrefix)) {
        name.remove_prefix(kBrokerPrefix.size());
      } else {
        name = {};
      }
      // A value this broker does not take (written by another version) stays stored for that one.
      if (absl::Status s = name.empty() ? absl::InvalidArgumentError("not a layer's key")
                                        : values_.SetDynamic(layer, name, value);
          !s.ok()) {
        spdlog::warn("dynamic broker configs: ignored the stored {} = {}: {}", key, value, std::string(s.message()));
        continue;
      }
      if (appliers_.count(name) == 0) {
        spdlog::warn("dynamic broker configs: {} = {} is kept but has no effect while its part of the broker is off",
                     key, value);
      }
    }
    for (const auto& [name, apply] : appliers_) effective[name] = values_.Effective(name);
  }
  loaded_ = true;
  for (const auto& [name, apply] : appliers_) apply(effective[name]);
  return absl::OkStatus();
}

absl::Status DynamicBrokerConfigs::Alter(BrokerConfigLayer layer,
                                         const std::map<std::string, std::optional<std::string>>& changes,
                                         bool replace_layer, bool validate_only) {
  if (layer == BrokerConfigLayer::kStatic) return absl::InternalError("the static layer is not altered while running");
  // One alteration at a time, each stored before it is applied; readers only wait for the swap.
  absl::MutexLock alter_lock(&alter_mu_);
  BrokerConfigValues next = [&] {
    absl::MutexLock lock(&mu_);
    return values_;
  }();
  std::string not_dynamic;
  for (const auto& [name, value] : changes) {
    if (FindBrokerConfig(name) == nullptr) return absl::FailedPreconditionError("Unknown broker config name: " + name);
    // Deleting is always allowed, as in Kafka: a value stored while its part of the broker was on
    // may go while it is off, and deleting what is not there changes nothing.
    if (appliers_.count(name) == 0 && value.has_value()) not_dynamic += (not_dynamic.empty() ? "" : ", ") + name;
  }
  if (!not_dynamic.empty()) {
    return absl::FailedPreconditionError("Cannot update these configs dynamically: Set(" + not_dynamic + ")");
  }
  std::set<std::string> touched;
  for (const auto& [name, value] : changes) touched.insert(name);
  if (replace_layer) {
    for (std::string& name : next.NamesAt(layer)) touched.insert(std::move(name));
  }
  std::map<std::string, std::optional<std::string>> before;
  std::vector<storage::MetadataOp> ops;
  for (const std::string& name : touched) {
    before[name] = next.Effective(name);
    const std::optional<std::string> was_stored = next.Get(layer, name);
    const auto change = changes.find(name);
    std::optional<std::string_view> value;
    if (change != changes.end() && change->second.has_value()) value = *change->second;
    if (absl::Status s = next.SetDynamic(layer, name, value); !s.ok()) {
      return absl::InvalidArgumentError("Invalid config value for " + name + ": " + std::string(s.message()));
    }
    const std::optional<std::string> stored = next.Get(layer, name);
    if (stored == was_stored) continue;
    ops.push_back(stored ? storage::MetadataOp::Put(kNamespace, StoreKey(layer, name), *stored)
                         : storage::MetadataOp::Delete(kNamespace, StoreKey(layer, name)));
  }
  if (validate_only || ops.empty()) return absl::OkStatus();
  if (absl::StatusOr<int64_t> stored = store_.Apply(std::move(ops)); !stored.ok()) {
    return absl::InternalError("storing the broker configs: " + std::string(stored.status().message()));
  }
  {
    absl::MutexLock lock(&mu_);
    values_ = next;
  }
  for (const std::string& name : touched) {
    const std::optional<std::string> now = next.Effective(name);
    spdlog::info("broker config {} is now {} ({} altered)", name, now.value_or("null"),
                 layer == BrokerConfigLayer::kDynamicDefault ? "cluster default" : "this broker's");
    // Only a change of the value in effect reaches its part of the broker (a waiting copy would
    // start its wait over).
    const auto apply = appliers_.find(name);
    if (apply != appliers_.end() && now != before[name]) apply->second(now);
  }
  return absl::OkStatus();
}

std::vector<DescribedConfig> DynamicBrokerConfigs::Describe(bool per_broker) const {
  absl::MutexLock lock(&mu_);
  return values_.Describe(per_broker);
}

std::optional<std::string> DynamicBrokerConfigs::Effective(std::string_view name) const {
  absl::MutexLock lock(&mu_);
  return values_.Effective(name);
}

}  // namespace chronik::ingest
