#include "chronik_storage/tiered/remote_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/segment.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace chronik::storage::tiered {
namespace {

constexpr char kManifestName[] = "manifest.json";
// Segments larger than this go up in parts of this size.
constexpr int64_t kPartBytes = 8 << 20;

std::string ManifestKey(const TopicPartition& tp) { return PartitionPrefix(tp) + kManifestName; }

// Puts the file at `path` under `key`: in one request, or in parts for a large one, each let
// through by `throttle` first (when there is one).
absl::Status UploadFile(objects::ObjectStore& store, const std::string& path, const std::string& key, int64_t size,
                        const std::function<bool(int64_t, std::chrono::nanoseconds*)>& throttle,
                        std::chrono::nanoseconds* throttled) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  auto read_at = [fd, &path, &throttle, throttled](int64_t position, int64_t length, std::string* out) -> absl::Status {
    if (throttle && !throttle(length, throttled)) return absl::CancelledError("copying stopped: the broker is stopping");
    out->resize(length);
    if (PReadFully(fd, out->data(), length, position) != 0) return absl::DataLossError(absl::StrCat("short read of ", path));
    return absl::OkStatus();
  };
  absl::Status st;
  std::string buffer;
  if (size <= kPartBytes) {
    st = read_at(0, size, &buffer);
    if (st.ok()) st = store.Put(key, buffer);
  } else {
    auto upload = store.StartMultipart(key);
    st = upload.status();
    for (int64_t position = 0, part = 1; st.ok() && position < size; position += kPartBytes, ++part) {
      st = read_at(position, std::min(kPartBytes, size - position), &buffer);
      if (st.ok()) st = (*upload)->UploadPart(static_cast<int>(part), buffer);
    }
    if (st.ok()) st = (*upload)->Complete();
    if (!st.ok() && upload.ok()) (void)(*upload)->Abort();
  }
  ::close(fd);
  return st;
}

// The prefix of tp's RemoteDeletionRecords' keys, "<topic>/<partition>/" (a topic name has no '/').
std::string DeletionRecordPrefix(const TopicPartition& tp) {
  return absl::StrCat(tp.topic, "/", tp.partition.value(), "/");
}

// The partition a RemoteDeletionRecords key names.
std::optional<TopicPartition> DeletionRecordPartition(const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(key, '/');
  int32_t partition = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &partition)) return std::nullopt;
  return TopicPartition{parts[0], PartitionId(partition)};
}

// What a pass finds of a partition deleted while it worked on it: nothing more is done for it.
absl::Status DeletedMeanwhile(const TopicPartition& tp) {
  return absl::AbortedError(absl::StrCat(tp.ToString(), " was deleted meanwhile"));
}

std::string Nonce() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x", random());
}

}  // namespace

std::string PartitionPrefix(const TopicPartition& tp) { return absl::StrCat("tiered/", tp.ToString(), "/"); }

std::vector<MetadataOp> RemoteDeletionRecords(const std::string& topic, const std::string& id, int32_t partitions) {
  std::vector<MetadataOp> ops;
  for (int32_t p = 0; p < partitions; ++p) {
    ops.push_back(MetadataOp::Put(kRemoteDeletionsNamespace,
                                  DeletionRecordPrefix(TopicPartition{topic, PartitionId(p)}) + id, ""));
  }
  return ops;
}

std::string EncodeManifest(const Manifest& manifest) {
  nlohmann::json segments = nlohmann::json::array();
  for (const RemoteSegment& s : manifest.segments) {
    segments.push_back({{"base_offset", s.base_offset},
                        {"next_offset", s.next_offset},
                        {"size", s.size},
                        {"max_timestamp", s.max_timestamp},
                        {"log", s.log_key},
                        {"index", s.index_key},
                        {"time_index", s.time_index_key},
                        {"txn_index", s.txn_index_key},
                        {"producer_snapshot", s.producer_snapshot_key}});
  }
  return nlohmann::json{{"version", 1}, {"segments", segments}}.dump();
}

absl::StatusOr<Manifest> DecodeManifest(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("version", 0) != 1 || !doc["segments"].is_array()) {
    return absl::DataLossError("remote manifest is not a version 1 manifest");
  }
  Manifest m;
  try {
    for (const auto& s : doc["segments"]) {
      m.segments.push_back({s.at("base_offset").get<int64_t>(), s.at("next_offset").get<int64_t>(),
                            s.at("size").get<int64_t>(), s.at("max_timestamp").get<int64_t>(),
                            s.at("log").get<std::string>(), s.at("index").get<std::string>(),
                            s.at("time_index").get<std::string>(), s.value("txn_index", std::string()),
                            s.value("producer_snapshot", std::string())});
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("remote manifest: ", e.what()));
  }
  for (size_t i = 1; i < m.segments.size(); ++i) {
    if (m.segments[i].base_offset < m.segments[i - 1].next_offset) {
      return absl::DataLossError("remote manifest: segments overlap");
    }
  }
  return m;
}

RemoteLogManager::RemoteLogManager(objects::ObjectStore& store, LogManager& logs, RemoteLogOptions options)
    : store_(store), logs_(logs), options_(std::move(options)), restored_(options_.restored_from_backup) {
  if (options_.metadata != nullptr) {
    for (const auto& [key, _] : options_.metadata->Scan(kRemoteDeletionsNamespace)) {
      std::optional<TopicPartition> tp = DeletionRecordPartition(key);
      if (!tp.has_value()) {
        spdlog::warn("tiered: ignoring the malformed remote deletion record {}", key);
        continue;
      }
      deleted_.insert(*std::move(tp));
    }
    if (!deleted_.empty()) spdlog::info("tiered: {} partitions' remote data still to delete", deleted_.size());
  }
  for (int i = 0; i < std::max(1, options_.reader_threads); ++i) readers_.emplace_back([this] { ReaderLoop(); });
}

RemoteLogManager::~RemoteLogManager() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  for (auto& t : readers_) t.join();
}

RemoteStats RemoteLogManager::stats() const {
  std::lock_guard lock(mu_);
  RemoteStats stats = stats_;
  stats.read_queue = static_cast<int64_t>(pending_.size());
  return stats;
}

std::shared_ptr<const Manifest> RemoteLogManager::ManifestOf(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = manifests_.find(tp);
  return it == manifests_.end() ? nullptr : it->second;
}

RemoteLogManager::Bounds RemoteLogManager::RemoteBounds(const TopicPartition& tp) const {
  auto manifest = ManifestOf(tp);
  if (manifest == nullptr || manifest->segments.empty()) return Bounds{};
  return Bounds{Offset(manifest->start()), Offset(manifest->end())};
}

void RemoteLogManager::LoadAll() {
  for (const TopicPartition& tp : logs_.partitions()) {
    std::shared_ptr<PartitionLog> log = logs_.Get(tp);
    if (log == nullptr || !log->config().remote_storage) continue;
    {
      std::lock_guard lock(mu_);
      if (deleted_.count(tp) != 0) {
        // What the store holds under its name is an earlier topic's, which a pass deletes first
        // (and then reads the manifest again): this one has no remote copy yet.
        manifests_[tp] = std::make_shared<const Manifest>();
        continue;
      }
    }
    if (absl::Status st = LoadManifest(tp, *log); !st.ok() && !absl::IsAborted(st)) {
      spdlog::warn("tiered: {}: cannot read the remote manifest yet: {}", tp.ToString(), st.ToString());
      std::lock_guard lock(mu_);
      unknown_.insert(tp);
    }
  }
  FinishRestoreIfReconciled();
}

void RemoteLogManager::FinishRestoreIfReconciled() {
  {
    std::lock_guard lock(mu_);
    if (!restored_ || !unknown_.empty()) return;
  }
  restored_ = false;
  spdlog::info("tiered: every tiered partition's remote copy agrees with the restored data directory");
  if (options_.on_reconciled) options_.on_reconciled();
}

bool RemoteLogManager::Loaded(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  return unknown_.count(tp) == 0;
}

void RemoteLogManager::OnLogEvent(const LogEvent& event) {
  if (event.kind != LogEventKind::kPartitionDeleted) return;
  std::lock_guard lock(mu_);
  deleted_.insert(event.tp);
  ForgetLocked(event.tp);
}

void RemoteLogManager::ForgetLocked(const TopicPartition& tp) {
  manifests_.erase(tp);
  reading_at_.erase(tp);
  std::erase_if(failed_, [&](const auto& entry) { return entry.first.tp == tp; });
  if (auto it = chunks_.find(tp); it != chunks_.end()) {
    for (auto& [_, chunk] : it->second) {
      cached_bytes_ -= static_cast<int64_t>(chunk->bytes->size());
      lru_.erase(chunk->lru_position);
    }
    chunks_.erase(it);
  }
}

absl::Status RemoteLogManager::LoadManifest(const TopicPartition& tp, PartitionLog& log) {
  Manifest manifest;
  auto json = store_.Get(ManifestKey(tp), std::nullopt);
  if (json.ok()) {
    auto decoded = DecodeManifest(*json);
    if (!decoded.ok()) return decoded.status();
    manifest = *std::move(decoded);
  } else if (!absl::IsNotFound(json.status())) {
    return json.status();
  }
  // What an interrupted upload or deletion left: objects the manifest does not name.
  auto listed = store_.List(PartitionPrefix(tp));
  if (!listed.ok()) return listed.status();
  std::set<std::string> named = {ManifestKey(tp)};
  for (const RemoteSegment& s : manifest.segments) {
    for (const std::string& key : s.keys()) named.insert(key);
  }
  for (const objects::ObjectInfo& object : *listed) {
    if (named.count(object.key) == 0) {
      spdlog::info("tiered: {}: deleting {}, which no manifest names", tp.ToString(), object.key);
      if (auto st = store_.Delete(object.key); !st.ok()) return st;
    }
  }
  // Restored from a backup: what was copied after the backup was taken goes (RemoteLogOptions).
  if (auto restored = options_.restored_ends.find(tp.ToString()); restored_ && restored != options_.restored_ends.end()) {
    const int64_t local_end = restored->second;
    if (local_end > 0 && manifest.end() > local_end) {
      Manifest kept = manifest;
      kept.segments.clear();
      std::vector<RemoteSegment> dropped;
      for (const RemoteSegment& seg : manifest.segments) {
        (seg.next_offset <= local_end ? kept.segments : dropped).push_back(seg);
      }
      if (auto st = store_.Put(ManifestKey(tp), EncodeManifest(kept)); !st.ok()) return st;
      spdlog::warn("tiered: {}: restored from a backup that ends at offset {}: dropping the {} remote segments "
                   "(offsets {}..{}) copied after it was taken",
                   tp.ToString(), local_end, dropped.size(), dropped.front().base_offset, manifest.end() - 1);
      for (const RemoteSegment& seg : dropped) {
        for (const std::string& key : seg.keys()) {
          if (auto st = store_.Delete(key); !st.ok() && !absl::IsNotFound(st)) return st;
        }
      }
      manifest = std::move(kept);
    }
  }
  // A partition whose local disk was lost goes on after its remote copy rather than offering its
  // offsets a second time. `log` is the one this pass found: a deleted one refuses, and a partition
  // made again since is another log, never moved after an old topic's copy.
  if (manifest.end() > 0 && log.log_end_offset().value() < manifest.end()) {
    // With the producers as of the copy's end, so that idempotent producers go on where they were.
    std::string producers;
    if (const std::string& key = manifest.segments.back().producer_snapshot_key; !key.empty()) {
      auto snapshot = store_.Get(key, std::nullopt);
      if (!snapshot.ok()) return snapshot.status();
      producers = *std::move(snapshot);
    }
    if (absl::Status st = log.StartEmptyAt(Offset(manifest.end()), producers); !st.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("the remote copy ends at ", manifest.end(),
                                                        " but the local log, at ", log.log_end_offset().value(),
                                                        ", holds records: ", st.message()));
    }
  }
  const int64_t end = manifest.end();
  {
    std::lock_guard lock(mu_);
    if (deleted_.count(tp) != 0) return DeletedMeanwhile(tp);
    manifests_[tp] = std::make_shared<const Manifest>(std::move(manifest));
    unknown_.erase(tp);
  }
  // Local retention deletes only what the remote copy holds.
  log.SetTieredEnd(Offset(std::max<int64_t>(0, end)));
  return absl::OkStatus();
}

absl::Status RemoteLogManager::PublishManifest(const TopicPartition& tp, Manifest manifest) {
  if (auto st = store_.Put(ManifestKey(tp), EncodeManifest(manifest)); !st.ok()) return st;
  // A deleted partition's manifest is not installed again: a partition made since under its name
  // would take it for its own. (What was put is deleted with the rest by the deletion's pass.)
  std::lock_guard lock(mu_);
  if (deleted_.count(tp) != 0) return DeletedMeanwhile(tp);
  manifests_[tp] = std::make_shared<const Manifest>(std::move(manifest));
  return absl::OkStatus();
}

absl::Status RemoteLogManager::CopySegments(const TopicPartition& tp, PartitionLog& log,
                                            const std::vector<SegmentInfo>& segments) {
  const int64_t durable = log.durable_offset().value();
  // Every segment but the active (last) one, once it is durable and not yet copied.
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    const SegmentInfo& seg = segments[i];
    auto manifest = ManifestOf(tp);
    if (manifest == nullptr) return DeletedMeanwhile(tp);
    if (seg.next_offset.value() <= manifest->end()) continue;
    if (seg.base_offset.value() < manifest->end()) {
      return absl::FailedPreconditionError(absl::StrCat("local segment ", seg.base_offset.value(),
                                                        " overlaps the remote copy, which ends at ", manifest->end()));
    }
    if (seg.next_offset.value() > durable) break;
    const int64_t base = seg.base_offset.value();
    const std::string stem = absl::StrCat(PartitionPrefix(tp), SegmentFileName(base, ""), "-", Nonce());
    RemoteSegment remote{base, seg.next_offset.value(), seg.size_bytes, seg.max_timestamp,
                         stem + ".log", stem + ".index", stem + ".timeindex", "", ""};
    const std::string local = absl::StrCat(log.dir(), "/", SegmentFileName(base, ""));
    std::chrono::nanoseconds throttled{0};
    absl::Status st = UploadFile(store_, local + ".log", remote.log_key, seg.size_bytes, options_.copy_throttle, &throttled);
    if (throttled.count() > 0) {
      std::lock_guard lock(mu_);
      stats_.copy_throttle_ns += throttled.count();
    }
    for (const auto& [suffix, key] : {std::pair{".index", remote.index_key}, {".timeindex", remote.time_index_key}}) {
      if (!st.ok()) break;
      bool missing = false;
      auto index = ReadWholeFile(local + suffix, &missing);
      if (index.ok() && missing) index = absl::NotFoundError(absl::StrCat(local, suffix, " is missing"));
      st = index.ok() ? store_.Put(key, *index) : index.status();
    }
    // Only a segment that aborted transactions has entries in its .txnindex.
    bool no_txns = false;
    if (auto txns = ReadWholeFile(local + ".txnindex", &no_txns); st.ok() && txns.ok() && !txns->empty()) {
      remote.txn_index_key = stem + ".txnindex";
      st = store_.Put(remote.txn_index_key, *txns);
    }
    // The producers as of the segment's end, written when it rolled (the newest two are kept).
    bool no_snapshot = false;
    if (auto producers = ReadWholeFile(absl::StrCat(log.dir(), "/", SegmentFileName(remote.next_offset, kSnapshotSuffix)),
                                       &no_snapshot);
        st.ok() && producers.ok() && !no_snapshot) {
      remote.producer_snapshot_key = stem + ".snapshot";
      st = store_.Put(remote.producer_snapshot_key, *producers);
    }
    Manifest next = *manifest;
    next.segments.push_back(remote);
    if (st.ok()) st = PublishManifest(tp, std::move(next));
    if (!st.ok()) {
      // Not named by any manifest: no reader uses them, and the next start removes what is left.
      for (const std::string& key : remote.keys()) (void)store_.Delete(key);
      return st;
    }
    log.SetTieredEnd(Offset(remote.next_offset));
    spdlog::info("tiered: {}: copied segment {} ({} bytes, offsets {}..{})", tp.ToString(), base, seg.size_bytes,
                 base, remote.next_offset - 1);
    std::lock_guard lock(mu_);
    stats_.segments_copied++;
    stats_.bytes_copied += seg.size_bytes;
  }
  return absl::OkStatus();
}

absl::Status RemoteLogManager::ApplyRemoteRetention(const TopicPartition& tp, PartitionLog& log, int64_t now_ms) {
  auto manifest = ManifestOf(tp);
  if (manifest == nullptr) return DeletedMeanwhile(tp);
  const LogConfig config = log.config();
  if (manifest->segments.empty()) return absl::OkStatus();
  // The remote copy and what is only local make up the partition's size for retention.bytes.
  const LogBounds bounds = log.bounds();
  const int64_t local_start = bounds.log_start_offset.value();
  int64_t total = log.size_bytes();
  for (const RemoteSegment& s : manifest->segments) {
    if (s.next_offset <= local_start) total += s.size;
  }
  Manifest next = *manifest;
  std::vector<RemoteSegment> gone;
  while (!next.segments.empty()) {
    const RemoteSegment& s = next.segments.front();
    const bool local_too = s.next_offset > local_start;
    const bool expired = config.cleanup_delete && config.retention_ms >= 0 && s.max_timestamp >= 0 &&
                         now_ms - s.max_timestamp > config.retention_ms;
    const bool over_size =
        config.cleanup_delete && config.retention_bytes >= 0 && !local_too && total - s.size >= config.retention_bytes;
    // Wholly below what DeleteRecords deleted (which may lie below the local log).
    const bool deleted = s.next_offset <= bounds.deleted_below.value();
    if (!expired && !over_size && !deleted) break;
    if (!local_too) total -= s.size;
    gone.push_back(s);
    next.segments.erase(next.segments.begin());
  }
  if (gone.empty()) return absl::OkStatus();
  if (auto st = PublishManifest(tp, std::move(next)); !st.ok()) return st;
  for (const RemoteSegment& s : gone) {
    for (const std::string& key : s.keys()) {
      if (auto st = store_.Delete(key); !st.ok()) return st;  // an orphan; the next start removes it
    }
  }
  spdlog::info("tiered: {}: retention deleted {} remote segments (offsets {}..{})", tp.ToString(), gone.size(),
               gone.front().base_offset, gone.back().next_offset - 1);
  std::lock_guard lock(mu_);
  stats_.segments_deleted += static_cast<int64_t>(gone.size());
  return absl::OkStatus();
}

absl::Status RemoteLogManager::DeletePartition(const TopicPartition& tp) {
  if (auto st = store_.Delete(ManifestKey(tp)); !st.ok()) return st;
  auto listed = store_.List(PartitionPrefix(tp));
  if (!listed.ok()) return listed.status();
  for (const objects::ObjectInfo& object : *listed) {
    if (auto st = store_.Delete(object.key); !st.ok()) return st;
  }
  spdlog::info("tiered: {}: deleted its remote data ({} objects)", tp.ToString(), listed->size());
  return absl::OkStatus();
}

void RemoteLogManager::RunPass(int64_t now_ms) {
  std::set<TopicPartition> deleted;
  {
    std::lock_guard lock(mu_);
    deleted.swap(deleted_);
  }
  for (const TopicPartition& tp : deleted) {
    // The records of the deletions so far; one written from here on is a later deletion's, whose
    // event brings tp back for the next pass. A record that stays would have a later start delete
    // what a topic made again since has copied: tp stays deleted until its records go.
    std::vector<MetadataOp> done;
    if (options_.metadata != nullptr) {
      for (const auto& [key, _] : options_.metadata->Scan(kRemoteDeletionsNamespace, DeletionRecordPrefix(tp))) {
        done.push_back(MetadataOp::Delete(kRemoteDeletionsNamespace, key));
      }
    }
    absl::Status st = DeletePartition(tp);
    if (st.ok() && !done.empty()) st = options_.metadata->Apply(std::move(done)).status();
    if (st.ok()) {
      // A partition made again under its name reads its (now empty) manifest afresh.
      std::lock_guard lock(mu_);
      if (deleted_.count(tp) == 0) ForgetLocked(tp);
    } else {
      spdlog::warn("tiered: {}: deleting remote data failed, will retry: {}", tp.ToString(), st.ToString());
      std::lock_guard lock(mu_);
      deleted_.insert(tp);
    }
  }
  int64_t lag_segments = 0;
  int64_t lag_bytes = 0;
  for (const TopicPartition& tp : logs_.partitions()) {
    std::shared_ptr<PartitionLog> log = logs_.Get(tp);
    if (log == nullptr || !log->config().remote_storage) continue;
    {
      std::lock_guard lock(mu_);
      if (deleted_.count(tp) != 0) continue;  // its remote data must go before anything new is copied
    }
    absl::Cleanup count_lag = [&] {
      auto manifest = ManifestOf(tp);
      const std::vector<SegmentInfo> segments = log->segments();
      for (size_t i = 0; i + 1 < segments.size(); ++i) {
        if (manifest == nullptr || segments[i].next_offset.value() > manifest->end()) {
          lag_segments++;
          lag_bytes += segments[i].size_bytes;
        }
      }
    };
    // The tiered end is set when the manifest is read and moved by each copy.
    absl::Status st = ManifestOf(tp) == nullptr ? LoadManifest(tp, *log) : absl::OkStatus();
    if (st.ok()) st = CopySegments(tp, *log, log->segments());
    if (st.ok()) st = ApplyRemoteRetention(tp, *log, now_ms);
    if (absl::IsCancelled(st)) return;  // the broker is stopping: no pass, no failure
    if (absl::IsAborted(st)) {
      spdlog::info("tiered: {}", std::string(st.message()));  // its remote data goes at the next pass
    } else if (!st.ok()) {
      spdlog::warn("tiered: {}: {} (local segments are kept until it succeeds)", tp.ToString(), st.ToString());
      std::lock_guard lock(mu_);
      stats_.copy_failures++;
    }
  }
  {
    std::lock_guard lock(mu_);
    stats_.copy_lag_segments = lag_segments;
    stats_.copy_lag_bytes = lag_bytes;
  }
  FinishRestoreIfReconciled();
}

Offset ClientLogStart(const LogBounds& local, const RemoteLogManager::Bounds& remote) {
  const int64_t start = remote.empty() ? local.log_start_offset.value()
                                       : std::min(local.log_start_offset.value(), remote.start.value());
  return Offset(std::max(start, local.deleted_below.value()));
}

}  // namespace chronik::storage::tiered
