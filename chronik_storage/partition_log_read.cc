#include "chronik_storage/partition_log.h"

// PartitionLog's reads: records from an offset, and lookups by timestamp (the rest of PartitionLog
// is in partition_log.cc).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/records.h"
#include "chronik_storage/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {

using protocol::RecordBatchView;

const Segment* PartitionLog::SegmentForLocked(int64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it == segments_.begin()) return segments_.front().get();
  return std::prev(it)->get();
}

absl::StatusOr<ReadResult> PartitionLog::Read(Offset from_offset, int64_t max_bytes, std::optional<Offset> max_offset,
                                              bool min_one_batch) const {
  absl::ReaderMutexLock lock(&mu_);
  const int64_t from = from_offset.value();
  if (from < log_start_offset_ || from > log_end_offset_) {
    return absl::OutOfRangeError(absl::StrCat("offset ", from, " is out of range for ", tp_.ToString(),
                                              " (log start ", log_start_offset_, ", log end ", log_end_offset_, ")"));
  }
  ReadResult result;
  result.bounds = BoundsLocked();
  result.next_offset = from_offset;
  int64_t limit = HighWatermarkLocked();
  if (max_offset.has_value()) limit = std::min(limit, max_offset->value());
  if (from >= limit) return result;

  auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                             [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it != segments_.begin()) --it;
  int64_t total = 0;
  bool done = false;
  bool first_segment = true;
  for (; it != segments_.end() && !done; ++it) {
    const Segment& seg = **it;
    int64_t start = 0;
    if (first_segment) {
      start = seg.LookupPosition(from);
      if (start > 0) {
        absl::StatusOr<BatchHeader> h = seg.ReadHeaderAt(start);
        if (!h.ok() || h->base_offset > from) {
          spdlog::warn("storage: {}: offset index of segment {} disagrees with the log; scanning", tp_.ToString(),
                       seg.base_offset());
          start = 0;
        }
      }
    }
    first_segment = false;
    int64_t slice_start = -1;
    int64_t slice_end = -1;
    absl::Status st = seg.WalkHeaders(start, seg.size(), [&](const BatchHeader& h, int64_t pos) {
      if (slice_start < 0 && h.last_offset < from) return true;
      if (h.base_offset >= limit || ((total > 0 || !min_one_batch) && total + h.size > max_bytes)) {
        done = true;
        return false;
      }
      if (slice_start < 0) slice_start = pos;
      slice_end = pos + h.size;
      total += h.size;
      result.next_offset = Offset(h.last_offset + 1);
      return true;
    });
    if (!st.ok()) return st;
    if (slice_start >= 0) {
      result.records.shared.push_back(
          protocol::SharedRange{seg.file(), seg.file()->fd(), slice_start, slice_end - slice_start});
    }
  }
  return result;
}

absl::StatusOr<std::optional<TimestampAndOffset>> PartitionLog::FindInBatch(const Segment& seg, int64_t position,
                                                                            int64_t size, int64_t timestamp,
                                                                            bool exact) const {
  std::string bytes;
  absl::Status st = seg.file()->ReadAt(position, size, &bytes);
  if (!st.ok()) return st;
  absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes, protocol::CrcCheck::kSkip);
  if (!batch.ok()) return batch.status();
  auto matches = [&](int64_t ts) { return exact ? ts == timestamp : ts >= timestamp; };
  if (batch->timestamp_type() == protocol::TimestampType::kLogAppendTime) {
    if (!matches(batch->max_timestamp()) || batch->last_offset() < log_start_offset_) return std::nullopt;
    return TimestampAndOffset{batch->max_timestamp(), Offset(std::max(batch->base_offset(), log_start_offset_))};
  }
  absl::StatusOr<protocol::RecordReader> reader = protocol::RecordReader::Create(*batch, protocol::kMaxDecompressedBatchBytes);
  if (!reader.ok()) return reader.status();
  protocol::RecordView record;
  while (reader->Next(&record)) {
    if (record.offset >= log_start_offset_ && matches(record.timestamp)) {
      return TimestampAndOffset{record.timestamp, Offset(record.offset)};
    }
  }
  if (!reader->status().ok()) return reader->status();
  return std::nullopt;
}

absl::StatusOr<std::optional<TimestampAndOffset>> PartitionLog::OffsetForTimestamp(int64_t timestamp) const {
  absl::ReaderMutexLock lock(&mu_);
  const int64_t hw = HighWatermarkLocked();
  for (const auto& seg_ptr : segments_) {
    const Segment& seg = *seg_ptr;
    if (seg.max_timestamp() < timestamp || seg.next_offset() <= log_start_offset_) continue;
    if (seg.base_offset() >= hw) break;
    std::optional<TimestampAndOffset> found;
    absl::Status inner;
    bool stop = false;
    absl::Status st =
        seg.WalkHeaders(seg.LookupTimestampPosition(timestamp), seg.size(), [&](const BatchHeader& h, int64_t pos) {
          if (h.base_offset >= hw) {
            stop = true;
            return false;
          }
          if (h.max_timestamp < timestamp || h.last_offset < log_start_offset_) return true;
          absl::StatusOr<std::optional<TimestampAndOffset>> r = FindInBatch(seg, pos, h.size, timestamp, false);
          if (!r.ok()) {
            inner = r.status();
            return false;
          }
          found = *r;
          return !found.has_value();
        });
    if (!st.ok()) return st;
    if (!inner.ok()) return inner;
    if (found.has_value()) return found;
    if (stop) break;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<TimestampAndOffset>> PartitionLog::OffsetOfMaxTimestamp() const {
  absl::ReaderMutexLock lock(&mu_);
  const int64_t hw = HighWatermarkLocked();
  // Find the largest batch max timestamp below the HW. Segment maxima make this a walk of one
  // segment unless the maximum sits above the HW.
  int64_t best_ts = -1;
  const Segment* best_seg = nullptr;
  int64_t best_pos = 0;
  int64_t best_size = 0;
  std::vector<const Segment*> order;
  for (const auto& s : segments_) {
    if (s->base_offset() < hw && s->next_offset() > log_start_offset_ && s->max_timestamp() >= 0) {
      order.push_back(s.get());
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Segment* a, const Segment* b) { return a->max_timestamp() > b->max_timestamp(); });
  for (const Segment* seg : order) {
    if (seg->max_timestamp() <= best_ts) break;  // later ones cannot beat what was found
    absl::Status st = seg->WalkHeaders(0, seg->size(), [&](const BatchHeader& h, int64_t pos) {
      if (h.base_offset >= hw) return false;
      if (h.last_offset >= log_start_offset_ && h.max_timestamp > best_ts) {
        best_ts = h.max_timestamp;
        best_seg = seg;
        best_pos = pos;
        best_size = h.size;
      }
      return true;
    });
    if (!st.ok()) return st;
  }
  if (best_seg == nullptr) return std::nullopt;
  return FindInBatch(*best_seg, best_pos, best_size, best_ts, true);
}

}  // namespace chronik::storage
