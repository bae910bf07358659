#pragma once

// The catalog of Kafka topic and broker configurations (as of Kafka 3.9) that CreateTopics,
// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: each config's name, type,
// default, validator and broker-level synonym, value parsing and validation with the error
// messages a Kafka client would get, and the resolution of a topic's effective configs
// (topic override > broker value > default) with the source and synonyms DescribeConfigs
// reports.
//
// Errors. Every failure a client should see as INVALID_CONFIG (40) is an InvalidArgument
// status whose message is the one Kafka sends ("Unknown topic config name: x", "Invalid value
// abc for configuration retention.ms: Not a number of type LONG", ...). The only other code
// is FailedPrecondition, for what Kafka answers with INVALID_REQUEST (42): an
// IncrementalAlterConfigs resource naming the same config twice ("Error due to duplicate
// config keys") or giving a null value to an op other than DELETE.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chronik::ingest {

// DescribeConfigs v3+ config_type numbers.
enum class ConfigType : int8_t {
  kUnknown = 0,
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
  kClass = 8,
  kPassword = 9,
};

// "BOOLEAN", "STRING", "INT", ... as Kafka spells the type in its messages.
std::string_view ConfigTypeName(ConfigType type);

// DescribeConfigs config_source numbers (also used for synonyms).
enum class ConfigSource : int8_t {
  kUnknown = 0,
  kDynamicTopicConfig = 1,
  kDynamicBrokerConfig = 2,
  kDynamicDefaultBrokerConfig = 3,
  kStaticBrokerConfig = 4,
  kDefaultConfig = 5,
  kDynamicBrokerLoggerConfig = 6,
  kClientMetricsConfig = 7,
  kGroupConfig = 8,
};

// IncrementalAlterConfigs config_operation numbers.
enum class AlterConfigOpType : int8_t {
  kSet = 0,
  kDelete = 1,
  kAppend = 2,    // LIST configs only
  kSubtract = 3,  // LIST configs only
};

enum class ValidatorKind : uint8_t {
  kNone,
  kRange,               // min and/or max (inclusive); compared as doubles, as Kafka does
  kOneOf,               // the (trimmed) value is one of `allowed`, case-sensitive
  kEachOneOf,           // LIST: every element is one of `allowed`
  kGzipLevel,           // [1, 9] or -1
  kThrottledReplicas,   // LIST: "*" or elements "partition:broker" (or empty)
  kMetadataVersion,     // a Kafka release/IBP version string: "3.0-IV1", "2.8", "0.10.2"...
};

struct ConfigValidator {
  ValidatorKind kind = ValidatorKind::kNone;
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  std::span<const std::string_view> allowed;
};

// A lower-priority broker config that also supplies a topic config's value, and the factor
// that turns its value into the topic config's unit (log.retention.hours -> retention.ms is
// 3600000).
struct BrokerFallback {
  std::string_view name;
  int64_t multiplier = 1;
};

struct ConfigDef {
  std::string_view name;
  ConfigType type = ConfigType::kUnknown;
  // As DescribeConfigs reports the default (Kafka's ConfigDef.convertToString); nullopt where
  // Kafka's default is null.
  std::optional<std::string_view> default_value;
  ConfigValidator validator;
  // Cannot be changed while running (broker configs Kafka does not update dynamically).
  // Always false for topic configs.
  bool read_only = false;
  // Described with a null value (PASSWORD configs).
  bool sensitive = false;
  // Topic configs: the broker config that supplies the default ("log.retention.ms"), empty
  // for the few without one. Broker configs: empty.
  std::string_view broker_synonym;
  // Topic configs: lower-priority broker configs consulted when broker_synonym is not set
  // (retention.ms: log.retention.minutes, log.retention.hours), in priority order.
  std::span<const BrokerFallback> broker_fallbacks;
};

// Every topic-level config of Kafka 3.9 (36), sorted by name.
std::span<const ConfigDef> TopicConfigs();
const ConfigDef* FindTopicConfig(std::string_view name);

// The broker configs Chronik reports for resource type BROKER, sorted by name. Includes
// every broker synonym (and fallback) named by a topic config.
std::span<const ConfigDef> BrokerConfigs();
const ConfigDef* FindBrokerConfig(std::string_view name);

// Parses `value` as `def.type` (Kafka's rules: surrounding whitespace trimmed, booleans
// "true"/"false" in any case, Java integer/double syntax, lists split on commas with
// optional whitespace around them) and applies the validator. Returns the value as Kafka
// writes the parsed value back (DescribeConfigs): trimmed, booleans lower case, lists joined
// by "," without spaces, doubles as Java prints them ("1" -> "1.0").
absl::StatusOr<std::string> NormalizeConfigValue(const ConfigDef& def, std::string_view value);
absl::Status ValidateConfigValue(const ConfigDef& def, std::string_view value);

// ValidateConfigValue for a topic config by name; unknown names are an error
// ("Unknown topic config name: x").
absl::Status ValidateTopicConfig(std::string_view name, std::string_view value);

// Kafka's LIST parsing: trimmed; empty -> no elements; else split on commas, whitespace
// around each comma dropped, empty elements kept ("a,,b" -> {"a", "", "b"}).
std::vector<std::string> SplitListValue(std::string_view value);

struct ConfigSynonymEntry {
  std::string name;
  std::optional<std::string> value;  // null for sensitive configs
  ConfigSource source = ConfigSource::kUnknown;

  bool operator==(const ConfigSynonymEntry&) const = default;
};

// One DescribeConfigs result entry.
struct DescribedConfig {
  std::string name;
  std::optional<std::string> value;  // null for sensitive configs and null defaults
  ConfigSource source = ConfigSource::kUnknown;
  bool read_only = false;
  bool sensitive = false;
  ConfigType type = ConfigType::kUnknown;
  // Always filled (the handler drops them unless include_synonyms). Highest priority first;
  // `source` is the first synonym's source, or DEFAULT_CONFIG when there are none.
  std::vector<ConfigSynonymEntry> synonyms;
};

// Where a broker config value was set.
enum class BrokerConfigLayer : uint8_t {
  kDynamicBroker,   // AlterConfigs on BROKER "<this broker's id>"
  kDynamicDefault,  // AlterConfigs on BROKER "" (cluster-wide default)
  kStatic,          // the broker's own configuration at startup
};

// The broker-level config values, by layer. Precedence for one name: dynamic per-broker >
// dynamic cluster default > static > the table's default.
class BrokerConfigValues {
 public:
  // A static value. Names in the broker table are validated and normalized; other names are
  // kept verbatim (Kafka tolerates unknown properties) but never described.
  absl::Status SetStatic(std::string_view name, std::string_view value);

  // A dynamic value; nullopt removes it. Only names in the broker table that are not
  // read-only ("Cannot update these configs dynamically: Set(x)" otherwise; unknown names:
  // "Unknown broker config name: x"). With layer kStatic this is SetStatic (or removes).
  absl::Status SetDynamic(BrokerConfigLayer layer, std::string_view name,
                          std::optional<std::string_view> value);

  // The value set at `layer`, if any.
  std::optional<std::string> Get(BrokerConfigLayer layer, std::string_view name) const;
  // The names set at `layer`, sorted.
  std::vector<std::string> NamesAt(BrokerConfigLayer layer) const;

  // The effective value: the highest layer that sets `name`, else its table default (nullopt
  // for names outside the table or with a null default).
  std::optional<std::string> Effective(std::string_view name) const;
  // The effective value as an integer; `fallback` when unset or not an integer.
  int64_t EffectiveInt(std::string_view name, int64_t fallback) const;

  // DescribeConfigs for BROKER. per_broker = true for the resource named by this broker's
  // id: every config in the broker table. false for the resource "" (cluster default): only
  // the configs set at the dynamic default layer, with only DYNAMIC_DEFAULT synonyms.
  std::vector<DescribedConfig> Describe(bool per_broker) const;

 private:
  friend class TopicConfigSet;
  const std::map<std::string, std::string, std::less<>>& layer(BrokerConfigLayer l) const {
    return layers_[static_cast<int>(l)];
  }
  // Kafka's synonyms of `group` (a list of broker names) for describing `anchor`.
  std::vector<ConfigSynonymEntry> Synonyms(std::span<const std::string_view> group,
                                           std::string_view anchor, bool sensitive) const;

  std::map<std::string, std::string, std::less<>> layers_[3];
};

struct AlterConfigOp {
  std::string name;
  AlterConfigOpType op = AlterConfigOpType::kSet;
  std::optional<std::string> value;  // null only for DELETE
};

// What IncrementalAlterConfigs asks of one resource's ops whatever it is: each config named once,
// a value for every op but DELETE (FailedPrecondition with Kafka's message otherwise).
absl::Status CheckAlterOps(std::span<const AlterConfigOp> ops);

// A topic's configuration: its explicit overrides resolved against the broker's values.
// Immutable; changes return a new set (so validate_only requests just drop the result).
class TopicConfigSet {
 public:
  // CreateTopics. Every name must be a topic config and every value valid; cross-config
  // checks as Kafka's (min.compaction.lag.ms <= max.compaction.lag.ms, remote storage).
  // CreateTopics null values are the caller's to reject (Kafka: "Null value not supported
  // for topic configs: a,b").
  static absl::StatusOr<TopicConfigSet> Create(const std::map<std::string, std::string>& overrides,
                                               const BrokerConfigValues& broker);

  // The overrides as stored (normalized values); what to persist.
  const std::map<std::string, std::string, std::less<>>& overrides() const { return overrides_; }

  // The effective value of a topic config as DescribeConfigs shows it.
  const std::string& Value(std::string_view name) const;

  // Typed effective values. T: bool, int16_t (SHORT), int32_t (INT, SHORT), int64_t (INT,
  // SHORT, LONG), double (DOUBLE), std::string (any), std::vector<std::string> (LIST).
  // An unknown name or a type that does not fit is a programming error and aborts.
  template <typename T>
  T Get(std::string_view name) const;

  // DescribeConfigs for TOPIC: every topic config, sorted by name.
  std::vector<DescribedConfig> Describe() const;
  std::optional<DescribedConfig> Describe(std::string_view name) const;

  // IncrementalAlterConfigs: the ops applied in order to the overrides (APPEND/SUBTRACT work
  // on the current override, else the topic config's default, split on ","), then validated
  // as a whole. All or nothing.
  absl::StatusOr<TopicConfigSet> IncrementalAlter(std::span<const AlterConfigOp> ops) const;

  // AlterConfigs (legacy): `configs` becomes the complete set of overrides; every override
  // not named is removed.
  absl::StatusOr<TopicConfigSet> Replace(const std::map<std::string, std::string>& configs) const;

 private:
  struct Inherited {
    std::optional<std::string> value;  // from the broker, converted; nullopt: the default
    std::vector<ConfigSynonymEntry> synonyms;
  };

  TopicConfigSet() = default;
  static absl::StatusOr<TopicConfigSet> Build(std::map<std::string, std::string, std::less<>> raw,
                                              std::vector<Inherited> inherited,
                                              bool remote_storage_system_enabled);
  size_t IndexOf(std::string_view name) const;

  std::map<std::string, std::string, std::less<>> overrides_;
  std::vector<Inherited> inherited_;    // parallel to TopicConfigs()
  std::vector<std::string> effective_;  // parallel to TopicConfigs()
  bool remote_storage_system_enabled_ = false;
};

template <>
bool TopicConfigSet::Get<bool>(std::string_view name) const;
template <>
int16_t TopicConfigSet::Get<int16_t>(std::string_view name) const;
template <>
int32_t TopicConfigSet::Get<int32_t>(std::string_view name) const;
template <>
int64_t TopicConfigSet::Get<int64_t>(std::string_view name) const;
template <>
double TopicConfigSet::Get<double>(std::string_view name) const;
template <>
std::string TopicConfigSet::Get<std::string>(std::string_view name) const;
template <>
std::vector<std::string> TopicConfigSet::Get<std::vector<std::string>>(
    std::string_view name) const;

}  // namespace chronik::ingest
