#include "chronik_storage/partition_log.h"

// PartitionLog::Load: a partition's recovery from its files at start (the rest of PartitionLog is in
// partition_log.cc).

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/records.h"
#include "chronik_storage/compaction.h"
#include "chronik_storage/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {

using protocol::RecordBatchView;

absl::Status PartitionLog::Load(bool clean_shutdown, const PartitionCheckpoint& checkpoint, LoadStats* stats) {
  int64_t recovery_point = checkpoint.recovery_point;
  const int64_t log_start_offset = checkpoint.log_start_offset;
  FileOps& ops = host_->file_ops();
  const int64_t now = host_->NowMs();
  LogConfig config = this->config();

  // A compaction interrupted by a crash leaves *.cleaned files (incomplete: deleted) or *.swap
  // files (complete: the swap is finished) that must be dealt with before the segments are read.
  absl::StatusOr<CompactionRecovery> leftovers = RecoverInterruptedCompaction(dir_, ops);
  if (!leftovers.ok()) return leftovers.status();
  if (leftovers->swaps_finished > 0 || leftovers->files_deleted > 0) {
    spdlog::warn("storage: {}: interrupted compaction: finished {} segment swaps, deleted {} leftover files",
                 tp_.ToString(), leftovers->swaps_finished, leftovers->files_deleted);
  }

  std::vector<int64_t> bases;
  std::vector<std::string> index_files;
  std::vector<int64_t> snapshot_offsets;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return IoError("open directory", dir_, errno);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto dot = name.find('.');
    std::string stem = name.substr(0, dot);
    std::string ext = dot == std::string::npos ? "" : name.substr(dot);
    bool numeric = stem.size() == 20 && std::all_of(stem.begin(), stem.end(), ::isdigit);
    if (numeric && ext == ".log") {
      bases.push_back(std::strtoll(stem.c_str(), nullptr, 10));
    } else if (numeric && ext == kSnapshotSuffix) {
      snapshot_offsets.push_back(std::strtoll(stem.c_str(), nullptr, 10));
    } else if (numeric && (ext == ".index" || ext == ".timeindex" || ext == ".txnindex")) {
      index_files.push_back(name);
    } else if (ext.size() >= 4 && ext.compare(ext.size() - 4, 4, ".tmp") == 0) {
      ::unlink((dir_ + "/" + name).c_str());
    } else {
      spdlog::warn("storage: {}: ignoring unexpected file {}", tp_.ToString(), name);
    }
  }
  ::closedir(d);
  std::sort(bases.begin(), bases.end());
  for (const std::string& name : index_files) {
    int64_t base = std::strtoll(name.substr(0, 20).c_str(), nullptr, 10);
    if (!std::binary_search(bases.begin(), bases.end(), base)) ::unlink((dir_ + "/" + name).c_str());
  }
  if (bases.empty()) {
    spdlog::warn("storage: {}: no segments on disk, starting an empty log at offset {}", tp_.ToString(),
                 std::max<int64_t>(log_start_offset, 0));
    absl::Status st = InitNew(std::max<int64_t>(log_start_offset, 0));
    absl::MutexLock lock(&mu_);
    deleted_below_ = std::clamp<int64_t>(checkpoint.deleted_below, 0, log_start_offset_);
    return st;
  }

  // Without a clean shutdown, scan from the segment holding the recovery point (always at least
  // the last segment).
  size_t first_scan = bases.size();
  if (!clean_shutdown) {
    first_scan = bases.size() - 1;
    if (recovery_point < 0) recovery_point = 0;
    for (size_t i = 0; i < bases.size(); ++i) {
      bool holds = i + 1 == bases.size() || bases[i + 1] > recovery_point;
      if (holds) {
        first_scan = std::min(first_scan, i);
        break;
      }
    }
  }

  std::vector<std::shared_ptr<Segment>> loaded;
  std::vector<std::shared_ptr<Segment>> scanned;
  for (size_t i = 0; i < bases.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Segment>> opened = Segment::Open(dir_, bases[i], ops);
    if (!opened.ok()) return opened.status();
    std::shared_ptr<Segment> seg(std::move(*opened));
    const int64_t max_next = i + 1 < bases.size() ? bases[i + 1] : INT64_MAX;
    bool scan = i >= first_scan;
    if (!scan) {
      absl::StatusOr<bool> ok = seg->LoadIndexes(now);
      if (!ok.ok()) return ok.status();
      if (!*ok || seg->next_offset() > max_next) {
        spdlog::warn("storage: {}: index of segment {} missing or damaged, rebuilding it from the log",
                     tp_.ToString(), bases[i]);
        stats->indexes_rebuilt++;
        scan = true;
      }
    }
    stats->segments_loaded++;
    if (scan) {
      absl::StatusOr<SegmentScan> result =
          seg->Recover(ops, max_next, config.index_interval_bytes, config.segment_index_bytes, now);
      if (!result.ok()) return result.status();
      stats->segments_scanned++;
      stats->bytes_scanned += result->valid_bytes + result->truncated_bytes;
      scanned.push_back(seg);
      if (i + 1 < bases.size()) {
        absl::Status st = seg->WriteIndexes(ops, config.segment_index_bytes);
        if (st.ok()) st = seg->SyncIndexes(ops);
        if (!st.ok()) spdlog::warn("storage: {}: could not write rebuilt index: {}", tp_.ToString(), st.ToString());
      }
      if (!result->stop_reason.empty()) {
        spdlog::warn("storage: {}: segment {} invalid at position {} ({}); truncated {} bytes", tp_.ToString(),
                     seg->log_path(), result->valid_bytes, result->stop_reason, result->truncated_bytes);
        stats->bytes_truncated += result->truncated_bytes;
        loaded.push_back(seg);
        // Nothing after a torn or corrupt batch can be trusted: later segments go.
        for (size_t j = i + 1; j < bases.size(); ++j) {
          absl::StatusOr<std::unique_ptr<Segment>> later = Segment::Open(dir_, bases[j], ops);
          if (later.ok()) {
            spdlog::warn("storage: {}: deleting segment {} after the truncation point", tp_.ToString(),
                         (*later)->log_path());
            stats->bytes_truncated += (*later)->size();
            (*later)->DeleteFiles();
          }
          stats->segments_deleted++;
        }
        break;
      }
    }
    loaded.push_back(seg);
  }

  // What recovery kept must be durable before it counts as the durable end.
  for (const auto& seg : scanned) {
    if (internal::TimedFDataSync(*host_, ops, seg->file()->fd()) != 0) {
      return IoError("fdatasync", seg->log_path(), errno);
    }
  }
  if (stats->segments_deleted > 0 || !scanned.empty()) {
    absl::Status st = SyncDirectory(ops, dir_);
    host_->CountFsync();
    if (!st.ok()) return st;
  }

  // The idempotent and transactional producers' state, from the batch headers of what recovery
  // kept: of the segments written within producer.id.expiration.ms (older producers would have
  // expired, and a transaction lasts transaction.max.timeout.ms at most), so a restart reads a day
  // of data at most; and from the first segment whose transaction index is missing or damaged
  // (the active one after a crash, or data from before transaction indexes), whose aborted
  // transactions the walk finds again. A segment that cannot be read costs its producers' state
  // (their next batch is taken as a new producer's), not the partition.
  std::vector<bool> file_ok(loaded.size(), false);
  std::vector<bool> txn_index_ok(loaded.size(), false);
  size_t walk_from = loaded.size() - 1;
  // A day before the last write, not before now: a broker down for a day must still find the
  // first batches of the transactions that were open when it stopped.
  int64_t newest_ms = -1;
  for (const auto& seg : loaded) newest_ms = std::max(newest_ms, seg->ModifiedMs());
  for (size_t i = 0; i < loaded.size(); ++i) {
    absl::StatusOr<bool> ok = loaded[i]->LoadTxnIndex();
    if (!ok.ok()) return ok.status();
    file_ok[i] = *ok;
    // A segment recovery scanned may have been appended to after its index was written.
    const bool was_scanned = std::find(scanned.begin(), scanned.end(), loaded[i]) != scanned.end();
    txn_index_ok[i] = *ok && !was_scanned;
    const int64_t written_ms = loaded[i]->ModifiedMs();
    const bool recent = written_ms < 0 || newest_ms - written_ms <= host_->ProducerIdExpirationMs();
    if ((recent || !txn_index_ok[i]) && i < walk_from) walk_from = i;
  }

  // The newest producer snapshot at or below the log end (one above it was taken before a crash
  // cut the log shorter), if intact, spares the walk of everything before it.
  ProducerStateTable producers;
  std::deque<int64_t> snapshots;
  int64_t snapshot_at = -1;
  const int64_t end_offset = loaded.back()->next_offset();
  std::sort(snapshot_offsets.rbegin(), snapshot_offsets.rend());
  for (int64_t at : snapshot_offsets) {
    const std::string path = dir_ + "/" + SegmentFileName(at, kSnapshotSuffix);
    bool missing = false;
    absl::StatusOr<std::string> data = at <= end_offset ? ReadWholeFile(path, &missing) : std::string();
    absl::StatusOr<ProducerStateTable> table =
        data.ok() ? ProducerStateTable::FromSnapshot(*data) : absl::StatusOr<ProducerStateTable>(data.status());
    if (at > end_offset || !table.ok()) {
      if (at <= end_offset) spdlog::warn("storage: {}: {}: {}", tp_.ToString(), path, table.status().ToString());
      ::unlink(path.c_str());
      continue;
    }
    snapshots.push_front(at);
    if (snapshot_at < 0) {
      snapshot_at = at;
      producers = *std::move(table);
    }
  }
  if (snapshot_at >= 0) {
    size_t k = loaded.size() - 1;
    while (k > 0 && loaded[k]->base_offset() > snapshot_at) --k;
    bool usable = file_ok[k] || loaded[k]->base_offset() == snapshot_at;
    for (size_t i = 0; i < k; ++i) usable = usable && txn_index_ok[i];
    if (usable) {
      walk_from = k;
      stats->producer_snapshots_used++;
    } else {
      snapshot_at = -1;
      producers = ProducerStateTable();
    }
  }

  for (size_t i = walk_from; i < loaded.size(); ++i) {
    Segment& seg = *loaded[i];
    const int64_t written_ms = seg.ModifiedMs();
    // Before the snapshot's offset the index written while the log was open stands.
    std::vector<AbortedTxn> aborted;
    for (const AbortedTxn& t : seg.aborted_txns()) {
      if (t.last_offset < snapshot_at) aborted.push_back(t);
    }
    absl::Status st = seg.WalkHeaders(0, seg.size(), [&](const BatchHeader& h, int64_t position) {
      if (h.producer_id < 0 || h.base_offset < snapshot_at) return true;
      stats->producer_batches_replayed++;
      if (!h.is_control) {
        const auto delta = static_cast<int32_t>(h.last_offset - h.base_offset);
        producers.Record(h.producer_id, h.producer_epoch,
                         ProducerBatch{h.base_sequence, LastSequence(h.base_sequence, delta), h.base_offset,
                                       h.last_offset, config.log_append_time ? h.max_timestamp : -1},
                         written_ms, h.is_transactional);
        return true;
      }
      std::string bytes;
      absl::Status read = seg.file()->ReadAt(position, h.size, &bytes);
      absl::StatusOr<RecordBatchView> view =
          read.ok() ? RecordBatchView::Parse(bytes, protocol::CrcCheck::kSkip) : absl::StatusOr<RecordBatchView>(read);
      absl::StatusOr<bool> commit = view.ok() ? internal::MarkerIsCommit(*view) : absl::StatusOr<bool>(view.status());
      if (!commit.ok()) {
        spdlog::warn("storage: {}: unreadable control batch at offset {}: {}", tp_.ToString(), h.base_offset,
                     commit.status().ToString());
        return true;
      }
      std::optional<CompletedTxn> ended =
          producers.CompleteTxn(h.producer_id, h.producer_epoch, h.base_offset, *commit, written_ms);
      if (ended.has_value() && ended->aborted) {
        const int64_t lso = std::min(producers.FirstUnstableOffset().value_or(h.base_offset + 1), h.base_offset + 1);
        aborted.push_back(AbortedTxn{h.producer_id, ended->first_offset, h.base_offset, lso});
      }
      return true;
    });
    if (!st.ok()) {
      spdlog::warn("storage: {}: producer state from segment {} is incomplete: {}", tp_.ToString(),
                   seg.base_offset(), st.ToString());
    }
    // An index written while the log was open knew every transaction; the walk may have begun
    // after some transaction's first batch.
    if (!txn_index_ok[i] && st.ok()) {
      seg.SetAbortedTxns(std::move(aborted));
      if (i + 1 < loaded.size()) {
        absl::Status wst = seg.WriteIndexes(ops, config.segment_index_bytes);
        if (wst.ok()) wst = seg.SyncIndexes(ops);
        if (!wst.ok()) spdlog::warn("storage: {}: could not write rebuilt index: {}", tp_.ToString(), wst.ToString());
      }
    }
  }

  absl::MutexLock lock(&mu_);
  segments_ = std::move(loaded);
  producers_ = std::move(producers);
  snapshots_ = std::move(snapshots);
  log_end_offset_ = segments_.back()->next_offset();
  log_start_offset_ = std::clamp<int64_t>(std::max(log_start_offset, segments_.front()->base_offset()),
                                          segments_.front()->base_offset(), log_end_offset_);
  deleted_below_ = std::clamp<int64_t>(checkpoint.deleted_below, 0, log_start_offset_);
  durable_offset_ = recovery_point_ = log_end_offset_;
  checkpoint_dirty_ = true;
  return absl::OkStatus();
}

}  // namespace chronik::storage
