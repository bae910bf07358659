#include "chronik_ingest/configs.h"

#include <algorithm>
#include <limits>

#include "chronik_ingest/config_text.h"

namespace chronik::ingest {
namespace {

using config_text::JavaTrim;
using config_text::IsRegexSpace;
using config_text::EqualsIgnoreCase;
using config_text::ParseJavaInteger;
using config_text::ParseJavaDouble;
using config_text::JavaDoubleToString;
using config_text::Join;

// ---------------------------------------------------------------------------------------------
// The tables. Facts (names, types, defaults, ranges, synonyms) are Kafka 3.9's; defaults are
// written as Kafka's DescribeConfigs shows them.

constexpr std::string_view kLongMax = "9223372036854775807";

// The tables use designated initializers and leave members at their defaults, which GCC 12
// warns about (-Wmissing-field-initializers) although the defaults are intended.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

constexpr ConfigValidator AtLeast(int64_t min) {
  return ConfigValidator{.kind = ValidatorKind::kRange, .min = min};
}
constexpr ConfigValidator Between(int64_t min, int64_t max) {
  return ConfigValidator{.kind = ValidatorKind::kRange, .min = min, .max = max};
}
constexpr ConfigValidator OneOf(std::span<const std::string_view> allowed) {
  return ConfigValidator{.kind = ValidatorKind::kOneOf, .allowed = allowed};
}
constexpr ConfigValidator EachOneOf(std::span<const std::string_view> allowed) {
  return ConfigValidator{.kind = ValidatorKind::kEachOneOf, .allowed = allowed};
}
constexpr ConfigValidator Of(ValidatorKind kind) { return ConfigValidator{.kind = kind}; }

// In the order Kafka lists them in its messages.
constexpr std::string_view kCleanupPolicies[] = {"compact", "delete"};
constexpr std::string_view kCompressionTypes[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"};
constexpr std::string_view kTimestampTypes[] = {"CreateTime", "LogAppendTime"};
constexpr std::string_view kSslClientAuth[] = {"none", "requested", "required"};
constexpr std::string_view kTlsVersions[] = {"TLSv1.2", "TLSv1.3"};
constexpr std::string_view kPemOnly[] = {"PEM"};
constexpr std::string_view kSaslMechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
// Both of Kafka's ACL authorizers name Chronik's (which keeps Kafka's ACL semantics); "" is none.
constexpr std::string_view kAuthorizers[] = {"", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                                             "kafka.security.authorizer.AclAuthorizer"};

constexpr BrokerFallback kFlushMsFallbacks[] = {{"log.flush.scheduler.interval.ms", 1}};
constexpr BrokerFallback kRetentionMsFallbacks[] = {{"log.retention.minutes", 60'000},
                                                    {"log.retention.hours", 3'600'000}};
constexpr BrokerFallback kSegmentJitterMsFallbacks[] = {{"log.roll.jitter.hours", 3'600'000}};
constexpr BrokerFallback kSegmentMsFallbacks[] = {{"log.roll.hours", 3'600'000}};

using T = ConfigType;

constexpr ConfigDef kTopicConfigs[] = {
    {.name = "cleanup.policy", .type = T::kList, .default_value = "delete",
     .validator = EachOneOf(kCleanupPolicies), .broker_synonym = "log.cleanup.policy"},
    {.name = "compression.gzip.level", .type = T::kInt, .default_value = "-1",
     .validator = Of(ValidatorKind::kGzipLevel), .broker_synonym = "compression.gzip.level"},
    {.name = "compression.lz4.level", .type = T::kInt, .default_value = "9",
     .validator = Between(1, 17), .broker_synonym = "compression.lz4.level"},
    {.name = "compression.type", .type = T::kString, .default_value = "producer",
     .validator = OneOf(kCompressionTypes), .broker_synonym = "compression.type"},
    {.name = "compression.zstd.level", .type = T::kInt, .default_value = "3",
     .validator = Between(-131072, 22), .broker_synonym = "compression.zstd.level"},
    {.name = "delete.retention.ms", .type = T::kLong, .default_value = "86400000",
     .validator = AtLeast(0), .broker_synonym = "log.cleaner.delete.retention.ms"},
    {.name = "file.delete.delay.ms", .type = T::kLong, .default_value = "60000",
     .validator = AtLeast(0), .broker_synonym = "log.segment.delete.delay.ms"},
    // Chronik's one departure from Kafka's defaults: it acknowledges only fsync'd data, which is
    // Kafka's flush.messages=1 (with the fsyncs shared by all producers of a group commit).
    {.name = "flush.messages", .type = T::kLong, .default_value = "1",
     .validator = AtLeast(1), .broker_synonym = "log.flush.interval.messages"},
    {.name = "flush.ms", .type = T::kLong, .default_value = kLongMax, .validator = AtLeast(0),
     .broker_synonym = "log.flush.interval.ms", .broker_fallbacks = kFlushMsFallbacks},
    {.name = "follower.replication.throttled.replicas", .type = T::kList, .default_value = "",
     .validator = Of(ValidatorKind::kThrottledReplicas)},
    {.name = "index.interval.bytes", .type = T::kInt, .default_value = "4096",
     .validator = AtLeast(0), .broker_synonym = "log.index.interval.bytes"},
    {.name = "leader.replication.throttled.replicas", .type = T::kList, .default_value = "",
     .validator = Of(ValidatorKind::kThrottledReplicas)},
    {.name = "local.retention.bytes", .type = T::kLong, .default_value = "-2",
     .validator = AtLeast(-2), .broker_synonym = "log.local.retention.bytes"},
    {.name = "local.retention.ms", .type = T::kLong, .default_value = "-2",
     .validator = AtLeast(-2), .broker_synonym = "log.local.retention.ms"},
    {.name = "max.compaction.lag.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(1), .broker_synonym = "log.cleaner.max.compaction.lag.ms"},
    {.name = "max.message.bytes", .type = T::kInt, .default_value = "1048588",
     .validator = AtLeast(0), .broker_synonym = "message.max.bytes"},
    {.name = "message.downconversion.enable", .type = T::kBoolean, .default_value = "true",
     .broker_synonym = "log.message.downconversion.enable"},
    {.name = "message.format.version", .type = T::kString, .default_value = "3.0-IV1",
     .validator = Of(ValidatorKind::kMetadataVersion),
     .broker_synonym = "log.message.format.version"},
    {.name = "message.timestamp.after.max.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(0), .broker_synonym = "log.message.timestamp.after.max.ms"},
    {.name = "message.timestamp.before.max.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(0), .broker_synonym = "log.message.timestamp.before.max.ms"},
    {.name = "message.timestamp.difference.max.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(0), .broker_synonym = "log.message.timestamp.difference.max.ms"},
    {.name = "message.timestamp.type", .type = T::kString, .default_value = "CreateTime",
     .validator = OneOf(kTimestampTypes), .broker_synonym = "log.message.timestamp.type"},
    {.name = "min.cleanable.dirty.ratio", .type = T::kDouble, .default_value = "0.5",
     .validator = Between(0, 1), .broker_synonym = "log.cleaner.min.cleanable.ratio"},
    {.name = "min.compaction.lag.ms", .type = T::kLong, .default_value = "0",
     .validator = AtLeast(0), .broker_synonym = "log.cleaner.min.compaction.lag.ms"},
    {.name = "min.insync.replicas", .type = T::kInt, .default_value = "1",
     .validator = AtLeast(1), .broker_synonym = "min.insync.replicas"},
    {.name = "preallocate", .type = T::kBoolean, .default_value = "false",
     .broker_synonym = "log.preallocate"},
    {.name = "remote.log.copy.disable", .type = T::kBoolean, .default_value = "false"},
    {.name = "remote.log.delete.on.disable", .type = T::kBoolean, .default_value = "false"},
    {.name = "remote.storage.enable", .type = T::kBoolean, .default_value = "false"},
    {.name = "retention.bytes", .type = T::kLong, .default_value = "-1",
     .broker_synonym = "log.retention.bytes"},
    {.name = "retention.ms", .type = T::kLong, .default_value = "604800000",
     .validator = AtLeast(-1), .broker_synonym = "log.retention.ms",
     .broker_fallbacks = kRetentionMsFallbacks},
    // Chronik's: the topic's records are indexed for the search API (docs/SEARCH.md).
    {.name = "searchable", .type = T::kBoolean, .default_value = "false", .broker_synonym = "log.searchable"},
    {.name = "segment.bytes", .type = T::kInt, .default_value = "1073741824",
     .validator = AtLeast(14), .broker_synonym = "log.segment.bytes"},
    {.name = "segment.index.bytes", .type = T::kInt, .default_value = "10485760",
     .validator = AtLeast(4), .broker_synonym = "log.index.size.max.bytes"},
    {.name = "segment.jitter.ms", .type = T::kLong, .default_value = "0", .validator = AtLeast(0),
     .broker_synonym = "log.roll.jitter.ms", .broker_fallbacks = kSegmentJitterMsFallbacks},
    {.name = "segment.ms", .type = T::kLong, .default_value = "604800000",
     .validator = AtLeast(1), .broker_synonym = "log.roll.ms",
     .broker_fallbacks = kSegmentMsFallbacks},
    {.name = "unclean.leader.election.enable", .type = T::kBoolean, .default_value = "false",
     .broker_synonym = "unclean.leader.election.enable"},
};

// read_only marks the configs Kafka cannot change dynamically (AlterConfigs on BROKER).
constexpr ConfigDef kBrokerConfigs[] = {
    {.name = "advertised.listeners", .type = T::kString, .read_only = true},
    {.name = "allow.everyone.if.no.acl.found", .type = T::kBoolean, .default_value = "false", .read_only = true},
    {.name = "authorizer.class.name", .type = T::kString, .default_value = "", .validator = OneOf(kAuthorizers),
     .read_only = true},
    {.name = "auto.create.topics.enable", .type = T::kBoolean, .default_value = "true",
     .read_only = true},
    {.name = "backup.interval.ms", .type = T::kLong, .default_value = "86400000", .validator = AtLeast(1),
     .read_only = true},
    {.name = "backup.retention.count", .type = T::kInt, .default_value = "7", .validator = AtLeast(1),
     .read_only = true},
    {.name = "broker.id", .type = T::kInt, .default_value = "-1", .read_only = true},
    {.name = "compression.gzip.level", .type = T::kInt, .default_value = "-1",
     .validator = Of(ValidatorKind::kGzipLevel)},
    {.name = "compression.lz4.level", .type = T::kInt, .default_value = "9",
     .validator = Between(1, 17)},
    {.name = "compression.type", .type = T::kString, .default_value = "producer",
     .validator = OneOf(kCompressionTypes)},
    {.name = "compression.zstd.level", .type = T::kInt, .default_value = "3",
     .validator = Between(-131072, 22)},
    {.name = "connection.failed.authentication.delay.ms", .type = T::kInt, .default_value = "100",
     .validator = AtLeast(0), .read_only = true},
    {.name = "connections.max.reauth.ms", .type = T::kLong, .default_value = "0", .read_only = true},
    {.name = "default.replication.factor", .type = T::kInt, .default_value = "1",
     .read_only = true},
    {.name = "delete.topic.enable", .type = T::kBoolean, .default_value = "true",
     .read_only = true},
    {.name = "group.initial.rebalance.delay.ms", .type = T::kInt, .default_value = "3000",
     .read_only = true},
    {.name = "group.max.session.timeout.ms", .type = T::kInt, .default_value = "1800000",
     .read_only = true},
    {.name = "group.max.size", .type = T::kInt, .default_value = "2147483647",
     .validator = AtLeast(1), .read_only = true},
    {.name = "group.min.session.timeout.ms", .type = T::kInt, .default_value = "6000",
     .read_only = true},
    {.name = "listener.security.protocol.map", .type = T::kString,
     .default_value = "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", .read_only = true},
    {.name = "listeners", .type = T::kString, .default_value = "PLAINTEXT://:9092",
     .read_only = true},
    {.name = "log.cleaner.backoff.ms", .type = T::kLong, .default_value = "15000",
     .validator = AtLeast(0), .read_only = true},
    {.name = "log.cleaner.delete.retention.ms", .type = T::kLong, .default_value = "86400000",
     .validator = AtLeast(0)},
    {.name = "log.cleaner.enable", .type = T::kBoolean, .default_value = "true",
     .read_only = true},
    {.name = "log.cleaner.io.max.bytes.per.second", .type = T::kDouble,
     .default_value = "1.7976931348623157E308"},
    {.name = "log.cleaner.max.compaction.lag.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(1)},
    {.name = "log.cleaner.min.cleanable.ratio", .type = T::kDouble, .default_value = "0.5",
     .validator = Between(0, 1)},
    {.name = "log.cleaner.min.compaction.lag.ms", .type = T::kLong, .default_value = "0",
     .validator = AtLeast(0)},
    {.name = "log.cleanup.policy", .type = T::kList, .default_value = "delete",
     .validator = EachOneOf(kCleanupPolicies)},
    {.name = "log.dir", .type = T::kString, .default_value = "/tmp/kafka-logs",
     .read_only = true},
    {.name = "log.dirs", .type = T::kString, .read_only = true},
    {.name = "log.flush.interval.messages", .type = T::kLong, .default_value = "1",
     .validator = AtLeast(1)},
    {.name = "log.flush.interval.ms", .type = T::kLong},
    {.name = "log.flush.scheduler.interval.ms", .type = T::kLong, .default_value = kLongMax,
     .read_only = true},
    {.name = "log.index.interval.bytes", .type = T::kInt, .default_value = "4096",
     .validator = AtLeast(0)},
    {.name = "log.index.size.max.bytes", .type = T::kInt, .default_value = "10485760",
     .validator = AtLeast(4)},
    {.name = "log.local.retention.bytes", .type = T::kLong, .default_value = "-2",
     .validator = AtLeast(-2)},
    {.name = "log.local.retention.ms", .type = T::kLong, .default_value = "-2",
     .validator = AtLeast(-2)},
    {.name = "log.message.downconversion.enable", .type = T::kBoolean, .default_value = "true"},
    {.name = "log.message.format.version", .type = T::kString, .default_value = "3.0-IV1",
     .validator = Of(ValidatorKind::kMetadataVersion), .read_only = true},
    {.name = "log.message.timestamp.after.max.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(0)},
    {.name = "log.message.timestamp.before.max.ms", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(0)},
    {.name = "log.message.timestamp.difference.max.ms", .type = T::kLong,
     .default_value = kLongMax, .validator = AtLeast(0)},
    {.name = "log.message.timestamp.type", .type = T::kString, .default_value = "CreateTime",
     .validator = OneOf(kTimestampTypes)},
    {.name = "log.preallocate", .type = T::kBoolean, .default_value = "false"},
    {.name = "log.retention.bytes", .type = T::kLong, .default_value = "-1"},
    {.name = "log.retention.check.interval.ms", .type = T::kLong, .default_value = "300000",
     .validator = AtLeast(1), .read_only = true},
    {.name = "log.retention.hours", .type = T::kInt, .default_value = "168", .read_only = true},
    {.name = "log.retention.minutes", .type = T::kInt, .read_only = true},
    {.name = "log.retention.ms", .type = T::kLong},
    {.name = "log.roll.hours", .type = T::kInt, .default_value = "168", .validator = AtLeast(1),
     .read_only = true},
    {.name = "log.roll.jitter.hours", .type = T::kInt, .default_value = "0",
     .validator = AtLeast(0), .read_only = true},
    {.name = "log.roll.jitter.ms", .type = T::kLong},
    {.name = "log.roll.ms", .type = T::kLong},
    // Chronik's: the default of the topic config `searchable`, from --enable-search.
    {.name = "log.searchable", .type = T::kBoolean, .default_value = "false", .read_only = true},
    {.name = "log.segment.bytes", .type = T::kInt, .default_value = "1073741824",
     .validator = AtLeast(14)},
    {.name = "log.segment.delete.delay.ms", .type = T::kLong, .default_value = "60000",
     .validator = AtLeast(0)},
    {.name = "message.max.bytes", .type = T::kInt, .default_value = "1048588",
     .validator = AtLeast(0)},
    {.name = "min.insync.replicas", .type = T::kInt, .default_value = "1",
     .validator = AtLeast(1)},
    {.name = "node.id", .type = T::kInt, .default_value = "-1", .read_only = true},
    {.name = "num.io.threads", .type = T::kInt, .default_value = "8", .validator = AtLeast(1)},
    {.name = "num.network.threads", .type = T::kInt, .default_value = "3",
     .validator = AtLeast(1)},
    {.name = "num.partitions", .type = T::kInt, .default_value = "1", .validator = AtLeast(1),
     .read_only = true},
    {.name = "offset.metadata.max.bytes", .type = T::kInt, .default_value = "4096",
     .read_only = true},
    {.name = "offsets.retention.check.interval.ms", .type = T::kLong, .default_value = "600000",
     .validator = AtLeast(1), .read_only = true},
    {.name = "offsets.retention.minutes", .type = T::kInt, .default_value = "10080",
     .validator = AtLeast(1), .read_only = true},
    {.name = "offsets.topic.num.partitions", .type = T::kInt, .default_value = "50",
     .validator = AtLeast(1), .read_only = true},
    {.name = "offsets.topic.replication.factor", .type = T::kShort, .default_value = "3",
     .validator = AtLeast(1), .read_only = true},
    {.name = "producer.id.expiration.ms", .type = T::kInt, .default_value = "86400000",
     .validator = AtLeast(1), .read_only = true},
    {.name = "queued.max.request.bytes", .type = T::kLong, .default_value = "-1",
     .read_only = true},
    {.name = "queued.max.requests", .type = T::kInt, .default_value = "500",
     .validator = AtLeast(1), .read_only = true},
    {.name = "remote.log.manager.copy.max.bytes.per.second", .type = T::kLong, .default_value = kLongMax,
     .validator = AtLeast(1)},
    {.name = "remote.log.manager.task.interval.ms", .type = T::kLong, .default_value = "30000",
     .validator = AtLeast(1), .read_only = true},
    {.name = "remote.log.reader.cache.bytes", .type = T::kLong, .default_value = "67108864",
     .validator = AtLeast(1048576), .read_only = true},
    {.name = "remote.log.reader.fetch.bytes", .type = T::kInt, .default_value = "8388608",
     .validator = AtLeast(65536), .read_only = true},
    {.name = "remote.log.reader.threads", .type = T::kInt, .default_value = "10", .validator = AtLeast(1),
     .read_only = true},
    {.name = "remote.log.storage.manager.impl.prefix", .type = T::kString, .default_value = "rsm.config.",
     .read_only = true},
    {.name = "remote.log.storage.system.enable", .type = T::kBoolean, .default_value = "false",
     .read_only = true},
    // The object store of tiered storage and backups, by their Kafka-style names
    // (chronik_storage/object_store/store_settings.h); the environment's values are described too.
    {.name = "rsm.config.aws.access.key.id", .type = T::kString, .read_only = true},
    {.name = "rsm.config.aws.secret.access.key", .type = T::kPassword, .read_only = true, .sensitive = true},
    {.name = "rsm.config.azure.container", .type = T::kString, .read_only = true},
    {.name = "rsm.config.azure.storage.account", .type = T::kString, .read_only = true},
    {.name = "rsm.config.azure.storage.endpoint", .type = T::kString, .read_only = true},
    {.name = "rsm.config.azure.storage.key", .type = T::kPassword, .read_only = true, .sensitive = true},
    {.name = "rsm.config.local.storage.path", .type = T::kString, .read_only = true},
    {.name = "rsm.config.object.store.ca.file", .type = T::kString, .read_only = true},
    {.name = "rsm.config.s3.bucket", .type = T::kString, .read_only = true},
    {.name = "rsm.config.s3.checksums", .type = T::kString, .read_only = true},
    {.name = "rsm.config.s3.endpoint", .type = T::kString, .read_only = true},
    {.name = "rsm.config.s3.path.style", .type = T::kString, .read_only = true},
    {.name = "rsm.config.s3.region", .type = T::kString, .read_only = true},
    {.name = "rsm.config.storage.backend", .type = T::kString, .read_only = true},
    {.name = "sasl.enabled.mechanisms", .type = T::kList, .default_value = "SCRAM-SHA-256,SCRAM-SHA-512",
     .validator = EachOneOf(kSaslMechanisms), .read_only = true},
    {.name = "sasl.server.max.receive.size", .type = T::kInt, .default_value = "524288", .validator = AtLeast(1),
     .read_only = true},
    {.name = "socket.request.max.bytes", .type = T::kInt, .default_value = "104857600",
     .validator = AtLeast(1), .read_only = true},
    {.name = "ssl.cipher.suites", .type = T::kList, .default_value = "", .read_only = true},
    {.name = "ssl.client.auth", .type = T::kString, .default_value = "none", .validator = OneOf(kSslClientAuth),
     .read_only = true},
    {.name = "ssl.enabled.protocols", .type = T::kList, .default_value = "TLSv1.2,TLSv1.3",
     .validator = EachOneOf(kTlsVersions), .read_only = true},
    {.name = "ssl.key.password", .type = T::kPassword, .read_only = true, .sensitive = true},
    {.name = "ssl.keystore.certificate.chain", .type = T::kPassword, .read_only = true, .sensitive = true},
    {.name = "ssl.keystore.key", .type = T::kPassword, .read_only = true, .sensitive = true},
    {.name = "ssl.keystore.location", .type = T::kString, .read_only = true},
    {.name = "ssl.keystore.type", .type = T::kString, .default_value = "PEM", .validator = OneOf(kPemOnly),
     .read_only = true},
    {.name = "ssl.principal.mapping.rules", .type = T::kString, .default_value = "DEFAULT", .read_only = true},
    {.name = "ssl.truststore.certificates", .type = T::kPassword, .read_only = true, .sensitive = true},
    {.name = "ssl.truststore.location", .type = T::kString, .read_only = true},
    {.name = "ssl.truststore.type", .type = T::kString, .default_value = "PEM", .validator = OneOf(kPemOnly),
     .read_only = true},
    {.name = "super.users", .type = T::kString, .default_value = "", .read_only = true},
    {.name = "transaction.abort.timed.out.transaction.cleanup.interval.ms", .type = T::kInt,
     .default_value = "10000", .validator = AtLeast(1), .read_only = true},
    {.name = "transaction.max.timeout.ms", .type = T::kInt, .default_value = "900000",
     .validator = AtLeast(1), .read_only = true},
    {.name = "transaction.partition.verification.enable", .type = T::kBoolean,
     .default_value = "true", .read_only = true},
    {.name = "transaction.state.log.min.isr", .type = T::kInt, .default_value = "2",
     .validator = AtLeast(1), .read_only = true},
    {.name = "transaction.state.log.num.partitions", .type = T::kInt, .default_value = "50",
     .validator = AtLeast(1), .read_only = true},
    {.name = "transaction.state.log.replication.factor", .type = T::kShort,
     .default_value = "3", .validator = AtLeast(1), .read_only = true},
    {.name = "transactional.id.expiration.ms", .type = T::kInt, .default_value = "604800000",
     .validator = AtLeast(1), .read_only = true},
    {.name = "unclean.leader.election.enable", .type = T::kBoolean, .default_value = "false"},
};

// The names MetadataVersion.fromVersionString accepts (Kafka 3.9): every IBP version, and
// the bare release of every production version (3.9-IV0 is the latest production one).
constexpr std::string_view kMetadataVersions[] = {
    "0.8.0",      "0.8.1",      "0.8.2",      "0.9.0",      "0.10.0",     "0.10.0-IV0",
    "0.10.0-IV1", "0.10.1",     "0.10.1-IV0", "0.10.1-IV1", "0.10.1-IV2", "0.10.2",
    "0.10.2-IV0", "0.11.0",     "0.11.0-IV0", "0.11.0-IV1", "0.11.0-IV2", "1.0",
    "1.0-IV0",    "1.1",        "1.1-IV0",    "2.0",        "2.0-IV0",    "2.0-IV1",
    "2.1",        "2.1-IV0",    "2.1-IV1",    "2.1-IV2",    "2.2",        "2.2-IV0",
    "2.2-IV1",    "2.3",        "2.3-IV0",    "2.3-IV1",    "2.4",        "2.4-IV0",
    "2.4-IV1",    "2.5",        "2.5-IV0",    "2.6",        "2.6-IV0",    "2.7",
    "2.7-IV0",    "2.7-IV1",    "2.7-IV2",    "2.8",        "2.8-IV0",    "2.8-IV1",
    "3.0",        "3.0-IV0",    "3.0-IV1",    "3.1",        "3.1-IV0",    "3.2",
    "3.2-IV0",    "3.3",        "3.3-IV0",    "3.3-IV1",    "3.3-IV2",    "3.3-IV3",
    "3.4",        "3.4-IV0",    "3.5",        "3.5-IV0",    "3.5-IV1",    "3.5-IV2",
    "3.6",        "3.6-IV0",    "3.6-IV1",    "3.6-IV2",    "3.7",        "3.7-IV0",
    "3.7-IV1",    "3.7-IV2",    "3.7-IV3",    "3.7-IV4",    "3.8",        "3.8-IV0",
    "3.9",        "3.9-IV0",    "4.0-IV0",    "4.0-IV1",
};

#pragma GCC diagnostic pop

const ConfigDef* FindIn(std::span<const ConfigDef> table, std::string_view name) {
  const auto it = std::lower_bound(table.begin(), table.end(), name,
                                   [](const ConfigDef& def, std::string_view n) {
                                     return def.name < n;
                                   });
  return it != table.end() && it->name == name ? &*it : nullptr;
}

absl::Status InvalidValue(std::string_view value, std::string_view name,
                          std::string_view message) {
  return absl::InvalidArgumentError("Invalid value " + std::string(value) +
                                    " for configuration " + std::string(name) + ": " +
                                    std::string(message));
}

bool IsValidMetadataVersion(std::string_view version) {
  // MetadataVersion.fromVersionString: keep 3 dot-separated segments of a "0.x" version and 2
  // of any other, then look the key up.
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    const size_t dot = version.find('.', start);
    segments.push_back(version.substr(start, dot == std::string_view::npos ? version.npos
                                                                            : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!version.empty()) {
    while (!segments.empty() && segments.back().empty()) segments.pop_back();
  }
  const size_t keep = version.starts_with("0.") ? 3 : 2;
  std::string key(version);
  if (segments.size() > keep) {
    key.clear();
    for (size_t i = 0; i < keep; ++i) {
      if (i > 0) key += '.';
      key += segments[i];
    }
  }
  return std::find(std::begin(kMetadataVersions), std::end(kMetadataVersions), key) !=
         std::end(kMetadataVersions);
}

bool IsThrottledReplicaElement(std::string_view s) {  // ([0-9]+:[0-9]+)?
  if (s.empty()) return true;
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != colon && (s[i] < '0' || s[i] > '9')) return false;
  }
  return true;
}

absl::Status CheckRange(const ConfigDef& def, double value, std::string_view printed) {
  const ConfigValidator& v = def.validator;
  if (v.min && value < static_cast<double>(*v.min)) {
    return InvalidValue(printed, def.name, "Value must be at least " + std::to_string(*v.min));
  }
  if (v.max && value > static_cast<double>(*v.max)) {
    return InvalidValue(printed, def.name,
                        "Value must be no more than " + std::to_string(*v.max));
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view ConfigTypeName(ConfigType type) {
  switch (type) {
    case ConfigType::kBoolean: return "BOOLEAN";
    case ConfigType::kString: return "STRING";
    case ConfigType::kInt: return "INT";
    case ConfigType::kShort: return "SHORT";
    case ConfigType::kLong: return "LONG";
    case ConfigType::kDouble: return "DOUBLE";
    case ConfigType::kList: return "LIST";
    case ConfigType::kClass: return "CLASS";
    case ConfigType::kPassword: return "PASSWORD";
    case ConfigType::kUnknown: break;
  }
  return "UNKNOWN";
}

std::span<const ConfigDef> TopicConfigs() { return kTopicConfigs; }
const ConfigDef* FindTopicConfig(std::string_view name) { return FindIn(kTopicConfigs, name); }
std::span<const ConfigDef> BrokerConfigs() { return kBrokerConfigs; }
const ConfigDef* FindBrokerConfig(std::string_view name) { return FindIn(kBrokerConfigs, name); }

std::vector<std::string> SplitListValue(std::string_view value) {
  std::vector<std::string> parts;
  const std::string_view trimmed = JavaTrim(value);
  if (trimmed.empty()) return parts;
  // Split on \s*,\s* keeping empty elements (limit -1).
  size_t start = 0;
  while (true) {
    const size_t comma = trimmed.find(',', start);
    std::string_view part =
        trimmed.substr(start, comma == std::string_view::npos ? trimmed.npos : comma - start);
    if (start > 0) {
      while (!part.empty() && IsRegexSpace(part.front())) part.remove_prefix(1);
    }
    if (comma != std::string_view::npos) {
      while (!part.empty() && IsRegexSpace(part.back())) part.remove_suffix(1);
    }
    parts.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

namespace {

absl::StatusOr<std::string> NormalizeTyped(const ConfigDef& def, std::string_view value);

// Values Kafka acts on and Chronik does not (yet): refused with the reason, rather than stored and
// described as if they worked. Each default is the supported value.
struct SupportedOnly {
  std::string_view name;
  std::string_view value;
  std::string_view why;
};
constexpr SupportedOnly kSupportedOnly[] = {
    // Topic and broker config alike: Kafka would recompress to the codec named.
    {"compression.type", "producer", "Chronik stores batches as produced and does not recompress them"},
    {"log.preallocate", "false", "Chronik does not preallocate segment files"},
    {"log.roll.jitter.hours", "0", "Chronik rolls segments without jitter"},
    {"log.roll.jitter.ms", "0", "Chronik rolls segments without jitter"},
    {"preallocate", "false", "Chronik does not preallocate segment files"},
    {"remote.log.copy.disable", "false", "Chronik copies every tiered topic's rolled segments"},
    {"remote.log.delete.on.disable", "false", "Chronik keeps a topic's remote data when tiering is turned off"},
    {"remote.log.storage.manager.impl.prefix", "rsm.config.",
     "Chronik's built-in remote storage takes its settings as rsm.config.*"},
    {"segment.jitter.ms", "0", "Chronik rolls segments without jitter"},
};

}  // namespace

absl::StatusOr<std::string> NormalizeConfigValue(const ConfigDef& def, std::string_view value) {
  absl::StatusOr<std::string> normalized = NormalizeTyped(def, value);
  if (!normalized.ok()) return normalized;
  for (const SupportedOnly& only : kSupportedOnly) {
    if (only.name == def.name && *normalized != only.value) {
      return InvalidValue(value, def.name,
                          std::string(only.why) + "; the only supported value is " + std::string(only.value));
    }
  }
  return normalized;
}

namespace {

absl::StatusOr<std::string> NormalizeTyped(const ConfigDef& def, std::string_view value) {
  const std::string_view trimmed = JavaTrim(value);
  const ConfigValidator& v = def.validator;
  const auto not_a_number = [&] {
    return InvalidValue(value, def.name,
                        "Not a number of type " + std::string(ConfigTypeName(def.type)));
  };
  switch (def.type) {
    case ConfigType::kBoolean:
      if (EqualsIgnoreCase(trimmed, "true")) return std::string("true");
      if (EqualsIgnoreCase(trimmed, "false")) return std::string("false");
      return InvalidValue(value, def.name, "Expected value to be either true or false");

    case ConfigType::kShort:
    case ConfigType::kInt:
    case ConfigType::kLong: {
      int64_t min = std::numeric_limits<int64_t>::min();
      int64_t max = std::numeric_limits<int64_t>::max();
      if (def.type == ConfigType::kInt) {
        min = std::numeric_limits<int32_t>::min();
        max = std::numeric_limits<int32_t>::max();
      } else if (def.type == ConfigType::kShort) {
        min = std::numeric_limits<int16_t>::min();
        max = std::numeric_limits<int16_t>::max();
      }
      const std::optional<int64_t> parsed = ParseJavaInteger(trimmed, min, max);
      if (!parsed) return not_a_number();
      std::string text = std::to_string(*parsed);
      if (v.kind == ValidatorKind::kRange) {
        absl::Status status = CheckRange(def, static_cast<double>(*parsed), text);
        if (!status.ok()) return status;
      } else if (v.kind == ValidatorKind::kGzipLevel) {
        if (*parsed > 9 || (*parsed < 1 && *parsed != -1)) {
          return InvalidValue(text, def.name, "Value must be between 1 and 9 or equal to -1");
        }
      }
      return text;
    }

    case ConfigType::kDouble: {
      const std::optional<double> parsed = ParseJavaDouble(trimmed);
      if (!parsed) return not_a_number();
      std::string text = JavaDoubleToString(*parsed);
      if (v.kind == ValidatorKind::kRange) {
        absl::Status status = CheckRange(def, *parsed, text);
        if (!status.ok()) return status;
      }
      return text;
    }

    case ConfigType::kList: {
      const std::vector<std::string> parts = SplitListValue(value);
      if (v.kind == ValidatorKind::kEachOneOf) {
        for (const std::string& part : parts) {
          if (std::find(v.allowed.begin(), v.allowed.end(), part) == v.allowed.end()) {
            return InvalidValue(part, def.name,
                                "String must be one of: " + Join(v.allowed, ", "));
          }
        }
      } else if (v.kind == ValidatorKind::kThrottledReplicas) {
        bool all_replicas = true;
        std::string joined;
        for (const std::string& part : parts) {
          const std::string_view element = JavaTrim(part);
          all_replicas = all_replicas && IsThrottledReplicaElement(element);
          joined += element;
        }
        if (!all_replicas && joined != "*") {
          return InvalidValue("[" + Join(parts, ", ") + "]", def.name,
                              std::string(def.name) +
                                  " must be the literal '*' or a list of replicas in the "
                                  "following format: [partitionId]:[brokerId],[partitionId]:"
                                  "[brokerId],...");
        }
      }
      return Join(parts, ",");
    }

    case ConfigType::kString:
    case ConfigType::kPassword:
    case ConfigType::kClass:
    case ConfigType::kUnknown: {
      std::string text(trimmed);
      if (v.kind == ValidatorKind::kOneOf &&
          std::find(v.allowed.begin(), v.allowed.end(), trimmed) == v.allowed.end()) {
        return InvalidValue(text, def.name, "String must be one of: " + Join(v.allowed, ", "));
      }
      if (v.kind == ValidatorKind::kMetadataVersion && !IsValidMetadataVersion(trimmed)) {
        return InvalidValue(text, def.name, "Version " + text + " is not a valid version");
      }
      return text;
    }
  }
  return std::string(trimmed);
}

}  // namespace

absl::Status ValidateConfigValue(const ConfigDef& def, std::string_view value) {
  return NormalizeConfigValue(def, value).status();
}

absl::Status ValidateTopicConfig(std::string_view name, std::string_view value) {
  const ConfigDef* def = FindTopicConfig(name);
  if (def == nullptr) {
    return absl::InvalidArgumentError("Unknown topic config name: " + std::string(name));
  }
  return ValidateConfigValue(*def, value);
}

}  // namespace chronik::ingest
