#pragma once

// Broker configs altered while the broker runs, as Kafka's dynamic broker configs: AlterConfigs
// and IncrementalAlterConfigs on the BROKER resource, for the cluster-wide default ("") or for
// this broker (its id). A config may be set only once the part of the broker it governs has said
// how to take a new value (Register); any other is refused. The values are kept in the metadata
// store (so backups carry them) and applied again at start; one stored while its part of the
// broker was on stays while it is off (described, without effect) until deleted.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "chronik_ingest/configs.h"
#include "chronik_storage/metadata_store.h"

namespace chronik::ingest {

class DynamicBrokerConfigs {
 public:
  static constexpr char kNamespace[] = "broker_configs";

  // Told a config's new effective value: this broker's dynamic value, else the cluster default,
  // else the static one, else the table's default.
  using Applier = std::function<void(const std::optional<std::string>& effective)>;

  // `values` holds the static layer; the dynamic layers come from `store` at Load.
  DynamicBrokerConfigs(BrokerConfigValues values, storage::MetadataStore& store)
      : values_(std::move(values)), store_(store) {}

  // Before Load (FailedPrecondition after). `name` must be a broker config that Kafka updates
  // dynamically, and not a list.
  absl::Status Register(std::string_view name, Applier apply);

  // Takes the stored values into the dynamic layers (one this broker does not take is logged,
  // ignored and left stored), then applies each registered config's effective value.
  absl::Status Load();

  // One resource's changes at `layer` (kDynamicBroker or kDynamicDefault): a value sets, nullopt
  // deletes. `replace_layer` is AlterConfigs' meaning: every other value at that layer goes too.
  // InvalidArgument for a value the config does not take, FailedPrecondition for an unknown
  // config or one that cannot be set here (both INVALID_REQUEST, as in Kafka), Internal when the
  // store fails. Deleting a known config is always allowed.
  // Nothing changes unless all are valid; an applier hears only of a changed effective value.
  absl::Status Alter(BrokerConfigLayer layer, const std::map<std::string, std::optional<std::string>>& changes,
                     bool replace_layer, bool validate_only);

  // BrokerConfigValues::Describe of the current values.
  std::vector<DescribedConfig> Describe(bool per_broker) const;
  std::optional<std::string> Effective(std::string_view name) const;

 private:
  static std::string StoreKey(BrokerConfigLayer layer, std::string_view name);

  absl::Mutex alter_mu_;  // held across an alteration's write to the store
  mutable absl::Mutex mu_;
  BrokerConfigValues values_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Applier, std::less<>> appliers_;  // set before Load, read-only after
  bool loaded_ = false;
  storage::MetadataStore& store_;
};

}  // namespace chronik::ingest
