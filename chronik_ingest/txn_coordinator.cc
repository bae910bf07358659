#include "chronik_ingest/txn_coordinator.h"

#include <condition_variable>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_storage/producer_state.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

constexpr std::pair<TxnState, std::string_view> kStateNames[] = {
    {TxnState::kEmpty, "Empty"},
    {TxnState::kOngoing, "Ongoing"},
    {TxnState::kPrepareCommit, "PrepareCommit"},
    {TxnState::kPrepareAbort, "PrepareAbort"},
    {TxnState::kCompleteCommit, "CompleteCommit"},
    {TxnState::kCompleteAbort, "CompleteAbort"},
    {TxnState::kDead, "Dead"},
    {TxnState::kPrepareEpochFence, "PrepareEpochFence"},
};

// Kafka bumps to a new producer id rather than reach Short.MaxValue.
constexpr int16_t kMaxEpoch = std::numeric_limits<int16_t>::max() - 1;

absl::Status TxnError(ErrorCode code, std::string message) {
  return KafkaError(absl::StatusCode::kFailedPrecondition, code, message);
}

bool IsPrepare(TxnState s) { return s == TxnState::kPrepareCommit || s == TxnState::kPrepareAbort; }

}  // namespace

std::string_view TxnStateName(TxnState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "Unknown";
}

std::optional<TxnState> ParseTxnState(std::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(),
                   [](char a, char b) { return absl::ascii_tolower(a) == absl::ascii_tolower(b); })) {
      return s;
    }
  }
  return std::nullopt;
}

TxnCoordinator::TxnCoordinator(storage::MetadataStore& store, ProducerIdManager& ids, GroupCoordinator& groups,
                               Options options)
    : store_(store), ids_(ids), groups_(groups), options_(std::move(options)) {}

std::string TxnCoordinator::Serialize(const Txn& t) {
  nlohmann::json j;
  j["pid"] = t.producer_id;
  j["epoch"] = t.epoch;
  j["last_pid"] = t.last_producer_id;
  j["last_epoch"] = t.last_epoch;
  j["timeout_ms"] = t.timeout_ms;
  j["state"] = std::string(TxnStateName(t.state));
  j["start_ms"] = t.start_ms;
  j["update_ms"] = t.update_ms;
  j["partitions"] = nlohmann::json::array();
  for (const TxnPartition& p : t.partitions) j["partitions"].push_back({p.topic, p.partition});
  j["groups"] = t.groups;
  j["offsets"] = nlohmann::json::array();
  for (const PendingTxnOffset& o : t.offsets) {
    j["offsets"].push_back({{"group", o.group},
                            {"topic", o.entry.topic},
                            {"partition", o.entry.partition},
                            {"offset", o.entry.offset},
                            {"leader_epoch", o.entry.leader_epoch},
                            {"metadata", o.entry.metadata.has_value() ? nlohmann::json(*o.entry.metadata) : nullptr}});
  }
  return j.dump();
}

absl::Status TxnCoordinator::Deserialize(std::string_view data, Txn* t) {
  nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::DataLossError("transaction record is not a JSON object");
  try {
    t->producer_id = j.at("pid").get<int64_t>();
    t->epoch = j.at("epoch").get<int16_t>();
    t->last_producer_id = j.at("last_pid").get<int64_t>();
    t->last_epoch = j.at("last_epoch").get<int16_t>();
    t->timeout_ms = j.at("timeout_ms").get<int32_t>();
    std::optional<TxnState> state = ParseTxnState(j.at("state").get<std::string>());
    if (!state.has_value()) return absl::DataLossError("unknown transaction state");
    t->state = *state;
    t->start_ms = j.at("start_ms").get<int64_t>();
    t->update_ms = j.at("update_ms").get<int64_t>();
    for (const auto& p : j.at("partitions")) t->partitions.insert({p.at(0).get<std::string>(), p.at(1).get<int32_t>()});
    for (const auto& g : j.at("groups")) t->groups.insert(g.get<std::string>());
    for (const auto& o : j.at("offsets")) {
      PendingTxnOffset p;
      p.group = o.at("group").get<std::string>();
      p.entry.topic = o.at("topic").get<std::string>();
      p.entry.partition = o.at("partition").get<int32_t>();
      p.entry.offset = o.at("offset").get<int64_t>();
      p.entry.leader_epoch = o.at("leader_epoch").get<int32_t>();
      if (!o.at("metadata").is_null()) p.entry.metadata = o.at("metadata").get<std::string>();
      t->offsets.push_back(std::move(p));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("transaction record: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status TxnCoordinator::Load() {
  std::vector<std::shared_ptr<Txn>> prepared;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, value] : store_.Scan(kNamespace, "")) {
      auto t = std::make_shared<Txn>();
      t->id = key;
      if (absl::Status st = Deserialize(value, t.get()); !st.ok()) {
        return absl::DataLossError(absl::StrCat("transactional id ", key, ": ", st.message()));
      }
      if (IsPrepare(t->state)) prepared.push_back(t);
      t->view = MakeView(*t);
      txns_[key] = std::move(t);
    }
  }
  for (const auto& t : prepared) {
    std::lock_guard<std::mutex> lock(t->mu);
    if (absl::Status st = CompleteLocked(*t); !st.ok()) {
      // The janitor's sweep tries again; until then the producer gets CONCURRENT_TRANSACTIONS.
      spdlog::warn("transactions: {}: completing {} after restart failed: {}", t->id, TxnStateName(t->state),
                   st.ToString());
    }
  }
  if (!txns_.empty()) spdlog::info("transactions: loaded {} transactional ids", txns_.size());
  return absl::OkStatus();
}

std::shared_ptr<const TxnCoordinator::View> TxnCoordinator::MakeView(const Txn& t) {
  auto view = std::make_shared<View>(View{t.id, t.producer_id, t.epoch, t.state, t.timeout_ms, t.start_ms,
                                          t.partitions, {}});
  for (const PendingTxnOffset& o : t.offsets) view->pending_offsets.emplace(o.group, o.entry.topic, o.entry.partition);
  return view;
}

void TxnCoordinator::Publish(Txn& t) {
  std::shared_ptr<const View> view = MakeView(t);
  std::lock_guard<std::mutex> lock(mu_);
  t.view = std::move(view);
}

std::vector<std::shared_ptr<const TxnCoordinator::View>> TxnCoordinator::Views() const {
  std::vector<std::shared_ptr<const View>> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(txns_.size());
  for (const auto& [id, t] : txns_) {
    if (t->view != nullptr) out.push_back(t->view);
  }
  return out;
}

std::shared_ptr<TxnCoordinator::Txn> TxnCoordinator::Find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : it->second;
}

absl::Status TxnCoordinator::Persist(Txn& t) {
  t.update_ms = options_.now_ms();
  absl::Status st = store_.Put(kNamespace, t.id, Serialize(t));
  if (!st.ok()) {
    spdlog::warn("transactions: {}: storing state {} failed: {}", t.id, TxnStateName(t.state), st.ToString());
    return WithKafkaError(st, ErrorCode::kCoordinatorNotAvailable);
  }
  Publish(t);
  return absl::OkStatus();
}

absl::StatusOr<TxnCoordinator::LockedTxn> TxnCoordinator::LockForProducer(const std::string& transactional_id,
                                                                          ProducerIdAndEpoch producer,
                                                                          bool to_add) {
  LockedTxn locked;
  locked.txn = Find(transactional_id);
  if (locked.txn == nullptr) return TxnError(ErrorCode::kInvalidProducerIdMapping, "unknown transactional id");
  locked.lock = std::unique_lock<std::mutex>(locked.txn->mu);
  if (absl::Status st = CheckProducer(*locked.txn, producer); !st.ok()) return st;
  if (to_add && (IsPrepare(locked.txn->state) || locked.txn->state == TxnState::kPrepareEpochFence)) {
    return TxnError(ErrorCode::kConcurrentTransactions, "the previous transaction is still being completed");
  }
  return locked;
}

absl::Status TxnCoordinator::CheckProducer(const Txn& t, ProducerIdAndEpoch producer) const {
  if (producer.producer_id != t.producer_id) {
    return TxnError(ErrorCode::kInvalidProducerIdMapping,
                    absl::StrCat("producer id ", producer.producer_id, " is not the one of transactional id ", t.id));
  }
  if (producer.epoch != t.epoch) {
    return TxnError(ErrorCode::kProducerFenced, absl::StrCat("epoch ", producer.epoch, " of producer ",
                                                             producer.producer_id, " is not the current ", t.epoch));
  }
  return absl::OkStatus();
}

absl::StatusOr<ProducerIdAndEpoch> TxnCoordinator::InitProducerId(const std::string& transactional_id,
                                                                  int32_t timeout_ms,
                                                                  std::optional<ProducerIdAndEpoch> expected) {
  if (transactional_id.empty()) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidRequest, "empty transactional id");
  }
  if (timeout_ms <= 0 || timeout_ms > options_.max_timeout_ms) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidTransactionTimeout,
                      absl::StrCat("transaction.timeout.ms ", timeout_ms, " is not within (0, ",
                                   options_.max_timeout_ms, "] (transaction.max.timeout.ms)"));
  }
  std::shared_ptr<Txn> t;
  bool created = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = txns_[transactional_id];
    if (slot == nullptr) {
      slot = std::make_shared<Txn>();
      slot->id = transactional_id;
      created = true;
    }
    t = slot;
  }
  std::lock_guard<std::mutex> lock(t->mu);
  if (t->erased) return TxnError(ErrorCode::kConcurrentTransactions, "the transactional id expired meanwhile");
  if (created || t->producer_id < 0) {
    absl::StatusOr<int64_t> pid = ids_.Next();
    if (!pid.ok()) {
      if (created) {
        std::lock_guard<std::mutex> map_lock(mu_);
        t->erased = true;
        txns_.erase(transactional_id);
      }
      return WithKafkaError(pid.status(), ErrorCode::kCoordinatorNotAvailable);
    }
    t->producer_id = *pid;
    t->epoch = 0;
    t->timeout_ms = timeout_ms;
    t->state = TxnState::kEmpty;
    if (absl::Status st = Persist(*t); !st.ok()) {
      t->producer_id = -1;
      return st;
    }
    return ProducerIdAndEpoch{t->producer_id, t->epoch};
  }
  if (expected.has_value() && expected->producer_id >= 0) {
    // KIP-360: a producer recovering from an error names what it had; the current epoch, or the
    // one before the coordinator bumped it to abort a timed-out transaction.
    const bool current = expected->producer_id == t->producer_id && expected->epoch == t->epoch;
    const bool before_fence = expected->producer_id == t->producer_id && expected->epoch == t->last_epoch;
    const bool before_new_id = expected->producer_id == t->last_producer_id && expected->epoch == t->last_epoch;
    if (!current && !before_fence && !before_new_id) {
      return TxnError(ErrorCode::kProducerFenced,
                      absl::StrCat("producer ", expected->producer_id, " epoch ", expected->epoch,
                                   " is not the current producer of ", transactional_id));
    }
  }
  if (IsPrepare(t->state)) {
    if (absl::Status st = CompleteLocked(*t); !st.ok()) return st;
  }
  if (t->state == TxnState::kOngoing) {
    if (absl::Status st = FenceAndAbortLocked(*t); !st.ok()) return st;
  }
  const int64_t old_pid = t->producer_id;
  const int16_t old_epoch = t->epoch;
  const int64_t old_last_pid = t->last_producer_id;
  const int16_t old_last_epoch = t->last_epoch;
  // The epoch before this bump is remembered only for a producer recovering with what it had
  // (KIP-360); a new producer's InitProducerId forgets it, so that a zombie naming it is fenced.
  const bool recovering = expected.has_value() && expected->producer_id >= 0;
  if (t->epoch >= kMaxEpoch) {
    absl::StatusOr<int64_t> pid = ids_.Next();
    if (!pid.ok()) return WithKafkaError(pid.status(), ErrorCode::kCoordinatorNotAvailable);
    t->last_producer_id = recovering ? t->producer_id : -1;
    t->producer_id = *pid;
    t->epoch = 0;
  } else {
    t->last_producer_id = -1;
    ++t->epoch;
  }
  t->last_epoch = recovering ? old_epoch : -1;
  const int32_t old_timeout = t->timeout_ms;
  const TxnState old_state = t->state;
  t->timeout_ms = timeout_ms;
  t->state = TxnState::kEmpty;
  t->partitions.clear();
  t->groups.clear();
  t->offsets.clear();
  t->start_ms = -1;
  if (absl::Status st = Persist(*t); !st.ok()) {
    t->producer_id = old_pid;
    t->epoch = old_epoch;
    t->last_producer_id = old_last_pid;
    t->last_epoch = old_last_epoch;
    t->timeout_ms = old_timeout;
    t->state = old_state;
    return st;
  }
  return ProducerIdAndEpoch{t->producer_id, t->epoch};
}

absl::StatusOr<std::vector<absl::Status>> TxnCoordinator::AddPartitions(const std::string& transactional_id,
                                                                        ProducerIdAndEpoch producer,
                                                                        const std::vector<TxnPartition>& partitions,
                                                                        bool verify_only) {
  absl::StatusOr<LockedTxn> locked = LockForProducer(transactional_id, producer, /*to_add=*/true);
  if (!locked.ok()) return locked.status();
  Txn* t = locked->txn.get();
  if (t->state == TxnState::kDead) return TxnError(ErrorCode::kInvalidTxnState, "the transactional id is dead");
  std::vector<absl::Status> results(partitions.size());
  if (verify_only) {
    for (size_t i = 0; i < partitions.size(); ++i) {
      if (t->state != TxnState::kOngoing || t->partitions.count(partitions[i]) == 0) {
        results[i] = TxnError(ErrorCode::kInvalidTxnState, "the partition is not in the transaction");
      }
    }
    return results;
  }
  bool unknown = false;
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (options_.log(partitions[i].topic, partitions[i].partition) == nullptr) {
      results[i] = KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                              "This server does not host this topic-partition.");
      unknown = true;
    }
  }
  if (unknown) {
    for (absl::Status& r : results) {
      if (r.ok()) r = TxnError(ErrorCode::kOperationNotAttempted, "another partition of the request failed");
    }
    return results;
  }
  std::set<TxnPartition> before = t->partitions;
  const TxnState old_state = t->state;
  const int64_t old_start = t->start_ms;
  for (const TxnPartition& p : partitions) t->partitions.insert(p);
  if (t->state == TxnState::kOngoing && t->partitions == before) return results;
  if (t->state != TxnState::kOngoing) {
    t->state = TxnState::kOngoing;
    t->start_ms = options_.now_ms();
  }
  if (absl::Status st = Persist(*t); !st.ok()) {
    t->partitions = std::move(before);
    t->state = old_state;
    t->start_ms = old_start;
    return st;
  }
  return results;
}

absl::Status TxnCoordinator::AddOffsets(const std::string& transactional_id, ProducerIdAndEpoch producer,
                                        const std::string& group) {
  absl::StatusOr<LockedTxn> locked = LockForProducer(transactional_id, producer, /*to_add=*/true);
  if (!locked.ok()) return locked.status();
  Txn* t = locked->txn.get();
  if (t->state == TxnState::kOngoing && t->groups.count(group) != 0) return absl::OkStatus();
  const TxnState old_state = t->state;
  const int64_t old_start = t->start_ms;
  t->groups.insert(group);
  if (t->state != TxnState::kOngoing) {
    t->state = TxnState::kOngoing;
    t->start_ms = options_.now_ms();
  }
  if (absl::Status st = Persist(*t); !st.ok()) {
    t->groups.erase(group);
    t->state = old_state;
    t->start_ms = old_start;
    return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::Status>> TxnCoordinator::TxnOffsetCommit(
    const std::string& transactional_id, ProducerIdAndEpoch producer, const std::string& group,
    const std::string& member_id, const std::optional<std::string>& group_instance_id, int32_t generation_id,
    const std::vector<OffsetCommitEntry>& entries) {
  absl::StatusOr<LockedTxn> locked = LockForProducer(transactional_id, producer, /*to_add=*/false);
  if (!locked.ok()) return locked.status();
  Txn* t = locked->txn.get();
  if (t->state != TxnState::kOngoing || t->groups.count(group) == 0) {
    return TxnError(ErrorCode::kInvalidTxnState,
                    absl::StrCat("group ", group, " was not added to the transaction (AddOffsetsToTxn)"));
  }
  absl::StatusOr<std::vector<absl::Status>> checked =
      groups_.ValidateTxnOffsetCommit(group, member_id, group_instance_id, generation_id, entries);
  if (!checked.ok()) return checked.status();
  std::vector<PendingTxnOffset> before = t->offsets;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!(*checked)[i].ok()) continue;
    const OffsetCommitEntry& e = entries[i];
    auto same = [&](const PendingTxnOffset& o) {
      return o.group == group && o.entry.topic == e.topic && o.entry.partition == e.partition;
    };
    std::erase_if(t->offsets, same);
    t->offsets.push_back(PendingTxnOffset{group, e});
  }
  if (absl::Status st = Persist(*t); !st.ok()) {
    t->offsets = std::move(before);
    for (absl::Status& r : *checked) {
      if (r.ok()) r = st;
    }
  }
  return checked;
}

absl::Status TxnCoordinator::EndTxn(const std::string& transactional_id, ProducerIdAndEpoch producer, bool commit) {
  absl::StatusOr<LockedTxn> locked = LockForProducer(transactional_id, producer, /*to_add=*/false);
  if (!locked.ok()) return locked.status();
  Txn* t = locked->txn.get();
  const TxnState prepare = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  const TxnState complete = commit ? TxnState::kCompleteCommit : TxnState::kCompleteAbort;
  switch (t->state) {
    case TxnState::kOngoing: {
      t->state = prepare;
      if (absl::Status st = Persist(*t); !st.ok()) {
        t->state = TxnState::kOngoing;
        return st;
      }
      return CompleteLocked(*t);
    }
    case TxnState::kPrepareCommit:
    case TxnState::kPrepareAbort:
      // A retry after markers could not all be written: try again.
      if (t->state == prepare) return CompleteLocked(*t);
      break;
    case TxnState::kCompleteCommit:
    case TxnState::kCompleteAbort:
      if (t->state == complete) return absl::OkStatus();  // a retry of the request that ended it
      break;
    default:
      break;
  }
  return TxnError(ErrorCode::kInvalidTxnState,
                  absl::StrCat("cannot ", commit ? "commit" : "abort", " transactional id ", transactional_id,
                               " in state ", std::string(TxnStateName(t->state))));
}

absl::Status TxnCoordinator::WriteMarkers(const Txn& t, bool commit) {
  struct Latch {
    std::mutex mu;
    std::condition_variable cv;
    int outstanding = 0;
    absl::Status failure;
  };
  auto latch = std::make_shared<Latch>();
  for (const TxnPartition& p : t.partitions) {
    std::shared_ptr<storage::PartitionLog> log = options_.log(p.topic, p.partition);
    if (log == nullptr) continue;  // deleted since: nothing there to mark
    {
      std::lock_guard<std::mutex> lock(latch->mu);
      ++latch->outstanding;
    }
    log->AppendMarker(t.producer_id, t.epoch, commit, /*coordinator_epoch=*/0,
                      [latch, p](absl::StatusOr<storage::AppendResult> r) {
                        std::lock_guard<std::mutex> lock(latch->mu);
                        // A newer epoch in the partition means a later marker fenced this one.
                        if (!r.ok() && storage::GetProducerError(r.status()) != storage::ProducerError::kInvalidEpoch &&
                            latch->failure.ok()) {
                          latch->failure = absl::Status(r.status().code(), absl::StrCat("marker for ", p.topic, "-",
                                                                                        p.partition, ": ",
                                                                                        r.status().message()));
                        }
                        if (--latch->outstanding == 0) latch->cv.notify_all();
                      });
  }
  std::unique_lock<std::mutex> lock(latch->mu);
  latch->cv.wait(lock, [&] { return latch->outstanding == 0; });
  return latch->failure;
}

absl::Status TxnCoordinator::CompleteLocked(Txn& t) {
  const bool commit = t.state == TxnState::kPrepareCommit;
  if (absl::Status st = WriteMarkers(t, commit); !st.ok()) {
    spdlog::warn("transactions: {}: writing {} markers failed: {}", t.id, commit ? "commit" : "abort", st.ToString());
    return WithKafkaError(st, ErrorCode::kCoordinatorNotAvailable);
  }
  if (commit) {
    std::map<std::string, std::vector<OffsetCommitEntry>> by_group;
    for (const PendingTxnOffset& o : t.offsets) by_group[o.group].push_back(o.entry);
    for (const auto& [group, entries] : by_group) {
      if (absl::Status st = groups_.CommitTxnOffsets(group, entries); !st.ok()) {
        spdlog::warn("transactions: {}: committing offsets of group {} failed: {}", t.id, group, st.ToString());
        return WithKafkaError(st, ErrorCode::kCoordinatorNotAvailable);
      }
    }
  }
  const TxnState prepared = t.state;
  t.state = commit ? TxnState::kCompleteCommit : TxnState::kCompleteAbort;
  std::set<TxnPartition> partitions = std::move(t.partitions);
  std::set<std::string> groups = std::move(t.groups);
  std::vector<PendingTxnOffset> offsets = std::move(t.offsets);
  t.partitions.clear();
  t.groups.clear();
  t.offsets.clear();
  t.start_ms = -1;
  if (absl::Status st = Persist(t); !st.ok()) {
    // Still prepared on disk: markers and offsets are written again on the next try, harmlessly.
    t.state = prepared;
    t.partitions = std::move(partitions);
    t.groups = std::move(groups);
    t.offsets = std::move(offsets);
    return st;
  }
  return absl::OkStatus();
}

absl::Status TxnCoordinator::FenceAndAbortLocked(Txn& t) {
  const int16_t old_epoch = t.epoch;
  const int16_t old_last_epoch = t.last_epoch;
  const TxnState old_state = t.state;
  // No epoch left to fence with: abort at the current one (the producer gets a new id next).
  if (t.epoch < kMaxEpoch) {
    t.last_epoch = t.epoch;
    ++t.epoch;
  }
  t.state = TxnState::kPrepareAbort;
  if (absl::Status st = Persist(t); !st.ok()) {
    t.epoch = old_epoch;
    t.last_epoch = old_last_epoch;
    t.state = old_state;
    return st;
  }
  return CompleteLocked(t);
}

absl::Status TxnCoordinator::VerifyProduce(const std::string& transactional_id, ProducerIdAndEpoch producer,
                                           const TxnPartition& partition) const {
  std::shared_ptr<const View> view;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = txns_.find(transactional_id);
    if (it != txns_.end()) view = it->second->view;
  }
  if (view == nullptr || view->producer_id != producer.producer_id) {
    return TxnError(ErrorCode::kInvalidTxnState,
                    absl::StrCat("producer ", producer.producer_id, " has no transaction as ", transactional_id));
  }
  if (producer.epoch < view->epoch) {
    return TxnError(ErrorCode::kInvalidProducerEpoch,
                    absl::StrCat("epoch ", producer.epoch, " is older than the current ", view->epoch));
  }
  if (producer.epoch != view->epoch || view->state != TxnState::kOngoing || view->partitions.count(partition) == 0) {
    return TxnError(ErrorCode::kInvalidTxnState,
                    absl::StrCat(partition.topic, "-", partition.partition, " is not in an ongoing transaction of ",
                                 transactional_id, " (AddPartitionsToTxn first)"));
  }
  return absl::OkStatus();
}

std::set<std::pair<std::string, int32_t>> TxnCoordinator::PendingOffsets(const std::string& group) const {
  std::set<std::pair<std::string, int32_t>> out;
  for (const auto& v : Views()) {
    if (v->state == TxnState::kCompleteCommit || v->state == TxnState::kCompleteAbort) continue;
    for (const auto& [g, topic, partition] : v->pending_offsets) {
      if (g == group) out.emplace(topic, partition);
    }
  }
  return out;
}

void TxnCoordinator::Sweep(int64_t now_ms) {
  std::vector<std::shared_ptr<Txn>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, t] : txns_) all.push_back(t);
  }
  for (const auto& t : all) {
    std::lock_guard<std::mutex> lock(t->mu);
    if (t->erased) continue;
    absl::Status st;
    if (IsPrepare(t->state)) {
      st = CompleteLocked(*t);
    } else if (t->state == TxnState::kOngoing && t->start_ms >= 0 && now_ms - t->start_ms > t->timeout_ms) {
      spdlog::info("transactions: {}: aborting a transaction open for {} ms (transaction.timeout.ms {})", t->id,
                   now_ms - t->start_ms, t->timeout_ms);
      st = FenceAndAbortLocked(*t);
    } else if ((t->state == TxnState::kEmpty || t->state == TxnState::kCompleteCommit ||
                t->state == TxnState::kCompleteAbort) &&
               t->update_ms >= 0 && now_ms - t->update_ms > options_.id_expiration_ms) {
      st = store_.Delete(kNamespace, t->id);
      if (st.ok()) {
        std::lock_guard<std::mutex> map_lock(mu_);
        t->erased = true;
        txns_.erase(t->id);
      }
    }
    if (!st.ok()) spdlog::warn("transactions: {}: {}", t->id, st.ToString());
  }
}

TxnDescription TxnCoordinator::DescriptionOf(const View& v) {
  return TxnDescription{v.id, v.state, v.producer_id, v.epoch, v.timeout_ms, v.start_ms,
                        std::vector<TxnPartition>(v.partitions.begin(), v.partitions.end())};
}

std::optional<TxnDescription> TxnCoordinator::Describe(const std::string& transactional_id) const {
  std::shared_ptr<const View> v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = txns_.find(transactional_id);
    if (it != txns_.end()) v = it->second->view;
  }
  if (v == nullptr) return std::nullopt;
  return DescriptionOf(*v);
}

std::vector<TxnDescription> TxnCoordinator::List() const {
  std::vector<TxnDescription> out;
  for (const auto& v : Views()) out.push_back(DescriptionOf(*v));
  return out;
}

}  // namespace chronik::ingest
