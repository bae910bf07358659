#include "chronik_ingest/group_coordinator.h"

// GroupCoordinator: the membership protocol: join, sync, heartbeat and leave (see group_coordinator_internal.h).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "chronik_ingest/group_coordinator_internal.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using group_internal::kNever;
using group_internal::kNewMemberJoinTimeoutMs;
using group_internal::GroupError;
using group_internal::NewUuid;
using group_internal::JoinError;
using group_internal::SyncError;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Membership.

GroupCoordinator::LockedGroup GroupCoordinator::FindLocked(const std::string& id) const {
  for (;;) {
    std::shared_ptr<Group> g;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = groups_.find(id);
      if (it == groups_.end()) return {};
      g = it->second;
    }
    std::unique_lock<std::mutex> lock(g->mu);
    if (!g->erased) return LockedGroup{std::move(g), std::move(lock)};
  }
}

GroupCoordinator::LockedGroup GroupCoordinator::LockGroup(const std::string& id, bool create) {
  for (;;) {
    if (create) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!groups_.contains(id)) {
        auto g = std::make_shared<Group>();
        g->id = id;
        g->state_ts = Now();
        groups_.emplace(id, std::move(g));
      }
    }
    // Erased between the two steps: create it again.
    if (LockedGroup locked = FindLocked(id); locked.group != nullptr || !create) return locked;
  }
}

std::vector<std::shared_ptr<GroupCoordinator::Group>> GroupCoordinator::AllGroups() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Group>> out;
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) out.push_back(g);
  return out;
}

void GroupCoordinator::EraseGroup(Group& g) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(g.id);
  if (it != groups_.end() && it->second.get() == &g) groups_.erase(it);
  g.erased = true;
}

void GroupCoordinator::TransitionTo(Group& g, GroupState state) {
  g.state = state;
  g.state_ts = Now();
}

void GroupCoordinator::ScheduleHeartbeat(Member& m, int64_t timeout_ms) { m.heartbeat_deadline = Now() + timeout_ms; }

absl::Status GroupCoordinator::ValidateCurrentMember(const Group& g, const std::string& member_id,
                                                     const std::optional<std::string>& instance_id) const {
  if (instance_id.has_value()) {
    auto it = g.static_members.find(*instance_id);
    if (it == g.static_members.end()) {
      return GroupError(ErrorCode::kUnknownMemberId, absl::StrCat("unknown group.instance.id ", *instance_id));
    }
    if (it->second != member_id) {
      return GroupError(ErrorCode::kFencedInstanceId,
                        absl::StrCat("member ", member_id, " of static member ", *instance_id,
                                     " is fenced by the newer member ", it->second));
    }
    return absl::OkStatus();
  }
  if (!g.Has(member_id)) {
    return GroupError(ErrorCode::kUnknownMemberId, absl::StrCat("unknown member id ", member_id));
  }
  return absl::OkStatus();
}

void GroupCoordinator::JoinGroup(JoinGroupParams p, JoinCallback done) {
  if (p.group_id.empty()) {
    return done(JoinError(p.member_id, GroupError(ErrorCode::kInvalidGroupId, "the group id is empty")));
  }
  const GroupSettings& s = options_.settings;
  if (p.session_timeout_ms < s.min_session_timeout_ms || p.session_timeout_ms > s.max_session_timeout_ms) {
    return done(JoinError(p.member_id, GroupError(ErrorCode::kInvalidSessionTimeout,
                                                  absl::StrCat("session timeout ", p.session_timeout_ms,
                                                               " ms is outside [group.min.session.timeout.ms ",
                                                               s.min_session_timeout_ms, ", group.max.session.timeout.ms ",
                                                               s.max_session_timeout_ms, "]"))));
  }
  Outbox out;
  {
    const bool new_member = p.member_id.empty();
    LockedGroup locked = LockGroup(p.group_id, new_member && !stopping_);
    Group* g = locked.group.get();
    if (stopping_) {
      out.Join(done, JoinError(p.member_id, GroupError(ErrorCode::kNotCoordinator, "the broker is shutting down")));
    } else if (g == nullptr) {
      out.Join(done, JoinError(p.member_id, GroupError(ErrorCode::kUnknownMemberId, "the group does not exist")));
    } else if (!g->Has(p.member_id) && !g->pending_members.count(p.member_id) &&
               !(p.group_instance_id && g->static_members.count(*p.group_instance_id)) &&
               g->members.size() + g->pending_members.size() >= static_cast<size_t>(s.max_size)) {
      out.Join(done, JoinError("", GroupError(ErrorCode::kGroupMaxSizeReached, "group.max.size reached")));
    } else if (new_member) {
      DoNewMemberJoin(*g, p, done, out);
    } else {
      DoCurrentMemberJoin(*g, p, done, out);
    }
    if (g != nullptr && g->state == GroupState::kPreparingRebalance) TryCompleteJoin(*g, out);
    // A group that a failed first join created holds nothing; do not keep it.
    if (g != nullptr && Disposable(*g)) EraseGroup(*g);
  }
  Wake();
  out.Run();
}

void GroupCoordinator::DoNewMemberJoin(Group& g, JoinGroupParams& p, JoinCallback& done, Outbox& out) {
  if (!g.SupportsProtocols(p.protocol_type, p.protocols)) {
    return out.Join(done, JoinError("", GroupError(ErrorCode::kInconsistentGroupProtocol,
                                                   "the member's protocols do not match the group's")));
  }
  const std::string new_id = absl::StrCat(p.group_instance_id.value_or(p.client_id), "-", NewUuid());
  if (p.group_instance_id.has_value()) {
    auto it = g.static_members.find(*p.group_instance_id);
    if (it != g.static_members.end()) {
      const std::string old_id = it->second;
      spdlog::info("group {}: static member {} rejoins; replacing member {} with {}", g.id, *p.group_instance_id,
                   old_id, new_id);
      // The new id is generated here and handed through the params to keep one code path.
      p.member_id = new_id;
      return UpdateStaticMember(g, old_id, p, done, out);
    }
    return AddMemberAndRebalance(g, p, new_id, done, out);
  }
  if (p.require_known_member_id) {
    g.pending_members[new_id] = Now() + p.session_timeout_ms;
    return out.Join(done, JoinError(new_id, GroupError(ErrorCode::kMemberIdRequired,
                                                       "rejoin with the member id this answer carries")));
  }
  AddMemberAndRebalance(g, p, new_id, done, out);
}

void GroupCoordinator::UpdateStaticMember(Group& g, const std::string& old_id, JoinGroupParams& p,
                                          JoinCallback& done, Outbox& out) {
  const std::string& new_id = p.member_id;
  const std::optional<std::string> old_leader = g.leader;
  auto node = g.members.extract(old_id);
  Member saved = node.mapped();  // to revert if the store fails
  const int32_t saved_session_ms = saved.session_timeout_ms;
  saved.awaiting_join = nullptr;
  saved.awaiting_sync = nullptr;
  Member& before = node.mapped();
  // The old member's parked requests are answered: that client has been replaced.
  out.Join(before.awaiting_join, JoinError(old_id, GroupError(ErrorCode::kFencedInstanceId, "replaced by a newer member")));
  out.Sync(before.awaiting_sync, SyncError(GroupError(ErrorCode::kFencedInstanceId, "replaced by a newer member")));
  node.key() = new_id;
  node.mapped().id = new_id;
  Member& m = g.members.insert(std::move(node)).position->second;
  g.static_members[*p.group_instance_id] = new_id;
  if (g.leader == old_id) g.leader = new_id;
  if (g.pending_sync.erase(old_id)) g.pending_sync.insert(new_id);
  ScheduleHeartbeat(m, m.session_timeout_ms);
  m.TakeJoin(p);
  m.client_id = p.client_id;
  m.client_host = p.client_host;

  switch (g.state) {
    case GroupState::kStable: {
      if (g.protocol_name != g.SelectProtocol()) {
        m.awaiting_join = std::move(done);
        return MaybePrepareRebalance(g, "a static member rejoined with other protocols", out);
      }
      if (absl::Status s = StoreGroup(g); !s.ok()) {
        // Undo the replacement so that the group matches what is stored.
        g.members.erase(new_id);
        ScheduleHeartbeat(g.members.emplace(old_id, std::move(saved)).first->second, saved_session_ms);
        g.static_members[*p.group_instance_id] = old_id;
        if (g.leader == new_id) g.leader = old_id;
        if (g.pending_sync.erase(new_id)) g.pending_sync.insert(old_id);
        JoinGroupResult r = JoinError("", s);
        r.generation_id = g.generation;
        return out.Join(done, std::move(r));
      }
      const bool leader = g.IsLeader(new_id);
      if (p.supports_skip_assignment) {
        JoinGroupResult r = CurrentJoinResult(g, new_id, leader);
        r.skip_assignment = leader;
        return out.Join(done, std::move(r));
      }
      // Before v9, the old leader id keeps a restarted static leader from computing an assignment
      // that a stable group would never distribute.
      JoinGroupResult r = CurrentJoinResult(g, new_id, false);
      r.leader = old_leader.value_or("");
      return out.Join(done, std::move(r));
    }
    case GroupState::kCompletingRebalance:
      m.awaiting_join = std::move(done);
      return PrepareRebalance(g, "a static member rejoined while its group was completing a rebalance", out);
    case GroupState::kPreparingRebalance:
      m.awaiting_join = std::move(done);
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
  // A group with a member is never Empty or Dead.
  out.Join(done, JoinError("", GroupError(ErrorCode::kUnknownMemberId, "the group has no such member")));
}

void GroupCoordinator::DoCurrentMemberJoin(Group& g, JoinGroupParams& p, JoinCallback& done, Outbox& out) {
  if (!g.SupportsProtocols(p.protocol_type, p.protocols)) {
    return out.Join(done, JoinError(p.member_id, GroupError(ErrorCode::kInconsistentGroupProtocol,
                                                            "the member's protocols do not match the group's")));
  }
  if (g.pending_members.count(p.member_id)) {
    if (p.group_instance_id.has_value()) {
      return out.Join(done, JoinError(p.member_id, GroupError(ErrorCode::kUnknownMemberId,
                                                              "a pending member id cannot join as a static member")));
    }
    return AddMemberAndRebalance(g, p, p.member_id, done, out);
  }
  if (absl::Status s = ValidateCurrentMember(g, p.member_id, p.group_instance_id); !s.ok()) {
    return out.Join(done, JoinError(p.member_id, s));
  }
  Member& m = g.members.at(p.member_id);
  switch (g.state) {
    case GroupState::kPreparingRebalance:
      return UpdateMemberAndRebalance(g, m, p, done, out);
    case GroupState::kCompletingRebalance:
      if (m.protocols == p.protocols) {
        return out.Join(done, CurrentJoinResult(g, m.id, g.IsLeader(m.id)));
      }
      return UpdateMemberAndRebalance(g, m, p, done, out);
    case GroupState::kStable:
      if (g.IsLeader(m.id) || m.protocols != p.protocols) return UpdateMemberAndRebalance(g, m, p, done, out);
      return out.Join(done, CurrentJoinResult(g, m.id, false));
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
  out.Join(done, JoinError(p.member_id, GroupError(ErrorCode::kUnknownMemberId, "the group has no such member")));
}

void GroupCoordinator::AddMemberAndRebalance(Group& g, JoinGroupParams& p, const std::string& member_id,
                                             JoinCallback& done, Outbox& out) {
  Member m;
  m.id = member_id;
  m.instance_id = p.group_instance_id;
  m.client_id = p.client_id;
  m.client_host = p.client_host;
  m.protocol_type = p.protocol_type;
  m.TakeJoin(p);
  m.is_new = true;
  m.awaiting_join = std::move(done);
  ScheduleHeartbeat(m, kNewMemberJoinTimeoutMs);
  if (g.state == GroupState::kPreparingRebalance && g.generation == 0) g.new_member_added = true;
  if (g.members.empty()) g.protocol_type = m.protocol_type;
  if (!g.leader) g.leader = member_id;
  if (m.instance_id) g.static_members[*m.instance_id] = member_id;
  g.pending_members.erase(member_id);
  g.members.emplace(member_id, std::move(m));
  spdlog::info("group {}: member {} joins ({} members)", g.id, member_id, g.members.size());
  MaybePrepareRebalance(g, absl::StrCat("adding member ", member_id), out);
}

void GroupCoordinator::UpdateMemberAndRebalance(Group& g, Member& m, JoinGroupParams& p, JoinCallback& done,
                                                Outbox& out) {
  m.TakeJoin(p);
  // A member asking again (its earlier request timed out on the client) replaces that request.
  out.Join(m.awaiting_join, JoinError(m.id, GroupError(ErrorCode::kRebalanceInProgress, "superseded by a newer JoinGroup")));
  m.awaiting_join = std::move(done);
  MaybePrepareRebalance(g, absl::StrCat("member ", m.id, " rejoins"), out);
}

void GroupCoordinator::MaybePrepareRebalance(Group& g, const std::string& reason, Outbox& out) {
  if (g.CanRebalance()) PrepareRebalance(g, reason, out);
}

void GroupCoordinator::PrepareRebalance(Group& g, const std::string& reason, Outbox& out) {
  if (g.state == GroupState::kCompletingRebalance) {
    for (auto& [id, m] : g.members) m.assignment.clear();
    PropagateAssignment(g, GroupError(ErrorCode::kRebalanceInProgress, "the group is rebalancing"), out);
  }
  g.pending_sync.clear();
  g.sync_deadline = kNever;
  const int64_t now = Now();
  if (g.state == GroupState::kEmpty) {
    const int32_t delay = options_.settings.initial_rebalance_delay_ms;
    g.initial_delay = true;
    g.join_deadline = now + delay;
    g.initial_remaining_ms = std::max<int64_t>(g.RebalanceTimeoutMs() - delay, 0);
  } else {
    g.initial_delay = false;
    g.join_deadline = now + g.RebalanceTimeoutMs();
  }
  spdlog::info("group {}: preparing to rebalance from generation {} ({})", g.id, g.generation, reason);
  TransitionTo(g, GroupState::kPreparingRebalance);
  TryCompleteJoin(g, out);
}

void GroupCoordinator::TryCompleteJoin(Group& g, Outbox& out) {
  if (g.state == GroupState::kPreparingRebalance && !g.initial_delay && g.AllMembersJoined()) CompleteJoin(g, out);
}

JoinGroupResult GroupCoordinator::CurrentJoinResult(const Group& g, const std::string& member_id,
                                                    bool with_members) const {
  JoinGroupResult r;
  r.member_id = member_id;
  r.generation_id = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader.value_or("");
  if (with_members && g.protocol_name) {
    for (const auto& [id, m] : g.members) {
      const std::string* metadata = m.MetadataFor(*g.protocol_name);
      r.members.push_back({id, m.instance_id, metadata ? *metadata : std::string()});
    }
  }
  return r;
}

void GroupCoordinator::CompleteJoin(Group& g, Outbox& out) {
  std::vector<std::string> missing;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join && !m.instance_id) missing.push_back(id);
  }
  for (const std::string& id : missing) {
    spdlog::info("group {}: member {} did not rejoin in time, removing it", g.id, id);
    RemoveMember(g, id, out);
  }
  g.join_deadline = kNever;
  g.initial_delay = false;
  if (!g.members.empty()) {
    // Keep the leader if it rejoined, else any member that did.
    if (!g.leader || !g.members.at(*g.leader).awaiting_join) {
      std::optional<std::string> joined;
      for (const auto& [id, m] : g.members) {
        if (m.awaiting_join) {
          joined = id;
          break;
        }
      }
      if (!joined) {
        spdlog::warn("group {}: no member rejoined; waiting another rebalance timeout", g.id);
        g.join_deadline = Now() + g.RebalanceTimeoutMs();
        return;
      }
      g.leader = joined;
    }
  }
  ++g.generation;
  if (options_.on_rebalance) options_.on_rebalance(g.id);
  g.pending_sync.clear();
  if (g.members.empty()) {
    g.protocol_name.reset();
    g.leader.reset();
    g.subscribed_topics.reset();
    TransitionTo(g, GroupState::kEmpty);
    spdlog::info("group {}: generation {} is empty", g.id, g.generation);
    (void)StoreGroup(g);
    return;
  }
  g.protocol_name = g.SelectProtocol();
  g.subscribed_topics = g.ComputeSubscribedTopics();
  TransitionTo(g, GroupState::kCompletingRebalance);
  spdlog::info("group {}: generation {} with {} members, protocol {}, leader {}", g.id, g.generation, g.members.size(),
               *g.protocol_name, *g.leader);
  for (auto& [id, m] : g.members) {
    out.Join(m.awaiting_join, CurrentJoinResult(g, id, g.IsLeader(id)));
    ScheduleHeartbeat(m, m.session_timeout_ms);
    m.is_new = false;
    g.pending_sync.insert(id);
  }
  g.sync_deadline = Now() + g.RebalanceTimeoutMs();
}

void GroupCoordinator::PropagateAssignment(Group& g, const absl::Status& status, Outbox& out) {
  for (auto& [id, m] : g.members) {
    if (!m.awaiting_sync) continue;
    SyncGroupResult r;
    r.status = status;
    if (status.ok()) {
      r.protocol_type = g.protocol_type;
      r.protocol_name = g.protocol_name;
      r.assignment = m.assignment;
    }
    out.Sync(m.awaiting_sync, std::move(r));
    ScheduleHeartbeat(m, m.session_timeout_ms);
  }
}

void GroupCoordinator::RemoveMember(Group& g, const std::string& member_id, Outbox& out) {
  auto it = g.members.find(member_id);
  if (it != g.members.end()) {
    Member& m = it->second;
    out.Join(m.awaiting_join, JoinError("", GroupError(ErrorCode::kUnknownMemberId, "the member was removed")));
    out.Sync(m.awaiting_sync, SyncError(GroupError(ErrorCode::kUnknownMemberId, "the member was removed")));
    if (m.instance_id) g.static_members.erase(*m.instance_id);
    g.members.erase(it);
  }
  if (g.IsLeader(member_id)) {
    g.leader.reset();
    if (!g.members.empty()) g.leader = g.members.begin()->first;
  }
  g.pending_members.erase(member_id);
  g.pending_sync.erase(member_id);
}

void GroupCoordinator::RemoveMemberAndUpdateGroup(Group& g, const std::string& member_id, const std::string& reason,
                                                  Outbox& out) {
  RemoveMember(g, member_id, out);
  switch (g.state) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      return MaybePrepareRebalance(g, reason, out);
    case GroupState::kPreparingRebalance:
      return TryCompleteJoin(g, out);
    case GroupState::kEmpty:
    case GroupState::kDead:
      return;
  }
}

void GroupCoordinator::RemovePendingMember(Group& g, const std::string& member_id, Outbox& out) {
  g.pending_members.erase(member_id);
  if (g.state == GroupState::kPreparingRebalance) TryCompleteJoin(g, out);
}

void GroupCoordinator::SyncGroup(SyncGroupParams p, SyncCallback done) {
  if (p.group_id.empty()) return done(SyncError(GroupError(ErrorCode::kInvalidGroupId, "the group id is empty")));
  Outbox out;
  {
    LockedGroup locked = LockGroup(p.group_id, false);
    Group* g = locked.group.get();
    absl::Status error;
    if (stopping_) {
      error = GroupError(ErrorCode::kNotCoordinator, "the broker is shutting down");
    } else if (g == nullptr) {
      error = GroupError(ErrorCode::kUnknownMemberId, "the group does not exist");
    } else if (absl::Status s = ValidateCurrentMember(*g, p.member_id, p.group_instance_id); !s.ok()) {
      error = s;
    } else if (p.generation_id != g->generation) {
      error = GroupError(ErrorCode::kIllegalGeneration,
                         absl::StrCat("generation ", p.generation_id, " is not the group's ", g->generation));
    } else if ((p.protocol_type && g->protocol_type != p.protocol_type) ||
               (p.protocol_name && g->protocol_name != p.protocol_name)) {
      error = GroupError(ErrorCode::kInconsistentGroupProtocol, "protocol type or name differs from the group's");
    }
    if (!error.ok()) {
      out.Sync(done, SyncError(error));
    } else {
      switch (g->state) {
        case GroupState::kEmpty:
        case GroupState::kDead:
          out.Sync(done, SyncError(GroupError(ErrorCode::kUnknownMemberId, "the group has no members")));
          break;
        case GroupState::kPreparingRebalance:
          out.Sync(done, SyncError(GroupError(ErrorCode::kRebalanceInProgress, "the group is rebalancing")));
          break;
        case GroupState::kCompletingRebalance: {
          Member& m = g->members.at(p.member_id);
          out.Sync(m.awaiting_sync, SyncError(GroupError(ErrorCode::kRebalanceInProgress, "superseded by a newer SyncGroup")));
          m.awaiting_sync = std::move(done);
          g->pending_sync.erase(p.member_id);
          if (g->IsLeader(p.member_id)) {
            std::map<std::string, std::string> assignment(p.assignments.begin(), p.assignments.end());
            for (auto& [id, member] : g->members) {
              auto a = assignment.find(id);
              member.assignment = a == assignment.end() ? std::string() : a->second;
            }
            if (absl::Status s = StoreGroup(*g); !s.ok()) {
              for (auto& [id, member] : g->members) member.assignment.clear();
              PropagateAssignment(*g, s, out);
              MaybePrepareRebalance(*g, "storing the assignment failed", out);
            } else {
              PropagateAssignment(*g, absl::OkStatus(), out);
              TransitionTo(*g, GroupState::kStable);
              spdlog::info("group {}: generation {} is stable", g->id, g->generation);
            }
          }
          break;
        }
        case GroupState::kStable: {
          Member& m = g->members.at(p.member_id);
          g->pending_sync.erase(p.member_id);
          SyncGroupResult r;
          r.protocol_type = g->protocol_type;
          r.protocol_name = g->protocol_name;
          r.assignment = m.assignment;
          out.Sync(done, std::move(r));
          ScheduleHeartbeat(m, m.session_timeout_ms);
          break;
        }
      }
    }
  }
  Wake();
  out.Run();
}

absl::Status GroupCoordinator::Heartbeat(const std::string& group_id, const std::string& member_id,
                                         const std::optional<std::string>& group_instance_id, int32_t generation_id) {
  if (group_id.empty()) return GroupError(ErrorCode::kInvalidGroupId, "the group id is empty");
  LockedGroup locked = LockGroup(group_id, false);
  Group* g = locked.group.get();
  if (g == nullptr) return GroupError(ErrorCode::kUnknownMemberId, "the group does not exist");
  if (absl::Status s = ValidateCurrentMember(*g, member_id, group_instance_id); !s.ok()) return s;
  if (generation_id != g->generation) {
    return GroupError(ErrorCode::kIllegalGeneration,
                      absl::StrCat("generation ", generation_id, " is not the group's ", g->generation));
  }
  Member& m = g->members.at(member_id);
  switch (g->state) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      return GroupError(ErrorCode::kUnknownMemberId, "the group has no members");
    case GroupState::kPreparingRebalance:
      ScheduleHeartbeat(m, m.session_timeout_ms);
      return GroupError(ErrorCode::kRebalanceInProgress, "the group is rebalancing");
    case GroupState::kCompletingRebalance:
    case GroupState::kStable:
      ScheduleHeartbeat(m, m.session_timeout_ms);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::Status>> GroupCoordinator::LeaveGroup(const std::string& group_id,
                                                                       const std::vector<LeavingMember>& members) {
  if (group_id.empty()) return GroupError(ErrorCode::kInvalidGroupId, "the group id is empty");
  std::vector<absl::Status> results;
  Outbox out;
  {
    LockedGroup locked = LockGroup(group_id, false);
    Group* g = locked.group.get();
    for (const LeavingMember& lm : members) {
      if (g == nullptr) {
        results.push_back(GroupError(ErrorCode::kUnknownMemberId, "the group does not exist"));
        continue;
      }
      std::string member_id = lm.member_id;
      if (member_id.empty()) {
        auto it = lm.group_instance_id ? g->static_members.find(*lm.group_instance_id) : g->static_members.end();
        if (it == g->static_members.end()) {
          results.push_back(GroupError(ErrorCode::kUnknownMemberId, "no such static member"));
          continue;
        }
        member_id = it->second;
      } else if (g->pending_members.count(member_id)) {
        RemovePendingMember(*g, member_id, out);
        results.push_back(absl::OkStatus());
        continue;
      } else if (absl::Status s = ValidateCurrentMember(*g, member_id, lm.group_instance_id); !s.ok()) {
        results.push_back(s);
        continue;
      }
      spdlog::info("group {}: member {} leaves ({})", g->id, member_id, lm.reason.value_or("no reason given"));
      RemoveMemberAndUpdateGroup(*g, member_id, absl::StrCat("member ", member_id, " left"), out);
      results.push_back(absl::OkStatus());
    }
  }
  Wake();
  out.Run();
  return results;
}

}  // namespace chronik::ingest
