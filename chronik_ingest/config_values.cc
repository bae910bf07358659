#include "chronik_ingest/configs.h"

// BrokerConfigValues and TopicConfigSet: a broker's config values by layer, and a topic's
// overrides over them (the tables and value rules are in configs.cc).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "chronik_ingest/config_text.h"

namespace chronik::ingest {
namespace {

using config_text::JavaTrim;
using config_text::ParseJavaInteger;
using config_text::ParseJavaDouble;
using config_text::JavaSplitComma;
using config_text::Join;

[[noreturn]] void Fatal(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "chronik configs: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(name.size()), name.data());
  std::abort();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// BrokerConfigValues

namespace {

constexpr BrokerConfigLayer kLayersByPriority[] = {
    BrokerConfigLayer::kDynamicBroker, BrokerConfigLayer::kDynamicDefault,
    BrokerConfigLayer::kStatic};

ConfigSource SourceOf(BrokerConfigLayer layer) {
  switch (layer) {
    case BrokerConfigLayer::kDynamicBroker: return ConfigSource::kDynamicBrokerConfig;
    case BrokerConfigLayer::kDynamicDefault: return ConfigSource::kDynamicDefaultBrokerConfig;
    case BrokerConfigLayer::kStatic: return ConfigSource::kStaticBrokerConfig;
  }
  return ConfigSource::kUnknown;
}

// The broker configs Kafka groups with `name` when describing it (its
// DynamicBrokerConfig.brokerConfigSynonyms): log.retention.{ms,minutes,hours},
// log.roll.{ms,hours}, log.roll.jitter.{ms,hours}, and log.flush.interval.ms with
// log.flush.scheduler.interval.ms (which, described itself, stands alone).
std::vector<std::string_view> BrokerSynonymGroup(std::string_view name) {
  if (name != "log.flush.scheduler.interval.ms") {
    for (const ConfigDef& topic : TopicConfigs()) {
      if (topic.broker_fallbacks.empty()) continue;
      bool member = topic.broker_synonym == name;
      for (const BrokerFallback& f : topic.broker_fallbacks) member = member || f.name == name;
      if (!member) continue;
      std::vector<std::string_view> group = {topic.broker_synonym};
      for (const BrokerFallback& f : topic.broker_fallbacks) group.push_back(f.name);
      return group;
    }
  }
  return {name};
}

std::vector<std::string_view> TopicBrokerGroup(const ConfigDef& topic) {
  std::vector<std::string_view> group;
  if (topic.broker_synonym.empty()) return group;
  group.push_back(topic.broker_synonym);
  for (const BrokerFallback& f : topic.broker_fallbacks) group.push_back(f.name);
  return group;
}

}  // namespace

absl::Status BrokerConfigValues::SetStatic(std::string_view name, std::string_view value) {
  auto& layer = layers_[static_cast<int>(BrokerConfigLayer::kStatic)];
  const ConfigDef* def = FindBrokerConfig(name);
  if (def == nullptr) {
    layer.insert_or_assign(std::string(name), std::string(value));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> normalized = NormalizeConfigValue(*def, value);
  if (!normalized.ok()) return normalized.status();
  layer.insert_or_assign(std::string(name), *std::move(normalized));
  return absl::OkStatus();
}

absl::Status BrokerConfigValues::SetDynamic(BrokerConfigLayer layer, std::string_view name,
                                            std::optional<std::string_view> value) {
  if (layer == BrokerConfigLayer::kStatic) {
    if (value) return SetStatic(name, *value);
    auto& values = layers_[static_cast<int>(layer)];
    const auto it = values.find(name);
    if (it != values.end()) values.erase(it);
    return absl::OkStatus();
  }
  const ConfigDef* def = FindBrokerConfig(name);
  if (def == nullptr) {
    return absl::InvalidArgumentError("Unknown broker config name: " + std::string(name));
  }
  if (def->read_only) {
    return absl::InvalidArgumentError("Cannot update these configs dynamically: Set(" +
                                      std::string(name) + ")");
  }
  auto& values = layers_[static_cast<int>(layer)];
  if (!value) {
    const auto it = values.find(name);
    if (it != values.end()) values.erase(it);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> normalized = NormalizeConfigValue(*def, *value);
  if (!normalized.ok()) return normalized.status();
  values.insert_or_assign(std::string(name), *std::move(normalized));
  return absl::OkStatus();
}

std::vector<std::string> BrokerConfigValues::NamesAt(BrokerConfigLayer l) const {
  std::vector<std::string> names;
  for (const auto& [name, value] : layer(l)) names.push_back(name);
  return names;
}

std::optional<std::string> BrokerConfigValues::Get(BrokerConfigLayer l,
                                                   std::string_view name) const {
  const auto& values = layer(l);
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

int64_t BrokerConfigValues::EffectiveInt(std::string_view name, int64_t fallback) const {
  std::optional<std::string> v = Effective(name);
  int64_t n = 0;
  return v.has_value() && absl::SimpleAtoi(*v, &n) ? n : fallback;
}

std::optional<std::string> BrokerConfigValues::Effective(std::string_view name) const {
  for (BrokerConfigLayer l : kLayersByPriority) {
    if (std::optional<std::string> v = Get(l, name)) return v;
  }
  const ConfigDef* def = FindBrokerConfig(name);
  if (def != nullptr && def->default_value) return std::string(*def->default_value);
  return std::nullopt;
}

std::vector<ConfigSynonymEntry> BrokerConfigValues::Synonyms(
    std::span<const std::string_view> group, std::string_view anchor, bool sensitive) const {
  // Kafka: every layer in priority order, within it every name of the group in order, then
  // the non-null defaults; then everything before the first entry for `anchor` is dropped (so
  // retention.ms shows no synonyms when only log.retention.hours is set).
  std::vector<ConfigSynonymEntry> all;
  const auto add = [&](std::string_view name, std::string_view value, ConfigSource source) {
    all.push_back({std::string(name),
                   sensitive ? std::nullopt : std::optional<std::string>(std::string(value)),
                   source});
  };
  for (BrokerConfigLayer l : kLayersByPriority) {
    for (std::string_view name : group) {
      const auto& values = layer(l);
      const auto it = values.find(name);
      if (it != values.end()) add(name, it->second, SourceOf(l));
    }
  }
  for (std::string_view name : group) {
    const ConfigDef* def = FindBrokerConfig(name);
    if (def != nullptr && def->default_value) {
      add(name, *def->default_value, ConfigSource::kDefaultConfig);
    }
  }
  const auto first = std::find_if(all.begin(), all.end(),
                                  [&](const ConfigSynonymEntry& e) { return e.name == anchor; });
  all.erase(all.begin(), first);
  return all;
}

std::vector<DescribedConfig> BrokerConfigValues::Describe(bool per_broker) const {
  std::vector<DescribedConfig> out;
  const auto& dynamic_default = layer(BrokerConfigLayer::kDynamicDefault);
  for (const ConfigDef& def : BrokerConfigs()) {
    const auto default_it = dynamic_default.find(def.name);
    if (!per_broker && default_it == dynamic_default.end()) continue;
    const std::vector<std::string_view> group = BrokerSynonymGroup(def.name);
    std::vector<ConfigSynonymEntry> synonyms = Synonyms(group, def.name, def.sensitive);
    if (!per_broker) {
      std::erase_if(synonyms, [](const ConfigSynonymEntry& e) {
        return e.source != ConfigSource::kDynamicDefaultBrokerConfig;
      });
    }
    DescribedConfig entry;
    entry.name = std::string(def.name);
    if (!def.sensitive) {
      entry.value = per_broker ? Effective(def.name) : std::optional(default_it->second);
    }
    entry.source = synonyms.empty() ? ConfigSource::kDefaultConfig : synonyms.front().source;
    entry.read_only = def.read_only;
    entry.sensitive = def.sensitive;
    entry.type = def.type;
    entry.synonyms = std::move(synonyms);
    out.push_back(std::move(entry));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TopicConfigSet

absl::StatusOr<TopicConfigSet> TopicConfigSet::Create(
    const std::map<std::string, std::string>& overrides, const BrokerConfigValues& broker) {
  std::vector<Inherited> inherited;
  const std::span<const ConfigDef> topics = TopicConfigs();
  inherited.reserve(topics.size());
  for (const ConfigDef& def : topics) {
    Inherited entry;
    const std::vector<std::string_view> group = TopicBrokerGroup(def);
    if (!group.empty()) {
      entry.synonyms = broker.Synonyms(group, def.broker_synonym, def.sensitive);
      // The value: the first name of the group set at any layer (its highest layer),
      // converted to the topic config's unit. Kafka's KafkaConfig does the same.
      for (size_t i = 0; i < group.size() && !entry.value; ++i) {
        std::optional<std::string> raw;
        for (BrokerConfigLayer l : kLayersByPriority) {
          if ((raw = broker.Get(l, group[i]))) break;
        }
        if (!raw) continue;
        const int64_t multiplier = i == 0 ? 1 : def.broker_fallbacks[i - 1].multiplier;
        std::string value = *raw;
        if (multiplier != 1 || def.name == "retention.ms") {
          const std::optional<int64_t> n = ParseJavaInteger(
              JavaTrim(*raw), std::numeric_limits<int64_t>::min() / multiplier,
              std::numeric_limits<int64_t>::max() / multiplier);
          if (!n) continue;
          int64_t millis = *n * multiplier;
          if (def.name == "retention.ms" && millis < 0) millis = -1;
          value = std::to_string(millis);
        }
        absl::StatusOr<std::string> normalized = NormalizeConfigValue(def, value);
        if (normalized.ok()) entry.value = *std::move(normalized);
      }
    }
    inherited.push_back(std::move(entry));
  }
  const std::optional<std::string> remote = broker.Effective("remote.log.storage.system.enable");
  return Build(std::map<std::string, std::string, std::less<>>(overrides.begin(), overrides.end()),
               std::move(inherited), remote == "true");
}

absl::StatusOr<TopicConfigSet> TopicConfigSet::Build(
    std::map<std::string, std::string, std::less<>> raw, std::vector<Inherited> inherited,
    bool remote_storage_system_enabled) {
  for (const auto& [name, value] : raw) {
    if (FindTopicConfig(name) == nullptr) {
      return absl::InvalidArgumentError("Unknown topic config name: " + name);
    }
  }
  TopicConfigSet set;
  for (auto& [name, value] : raw) {
    absl::StatusOr<std::string> normalized = NormalizeConfigValue(*FindTopicConfig(name), value);
    if (!normalized.ok()) return normalized.status();
    value = *std::move(normalized);
  }
  set.overrides_ = std::move(raw);
  set.inherited_ = std::move(inherited);
  set.remote_storage_system_enabled_ = remote_storage_system_enabled;
  const std::span<const ConfigDef> topics = TopicConfigs();
  set.effective_.reserve(topics.size());
  for (size_t i = 0; i < topics.size(); ++i) {
    const ConfigDef& def = topics[i];
    const auto it = set.overrides_.find(def.name);
    if (it != set.overrides_.end()) {
      set.effective_.push_back(it->second);
    } else if (set.inherited_[i].value) {
      set.effective_.push_back(*set.inherited_[i].value);
    } else {
      set.effective_.push_back(std::string(def.default_value.value_or("")));
    }
  }

  // Cross-config checks, as Kafka's LogConfig.validate.
  const int64_t min_lag = set.Get<int64_t>("min.compaction.lag.ms");
  const int64_t max_lag = set.Get<int64_t>("max.compaction.lag.ms");
  if (min_lag > max_lag) {
    return absl::InvalidArgumentError(
        "conflict topic config setting min.compaction.lag.ms (" + std::to_string(min_lag) +
        ") > max.compaction.lag.ms (" + std::to_string(max_lag) + ")");
  }
  // Search is on for the whole broker (--enable-search, which makes log.searchable true) or off;
  // a topic can opt out, but not in.
  if (set.Get<bool>("searchable") && set.inherited_[set.IndexOf("searchable")].value != "true") {
    return absl::InvalidArgumentError("searchable: search is off on this broker; start it with --enable-search");
  }
  if (set.Get<bool>("remote.storage.enable")) {
    if (!remote_storage_system_enabled) {
      return absl::InvalidArgumentError(
          "Tiered Storage functionality is disabled in the broker. Topic cannot be configured "
          "with remote log storage.");
    }
    if (set.Value("cleanup.policy").find("compact") != std::string::npos) {
      return absl::InvalidArgumentError(
          "Remote log storage is unsupported for the compacted topics");
    }
  }
  return set;
}

size_t TopicConfigSet::IndexOf(std::string_view name) const {
  const ConfigDef* def = FindTopicConfig(name);
  if (def == nullptr) Fatal("unknown topic config", name);
  return static_cast<size_t>(def - TopicConfigs().data());
}

const std::string& TopicConfigSet::Value(std::string_view name) const {
  return effective_[IndexOf(name)];
}

namespace {

int64_t ParseStoredInteger(const std::string& value, std::string_view name) {
  const std::optional<int64_t> n = ParseJavaInteger(value, std::numeric_limits<int64_t>::min(),
                                                    std::numeric_limits<int64_t>::max());
  if (!n) Fatal("stored value is not an integer", name);
  return *n;
}

void RequireType(const ConfigDef& def, std::initializer_list<ConfigType> types) {
  if (std::find(types.begin(), types.end(), def.type) == types.end()) {
    Fatal("Get<> with a type that does not fit the config", def.name);
  }
}

}  // namespace

template <>
bool TopicConfigSet::Get<bool>(std::string_view name) const {
  const size_t i = IndexOf(name);
  RequireType(TopicConfigs()[i], {ConfigType::kBoolean});
  return effective_[i] == "true";
}

template <>
int16_t TopicConfigSet::Get<int16_t>(std::string_view name) const {
  const size_t i = IndexOf(name);
  RequireType(TopicConfigs()[i], {ConfigType::kShort});
  return static_cast<int16_t>(ParseStoredInteger(effective_[i], name));
}

template <>
int32_t TopicConfigSet::Get<int32_t>(std::string_view name) const {
  const size_t i = IndexOf(name);
  RequireType(TopicConfigs()[i], {ConfigType::kShort, ConfigType::kInt});
  return static_cast<int32_t>(ParseStoredInteger(effective_[i], name));
}

template <>
int64_t TopicConfigSet::Get<int64_t>(std::string_view name) const {
  const size_t i = IndexOf(name);
  RequireType(TopicConfigs()[i], {ConfigType::kShort, ConfigType::kInt, ConfigType::kLong});
  return ParseStoredInteger(effective_[i], name);
}

template <>
double TopicConfigSet::Get<double>(std::string_view name) const {
  const size_t i = IndexOf(name);
  RequireType(TopicConfigs()[i], {ConfigType::kDouble});
  const std::optional<double> d = ParseJavaDouble(effective_[i]);
  if (!d) Fatal("stored value is not a double", name);
  return *d;
}

template <>
std::string TopicConfigSet::Get<std::string>(std::string_view name) const {
  return effective_[IndexOf(name)];
}

template <>
std::vector<std::string> TopicConfigSet::Get<std::vector<std::string>>(
    std::string_view name) const {
  const size_t i = IndexOf(name);
  RequireType(TopicConfigs()[i], {ConfigType::kList});
  return SplitListValue(effective_[i]);
}

std::vector<DescribedConfig> TopicConfigSet::Describe() const {
  std::vector<DescribedConfig> out;
  const std::span<const ConfigDef> topics = TopicConfigs();
  out.reserve(topics.size());
  for (const ConfigDef& def : topics) out.push_back(*Describe(def.name));
  return out;
}

std::optional<DescribedConfig> TopicConfigSet::Describe(std::string_view name) const {
  const ConfigDef* def = FindTopicConfig(name);
  if (def == nullptr) return std::nullopt;
  const size_t i = static_cast<size_t>(def - TopicConfigs().data());
  DescribedConfig entry;
  entry.name = std::string(def->name);
  if (!def->sensitive) entry.value = effective_[i];
  const auto it = overrides_.find(name);
  if (it != overrides_.end()) {
    entry.synonyms.push_back({std::string(def->name), entry.value,
                              ConfigSource::kDynamicTopicConfig});
  }
  entry.synonyms.insert(entry.synonyms.end(), inherited_[i].synonyms.begin(),
                        inherited_[i].synonyms.end());
  entry.source =
      entry.synonyms.empty() ? ConfigSource::kDefaultConfig : entry.synonyms.front().source;
  entry.read_only = def->read_only;
  entry.sensitive = def->sensitive;
  entry.type = def->type;
  return entry;
}

absl::Status CheckAlterOps(std::span<const AlterConfigOp> ops) {
  std::set<std::string_view> names;
  std::vector<std::string> null_values;
  for (const AlterConfigOp& op : ops) {
    if (!names.insert(op.name).second) {
      return absl::FailedPreconditionError("Error due to duplicate config keys");
    }
    if (op.op != AlterConfigOpType::kDelete && !op.value) null_values.push_back(op.name);
  }
  if (!null_values.empty()) {
    return absl::FailedPreconditionError("Null value not supported for : " +
                                         Join(null_values, ", "));
  }
  return absl::OkStatus();
}

absl::StatusOr<TopicConfigSet> TopicConfigSet::IncrementalAlter(
    std::span<const AlterConfigOp> ops) const {
  if (absl::Status s = CheckAlterOps(ops); !s.ok()) return s;

  std::map<std::string, std::string, std::less<>> raw = overrides_;
  for (const AlterConfigOp& op : ops) {
    switch (op.op) {
      case AlterConfigOpType::kSet:
        raw.insert_or_assign(op.name, *op.value);
        break;
      case AlterConfigOpType::kDelete:
        raw.erase(op.name);
        break;
      case AlterConfigOpType::kAppend:
      case AlterConfigOpType::kSubtract: {
        const bool append = op.op == AlterConfigOpType::kAppend;
        const ConfigDef* def = FindTopicConfig(op.name);
        if (def == nullptr || def->type != ConfigType::kList) {
          return absl::InvalidArgumentError(std::string("Can't ") +
                                            (append ? "APPEND" : "SUBTRACT") + " to key " +
                                            op.name + " because its type is not LIST.");
        }
        // Kafka starts from the override, else the config's own default (not the broker's).
        const auto it = raw.find(op.name);
        const std::string current =
            it != raw.end() ? it->second : std::string(def->default_value.value_or(""));
        std::vector<std::string> parts;
        for (std::string& part : JavaSplitComma(current)) {
          if (!part.empty()) parts.push_back(std::move(part));
        }
        for (const std::string& element : JavaSplitComma(*op.value)) {
          const auto found = std::find(parts.begin(), parts.end(), element);
          if (append && found == parts.end()) parts.push_back(element);
          if (!append && found != parts.end()) parts.erase(found);
        }
        raw.insert_or_assign(op.name, Join(parts, ","));
        break;
      }
      default:
        return absl::FailedPreconditionError("Unknown operations type " +
                                          std::to_string(static_cast<int>(op.op)));
    }
  }
  return Build(std::move(raw), inherited_, remote_storage_system_enabled_);
}

absl::StatusOr<TopicConfigSet> TopicConfigSet::Replace(
    const std::map<std::string, std::string>& configs) const {
  return Build(std::map<std::string, std::string, std::less<>>(configs.begin(), configs.end()),
               inherited_, remote_storage_system_enabled_);
}

}  // namespace chronik::ingest
