#pragma once

// The group coordinator: Kafka's classic consumer-group protocol (join/sync barrier, heartbeats,
// static members) and committed offsets, kept in the metadata store.
//
// It is transport-free and clock-injected: the Kafka handlers (group_handlers.cc) translate
// requests into these calls, and everything time-driven (session timeouts, the join barrier's
// rebalance timeout, the initial rebalance delay, pending-sync expiry, offset retention) happens
// in Tick(now), which the coordinator's own thread calls at the next deadline (Start) or a test
// calls with a fake clock.
//
// Errors are absl statuses annotated with the Kafka error the group protocol defines
// (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, ...; see kafka_error.h).
//
// Durability. Offsets and group metadata (members, generation, assignments) are written to the
// metadata store before the request that changed them is answered: offsets before the
// OffsetCommit answer, a generation's assignment before any SyncGroup answer of it. After a
// restart every group comes back Stable (or Empty) with its members, whose session timeouts start
// anew, as Kafka loads groups from __consumer_offsets.
//
// Thread safety: every method may be called from any thread. Callbacks run without the
// coordinator's lock held, on the thread of the call (or Tick) that completes them, exactly once.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_ingest/configs.h"
#include "chronik_storage/metadata_store.h"

namespace chronik::ingest {

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };

// "Empty", "PreparingRebalance", ... as Kafka names them in DescribeGroups and ListGroups.
std::string_view GroupStateName(GroupState state);

struct GroupSettings {
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
  int32_t initial_rebalance_delay_ms = 3000;
  int32_t max_size = 2147483647;
  int64_t offsets_retention_ms = int64_t{10080} * 60 * 1000;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t offset_metadata_max_bytes = 4096;

  // group.*, offsets.retention.*, offset.metadata.max.bytes from the broker's configs.
  static GroupSettings FromBroker(const BrokerConfigValues& configs);
};

struct ProtocolMetadata {
  std::string name;
  std::string metadata;
  bool operator==(const ProtocolMetadata&) const = default;
};

struct JoinGroupParams {
  std::string group_id;
  std::string member_id;  // "" for a member joining for the first time
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<ProtocolMetadata> protocols;
  // JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id.
  bool require_known_member_id = false;
  // JoinGroup v9+: a static leader rejoining a stable group is told to skip the assignment.
  bool supports_skip_assignment = false;
};

struct JoinGroupResult {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string metadata;
  };
  absl::Status status;
  std::string member_id;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::vector<Member> members;  // only for the leader
};

struct SyncGroupParams {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;  // SyncGroup v5+
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::string>> assignments;  // member id -> assignment
};

struct SyncGroupResult {
  absl::Status status;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

struct LeavingMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> reason;
};

struct OffsetCommitEntry {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int64_t commit_timestamp_ms = -1;  // v1 only; -1: now
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
};

struct TopicPartitions {
  std::string topic;
  std::vector<int32_t> partitions;
};

struct GroupOverview {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::kEmpty;
};

struct GroupDescription {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;    // only when Stable
    std::string assignment;  // only when Stable
  };
  GroupState state = GroupState::kDead;
  std::string protocol_type;
  std::string protocol_name;  // only when Stable
  std::vector<Member> members;
};

class GroupCoordinator {
 public:
  struct Options {
    GroupSettings settings;
    // Wall-clock milliseconds; tests substitute a fake clock.
    std::function<int64_t()> now_ms;
    // Whether a topic partition exists (OffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION otherwise).
    std::function<bool(const std::string& topic, int32_t partition)> partition_exists;
    // Told of every rebalance that completed (a new generation formed), under the coordinator's
    // lock: must be cheap (the group metrics).
    std::function<void(const std::string& group)> on_rebalance;
  };

  using JoinCallback = std::function<void(JoinGroupResult)>;
  using SyncCallback = std::function<void(SyncGroupResult)>;

  GroupCoordinator(storage::MetadataStore& store, Options options);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Loads groups and offsets from the store.
  absl::Status Load();
  // Starts the thread that calls Tick at each deadline.
  void Start();
  // Stops that thread and answers every parked JoinGroup and SyncGroup with NOT_COORDINATOR, as
  // Kafka does when a coordinator unloads its groups.
  void Shutdown();

  void JoinGroup(JoinGroupParams params, JoinCallback done);
  void SyncGroup(SyncGroupParams params, SyncCallback done);
  absl::Status Heartbeat(const std::string& group_id, const std::string& member_id,
                         const std::optional<std::string>& group_instance_id, int32_t generation_id);
  // A group-level error, or one status per leaving member.
  absl::StatusOr<std::vector<absl::Status>> LeaveGroup(const std::string& group_id,
                                                       const std::vector<LeavingMember>& members);

  // One status per entry, in order. Durable before it returns.
  std::vector<absl::Status> CommitOffsets(const std::string& group_id, const std::string& member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          int32_t generation_id, int64_t retention_time_ms,
                                          const std::vector<OffsetCommitEntry>& entries);
  // TxnOffsetCommit's checks (KIP-447), storing nothing: the member and generation when the
  // request names them (v3+; older versions name neither), then one status per entry.
  absl::StatusOr<std::vector<absl::Status>> ValidateTxnOffsetCommit(const std::string& group_id,
                                                                    const std::string& member_id,
                                                                    const std::optional<std::string>& group_instance_id,
                                                                    int32_t generation_id,
                                                                    const std::vector<OffsetCommitEntry>& entries) const;
  // Stores the offsets of a committed transaction: checked when the transaction sent them, so
  // no member checks now. Durable before it returns.
  absl::Status CommitTxnOffsets(const std::string& group_id, const std::vector<OffsetCommitEntry>& entries);

  // The committed offsets of the requested partitions (offset -1 where none), or of every
  // partition the group has committed when `partitions` is nullopt.
  absl::StatusOr<std::map<std::pair<std::string, int32_t>, CommittedOffset>> FetchOffsets(
      const std::string& group_id, const std::optional<std::vector<TopicPartitions>>& partitions) const;

  // Groups whose state is in `states` (Kafka's names, case-insensitive; empty: all).
  std::vector<GroupOverview> ListGroups(const std::vector<std::string>& states) const;
  absl::StatusOr<GroupDescription> DescribeGroup(const std::string& group_id) const;
  // One status per group, in order.
  std::vector<absl::Status> DeleteGroups(const std::vector<std::string>& group_ids);
  // A group-level error, or one status per partition in order.
  absl::StatusOr<std::vector<absl::Status>> DeleteOffsets(const std::string& group_id,
                                                          const std::vector<TopicPartitions>& partitions);
  // Drops every group's committed offsets of a deleted topic.
  void OnTopicDeleted(const std::string& topic);

  // Runs everything due at `now_ms`; returns the next deadline (ms).
  int64_t Tick(int64_t now_ms);

  // Expires committed offsets past offsets.retention.minutes (of empty groups, and of topics no
  // longer subscribed). The janitor calls this every offsets.retention.check.interval.ms.
  void ExpireOffsetsNow(int64_t now_ms);

 private:
  struct Member;
  struct Group;
  class Outbox;

  int64_t Now() const { return options_.now_ms(); }

  // A group with its lock held, or nothing (no such group). Lock order: one group's mutex, then
  // mu_; never two groups at once.
  struct LockedGroup {
    std::shared_ptr<Group> group;
    std::unique_lock<std::mutex> lock;
  };
  // Finds the group and locks it; a group erased while this waited for its lock is looked up again.
  LockedGroup FindLocked(const std::string& id) const;
  // FindLocked, creating the group first with `create`.
  LockedGroup LockGroup(const std::string& id, bool create);
  // Every group now, to visit one at a time under its own lock (skipping any erased meanwhile).
  std::vector<std::shared_ptr<Group>> AllGroups() const;
  // With g's lock held: removes it from the map.
  void EraseGroup(Group& g);
  absl::Status ValidateCurrentMember(const Group& g, const std::string& member_id,
                                     const std::optional<std::string>& instance_id) const;
  // An offset commit's per-entry checks: the partition exists, the metadata fits.
  absl::Status CheckOffsetEntry(const OffsetCommitEntry& e) const;
  std::vector<absl::Status> CommitOffsetsImpl(const std::string& group_id, const std::string& member_id,
                                              const std::optional<std::string>& group_instance_id,
                                              int32_t generation_id, int64_t retention_time_ms,
                                              const std::vector<OffsetCommitEntry>& entries, bool check_member);

  void DoNewMemberJoin(Group& g, JoinGroupParams& p, JoinCallback& done, Outbox& out);
  void DoCurrentMemberJoin(Group& g, JoinGroupParams& p, JoinCallback& done, Outbox& out);
  void UpdateStaticMember(Group& g, const std::string& old_id, JoinGroupParams& p, JoinCallback& done,
                          Outbox& out);
  void AddMemberAndRebalance(Group& g, JoinGroupParams& p, const std::string& member_id, JoinCallback& done,
                             Outbox& out);
  void UpdateMemberAndRebalance(Group& g, Member& m, JoinGroupParams& p, JoinCallback& done, Outbox& out);
  void MaybePrepareRebalance(Group& g, const std::string& reason, Outbox& out);
  void PrepareRebalance(Group& g, const std::string& reason, Outbox& out);
  void TryCompleteJoin(Group& g, Outbox& out);
  void CompleteJoin(Group& g, Outbox& out);
  JoinGroupResult CurrentJoinResult(const Group& g, const std::string& member_id, bool with_members) const;
  void PropagateAssignment(Group& g, const absl::Status& status, Outbox& out);
  void RemoveMemberAndUpdateGroup(Group& g, const std::string& member_id, const std::string& reason, Outbox& out);
  void RemoveMember(Group& g, const std::string& member_id, Outbox& out);
  void RemovePendingMember(Group& g, const std::string& member_id, Outbox& out);
  void ScheduleHeartbeat(Member& m, int64_t timeout_ms);
  void TransitionTo(Group& g, GroupState state);
  void ExpireOffsets(int64_t now);

  absl::Status StoreGroup(Group& g);
  absl::Status DeleteGroupAndOffsets(const std::string& group_id);

  // Whether a group holds nothing worth keeping (a first commit or join that stored nothing).
  bool Disposable(const Group& g) const;

  storage::MetadataStore& store_;
  Options options_;

  // Guards the map of groups (not the groups: each has its own mutex, held across its fsyncs, so
  // one group's store writes never hold up another's requests), wake_seq_ and started_.
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Group>, std::less<>> groups_;

  // The deadline thread.
  void Wake();
  std::condition_variable wake_;
  uint64_t wake_seq_ = 0;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::thread thread_;
};

}  // namespace chronik::ingest
