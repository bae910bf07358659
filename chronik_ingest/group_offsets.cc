#include "chronik_ingest/group_coordinator.h"

// GroupCoordinator: committed offsets, and listing, describing and deleting groups (see group_coordinator_internal.h).


#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "chronik_ingest/group_coordinator_internal.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using group_internal::kGroupsNs;
using group_internal::kOffsetsNs;
using group_internal::kConsumerProtocolType;
using group_internal::GroupError;
using group_internal::OffsetPrefix;
using group_internal::OffsetKey;
using group_internal::StoredOffset;
using group_internal::ParseOffset;
using group_internal::SerializeOffset;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Offsets.

std::vector<absl::Status> GroupCoordinator::CommitOffsets(const std::string& group_id, const std::string& member_id,
                                                          const std::optional<std::string>& group_instance_id,
                                                          int32_t generation_id, int64_t retention_time_ms,
                                                          const std::vector<OffsetCommitEntry>& entries) {
  return CommitOffsetsImpl(group_id, member_id, group_instance_id, generation_id, retention_time_ms, entries, true);
}

absl::Status GroupCoordinator::CommitTxnOffsets(const std::string& group_id,
                                                const std::vector<OffsetCommitEntry>& entries) {
  for (const absl::Status& s : CommitOffsetsImpl(group_id, "", std::nullopt, -1, -1, entries, false)) {
    // A partition deleted since the transaction sent its offset has nothing to commit to.
    if (!s.ok() && ToKafkaError(s) != ErrorCode::kUnknownTopicOrPartition) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::Status>> GroupCoordinator::ValidateTxnOffsetCommit(
    const std::string& group_id, const std::string& member_id, const std::optional<std::string>& group_instance_id,
    int32_t generation_id, const std::vector<OffsetCommitEntry>& entries) const {
  if (generation_id >= 0 || !member_id.empty() || group_instance_id.has_value()) {
    LockedGroup locked = FindLocked(group_id);
    if (locked.group == nullptr) {
      return GroupError(generation_id >= 0 ? ErrorCode::kIllegalGeneration : ErrorCode::kUnknownMemberId,
                        "the group does not exist");
    }
    if (absl::Status s = ValidateCurrentMember(*locked.group, member_id, group_instance_id); !s.ok()) return s;
    if (generation_id != locked.group->generation) {
      return GroupError(ErrorCode::kIllegalGeneration,
                        absl::StrCat("generation ", generation_id, " is not the group's ", locked.group->generation));
    }
  }
  std::vector<absl::Status> results;
  results.reserve(entries.size());
  for (const OffsetCommitEntry& e : entries) results.push_back(CheckOffsetEntry(e));
  return results;
}

absl::Status GroupCoordinator::CheckOffsetEntry(const OffsetCommitEntry& e) const {
  if (!options_.partition_exists(e.topic, e.partition)) {
    return KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                      absl::StrCat("unknown topic partition ", e.topic, "-", e.partition));
  }
  if (e.metadata && e.metadata->size() > static_cast<size_t>(options_.settings.offset_metadata_max_bytes)) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kOffsetMetadataTooLarge,
                      "offset metadata exceeds offset.metadata.max.bytes");
  }
  return absl::OkStatus();
}

std::vector<absl::Status> GroupCoordinator::CommitOffsetsImpl(const std::string& group_id, const std::string& member_id,
                                                              const std::optional<std::string>& group_instance_id,
                                                              int32_t generation_id, int64_t retention_time_ms,
                                                              const std::vector<OffsetCommitEntry>& entries,
                                                              bool check_member) {
  auto all = [&](const absl::Status& s) { return std::vector<absl::Status>(entries.size(), s); };
  std::vector<absl::Status> results(entries.size());
  std::vector<storage::MetadataOp> ops;
  std::vector<size_t> op_entry;
  // The write happens under the group's lock, as Kafka orders commits under the group lock: a
  // group being deleted or expired, or a topic being deleted (each takes the group's lock), never
  // races a commit into stray offsets. Other groups go on meanwhile, and their commits share this
  // one's fsync.
  LockedGroup locked = LockGroup(group_id, false);
  bool created = false;
  if (locked.group == nullptr) {
    if (generation_id >= 0) return all(GroupError(ErrorCode::kIllegalGeneration, "the group does not exist"));
    locked = LockGroup(group_id, true);
    created = true;
  }
  Group* g = locked.group.get();
  {
    // A commit with generation -1 to a group without members is a consumer that only stores
    // offsets here (assign() and commit); anything else must be a current member.
    if (check_member && !(generation_id < 0 && g->state == GroupState::kEmpty)) {
      if (generation_id >= 0 || !member_id.empty() || group_instance_id.has_value()) {
        if (absl::Status s = ValidateCurrentMember(*g, member_id, group_instance_id); !s.ok()) return all(s);
        if (generation_id != g->generation) {
          return all(GroupError(ErrorCode::kIllegalGeneration,
                                absl::StrCat("generation ", generation_id, " is not the group's ", g->generation)));
        }
      } else {
        return all(GroupError(ErrorCode::kUnknownMemberId, "the group has members; commit as one of them"));
      }
      if (g->state == GroupState::kCompletingRebalance) {
        return all(GroupError(ErrorCode::kRebalanceInProgress, "the group is completing a rebalance"));
      }
      Member& m = g->members.at(member_id);
      ScheduleHeartbeat(m, m.session_timeout_ms);
    }
    const int64_t now = Now();
    for (size_t i = 0; i < entries.size(); ++i) {
      const OffsetCommitEntry& e = entries[i];
      if (absl::Status st = CheckOffsetEntry(e); !st.ok()) {
        results[i] = st;
        continue;
      }
      CommittedOffset v{e.offset, e.leader_epoch, e.metadata.value_or("")};
      const int64_t commit_ts = e.commit_timestamp_ms >= 0 ? e.commit_timestamp_ms : now;
      const int64_t expire_ts = retention_time_ms >= 0 ? commit_ts + retention_time_ms : -1;
      ops.push_back(storage::MetadataOp::Put(kOffsetsNs, OffsetKey(group_id, e.topic, e.partition),
                                             SerializeOffset(v, commit_ts, expire_ts)));
      op_entry.push_back(i);
    }
  }
  absl::StatusOr<int64_t> rev = ops.empty() ? absl::StatusOr<int64_t>(0) : store_.Apply(std::move(ops));
  if (!rev.ok()) {
    spdlog::warn("group {}: storing committed offsets failed: {}", group_id, std::string(rev.status().message()));
    for (size_t i : op_entry) results[i] = WithKafkaError(rev.status(), ErrorCode::kCoordinatorNotAvailable);
  }
  // A commit that stored nothing does not bring a group into being.
  if (created && (op_entry.empty() || !rev.ok()) && Disposable(*g)) EraseGroup(*g);
  return results;
}

bool GroupCoordinator::Disposable(const Group& g) const {
  return g.state == GroupState::kEmpty && g.members.empty() && g.pending_members.empty() && g.generation == 0 &&
         !g.stored && store_.Scan(kOffsetsNs, OffsetPrefix(g.id)).empty();
}

absl::StatusOr<std::map<std::pair<std::string, int32_t>, CommittedOffset>> GroupCoordinator::FetchOffsets(
    const std::string& group_id, const std::optional<std::vector<TopicPartitions>>& partitions) const {
  std::map<std::pair<std::string, int32_t>, CommittedOffset> out;
  const std::string prefix = OffsetPrefix(group_id);
  if (partitions.has_value()) {
    for (const TopicPartitions& tp : *partitions) {
      for (int32_t p : tp.partitions) {
        CommittedOffset& slot = out[{tp.topic, p}];
        const std::string key = OffsetKey(group_id, tp.topic, p);
        std::optional<std::string> v = store_.Get(kOffsetsNs, key);
        if (!v) continue;
        if (std::optional<StoredOffset> o = ParseOffset(prefix, key, *v)) slot = o->value;
      }
    }
    return out;
  }
  for (const auto& [key, value] : store_.Scan(kOffsetsNs, prefix)) {
    if (std::optional<StoredOffset> o = ParseOffset(prefix, key, value)) out[{o->topic, o->partition}] = o->value;
  }
  return out;
}

void GroupCoordinator::ExpireOffsetsNow(int64_t now_ms) {
  if (!stopping_) ExpireOffsets(now_ms);
}

void GroupCoordinator::ExpireOffsets(int64_t now) {
  const int64_t retention = options_.settings.offsets_retention_ms;
  for (const std::shared_ptr<Group>& gp : AllGroups()) {
    std::lock_guard<std::mutex> lock(gp->mu);
    if (gp->erased) continue;
    Group& g = *gp;
    const std::string& id = g.id;
    const std::string prefix = OffsetPrefix(id);
    std::vector<storage::MetadataOp> ops;
    size_t remaining = 0;
    for (const auto& [key, value] : store_.Scan(kOffsetsNs, prefix)) {
      std::optional<StoredOffset> o = ParseOffset(prefix, key, value);
      bool expire = false;
      if (!o) {
        expire = true;
      } else if (o->expire_ts >= 0) {
        expire = now >= o->expire_ts;  // an explicit retention from OffsetCommit v2-v4
      } else if (!g.protocol_type) {
        expire = now - o->commit_ts >= retention;  // offsets only: since the commit
      } else if (g.state == GroupState::kEmpty) {
        expire = now - g.state_ts >= retention;  // since the group became empty
      } else if (g.protocol_type == kConsumerProtocolType && g.state == GroupState::kStable && g.subscribed_topics) {
        expire = !g.subscribed_topics->count(o->topic) && now - o->commit_ts >= retention;
      }
      if (expire) {
        ops.push_back(storage::MetadataOp::Delete(kOffsetsNs, key));
      } else {
        ++remaining;
      }
    }
    const bool remove_group = remaining == 0 && g.state == GroupState::kEmpty && g.members.empty() &&
                              g.pending_members.empty();
    if (remove_group && g.stored) ops.push_back(storage::MetadataOp::Delete(kGroupsNs, id));
    if (!ops.empty()) {
      absl::StatusOr<int64_t> rev = store_.Apply(std::move(ops));
      if (!rev.ok()) {
        spdlog::warn("group {}: expiring offsets failed: {}", id, std::string(rev.status().message()));
        continue;
      }
      spdlog::info("group {}: expired committed offsets{}", id, remove_group ? "; the group is removed" : "");
    }
    if (remove_group) EraseGroup(g);
  }
}

void GroupCoordinator::OnTopicDeleted(const std::string& topic) {
  // The topic is gone from the registry already, so no commit validated from here on names it;
  // one validated before holds its group's lock until its write is done, and is removed here.
  size_t n = 0;
  for (const std::shared_ptr<Group>& g : AllGroups()) {
    std::lock_guard<std::mutex> lock(g->mu);
    if (g->erased) continue;
    std::vector<storage::MetadataOp> ops;
    const std::string prefix = absl::StrCat(OffsetPrefix(g->id), topic, std::string(1, '\0'));
    for (const auto& [key, value] : store_.Scan(kOffsetsNs, prefix)) {
      ops.push_back(storage::MetadataOp::Delete(kOffsetsNs, key));
    }
    if (ops.empty()) continue;
    const size_t count = ops.size();
    if (absl::StatusOr<int64_t> rev = store_.Apply(std::move(ops)); !rev.ok()) {
      spdlog::warn("topic {} deleted, but group {}'s committed offsets of it were not: {}", topic, g->id,
                   std::string(rev.status().message()));
      continue;
    }
    n += count;
  }
  if (n > 0) spdlog::info("topic {} deleted: removed {} committed offsets", topic, n);
}

// ---------------------------------------------------------------------------------------------
// Listing, describing, deleting.

std::vector<GroupOverview> GroupCoordinator::ListGroups(const std::vector<std::string>& states) const {
  std::set<std::string> wanted;
  for (const std::string& s : states) wanted.insert(absl::AsciiStrToLower(s));
  std::vector<GroupOverview> out;
  for (const std::shared_ptr<Group>& g : AllGroups()) {
    std::lock_guard<std::mutex> lock(g->mu);
    if (g->erased) continue;
    if (!wanted.empty() && !wanted.count(absl::AsciiStrToLower(std::string(GroupStateName(g->state))))) continue;
    out.push_back({g->id, g->protocol_type.value_or(""), g->state});
  }
  return out;
}

absl::StatusOr<GroupDescription> GroupCoordinator::DescribeGroup(const std::string& group_id) const {
  GroupDescription d;
  LockedGroup locked = FindLocked(group_id);
  const Group* g = locked.group.get();
  if (g == nullptr) return d;  // Kafka describes an unknown group as Dead, without an error.
  d.state = g->state;
  d.protocol_type = g->protocol_type.value_or("");
  const bool stable = g->state == GroupState::kStable;
  if (stable) d.protocol_name = g->protocol_name.value_or("");
  for (const auto& [id, m] : g->members) {
    GroupDescription::Member dm{id, m.instance_id, m.client_id, m.client_host, "", ""};
    if (stable && g->protocol_name) {
      if (const std::string* md = m.MetadataFor(*g->protocol_name)) dm.metadata = *md;
      dm.assignment = m.assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

std::vector<absl::Status> GroupCoordinator::DeleteGroups(const std::vector<std::string>& group_ids) {
  std::vector<absl::Status> results;
  for (const std::string& id : group_ids) {
    LockedGroup locked = LockGroup(id, false);
    Group* g = locked.group.get();
    if (g == nullptr) {
      results.push_back(GroupError(ErrorCode::kGroupIdNotFound, absl::StrCat("group ", id, " does not exist")));
    } else if (g->state != GroupState::kEmpty) {
      results.push_back(GroupError(ErrorCode::kNonEmptyGroup, absl::StrCat("group ", id, " has members")));
    } else if (absl::Status s = DeleteGroupAndOffsets(id); !s.ok()) {
      results.push_back(s);
    } else {
      spdlog::info("group {} deleted", id);
      EraseGroup(*g);
      results.push_back(absl::OkStatus());
    }
  }
  return results;
}

absl::StatusOr<std::vector<absl::Status>> GroupCoordinator::DeleteOffsets(
    const std::string& group_id, const std::vector<TopicPartitions>& partitions) {
  LockedGroup locked = LockGroup(group_id, false);
  const Group* g = locked.group.get();
  if (g == nullptr) return GroupError(ErrorCode::kGroupIdNotFound, absl::StrCat("group ", group_id, " does not exist"));
  const bool empty = g->state == GroupState::kEmpty;
  if (!empty && g->protocol_type != kConsumerProtocolType) {
    return GroupError(ErrorCode::kNonEmptyGroup, absl::StrCat("group ", group_id, " has members"));
  }
  std::vector<absl::Status> results;
  std::vector<storage::MetadataOp> ops;
  std::vector<size_t> deleted;
  for (const TopicPartitions& tp : partitions) {
    // A consumer group whose subscription cannot be read counts as subscribed, to be safe.
    const bool subscribed = !empty && (!g->subscribed_topics || g->subscribed_topics->count(tp.topic));
    for (int32_t p : tp.partitions) {
      if (subscribed) {
        results.push_back(GroupError(ErrorCode::kGroupSubscribedToTopic,
                                     absl::StrCat("the group is subscribed to ", tp.topic)));
        continue;
      }
      const std::string key = OffsetKey(group_id, tp.topic, p);
      if (store_.Get(kOffsetsNs, key)) ops.push_back(storage::MetadataOp::Delete(kOffsetsNs, key));
      deleted.push_back(results.size());
      results.push_back(absl::OkStatus());
    }
  }
  if (!ops.empty()) {
    if (absl::StatusOr<int64_t> rev = store_.Apply(std::move(ops)); !rev.ok()) {
      for (size_t i : deleted) results[i] = WithKafkaError(rev.status(), ErrorCode::kCoordinatorNotAvailable);
    }
  }
  return results;
}

}  // namespace chronik::ingest
