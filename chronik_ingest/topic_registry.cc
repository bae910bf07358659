#include "chronik_ingest/topic_registry.h"

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include "chronik_ingest/kafka_error.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using storage::PartitionId;
using storage::TopicPartition;

constexpr size_t kMaxNameLength = 249;
constexpr int64_t kLongMax = INT64_MAX;

std::string HexId(const protocol::Uuid& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : id) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<protocol::Uuid> ParseHexId(const std::string& s) {
  if (s.size() != 32) return std::nullopt;
  protocol::Uuid id{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    const int hi = nibble(s[2 * i]);
    const int lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

// A random (version 4) UUID. Kafka reserves the all-zero id and the one with only the last bit
// set; version bits make both impossible here.
protocol::Uuid NewTopicId() {
  std::random_device rd;
  protocol::Uuid id{};
  for (auto& b : id) b = static_cast<uint8_t>(rd());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);
  return id;
}

std::string Serialize(const Topic& t) {
  nlohmann::json j;
  j["id"] = HexId(t.id);
  j["partitions"] = t.partitions;
  nlohmann::json configs = nlohmann::json::object();
  for (const auto& [k, v] : t.configs.overrides()) configs[k] = v;
  j["configs"] = configs;
  return j.dump();
}

// Collisions through '.' and '_' matter because metric names replace one by the other.
std::string Unify(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.') c = '_';
  }
  return out;
}

}  // namespace

TopicRegistry::TopicRegistry(storage::MetadataStore& store, storage::LogManager& logs,
                             const BrokerConfigValues& broker)
    : store_(store), logs_(logs), broker_(broker) {}

absl::Status TopicRegistry::ValidateName(std::string_view name) {
  auto invalid = [&](const std::string& why) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidTopicException,
                      "Topic name \"" + std::string(name) + "\" is illegal, " + why);
  };
  if (name.empty()) return invalid("it can't be empty");
  if (name == "." || name == "..") return invalid("it cannot be \".\" or \"..\"");
  if (name.size() > kMaxNameLength) {
    return invalid("it can't be longer than " + std::to_string(kMaxNameLength) + " characters");
  }
  // The storage layer owns the rule (it names directories after topics); the checks above only
  // give the common failures Kafka's messages.
  if (!storage::IsValidTopicName(std::string(name))) {
    return invalid("it contains a character other than ASCII alphanumerics, '.', '_' and '-'");
  }
  return absl::OkStatus();
}

TimestampLimits TopicRegistry::ToTimestampLimits(const TopicConfigSet& c) {
  TimestampLimits t;
  t.create_time = c.Get<std::string>("message.timestamp.type") == "CreateTime";
  const int64_t difference = c.Get<int64_t>("message.timestamp.difference.max.ms");
  t.before_max_ms = std::min(c.Get<int64_t>("message.timestamp.before.max.ms"), difference);
  t.after_max_ms = std::min(c.Get<int64_t>("message.timestamp.after.max.ms"), difference);
  return t;
}

storage::LogConfig TopicRegistry::ToLogConfig(const TopicConfigSet& c) {
  storage::LogConfig l;
  l.segment_bytes = c.Get<int32_t>("segment.bytes");
  l.segment_ms = c.Get<int64_t>("segment.ms");
  l.segment_index_bytes = c.Get<int32_t>("segment.index.bytes");
  l.index_interval_bytes = c.Get<int32_t>("index.interval.bytes");
  l.retention_ms = c.Get<int64_t>("retention.ms");
  l.retention_bytes = c.Get<int64_t>("retention.bytes");
  l.max_message_bytes = c.Get<int32_t>("max.message.bytes");
  l.remote_storage = c.Get<bool>("remote.storage.enable");
  l.local_retention_ms = c.Get<int64_t>("local.retention.ms");
  l.local_retention_bytes = c.Get<int64_t>("local.retention.bytes");
  l.log_append_time = c.Get<std::string>("message.timestamp.type") == "LogAppendTime";
  const std::vector<std::string> policy = c.Get<std::vector<std::string>>("cleanup.policy");
  l.cleanup_delete = std::find(policy.begin(), policy.end(), "delete") != policy.end();
  l.cleanup_compact = std::find(policy.begin(), policy.end(), "compact") != policy.end();
  l.delete_retention_ms = c.Get<int64_t>("delete.retention.ms");
  l.min_compaction_lag_ms = c.Get<int64_t>("min.compaction.lag.ms");
  l.min_cleanable_dirty_ratio = c.Get<double>("min.cleanable.dirty.ratio");
  l.max_compaction_lag_ms = c.Get<int64_t>("max.compaction.lag.ms");
  // flush.messages=1 (the default) is the durable policy; anything else trades it for speed.
  const int64_t flush_messages = c.Get<int64_t>("flush.messages");
  const int64_t flush_ms = c.Get<int64_t>("flush.ms");
  if (flush_messages != 1 || flush_ms != kLongMax) {
    l.flush_messages = flush_messages;
    if (flush_ms != kLongMax) l.flush_ms = flush_ms;
  }
  return l;
}

absl::Status TopicRegistry::EnsureLogs(const Topic& topic) {
  const storage::LogConfig config = ToLogConfig(topic.configs);
  for (int32_t p = 0; p < topic.partitions; ++p) {
    const TopicPartition tp{topic.name, PartitionId(p)};
    if (std::shared_ptr<storage::PartitionLog> log = logs_.Get(tp)) {
      log->UpdateConfig(config);
      continue;
    }
    absl::StatusOr<std::shared_ptr<storage::PartitionLog>> created = logs_.Create(tp, config);
    if (!created.ok()) return created.status();
  }
  return absl::OkStatus();
}

absl::Status TopicRegistry::Load() {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::map<std::string, std::shared_ptr<const Topic>, std::less<>> loaded;
  for (const auto& [name, value] : store_.Scan(kNamespace)) {
    nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    std::optional<protocol::Uuid> id;
    if (j.is_object() && j["id"].is_string()) id = ParseHexId(j["id"].get<std::string>());
    if (!id.has_value() || !j["partitions"].is_number_integer() || !j["configs"].is_object()) {
      return absl::DataLossError("metadata of topic " + name + " is unreadable");
    }
    std::map<std::string, std::string> overrides;
    for (auto it = j["configs"].begin(); it != j["configs"].end(); ++it) {
      if (it.value().is_string()) overrides[it.key()] = it.value().get<std::string>();
    }
    // A value an older Chronik accepted and this one refuses (a codec for compression.type, say)
    // must not keep the broker from starting: the topic goes on with that setting's default.
    for (auto it = overrides.begin(); it != overrides.end();) {
      if (absl::Status v = ValidateTopicConfig(it->first, it->second); !v.ok()) {
        spdlog::warn("topic {}: dropping its stored {}={}: {}", name, it->first, it->second, std::string(v.message()));
        it = overrides.erase(it);
      } else {
        ++it;
      }
    }
    absl::StatusOr<TopicConfigSet> configs = TopicConfigSet::Create(overrides, broker_);
    if (!configs.ok()) {
      return absl::DataLossError("stored configs of topic " + name + " no longer validate: " +
                                 std::string(configs.status().message()));
    }
    auto topic = std::make_shared<Topic>(Topic{name, *id, j["partitions"].get<int32_t>(), *std::move(configs), {}});
    Derive(*topic);
    if (absl::Status s = EnsureLogs(*topic); !s.ok()) return s;
    loaded.emplace(name, std::move(topic));
  }
  // Logs without a topic: a delete that stopped between its metadata write and its log deletion.
  int removed = 0;
  for (const TopicPartition& tp : logs_.partitions()) {
    auto it = loaded.find(tp.topic);
    if (it == loaded.end() || tp.partition.value() >= it->second->partitions) {
      if (absl::Status s = logs_.Delete(tp); !s.ok()) return s;
      ++removed;
    }
  }
  spdlog::info("loaded {} topics{}", loaded.size(),
               removed > 0 ? " (removed " + std::to_string(removed) + " partition logs of deleted topics)" : "");
  std::lock_guard<std::mutex> lock(mu_);
  topics_ = std::move(loaded);
  return absl::OkStatus();
}

void TopicRegistry::Derive(Topic& topic) {
  topic.timestamps = ToTimestampLimits(topic.configs);
  topic.downconversion = topic.configs.Get<bool>("message.downconversion.enable");
  topic.min_insync_replicas = topic.configs.Get<int32_t>("min.insync.replicas");
}

absl::StatusOr<std::shared_ptr<const Topic>> TopicRegistry::Persist(Topic topic) {
  Derive(topic);
  auto shared = std::make_shared<const Topic>(std::move(topic));
  absl::StatusOr<int64_t> rev =
      store_.Apply({storage::MetadataOp::Put(std::string(kNamespace), shared->name, Serialize(*shared))});
  if (!rev.ok()) return WithKafkaError(rev.status(), ErrorCode::kKafkaStorageError);
  if (absl::Status s = EnsureLogs(*shared); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  topics_[shared->name] = shared;
  return shared;
}

absl::StatusOr<std::shared_ptr<const Topic>> TopicRegistry::Create(const std::string& name, int32_t partitions,
                                                                   const std::map<std::string, std::string>& configs,
                                                                   bool validate_only) {
  if (absl::Status s = ValidateName(name); !s.ok()) return s;
  if (partitions < 1) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidPartitions,
                      "Number of partitions must be larger than 0.");
  }
  absl::StatusOr<TopicConfigSet> config_set = TopicConfigSet::Create(configs, broker_);
  if (!config_set.ok()) {
    return WithKafkaError(config_set.status(), config_set.status().code() == absl::StatusCode::kInvalidArgument
                                                   ? ErrorCode::kInvalidConfig
                                                   : ErrorCode::kInvalidRequest);
  }
  std::lock_guard<std::mutex> admin(admin_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (topics_.count(name) != 0) {
      return KafkaError(absl::StatusCode::kAlreadyExists, ErrorCode::kTopicAlreadyExists,
                        "Topic '" + name + "' already exists.");
    }
    const std::string unified = Unify(name);
    for (const auto& [existing, t] : topics_) {
      if (Unify(existing) == unified) {
        return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidTopicException,
                          "Topic '" + name + "' collides with existing topic: " + existing);
      }
    }
  }
  Topic topic{name, NewTopicId(), partitions, *std::move(config_set), {}};
  if (validate_only) return std::make_shared<const Topic>(std::move(topic));
  return Persist(std::move(topic));
}

absl::Status TopicRegistry::Delete(const std::string& name) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::shared_ptr<const Topic> topic = Find(name);
  if (topic == nullptr) {
    return KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                      "This server does not host this topic: " + name);
  }
  std::vector<storage::MetadataOp> ops = {storage::MetadataOp::Delete(std::string(kNamespace), name)};
  if (deletion_records_) {
    for (storage::MetadataOp& op : deletion_records_(name, HexId(topic->id), topic->partitions)) ops.push_back(std::move(op));
  }
  absl::StatusOr<int64_t> rev = store_.Apply(std::move(ops));
  if (!rev.ok()) return WithKafkaError(rev.status(), ErrorCode::kKafkaStorageError);
  {
    std::lock_guard<std::mutex> lock(mu_);
    topics_.erase(name);
  }
  // Once the record is gone the topic is gone; a crash from here on is finished by Load().
  for (int32_t p = 0; p < topic->partitions; ++p) {
    if (absl::Status s = logs_.Delete(TopicPartition{name, PartitionId(p)}); !s.ok()) {
      spdlog::warn("topic {} deleted, but its partition {} log was not: {}", name, p, std::string(s.message()));
    }
  }
  if (on_deleted_) on_deleted_(name);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Topic>> TopicRegistry::AddPartitions(const std::string& name, int32_t total,
                                                                          bool validate_only) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::shared_ptr<const Topic> topic = Find(name);
  if (topic == nullptr) {
    return KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                      "The topic '" + name + "' does not exist.");
  }
  if (total <= topic->partitions) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidPartitions,
                      "Topic currently has " + std::to_string(topic->partitions) +
                          " partitions, which is higher than the requested " + std::to_string(total) + ".");
  }
  Topic grown = *topic;
  grown.partitions = total;
  if (validate_only) return std::make_shared<const Topic>(std::move(grown));
  return Persist(std::move(grown));
}

absl::StatusOr<std::shared_ptr<const Topic>> TopicRegistry::SetConfigs(const std::string& name,
                                                                       TopicConfigSet configs) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::shared_ptr<const Topic> topic = Find(name);
  if (topic == nullptr) {
    return KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                      "The topic '" + name + "' does not exist.");
  }
  Topic changed = *topic;
  changed.configs = std::move(configs);
  return Persist(std::move(changed));
}

std::shared_ptr<const Topic> TopicRegistry::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::shared_ptr<const Topic> TopicRegistry::FindById(const protocol::Uuid& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, t] : topics_) {
    if (t->id == id) return t;
  }
  return nullptr;
}

std::vector<std::shared_ptr<const Topic>> TopicRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Topic>> out;
  out.reserve(topics_.size());
  for (const auto& [name, t] : topics_) out.push_back(t);
  return out;
}

std::shared_ptr<storage::PartitionLog> TopicRegistry::Log(std::string_view topic, int32_t partition) const {
  return logs_.Get(TopicPartition{std::string(topic), PartitionId(partition)});
}

}  // namespace chronik::ingest
