// Log compaction: PartitionLog::Compact and the recovery of interrupted swaps. The rules and the
// on-disk protocol are described in compaction.h.

#include "chronik_storage/compaction.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/records.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_storage/errors.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/segment.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {
namespace {

using protocol::MutableRecordBatchView;
using protocol::RecordBatchBuilder;
using protocol::RecordBatchView;
using protocol::RecordHeader;
using protocol::RecordReader;
using protocol::RecordView;
namespace bv2 = protocol::batch_v2;

// Reads and writes of segment data go in chunks of about this size.
constexpr int64_t kReadChunk = 1 << 20;
constexpr size_t kWriteChunk = 1 << 20;

// Key -> offset of the last (non-transactional) record with that key below the high watermark.
using KeyMap = absl::flat_hash_map<std::string, int64_t>;

struct SegmentSnapshot {
  std::shared_ptr<Segment> segment;
  int64_t size = 0;  // bytes to read: the active segment may grow meanwhile
  int64_t next_offset = 0;
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The 20-digit base offset prefix of a segment file name, or empty.
std::string SegmentStem(const std::string& name) {
  if (name.size() < 21 || name[20] != '.') return "";
  std::string stem = name.substr(0, 20);
  return std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; }) ? stem : "";
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) return std::numeric_limits<int64_t>::max();
  return a + b;
}

void StoreBe32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

// Calls `visit` for every batch in the first `end` bytes of `segment`, reading in chunks and
// verifying each CRC. `visit` may set *stop to end the walk early.
absl::Status ForEachBatch(const Segment& segment, int64_t end,
                          const std::function<absl::Status(const RecordBatchView&, bool* stop)>& visit) {
  const SegmentFile& file = *segment.file();
  std::string buf;
  int64_t buf_start = 0;
  int64_t pos = 0;
  auto ensure = [&](int64_t n) -> absl::Status {
    if (pos >= buf_start && pos + n <= buf_start + static_cast<int64_t>(buf.size())) return absl::OkStatus();
    buf.clear();
    buf_start = pos;
    return file.ReadAt(pos, std::min(std::max(n, kReadChunk), end - pos), &buf);
  };
  while (pos < end) {
    if (end - pos < static_cast<int64_t>(bv2::kHeaderSize)) {
      return absl::DataLossError(absl::StrCat(file.path(), ": partial batch header at position ", pos));
    }
    absl::Status st = ensure(bv2::kHeaderSize);
    if (!st.ok()) return st;
    absl::StatusOr<BatchHeader> header =
        ParseBatchHeader(std::string_view(buf.data() + (pos - buf_start), bv2::kHeaderSize));
    if (!header.ok()) {
      return absl::DataLossError(
          absl::StrCat(file.path(), ": bad batch header at position ", pos, ": ", header.status().message()));
    }
    if (pos + header->size > end) {
      return absl::DataLossError(absl::StrCat(file.path(), ": batch at position ", pos, " runs past the end"));
    }
    st = ensure(header->size);
    if (!st.ok()) return st;
    absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(
        std::string_view(buf.data() + (pos - buf_start), static_cast<size_t>(header->size)),
        protocol::CrcCheck::kVerify);
    if (!batch.ok()) {
      return absl::DataLossError(
          absl::StrCat(file.path(), ": invalid batch at position ", pos, ": ", batch.status().message()));
    }
    bool stop = false;
    st = visit(*batch, &stop);
    if (!st.ok() || stop) return st;
    pos += header->size;
  }
  return absl::OkStatus();
}

// Whether records of `batch` take part in compaction at all (as superseding or superseded).
bool Compactable(const RecordBatchView& batch) { return !batch.is_control() && !batch.is_transactional(); }

absl::Status Stopped() { return absl::CancelledError("compaction stopped: the broker is shutting down"); }

// Per producer id, the base offset of its last batch below the high watermark: the batch the
// producer state is rebuilt from at the next load, so compaction never drops it whole.
using LastBatches = absl::flat_hash_map<int64_t, int64_t>;

absl::Status BuildKeyMap(const std::vector<SegmentSnapshot>& segments, int64_t high_watermark, KeyMap* latest,
                         LastBatches* last_batches, const std::function<bool(int64_t)>& throttle) {
  for (const SegmentSnapshot& snap : segments) {
    if (snap.segment->base_offset() >= high_watermark) break;
    absl::Status st = ForEachBatch(*snap.segment, snap.size, [&](const RecordBatchView& batch, bool* stop) -> absl::Status {
      if (batch.base_offset() >= high_watermark) {
        *stop = true;
        return absl::OkStatus();
      }
      if (throttle && !throttle(static_cast<int64_t>(batch.size_bytes()))) return Stopped();
      if (batch.producer_id() >= 0 && !batch.is_control()) (*last_batches)[batch.producer_id()] = batch.base_offset();
      if (!Compactable(batch)) return absl::OkStatus();
      absl::StatusOr<RecordReader> reader = RecordReader::Create(batch, protocol::kMaxDecompressedBatchBytes);
      if (!reader.ok()) return reader.status();
      RecordView record;
      while (reader->Next(&record)) {
        if (record.offset >= high_watermark) break;
        if (!record.key.has_value()) continue;
        auto it = latest->find(AbslView(*record.key));
        if (it == latest->end()) {
          latest->emplace(std::string(*record.key), record.offset);
        } else {
          it->second = std::max(it->second, record.offset);
        }
      }
      return reader->status();
    });
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

// Rebuilds `batch` with only `kept` (records of it, in offset order) and appends it to `*out`.
absl::Status RebuildBatch(const RecordBatchView& batch, const std::vector<RecordView>& kept,
                          std::optional<int64_t> delete_horizon_ms, std::string* out) {
  RecordBatchBuilder::Options options;
  options.base_offset = batch.base_offset();
  options.partition_leader_epoch = batch.partition_leader_epoch();
  options.compression = batch.compression();
  options.timestamp_type = batch.timestamp_type();
  if (options.timestamp_type == protocol::TimestampType::kLogAppendTime) {
    options.log_append_time_ms = batch.max_timestamp();
  }
  options.producer_id = batch.producer_id();
  options.producer_epoch = batch.producer_epoch();
  options.base_sequence = batch.base_sequence();
  options.delete_horizon_ms = delete_horizon_ms;
  RecordBatchBuilder builder(options);
  std::vector<RecordHeader> headers;
  for (const RecordView& record : kept) {
    headers.assign(record.headers.begin(), record.headers.end());
    absl::Status st = builder.AppendWithOffset(record.offset, record.timestamp, record.key, record.value, headers);
    if (!st.ok()) return st;
  }
  const size_t start = out->size();
  absl::Status st = builder.BuildAppend(out);
  if (!st.ok()) return st;
  // The batch keeps its original lastOffsetDelta, so it still ends where it did: the segment's
  // end offset and an idempotent producer's last sequence are derived from it.
  char* data = out->data() + start;
  StoreBe32(data + bv2::kLastOffsetDeltaOffset, static_cast<uint32_t>(batch.last_offset_delta()));
  absl::StatusOr<MutableRecordBatchView> rebuilt =
      MutableRecordBatchView::Parse(data, out->size() - start, protocol::CrcCheck::kSkip);
  if (!rebuilt.ok()) return rebuilt.status();
  rebuilt->RecomputeCrc();
  return absl::OkStatus();
}

struct CleanParams {
  const KeyMap* latest;
  const LastBatches* last_batches;
  const LogConfig* config;
  int64_t now_ms;
  const std::function<bool(int64_t)>* throttle;
};

// Writes the cleaned copy of the first `size` bytes of `segment` as <base>.log.cleaned. Adds the
// before/after counts to *stats. Returns nullptr (and deletes the copy) if nothing changed.
absl::StatusOr<std::unique_ptr<Segment>> CleanSegment(const std::string& dir, const Segment& segment, int64_t size,
                                                      const CleanParams& params, FileOps& ops,
                                                      CompactionResult* stats) {
  absl::StatusOr<std::unique_ptr<Segment>> created = Segment::CreateCleaned(dir, segment.base_offset(), ops);
  if (!created.ok()) return created.status();
  std::unique_ptr<Segment> cleaned = std::move(*created);
  const LogConfig& config = *params.config;
  const int64_t now = params.now_ms;
  bool changed = false;
  std::string out;

  auto flush = [&]() -> absl::Status {
    if (out.empty()) return absl::OkStatus();
    bool truncate_failed = false;
    absl::Status st = cleaned->Append(ops, out, &truncate_failed);
    out.clear();
    return st;
  };
  // Appends whole batches at the end of `out` (already there from `at` on) to the index.
  auto index_from = [&](size_t at) -> absl::Status {
    while (at < out.size()) {
      absl::StatusOr<RecordBatchView> view =
          RecordBatchView::Parse(std::string_view(out).substr(at), protocol::CrcCheck::kSkip);
      if (!view.ok()) return view.status();
      cleaned->OnBatchAppended(*view, cleaned->size() + static_cast<int64_t>(at), config.index_interval_bytes,
                               config.segment_index_bytes);
      stats->batches_after++;
      stats->records_after += view->records_count();
      at += view->size_bytes();
    }
    if (out.size() >= kWriteChunk) return flush();
    return absl::OkStatus();
  };

  std::vector<RecordView> kept;
  absl::Status st = ForEachBatch(segment, size, [&](const RecordBatchView& batch, bool*) -> absl::Status {
    stats->batches_before++;
    stats->records_before += batch.records_count();
    // Read once here and written once to the cleaned copy.
    if (*params.throttle && !(*params.throttle)(2 * static_cast<int64_t>(batch.size_bytes()))) return Stopped();
    const size_t at = out.size();
    const bool too_young = config.min_compaction_lag_ms > 0 &&
                           batch.max_timestamp() > now - std::min(config.min_compaction_lag_ms, now);
    if (too_young && Compactable(batch)) stats->batches_too_young++;
    if (!Compactable(batch) || too_young) {
      out.append(batch.bytes());
      return index_from(at);
    }
    absl::StatusOr<RecordReader> reader = RecordReader::Create(batch, protocol::kMaxDecompressedBatchBytes);
    if (!reader.ok()) return reader.status();
    const std::optional<int64_t> horizon = batch.delete_horizon_ms();
    kept.clear();
    int64_t removed = 0;
    int64_t tombstones_removed = 0;
    bool tombstone_kept = false;
    RecordView record;
    while (reader->Next(&record)) {
      if (!record.key.has_value()) {
        kept.push_back(record);
        continue;
      }
      auto it = params.latest->find(AbslView(*record.key));
      const bool superseded = it != params.latest->end() && it->second > record.offset;
      const bool tombstone = !record.value.has_value();
      if (superseded || (tombstone && horizon.has_value() && now >= *horizon)) {
        removed++;
        if (tombstone) tombstones_removed++;
        continue;
      }
      if (tombstone) tombstone_kept = true;
      kept.push_back(record);
    }
    if (!reader->status().ok()) return reader->status();
    const bool stamp_horizon = tombstone_kept && !horizon.has_value();
    if (tombstone_kept) {
      const int64_t h = horizon.has_value() ? *horizon : SaturatingAdd(now, config.delete_retention_ms);
      if (stats->next_delete_horizon_ms < 0 || h < stats->next_delete_horizon_ms) stats->next_delete_horizon_ms = h;
    }
    // An idempotent producer's last batch is never dropped whole, so that the producer's state
    // survives the next load (Kafka's cleaner keeps it as an empty batch; here it stays as it is).
    auto last = params.last_batches->find(batch.producer_id());
    const bool producers_last = kept.empty() && batch.producer_id() >= 0 && last != params.last_batches->end() &&
                                last->second == batch.base_offset();
    if ((removed == 0 && !stamp_horizon) || producers_last) {
      out.append(batch.bytes());
      return index_from(at);
    }
    changed = true;
    stats->records_removed += removed;
    stats->tombstones_removed += tombstones_removed;
    if (kept.empty()) return absl::OkStatus();  // the batch goes
    std::optional<int64_t> new_horizon;
    if (tombstone_kept) new_horizon = horizon.has_value() ? *horizon : SaturatingAdd(now, config.delete_retention_ms);
    absl::Status rebuilt = RebuildBatch(batch, kept, new_horizon, &out);
    if (!rebuilt.ok()) return rebuilt;
    return index_from(at);
  });
  if (st.ok()) st = flush();
  if (!st.ok() || !changed) {
    cleaned->DeleteFiles();
    if (!st.ok()) return st;
    return std::unique_ptr<Segment>();
  }
  return cleaned;
}

}  // namespace

absl::StatusOr<CompactionRecovery> RecoverInterruptedCompaction(const std::string& dir, FileOps& ops) {
  CompactionRecovery result;
  std::vector<std::string> cleaned;
  std::vector<std::string> swaps;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return IoError("open directory", dir, errno);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (SegmentStem(name).empty()) continue;
    if (EndsWith(name, kCleanedSuffix)) cleaned.push_back(name);
    if (EndsWith(name, kSwapSuffix)) swaps.push_back(name);
  }
  ::closedir(d);
  std::sort(swaps.begin(), swaps.end());

  auto remove = [&](const std::string& path) {
    if (::unlink(path.c_str()) == 0) result.files_deleted++;
  };
  for (const std::string& name : cleaned) remove(dir + "/" + name);

  const std::string swap(kSwapSuffix);
  for (const std::string& name : swaps) {
    const std::string stem = SegmentStem(name);
    if (name != stem + ".log" + swap) continue;
    const std::string base = dir + "/" + stem;
    if (!Exists(base + ".log")) {
      // Retention deleted the segment while its cleaned copy waited to be swapped in.
      remove(base + ".log" + swap);
      remove(base + ".index" + swap);
      remove(base + ".timeindex" + swap);
      continue;
    }
    for (const char* ext : {".index", ".timeindex"}) {
      const std::string target = base + ext;
      if (Exists(target + swap)) {
        if (ops.Rename((target + swap).c_str(), target.c_str()) != 0) return IoError("rename", target + swap, errno);
      } else {
        // The cleaned index already replaced it, or it is the old one: either way recovery rebuilds
        // it from the log.
        ::unlink(target.c_str());
      }
    }
    if (ops.Rename((base + ".log" + swap).c_str(), (base + ".log").c_str()) != 0) {
      return IoError("rename", base + ".log" + swap, errno);
    }
    result.swaps_finished++;
  }
  // Index .swap files whose log never reached .swap.
  for (const std::string& name : swaps) {
    if (Exists(dir + "/" + name)) remove(dir + "/" + name);
  }
  if (result.swaps_finished > 0 || result.files_deleted > 0) {
    absl::Status st = SyncDirectory(ops, dir);
    if (!st.ok()) return st;
  }
  return result;
}

absl::Status PartitionLog::SwapInCleaned(const std::shared_ptr<Segment>& old, std::unique_ptr<Segment> cleaned,
                                         bool* swapped) {
  *swapped = false;
  FileOps& ops = host_->file_ops();
  const int64_t base = old->base_offset();
  const std::string stem = dir_ + "/" + SegmentFileName(base, "");
  const std::string cleaned_suffix(kCleanedSuffix);
  const std::string swap_suffix(kSwapSuffix);
  // Indexes first, the log last: the log's rename is what commits each step.
  const char* const kExts[] = {".index", ".timeindex", ".log"};
  auto remove_swaps = [&] {
    for (const char* ext : kExts) ::unlink((stem + ext + swap_suffix).c_str());
  };
  int32_t segment_index_bytes;
  {
    absl::ReaderMutexLock lock(&mu_);
    segment_index_bytes = config_.segment_index_bytes;
  }

  // 1. The cleaned files, durable.
  absl::Status st;
  if (internal::TimedFDataSync(*host_, ops, cleaned->file()->fd()) != 0) {
    st = IoError("fdatasync", cleaned->log_path(), errno);
  }
  if (st.ok()) st = cleaned->WriteIndexes(ops, segment_index_bytes);
  if (st.ok()) {
    host_->CountFsync();
    host_->CountFsync();
    st = cleaned->SyncIndexes(ops);
  }
  // 2. *.cleaned -> *.swap: from here on a crash finishes the swap at the next Open.
  for (const char* ext : kExts) {
    if (!st.ok()) break;
    const std::string from = stem + ext + cleaned_suffix;
    if (ops.Rename(from.c_str(), (stem + ext + swap_suffix).c_str()) != 0) st = IoError("rename", from, errno);
  }
  if (st.ok()) {
    host_->CountFsync();
    st = SyncDirectory(ops, dir_);
  }
  if (!st.ok()) {
    cleaned->DeleteFiles();
    remove_swaps();
    return st;
  }

  // 3. Over the originals, under the lock.
  bool abandoned = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find(segments_.begin(), segments_.end(), old);
    if (it == segments_.end() || it + 1 == segments_.end() || !offline_.ok()) {
      abandoned = true;
    } else {
      for (const char* ext : kExts) {
        const std::string from = stem + ext + swap_suffix;
        if (ops.Rename(from.c_str(), (stem + ext).c_str()) != 0) {
          // The .swap log is still there (the log goes last): the next Open finishes the swap.
          // Until then the old segment, still in memory with its own indexes, keeps serving.
          st = IoError("rename", from, errno);
          break;
        }
      }
      if (st.ok()) {
        absl::StatusOr<std::unique_ptr<Segment>> opened = Segment::Open(dir_, base, ops);
        if (!opened.ok()) {
          st = opened.status();
        } else if ((*opened)->size() != cleaned->size()) {
          st = absl::DataLossError(absl::StrCat("compacted segment ", (*opened)->log_path(), " has ",
                                                (*opened)->size(), " bytes, expected ", cleaned->size()));
        } else {
          (*opened)->AdoptIndexes(*cleaned);
          (*opened)->SetAbortedTxns(old->aborted_txns());
          *it = std::shared_ptr<Segment>(std::move(*opened));
          *swapped = true;
        }
      }
    }
  }
  if (abandoned) {
    remove_swaps();
    return absl::OkStatus();
  }
  if (!st.ok()) return st;
  host_->CountFsync();
  return SyncDirectory(ops, dir_);
}

absl::StatusOr<CompactionResult> PartitionLog::Compact(int64_t now_ms, const std::function<bool(int64_t)>& throttle) {
  const auto started = std::chrono::steady_clock::now();
  absl::MutexLock compact_lock(&compact_mu_);
  FileOps& ops = host_->file_ops();

  LogConfig config;
  int64_t high_watermark;
  std::vector<SegmentSnapshot> snapshot;
  size_t cleanable = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (!offline_.ok()) return offline_;
    config = config_;
    high_watermark = HighWatermarkLocked();
    for (const auto& seg : segments_) snapshot.push_back({seg, seg->size(), seg->next_offset()});
    // Closed segments wholly below the high watermark (with the durable policy, fsync'd ones).
    while (cleanable + 1 < snapshot.size() && snapshot[cleanable].next_offset <= high_watermark) cleanable++;
  }
  if (!config.cleanup_compact) {
    return absl::FailedPreconditionError(
        absl::StrCat("partition ", tp_.ToString(), " does not have cleanup.policy=compact"));
  }
  CompactionResult result;
  result.cleaned_up_to =
      Offset(cleanable > 0 ? snapshot[cleanable - 1].next_offset : snapshot.front().segment->base_offset());
  auto finish = [&] {
    result.duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  };
  if (cleanable == 0) {
    finish();
    return result;
  }

  KeyMap latest;
  LastBatches last_batches;
  absl::Status st = BuildKeyMap(snapshot, high_watermark, &latest, &last_batches, throttle);
  if (!st.ok()) {
    if (st.code() != absl::StatusCode::kCancelled) {
      spdlog::error("storage: {}: compaction failed reading the log: {}", tp_.ToString(), st.ToString());
    }
    return st;
  }
  result.distinct_keys = static_cast<int64_t>(latest.size());

  const CleanParams params{&latest, &last_batches, &config, now_ms, &throttle};
  for (size_t i = 0; i < cleanable; ++i) {
    const SegmentSnapshot& snap = snapshot[i];
    CompactionResult part;
    absl::StatusOr<std::unique_ptr<Segment>> cleaned =
        CleanSegment(dir_, *snap.segment, snap.size, params, ops, &part);
    if (!cleaned.ok()) {
      if (cleaned.status().code() != absl::StatusCode::kCancelled) {
        spdlog::error("storage: {}: compaction of segment {} failed: {}", tp_.ToString(), snap.segment->base_offset(),
                      cleaned.status().ToString());
      }
      return cleaned.status();
    }
    bool swapped = false;
    int64_t cleaned_size = 0;
    if (*cleaned != nullptr) {
      cleaned_size = (*cleaned)->size();
      st = SwapInCleaned(snap.segment, std::move(*cleaned), &swapped);
      if (!st.ok()) {
        spdlog::error("storage: {}: swapping in compacted segment {} failed: {}", tp_.ToString(),
                      snap.segment->base_offset(), st.ToString());
        return st;
      }
    }
    result.segments_examined++;
    // Kafka's first uncleanable offset: a segment with batches still too young to clean is not
    // clean, nor is anything after it.
    if (part.batches_too_young > 0 && result.batches_too_young == 0) {
      result.cleaned_up_to = Offset(snap.segment->base_offset());
    }
    result.batches_too_young += part.batches_too_young;
    if (part.next_delete_horizon_ms >= 0 &&
        (result.next_delete_horizon_ms < 0 || part.next_delete_horizon_ms < result.next_delete_horizon_ms)) {
      result.next_delete_horizon_ms = part.next_delete_horizon_ms;
    }
    result.batches_before += part.batches_before;
    result.records_before += part.records_before;
    result.bytes_before += snap.size;
    if (swapped) {
      result.segments_cleaned++;
      result.batches_after += part.batches_after;
      result.records_after += part.records_after;
      result.bytes_after += cleaned_size;
      result.records_removed += part.records_removed;
      result.tombstones_removed += part.tombstones_removed;
    } else {
      result.batches_after += part.batches_before;
      result.records_after += part.records_before;
      result.bytes_after += snap.size;
    }
  }
  finish();
  spdlog::info(
      "storage: {}: compacted {} of {} segments up to offset {}: {} -> {} records, {} -> {} bytes, {} tombstones "
      "removed, {} keys, {} us",
      tp_.ToString(), result.segments_cleaned, result.segments_examined, result.cleaned_up_to.value(),
      result.records_before, result.records_after, result.bytes_before, result.bytes_after,
      result.tombstones_removed, result.distinct_keys, result.duration_us);
  return result;
}

}  // namespace chronik::storage
