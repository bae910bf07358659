#include "chronik_storage/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "chronik_storage/big_endian.h"
#include "chronik_storage/errors.h"

namespace chronik::storage {
namespace {

using protocol::RecordBatchView;
namespace bv2 = protocol::batch_v2;

size_t MaxEntries(int32_t max_index_bytes, size_t entry_size) {
  return std::max<size_t>(1, static_cast<size_t>(std::max<int32_t>(max_index_bytes, 0)) / entry_size);
}

}  // namespace

SegmentFile::~SegmentFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status SegmentFile::ReadAt(int64_t position, int64_t size, std::string* out) const {
  size_t old = out->size();
  out->resize(old + static_cast<size_t>(size));
  int err = PReadFully(fd_, out->data() + old, static_cast<size_t>(size), position);
  if (err != 0) {
    out->resize(old);
    return IoError("read", path_, err);
  }
  return absl::OkStatus();
}

std::string SegmentFileName(int64_t base_offset, std::string_view suffix) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020" PRId64, base_offset);
  return std::string(buf) + std::string(suffix);
}

absl::StatusOr<BatchHeader> ParseBatchHeader(std::string_view bytes) {
  if (bytes.size() < bv2::kHeaderSize) return absl::DataLossError("short batch header");
  const auto length = static_cast<int32_t>(LoadBe32(bytes.data() + bv2::kBatchLengthOffset));
  if (length < static_cast<int32_t>(bv2::kHeaderSize - bv2::kLogOverhead)) {
    return absl::DataLossError(absl::StrCat("invalid batchLength ", length));
  }
  if (static_cast<int8_t>(bytes[bv2::kMagicOffset]) != bv2::kMagic) {
    return absl::DataLossError(absl::StrCat("magic ", static_cast<int>(bytes[bv2::kMagicOffset]), ", expected 2"));
  }
  const auto delta = static_cast<int32_t>(LoadBe32(bytes.data() + bv2::kLastOffsetDeltaOffset));
  if (delta < 0) return absl::DataLossError("negative lastOffsetDelta");
  BatchHeader h;
  h.base_offset = static_cast<int64_t>(LoadBe64(bytes.data() + bv2::kBaseOffsetOffset));
  h.size = bv2::kLogOverhead + static_cast<int64_t>(length);
  h.last_offset = h.base_offset + delta;
  h.max_timestamp = static_cast<int64_t>(LoadBe64(bytes.data() + bv2::kMaxTimestampOffset));
  const int attributes = (static_cast<uint8_t>(bytes[bv2::kAttributesOffset]) << 8) |
                         static_cast<uint8_t>(bytes[bv2::kAttributesOffset + 1]);
  h.is_control = (attributes & protocol::kBatchControlBit) != 0;
  h.is_transactional = (attributes & protocol::kBatchTransactionalBit) != 0;
  h.producer_id = static_cast<int64_t>(LoadBe64(bytes.data() + bv2::kProducerIdOffset));
  h.producer_epoch = static_cast<int16_t>((static_cast<uint8_t>(bytes[bv2::kProducerEpochOffset]) << 8) |
                                          static_cast<uint8_t>(bytes[bv2::kProducerEpochOffset + 1]));
  h.base_sequence = static_cast<int32_t>(LoadBe32(bytes.data() + bv2::kBaseSequenceOffset));
  return h;
}

std::string Segment::index_path() const { return dir_ + "/" + SegmentFileName(base_offset_, ".index") + suffix_; }
std::string Segment::txn_index_path() const { return dir_ + "/" + SegmentFileName(base_offset_, ".txnindex"); }
std::string Segment::time_index_path() const {
  return dir_ + "/" + SegmentFileName(base_offset_, ".timeindex") + suffix_;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Create(const std::string& dir, int64_t base_offset, FileOps& ops,
                                                         int64_t now_ms) {
  std::string path = dir + "/" + SegmentFileName(base_offset, ".log");
  int fd = ops.Open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return IoError("create segment", path, errno);
  auto seg = std::unique_ptr<Segment>(new Segment(dir, base_offset, std::make_shared<SegmentFile>(fd, path)));
  seg->next_offset_ = base_offset;
  seg->first_append_ms_ = -1;
  return seg;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::CreateCleaned(const std::string& dir, int64_t base_offset,
                                                                FileOps& ops) {
  std::string suffix(kCleanedSuffix);
  std::string path = dir + "/" + SegmentFileName(base_offset, ".log") + suffix;
  int fd = ops.Open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return IoError("create cleaned segment", path, errno);
  auto seg = std::unique_ptr<Segment>(
      new Segment(dir, base_offset, std::make_shared<SegmentFile>(fd, path), std::move(suffix)));
  seg->next_offset_ = base_offset;
  return seg;
}

void Segment::AdoptIndexes(const Segment& other) {
  offset_index_ = other.offset_index_;
  time_index_ = other.time_index_;
  next_offset_ = other.next_offset_;
  max_timestamp_ = other.max_timestamp_;
  max_timestamp_batch_ = other.max_timestamp_batch_;
  bytes_since_index_entry_ = other.bytes_since_index_entry_;
  first_append_ms_ = other.first_append_ms_;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Open(const std::string& dir, int64_t base_offset, FileOps& ops) {
  std::string path = dir + "/" + SegmentFileName(base_offset, ".log");
  int fd = ops.Open(path.c_str(), O_RDWR, 0);
  if (fd < 0) return IoError("open segment", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("stat", path, err);
  }
  auto seg = std::unique_ptr<Segment>(new Segment(dir, base_offset, std::make_shared<SegmentFile>(fd, path)));
  seg->size_ = st.st_size;
  seg->next_offset_ = base_offset;
  return seg;
}

void Segment::ResetIndexes() {
  offset_index_.clear();
  time_index_.clear();
  bytes_since_index_entry_ = 0;
  max_timestamp_ = -1;
  max_timestamp_batch_ = -1;
  next_offset_ = base_offset_;
}

void Segment::OnBatchAppended(const RecordBatchView& batch, int64_t position, int32_t index_interval_bytes,
                              int32_t max_index_bytes) {
  const auto rel = static_cast<int32_t>(batch.base_offset() - base_offset_);
  if (position > 0 && bytes_since_index_entry_ >= index_interval_bytes) {
    if (offset_index_.size() < MaxEntries(max_index_bytes, kOffsetIndexEntrySize)) {
      offset_index_.push_back({rel, static_cast<int32_t>(position)});
    }
    if (max_timestamp_ >= 0 && (time_index_.empty() || max_timestamp_ > time_index_.back().timestamp) &&
        time_index_.size() < MaxEntries(max_index_bytes, kTimeIndexEntrySize)) {
      time_index_.push_back({max_timestamp_, rel});
    }
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += static_cast<int64_t>(batch.size_bytes());
  if (batch.max_timestamp() > max_timestamp_) {
    max_timestamp_ = batch.max_timestamp();
    max_timestamp_batch_ = batch.base_offset();
  }
  next_offset_ = batch.next_offset();
}

bool Segment::IndexFull(int32_t max_index_bytes) const {
  return offset_index_.size() >= MaxEntries(max_index_bytes, kOffsetIndexEntrySize) ||
         time_index_.size() >= MaxEntries(max_index_bytes, kTimeIndexEntrySize);
}

absl::StatusOr<SegmentScan> Segment::Recover(FileOps& ops, int64_t max_next_offset, int32_t index_interval_bytes,
                                             int32_t max_index_bytes, int64_t now_ms) {
  struct stat st;
  if (::fstat(file_->fd(), &st) != 0) return IoError("stat", file_->path(), errno);
  const int64_t file_size = st.st_size;
  ResetIndexes();
  first_append_ms_ = -1;

  constexpr int64_t kChunk = 8 << 20;
  std::string buf;
  int64_t buf_start = 0;
  auto ensure = [&](int64_t pos, int64_t n) -> absl::Status {
    if (pos >= buf_start && pos + n <= buf_start + static_cast<int64_t>(buf.size())) return absl::OkStatus();
    int64_t want = std::min(std::max(n, kChunk), file_size - pos);
    buf.resize(static_cast<size_t>(want));
    buf_start = pos;
    int err = PReadFully(file_->fd(), buf.data(), buf.size(), pos);
    if (err != 0) return IoError("read", file_->path(), err);
    return absl::OkStatus();
  };

  SegmentScan scan;
  int64_t pos = 0;
  int64_t min_base = base_offset_;
  while (pos < file_size) {
    if (file_size - pos < static_cast<int64_t>(bv2::kHeaderSize)) {
      scan.stop_reason = absl::StrCat("partial batch header (", file_size - pos, " bytes)");
      break;
    }
    absl::Status st_read = ensure(pos, bv2::kHeaderSize);
    if (!st_read.ok()) return st_read;
    std::string_view head(buf.data() + (pos - buf_start), bv2::kHeaderSize);
    absl::StatusOr<BatchHeader> header = ParseBatchHeader(head);
    if (!header.ok()) {
      scan.stop_reason = std::string(header.status().message());
      break;
    }
    if (pos + header->size > file_size) {
      scan.stop_reason = absl::StrCat("torn batch: ", header->size, " bytes declared, ", file_size - pos, " present");
      break;
    }
    st_read = ensure(pos, header->size);
    if (!st_read.ok()) return st_read;
    std::string_view bytes(buf.data() + (pos - buf_start), static_cast<size_t>(header->size));
    absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes, protocol::CrcCheck::kVerify);
    if (!batch.ok()) {
      scan.stop_reason = std::string(batch.status().message());
      break;
    }
    if (batch->base_offset() < min_base || batch->next_offset() > max_next_offset ||
        batch->last_offset() - base_offset_ > INT32_MAX) {
      scan.stop_reason = absl::StrCat("batch offsets ", batch->base_offset(), "..", batch->last_offset(),
                                      " out of order (expected from ", min_base, ")");
      break;
    }
    if (first_append_ms_ < 0) {
      int64_t ts = batch->max_timestamp();
      first_append_ms_ = (ts >= 0 && ts <= now_ms) ? ts : now_ms;
    }
    OnBatchAppended(*batch, pos, index_interval_bytes, max_index_bytes);
    min_base = batch->next_offset();
    pos += header->size;
    scan.batches++;
  }
  if (first_append_ms_ < 0) first_append_ms_ = now_ms;
  scan.valid_bytes = pos;
  scan.truncated_bytes = file_size - pos;
  if (pos < file_size) {
    if (ops.FTruncate(file_->fd(), pos) != 0) return IoError("truncate", file_->path(), errno);
    if (ops.FDataSync(file_->fd()) != 0) return IoError("fdatasync", file_->path(), errno);
  }
  size_ = pos;
  return scan;
}

absl::StatusOr<bool> Segment::LoadIndexes(int64_t now_ms) {
  bool missing = false;
  absl::StatusOr<std::string> idx = ReadWholeFile(index_path(), &missing);
  if (!idx.ok()) return idx.status();
  if (missing || idx->size() % kOffsetIndexEntrySize != 0) return false;
  bool tmissing = false;
  absl::StatusOr<std::string> tidx = ReadWholeFile(time_index_path(), &tmissing);
  if (!tidx.ok()) return tidx.status();
  if (tmissing || tidx->size() % kTimeIndexEntrySize != 0) return false;

  std::vector<OffsetIndexEntry> offsets;
  for (size_t i = 0; i < idx->size(); i += kOffsetIndexEntrySize) {
    OffsetIndexEntry e{static_cast<int32_t>(LoadBe32(idx->data() + i)),
                       static_cast<int32_t>(LoadBe32(idx->data() + i + 4))};
    if (e.relative_offset < 0 || e.position <= 0 || e.position >= size_) return false;
    if (!offsets.empty() &&
        (e.relative_offset <= offsets.back().relative_offset || e.position <= offsets.back().position)) {
      return false;
    }
    offsets.push_back(e);
  }
  std::vector<TimeIndexEntry> times;
  for (size_t i = 0; i < tidx->size(); i += kTimeIndexEntrySize) {
    TimeIndexEntry e{static_cast<int64_t>(LoadBe64(tidx->data() + i)),
                     static_cast<int32_t>(LoadBe32(tidx->data() + i + 8))};
    if (e.relative_offset < 0 || e.timestamp < 0) return false;
    if (!times.empty() &&
        (e.timestamp <= times.back().timestamp || e.relative_offset < times.back().relative_offset)) {
      return false;
    }
    times.push_back(e);
  }
  offset_index_ = std::move(offsets);
  time_index_ = std::move(times);

  // Indexed positions must hold the batches the index names: check the first, the last and a
  // sample in between (a full check would cost one read per entry).
  const size_t n = offset_index_.size();
  const size_t step = std::max<size_t>(1, n / 16);
  std::vector<size_t> sample;
  for (size_t i = 0; i < n; i += step) sample.push_back(i);
  if (n > 0) sample.push_back(n - 1);
  for (size_t i : sample) {
    const OffsetIndexEntry& e = offset_index_[i];
    absl::StatusOr<BatchHeader> h = ReadHeaderAt(e.position);
    if (!h.ok() || h->base_offset != base_offset_ + e.relative_offset) {
      ResetIndexes();
      return false;
    }
  }
  bool ok = true;
  int64_t start = offset_index_.empty() ? 0 : offset_index_.back().position;
  int64_t next = offset_index_.empty() ? base_offset_ : base_offset_ + offset_index_.back().relative_offset;
  int64_t max_ts = time_index_.empty() ? -1 : time_index_.back().timestamp;
  int64_t end = start;
  absl::Status st = WalkHeaders(start, size_, [&](const BatchHeader& h, int64_t pos) {
    if (h.base_offset < next) {
      ok = false;
      return false;
    }
    next = h.last_offset + 1;
    max_ts = std::max(max_ts, h.max_timestamp);
    end = pos + h.size;
    return true;
  });
  if (!st.ok() || !ok || end != size_ ||
      (!time_index_.empty() && base_offset_ + time_index_.back().relative_offset > next)) {
    ResetIndexes();
    return false;
  }
  next_offset_ = next;
  max_timestamp_ = max_ts;
  max_timestamp_batch_ = -1;
  bytes_since_index_entry_ = size_ - start;
  first_append_ms_ = now_ms;
  if (size_ > 0) {
    absl::StatusOr<BatchHeader> first = ReadHeaderAt(0);
    if (!first.ok()) {
      ResetIndexes();
      return false;
    }
    if (first->max_timestamp >= 0 && first->max_timestamp <= now_ms) first_append_ms_ = first->max_timestamp;
  }
  return true;
}

absl::Status Segment::WriteIndexes(FileOps& ops, int32_t max_index_bytes) {
  std::string idx;
  idx.reserve(offset_index_.size() * kOffsetIndexEntrySize);
  for (const OffsetIndexEntry& e : offset_index_) {
    StoreBe32(&idx, static_cast<uint32_t>(e.relative_offset));
    StoreBe32(&idx, static_cast<uint32_t>(e.position));
  }
  std::vector<TimeIndexEntry> times = time_index_;
  if (max_timestamp_ >= 0 && (times.empty() || max_timestamp_ > times.back().timestamp)) {
    TimeIndexEntry last{max_timestamp_, static_cast<int32_t>(next_offset_ - base_offset_)};
    // The closing entry may take the place of the last one: it is coarser but still true.
    if (times.size() >= MaxEntries(max_index_bytes, kTimeIndexEntrySize)) times.pop_back();
    times.push_back(last);
  }
  std::string tidx;
  tidx.reserve(times.size() * kTimeIndexEntrySize);
  for (const TimeIndexEntry& e : times) {
    StoreBe64(&tidx, static_cast<uint64_t>(e.timestamp));
    StoreBe32(&tidx, static_cast<uint32_t>(e.relative_offset));
  }
  // Replaced, not rewritten in place: a live backup's link to the old file keeps it whole.
  absl::Status st = ReplaceFile(ops, index_path(), idx);
  if (st.ok()) st = ReplaceFile(ops, time_index_path(), tidx);
  if (st.ok() && suffix_.empty()) {
    std::string txns;
    txns.reserve(aborted_.size() * kTxnIndexEntrySize);
    for (const AbortedTxn& t : aborted_) {
      txns.push_back(0);
      txns.push_back(0);
      StoreBe64(&txns, static_cast<uint64_t>(t.producer_id));
      StoreBe64(&txns, static_cast<uint64_t>(t.first_offset));
      StoreBe64(&txns, static_cast<uint64_t>(t.last_offset));
      StoreBe64(&txns, static_cast<uint64_t>(t.last_stable_offset));
    }
    // Under another name first, too: an empty file would pass for a segment without aborts.
    st = ReplaceFile(ops, txn_index_path(), txns);
  }
  if (!st.ok()) {
    // A half-written index would be rebuilt anyway; removing it makes that explicit.
    ::unlink(index_path().c_str());
    ::unlink(time_index_path().c_str());
    if (suffix_.empty()) ::unlink(txn_index_path().c_str());
  }
  return st;
}

absl::Status Segment::SyncIndexes(FileOps& ops) {
  absl::Status st = SyncFile(ops, index_path());
  if (st.ok()) st = SyncFile(ops, time_index_path());
  if (st.ok() && suffix_.empty()) st = SyncFile(ops, txn_index_path());
  return st;
}

void Segment::DeleteFiles() {
  ::unlink(file_->path().c_str());
  ::unlink(index_path().c_str());
  ::unlink(time_index_path().c_str());
  if (suffix_.empty()) ::unlink(txn_index_path().c_str());
}

std::optional<std::vector<AbortedTxn>> ParseTxnIndex(std::string_view data, int64_t base_offset) {
  if (data.size() % kTxnIndexEntrySize != 0) return std::nullopt;
  std::vector<AbortedTxn> txns;
  for (size_t i = 0; i < data.size(); i += kTxnIndexEntrySize) {
    const char* p = data.data() + i;
    if (p[0] != 0 || p[1] != 0) return std::nullopt;  // version 0 only
    AbortedTxn t{static_cast<int64_t>(LoadBe64(p + 2)), static_cast<int64_t>(LoadBe64(p + 10)),
                 static_cast<int64_t>(LoadBe64(p + 18)), static_cast<int64_t>(LoadBe64(p + 26))};
    if (t.first_offset > t.last_offset || t.last_offset < base_offset ||
        (!txns.empty() && t.last_offset <= txns.back().last_offset)) {
      return std::nullopt;
    }
    txns.push_back(t);
  }
  return txns;
}

bool CollectAborted(const std::vector<AbortedTxn>& txns, int64_t from, int64_t upper, std::vector<AbortedTxn>* out) {
  for (const AbortedTxn& t : txns) {
    if (t.last_offset < from) continue;
    if (t.first_offset < upper) out->push_back(t);
    if (t.last_stable_offset >= upper) return true;
  }
  return false;
}

absl::StatusOr<bool> Segment::LoadTxnIndex() {
  bool missing = false;
  absl::StatusOr<std::string> data = ReadWholeFile(txn_index_path(), &missing);
  if (!data.ok()) return data.status();
  if (missing) return false;
  std::optional<std::vector<AbortedTxn>> txns = ParseTxnIndex(*data, base_offset_);
  if (!txns.has_value()) return false;
  aborted_ = *std::move(txns);
  return true;
}

absl::Status Segment::Append(FileOps& ops, std::string_view data, bool* truncate_failed) {
  *truncate_failed = false;
  int err = PWriteFully(ops, file_->fd(), data.data(), data.size(), size_);
  if (err != 0) {
    if (ops.FTruncate(file_->fd(), size_) != 0) *truncate_failed = true;
    return IoError("write to segment", file_->path(), err);
  }
  size_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

int64_t Segment::LookupPosition(int64_t offset) const {
  int64_t rel = offset - base_offset_;
  if (rel <= 0 || offset_index_.empty()) return 0;
  auto it = std::upper_bound(offset_index_.begin(), offset_index_.end(), rel,
                             [](int64_t r, const OffsetIndexEntry& e) { return r < e.relative_offset; });
  if (it == offset_index_.begin()) return 0;
  return std::prev(it)->position;
}

int64_t Segment::LookupTimestampPosition(int64_t timestamp) const {
  // The last entry with T < timestamp: no record before its offset can match.
  auto it = std::lower_bound(time_index_.begin(), time_index_.end(), timestamp,
                             [](const TimeIndexEntry& e, int64_t ts) { return e.timestamp < ts; });
  if (it == time_index_.begin()) return 0;
  return LookupPosition(base_offset_ + std::prev(it)->relative_offset);
}

absl::Status Segment::WalkHeaders(int64_t position, int64_t end,
                                  const std::function<bool(const BatchHeader&, int64_t)>& visit) const {
  constexpr int64_t kWindow = 64 << 10;
  std::string buf;
  int64_t buf_start = -1;
  int64_t pos = position;
  while (pos < end) {
    if (end - pos < static_cast<int64_t>(bv2::kHeaderSize)) {
      return absl::DataLossError(absl::StrCat(file_->path(), ": partial batch header at position ", pos));
    }
    if (buf_start < 0 || pos < buf_start ||
        pos + static_cast<int64_t>(bv2::kHeaderSize) > buf_start + static_cast<int64_t>(buf.size())) {
      int64_t want = std::min(kWindow, end - pos);
      buf.resize(static_cast<size_t>(want));
      int err = PReadFully(file_->fd(), buf.data(), buf.size(), pos);
      if (err != 0) return IoError("read", file_->path(), err);
      buf_start = pos;
    }
    absl::StatusOr<BatchHeader> h =
        ParseBatchHeader(std::string_view(buf.data() + (pos - buf_start), bv2::kHeaderSize));
    if (!h.ok()) {
      return absl::DataLossError(
          absl::StrCat(file_->path(), ": bad batch header at position ", pos, ": ", h.status().message()));
    }
    if (pos + h->size > end) {
      return absl::DataLossError(absl::StrCat(file_->path(), ": batch at position ", pos, " runs past the end"));
    }
    if (!visit(*h, pos)) return absl::OkStatus();
    pos += h->size;
  }
  return absl::OkStatus();
}

absl::StatusOr<BatchHeader> Segment::ReadHeaderAt(int64_t position) const {
  char buf[bv2::kHeaderSize];
  if (position < 0 || position + static_cast<int64_t>(bv2::kHeaderSize) > size_) {
    return absl::DataLossError(absl::StrCat(file_->path(), ": no batch header at position ", position));
  }
  int err = PReadFully(file_->fd(), buf, sizeof(buf), position);
  if (err != 0) return IoError("read", file_->path(), err);
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(std::string_view(buf, sizeof(buf)));
  if (!h.ok()) {
    return absl::DataLossError(
        absl::StrCat(file_->path(), ": bad batch header at position ", position, ": ", h.status().message()));
  }
  return h;
}

int64_t Segment::ModifiedMs() const {
  struct stat st;
  if (::fstat(file_->fd(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

}  // namespace chronik::storage
