#pragma once

// The broker's topics: names, ids, partition counts and configs, kept in the metadata store and
// backed by one partition log per partition. Creating or deleting a topic writes the metadata
// first (one atomic, durable record) and then the logs, and Load() reconciles the two after a
// crash between the steps, so a topic never half exists.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_ingest/configs.h"
#include "chronik_protocol/wire.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"

namespace chronik::ingest {

// The CreateTime window Produce enforces: message.timestamp.before/after.max.ms, each bounded by
// the deprecated message.timestamp.difference.max.ms. Unbounded (INT64_MAX) by default.
struct TimestampLimits {
  bool create_time = true;  // message.timestamp.type; LogAppendTime topics check nothing
  int64_t before_max_ms = INT64_MAX;
  int64_t after_max_ms = INT64_MAX;
};

struct Topic {
  std::string name;
  protocol::Uuid id;
  int32_t partitions;
  TopicConfigSet configs;
  // Derived from `configs` whenever the registry stores or loads the topic, so that Produce and
  // Fetch do not parse configs per request.
  TimestampLimits timestamps;
  bool downconversion = true;    // message.downconversion.enable
  int32_t min_insync_replicas = 1;  // min.insync.replicas
};

class TopicRegistry {
 public:
  // The namespace of the metadata store that holds one record per topic.
  static constexpr std::string_view kNamespace = "topics";

  TopicRegistry(storage::MetadataStore& store, storage::LogManager& logs, const BrokerConfigValues& broker);

  // Reads every topic from the store and makes the partition logs match: creates the ones
  // missing, deletes logs of topics that no longer exist.
  absl::Status Load();

  // Kafka's rules: a legal, unused name (no collision through '.' vs '_'), partitions >= 1,
  // valid configs. With validate_only nothing changes. Errors carry Kafka's error code
  // (see kafka_error.h).
  absl::StatusOr<std::shared_ptr<const Topic>> Create(const std::string& name, int32_t partitions,
                                                      const std::map<std::string, std::string>& configs,
                                                      bool validate_only);
  absl::Status Delete(const std::string& name);
  // Called after each topic deletion (with the registry's admin lock held), so that what refers to
  // the topic elsewhere (committed offsets) goes with it. Set before serving requests.
  void SetDeletionListener(std::function<void(const std::string& topic)> listener) {
    on_deleted_ = std::move(listener);
  }
  // Records another service keeps of a deleted topic (its name, id in hex and partition count),
  // written in the batch that deletes the topic: work that must outlive a crash, such as deleting
  // its remote data (tiered::RemoteDeletionRecords). Set before the registry is used.
  using DeletionRecords =
      std::function<std::vector<storage::MetadataOp>(const std::string& topic, const std::string& id, int32_t partitions)>;
  void SetDeletionRecords(DeletionRecords records) { deletion_records_ = std::move(records); }
  // Grows the topic to `total` partitions (INVALID_PARTITIONS if not more than now).
  absl::StatusOr<std::shared_ptr<const Topic>> AddPartitions(const std::string& name, int32_t total,
                                                             bool validate_only);
  // Replaces the topic's configs (already validated by TopicConfigSet) and applies them to its logs.
  absl::StatusOr<std::shared_ptr<const Topic>> SetConfigs(const std::string& name, TopicConfigSet configs);

  std::shared_ptr<const Topic> Find(std::string_view name) const;
  std::shared_ptr<const Topic> FindById(const protocol::Uuid& id) const;
  std::vector<std::shared_ptr<const Topic>> List() const;  // sorted by name
  std::shared_ptr<storage::PartitionLog> Log(std::string_view topic, int32_t partition) const;

  // The storage settings a topic's configs amount to.
  static storage::LogConfig ToLogConfig(const TopicConfigSet& configs);
  static TimestampLimits ToTimestampLimits(const TopicConfigSet& configs);
  // Sets the fields of `topic` derived from its configs.
  static void Derive(Topic& topic);

  // Kafka's topic name rule; the error names the problem.
  static absl::Status ValidateName(std::string_view name);

 private:
  std::function<void(const std::string&)> on_deleted_;
  DeletionRecords deletion_records_;
  absl::StatusOr<std::shared_ptr<const Topic>> Persist(Topic topic);
  absl::Status EnsureLogs(const Topic& topic);

  storage::MetadataStore& store_;
  storage::LogManager& logs_;
  const BrokerConfigValues& broker_;

  // Admin changes are serialized: each is a durable metadata write followed by log changes.
  std::mutex admin_mu_;
  mutable std::mutex mu_;  // guards topics_; held only for map access
  std::map<std::string, std::shared_ptr<const Topic>, std::less<>> topics_;
};

}  // namespace chronik::ingest
