#pragma once

// What the parts of GroupCoordinator share: the state of its groups and members, the callbacks it
// runs once a group's lock is released, and how groups and offsets are kept in the metadata
// store. group_coordinator.cc: setup, persistence and timers; group_membership.cc: join, sync,
// heartbeat and leave; group_offsets.cc: offsets, and listing, describing and deleting groups.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_protocol/errors.h"

namespace chronik::ingest::group_internal {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// How long a member added to a group may wait for its first join to complete before it counts as
// failed (Kafka's NewMemberJoinTimeoutMs).
inline constexpr int64_t kNewMemberJoinTimeoutMs = 5 * 60 * 1000;
inline constexpr char kGroupsNs[] = "groups";
inline constexpr char kOffsetsNs[] = "offsets";
inline constexpr char kConsumerProtocolType[] = "consumer";

absl::Status GroupError(protocol::ErrorCode code, std::string_view message);

// Offsets are keyed group \0 topic \0 partition, so that one group's offsets (and one topic's
// within it) are a key prefix; neither group ids nor topic names can hold a NUL byte that matters
// here, since a topic name is [a-zA-Z0-9._-].
std::string OffsetPrefix(std::string_view group);
std::string OffsetKey(std::string_view group, std::string_view topic, int32_t partition);

struct StoredOffset {
  std::string topic;
  int32_t partition = 0;
  CommittedOffset value;
  int64_t commit_ts = 0;
  int64_t expire_ts = -1;
};

// Parses an offsets-namespace entry whose key starts with `prefix` (a group's).
std::optional<StoredOffset> ParseOffset(std::string_view prefix, std::string_view key, const std::string& value);
std::string SerializeOffset(const CommittedOffset& v, int64_t commit_ts, int64_t expire_ts);
std::string GroupOfOffsetKey(std::string_view key);

// The topics of a ConsumerProtocolSubscription (int16 version, then an array of int16-length
// strings; later fields are not needed). nullopt if it does not parse.
std::optional<std::set<std::string>> SubscribedTopics(std::string_view data);

// A random (version 4) UUID, as member ids end with.
std::string NewUuid();

inline JoinGroupResult JoinError(std::string member_id, absl::Status status) {
  JoinGroupResult r;
  r.status = std::move(status);
  r.member_id = std::move(member_id);
  return r;
}

inline SyncGroupResult SyncError(absl::Status status) {
  SyncGroupResult r;
  r.status = std::move(status);
  return r;
}

}  // namespace chronik::ingest::group_internal

namespace chronik::ingest {

struct GroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<ProtocolMetadata> protocols;
  std::string assignment;
  JoinCallback awaiting_join;
  SyncCallback awaiting_sync;
  // Added, but its first join has not completed: it has kNewMemberJoinTimeoutMs, not the session
  // timeout, and parked requests do not keep it alive.
  bool is_new = false;
  int64_t heartbeat_deadline = group_internal::kNever;

  const std::string* MetadataFor(const std::string& protocol) const {
    for (const ProtocolMetadata& p : protocols) {
      if (p.name == protocol) return &p.metadata;
    }
    return nullptr;
  }
  bool SupportsProtocol(const std::string& protocol) const { return MetadataFor(protocol) != nullptr; }
  // What each JoinGroup of the member sets again: its protocols and timeouts.
  void TakeJoin(JoinGroupParams& p) {
    protocols = std::move(p.protocols);
    rebalance_timeout_ms = p.rebalance_timeout_ms;
    session_timeout_ms = p.session_timeout_ms;
  }
  bool KeptAlive() const { return !is_new && (awaiting_join || awaiting_sync); }
};

struct GroupCoordinator::Group {
  std::string id;
  GroupState state = GroupState::kEmpty;
  int64_t state_ts = 0;
  int32_t generation = 0;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::optional<std::string> leader;
  std::map<std::string, Member> members;
  std::map<std::string, std::string> static_members;  // group.instance.id -> member id
  std::map<std::string, int64_t> pending_members;     // MEMBER_ID_REQUIRED handed out -> deadline
  std::set<std::string> pending_sync;                 // joined this generation, not yet synced
  int64_t sync_deadline = group_internal::kNever;
  // The join barrier (PreparingRebalance).
  int64_t join_deadline = group_internal::kNever;
  bool initial_delay = false;  // an initial-delay join: waits for the delay, never completes early
  int64_t initial_remaining_ms = 0;
  bool new_member_added = false;
  std::optional<std::set<std::string>> subscribed_topics;
  bool stored = false;  // a record of it is in the store
  // Guards everything above. Held across the group's own store writes (its metadata at the end of
  // a rebalance, its offset commits, in order), never another group's.
  std::mutex mu;
  bool erased = false;  // no longer in the coordinator's map: whoever locked it looks again

  bool Has(const std::string& member_id) const { return members.count(member_id) > 0; }
  bool IsLeader(const std::string& member_id) const { return leader.has_value() && *leader == member_id; }
  int32_t RebalanceTimeoutMs() const {
    int32_t t = 0;
    for (const auto& [id, m] : members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
  }
  bool AllMembersJoined() const {
    if (!pending_members.empty()) return false;
    for (const auto& [id, m] : members) {
      if (!m.awaiting_join) return false;
    }
    return true;
  }
  bool CanRebalance() const {
    return state == GroupState::kStable || state == GroupState::kCompletingRebalance || state == GroupState::kEmpty;
  }
  // Protocols every member supports.
  std::set<std::string> CandidateProtocols() const {
    std::set<std::string> out;
    if (members.empty()) return out;
    for (const ProtocolMetadata& p : members.begin()->second.protocols) {
      bool all = true;
      for (const auto& [id, m] : members) all = all && m.SupportsProtocol(p.name);
      if (all) out.insert(p.name);
    }
    return out;
  }
  bool SupportsProtocols(const std::string& type, const std::vector<ProtocolMetadata>& protocols) const {
    if (state == GroupState::kEmpty) return !type.empty() && !protocols.empty();
    // Rebalancing with no members left (they all left during the barrier): anything of the type.
    if (members.empty()) return protocol_type == type && !protocols.empty();
    if (protocol_type != type) return false;
    const std::set<std::string> candidates = CandidateProtocols();
    for (const ProtocolMetadata& p : protocols) {
      if (candidates.count(p.name)) return true;
    }
    return false;
  }
  // Each member votes for its most preferred candidate; the most votes wins.
  std::string SelectProtocol() const {
    const std::set<std::string> candidates = CandidateProtocols();
    std::map<std::string, int> votes;
    std::vector<std::string> order;
    for (const auto& [id, m] : members) {
      for (const ProtocolMetadata& p : m.protocols) {
        if (candidates.count(p.name)) {
          if (votes[p.name]++ == 0) order.push_back(p.name);
          break;
        }
      }
    }
    std::string best;
    int most = -1;
    for (const std::string& name : order) {
      if (votes[name] > most) {
        most = votes[name];
        best = name;
      }
    }
    return best;
  }
  std::optional<std::set<std::string>> ComputeSubscribedTopics() const {
    if (protocol_type != group_internal::kConsumerProtocolType || !protocol_name || members.empty()) return std::nullopt;
    std::set<std::string> all;
    for (const auto& [id, m] : members) {
      const std::string* data = m.MetadataFor(*protocol_name);
      if (data == nullptr) return std::nullopt;
      std::optional<std::set<std::string>> topics = group_internal::SubscribedTopics(*data);
      if (!topics) return std::nullopt;
      all.insert(topics->begin(), topics->end());
    }
    return all;
  }
};

// Callbacks to run once the lock is released.
class GroupCoordinator::Outbox {
 public:
  void Join(JoinCallback& cb, JoinGroupResult result) {
    if (!cb) return;
    calls_.push_back([cb = std::move(cb), r = std::move(result)]() mutable { cb(std::move(r)); });
    cb = nullptr;
  }
  void Sync(SyncCallback& cb, SyncGroupResult result) {
    if (!cb) return;
    calls_.push_back([cb = std::move(cb), r = std::move(result)]() mutable { cb(std::move(r)); });
    cb = nullptr;
  }
  void Run() {
    for (auto& c : calls_) c();
    calls_.clear();
  }

 private:
  std::vector<std::function<void()>> calls_;
};

}  // namespace chronik::ingest
