#include "chronik_ingest/dynamic_configs.h"

#include <set>

#include "absl/strings/str_cat.h"
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
  const ConfigDef* def = FindBrokerConfig(name);
  if (def == nullptr || def->read_only || def->type == ConfigType::kList) {
    return absl::InvalidArgumentError(std::string(name) + " is not a broker config that can be altered while running");
  }
  appliers_.insert_or_assign(std::string(name), std::move(apply));
  return absl::OkStatus();
}

absl::Status DynamicBrokerConfigs::Load() {
  absl::MutexLock lock(&mu_);
  for (const auto& [key, value] : store_.Scan(kNamespace)) {
    BrokerConfigLayer layer;
    std::string_view name = key;
    if (name.starts_with(kDefaultPrefix)) {
      layer = BrokerConfigLayer::kDynamicDefault;
      name.remove_prefix(kDefaultPrefix.size());
    } else if (name.starts_with(kBrokerPrefix)) {
      layer = BrokerConfigLayer::kDynamicBroker;
      name.remove_prefix(kBrokerPrefix.size());
    } else {
      spdlog::warn("dynamic broker configs: ignored the stored key {}", key);
      continue;
    }
    if (absl::Status s = values_.SetDynamic(layer, name, value); !s.ok()) {
      spdlog::warn("dynamic broker configs: ignored the stored {} = {}: {}", key, value, std::string(s.message()));
      continue;
    }
    if (appliers_.count(name) == 0) {
      spdlog::warn("dynamic broker configs: {} = {} is kept but has no effect while its part of the broker is off",
                   key, value);
    }
  }
  for (const auto& [name, apply] : appliers_) apply(values_.Effective(name));
  return absl::OkStatus();
}

absl::Status DynamicBrokerConfigs::Alter(BrokerConfigLayer layer,
                                         const std::map<std::string, std::optional<std::string>>& changes,
                                         bool replace_layer, bool validate_only) {
  if (layer == BrokerConfigLayer::kStatic) return absl::InternalError("the static layer is not altered while running");
  for (const auto& [name, value] : changes) {
    const ConfigDef* def = FindBrokerConfig(name);
    if (def == nullptr) return absl::FailedPreconditionError("Unknown broker config name: " + name);
    if (appliers_.count(name) == 0) {
      return absl::FailedPreconditionError("Cannot update these configs dynamically: Set(" + name + ")");
    }
    if (value.has_value()) {
      if (absl::StatusOr<std::string> normalized = NormalizeConfigValue(*def, *value); !normalized.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("Invalid value ", *value, " for configuration ", name, ": ", normalized.status().message()));
      }
    }
  }
  if (validate_only) return absl::OkStatus();

  // One alteration at a time, each stored before it is applied; readers only wait for the swap.
  absl::MutexLock alter_lock(&alter_mu_);
  BrokerConfigValues next = [&] {
    absl::MutexLock lock(&mu_);
    return values_;
  }();
  std::set<std::string> touched;
  for (const auto& [name, value] : changes) touched.insert(name);
  if (replace_layer) {
    for (const DescribedConfig& d : next.Describe(/*per_broker=*/true)) {
      if (changes.count(d.name) == 0 && next.Get(layer, d.name).has_value()) touched.insert(d.name);
    }
  }
  std::vector<storage::MetadataOp> ops;
  for (const std::string& name : touched) {
    const auto change = changes.find(name);
    std::optional<std::string_view> value;
    if (change != changes.end() && change->second.has_value()) value = *change->second;
    if (absl::Status s = next.SetDynamic(layer, name, value); !s.ok()) return s;
    const std::optional<std::string> stored = next.Get(layer, name);
    ops.push_back(stored ? storage::MetadataOp::Put(kNamespace, StoreKey(layer, name), *stored)
                         : storage::MetadataOp::Delete(kNamespace, StoreKey(layer, name)));
  }
  if (ops.empty()) return absl::OkStatus();
  if (absl::StatusOr<int64_t> stored = store_.Apply(std::move(ops)); !stored.ok()) return stored.status();
  {
    absl::MutexLock lock(&mu_);
    values_ = next;
  }
  for (const std::string& name : touched) {
    const auto apply = appliers_.find(name);
    if (apply != appliers_.end()) apply->second(next.Effective(name));
    spdlog::info("broker config {} is now {} ({})", name, next.Effective(name).value_or("null"),
                 layer == BrokerConfigLayer::kDynamicDefault ? "cluster default" : "this broker");
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
