#include "chronik_storage/partition_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_protocol/records/records.h"
#include "chronik_storage/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {
namespace {

using protocol::MutableRecordBatchView;
using protocol::RecordBatchView;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace internal {

absl::StatusOr<bool> MarkerIsCommit(const RecordBatchView& batch) {
  absl::StatusOr<protocol::RecordReader> reader = protocol::RecordReader::Create(batch, batch.size_bytes() * 4 + 1024);
  if (!reader.ok()) return reader.status();
  protocol::RecordView record;
  if (!reader->Next(&record)) {
    return reader->status().ok() ? absl::InvalidArgumentError("control batch without a record") : reader->status();
  }
  absl::StatusOr<protocol::ControlRecordKey> key = protocol::ParseControlRecordKey(record.key);
  if (!key.ok()) return key.status();
  if (key->type != static_cast<int16_t>(protocol::ControlRecordType::kCommit) &&
      key->type != static_cast<int16_t>(protocol::ControlRecordType::kAbort)) {
    return absl::InvalidArgumentError(absl::StrCat("control record of type ", key->type, " in a topic partition"));
  }
  return key->type == static_cast<int16_t>(protocol::ControlRecordType::kCommit);
}

int TimedFDataSync(LogHost& host, FileOps& ops, int fd) {
  const auto start = std::chrono::steady_clock::now();
  const int rc = ops.FDataSync(fd);
  host.CountFdatasync(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
  return rc;
}

}  // namespace internal

PartitionLog::PartitionLog(internal::LogHost* host, TopicPartition tp, std::string dir, const LogConfig& config)
    : host_(host), tp_(std::move(tp)), dir_(std::move(dir)), config_(config) {
  last_sync_steady_ms_ = SteadyNowMs();
}

PartitionLog::~PartitionLog() = default;

LogConfig PartitionLog::config() const {
  absl::ReaderMutexLock lock(&mu_);
  return config_;
}

void PartitionLog::UpdateConfig(const LogConfig& config) {
  absl::MutexLock lock(&mu_);
  config_ = config;
}

absl::Status PartitionLog::InitNew(int64_t base_offset) {
  absl::StatusOr<std::unique_ptr<Segment>> seg = Segment::Create(dir_, base_offset, host_->file_ops(), host_->NowMs());
  if (!seg.ok()) return seg.status();
  absl::Status st = SyncDirectory(host_->file_ops(), dir_);
  host_->CountFsync();
  if (!st.ok()) {
    (*seg)->DeleteFiles();
    return st;
  }
  absl::MutexLock lock(&mu_);
  segments_.push_back(std::shared_ptr<Segment>(std::move(*seg)));
  log_start_offset_ = log_end_offset_ = durable_offset_ = recovery_point_ = base_offset;
  checkpoint_dirty_ = true;
  return absl::OkStatus();
}

bool PartitionLog::ShouldRollLocked(int64_t incoming_bytes, int64_t incoming_last_offset, int64_t now_ms) const {
  const Segment& seg = *segments_.back();
  if (seg.empty()) return false;
  const int64_t max_bytes = std::min<int64_t>(config_.segment_bytes, INT32_MAX);
  if (seg.size() + incoming_bytes > max_bytes) return true;
  if (incoming_last_offset - seg.base_offset() > INT32_MAX) return true;
  if (seg.first_append_ms() >= 0 && now_ms - seg.first_append_ms() >= config_.roll_ms()) return true;
  return seg.IndexFull(config_.segment_index_bytes);
}

absl::Status PartitionLog::RollLocked(int64_t now_ms, std::vector<LogEvent>* events) {
  FileOps& ops = host_->file_ops();
  std::shared_ptr<Segment> old = segments_.back();
  absl::StatusOr<std::unique_ptr<Segment>> seg = Segment::Create(dir_, log_end_offset_, ops, now_ms);
  if (!seg.ok()) return seg.status();
  absl::Status st = old->WriteIndexes(ops, config_.segment_index_bytes);
  if (!st.ok()) {
    spdlog::warn("storage: {}: could not write the index of rolled segment {} (it will be rebuilt on recovery): {}",
                 tp_.ToString(), old->log_path(), st.ToString());
  }
  segments_.push_back(std::shared_ptr<Segment>(std::move(*seg)));
  rolled_unsynced_.push_back(std::move(old));
  WriteProducerSnapshotLocked();
  dir_unsynced_ = true;
  events->push_back(Event(LogEventKind::kSegmentRolled, log_end_offset_));
  spdlog::debug("storage: {}: rolled to segment {}", tp_.ToString(), log_end_offset_);
  return absl::OkStatus();
}

void PartitionLog::WriteProducerSnapshotLocked() {
  if (!snapshots_.empty() && snapshots_.back() == log_end_offset_) return;
  FileOps& ops = host_->file_ops();
  const std::string path = dir_ + "/" + SegmentFileName(log_end_offset_, kSnapshotSuffix);
  // Written whole under another name and renamed: a crash leaves the old set or the new file
  // (whose CRC tells whether its content made it to the disk).
  absl::Status st = ReplaceFile(ops, path, producers_.Snapshot());
  if (!st.ok()) {
    spdlog::warn("storage: {}: could not write a producer snapshot (recovery will read more of the log): {}",
                 tp_.ToString(), st.ToString());
    return;
  }
  snapshots_.push_back(log_end_offset_);
  while (snapshots_.size() > 2) {
    ::unlink((dir_ + "/" + SegmentFileName(snapshots_.front(), kSnapshotSuffix)).c_str());
    snapshots_.pop_front();
  }
}

void PartitionLog::GoOfflineLocked(const absl::Status& why) {
  if (offline_.ok()) {
    spdlog::error("storage: {}: partition offline: {}", tp_.ToString(), why.ToString());
    offline_ = absl::UnavailableError(
        absl::StrCat("storage error: partition ", tp_.ToString(), " is offline after an I/O error: ", why.message()));
  }
}

void PartitionLog::Append(std::string batches, LeaderEpoch epoch, AppendCallback done, const TxnVerifier& verify) {
  if (batches.empty()) {
    done(absl::InvalidArgumentError("empty append: no record batches"));
    return;
  }
  if (batches.size() > static_cast<size_t>(INT32_MAX)) {
    done(absl::ResourceExhaustedError("append larger than 2 GiB"));
    return;
  }
  int32_t max_message_bytes;
  bool log_append_time;
  {
    absl::ReaderMutexLock lock(&mu_);
    max_message_bytes = config_.max_message_bytes;
    log_append_time = config_.log_append_time;
  }
  const int64_t now = host_->NowMs();

  // Validate (and stamp LogAppendTime, which rewrites the CRC) outside the lock.
  struct Item {
    size_t position;
    int64_t records;
  };
  std::vector<Item> items;
  std::vector<ProducedBatch> produced;
  bool any_producer = false;
  int64_t total_records = 0;
  size_t pos = 0;
  while (pos < batches.size()) {
    absl::StatusOr<MutableRecordBatchView> mv =
        MutableRecordBatchView::Parse(batches.data() + pos, batches.size() - pos, protocol::CrcCheck::kVerify);
    if (!mv.ok()) {
      done(mv.status());
      return;
    }
    RecordBatchView view = mv->view();
    if (view.size_bytes() > static_cast<size_t>(max_message_bytes)) {
      done(absl::ResourceExhaustedError(absl::StrCat("record batch of ", view.size_bytes(),
                                                     " bytes exceeds max.message.bytes ", max_message_bytes)));
      return;
    }
    if (view.records_count() <= 0 || view.last_offset_delta() != view.records_count() - 1) {
      done(absl::InvalidArgumentError(absl::StrCat("record batch with ", view.records_count(),
                                                   " records and lastOffsetDelta ", view.last_offset_delta())));
      return;
    }
    // As Kafka's LogValidator: an idempotent batch carries a sequence and an epoch (transaction
    // markers carry neither sequence nor checks: the broker writes them).
    if (view.producer_id() >= 0 && !view.is_control() && (view.base_sequence() < 0 || view.producer_epoch() < 0)) {
      done(absl::InvalidArgumentError(absl::StrCat("record batch of producer ", view.producer_id(), " with sequence ",
                                                   view.base_sequence(), " and epoch ", view.producer_epoch())));
      return;
    }
    std::optional<bool> marker_commit;
    if (view.is_control()) {
      absl::StatusOr<bool> commit = internal::MarkerIsCommit(view);
      if (!commit.ok()) {
        done(commit.status());
        return;
      }
      marker_commit = *commit;
    }
    if (log_append_time) mv->SetMaxTimestamp(protocol::TimestampType::kLogAppendTime, now);
    items.push_back({pos, view.records_count()});
    if (view.producer_id() >= 0) any_producer = true;
    produced.push_back(ProducedBatch{view.producer_id(), view.producer_epoch(), view.base_sequence(),
                                     LastSequence(view.base_sequence(), view.last_offset_delta()),
                                     view.is_transactional(), marker_commit});
    total_records += view.records_count();
    pos += view.size_bytes();
  }

  AppendResult result;
  bool durable;
  bool request_sync = false;
  absl::Status failure;
  std::vector<LogEvent> events;
  {
    absl::MutexLock lock(&mu_);
    durable = config_.durable();
    std::optional<ProducerBatch> retry;
    if (!offline_.ok()) {
      failure = offline_;
    } else if (absl::StatusOr<std::optional<ProducerBatch>> checked = CheckProducersLocked(produced);
               !checked.ok()) {
      failure = checked.status();
    } else if (checked->has_value()) {
      retry = **checked;
    } else if (verify != nullptr) {
      for (const ProducedBatch& b : produced) {
        if (b.transactional && !b.marker_commit.has_value() && !producers_.HasOpenTxn(b.producer_id)) {
          failure = verify(b.producer_id, b.producer_epoch);
          if (!failure.ok()) break;
        }
      }
    }
    if (retry.has_value()) {
      // A retry of a batch already in the log: its original offsets, once they are durable.
      result.base_offset = Offset(retry->base_offset);
      result.last_offset = Offset(retry->last_offset);
      result.log_append_time_ms = log_append_time ? retry->append_time_ms : -1;
      result.log_start_offset = Offset(log_start_offset_);
      durable = durable && retry->last_offset >= durable_offset_;
      if (durable) {
        Waiter w{retry->last_offset + 1, result, std::move(done)};
        auto at = std::upper_bound(waiters_.begin(), waiters_.end(), w.end_offset,
                                   [](int64_t end, const Waiter& x) { return end < x.end_offset; });
        waiters_.insert(at, std::move(w));
        request_sync = true;
      }
    } else if (failure.ok()) {
      const int64_t base = log_end_offset_;
      const int64_t last = base + total_records - 1;
      if (ShouldRollLocked(static_cast<int64_t>(batches.size()), last, now)) {
        failure = RollLocked(now, &events);
        if (failure.ok()) request_sync = true;
      }
      if (failure.ok()) {
        Segment& seg = *segments_.back();
        int64_t next = base;
        for (const Item& item : items) {
          absl::StatusOr<MutableRecordBatchView> mv = MutableRecordBatchView::Parse(
              batches.data() + item.position, batches.size() - item.position, protocol::CrcCheck::kSkip);
          mv->SetBaseOffset(next);
          mv->SetPartitionLeaderEpoch(epoch.value());
          next += item.records;
        }
        const int64_t write_position = seg.size();
        bool truncate_failed = false;
        failure = seg.Append(host_->file_ops(), batches, &truncate_failed);
        if (!failure.ok()) {
          spdlog::error("storage: {}: append failed, log kept at offset {}: {}", tp_.ToString(), base,
                        failure.ToString());
          if (truncate_failed) GoOfflineLocked(failure);
        } else {
          for (const Item& item : items) {
            absl::StatusOr<RecordBatchView> view =
                RecordBatchView::Parse(std::string_view(batches).substr(item.position), protocol::CrcCheck::kSkip);
            seg.OnBatchAppended(*view, write_position + static_cast<int64_t>(item.position),
                                config_.index_interval_bytes, config_.segment_index_bytes);
          }
          seg.MarkFirstAppend(now);
          if (any_producer) {
            int64_t at = base;
            for (size_t i = 0; i < items.size(); ++i) {
              const ProducedBatch& b = produced[i];
              if (b.producer_id >= 0 && b.marker_commit.has_value()) {
                std::optional<CompletedTxn> ended =
                    producers_.CompleteTxn(b.producer_id, b.producer_epoch, at, *b.marker_commit, now);
                if (ended.has_value() && ended->aborted) {
                  const int64_t lso = std::min(producers_.FirstUnstableOffset().value_or(at + 1), at + 1);
                  seg.AddAbortedTxn(AbortedTxn{ended->producer_id, ended->first_offset, at, lso});
                }
              } else if (b.producer_id >= 0) {
                producers_.Record(b.producer_id, b.producer_epoch,
                                  ProducerBatch{b.first_seq, b.last_seq, at, at + items[i].records - 1, now}, now,
                                  b.transactional);
              }
              at += items[i].records;
            }
          }
          log_end_offset_ = last + 1;
          unsynced_messages_ += total_records;
          result.base_offset = Offset(base);
          result.last_offset = Offset(last);
          result.log_append_time_ms = log_append_time ? now : -1;
          result.log_start_offset = Offset(log_start_offset_);
          host_->CountAppend(static_cast<int64_t>(items.size()), static_cast<int64_t>(batches.size()));
          if (durable) {
            waiters_.push_back({last + 1, result, std::move(done)});
            request_sync = true;
          } else {
            events.push_back(Event(LogEventKind::kHighWatermarkMoved, log_end_offset_));
          }
          if (config_.flush_messages.has_value() && unsynced_messages_ >= *config_.flush_messages) {
            request_sync = true;
          }
        }
      }
    }
  }
  if (request_sync) host_->RequestSync(shared_from_this());
  if (!events.empty()) host_->Publish(events);
  if (!failure.ok()) {
    done(failure);
  } else if (!durable) {
    done(result);
  }
}

absl::StatusOr<std::optional<ProducerBatch>> PartitionLog::CheckProducersLocked(
    const std::vector<ProducedBatch>& batches) const {
  if (batches.size() == 1) {
    if (batches[0].producer_id < 0) return std::nullopt;
    if (batches[0].marker_commit.has_value()) {
      if (absl::Status st = producers_.CheckMarker(batches[0].producer_id, batches[0].producer_epoch); !st.ok()) {
        return st;
      }
      return std::nullopt;
    }
    return producers_.Check(batches[0].producer_id, batches[0].producer_epoch, batches[0].first_seq,
                            batches[0].last_seq);
  }
  // Several batches in one append (rare: clients send one per partition): each checked against
  // the state the ones before it leave. A retry among them is refused, not half-written.
  std::vector<int64_t> touched;
  for (const ProducedBatch& b : batches) {
    if (b.producer_id >= 0) touched.push_back(b.producer_id);
  }
  ProducerStateTable scratch = producers_.Subset(touched);
  for (const ProducedBatch& b : batches) {
    if (b.producer_id < 0) continue;
    if (b.marker_commit.has_value()) {
      if (absl::Status st = scratch.CheckMarker(b.producer_id, b.producer_epoch); !st.ok()) return st;
      continue;
    }
    absl::StatusOr<std::optional<ProducerBatch>> c = scratch.Check(b.producer_id, b.producer_epoch, b.first_seq, b.last_seq);
    if (!c.ok()) return c.status();
    if (c->has_value()) {
      return ProducerRefusal(ProducerError::kOutOfOrderSequence,
                             absl::StrCat("producer ", b.producer_id, " retried batch ", b.first_seq, "-", b.last_seq,
                                          " inside an append of several batches"));
    }
    scratch.Record(b.producer_id, b.producer_epoch, ProducerBatch{b.first_seq, b.last_seq, 0, 0, -1}, 0);
  }
  return std::nullopt;
}

void PartitionLog::AppendMarker(int64_t producer_id, int16_t producer_epoch, bool commit, int32_t coordinator_epoch,
                                AppendCallback done) {
  protocol::EndTransactionMarkerBatch marker;
  marker.producer_id = producer_id;
  marker.producer_epoch = producer_epoch;
  marker.type = commit ? protocol::ControlRecordType::kCommit : protocol::ControlRecordType::kAbort;
  marker.coordinator_epoch = coordinator_epoch;
  marker.timestamp_ms = host_->NowMs();
  absl::StatusOr<std::string> batch = protocol::BuildEndTransactionMarkerBatch(marker);
  if (!batch.ok()) return done(batch.status());
  Append(*std::move(batch), LeaderEpoch(0), std::move(done));
}

LogBounds PartitionLog::bounds() const {
  absl::ReaderMutexLock lock(&mu_);
  return BoundsLocked();
}

LogBounds PartitionLog::BoundsLocked() const {
  const int64_t hw = HighWatermarkLocked();
  return LogBounds{Offset(log_start_offset_), Offset(hw),
                   Offset(std::min(hw, producers_.FirstUnstableOffset().value_or(hw))), Offset(log_end_offset_),
                   Offset(deleted_below_)};
}

Offset PartitionLog::last_stable_offset() const { return bounds().last_stable_offset; }

std::vector<AbortedTxn> PartitionLog::AbortedTransactions(Offset from, Offset upper) const {
  std::vector<AbortedTxn> out;
  absl::ReaderMutexLock lock(&mu_);
  // Markers at or after `from` lie in the segment holding `from` or later ones.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), from.value(),
                             [](int64_t o, const std::shared_ptr<Segment>& seg) { return o < seg->base_offset(); });
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    if (CollectAborted((*it)->aborted_txns(), from.value(), upper.value(), &out)) break;
  }
  return out;
}

std::vector<ProducerInfo> PartitionLog::Producers() const {
  absl::ReaderMutexLock lock(&mu_);
  return producers_.Producers();
}

int64_t PartitionLog::HighWatermarkLocked() const {
  return config_.durable() ? durable_offset_ : log_end_offset_;
}

Offset PartitionLog::log_start_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return Offset(log_start_offset_);
}

Offset PartitionLog::high_watermark() const {
  absl::ReaderMutexLock lock(&mu_);
  return Offset(HighWatermarkLocked());
}

Offset PartitionLog::log_end_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return Offset(log_end_offset_);
}

Offset PartitionLog::durable_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return Offset(durable_offset_);
}

absl::Status PartitionLog::status() const {
  absl::ReaderMutexLock lock(&mu_);
  return offline_;
}

std::vector<SegmentInfo> PartitionLog::segments() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<SegmentInfo> out;
  for (const auto& seg : segments_) {
    out.push_back({Offset(seg->base_offset()), Offset(seg->next_offset()), seg->size(), seg->max_timestamp(),
                   seg->offset_index_entries(), seg->time_index_entries()});
  }
  return out;
}

absl::Status PartitionLog::StartEmptyAt(Offset offset, std::string_view producer_snapshot) {
  std::vector<LogEvent> events;
  {
    absl::MutexLock lock(&mu_);
    if (!offline_.ok()) return offline_;  // deleted: a partition made again is another log
    if (segments_.size() != 1 || segments_.back()->size() != 0 || log_end_offset_ != log_start_offset_ ||
        !waiters_.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(tp_.ToString(), " holds records"));
    }
    if (offset.value() <= log_end_offset_) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<Segment>> seg =
        Segment::Create(dir_, offset.value(), host_->file_ops(), host_->NowMs());
    if (!seg.ok()) return seg.status();
    if (absl::Status st = SyncDirectory(host_->file_ops(), dir_); !st.ok()) {
      (*seg)->DeleteFiles();
      return st;
    }
    segments_.back()->DeleteFiles();
    segments_.clear();
    segments_.push_back(std::shared_ptr<Segment>(std::move(*seg)));
    log_start_offset_ = log_end_offset_ = durable_offset_ = recovery_point_ = offset.value();
    checkpoint_dirty_ = true;
    if (!producer_snapshot.empty()) {
      if (absl::StatusOr<ProducerStateTable> producers = ProducerStateTable::FromSnapshot(producer_snapshot);
          producers.ok()) {
        producers_ = *std::move(producers);
        WriteProducerSnapshotLocked();
      } else {
        spdlog::warn("storage: {}: the producer snapshot is damaged; starting without producer state: {}",
                     tp_.ToString(), producers.status().ToString());
      }
    }
    events.push_back(Event(LogEventKind::kLogStartMoved, log_start_offset_));
    events.push_back(Event(LogEventKind::kHighWatermarkMoved, log_end_offset_));
  }
  spdlog::info("storage: {}: empty, now starts at offset {}", tp_.ToString(), offset.value());
  absl::Status st = host_->WriteCheckpoint();
  host_->Publish(events);
  return st;
}

void PartitionLog::SetTieredEnd(Offset offset) {
  absl::MutexLock lock(&mu_);
  tiered_end_ = offset.value();
}

int64_t PartitionLog::size_bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& seg : segments_) n += seg->size();
  return n;
}

absl::Status PartitionLog::LinkFiles(const std::string& to, std::vector<std::pair<std::string, int64_t>>* files,
                                     PartitionCheckpoint* checkpoint) const {
  absl::ReaderMutexLock lock(&mu_);
  *checkpoint = CheckpointValuesLocked();
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr && errno == ENOENT) return absl::OkStatus();  // deleted: nothing to keep
  if (d == nullptr) return IoError("open directory", dir_, errno);
  absl::Status st;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (IsTransientFileName(name)) continue;
    const std::string from = absl::StrCat(dir_, "/", name), link = absl::StrCat(to, "/", name);
    struct stat info;
    if (::stat(from.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (::link(from.c_str(), link.c_str()) != 0) {
      st = IoError("link to " + link, from, errno);
      break;
    }
    files->emplace_back(name, static_cast<int64_t>(info.st_size));
  }
  ::closedir(d);
  return st;
}

void PartitionLog::DeleteSegmentsBelowLocked(int64_t offset, RetentionResult* result, std::vector<LogEvent>* events,
                                             std::vector<std::shared_ptr<Segment>>* doomed) {
  while (segments_.size() > 1 && segments_[1]->base_offset() <= offset) {
    std::shared_ptr<Segment> seg = std::move(segments_.front());
    segments_.erase(segments_.begin());
    result->segments_deleted++;
    result->bytes_deleted += seg->size();
    events->push_back(Event(LogEventKind::kSegmentDeleted, seg->base_offset(), seg->size()));
    seg->DeleteFiles();
    doomed->push_back(std::move(seg));
  }
}

absl::Status PartitionLog::DeleteRecordsBefore(Offset offset) {
  std::vector<LogEvent> events;
  std::vector<std::shared_ptr<Segment>> doomed;  // closed once mu_ is released
  {
    absl::MutexLock lock(&mu_);
    if (!offline_.ok() && offline_.code() == absl::StatusCode::kFailedPrecondition) return offline_;
    const int64_t hw = HighWatermarkLocked();
    if (offset.value() > hw || offset.value() < 0) {
      return absl::OutOfRangeError(absl::StrCat("cannot delete records before ", offset.value(), " in ",
                                                tp_.ToString(), ": high watermark is ", hw));
    }
    if (offset.value() <= deleted_below_ && offset.value() <= log_start_offset_) return absl::OkStatus();
    deleted_below_ = std::max(deleted_below_, offset.value());
    if (offset.value() > log_start_offset_) {
      log_start_offset_ = offset.value();
      RetentionResult r;
      DeleteSegmentsBelowLocked(log_start_offset_, &r, &events, &doomed);
      events.push_back(Event(LogEventKind::kLogStartMoved, log_start_offset_));
      spdlog::info("storage: {}: log start offset now {} ({} segments deleted)", tp_.ToString(), log_start_offset_,
                   r.segments_deleted);
    } else {
      // Below the local log: only a tiered partition's remote copy still holds such records.
      spdlog::info("storage: {}: records below offset {} deleted (the local log starts at {})", tp_.ToString(),
                   deleted_below_, log_start_offset_);
    }
  }
  absl::Status st = host_->WriteCheckpoint();
  host_->Publish(events);
  return st;
}

absl::StatusOr<RetentionResult> PartitionLog::ApplyRetention(int64_t now_ms) {
  RetentionResult result;
  std::vector<LogEvent> events;
  std::vector<std::shared_ptr<Segment>> doomed;  // closed once mu_ is released
  {
    absl::MutexLock lock(&mu_);
    const int64_t hw = HighWatermarkLocked();
    int64_t total = 0;
    for (const auto& s : segments_) total += s->size();
    while (segments_.size() > 1) {
      const Segment& seg = *segments_.front();
      const int64_t next_base = segments_[1]->base_offset();
      if (next_base > hw) break;
      // A tiered topic's local copy goes by local.retention.*, and never before the remote copy.
      if (config_.remote_storage && next_base > tiered_end_) break;
      const int64_t retention_ms = config_.remote_storage ? config_.LocalRetentionMs() : config_.retention_ms;
      const int64_t retention_bytes = config_.remote_storage ? config_.LocalRetentionBytes() : config_.retention_bytes;
      const int64_t ts = seg.max_timestamp() >= 0 ? seg.max_timestamp() : seg.ModifiedMs();
      // A compact-only topic keeps everything compaction leaves.
      const bool expired = config_.cleanup_delete && retention_ms >= 0 && now_ms - ts > retention_ms;
      const bool over_size = config_.cleanup_delete && retention_bytes >= 0 && total - seg.size() >= retention_bytes;
      const bool below_start = next_base <= log_start_offset_;
      if (!expired && !over_size && !below_start) break;
      total -= seg.size();
      RetentionResult one;
      DeleteSegmentsBelowLocked(next_base, &one, &events, &doomed);
      result.segments_deleted += one.segments_deleted;
      result.bytes_deleted += one.bytes_deleted;
    }
    const int64_t before = log_start_offset_;
    log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
    if (log_start_offset_ != before) events.push_back(Event(LogEventKind::kLogStartMoved, log_start_offset_));
    result.log_start_offset = Offset(log_start_offset_);
  }
  if (result.segments_deleted > 0) {
    spdlog::info("storage: {}: retention deleted {} segments ({} bytes), log start offset now {}", tp_.ToString(),
                 result.segments_deleted, result.bytes_deleted, result.log_start_offset.value());
    absl::Status st = host_->WriteCheckpoint();
    host_->Publish(events);
    if (!st.ok()) return st;
  }
  return result;
}

size_t PartitionLog::ExpireProducers(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return producers_.Expire(now_ms, host_->ProducerIdExpirationMs());
}

absl::StatusOr<bool> PartitionLog::RollIfIdle(int64_t now_ms) {
  std::vector<LogEvent> events;
  {
    absl::MutexLock lock(&mu_);
    if (!offline_.ok()) return offline_;
    const Segment& active = *segments_.back();
    if (active.empty() || active.first_append_ms() < 0) return false;
    if (now_ms - active.first_append_ms() < config_.roll_ms()) return false;
    // With the durable policy, only fsync'd data is closed off, so retention never races a sync.
    if (HighWatermarkLocked() < log_end_offset_) return false;
    if (absl::Status st = RollLocked(now_ms, &events); !st.ok()) return st;
  }
  host_->RequestSync(shared_from_this());
  host_->Publish(events);
  return true;
}

void PartitionLog::Sync(bool force) {
  absl::MutexLock sync_lock(&sync_mu_);
  FileOps& ops = host_->file_ops();
  SyncPlan plan;
  {
    absl::MutexLock lock(&mu_);
    if (sync_failed_ || segments_.empty()) return;
    plan.rolled = std::move(rolled_unsynced_);
    rolled_unsynced_.clear();
    plan.sync_dir = dir_unsynced_;
    dir_unsynced_ = false;
    plan.target = log_end_offset_;
    plan.messages = unsynced_messages_;
    if (plan.target > durable_offset_ || force) plan.active = segments_.back()->file();
    if (plan.rolled.empty() && !plan.sync_dir && !plan.active) return;
  }
  absl::Status st;
  for (const auto& seg : plan.rolled) {
    if (!st.ok()) break;
    if (internal::TimedFDataSync(*host_, ops, seg->file()->fd()) != 0) {
      st = IoError("fdatasync", seg->log_path(), errno);
      break;
    }
    host_->CountFsync();
    host_->CountFsync();
    st = seg->SyncIndexes(ops);
  }
  if (st.ok() && plan.active) {
    if (internal::TimedFDataSync(*host_, ops, plan.active->fd()) != 0) {
      st = IoError("fdatasync", plan.active->path(), errno);
    }
  }
  if (st.ok() && plan.sync_dir) {
    host_->CountFsync();
    st = SyncDirectory(ops, dir_);
  }
  std::deque<Waiter> completed;
  absl::Status fail_with;
  std::vector<LogEvent> events;
  {
    absl::MutexLock lock(&mu_);
    if (!st.ok()) {
      // After a failed fsync the page cache may have dropped the data: nothing unsynced can be
      // acknowledged, and the partition stops taking appends until it is recovered from disk.
      sync_failed_ = true;
      GoOfflineLocked(st);
      completed.swap(waiters_);
      fail_with = st;
    } else {
      if (config_.durable() && plan.target > durable_offset_) {
        events.push_back(Event(LogEventKind::kHighWatermarkMoved, plan.target));
      }
      durable_offset_ = std::max(durable_offset_, plan.target);
      recovery_point_ = durable_offset_;
      unsynced_messages_ -= plan.messages;
      last_sync_steady_ms_ = SteadyNowMs();
      if (!plan.rolled.empty()) checkpoint_dirty_ = true;
      while (!waiters_.empty() && waiters_.front().end_offset <= durable_offset_) {
        completed.push_back(std::move(waiters_.front()));
        waiters_.pop_front();
      }
    }
  }
  if (fail_with.ok() && !completed.empty()) host_->CountGroupCommit(static_cast<int64_t>(completed.size()));
  // Readers first: a fetch woken here sees the data its producer is about to be told of.
  if (!events.empty()) host_->Publish(events);
  for (Waiter& w : completed) {
    if (fail_with.ok()) {
      w.done(w.result);
    } else {
      w.done(fail_with);
    }
  }
}

bool PartitionLog::NeedsTimedSync(int64_t steady_now_ms) const {
  absl::ReaderMutexLock lock(&mu_);
  if (sync_failed_ || !config_.flush_ms.has_value()) return false;
  if (log_end_offset_ <= durable_offset_ && rolled_unsynced_.empty()) return false;
  return steady_now_ms - last_sync_steady_ms_ >= *config_.flush_ms;
}

absl::Status PartitionLog::CloseLog() {
  absl::Status result;
  {
    // Appends are refused before the final sync: one written after it would be neither synced
    // nor acknowledged, yet vouched for by the clean-shutdown marker.
    absl::MutexLock lock(&mu_);
    result = offline_;
    if (offline_.ok()) offline_ = absl::FailedPreconditionError(absl::StrCat("log ", tp_.ToString(), " is closed"));
  }
  Sync(/*force=*/true);
  std::deque<Waiter> orphans;
  {
    absl::MutexLock lock(&mu_);
    orphans.swap(waiters_);
    if (result.ok() && !segments_.empty()) {
      FileOps& ops = host_->file_ops();
      const auto& active = segments_.back();
      result = active->WriteIndexes(ops, config_.segment_index_bytes);
      if (result.ok()) result = active->SyncIndexes(ops);
      WriteProducerSnapshotLocked();
      if (result.ok()) result = SyncDirectory(ops, dir_);
    }
  }
  for (Waiter& w : orphans) w.done(absl::FailedPreconditionError("log closed before the append was durable"));
  return result;
}

void PartitionLog::MarkDeleted() {
  std::deque<Waiter> orphans;
  {
    absl::MutexLock lock(&mu_);
    offline_ = absl::FailedPreconditionError(absl::StrCat("partition ", tp_.ToString(), " was deleted"));
    sync_failed_ = true;
    orphans.swap(waiters_);
  }
  for (Waiter& w : orphans) w.done(absl::FailedPreconditionError("partition deleted before the append was durable"));
}

PartitionCheckpoint PartitionLog::CheckpointValues() const {
  absl::ReaderMutexLock lock(&mu_);
  return CheckpointValuesLocked();
}

PartitionCheckpoint PartitionLog::CheckpointValuesLocked() const {
  return PartitionCheckpoint{recovery_point_, log_start_offset_, deleted_below_};
}

bool PartitionLog::TakeCheckpointDirty() {
  absl::MutexLock lock(&mu_);
  bool dirty = checkpoint_dirty_;
  checkpoint_dirty_ = false;
  return dirty;
}

}  // namespace chronik::storage
