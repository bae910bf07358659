#include "chronik_server/broker_metrics.h"

#include "chronik_protocol/apis.h"
#include "chronik_protocol/errors.h"
#include "chronik_storage/partition_log.h"

namespace chronik::server {

using monitoring::MetricType;

BrokerMetrics::BrokerMetrics(monitoring::Registry& r, bool partition_series)
    : registry_(r), partition_series_(partition_series) {
  r.Describe("chronik_requests_total", MetricType::kCounter, "Kafka requests answered, by API and version.");
  r.Describe("chronik_request_duration_seconds", MetricType::kHistogram,
             "Time from a request's arrival to its answer, by API.");
  r.Describe("chronik_request_queue_seconds", MetricType::kHistogram,
             "Time a request of a blocking API waited for the handler pool, by API.");
  r.Describe("chronik_request_errors_total", MetricType::kCounter,
             "Error codes in Kafka answers (top level, per topic, per partition), by API and error.");
  r.Describe("chronik_response_bytes_total", MetricType::kCounter, "Bytes of Kafka answers, by API.");
  r.Describe("chronik_produce_latency_seconds", MetricType::kHistogram,
             "Time from a Produce request's arrival to its answer (after fsync for acks=all).");
  r.Describe("chronik_fetch_latency_seconds", MetricType::kHistogram,
             "Time from a Fetch request's arrival to its answer, long-poll wait included.");
  r.Describe("chronik_messages_received_total", MetricType::kCounter, "Records accepted by Produce, by topic.");
  r.Describe("chronik_bytes_received_total", MetricType::kCounter, "Record batch bytes accepted by Produce, by topic.");
  r.Describe("chronik_messages_stored_total", MetricType::kCounter, "Records durably stored, by topic.");
  r.Describe("chronik_active_connections", MetricType::kGauge, "Open Kafka connections, by listener.");
  r.Describe("chronik_authentications_total", MetricType::kCounter,
             "Authentications (SASL, client certificates, refused requests), by listener and outcome.");
  r.Describe("chronik_storage_usage_bytes", MetricType::kGauge, "Bytes of every partition log.");
  r.Describe("chronik_topic_partitions", MetricType::kGauge, "Partitions, by topic.");
  r.Describe("chronik_topic_size_bytes", MetricType::kGauge, "Bytes of a topic's partition logs, by topic.");
  r.Describe("chronik_partition_size_bytes", MetricType::kGauge, "Bytes of a partition's log.");
  r.Describe("chronik_partition_segments", MetricType::kGauge, "Segments of a partition's log.");
  r.Describe("chronik_partition_log_start_offset", MetricType::kGauge, "A partition's log start offset.");
  r.Describe("chronik_partition_high_watermark", MetricType::kGauge, "A partition's high watermark.");
  r.Describe("chronik_partition_log_end_offset", MetricType::kGauge, "A partition's log end offset.");
  r.Describe("chronik_consumer_groups", MetricType::kGauge, "Consumer groups, by state.");
  r.Describe("chronik_consumer_group_lag", MetricType::kGauge,
             "Records between a group's committed offset and the high watermark, by group and topic.");
  r.Describe("chronik_consumer_group_partition_lag", MetricType::kGauge,
             "Records between a group's committed offset and the high watermark, by partition.");
  r.Describe("chronik_consumer_group_committed_offset", MetricType::kGauge, "A group's committed offset, by partition.");

  r.Describe("chronik_storage_fsync_duration_seconds", MetricType::kHistogram,
             "Time of each fdatasync of a partition's log file (group commits, rolls, compaction).");
  fsync_duration_ = &r.GetHistogram("chronik_storage_fsync_duration_seconds");
  r.Describe("chronik_storage_group_commit_appends", MetricType::kHistogram,
             "Appends (produce batches) made durable by one partition sync: the group commit's size.");
  group_commit_ = &r.GetCountHistogram("chronik_storage_group_commit_appends");
  r.Describe("chronik_consumer_group_rebalances_total", MetricType::kCounter,
             "Rebalances completed (generations formed), by group.");
  auto counter = [&r](const char* name, const char* help) {
    r.Describe(name, MetricType::kCounter, help);
    return &r.GetCounter(name);
  };
  janitor_.segments_rolled = counter("chronik_janitor_segments_rolled_total", "Idle segments rolled by segment.ms.");
  janitor_.producers_expired = counter("chronik_janitor_producers_expired_total",
                                       "Idle idempotent producers forgotten by producer.id.expiration.ms.");
  janitor_.segments_deleted = counter("chronik_janitor_segments_deleted_total",
                                      "Segments deleted by retention (time, size, log start offset).");
  janitor_.bytes_deleted = counter("chronik_janitor_bytes_deleted_total", "Bytes of the segments deleted by retention.");
  janitor_.partitions_compacted =
      counter("chronik_janitor_partitions_compacted_total", "Compactions of a partition's log.");
  janitor_.records_removed = counter("chronik_janitor_records_removed_total", "Records removed by compaction.");
}

void BrokerMetrics::PrepareApis(const ingest::HandlerTable& table) {
  for (const ingest::SupportedVersions& v : table.Supported()) {
    if (v.api_key < 0 || static_cast<size_t>(v.api_key) >= apis_.size()) continue;
    const protocol::ApiDescriptor* api = protocol::FindApi(v.api_key);
    const std::string name = api != nullptr ? std::string(api->name) : std::to_string(v.api_key);
    ApiSeries& s = apis_[static_cast<size_t>(v.api_key)];
    s.name = name;
    for (int16_t version = 0; version <= v.max_version; ++version) {
      s.requests.push_back(
          &registry_.GetCounter("chronik_requests_total", {{"api", name}, {"version", std::to_string(version)}}));
    }
    s.duration = &registry_.GetHistogram("chronik_request_duration_seconds", {{"api", name}});
    s.queue = &registry_.GetHistogram("chronik_request_queue_seconds", {{"api", name}});
    s.response_bytes = &registry_.GetCounter("chronik_response_bytes_total", {{"api", name}});
    if (name == "Produce") s.seed_latency = &registry_.GetHistogram("chronik_produce_latency_seconds");
    if (name == "Fetch") s.seed_latency = &registry_.GetHistogram("chronik_fetch_latency_seconds");
  }
}

void BrokerMetrics::ObserveRequest(int16_t key, int16_t version, int64_t queue_ns, int64_t total_ns,
                                   int64_t bytes) const {
  if (key < 0 || static_cast<size_t>(key) >= apis_.size()) return;
  const ApiSeries& s = apis_[static_cast<size_t>(key)];
  if (s.duration == nullptr) return;
  if (version >= 0 && static_cast<size_t>(version) < s.requests.size()) s.requests[version]->Add();
  s.duration->ObserveNanos(total_ns);
  if (queue_ns > 0) s.queue->ObserveNanos(queue_ns);
  s.response_bytes->Add(static_cast<uint64_t>(bytes));
  if (s.seed_latency != nullptr) s.seed_latency->ObserveNanos(total_ns);
}

void BrokerMetrics::ObserveError(int16_t key, int16_t error_code) {
  if (key < 0 || static_cast<size_t>(key) >= apis_.size()) return;
  ApiSeries& s = apis_[static_cast<size_t>(key)];
  if (s.duration == nullptr) return;
  const size_t slot = static_cast<size_t>(error_code + 1);
  if (error_code < -1 || slot >= kErrorSlots) return;
  monitoring::Counter* c = s.errors[slot].load(std::memory_order_acquire);
  if (c == nullptr) {
    // Two threads may both get here: the registry hands both the same counter.
    c = &registry_.GetCounter("chronik_request_errors_total",
                              {{"api", s.name},
                               {"error", std::string(protocol::ErrorName(static_cast<protocol::ErrorCode>(error_code)))}});
    s.errors[slot].store(c, std::memory_order_release);
  }
  c->Add();
}

void BrokerMetrics::Rebalanced(const std::string& group) {
  registry_.GetCounter("chronik_consumer_group_rebalances_total", {{"group", group}}).Add();
}

void BrokerMetrics::JanitorPass(const janitor::LogPassStats& s) {
  janitor_.segments_rolled->Add(static_cast<uint64_t>(s.segments_rolled));
  janitor_.producers_expired->Add(static_cast<uint64_t>(s.producers_expired));
  janitor_.segments_deleted->Add(static_cast<uint64_t>(s.segments_deleted));
  janitor_.bytes_deleted->Add(static_cast<uint64_t>(s.bytes_deleted));
  janitor_.partitions_compacted->Add(static_cast<uint64_t>(s.partitions_compacted));
  janitor_.records_removed->Add(static_cast<uint64_t>(s.records_removed));
}

monitoring::Gauge* BrokerMetrics::Connections(const std::string& listener) {
  return &registry_.GetGauge("chronik_active_connections", {{"listener", listener}});
}

void BrokerMetrics::Authentication(const std::string& listener, bool success) {
  registry_.GetCounter("chronik_authentications_total", {{"listener", listener}, {"outcome", success ? "success" : "failure"}})
      .Add();
}

BrokerMetrics::TopicSeries& BrokerMetrics::Topic(std::string_view topic) {
  std::lock_guard<std::mutex> lock(topics_mu_);
  auto it = topics_.find(topic);
  if (it != topics_.end()) return it->second;
  const monitoring::Labels labels = {{"topic", std::string(topic)}};
  TopicSeries s{&registry_.GetCounter("chronik_messages_received_total", labels),
                &registry_.GetCounter("chronik_bytes_received_total", labels),
                &registry_.GetCounter("chronik_messages_stored_total", labels)};
  return topics_.emplace(std::string(topic), s).first->second;
}

void BrokerMetrics::Produced(std::string_view topic, int64_t records, int64_t bytes) {
  TopicSeries& s = Topic(topic);
  s.received->Add(static_cast<uint64_t>(records));
  s.received_bytes->Add(static_cast<uint64_t>(bytes));
}

void BrokerMetrics::Stored(std::string_view topic, int64_t records) {
  Topic(topic).stored->Add(static_cast<uint64_t>(records));
}

void BrokerMetrics::AddCollectors(const ingest::TopicRegistry& topics, const ingest::GroupCoordinator& groups) {
  // Storage and topics: every value is in memory (no file is read at scrape time).
  registry_.AddCollector([this, &topics](monitoring::SampleWriter& w) {
    double total = 0;
    for (const auto& t : topics.List()) {
      double topic_bytes = 0;
      for (int32_t p = 0; p < t->partitions; ++p) {
        std::shared_ptr<storage::PartitionLog> log = topics.Log(t->name, p);
        if (log == nullptr) continue;
        const double size = static_cast<double>(log->size_bytes());
        topic_bytes += size;
        if (!partition_series_) continue;
        const monitoring::Labels labels = {{"topic", t->name}, {"partition", std::to_string(p)}};
        const storage::LogBounds b = log->bounds();
        w.Sample("chronik_partition_size_bytes", labels, size);
        w.Sample("chronik_partition_segments", labels, static_cast<double>(log->segments().size()));
        w.Sample("chronik_partition_log_start_offset", labels, static_cast<double>(b.log_start_offset.value()));
        w.Sample("chronik_partition_high_watermark", labels, static_cast<double>(b.high_watermark.value()));
        w.Sample("chronik_partition_log_end_offset", labels, static_cast<double>(b.log_end_offset.value()));
      }
      total += topic_bytes;
      w.Sample("chronik_topic_partitions", {{"topic", t->name}}, t->partitions);
      w.Sample("chronik_topic_size_bytes", {{"topic", t->name}}, topic_bytes);
    }
    w.Sample("chronik_storage_usage_bytes", {}, total);
  });
  // Groups: states, committed offsets and lag against the high watermark.
  registry_.AddCollector([this, &topics, &groups](monitoring::SampleWriter& w) {
    std::map<std::string, double> states;
    for (const ingest::GroupOverview& g : groups.ListGroups({})) {
      states[std::string(ingest::GroupStateName(g.state))] += 1;
      auto offsets = groups.FetchOffsets(g.group_id, std::nullopt);
      if (!offsets.ok()) continue;
      std::map<std::string, double> lag_by_topic;
      for (const auto& [tp, committed] : *offsets) {
        if (committed.offset < 0) continue;
        std::shared_ptr<storage::PartitionLog> log = topics.Log(tp.first, tp.second);
        if (log == nullptr) continue;
        const double lag = std::max<double>(0, static_cast<double>(log->high_watermark().value() - committed.offset));
        lag_by_topic[tp.first] += lag;
        if (!partition_series_) continue;
        const monitoring::Labels labels = {{"group", g.group_id}, {"topic", tp.first},
                                           {"partition", std::to_string(tp.second)}};
        w.Sample("chronik_consumer_group_partition_lag", labels, lag);
        w.Sample("chronik_consumer_group_committed_offset", labels, static_cast<double>(committed.offset));
      }
      for (const auto& [topic, lag] : lag_by_topic) {
        w.Sample("chronik_consumer_group_lag", {{"group", g.group_id}, {"topic", topic}}, lag);
      }
    }
    for (const auto& [state, n] : states) w.Sample("chronik_consumer_groups", {{"state", state}}, n);
  });
}

}  // namespace chronik::server
