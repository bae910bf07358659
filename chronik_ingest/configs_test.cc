#include "chronik_ingest/configs.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chronik_storage/object_store/store_settings.h"
#include "chronik_storage/tiered/remote_log.h"
#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

using Synonyms = std::vector<ConfigSynonymEntry>;

std::string ErrorOf(const absl::Status& status) { return std::string(status.message()); }

template <typename V>
std::string ErrorOf(const absl::StatusOr<V>& result) {
  return std::string(result.status().message());
}

std::string Normalize(std::string_view name, std::string_view value) {
  const ConfigDef* def = FindTopicConfig(name);
  EXPECT_NE(def, nullptr) << name;
  if (def == nullptr) return "<unknown>";
  absl::StatusOr<std::string> result = NormalizeConfigValue(*def, value);
  return result.ok() ? *result : "error: " + std::string(result.status().message());
}

std::string ValidationError(std::string_view name, std::string_view value) {
  return ErrorOf(ValidateTopicConfig(name, value));
}

TopicConfigSet MustCreate(const std::map<std::string, std::string>& overrides,
                          const BrokerConfigValues& broker = BrokerConfigValues()) {
  absl::StatusOr<TopicConfigSet> set = TopicConfigSet::Create(overrides, broker);
  EXPECT_TRUE(set.ok()) << set.status();
  if (!set.ok()) return *TopicConfigSet::Create({}, BrokerConfigValues());
  return *std::move(set);
}

AlterConfigOp Op(std::string name, AlterConfigOpType op, std::optional<std::string> value) {
  return AlterConfigOp{std::move(name), op, std::move(value)};
}

const DescribedConfig* FindDescribed(const std::vector<DescribedConfig>& all,
                                     std::string_view name) {
  for (const DescribedConfig& c : all) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// The catalog.

TEST(ConfigCatalogTest, WireNumbers) {
  EXPECT_EQ(static_cast<int>(ConfigType::kUnknown), 0);
  EXPECT_EQ(static_cast<int>(ConfigType::kBoolean), 1);
  EXPECT_EQ(static_cast<int>(ConfigType::kString), 2);
  EXPECT_EQ(static_cast<int>(ConfigType::kInt), 3);
  EXPECT_EQ(static_cast<int>(ConfigType::kShort), 4);
  EXPECT_EQ(static_cast<int>(ConfigType::kLong), 5);
  EXPECT_EQ(static_cast<int>(ConfigType::kDouble), 6);
  EXPECT_EQ(static_cast<int>(ConfigType::kList), 7);
  EXPECT_EQ(static_cast<int>(ConfigType::kClass), 8);
  EXPECT_EQ(static_cast<int>(ConfigType::kPassword), 9);
  EXPECT_EQ(static_cast<int>(ConfigSource::kDynamicTopicConfig), 1);
  EXPECT_EQ(static_cast<int>(ConfigSource::kDynamicBrokerConfig), 2);
  EXPECT_EQ(static_cast<int>(ConfigSource::kDynamicDefaultBrokerConfig), 3);
  EXPECT_EQ(static_cast<int>(ConfigSource::kStaticBrokerConfig), 4);
  EXPECT_EQ(static_cast<int>(ConfigSource::kDefaultConfig), 5);
  EXPECT_EQ(static_cast<int>(AlterConfigOpType::kSet), 0);
  EXPECT_EQ(static_cast<int>(AlterConfigOpType::kDelete), 1);
  EXPECT_EQ(static_cast<int>(AlterConfigOpType::kAppend), 2);
  EXPECT_EQ(static_cast<int>(AlterConfigOpType::kSubtract), 3);
  EXPECT_EQ(ConfigTypeName(ConfigType::kLong), "LONG");
  EXPECT_EQ(ConfigTypeName(ConfigType::kPassword), "PASSWORD");
}

TEST(ConfigCatalogTest, TablesAreSortedAndUnique) {
  for (std::span<const ConfigDef> table : {TopicConfigs(), BrokerConfigs()}) {
    for (size_t i = 1; i < table.size(); ++i) {
      EXPECT_LT(table[i - 1].name, table[i].name) << "at " << table[i].name;
    }
    for (const ConfigDef& def : table) {
      EXPECT_NE(def.type, ConfigType::kUnknown) << def.name;
    }
  }
  for (const ConfigDef& def : TopicConfigs()) EXPECT_EQ(FindTopicConfig(def.name), &def);
  for (const ConfigDef& def : BrokerConfigs()) EXPECT_EQ(FindBrokerConfig(def.name), &def);
  EXPECT_EQ(FindTopicConfig("retention"), nullptr);
  EXPECT_EQ(FindTopicConfig(""), nullptr);
  EXPECT_EQ(FindTopicConfig("zzz"), nullptr);
  EXPECT_EQ(FindBrokerConfig("log.retention"), nullptr);
}

TEST(ConfigCatalogTest, EveryKafka39TopicConfig) {
  const std::set<std::string_view> expected = {
      "cleanup.policy",
      "compression.gzip.level",
      "compression.lz4.level",
      "compression.type",
      "compression.zstd.level",
      "delete.retention.ms",
      "file.delete.delay.ms",
      "flush.messages",
      "flush.ms",
      "follower.replication.throttled.replicas",
      "index.interval.bytes",
      "leader.replication.throttled.replicas",
      "local.retention.bytes",
      "local.retention.ms",
      "max.compaction.lag.ms",
      "max.message.bytes",
      "message.downconversion.enable",
      "message.format.version",
      "message.timestamp.after.max.ms",
      "message.timestamp.before.max.ms",
      "message.timestamp.difference.max.ms",
      "message.timestamp.type",
      "min.cleanable.dirty.ratio",
      "min.compaction.lag.ms",
      "min.insync.replicas",
      "preallocate",
      "remote.log.copy.disable",
      "remote.log.delete.on.disable",
      "remote.storage.enable",
      "retention.bytes",
      "retention.ms",
      "searchable",  // Chronik's own: the search index
      "segment.bytes",
      "segment.index.bytes",
      "segment.jitter.ms",
      "segment.ms",
      "unclean.leader.election.enable",
  };
  std::set<std::string_view> actual;
  for (const ConfigDef& def : TopicConfigs()) actual.insert(def.name);
  EXPECT_EQ(actual, expected);
}

TEST(ConfigCatalogTest, SearchableOnlyWhenTheBrokerSearches) {
  BrokerConfigValues off;
  EXPECT_FALSE(TopicConfigSet::Create({}, off)->Get<bool>("searchable"));
  absl::StatusOr<TopicConfigSet> refused = TopicConfigSet::Create({{"searchable", "true"}}, off);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--enable-search"), absl::string_view::npos);
  BrokerConfigValues on;
  ASSERT_TRUE(on.SetStatic("log.searchable", "true").ok());
  EXPECT_TRUE(TopicConfigSet::Create({}, on)->Get<bool>("searchable"));
  EXPECT_FALSE(TopicConfigSet::Create({{"searchable", "false"}}, on)->Get<bool>("searchable"));
}

TEST(ConfigCatalogTest, TopicDefaultsPassTheirOwnValidatorUnchanged) {
  for (const ConfigDef& def : TopicConfigs()) {
    ASSERT_TRUE(def.default_value.has_value()) << def.name;  // Kafka has none null
    absl::StatusOr<std::string> normalized = NormalizeConfigValue(def, *def.default_value);
    ASSERT_TRUE(normalized.ok()) << def.name << ": " << normalized.status();
    EXPECT_EQ(*normalized, *def.default_value) << def.name;
    EXPECT_FALSE(def.read_only) << def.name;
    EXPECT_FALSE(def.sensitive) << def.name;
  }
}

TEST(ConfigCatalogTest, BrokerDefaultsPassTheirOwnValidatorOrAreNull) {
  const std::set<std::string_view> null_defaults = {
      "advertised.listeners", "log.dirs", "log.flush.interval.ms", "log.retention.minutes", "log.retention.ms",
      "log.roll.jitter.ms", "log.roll.ms", "ssl.key.password", "ssl.keystore.certificate.chain",
      "ssl.keystore.key", "ssl.keystore.location", "ssl.truststore.certificates", "ssl.truststore.location"};
  for (const ConfigDef& def : BrokerConfigs()) {
    if (!def.default_value && def.name.starts_with("rsm.config.")) continue;  // the object store's, when set
    if (!def.default_value) {
      EXPECT_TRUE(null_defaults.contains(def.name)) << def.name;
      continue;
    }
    EXPECT_FALSE(null_defaults.contains(def.name)) << def.name;
    absl::StatusOr<std::string> normalized = NormalizeConfigValue(def, *def.default_value);
    ASSERT_TRUE(normalized.ok()) << def.name << ": " << normalized.status();
    EXPECT_EQ(*normalized, *def.default_value) << def.name;
  }
}

TEST(ConfigCatalogTest, EveryTopicBrokerSynonymIsABrokerConfigOfTheSameType) {
  const std::set<std::string_view> without_synonym = {
      "follower.replication.throttled.replicas", "leader.replication.throttled.replicas",
      "remote.log.copy.disable", "remote.log.delete.on.disable", "remote.storage.enable"};
  for (const ConfigDef& def : TopicConfigs()) {
    if (def.broker_synonym.empty()) {
      EXPECT_TRUE(without_synonym.contains(def.name)) << def.name;
      EXPECT_TRUE(def.broker_fallbacks.empty()) << def.name;
      continue;
    }
    const ConfigDef* broker = FindBrokerConfig(def.broker_synonym);
    ASSERT_NE(broker, nullptr) << def.broker_synonym;
    EXPECT_EQ(broker->type, def.type) << def.name;
    // The broker's default, where it has one, is the topic default.
    if (broker->default_value) {
      EXPECT_EQ(*broker->default_value, *def.default_value) << def.name;
    }
    for (const BrokerFallback& fallback : def.broker_fallbacks) {
      EXPECT_NE(FindBrokerConfig(fallback.name), nullptr) << fallback.name;
    }
  }
}

TEST(ConfigCatalogTest, KafkaFacts) {
  struct Fact {
    std::string_view name;
    ConfigType type;
    std::string_view default_value;
    std::string_view broker_synonym;
  };
  const Fact facts[] = {
      {"cleanup.policy", ConfigType::kList, "delete", "log.cleanup.policy"},
      {"compression.type", ConfigType::kString, "producer", "compression.type"},
      {"delete.retention.ms", ConfigType::kLong, "86400000", "log.cleaner.delete.retention.ms"},
      {"file.delete.delay.ms", ConfigType::kLong, "60000", "log.segment.delete.delay.ms"},
      {"flush.messages", ConfigType::kLong, "1", "log.flush.interval.messages"},
      {"flush.ms", ConfigType::kLong, "9223372036854775807", "log.flush.interval.ms"},
      {"index.interval.bytes", ConfigType::kInt, "4096", "log.index.interval.bytes"},
      {"max.message.bytes", ConfigType::kInt, "1048588", "message.max.bytes"},
      {"message.format.version", ConfigType::kString, "3.0-IV1", "log.message.format.version"},
      {"message.timestamp.type", ConfigType::kString, "CreateTime",
       "log.message.timestamp.type"},
      {"min.cleanable.dirty.ratio", ConfigType::kDouble, "0.5",
       "log.cleaner.min.cleanable.ratio"},
      {"min.insync.replicas", ConfigType::kInt, "1", "min.insync.replicas"},
      {"retention.bytes", ConfigType::kLong, "-1", "log.retention.bytes"},
      {"retention.ms", ConfigType::kLong, "604800000", "log.retention.ms"},
      {"segment.bytes", ConfigType::kInt, "1073741824", "log.segment.bytes"},
      {"segment.index.bytes", ConfigType::kInt, "10485760", "log.index.size.max.bytes"},
      {"segment.jitter.ms", ConfigType::kLong, "0", "log.roll.jitter.ms"},
      {"segment.ms", ConfigType::kLong, "604800000", "log.roll.ms"},
      {"unclean.leader.election.enable", ConfigType::kBoolean, "false",
       "unclean.leader.election.enable"},
      {"local.retention.ms", ConfigType::kLong, "-2", "log.local.retention.ms"},
      {"leader.replication.throttled.replicas", ConfigType::kList, "", ""},
      {"remote.storage.enable", ConfigType::kBoolean, "false", ""},
  };
  for (const Fact& fact : facts) {
    const ConfigDef* def = FindTopicConfig(fact.name);
    ASSERT_NE(def, nullptr) << fact.name;
    EXPECT_EQ(def->type, fact.type) << fact.name;
    EXPECT_EQ(def->default_value, fact.default_value) << fact.name;
    EXPECT_EQ(def->broker_synonym, fact.broker_synonym) << fact.name;
  }
  const ConfigDef* retention = FindTopicConfig("retention.ms");
  ASSERT_EQ(retention->broker_fallbacks.size(), 2u);
  EXPECT_EQ(retention->broker_fallbacks[0].name, "log.retention.minutes");
  EXPECT_EQ(retention->broker_fallbacks[0].multiplier, 60000);
  EXPECT_EQ(retention->broker_fallbacks[1].name, "log.retention.hours");
  EXPECT_EQ(retention->broker_fallbacks[1].multiplier, 3600000);
  EXPECT_EQ(FindTopicConfig("segment.bytes")->validator.min, 14);
}

TEST(ConfigCatalogTest, BrokerFacts) {
  struct Fact {
    std::string_view name;
    ConfigType type;
    std::optional<std::string_view> default_value;
    bool read_only;
  };
  const Fact facts[] = {
      {"broker.id", ConfigType::kInt, "-1", true},
      {"node.id", ConfigType::kInt, "-1", true},
      {"log.dirs", ConfigType::kString, std::nullopt, true},
      {"num.partitions", ConfigType::kInt, "1", true},
      {"default.replication.factor", ConfigType::kInt, "1", true},
      {"auto.create.topics.enable", ConfigType::kBoolean, "true", true},
      {"log.retention.ms", ConfigType::kLong, std::nullopt, false},
      {"log.retention.hours", ConfigType::kInt, "168", true},
      {"log.segment.bytes", ConfigType::kInt, "1073741824", false},
      {"log.cleanup.policy", ConfigType::kList, "delete", false},
      {"message.max.bytes", ConfigType::kInt, "1048588", false},
      {"socket.request.max.bytes", ConfigType::kInt, "104857600", true},
      {"queued.max.request.bytes", ConfigType::kLong, "-1", true},
      {"offsets.retention.minutes", ConfigType::kInt, "10080", true},
      {"offsets.topic.replication.factor", ConfigType::kShort, "3", true},
      {"group.initial.rebalance.delay.ms", ConfigType::kInt, "3000", true},
      {"group.min.session.timeout.ms", ConfigType::kInt, "6000", true},
      {"group.max.session.timeout.ms", ConfigType::kInt, "1800000", true},
      {"log.flush.interval.messages", ConfigType::kLong, "1", false},
      {"log.flush.interval.ms", ConfigType::kLong, std::nullopt, false},
      {"log.message.timestamp.type", ConfigType::kString, "CreateTime", false},
      {"compression.type", ConfigType::kString, "producer", false},
      {"min.insync.replicas", ConfigType::kInt, "1", false},
      {"delete.topic.enable", ConfigType::kBoolean, "true", true},
      {"log.message.format.version", ConfigType::kString, "3.0-IV1", true},
  };
  for (const Fact& fact : facts) {
    const ConfigDef* def = FindBrokerConfig(fact.name);
    ASSERT_NE(def, nullptr) << fact.name;
    EXPECT_EQ(def->type, fact.type) << fact.name;
    EXPECT_EQ(def->default_value, fact.default_value) << fact.name;
    EXPECT_EQ(def->read_only, fact.read_only) << fact.name;
    EXPECT_TRUE(def->broker_synonym.empty()) << fact.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation.

TEST(ConfigValueTest, BooleanIsTrueOrFalseInAnyCaseTrimmed) {
  EXPECT_EQ(Normalize("message.downconversion.enable", "true"), "true");
  EXPECT_EQ(Normalize("message.downconversion.enable", "FALSE"), "false");
  EXPECT_EQ(Normalize("message.downconversion.enable", " True \t"), "true");
  EXPECT_EQ(Normalize("preallocate", "FALSE"), "false");
  EXPECT_EQ(ValidationError("preallocate", "yes"),
            "Invalid value yes for configuration preallocate: Expected value to be either true "
            "or false");
  EXPECT_FALSE(ValidateTopicConfig("preallocate", "1").ok());
  EXPECT_FALSE(ValidateTopicConfig("preallocate", "").ok());
  EXPECT_FALSE(ValidateTopicConfig("preallocate", "truee").ok());
}

// Settings Kafka acts on and Chronik does not are refused, naming why, instead of being stored
// and described as if they worked.
TEST(ConfigValueTest, UnsupportedBehavioursAreRefused) {
  EXPECT_EQ(ValidationError("preallocate", "true"),
            "Invalid value true for configuration preallocate: Chronik does not preallocate segment files; the only "
            "supported value is false");
  EXPECT_FALSE(ValidateTopicConfig("segment.jitter.ms", "1000").ok());
  EXPECT_TRUE(ValidateTopicConfig("segment.jitter.ms", "0").ok());
  BrokerConfigValues broker;
  EXPECT_FALSE(broker.SetStatic("log.preallocate", "true").ok());
  EXPECT_FALSE(broker.SetStatic("log.roll.jitter.ms", "5").ok());
  EXPECT_TRUE(broker.SetStatic("log.roll.jitter.ms", "0").ok());
}

TEST(ConfigValueTest, IntegersParseAsJavaDoes) {
  EXPECT_EQ(Normalize("segment.bytes", "14"), "14");
  EXPECT_EQ(Normalize("segment.bytes", " +1024 "), "1024");
  EXPECT_EQ(Normalize("segment.bytes", "2147483647"), "2147483647");
  EXPECT_EQ(ValidationError("segment.bytes", "2147483648"),
            "Invalid value 2147483648 for configuration segment.bytes: Not a number of type INT");
  EXPECT_EQ(ValidationError("segment.bytes", "1.0"),
            "Invalid value 1.0 for configuration segment.bytes: Not a number of type INT");
  EXPECT_FALSE(ValidateTopicConfig("segment.bytes", "").ok());
  EXPECT_FALSE(ValidateTopicConfig("segment.bytes", "+").ok());
  EXPECT_FALSE(ValidateTopicConfig("segment.bytes", "+-5").ok());
  EXPECT_FALSE(ValidateTopicConfig("segment.bytes", "0x10").ok());
  EXPECT_FALSE(ValidateTopicConfig("segment.bytes", "1 000").ok());

  EXPECT_EQ(ValidationError("retention.ms", "abc"),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG");
  EXPECT_EQ(Normalize("retention.ms", "-1"), "-1");
  EXPECT_EQ(Normalize("retention.ms", "9223372036854775807"), "9223372036854775807");
  EXPECT_FALSE(ValidateTopicConfig("retention.ms", "9223372036854775808").ok());
  // The raw (untrimmed) value is what the parse error quotes.
  EXPECT_EQ(ValidationError("retention.ms", " x "),
            "Invalid value  x  for configuration retention.ms: Not a number of type LONG");

  const ConfigDef* replication = FindBrokerConfig("offsets.topic.replication.factor");
  ASSERT_NE(replication, nullptr);
  EXPECT_TRUE(ValidateConfigValue(*replication, "32767").ok());
  EXPECT_EQ(ErrorOf(ValidateConfigValue(*replication, "32768")),
            "Invalid value 32768 for configuration offsets.topic.replication.factor: Not a "
            "number of type SHORT");
  EXPECT_EQ(ErrorOf(ValidateConfigValue(*replication, "0")),
            "Invalid value 0 for configuration offsets.topic.replication.factor: Value must be "
            "at least 1");
}

TEST(ConfigValueTest, Ranges) {
  EXPECT_EQ(ValidationError("segment.bytes", "13"),
            "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
  EXPECT_EQ(ValidationError("retention.ms", "-2"),
            "Invalid value -2 for configuration retention.ms: Value must be at least -1");
  EXPECT_EQ(ValidationError("segment.ms", "0"),
            "Invalid value 0 for configuration segment.ms: Value must be at least 1");
  EXPECT_TRUE(ValidateTopicConfig("segment.index.bytes", "4").ok());
  EXPECT_FALSE(ValidateTopicConfig("segment.index.bytes", "3").ok());
  EXPECT_TRUE(ValidateTopicConfig("local.retention.ms", "-2").ok());
  EXPECT_FALSE(ValidateTopicConfig("local.retention.ms", "-3").ok());
  EXPECT_TRUE(ValidateTopicConfig("retention.bytes", "-12345").ok());  // no validator
  EXPECT_TRUE(ValidateTopicConfig("min.insync.replicas", "1").ok());
  EXPECT_FALSE(ValidateTopicConfig("min.insync.replicas", "0").ok());
  EXPECT_TRUE(ValidateTopicConfig("compression.lz4.level", "17").ok());
  EXPECT_EQ(ValidationError("compression.lz4.level", "18"),
            "Invalid value 18 for configuration compression.lz4.level: Value must be no more "
            "than 17");
  EXPECT_TRUE(ValidateTopicConfig("compression.zstd.level", "-131072").ok());
  EXPECT_FALSE(ValidateTopicConfig("compression.zstd.level", "-131073").ok());
  EXPECT_FALSE(ValidateTopicConfig("compression.zstd.level", "23").ok());
  for (const char* level : {"-1", "1", "5", "9"}) {
    EXPECT_TRUE(ValidateTopicConfig("compression.gzip.level", level).ok()) << level;
  }
  EXPECT_EQ(ValidationError("compression.gzip.level", "0"),
            "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 "
            "and 9 or equal to -1");
  EXPECT_FALSE(ValidateTopicConfig("compression.gzip.level", "10").ok());
  EXPECT_FALSE(ValidateTopicConfig("compression.gzip.level", "-2").ok());
}

TEST(ConfigValueTest, Doubles) {
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", "0"), "0.0");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", "1"), "1.0");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", " 0.75 "), "0.75");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", "1e-1"), "0.1");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", ".25"), "0.25");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", "0.5d"), "0.5");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", "0.001"), "0.001");
  EXPECT_EQ(Normalize("min.cleanable.dirty.ratio", "0.0001"), "1.0E-4");
  EXPECT_EQ(ValidationError("min.cleanable.dirty.ratio", "1.5"),
            "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no "
            "more than 1");
  EXPECT_EQ(ValidationError("min.cleanable.dirty.ratio", "2"),
            "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no "
            "more than 1");
  EXPECT_EQ(ValidationError("min.cleanable.dirty.ratio", "-0.1"),
            "Invalid value -0.1 for configuration min.cleanable.dirty.ratio: Value must be at "
            "least 0");
  EXPECT_EQ(ValidationError("min.cleanable.dirty.ratio", "half"),
            "Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of "
            "type DOUBLE");
  EXPECT_FALSE(ValidateTopicConfig("min.cleanable.dirty.ratio", "inf").ok());
  EXPECT_FALSE(ValidateTopicConfig("min.cleanable.dirty.ratio", "1e").ok());
  EXPECT_FALSE(ValidateTopicConfig("min.cleanable.dirty.ratio", ".").ok());
  EXPECT_EQ(ValidationError("min.cleanable.dirty.ratio", "Infinity"),
            "Invalid value Infinity for configuration min.cleanable.dirty.ratio: Value must be "
            "no more than 1");
}

TEST(ConfigValueTest, Lists) {
  EXPECT_EQ(SplitListValue("delete,compact"), (std::vector<std::string>{"delete", "compact"}));
  EXPECT_EQ(SplitListValue("  delete ,\tcompact  "),
            (std::vector<std::string>{"delete", "compact"}));
  EXPECT_EQ(SplitListValue(""), std::vector<std::string>{});
  EXPECT_EQ(SplitListValue("   "), std::vector<std::string>{});
  EXPECT_EQ(SplitListValue("a,,b,"), (std::vector<std::string>{"a", "", "b", ""}));

  EXPECT_EQ(Normalize("cleanup.policy", "delete,compact"), "delete,compact");
  EXPECT_EQ(Normalize("cleanup.policy", " compact , delete "), "compact,delete");
  EXPECT_EQ(Normalize("cleanup.policy", "compact"), "compact");
  EXPECT_EQ(Normalize("cleanup.policy", ""), "");  // Kafka 3.9 accepts an empty policy
  EXPECT_EQ(ValidationError("cleanup.policy", "delete,foo"),
            "Invalid value foo for configuration cleanup.policy: String must be one of: "
            "compact, delete");
  EXPECT_EQ(ValidationError("cleanup.policy", "delete,"),
            "Invalid value  for configuration cleanup.policy: String must be one of: compact, "
            "delete");
  EXPECT_FALSE(ValidateTopicConfig("cleanup.policy", "Delete").ok());
}

TEST(ConfigValueTest, ThrottledReplicas) {
  for (const char* ok : {"", "*", "0:1", "0:1,1:2", " 0:1 , 1:2 ", "10:100"}) {
    EXPECT_TRUE(ValidateTopicConfig("leader.replication.throttled.replicas", ok).ok()) << ok;
    EXPECT_TRUE(ValidateTopicConfig("follower.replication.throttled.replicas", ok).ok()) << ok;
  }
  EXPECT_EQ(Normalize("leader.replication.throttled.replicas", " 0:1 , 1:2 "), "0:1,1:2");
  EXPECT_EQ(ValidationError("leader.replication.throttled.replicas", "0:1,x"),
            "Invalid value [0:1, x] for configuration leader.replication.throttled.replicas: "
            "leader.replication.throttled.replicas must be the literal '*' or a list of "
            "replicas in the following format: [partitionId]:[brokerId],[partitionId]:"
            "[brokerId],...");
  EXPECT_FALSE(ValidateTopicConfig("leader.replication.throttled.replicas", "*,0:1").ok());
  EXPECT_FALSE(ValidateTopicConfig("leader.replication.throttled.replicas", "0:").ok());
  EXPECT_FALSE(ValidateTopicConfig("leader.replication.throttled.replicas", ":1").ok());
  EXPECT_FALSE(ValidateTopicConfig("leader.replication.throttled.replicas", "0:1:2").ok());
}

TEST(ConfigValueTest, Enumerations) {
  // Chronik stores batches as produced: the codecs Kafka would recompress to are refused, not
  // stored and ignored.
  EXPECT_EQ(Normalize("compression.type", "producer"), "producer");
  EXPECT_EQ(Normalize("compression.type", " producer "), "producer");
  EXPECT_EQ(ValidationError("compression.type", "lz4"),
            "Invalid value lz4 for configuration compression.type: Chronik stores batches as produced and does "
            "not recompress them; the only supported value is producer");
  // A value Kafka would not take either gets Kafka's own message.
  EXPECT_EQ(ValidationError("compression.type", "GZIP"),
            "Invalid value GZIP for configuration compression.type: String must be one of: "
            "uncompressed, zstd, lz4, snappy, gzip, producer");
  EXPECT_FALSE(ValidateTopicConfig("compression.type", "none").ok());
  EXPECT_TRUE(ValidateTopicConfig("message.timestamp.type", "CreateTime").ok());
  EXPECT_TRUE(ValidateTopicConfig("message.timestamp.type", "LogAppendTime").ok());
  EXPECT_EQ(ValidationError("message.timestamp.type", "createtime"),
            "Invalid value createtime for configuration message.timestamp.type: String must be "
            "one of: CreateTime, LogAppendTime");
}

TEST(ConfigValueTest, MessageFormatVersion) {
  for (const char* ok : {"3.0-IV1", "3.0", "2.8", "2.8-IV1", "2.8.2", "0.10.2", "0.10.2.1",
                         "0.10.0-IV0", "0.8.0", "1.0", "3.9", "3.9-IV0", "4.0-IV1"}) {
    EXPECT_TRUE(ValidateTopicConfig("message.format.version", ok).ok()) << ok;
  }
  EXPECT_EQ(ValidationError("message.format.version", "5.0"),
            "Invalid value 5.0 for configuration message.format.version: Version 5.0 is not a "
            "valid version");
  for (const char* bad : {"4.0", "3", "0.10", "", "3.0-IV9", "latest"}) {
    EXPECT_FALSE(ValidateTopicConfig("message.format.version", bad).ok()) << bad;
  }
}

TEST(ConfigValueTest, UnknownTopicConfig) {
  const absl::Status status = ValidateTopicConfig("retention.hours", "1");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "Unknown topic config name: retention.hours");
  // A broker-only name is not a topic config either.
  EXPECT_FALSE(ValidateTopicConfig("log.retention.ms", "1").ok());
}

// ---------------------------------------------------------------------------------------------
// TopicConfigSet: creation, precedence, sources, synonyms.

TEST(TopicConfigSetTest, DefaultsWithNoBrokerValues) {
  const TopicConfigSet set = MustCreate({});
  EXPECT_TRUE(set.overrides().empty());
  EXPECT_EQ(set.Get<int64_t>("retention.ms"), 604800000);
  EXPECT_EQ(set.Get<int32_t>("segment.bytes"), 1073741824);
  EXPECT_EQ(set.Get<int64_t>("segment.bytes"), 1073741824);
  EXPECT_EQ(set.Get<bool>("preallocate"), false);
  EXPECT_EQ(set.Get<double>("min.cleanable.dirty.ratio"), 0.5);
  EXPECT_EQ(set.Get<std::string>("compression.type"), "producer");
  EXPECT_EQ(set.Get<std::vector<std::string>>("cleanup.policy"),
            std::vector<std::string>{"delete"});
  EXPECT_EQ(set.Get<std::vector<std::string>>("leader.replication.throttled.replicas"),
            std::vector<std::string>{});
  EXPECT_EQ(set.Value("flush.messages"), "1");

  const std::vector<DescribedConfig> all = set.Describe();
  ASSERT_EQ(all.size(), TopicConfigs().size());
  for (size_t i = 0; i < all.size(); ++i) {
    const ConfigDef& def = TopicConfigs()[i];
    EXPECT_EQ(all[i].name, def.name);
    EXPECT_EQ(all[i].value, def.default_value) << def.name;
    EXPECT_EQ(all[i].source, ConfigSource::kDefaultConfig) << def.name;
    EXPECT_EQ(all[i].type, def.type) << def.name;
    EXPECT_FALSE(all[i].read_only);
    EXPECT_FALSE(all[i].sensitive);
  }
  // A single-name synonym shows the broker default...
  EXPECT_EQ(FindDescribed(all, "segment.bytes")->synonyms,
            (Synonyms{{"log.segment.bytes", "1073741824", ConfigSource::kDefaultConfig}}));
  EXPECT_EQ(FindDescribed(all, "max.message.bytes")->synonyms,
            (Synonyms{{"message.max.bytes", "1048588", ConfigSource::kDefaultConfig}}));
  // ...but, as in Kafka, none when the primary synonym (log.retention.ms) has no value and
  // only a lower one (log.retention.hours) does.
  EXPECT_TRUE(FindDescribed(all, "retention.ms")->synonyms.empty());
  EXPECT_TRUE(FindDescribed(all, "segment.ms")->synonyms.empty());
  // No broker synonym at all.
  EXPECT_TRUE(FindDescribed(all, "remote.storage.enable")->synonyms.empty());
  EXPECT_FALSE(set.Describe("nope").has_value());
}

TEST(TopicConfigSetTest, UnknownAndInvalidOverridesAreRejected) {
  const BrokerConfigValues broker;
  absl::StatusOr<TopicConfigSet> unknown =
      TopicConfigSet::Create({{"retention.ms", "1000"}, {"x", "1"}}, broker);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(unknown), "Unknown topic config name: x");
  // Names are checked before values.
  EXPECT_EQ(ErrorOf(TopicConfigSet::Create({{"retention.ms", "abc"}, {"x", "1"}}, broker)),
            "Unknown topic config name: x");
  EXPECT_EQ(ErrorOf(TopicConfigSet::Create({{"retention.ms", "abc"}}, broker)),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG");
}

TEST(TopicConfigSetTest, OverridesAreNormalized) {
  const TopicConfigSet set = MustCreate({{"cleanup.policy", " compact , delete "},
                                         {"min.cleanable.dirty.ratio", "1"},
                                         {"message.downconversion.enable", "FALSE"},
                                         {"retention.ms", " 1000 "}});
  EXPECT_EQ(set.overrides(),
            (std::map<std::string, std::string, std::less<>>{
                {"cleanup.policy", "compact,delete"},
                {"message.downconversion.enable", "false"},
                {"min.cleanable.dirty.ratio", "1.0"},
                {"retention.ms", "1000"}}));
  EXPECT_EQ(set.Get<int64_t>("retention.ms"), 1000);
  EXPECT_FALSE(set.Get<bool>("message.downconversion.enable"));
  EXPECT_EQ(set.Get<std::vector<std::string>>("cleanup.policy"),
            (std::vector<std::string>{"compact", "delete"}));
  const DescribedConfig d = *set.Describe("cleanup.policy");
  EXPECT_EQ(d.value, "compact,delete");
  EXPECT_EQ(d.source, ConfigSource::kDynamicTopicConfig);
  EXPECT_EQ(d.synonyms,
            (Synonyms{{"cleanup.policy", "compact,delete", ConfigSource::kDynamicTopicConfig},
                      {"log.cleanup.policy", "delete", ConfigSource::kDefaultConfig}}));
}

TEST(TopicConfigSetTest, PrecedenceAndSources) {
  BrokerConfigValues broker;
  ASSERT_TRUE(broker.SetStatic("log.segment.bytes", "2000").ok());
  {
    const TopicConfigSet set = MustCreate({}, broker);
    EXPECT_EQ(set.Get<int32_t>("segment.bytes"), 2000);
    const DescribedConfig d = *set.Describe("segment.bytes");
    EXPECT_EQ(d.source, ConfigSource::kStaticBrokerConfig);
    EXPECT_EQ(d.synonyms,
              (Synonyms{{"log.segment.bytes", "2000", ConfigSource::kStaticBrokerConfig},
                        {"log.segment.bytes", "1073741824", ConfigSource::kDefaultConfig}}));
  }
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicDefault, "log.segment.bytes", "3000")
                  .ok());
  {
    const TopicConfigSet set = MustCreate({}, broker);
    EXPECT_EQ(set.Get<int32_t>("segment.bytes"), 3000);
    EXPECT_EQ(set.Describe("segment.bytes")->source, ConfigSource::kDynamicDefaultBrokerConfig);
  }
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.segment.bytes", "4000")
                  .ok());
  {
    const TopicConfigSet set = MustCreate({}, broker);
    EXPECT_EQ(set.Get<int32_t>("segment.bytes"), 4000);
    EXPECT_EQ(set.Describe("segment.bytes")->source, ConfigSource::kDynamicBrokerConfig);
  }
  const TopicConfigSet set = MustCreate({{"segment.bytes", "5000"}}, broker);
  EXPECT_EQ(set.Get<int32_t>("segment.bytes"), 5000);
  const DescribedConfig d = *set.Describe("segment.bytes");
  EXPECT_EQ(d.value, "5000");
  EXPECT_EQ(d.source, ConfigSource::kDynamicTopicConfig);
  EXPECT_EQ(d.synonyms,
            (Synonyms{{"segment.bytes", "5000", ConfigSource::kDynamicTopicConfig},
                      {"log.segment.bytes", "4000", ConfigSource::kDynamicBrokerConfig},
                      {"log.segment.bytes", "3000", ConfigSource::kDynamicDefaultBrokerConfig},
                      {"log.segment.bytes", "2000", ConfigSource::kStaticBrokerConfig},
                      {"log.segment.bytes", "1073741824", ConfigSource::kDefaultConfig}}));
  // Removing the per-broker value falls back to the cluster default.
  ASSERT_TRUE(
      broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.segment.bytes", std::nullopt)
          .ok());
  EXPECT_EQ(MustCreate({}, broker).Get<int32_t>("segment.bytes"), 3000);
}

TEST(TopicConfigSetTest, RetentionFromHoursMinutesAndMillis) {
  {
    BrokerConfigValues broker;
    ASSERT_TRUE(broker.SetStatic("log.retention.hours", "24").ok());
    const TopicConfigSet set = MustCreate({}, broker);
    EXPECT_EQ(set.Get<int64_t>("retention.ms"), 86400000);
    // Kafka anchors the synonyms at log.retention.ms, so none show.
    const DescribedConfig d = *set.Describe("retention.ms");
    EXPECT_EQ(d.value, "86400000");
    EXPECT_EQ(d.source, ConfigSource::kDefaultConfig);
    EXPECT_TRUE(d.synonyms.empty());
  }
  {
    BrokerConfigValues broker;
    ASSERT_TRUE(broker.SetStatic("log.retention.hours", "24").ok());
    ASSERT_TRUE(broker.SetStatic("log.retention.minutes", "10").ok());
    EXPECT_EQ(MustCreate({}, broker).Get<int64_t>("retention.ms"), 600000);
  }
  {
    BrokerConfigValues broker;
    ASSERT_TRUE(broker.SetStatic("log.retention.hours", "24").ok());
    ASSERT_TRUE(broker.SetStatic("log.retention.ms", "1000").ok());
    const TopicConfigSet set = MustCreate({}, broker);
    EXPECT_EQ(set.Get<int64_t>("retention.ms"), 1000);
    const DescribedConfig d = *set.Describe("retention.ms");
    EXPECT_EQ(d.source, ConfigSource::kStaticBrokerConfig);
    EXPECT_EQ(d.synonyms,
              (Synonyms{{"log.retention.ms", "1000", ConfigSource::kStaticBrokerConfig},
                        {"log.retention.hours", "24", ConfigSource::kStaticBrokerConfig},
                        {"log.retention.hours", "168", ConfigSource::kDefaultConfig}}));
  }
  {
    BrokerConfigValues broker;  // any negative retention means "forever": -1
    ASSERT_TRUE(broker.SetStatic("log.retention.ms", "-5").ok());
    EXPECT_EQ(MustCreate({}, broker).Get<int64_t>("retention.ms"), -1);
  }
  {
    BrokerConfigValues broker;
    ASSERT_TRUE(broker.SetStatic("log.roll.hours", "1").ok());
    ASSERT_TRUE(broker.SetStatic("log.flush.scheduler.interval.ms", "5000").ok());
    const TopicConfigSet set = MustCreate({}, broker);
    EXPECT_EQ(set.Get<int64_t>("segment.ms"), 3600000);
    EXPECT_EQ(set.Get<int64_t>("flush.ms"), 5000);
  }
}

TEST(TopicConfigSetTest, CrossConfigChecks) {
  const BrokerConfigValues broker;
  EXPECT_EQ(ErrorOf(TopicConfigSet::Create(
                {{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}}, broker)),
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms "
            "(5)");
  EXPECT_TRUE(TopicConfigSet::Create(
                  {{"min.compaction.lag.ms", "5"}, {"max.compaction.lag.ms", "5"}}, broker)
                  .ok());

  EXPECT_EQ(ErrorOf(TopicConfigSet::Create({{"remote.storage.enable", "true"}}, broker)),
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured "
            "with remote log storage.");
  BrokerConfigValues tiered;
  ASSERT_TRUE(tiered.SetStatic("remote.log.storage.system.enable", "true").ok());
  EXPECT_TRUE(TopicConfigSet::Create({{"remote.storage.enable", "true"}, {"local.retention.bytes", "1000"}}, tiered).ok());
  EXPECT_EQ(ErrorOf(TopicConfigSet::Create({{"remote.storage.enable", "true"}, {"cleanup.policy", "compact"}}, tiered)),
            "Remote log storage is unsupported for the compacted topics");
  EXPECT_FALSE(ValidateTopicConfig("remote.log.copy.disable", "true").ok());
}

// ---------------------------------------------------------------------------------------------
// IncrementalAlterConfigs and AlterConfigs.

TEST(TopicConfigSetTest, IncrementalSetDeleteAppendSubtractOnCleanupPolicy) {
  const TopicConfigSet base = MustCreate({});

  const std::vector<AlterConfigOp> append = {
      Op("cleanup.policy", AlterConfigOpType::kAppend, "compact")};
  absl::StatusOr<TopicConfigSet> appended = base.IncrementalAlter(append);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->Value("cleanup.policy"), "delete,compact");
  EXPECT_EQ(appended->Describe("cleanup.policy")->source, ConfigSource::kDynamicTopicConfig);
  EXPECT_EQ(base.Value("cleanup.policy"), "delete");  // the original is untouched

  // Appending what is already there changes nothing.
  absl::StatusOr<TopicConfigSet> again = appended->IncrementalAlter(append);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Value("cleanup.policy"), "delete,compact");

  const std::vector<AlterConfigOp> subtract = {
      Op("cleanup.policy", AlterConfigOpType::kSubtract, "delete")};
  absl::StatusOr<TopicConfigSet> subtracted = appended->IncrementalAlter(subtract);
  ASSERT_TRUE(subtracted.ok());
  EXPECT_EQ(subtracted->Value("cleanup.policy"), "compact");
  EXPECT_EQ(subtracted->overrides().at("cleanup.policy"), "compact");

  // Subtracting everything leaves an empty override, not the default.
  const std::vector<AlterConfigOp> subtract_all = {
      Op("cleanup.policy", AlterConfigOpType::kSubtract, "compact,delete")};
  absl::StatusOr<TopicConfigSet> empty = subtracted->IncrementalAlter(subtract_all);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Value("cleanup.policy"), "");
  EXPECT_TRUE(empty->Get<std::vector<std::string>>("cleanup.policy").empty());

  const std::vector<AlterConfigOp> set = {
      Op("cleanup.policy", AlterConfigOpType::kSet, "compact")};
  absl::StatusOr<TopicConfigSet> was_set = empty->IncrementalAlter(set);
  ASSERT_TRUE(was_set.ok());
  EXPECT_EQ(was_set->Value("cleanup.policy"), "compact");

  const std::vector<AlterConfigOp> remove = {
      Op("cleanup.policy", AlterConfigOpType::kDelete, std::nullopt)};
  absl::StatusOr<TopicConfigSet> deleted = was_set->IncrementalAlter(remove);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->Value("cleanup.policy"), "delete");
  EXPECT_TRUE(deleted->overrides().empty());
  EXPECT_EQ(deleted->Describe("cleanup.policy")->source, ConfigSource::kDefaultConfig);
}

TEST(TopicConfigSetTest, IncrementalAppendStartsFromTheConfigDefaultNotTheBroker) {
  BrokerConfigValues broker;
  ASSERT_TRUE(broker.SetStatic("log.cleanup.policy", "compact").ok());
  const TopicConfigSet base = MustCreate({}, broker);
  EXPECT_EQ(base.Value("cleanup.policy"), "compact");
  const std::vector<AlterConfigOp> ops = {
      Op("cleanup.policy", AlterConfigOpType::kAppend, "compact")};
  absl::StatusOr<TopicConfigSet> result = base.IncrementalAlter(ops);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->Value("cleanup.policy"), "delete,compact");  // as Kafka's controller does
}

TEST(TopicConfigSetTest, IncrementalErrors) {
  const TopicConfigSet base = MustCreate({{"retention.ms", "1000"}});

  const std::vector<AlterConfigOp> not_list = {
      Op("retention.ms", AlterConfigOpType::kAppend, "5")};
  EXPECT_EQ(ErrorOf(base.IncrementalAlter(not_list)),
            "Can't APPEND to key retention.ms because its type is not LIST.");
  const std::vector<AlterConfigOp> not_list2 = {
      Op("compression.type", AlterConfigOpType::kSubtract, "lz4")};
  EXPECT_EQ(ErrorOf(base.IncrementalAlter(not_list2)),
            "Can't SUBTRACT to key compression.type because its type is not LIST.");

  const std::vector<AlterConfigOp> bad_element = {
      Op("cleanup.policy", AlterConfigOpType::kAppend, "foo")};
  EXPECT_EQ(ErrorOf(base.IncrementalAlter(bad_element)),
            "Invalid value foo for configuration cleanup.policy: String must be one of: "
            "compact, delete");

  const std::vector<AlterConfigOp> unknown = {Op("foo", AlterConfigOpType::kSet, "1")};
  EXPECT_EQ(ErrorOf(base.IncrementalAlter(unknown)), "Unknown topic config name: foo");

  const std::vector<AlterConfigOp> duplicate = {
      Op("retention.ms", AlterConfigOpType::kSet, "1"),
      Op("retention.ms", AlterConfigOpType::kDelete, std::nullopt)};
  absl::StatusOr<TopicConfigSet> dup = base.IncrementalAlter(duplicate);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorOf(dup), "Error due to duplicate config keys");

  const std::vector<AlterConfigOp> null_value = {
      Op("retention.ms", AlterConfigOpType::kSet, std::nullopt),
      Op("segment.ms", AlterConfigOpType::kAppend, std::nullopt)};
  absl::StatusOr<TopicConfigSet> nulls = base.IncrementalAlter(null_value);
  EXPECT_EQ(nulls.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorOf(nulls), "Null value not supported for : retention.ms, segment.ms");

  // All or nothing: one bad op fails the lot.
  const std::vector<AlterConfigOp> mixed = {Op("retention.ms", AlterConfigOpType::kSet, "2000"),
                                            Op("segment.bytes", AlterConfigOpType::kSet, "1")};
  EXPECT_EQ(ErrorOf(base.IncrementalAlter(mixed)),
            "Invalid value 1 for configuration segment.bytes: Value must be at least 14");
  EXPECT_EQ(base.Get<int64_t>("retention.ms"), 1000);

  // Cross-config checks see the result of all ops.
  const std::vector<AlterConfigOp> lag = {
      Op("min.compaction.lag.ms", AlterConfigOpType::kSet, "100"),
      Op("max.compaction.lag.ms", AlterConfigOpType::kSet, "50")};
  EXPECT_FALSE(base.IncrementalAlter(lag).ok());

  // Deleting something that is not overridden (even an unknown name) is a no-op, as in Kafka.
  const std::vector<AlterConfigOp> delete_absent = {
      Op("segment.ms", AlterConfigOpType::kDelete, std::nullopt),
      Op("no.such.config", AlterConfigOpType::kDelete, std::nullopt)};
  absl::StatusOr<TopicConfigSet> noop = base.IncrementalAlter(delete_absent);
  ASSERT_TRUE(noop.ok()) << noop.status();
  EXPECT_EQ(noop->overrides(), base.overrides());
}

TEST(TopicConfigSetTest, IncrementalKeepsOtherOverridesAndBrokerValues) {
  BrokerConfigValues broker;
  ASSERT_TRUE(broker.SetStatic("log.segment.bytes", "2000").ok());
  const TopicConfigSet base = MustCreate({{"retention.ms", "1000"}}, broker);
  const std::vector<AlterConfigOp> ops = {Op("max.message.bytes", AlterConfigOpType::kSet, "10")};
  absl::StatusOr<TopicConfigSet> result = base.IncrementalAlter(ops);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->overrides().size(), 2u);
  EXPECT_EQ(result->Get<int64_t>("retention.ms"), 1000);
  EXPECT_EQ(result->Get<int32_t>("max.message.bytes"), 10);
  EXPECT_EQ(result->Get<int32_t>("segment.bytes"), 2000);
  EXPECT_EQ(result->Describe("segment.bytes")->source, ConfigSource::kStaticBrokerConfig);
}

TEST(TopicConfigSetTest, ReplaceResetsUnspecifiedConfigs) {
  const TopicConfigSet base =
      MustCreate({{"retention.ms", "1000"}, {"segment.bytes", "2000"}});
  absl::StatusOr<TopicConfigSet> replaced = base.Replace({{"cleanup.policy", "compact"}});
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->overrides(),
            (std::map<std::string, std::string, std::less<>>{{"cleanup.policy", "compact"}}));
  EXPECT_EQ(replaced->Get<int64_t>("retention.ms"), 604800000);
  EXPECT_EQ(replaced->Describe("retention.ms")->source, ConfigSource::kDefaultConfig);
  EXPECT_EQ(replaced->Get<int32_t>("segment.bytes"), 1073741824);

  absl::StatusOr<TopicConfigSet> cleared = base.Replace({});
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->overrides().empty());

  EXPECT_EQ(ErrorOf(base.Replace({{"retention.ms", "soon"}})),
            "Invalid value soon for configuration retention.ms: Not a number of type LONG");
  EXPECT_EQ(ErrorOf(base.Replace({{"bogus", "1"}})), "Unknown topic config name: bogus");
}

// ---------------------------------------------------------------------------------------------
// Broker values.

TEST(BrokerConfigValuesTest, StaticValues) {
  BrokerConfigValues broker;
  EXPECT_EQ(broker.Effective("num.partitions"), "1");
  EXPECT_EQ(broker.Effective("log.dirs"), std::nullopt);
  EXPECT_EQ(broker.Effective("not.a.config"), std::nullopt);
  ASSERT_TRUE(broker.SetStatic("num.partitions", " 3 ").ok());
  EXPECT_EQ(broker.Get(BrokerConfigLayer::kStatic, "num.partitions"), "3");
  EXPECT_EQ(broker.Effective("num.partitions"), "3");
  EXPECT_EQ(ErrorOf(broker.SetStatic("num.partitions", "0")),
            "Invalid value 0 for configuration num.partitions: Value must be at least 1");
  // Unknown static names are kept as they are.
  ASSERT_TRUE(broker.SetStatic("some.plugin.setting", " x ").ok());
  EXPECT_EQ(broker.Get(BrokerConfigLayer::kStatic, "some.plugin.setting"), " x ");
  EXPECT_EQ(broker.Effective("some.plugin.setting"), " x ");
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kStatic, "num.partitions", std::nullopt).ok());
  EXPECT_EQ(broker.Effective("num.partitions"), "1");
}

TEST(BrokerConfigValuesTest, DynamicValues) {
  BrokerConfigValues broker;
  EXPECT_EQ(ErrorOf(broker.SetDynamic(BrokerConfigLayer::kDynamicDefault, "num.partitions", "3")),
            "Cannot update these configs dynamically: Set(num.partitions)");
  EXPECT_EQ(ErrorOf(broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "x.y", "3")),
            "Unknown broker config name: x.y");
  EXPECT_EQ(
      ErrorOf(broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.retention.ms", "x")),
      "Invalid value x for configuration log.retention.ms: Not a number of type LONG");
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicDefault, "log.retention.ms", "10").ok());
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.retention.ms", "20").ok());
  EXPECT_EQ(broker.Effective("log.retention.ms"), "20");
  ASSERT_TRUE(
      broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.retention.ms", std::nullopt).ok());
  EXPECT_EQ(broker.Effective("log.retention.ms"), "10");
  // Removing what is not there is fine.
  EXPECT_TRUE(
      broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.retention.ms", std::nullopt).ok());
}

// Each object store setting has its Kafka-style broker config, sensitive exactly when a secret.
TEST(ConfigCatalogTest, EveryObjectStoreSettingByItsKafkaStyleName) {
  for (std::string_view name : storage::objects::kStoreSettingNames) {
    const ConfigDef* def = FindBrokerConfig(storage::objects::KafkaStyleName(name));
    ASSERT_NE(def, nullptr) << name;
    EXPECT_EQ(def->sensitive, storage::objects::IsSecretStoreSetting(name)) << name;
    EXPECT_TRUE(def->read_only) << name;
  }
}

// RemoteLogOptions' defaults, for its direct users, are the broker's (which reads the catalog's).
TEST(ConfigCatalogTest, RemoteLogReaderDefaultsAgreeWithRemoteLogOptions) {
  const storage::tiered::RemoteLogOptions options;
  for (const auto& [name, value] : std::vector<std::pair<std::string, int64_t>>{
           {"remote.log.reader.cache.bytes", options.cache_bytes},
           {"remote.log.reader.fetch.bytes", options.fetch_bytes},
           {"remote.log.reader.threads", options.reader_threads}}) {
    const ConfigDef* def = FindBrokerConfig(name);
    ASSERT_NE(def, nullptr) << name;
    ASSERT_TRUE(def->default_value.has_value()) << name;
    EXPECT_EQ(*def->default_value, std::to_string(value)) << name;
  }
}

// The object store's settings by their Kafka-style names: described, the secrets as sensitive;
// the prefix is the one Chronik's built-in store takes.
TEST(BrokerConfigValuesTest, ObjectStoreSettingsAndTheirSecrets) {
  BrokerConfigValues broker;
  ASSERT_TRUE(broker.SetStatic("rsm.config.s3.bucket", "logs").ok());
  ASSERT_TRUE(broker.SetStatic("rsm.config.aws.secret.access.key", "very-secret").ok());
  ASSERT_TRUE(broker.SetStatic("rsm.config.azure.storage.key", "also-secret").ok());
  const std::vector<DescribedConfig> all = broker.Describe(/*per_broker=*/true);
  const DescribedConfig* bucket = FindDescribed(all, "rsm.config.s3.bucket");
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->value, "logs");
  EXPECT_FALSE(bucket->sensitive);
  for (const char* secret : {"rsm.config.aws.secret.access.key", "rsm.config.azure.storage.key"}) {
    const DescribedConfig* d = FindDescribed(all, secret);
    ASSERT_NE(d, nullptr) << secret;
    EXPECT_EQ(d->value, std::nullopt) << secret;
    EXPECT_TRUE(d->sensitive) << secret;
    EXPECT_EQ(d->source, ConfigSource::kStaticBrokerConfig) << secret;
    for (const auto& synonym : d->synonyms) EXPECT_EQ(synonym.value, std::nullopt) << secret;
  }
  EXPECT_EQ(FindDescribed(all, "remote.log.storage.manager.impl.prefix")->value, "rsm.config.");
  absl::Status other = broker.SetStatic("remote.log.storage.manager.impl.prefix", "rlm.");
  EXPECT_FALSE(other.ok());
  EXPECT_NE(ErrorOf(other).find("the only supported value is rsm.config."), std::string::npos) << ErrorOf(other);
}

TEST(BrokerConfigValuesTest, DescribePerBroker) {
  BrokerConfigValues broker;
  ASSERT_TRUE(broker.SetStatic("broker.id", "7").ok());
  ASSERT_TRUE(broker.SetStatic("num.partitions", "3").ok());
  ASSERT_TRUE(broker.SetStatic("log.retention.hours", "24").ok());
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicDefault, "message.max.bytes", "2000")
                  .ok());
  const std::vector<DescribedConfig> all = broker.Describe(/*per_broker=*/true);
  ASSERT_EQ(all.size(), BrokerConfigs().size());

  const DescribedConfig* id = FindDescribed(all, "broker.id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->value, "7");
  EXPECT_EQ(id->source, ConfigSource::kStaticBrokerConfig);
  EXPECT_TRUE(id->read_only);
  EXPECT_EQ(id->type, ConfigType::kInt);

  const DescribedConfig* partitions = FindDescribed(all, "num.partitions");
  EXPECT_EQ(partitions->value, "3");
  EXPECT_EQ(partitions->synonyms,
            (Synonyms{{"num.partitions", "3", ConfigSource::kStaticBrokerConfig},
                      {"num.partitions", "1", ConfigSource::kDefaultConfig}}));

  const DescribedConfig* replication = FindDescribed(all, "default.replication.factor");
  EXPECT_EQ(replication->value, "1");
  EXPECT_EQ(replication->source, ConfigSource::kDefaultConfig);

  const DescribedConfig* max_bytes = FindDescribed(all, "message.max.bytes");
  EXPECT_EQ(max_bytes->value, "2000");
  EXPECT_EQ(max_bytes->source, ConfigSource::kDynamicDefaultBrokerConfig);
  EXPECT_FALSE(max_bytes->read_only);

  // log.retention.ms has no value of its own; log.retention.hours is described with it.
  const DescribedConfig* ms = FindDescribed(all, "log.retention.ms");
  EXPECT_EQ(ms->value, std::nullopt);
  EXPECT_EQ(ms->source, ConfigSource::kDefaultConfig);
  EXPECT_TRUE(ms->synonyms.empty());
  const DescribedConfig* hours = FindDescribed(all, "log.retention.hours");
  EXPECT_EQ(hours->value, "24");
  EXPECT_EQ(hours->synonyms,
            (Synonyms{{"log.retention.hours", "24", ConfigSource::kStaticBrokerConfig},
                      {"log.retention.hours", "168", ConfigSource::kDefaultConfig}}));

  const DescribedConfig* dirs = FindDescribed(all, "log.dirs");
  EXPECT_EQ(dirs->value, std::nullopt);
  EXPECT_EQ(dirs->source, ConfigSource::kDefaultConfig);
}

TEST(BrokerConfigValuesTest, DescribeClusterDefault) {
  BrokerConfigValues broker;
  ASSERT_TRUE(broker.SetStatic("log.segment.bytes", "5000").ok());
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicDefault, "log.segment.bytes", "6000")
                  .ok());
  ASSERT_TRUE(broker.SetDynamic(BrokerConfigLayer::kDynamicBroker, "log.segment.bytes", "7000")
                  .ok());
  const std::vector<DescribedConfig> all = broker.Describe(/*per_broker=*/false);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "log.segment.bytes");
  EXPECT_EQ(all[0].value, "6000");
  EXPECT_EQ(all[0].source, ConfigSource::kDynamicDefaultBrokerConfig);
  EXPECT_EQ(all[0].synonyms,
            (Synonyms{{"log.segment.bytes", "6000",
                       ConfigSource::kDynamicDefaultBrokerConfig}}));
  EXPECT_EQ(FindDescribed(broker.Describe(true), "log.segment.bytes")->value, "7000");
}

}  // namespace
}  // namespace chronik::ingest
