#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_server/broker_services.h"
#include "chronik_storage/backup/backup.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/object_store/store_factory.h"
#include "spdlog/spdlog.h"

// Tiered storage and backups at the broker's start: the object store, the remote log manager and
// its metrics, and what a restored data directory tells it.

namespace chronik::server {

namespace {

// The marker a restore leaves (storage::backup::kRestoredMarkerName) holds the backup's id; the
// first start with tiering adds each partition's log end as restored, before any client is served,
// and later starts (until reconciled) read them back.
absl::StatusOr<std::map<std::string, int64_t>> RestoredLogEnds(const std::string& marker, const storage::LogManager& logs) {
  std::ifstream in(marker);
  std::string id, line;
  std::getline(in, id);
  std::map<std::string, int64_t> ends;
  bool noted = false;
  while (std::getline(in, line)) {
    if (line == "ends:") {
      noted = true;
      continue;
    }
    const size_t space = line.rfind(' ');
    int64_t end = 0;
    if (!noted || space == std::string::npos || !absl::SimpleAtoi(line.substr(space + 1), &end)) {
      return absl::DataLossError(absl::StrCat(marker, ": cannot read \"", line, "\""));
    }
    ends[line.substr(0, space)] = end;
  }
  if (noted) return ends;
  std::string text = id + "\nends:\n";
  for (const storage::TopicPartition& tp : logs.partitions()) {
    if (std::shared_ptr<storage::PartitionLog> log = logs.Get(tp)) {
      ends[tp.ToString()] = log->log_end_offset().value();
      absl::StrAppend(&text, tp.ToString(), " ", ends[tp.ToString()], "\n");
    }
  }
  // Durable before the first record that could reuse an offset past these ends is acknowledged.
  if (absl::Status st = storage::ReplaceFileDurably(*storage::FileOps::Default(), marker, text); !st.ok()) return st;
  return ends;
}

}  // namespace

// With remote.log.storage.system.enable: the object store the environment names, and the remote
// log manager that tiered topics' fetches and the janitor's copying use.
absl::Status Broker::OpenTieredStorage(Services& s) {
  const ingest::BrokerConfigValues& bc = s.broker_configs;
  const bool enabled = bc.Effective("remote.log.storage.system.enable").value_or("false") == "true";
  const bool backup = s.cfg.enable_backup && s.cfg.mode != config::Mode::kSearch;
  // A restored data directory is reconciled with its remote copies at its first start with tiering;
  // without tiering there is nothing to reconcile.
  const std::string restored = absl::StrCat(s.cfg.data_dir, "/", storage::backup::kRestoredMarkerName);
  std::error_code ec;
  const bool was_restored = std::filesystem::exists(restored, ec);
  if (was_restored && !enabled) std::filesystem::remove(restored, ec);
  if (!enabled && !backup) {
    if (!s.cfg.object_store.empty()) {
      spdlog::warn("STORAGE_BACKEND and the other object store settings have no use without "
                   "kafka.remote.log.storage.system.enable = true or --enable-backup");
    }
    return absl::OkStatus();
  }
  if (s.cfg.object_store.count("STORAGE_BACKEND") == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        enabled ? "kafka.remote.log.storage.system.enable = true" : "--enable-backup",
        " needs an object store: set STORAGE_BACKEND (local, s3, gcs or azure) and its settings"));
  }
  absl::StatusOr<std::unique_ptr<storage::objects::ObjectStore>> store =
      storage::objects::OpenObjectStore(s.cfg.object_store);
  if (!store.ok()) return absl::InvalidArgumentError(store.status().message());
  s.object_store = *std::move(store);
  if (!enabled) return absl::OkStatus();
  storage::tiered::RemoteLogOptions options;
  options.cache_bytes = bc.EffectiveInt("remote.log.reader.cache.bytes", options.cache_bytes);
  options.fetch_bytes = static_cast<int32_t>(bc.EffectiveInt("remote.log.reader.fetch.bytes", options.fetch_bytes));
  options.reader_threads = static_cast<int>(bc.EffectiveInt("remote.log.reader.threads", options.reader_threads));
  // Its rate comes from the dynamic configs' Load, which applies the static value too.
  s.copy_throttle = std::make_unique<janitor::IoThrottle>(0);
  options.copy_throttle = [throttle = s.copy_throttle.get()](int64_t bytes, std::chrono::nanoseconds* waited) {
    return throttle->Acquire(bytes, waited);
  };
  if (absl::Status st = RegisterThrottleRate(s, "remote.log.manager.copy.max.bytes.per.second", *s.copy_throttle,
                                             "chronik_remote_copy_throttle_waiting",
                                             "Copies waiting on remote.log.manager.copy.max.bytes.per.second now.");
      !st.ok()) {
    return st;
  }
  options.on_ready = [events = &s.events](const storage::TopicPartition& tp) { events->Notify(tp); };
  if (was_restored) {
    absl::StatusOr<std::map<std::string, int64_t>> ends = RestoredLogEnds(restored, *s.logs);
    if (!ends.ok()) return ends.status();
    options.restored_from_backup = true;
    options.restored_ends = *std::move(ends);
    options.on_reconciled = [restored] {
      std::error_code ignored;
      std::filesystem::remove(restored, ignored);
    };
  }
  options.metadata = s.store.get();
  s.topics->SetDeletionRecords(&storage::tiered::RemoteDeletionRecords);
  s.remote.emplace(*s.object_store, *s.logs, std::move(options));
  s.logs->Subscribe([remote = &*s.remote](const storage::LogEvent& e) { remote->OnLogEvent(e); });
  s.remote->LoadAll();
  struct RemoteSeries {
    const char* name;
    monitoring::MetricType type;
    const char* help;
    int64_t storage::tiered::RemoteStats::*field;
    double scale = 1;
  };
  static constexpr RemoteSeries kRemoteSeries[] = {
      {"chronik_remote_segments_copied_total", monitoring::MetricType::kCounter,
       "Segments of tiered topics copied to the object store.", &storage::tiered::RemoteStats::segments_copied},
      {"chronik_remote_bytes_copied_total", monitoring::MetricType::kCounter,
       "Bytes of segments copied to the object store.", &storage::tiered::RemoteStats::bytes_copied},
      {"chronik_remote_copy_failures_total", monitoring::MetricType::kCounter,
       "Passes over a tiered partition that failed (reading its manifest, copying or remote retention); each is "
       "tried again at the next pass.",
       &storage::tiered::RemoteStats::copy_failures},
      {"chronik_remote_segments_deleted_total", monitoring::MetricType::kCounter,
       "Remote segments deleted by retention or DeleteRecords.", &storage::tiered::RemoteStats::segments_deleted},
      {"chronik_remote_reads_total", monitoring::MetricType::kCounter,
       "Fetch reads answered from the remote copy.", &storage::tiered::RemoteStats::reads},
      {"chronik_remote_read_bytes_total", monitoring::MetricType::kCounter,
       "Bytes fetched from the remote copy.", &storage::tiered::RemoteStats::read_bytes},
      {"chronik_remote_chunk_read_bytes_total", monitoring::MetricType::kCounter,
       "Bytes of record batches read from the object store into the remote chunk cache, for consumers and ahead of "
       "them (not the indexes, nor a read's incomplete last batch).",
       &storage::tiered::RemoteStats::chunk_bytes_read},
      {"chronik_remote_reader_queue_size", monitoring::MetricType::kGauge,
       "Reads of the remote copy waiting for a reader thread or being read.",
       &storage::tiered::RemoteStats::read_queue},
      {"chronik_remote_copy_lag_segments", monitoring::MetricType::kGauge,
       "Rolled local segments of tiered topics not yet copied, as of the last pass.",
       &storage::tiered::RemoteStats::copy_lag_segments},
      {"chronik_remote_copy_lag_bytes", monitoring::MetricType::kGauge,
       "Bytes of rolled local segments of tiered topics not yet copied, as of the last pass.",
       &storage::tiered::RemoteStats::copy_lag_bytes},
      {"chronik_remote_copy_throttle_seconds_total", monitoring::MetricType::kCounter,
       "Time copies waited on remote.log.manager.copy.max.bytes.per.second.",
       &storage::tiered::RemoteStats::copy_throttle_ns, 1e-9},
  };
  for (const RemoteSeries& series : kRemoteSeries) s.metrics_registry.Describe(series.name, series.type, series.help);
  s.metrics_registry.AddCollector([remote = &*s.remote](monitoring::SampleWriter& w) {
    const storage::tiered::RemoteStats stats = remote->stats();
    for (const RemoteSeries& series : kRemoteSeries) w.Sample(series.name, {}, static_cast<double>(stats.*series.field) * series.scale);
  });
  s.context.remote = &*s.remote;
  spdlog::info("tiered storage on: {}", storage::objects::DescribeStore(s.cfg.object_store));
  return absl::OkStatus();
}

}  // namespace chronik::server
