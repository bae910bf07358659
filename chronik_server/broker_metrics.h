#pragma once

// The broker's metrics: the families it exposes, the hooks services call on their hot paths
// (each a relaxed atomic add on a series found once), and the collectors that read storage, topic
// and group state at scrape time. The series and their meaning are listed in docs/METRICS.md.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/topic_registry.h"
#include "chronik_janitor/janitor.h"
#include "chronik_monitoring/metrics.h"

namespace chronik::server {

class BrokerMetrics {
 public:
  // `partition_series`: per-partition storage series and per-partition group lag (off for brokers
  // with many partitions; the per-topic and per-group totals stay).
  BrokerMetrics(monitoring::Registry& registry, bool partition_series);

  // Makes the per API and version series (requests, durations, pool queue time, answer bytes) of
  // every API in `table`: once, after registration and before serving.
  void PrepareApis(const ingest::HandlerTable& table);
  // The dispatcher's RequestObserver.
  void ObserveRequest(int16_t key, int16_t version, int64_t queue_ns, int64_t total_ns, int64_t bytes) const;
  // The handler table's ErrorObserver: chronik_request_errors_total by API and Kafka error name.
  void ObserveError(int16_t key, int16_t error_code);
  monitoring::Gauge* Connections(const std::string& listener);
  void Authentication(const std::string& listener, bool success);
  void Produced(std::string_view topic, int64_t records, int64_t bytes);
  void Stored(std::string_view topic, int64_t records);
  // The log manager's on_fdatasync and on_group_commit.
  void Fdatasync(int64_t nanos) { fsync_duration_->ObserveNanos(nanos); }
  void GroupCommit(int64_t appends) { group_commit_->Observe(appends); }
  // The group coordinator's on_rebalance.
  void Rebalanced(const std::string& group);
  // The janitor's on_pass.
  void JanitorPass(const janitor::LogPassStats& stats);

  void AddCollectors(const ingest::TopicRegistry& topics, const ingest::GroupCoordinator& groups);

 private:
  static constexpr size_t kErrorSlots = 160;
  struct ApiSeries {
    std::vector<monitoring::Counter*> requests;  // by version
    monitoring::Histogram* duration = nullptr;
    monitoring::Histogram* queue = nullptr;
    monitoring::Counter* response_bytes = nullptr;
    monitoring::Histogram* seed_latency = nullptr;  // chronik_produce/fetch_latency_seconds
    std::string name;
    // chronik_request_errors_total by error code + 1, made at the first error of each.
    std::array<std::atomic<monitoring::Counter*>, kErrorSlots> errors{};
  };
  struct TopicSeries {
    monitoring::Counter* received = nullptr;
    monitoring::Counter* received_bytes = nullptr;
    monitoring::Counter* stored = nullptr;
  };
  TopicSeries& Topic(std::string_view topic);

  monitoring::Registry& registry_;
  const bool partition_series_;
  std::array<ApiSeries, 128> apis_;
  monitoring::Histogram* fsync_duration_ = nullptr;
  monitoring::Histogram* group_commit_ = nullptr;
  struct JanitorSeries {
    monitoring::Counter* segments_rolled = nullptr;
    monitoring::Counter* producers_expired = nullptr;
    monitoring::Counter* segments_deleted = nullptr;
    monitoring::Counter* bytes_deleted = nullptr;
    monitoring::Counter* partitions_compacted = nullptr;
    monitoring::Counter* records_removed = nullptr;
  } janitor_;
  std::mutex topics_mu_;
  std::map<std::string, TopicSeries, std::less<>> topics_;
};

}  // namespace chronik::server
