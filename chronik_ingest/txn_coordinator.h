#pragma once

// The transaction coordinator (KIP-98), as Kafka's TransactionCoordinator behaves on one broker:
// transactional.id -> producer id and epoch, the transaction's partitions and consumer groups,
// its state machine, and the commit/abort markers it writes to every partition of a transaction
// when the producer ends it (or when it times out). Its state is durable in the metadata store
// (namespace "transactions", one JSON record per transactional id) before any answer depends on
// it: a PrepareCommit/PrepareAbort that a crash interrupted is completed when the broker loads.
//
// The offsets a transaction commits for a group (TxnOffsetCommit) are kept with the transaction
// and become the group's committed offsets only when it commits.
//
// Thread safety: every method may be called from any thread; each transactional id has its own
// lock, held while its markers are written (the handlers run on the blocking pool).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/producer_ids.h"
#include "chronik_storage/metadata_store.h"
#include "chronik_storage/partition_log.h"

namespace chronik::ingest {

enum class TxnState { kEmpty, kOngoing, kPrepareCommit, kPrepareAbort, kCompleteCommit, kCompleteAbort, kDead,
                      kPrepareEpochFence };

// Kafka's names (DescribeTransactions, ListTransactions).
std::string_view TxnStateName(TxnState state);
std::optional<TxnState> ParseTxnState(std::string_view name);

struct ProducerIdAndEpoch {
  int64_t producer_id = -1;
  int16_t epoch = -1;
};

struct TxnPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TxnPartition&) const = default;
};

struct PendingTxnOffset {
  std::string group;
  OffsetCommitEntry entry;
};

// What DescribeTransactions and ListTransactions show of a transactional id.
struct TxnDescription {
  std::string transactional_id;
  TxnState state = TxnState::kEmpty;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t timeout_ms = 0;
  int64_t start_ms = -1;
  std::vector<TxnPartition> partitions;
};

class TxnCoordinator {
 public:
  static constexpr std::string_view kNamespace = "transactions";

  struct Options {
    // transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for.
    int64_t max_timeout_ms = 900'000;
    // transactional.id.expiration.ms: an id without a transaction this long is forgotten.
    int64_t id_expiration_ms = 604'800'000;
    std::function<int64_t()> now_ms;
    // The partition's log, or nullptr if it does not exist.
    std::function<std::shared_ptr<storage::PartitionLog>(const std::string& topic, int32_t partition)> log;
  };

  TxnCoordinator(storage::MetadataStore& store, ProducerIdManager& ids, GroupCoordinator& groups, Options options);

  // Loads every transactional id and completes the transactions a crash left prepared.
  absl::Status Load();

  // InitProducerId with a transactional id: a new id gets a producer id at epoch 0; a known one
  // gets its epoch bumped (a new producer id when the epoch is exhausted), fencing older producers
  // after aborting any transaction they left open. `expected` (KIP-360, v3+) must be the current
  // producer id and epoch, or the epoch before the coordinator fenced it.
  absl::StatusOr<ProducerIdAndEpoch> InitProducerId(const std::string& transactional_id, int32_t timeout_ms,
                                                    std::optional<ProducerIdAndEpoch> expected);

  // AddPartitionsToTxn for one transaction: a transaction-level error, or one status per
  // partition. With `verify_only` (KIP-890) nothing is added: partitions outside the
  // transaction get INVALID_TXN_STATE.
  absl::StatusOr<std::vector<absl::Status>> AddPartitions(const std::string& transactional_id,
                                                          ProducerIdAndEpoch producer,
                                                          const std::vector<TxnPartition>& partitions,
                                                          bool verify_only);
  absl::Status AddOffsets(const std::string& transactional_id, ProducerIdAndEpoch producer, const std::string& group);
  // TxnOffsetCommit: a request-level error, or one status per entry. Accepted offsets wait for
  // the transaction's end.
  absl::StatusOr<std::vector<absl::Status>> TxnOffsetCommit(const std::string& transactional_id,
                                                            ProducerIdAndEpoch producer, const std::string& group,
                                                            const std::string& member_id,
                                                            const std::optional<std::string>& group_instance_id,
                                                            int32_t generation_id,
                                                            const std::vector<OffsetCommitEntry>& entries);
  // EndTxn: writes the commit or abort markers to every partition of the transaction, durably,
  // and (on commit) the transaction's offsets to its groups, before it answers.
  absl::Status EndTxn(const std::string& transactional_id, ProducerIdAndEpoch producer, bool commit);

  // KIP-890 part 1: a transactional produce to `partition` is allowed only while the producer's
  // transaction is ongoing and holds the partition.
  absl::Status VerifyProduce(const std::string& transactional_id, ProducerIdAndEpoch producer,
                             const TxnPartition& partition) const;

  // The (topic, partition)s of `group` that open transactions hold offsets for (OffsetFetch with
  // require_stable answers UNSTABLE_OFFSET_COMMIT for them). Taken before the
  // committed offsets are read, so that a commit completing meanwhile cannot pass for stable.
  std::set<std::pair<std::string, int32_t>> PendingOffsets(const std::string& group) const;

  // Aborts transactions older than their timeout (fencing their producer's epoch), finishes
  // prepared ones whose markers could not be written before, and forgets ids idle for
  // transactional.id.expiration.ms. The janitor runs it.
  void Sweep(int64_t now_ms);

  std::optional<TxnDescription> Describe(const std::string& transactional_id) const;
  std::vector<TxnDescription> List() const;

 private:
  struct Txn;
  // What readers that must not wait see (Produce verification, OffsetFetch, the tooling APIs): a
  // copy made whenever the state is stored, so that nobody waits on a transaction's lock (held
  // across fsyncs). It is the stored state: a transaction's offsets are pending until the stored
  // state says it completed, which is after they were applied.
  struct View {
    std::string id;
    int64_t producer_id = -1;
    int16_t epoch = -1;
    TxnState state = TxnState::kEmpty;
    int32_t timeout_ms = 0;
    int64_t start_ms = -1;
    std::set<TxnPartition> partitions;
    std::set<std::tuple<std::string, std::string, int32_t>> pending_offsets;  // group, topic, partition
  };
  static std::shared_ptr<const View> MakeView(const Txn& t);
  static TxnDescription DescriptionOf(const View& v);
  // Every transactional id's view.
  std::vector<std::shared_ptr<const View>> Views() const;

  struct Txn {
    std::shared_ptr<const View> view;  // guarded by TxnCoordinator::mu_
    std::mutex mu;
    bool erased = false;
    std::string id;
    int64_t producer_id = -1;
    int16_t epoch = -1;
    int64_t last_producer_id = -1;
    int16_t last_epoch = -1;
    int32_t timeout_ms = 0;
    TxnState state = TxnState::kEmpty;
    std::set<TxnPartition> partitions;
    std::set<std::string> groups;
    std::vector<PendingTxnOffset> offsets;
    int64_t start_ms = -1;
    int64_t update_ms = -1;
  };

  std::shared_ptr<Txn> Find(const std::string& id) const;
  struct LockedTxn {
    std::shared_ptr<Txn> txn;
    std::unique_lock<std::mutex> lock;
  };
  // The transactional id's state, locked, if `producer` is its current producer; with `to_add`
  // (AddPartitionsToTxn, AddOffsetsToTxn) also only once the previous transaction is complete
  // (CONCURRENT_TRANSACTIONS before).
  absl::StatusOr<LockedTxn> LockForProducer(const std::string& transactional_id, ProducerIdAndEpoch producer,
                                            bool to_add);
  // Stores t's state, then publishes its view.
  absl::Status Persist(Txn& t);
  void Publish(Txn& t);
  // Checks the producer id and epoch of a request against t's.
  absl::Status CheckProducer(const Txn& t, ProducerIdAndEpoch producer) const;
  // Prepare{Commit,Abort} -> markers -> Complete{Commit,Abort}; t must be in a Prepare state.
  absl::Status CompleteLocked(Txn& t);
  // Aborts t's open transaction after bumping its epoch (fencing the producer), as Kafka does on
  // timeout or when a new producer with the same id initializes.
  absl::Status FenceAndAbortLocked(Txn& t);
  absl::Status WriteMarkers(const Txn& t, bool commit);
  static std::string Serialize(const Txn& t);
  static absl::Status Deserialize(std::string_view data, Txn* t);

  storage::MetadataStore& store_;
  ProducerIdManager& ids_;
  GroupCoordinator& groups_;
  const Options options_;
  mutable std::mutex mu_;  // guards txns_ and each Txn's view
  std::map<std::string, std::shared_ptr<Txn>> txns_;
};

}  // namespace chronik::ingest
