#include "chronik_storage/tiered/remote_log.h"

// RemoteLogManager's reads of the remote copy: the chunk cache, its reader threads and read-ahead,
// and the lookups of aborted transactions and timestamps. (Copies, retention and manifests are in
// remote_log.cc.)

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/records.h"
#include "chronik_storage/big_endian.h"
#include "chronik_storage/segment.h"
#include "spdlog/spdlog.h"

namespace chronik::storage::tiered {
namespace {

namespace bv2 = protocol::batch_v2;

// How far past the chunk a fetch last read the readers go: this many remote.log.reader.fetch.bytes,
// and at most an equal share of half the cache among the partitions being read, so that what is
// read ahead does not evict what is being consumed (a cache smaller than two reads per partition
// being read reads none ahead).
constexpr int64_t kReadAheadFetches = 4;
// How many evicted chunks' buffers are kept for reuse (beyond remote.log.reader.cache.bytes), and
// how much larger than a read's range a buffer may be and still be given to it: the cache counts
// its chunks' sizes, not their capacity, so a small read must not pin a large buffer.
constexpr size_t kSpareBuffers = 4;
constexpr int64_t kSpareSlack = 2;

// A remote object the manifest names but the store does not have is data lost, not an unknown
// partition.
absl::Status RemoteReadError(absl::Status st) {
  return absl::IsNotFound(st) ? absl::DataLossError(st.message()) : st;
}

}  // namespace

std::optional<absl::StatusOr<RemoteLogManager::Read>> RemoteLogManager::TryRead(const TopicPartition& tp,
                                                                                Offset from, int64_t max_bytes,
                                                                                Offset local_start) {
  std::lock_guard lock(mu_);
  const ReadKey key{tp, from.value()};
  if (auto failed = failed_.find(key); failed != failed_.end()) {
    absl::Status st = failed->second;
    failed_.erase(failed);
    return absl::StatusOr<Read>(st);
  }
  // A consumer reading from the remote copy reads on: the chunks after this one are read while it
  // consumes this one, so that the store's latency overlaps its work and two reads overlap each other.
  reading_at_[tp] = Reading{from.value(), local_start.value()};
  const Chunk* chunk = CachedLocked(tp, from.value());
  if (chunk == nullptr) {
    StartReadLocked(tp, from.value());
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, chunk->lru_position);
  auto batch = std::find_if(chunk->batches.begin(), chunk->batches.end(),
                            [&](const Chunk::Batch& b) { return b.last_offset >= from.value(); });
  const int64_t begin = batch->position;
  int64_t end = begin + batch->size;
  int64_t next_offset = batch->last_offset + 1;
  for (++batch; batch != chunk->batches.end() && end + batch->size - begin <= max_bytes; ++batch) {
    end += batch->size;
    next_offset = batch->last_offset + 1;
  }
  ReadAheadLocked(tp);
  stats_.reads++;
  stats_.read_bytes += end - begin;
  Read read{protocol::SharedRange{chunk->bytes, -1, begin, end - begin, chunk->bytes->data()}, Offset(next_offset), {}};
  // Responses being sent keep their chunks alive past eviction; beyond twice the cache in all, a
  // response gets its own copy of its bytes instead.
  if (live_chunk_bytes_->load() > 2 * options_.cache_bytes) {
    auto copy = std::make_shared<std::string>(chunk->bytes->substr(begin, end - begin));
    read.bytes = protocol::SharedRange{copy, -1, 0, end - begin, copy->data()};
  }
  for (const AbortedTxn& t : chunk->aborted) {
    if (t.last_offset >= from.value() && t.first_offset < next_offset) read.aborted.push_back(t);
  }
  return absl::StatusOr<Read>(std::move(read));
}

const RemoteLogManager::Chunk* RemoteLogManager::CachedLocked(const TopicPartition& tp, int64_t offset) const {
  auto partition = chunks_.find(tp);
  if (partition == chunks_.end()) return nullptr;
  auto it = partition->second.upper_bound(offset);
  if (it == partition->second.begin()) return nullptr;
  const Chunk* chunk = std::prev(it)->second.get();
  return offset < chunk->next_offset ? chunk : nullptr;
}

void RemoteLogManager::ReadAheadLocked(const TopicPartition& tp) {
  auto reading = reading_at_.find(tp);
  if (reading == reading_at_.end()) return;
  int64_t at = reading->second.at;
  const int64_t end = std::min(RemoteEndLocked(tp), reading->second.until);
  const int64_t budget = std::min(kReadAheadFetches * options_.fetch_bytes,
                                  options_.cache_bytes / 2 / static_cast<int64_t>(reading_at_.size()));
  int64_t ahead_bytes = 0;  // past the consumer's chunk
  for (bool consumers = true; at < end; consumers = false) {
    if (const Chunk* chunk = CachedLocked(tp, at); chunk != nullptr) {
      if (!consumers) ahead_bytes += static_cast<int64_t>(chunk->bytes->size());
      at = chunk->next_offset;
      continue;
    }
    auto pending = pending_.find(ReadKey{tp, at});
    if (pending == pending_.end()) {
      // The consumer's own chunk is its fetch's to ask for: one that stopped reading asks for none.
      if (!consumers && ahead_bytes + options_.fetch_bytes <= budget) StartReadLocked(tp, at);
      return;
    }
    if (pending->second.next_offset <= at) return;  // not planned yet
    if (!consumers) ahead_bytes += pending->second.bytes;
    at = pending->second.next_offset;
  }
}

void RemoteLogManager::StartReadLocked(const TopicPartition& tp, int64_t from) {
  ReadKey key{tp, from};
  if (!pending_.emplace(key, PlannedRead{}).second) return;
  queue_.push_back(std::move(key));
  queue_cv_.notify_one();
}

void RemoteLogManager::ReaderLoop() {
  for (;;) {
    ReadKey key;
    {
      std::unique_lock lock(mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      key = queue_.front();
      queue_.pop_front();
    }
    auto plan = PlanChunk(key.tp, key.from);
    if (plan.ok() && plan->next_offset >= 0) {
      std::lock_guard lock(mu_);
      if (auto pending = pending_.find(key); pending != pending_.end()) {
        pending->second = PlannedRead{plan->next_offset, plan->end - plan->position};
      }
      ReadAheadLocked(key.tp);
    }
    auto chunk = plan.ok() ? ReadChunk(key.tp, key.from, *plan) : plan.status();
    {
      std::lock_guard lock(mu_);
      pending_.erase(key);
      if (chunk.ok()) {
        failed_.erase(key);  // a read ahead that failed before and was tried again
        InsertLocked(*std::move(chunk));
        ReadAheadLocked(key.tp);
      } else {
        spdlog::warn("tiered: {}: remote read at offset {} failed: {}", key.tp.ToString(), key.from,
                     chunk.status().ToString());
        failed_[key] = chunk.status();
      }
    }
    if (options_.on_ready) options_.on_ready(key.tp);
  }
}

int64_t RemoteLogManager::RemoteEndLocked(const TopicPartition& tp) const {
  auto it = manifests_.find(tp);
  return it == manifests_.end() ? 0 : it->second->end();
}

void RemoteLogManager::EraseLocked(const std::shared_ptr<Chunk>& chunk) {
  // Its consumer has moved on or stopped (its next fetch counts it again): the others read ahead
  // in the cache it leaves.
  if (auto reading = reading_at_.find(chunk->tp); reading != reading_at_.end() &&
      reading->second.at >= chunk->first_offset && reading->second.at < chunk->next_offset) {
    reading_at_.erase(reading);
  }
  cached_bytes_ -= static_cast<int64_t>(chunk->bytes->size());
  lru_.erase(chunk->lru_position);
  auto& by_offset = chunks_[chunk->tp];
  by_offset.erase(chunk->first_offset);
  if (by_offset.empty()) chunks_.erase(chunk->tp);
  // A buffer no read holds any more (reads take theirs under mu_) is kept for the next reads, unless
  // it grew past the usual read (a batch larger than fetch.bytes).
  if (spare_buffers_.size() < kSpareBuffers && chunk->bytes.use_count() == 1 &&
      static_cast<int64_t>(chunk->bytes->capacity()) <= kSpareSlack * options_.fetch_bytes) {
    spare_buffers_.push_back(std::move(*chunk->bytes));
  }
}

void RemoteLogManager::InsertLocked(std::shared_ptr<Chunk> chunk) {
  if (manifests_.count(chunk->tp) == 0) return;  // deleted meanwhile
  stats_.chunk_bytes_read += static_cast<int64_t>(chunk->bytes->size());
  if (auto by_offset = chunks_.find(chunk->tp); by_offset != chunks_.end()) {
    if (auto old = by_offset->second.find(chunk->first_offset); old != by_offset->second.end()) {
      std::shared_ptr<Chunk> replaced = old->second;
      EraseLocked(replaced);
    }
  }
  lru_.push_front(chunk);
  chunk->lru_position = lru_.begin();
  cached_bytes_ += static_cast<int64_t>(chunk->bytes->size());
  chunks_[chunk->tp][chunk->first_offset] = chunk;
  while (cached_bytes_ > options_.cache_bytes && lru_.size() > 1) {
    std::shared_ptr<Chunk> victim = lru_.back();
    EraseLocked(victim);
  }
}

absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> RemoteLogManager::OffsetIndex(const RemoteSegment& segment) {
  {
    std::lock_guard lock(index_mu_);
    if (auto it = indexes_.find(segment.index_key); it != indexes_.end()) return *it->second;
  }
  auto raw = store_.Get(segment.index_key, std::nullopt);
  if (!raw.ok()) return RemoteReadError(raw.status());
  if (raw->size() % kOffsetIndexEntrySize != 0) return absl::DataLossError(absl::StrCat(segment.index_key, ": torn index"));
  auto entries = std::make_shared<std::vector<std::pair<int64_t, int64_t>>>();
  for (size_t i = 0; i < raw->size(); i += kOffsetIndexEntrySize) {
    const int64_t offset = segment.base_offset + static_cast<int32_t>(LoadBe32(raw->data() + i));
    const int64_t position = static_cast<int32_t>(LoadBe32(raw->data() + i + 4));
    // Entries go up in both offset and position, within the segment: reads are planned by them.
    const bool in_order = entries->empty() ? offset >= segment.base_offset && position > 0
                                           : offset > entries->back().first && position > entries->back().second;
    if (!in_order || offset >= segment.next_offset || position >= segment.size) {
      return absl::DataLossError(absl::StrCat(segment.index_key, ": entry ", i / kOffsetIndexEntrySize, " out of order"));
    }
    entries->emplace_back(offset, position);
  }
  std::lock_guard lock(index_mu_);
  if (indexes_.size() > 1024) indexes_.clear();
  indexes_[segment.index_key] = entries;
  return *entries;
}

absl::StatusOr<RemoteLogManager::ChunkPlan> RemoteLogManager::PlanChunk(const TopicPartition& tp, int64_t from) {
  ChunkPlan plan;
  plan.manifest = ManifestOf(tp);
  if (plan.manifest == nullptr) return absl::OutOfRangeError("no remote copy");
  auto seg = std::find_if(plan.manifest->segments.begin(), plan.manifest->segments.end(),
                          [&](const RemoteSegment& s) { return s.base_offset <= from && from < s.next_offset; });
  if (seg == plan.manifest->segments.end()) {
    return absl::OutOfRangeError(absl::StrCat("offset ", from, " is not in the remote copy"));
  }
  plan.segment = &*seg;
  auto index = OffsetIndex(*seg);
  if (!index.ok()) return index.status();
  auto entry = index->begin();
  for (; entry != index->end() && entry->first <= from; ++entry) plan.position = entry->second;
  // The segment's end serves as its last entry.
  auto consider = [&](int64_t offset, int64_t position) {
    if (position > plan.position && position - plan.position <= options_.fetch_bytes) {
      plan.end = position;
      plan.next_offset = offset;
      return true;
    }
    return false;
  };
  for (; entry != index->end() && consider(entry->first, entry->second); ++entry) {
  }
  if (entry == index->end()) consider(seg->next_offset, seg->size);
  return plan;
}

absl::StatusOr<std::shared_ptr<RemoteLogManager::Chunk>> RemoteLogManager::ReadChunk(const TopicPartition& tp,
                                                                                     int64_t from) {
  auto plan = PlanChunk(tp, from);
  if (!plan.ok()) return plan.status();
  return ReadChunk(tp, from, *plan);
}

absl::StatusOr<std::shared_ptr<RemoteLogManager::Chunk>> RemoteLogManager::ReadChunk(const TopicPartition& tp,
                                                                                     int64_t from,
                                                                                     const ChunkPlan& plan) {
  const Manifest* manifest = plan.manifest.get();
  const RemoteSegment* seg = plan.segment;
  int64_t position = plan.position;
  auto chunk = std::make_shared<Chunk>();
  chunk->tp = tp;
  int64_t want = plan.end >= 0 ? plan.end - position : options_.fetch_bytes;
  for (;;) {
    const int64_t last = std::min(seg->size, position + want) - 1;
    if (last < position) return absl::DataLossError(absl::StrCat(seg->log_key, ": offset ", from, " not found"));
    std::string buffer;
    {
      std::lock_guard lock(mu_);
      const int64_t length = last - position + 1;
      for (auto spare = spare_buffers_.begin(); spare != spare_buffers_.end(); ++spare) {
        const auto capacity = static_cast<int64_t>(spare->capacity());
        if (capacity >= length && capacity <= kSpareSlack * length) {
          buffer = std::move(*spare);
          spare_buffers_.erase(spare);
          break;
        }
      }
    }
    auto bytes = store_.GetReusing(seg->log_key, objects::ByteRange{position, last}, std::move(buffer));
    if (!bytes.ok()) return RemoteReadError(bytes.status());
    if (static_cast<int64_t>(bytes->size()) != last - position + 1) {
      return absl::DataLossError(absl::StrCat(seg->log_key, ": short object (", bytes->size(), " bytes at ", position, ")"));
    }
    int64_t at = 0;
    int64_t skipped = 0;  // batches wholly before `from`
    int64_t previous_last = -1;
    chunk->batches.clear();
    while (at + static_cast<int64_t>(bv2::kHeaderSize) <= static_cast<int64_t>(bytes->size())) {
      auto header = ParseBatchHeader(std::string_view(*bytes).substr(at));
      if (!header.ok()) return absl::DataLossError(absl::StrCat(seg->log_key, " at ", position + at, ": ", header.status().message()));
      if (at + header->size > static_cast<int64_t>(bytes->size())) break;
      // The CRC does not cover the offsets: they must fit the segment and follow one another.
      if (header->base_offset < seg->base_offset || header->last_offset >= seg->next_offset ||
          (previous_last >= 0 && header->base_offset != previous_last + 1)) {
        return absl::DataLossError(absl::StrCat(seg->log_key, " at ", position + at, ": batch offsets ",
                                                header->base_offset, "..", header->last_offset, " out of place"));
      }
      previous_last = header->last_offset;
      const uint32_t crc = LoadBe32(bytes->data() + at + bv2::kCrcOffset);
      if (protocol::Crc32c(std::string_view(*bytes).substr(at + bv2::kAttributesOffset, header->size - bv2::kAttributesOffset)) != crc) {
        return absl::DataLossError(absl::StrCat(seg->log_key, " at ", position + at, ": batch CRC mismatch"));
      }
      if (header->last_offset < from) {
        skipped = at + header->size;
      } else {
        chunk->batches.push_back({header->base_offset, header->last_offset, at - skipped, header->size});
      }
      at += header->size;
    }
    // A planned chunk is whole batches, from its index entry to the next it names: else the index
    // does not fit the segment.
    if (plan.end >= 0 && (at != static_cast<int64_t>(bytes->size()) || previous_last + 1 != plan.next_offset)) {
      return absl::DataLossError(absl::StrCat(seg->log_key, ": its index does not match its batches at ", position + at));
    }
    if (!chunk->batches.empty()) {
      bytes->resize(at);
      bytes->erase(0, skipped);
      const auto size = static_cast<int64_t>(bytes->size());
      live_chunk_bytes_->fetch_add(size);
      chunk->bytes = std::shared_ptr<std::string>(new std::string(*std::move(bytes)),
                                                  [live = live_chunk_bytes_, size](std::string* b) {
                                                    live->fetch_sub(size);
                                                    delete b;
                                                  });
      break;
    }
    if (position + at >= seg->size) {
      return absl::DataLossError(absl::StrCat(seg->log_key, ": offset ", from, " not found"));
    }
    // The batch holding `from` is larger than one read: move to it and read it whole.
    position += skipped;
    auto head = store_.Get(seg->log_key, objects::ByteRange{position, position + static_cast<int64_t>(bv2::kHeaderSize) - 1});
    if (!head.ok()) return RemoteReadError(head.status());
    auto header = ParseBatchHeader(*head);
    if (!header.ok()) return header.status();
    want = std::max<int64_t>(want, header->size);
  }
  chunk->first_offset = chunk->batches.front().base_offset;
  chunk->next_offset = chunk->batches.back().last_offset + 1;
  auto aborted = AbortedTransactions(tp, *manifest, chunk->first_offset, chunk->next_offset);
  if (!aborted.ok()) return aborted.status();
  chunk->aborted = *std::move(aborted);
  return chunk;
}

absl::StatusOr<std::vector<AbortedTxn>> RemoteLogManager::AbortedTransactions(const TopicPartition& tp,
                                                                             const Manifest& manifest, int64_t from,
                                                                             int64_t upper) {
  std::vector<AbortedTxn> out;
  for (const RemoteSegment& seg : manifest.segments) {
    if (seg.next_offset <= from || seg.txn_index_key.empty()) continue;
    auto raw = store_.Get(seg.txn_index_key, std::nullopt);
    if (!raw.ok()) return RemoteReadError(raw.status());
    auto txns = ParseTxnIndex(*raw, seg.base_offset);
    if (!txns.has_value()) return absl::DataLossError(absl::StrCat(seg.txn_index_key, ": damaged transaction index"));
    if (CollectAborted(*txns, from, upper, &out)) return out;
  }
  // The markers of transactions begun in the remote copy may be in the local log.
  if (std::shared_ptr<PartitionLog> log = logs_.Get(tp); log != nullptr) {
    for (const AbortedTxn& t : log->AbortedTransactions(Offset(std::max(from, manifest.end())), Offset(upper))) {
      out.push_back(t);
    }
  }
  return out;
}

absl::StatusOr<std::optional<TimestampAndOffset>> RemoteLogManager::OffsetForTimestamp(const TopicPartition& tp,
                                                                                      int64_t timestamp, Offset from) {
  auto manifest = ManifestOf(tp);
  if (manifest == nullptr) return std::optional<TimestampAndOffset>();
  for (const RemoteSegment& seg : manifest->segments) {
    if (seg.max_timestamp < timestamp || seg.next_offset <= from.value()) continue;
    // The first batch of this segment that reaches the timestamp, then its first record that does.
    int64_t position = std::max(seg.base_offset, from.value());
    while (position < seg.next_offset) {
      auto chunk = ReadChunk(tp, position);
      if (!chunk.ok()) return chunk.status();
      for (const Chunk::Batch& b : (*chunk)->batches) {
        auto batch = protocol::RecordBatchView::Parse(std::string_view(*(*chunk)->bytes).substr(b.position, b.size));
        if (!batch.ok()) return batch.status();
        if (batch->is_control() || batch->max_timestamp() < timestamp || batch->last_offset() < from.value()) continue;
        auto reader = protocol::RecordReader::Create(*batch, protocol::kMaxDecompressedBatchBytes);
        if (!reader.ok()) return reader.status();
        protocol::RecordView record;
        while (reader->Next(&record)) {
          if (record.timestamp >= timestamp && record.offset >= from.value()) {
            return std::optional<TimestampAndOffset>({record.timestamp, Offset(record.offset)});
          }
        }
        if (!reader->status().ok()) return reader->status();
      }
      position = (*chunk)->next_offset;
    }
  }
  return std::optional<TimestampAndOffset>();
}

}  // namespace chronik::storage::tiered
