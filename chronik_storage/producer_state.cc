#include "chronik_storage/producer_state.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_storage/big_endian.h"

namespace chronik::storage {
namespace {

constexpr char kPayloadUrl[] = "chronik.storage/producer-error";

// Kafka's sequences wrap from INT32_MAX to 0.
int32_t NextSequence(int32_t seq) { return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1; }

}  // namespace

int32_t LastSequence(int32_t base_sequence, int32_t last_offset_delta) {
  const int64_t s = int64_t{base_sequence} + last_offset_delta;
  return static_cast<int32_t>(s > std::numeric_limits<int32_t>::max() ? s - std::numeric_limits<int32_t>::max() - 1 : s);
}

absl::Status ProducerRefusal(ProducerError error, std::string message) {
  absl::Status s = absl::FailedPreconditionError(std::move(message));
  s.SetPayload(kPayloadUrl, absl::Cord(error == ProducerError::kInvalidEpoch ? "epoch" : "sequence"));
  return s;
}

std::optional<ProducerError> GetProducerError(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return *payload == "epoch" ? ProducerError::kInvalidEpoch : ProducerError::kOutOfOrderSequence;
}

absl::StatusOr<std::optional<ProducerBatch>> ProducerStateTable::Check(int64_t pid, int16_t epoch, int32_t first_seq,
                                                                       int32_t last_seq) const {
  auto it = entries_.find(pid);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  if (epoch < e.epoch) {
    return ProducerRefusal(ProducerError::kInvalidEpoch,
                   absl::StrCat("producer ", pid, " epoch ", epoch, " is older than its current epoch ", e.epoch));
  }
  if (epoch > e.epoch) {
    if (first_seq != 0) {
      return ProducerRefusal(ProducerError::kOutOfOrderSequence,
                     absl::StrCat("producer ", pid, " starts epoch ", epoch, " at sequence ", first_seq, ", not 0"));
    }
    return std::nullopt;
  }
  for (const ProducerBatch& b : e.batches) {
    if (b.first_seq == first_seq && b.last_seq == last_seq) return b;  // a retry
  }
  if (!e.batches.empty() && first_seq != NextSequence(e.batches.back().last_seq)) {
    return ProducerRefusal(ProducerError::kOutOfOrderSequence,
                   absl::StrCat("producer ", pid, " sent sequence ", first_seq, " after ", e.batches.back().last_seq));
  }
  return std::nullopt;
}

void ProducerStateTable::Record(int64_t pid, int16_t epoch, const ProducerBatch& batch, int64_t when_ms,
                                bool transactional) {
  Entry& e = entries_[pid];
  e.last_append_ms = std::max(e.last_append_ms, when_ms);
  if (epoch != e.epoch) {
    e.epoch = epoch;
    e.batches.clear();
  }
  e.batches.push_back(batch);
  while (e.batches.size() > kBatchesKept) e.batches.pop_front();
  if (transactional && e.txn_first_offset < 0) {
    e.txn_first_offset = batch.base_offset;
    open_txns_.emplace(batch.base_offset, pid);
  }
}

absl::Status ProducerStateTable::CheckMarker(int64_t pid, int16_t epoch) const {
  auto it = entries_.find(pid);
  if (it != entries_.end() && epoch < it->second.epoch) {
    return ProducerRefusal(ProducerError::kInvalidEpoch, absl::StrCat("marker of producer ", pid, " at epoch ", epoch,
                                                                      " is older than its epoch ", it->second.epoch));
  }
  return absl::OkStatus();
}

std::optional<CompletedTxn> ProducerStateTable::CompleteTxn(int64_t pid, int16_t epoch, int64_t marker_offset,
                                                            bool commit, int64_t when_ms) {
  Entry& e = entries_[pid];
  e.last_append_ms = std::max(e.last_append_ms, when_ms);
  if (epoch > e.epoch) {
    e.epoch = epoch;
    e.batches.clear();
  }
  if (e.txn_first_offset < 0) return std::nullopt;
  CompletedTxn done{pid, e.txn_first_offset, marker_offset, !commit};
  open_txns_.erase(e.txn_first_offset);
  e.txn_first_offset = -1;
  return done;
}

std::optional<int64_t> ProducerStateTable::FirstUnstableOffset() const {
  if (open_txns_.empty()) return std::nullopt;
  return open_txns_.begin()->first;
}

size_t ProducerStateTable::Expire(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(entries_, [&](const auto& kv) {
    return kv.second.txn_first_offset < 0 && now_ms - kv.second.last_append_ms > expiration_ms;
  });
}

std::vector<ProducerInfo> ProducerStateTable::Producers() const {
  std::vector<ProducerInfo> out;
  out.reserve(entries_.size());
  for (const auto& [pid, e] : entries_) {
    out.push_back(ProducerInfo{pid, e.epoch, e.batches.empty() ? -1 : e.batches.back().last_seq, e.last_append_ms,
                               e.txn_first_offset});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
  return out;
}

ProducerStateTable ProducerStateTable::Subset(const std::vector<int64_t>& pids) const {
  ProducerStateTable out;
  for (int64_t pid : pids) {
    if (auto it = entries_.find(pid); it != entries_.end()) {
      out.entries_.emplace(pid, it->second);
      if (it->second.txn_first_offset >= 0) out.open_txns_.emplace(it->second.txn_first_offset, pid);
    }
  }
  return out;
}

// Layout: int16 version (1), uint32 CRC-32C of what follows, int32 producer count, then per
// producer: int64 id, int16 epoch, int64 last append ms, int64 open transaction's first offset,
// int32 batch count, and per batch int32 first and last sequence, int64 base and last offset and
// int64 append time. Big-endian, as Kafka's files are.
std::string ProducerStateTable::Snapshot() const {
  std::string body;
  StoreBe32(&body, static_cast<uint32_t>(entries_.size()));
  for (const auto& [pid, e] : entries_) {
    StoreBe64(&body, static_cast<uint64_t>(pid));
    StoreBe16(&body, static_cast<uint16_t>(e.epoch));
    StoreBe64(&body, static_cast<uint64_t>(e.last_append_ms));
    StoreBe64(&body, static_cast<uint64_t>(e.txn_first_offset));
    StoreBe32(&body, static_cast<uint32_t>(e.batches.size()));
    for (const ProducerBatch& b : e.batches) {
      StoreBe32(&body, static_cast<uint32_t>(b.first_seq));
      StoreBe32(&body, static_cast<uint32_t>(b.last_seq));
      StoreBe64(&body, static_cast<uint64_t>(b.base_offset));
      StoreBe64(&body, static_cast<uint64_t>(b.last_offset));
      StoreBe64(&body, static_cast<uint64_t>(b.append_time_ms));
    }
  }
  std::string out;
  StoreBe16(&out, 1);
  StoreBe32(&out, protocol::Crc32c(body));
  return out + body;
}

absl::StatusOr<ProducerStateTable> ProducerStateTable::FromSnapshot(std::string_view data) {
  auto damaged = [](const char* why) { return absl::DataLossError(absl::StrCat("producer snapshot: ", why)); };
  if (data.size() < 10 || LoadBe16(data.data()) != 1) return damaged("unknown version or too short");
  const std::string_view body = data.substr(6);
  if (LoadBe32(data.data() + 2) != protocol::Crc32c(body)) return damaged("CRC mismatch");
  size_t pos = 0;
  auto need = [&](size_t n) { return body.size() - pos >= n; };
  ProducerStateTable table;
  const uint32_t count = LoadBe32(body.data());
  pos = 4;
  for (uint32_t i = 0; i < count; ++i) {
    if (!need(30)) return damaged("truncated producer");
    const auto pid = static_cast<int64_t>(LoadBe64(body.data() + pos));
    Entry e;
    e.epoch = static_cast<int16_t>(LoadBe16(body.data() + pos + 8));
    e.last_append_ms = static_cast<int64_t>(LoadBe64(body.data() + pos + 10));
    e.txn_first_offset = static_cast<int64_t>(LoadBe64(body.data() + pos + 18));
    const uint32_t batches = LoadBe32(body.data() + pos + 26);
    pos += 30;
    if (batches > kBatchesKept || !need(size_t{batches} * 32)) return damaged("bad batch count");
    for (uint32_t j = 0; j < batches; ++j) {
      const char* b = body.data() + pos;
      e.batches.push_back(ProducerBatch{static_cast<int32_t>(LoadBe32(b)), static_cast<int32_t>(LoadBe32(b + 4)),
                                        static_cast<int64_t>(LoadBe64(b + 8)), static_cast<int64_t>(LoadBe64(b + 16)),
                                        static_cast<int64_t>(LoadBe64(b + 24))});
      pos += 32;
    }
    if (e.txn_first_offset >= 0) table.open_txns_.emplace(e.txn_first_offset, pid);
    table.entries_.emplace(pid, std::move(e));
  }
  if (pos != body.size()) return damaged("trailing bytes");
  return table;
}

}  // namespace chronik::storage
