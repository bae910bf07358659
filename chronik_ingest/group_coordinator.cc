#include "chronik_ingest/group_coordinator.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using Json = nlohmann::json;

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// How long a member added to a group may wait for its first join to complete before it counts as
// failed (Kafka's NewMemberJoinTimeoutMs).
constexpr int64_t kNewMemberJoinTimeoutMs = 5 * 60 * 1000;
constexpr char kGroupsNs[] = "groups";
constexpr char kOffsetsNs[] = "offsets";
constexpr char kConsumerProtocolType[] = "consumer";

absl::Status GroupError(ErrorCode code, std::string_view message) {
  return KafkaError(absl::StatusCode::kFailedPrecondition, code, message);
}

// Offsets are keyed group \0 topic \0 partition, so that one group's offsets (and one topic's
// within it) are a key prefix; neither group ids nor topic names can hold a NUL byte that matters
// here, since a topic name is [a-zA-Z0-9._-].
std::string OffsetPrefix(std::string_view group) { return absl::StrCat(std::string(group), std::string(1, '\0')); }
std::string OffsetKey(std::string_view group, std::string_view topic, int32_t partition) {
  return absl::StrCat(OffsetPrefix(group), std::string(topic), std::string(1, '\0'), partition);
}

struct StoredOffset {
  std::string topic;
  int32_t partition = 0;
  CommittedOffset value;
  int64_t commit_ts = 0;
  int64_t expire_ts = -1;
};

// Parses an offsets-namespace entry whose key starts with `prefix` (a group's).
std::optional<StoredOffset> ParseOffset(std::string_view prefix, std::string_view key, const std::string& value) {
  std::string_view rest = key.substr(prefix.size());
  const size_t nul = rest.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  StoredOffset o;
  o.topic = std::string(rest.substr(0, nul));
  if (!absl::SimpleAtoi(absl::string_view(rest.data() + nul + 1, rest.size() - nul - 1), &o.partition)) {
    return std::nullopt;
  }
  Json j = Json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  o.value.offset = j.value("o", int64_t{-1});
  o.value.leader_epoch = j.value("e", int32_t{-1});
  if (!absl::Base64Unescape(j.value("m", std::string()), &o.value.metadata)) return std::nullopt;
  o.commit_ts = j.value("t", int64_t{0});
  o.expire_ts = j.value("x", int64_t{-1});
  return o;
}

std::string SerializeOffset(const CommittedOffset& v, int64_t commit_ts, int64_t expire_ts) {
  Json j{{"o", v.offset}, {"e", v.leader_epoch}, {"m", absl::Base64Escape(v.metadata)}, {"t", commit_ts}};
  if (expire_ts >= 0) j["x"] = expire_ts;
  return j.dump();
}

std::string GroupOfOffsetKey(std::string_view key) { return std::string(key.substr(0, key.find('\0'))); }

// The topics of a ConsumerProtocolSubscription (int16 version, then an array of int16-length
// strings; later fields are not needed). nullopt if it does not parse.
std::optional<std::set<std::string>> SubscribedTopics(std::string_view data) {
  auto u16 = [&](size_t at) -> uint32_t {
    return (uint32_t{static_cast<uint8_t>(data[at])} << 8) | static_cast<uint8_t>(data[at + 1]);
  };
  if (data.size() < 6) return std::nullopt;
  const int16_t version = static_cast<int16_t>(u16(0));
  if (version < 0) return std::nullopt;
  const int32_t count = static_cast<int32_t>((u16(2) << 16) | u16(4));
  if (count < 0) return std::nullopt;
  size_t at = 6;
  std::set<std::string> topics;
  for (int32_t i = 0; i < count; ++i) {
    if (at + 2 > data.size()) return std::nullopt;
    const size_t len = u16(at);
    at += 2;
    if (at + len > data.size()) return std::nullopt;
    topics.emplace(data.substr(at, len));
    at += len;
  }
  return topics;
}

std::string NewUuid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> lock(mu);
    hi = rng();
    lo = rng();
  }
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                        // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);    // IETF variant
  const std::string h = absl::StrCat(absl::Hex(hi, absl::kZeroPad16), absl::Hex(lo, absl::kZeroPad16));
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-", h.substr(16, 4), "-",
                      h.substr(20));
}


}  // namespace

std::string_view GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

GroupSettings GroupSettings::FromBroker(const BrokerConfigValues& configs) {
  GroupSettings s;
  s.min_session_timeout_ms = static_cast<int32_t>(configs.EffectiveInt("group.min.session.timeout.ms", s.min_session_timeout_ms));
  s.max_session_timeout_ms = static_cast<int32_t>(configs.EffectiveInt("group.max.session.timeout.ms", s.max_session_timeout_ms));
  s.initial_rebalance_delay_ms =
      static_cast<int32_t>(configs.EffectiveInt("group.initial.rebalance.delay.ms", s.initial_rebalance_delay_ms));
  s.max_size = static_cast<int32_t>(configs.EffectiveInt("group.max.size", s.max_size));
  s.offsets_retention_ms = configs.EffectiveInt("offsets.retention.minutes", 10080) * 60 * 1000;
  s.offsets_retention_check_interval_ms =
      configs.EffectiveInt("offsets.retention.check.interval.ms", s.offsets_retention_check_interval_ms);
  s.offset_metadata_max_bytes =
      static_cast<int32_t>(configs.EffectiveInt("offset.metadata.max.bytes", s.offset_metadata_max_bytes));
  return s;
}

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
  int64_t heartbeat_deadline = kNever;

  const std::string* MetadataFor(const std::string& protocol) const {
    for (const ProtocolMetadata& p : protocols) {
      if (p.name == protocol) return &p.metadata;
    }
    return nullptr;
  }
  bool SupportsProtocol(const std::string& protocol) const { return MetadataFor(protocol) != nullptr; }
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
  int64_t sync_deadline = kNever;
  // The join barrier (PreparingRebalance).
  int64_t join_deadline = kNever;
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
    if (protocol_type != kConsumerProtocolType || !protocol_name || members.empty()) return std::nullopt;
    std::set<std::string> all;
    for (const auto& [id, m] : members) {
      const std::string* data = m.MetadataFor(*protocol_name);
      if (data == nullptr) return std::nullopt;
      std::optional<std::set<std::string>> topics = SubscribedTopics(*data);
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

namespace {

JoinGroupResult JoinError(std::string member_id, absl::Status status) {
  JoinGroupResult r;
  r.status = std::move(status);
  r.member_id = std::move(member_id);
  return r;
}

SyncGroupResult SyncError(absl::Status status) {
  SyncGroupResult r;
  r.status = std::move(status);
  return r;
}

}  // namespace

GroupCoordinator::GroupCoordinator(storage::MetadataStore& store, Options options)
    : store_(store), options_(std::move(options)) {
  if (!options_.now_ms) {
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (!options_.partition_exists) options_.partition_exists = [](const std::string&, int32_t) { return true; };
}

GroupCoordinator::~GroupCoordinator() { Shutdown(); }

// ---------------------------------------------------------------------------------------------
// Persistence.

absl::Status GroupCoordinator::StoreGroup(Group& g) {
  Json members = Json::array();
  for (const auto& [id, m] : g.members) {
    Json protocols = Json::array();
    for (const ProtocolMetadata& p : m.protocols) protocols.push_back({p.name, absl::Base64Escape(p.metadata)});
    members.push_back({{"id", m.id},
                       {"instance", m.instance_id ? Json(*m.instance_id) : Json(nullptr)},
                       {"client_id", m.client_id},
                       {"client_host", m.client_host},
                       {"session_timeout_ms", m.session_timeout_ms},
                       {"rebalance_timeout_ms", m.rebalance_timeout_ms},
                       {"protocols", std::move(protocols)},
                       {"assignment", absl::Base64Escape(m.assignment)}});
  }
  Json j{{"protocol_type", g.protocol_type ? Json(*g.protocol_type) : Json(nullptr)},
         {"protocol", g.protocol_name ? Json(*g.protocol_name) : Json(nullptr)},
         {"generation", g.generation},
         {"leader", g.leader ? Json(*g.leader) : Json(nullptr)},
         {"state_ts", g.state_ts},
         {"members", std::move(members)}};
  absl::StatusOr<int64_t> rev =
      store_.Apply({storage::MetadataOp::Put(kGroupsNs, g.id, j.dump(-1, ' ', false, Json::error_handler_t::replace))});
  if (!rev.ok()) {
    spdlog::warn("group {}: storing its metadata failed: {}", g.id, std::string(rev.status().message()));
    return WithKafkaError(rev.status(), ErrorCode::kCoordinatorNotAvailable);
  }
  g.stored = true;
  return absl::OkStatus();
}

absl::Status GroupCoordinator::DeleteGroupAndOffsets(const std::string& group_id) {
  std::vector<storage::MetadataOp> ops;
  if (store_.Get(kGroupsNs, group_id)) ops.push_back(storage::MetadataOp::Delete(kGroupsNs, group_id));
  for (const auto& [key, value] : store_.Scan(kOffsetsNs, OffsetPrefix(group_id))) {
    ops.push_back(storage::MetadataOp::Delete(kOffsetsNs, key));
  }
  if (ops.empty()) return absl::OkStatus();
  absl::StatusOr<int64_t> rev = store_.Apply(std::move(ops));
  if (!rev.ok()) return WithKafkaError(rev.status(), ErrorCode::kCoordinatorNotAvailable);
  return absl::OkStatus();
}

absl::Status GroupCoordinator::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = Now();
  int loaded_members = 0;
  for (const auto& [id, value] : store_.Scan(kGroupsNs)) {
    Json j = Json::parse(value, nullptr, false);
    if (!j.is_object()) return absl::DataLossError(absl::StrCat("group ", id, ": its stored metadata does not parse"));
    auto g = std::make_shared<Group>();
    g->id = id;
    g->stored = true;
    try {
      if (!j["protocol_type"].is_null()) g->protocol_type = j["protocol_type"].get<std::string>();
      if (!j["protocol"].is_null()) g->protocol_name = j["protocol"].get<std::string>();
      if (!j["leader"].is_null()) g->leader = j["leader"].get<std::string>();
      g->generation = j["generation"].get<int32_t>();
      g->state_ts = j["state_ts"].get<int64_t>();
      for (const Json& jm : j["members"]) {
        Member m;
        m.id = jm["id"].get<std::string>();
        if (!jm["instance"].is_null()) m.instance_id = jm["instance"].get<std::string>();
        m.client_id = jm["client_id"].get<std::string>();
        m.client_host = jm["client_host"].get<std::string>();
        m.session_timeout_ms = jm["session_timeout_ms"].get<int32_t>();
        m.rebalance_timeout_ms = jm["rebalance_timeout_ms"].get<int32_t>();
        m.protocol_type = g->protocol_type.value_or("");
        for (const Json& p : jm["protocols"]) {
          ProtocolMetadata pm;
          pm.name = p[0].get<std::string>();
          if (!absl::Base64Unescape(p[1].get<std::string>(), &pm.metadata)) throw std::runtime_error("metadata");
          m.protocols.push_back(std::move(pm));
        }
        if (!absl::Base64Unescape(jm["assignment"].get<std::string>(), &m.assignment)) {
          throw std::runtime_error("assignment");
        }
        m.heartbeat_deadline = now + m.session_timeout_ms;
        if (m.instance_id) g->static_members[*m.instance_id] = m.id;
        g->members.emplace(m.id, std::move(m));
        ++loaded_members;
      }
    } catch (const std::exception& e) {
      return absl::DataLossError(absl::StrCat("group ", id, ": its stored metadata is invalid: ", e.what()));
    }
    g->state = g->members.empty() ? GroupState::kEmpty : GroupState::kStable;
    if (g->leader && !g->Has(*g->leader)) g->leader.reset();
    g->subscribed_topics = g->ComputeSubscribedTopics();
    groups_.emplace(id, std::move(g));
  }
  // Groups that only commit offsets (no membership) exist through their offsets.
  std::string last;
  for (const auto& [key, value] : store_.Scan(kOffsetsNs)) {
    std::string group = GroupOfOffsetKey(key);
    if (group == last) continue;
    last = group;
    if (groups_.count(group)) continue;
    auto g = std::make_shared<Group>();
    g->id = group;
    g->state_ts = now;
    groups_.emplace(group, std::move(g));
  }
  spdlog::info("loaded {} consumer groups ({} members)", groups_.size(), loaded_members);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The deadline thread.

void GroupCoordinator::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wake_seq_;
  }
  wake_.notify_all();
}

void GroupCoordinator::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      const uint64_t seen = wake_seq_;  // changes from here on are either seen by Tick or wake the wait
      lock.unlock();
      const int64_t now = Now();
      const int64_t next = Tick(now);
      lock.lock();
      if (stopping_) break;
      // Every change that can move a deadline earlier bumps wake_seq_ (under mu_), so a change made
      // while Tick ran is seen here rather than lost.
      const int64_t wait_ms = std::clamp<int64_t>(next - now, 1, 60000);
      wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stopping_ || wake_seq_ != seen; });
    }
  });
}

void GroupCoordinator::Shutdown() {
  Outbox out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  // From here on no request parks (each checks stopping_ under its group's lock).
  for (const std::shared_ptr<Group>& g : AllGroups()) {
    std::lock_guard<std::mutex> lock(g->mu);
    for (auto& [mid, m] : g->members) {
      out.Join(m.awaiting_join, JoinError(mid, GroupError(ErrorCode::kNotCoordinator, "the broker is shutting down")));
      out.Sync(m.awaiting_sync, SyncError(GroupError(ErrorCode::kNotCoordinator, "the broker is shutting down")));
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  out.Run();
}

int64_t GroupCoordinator::Tick(int64_t now) {
  Outbox out;
  int64_t next = kNever;
  if (stopping_) return kNever;
  for (const std::shared_ptr<Group>& gp : AllGroups()) {
    std::lock_guard<std::mutex> lock(gp->mu);
    if (gp->erased) continue;
    {
      Group& g = *gp;
      if (g.state == GroupState::kPreparingRebalance && now >= g.join_deadline) {
        if (g.initial_delay && g.new_member_added && g.initial_remaining_ms > 0) {
          // New members keep arriving: wait once more, up to the rebalance timeout in all.
          g.new_member_added = false;
          const int64_t delay = std::min<int64_t>(options_.settings.initial_rebalance_delay_ms, g.initial_remaining_ms);
          g.initial_remaining_ms = std::max<int64_t>(g.initial_remaining_ms - delay, 0);
          g.join_deadline = now + delay;
        } else {
          CompleteJoin(g, out);
        }
      }
      if ((g.state == GroupState::kCompletingRebalance || g.state == GroupState::kStable) && !g.pending_sync.empty() &&
          now >= g.sync_deadline) {
        const std::set<std::string> missing = g.pending_sync;
        for (const std::string& mid : missing) RemoveMember(g, mid, out);
        spdlog::info("group {}: removing members that did not send SyncGroup in time: {}", g.id, missing.size());
        PrepareRebalance(g, "pending sync expired", out);
      }
      std::vector<std::string> expired;
      for (const auto& [mid, m] : g.members) {
        if (now >= m.heartbeat_deadline && !m.KeptAlive()) expired.push_back(mid);
      }
      for (const std::string& mid : expired) {
        // Removing one member can complete a join and so renew the others' deadlines.
        auto it = g.members.find(mid);
        if (it == g.members.end() || now < it->second.heartbeat_deadline || it->second.KeptAlive()) continue;
        spdlog::info("group {}: member {} failed (session timeout), removing it", g.id, mid);
        RemoveMemberAndUpdateGroup(g, mid, "session timeout", out);
      }
      std::vector<std::string> expired_pending;
      for (const auto& [mid, deadline] : g.pending_members) {
        if (now >= deadline) expired_pending.push_back(mid);
      }
      for (const std::string& mid : expired_pending) RemovePendingMember(g, mid, out);

      if (g.state == GroupState::kPreparingRebalance) next = std::min(next, g.join_deadline);
      if (!g.pending_sync.empty()) next = std::min(next, g.sync_deadline);
      for (const auto& [mid, m] : g.members) {
        if (m.heartbeat_deadline > now) next = std::min(next, m.heartbeat_deadline);
      }
      for (const auto& [mid, deadline] : g.pending_members) next = std::min(next, deadline);
    }
  }
  out.Run();
  return next;
}

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
  m.protocols = p.protocols;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  m.session_timeout_ms = p.session_timeout_ms;
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
  m.session_timeout_ms = p.session_timeout_ms;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  m.protocol_type = p.protocol_type;
  m.protocols = std::move(p.protocols);
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
  m.protocols = std::move(p.protocols);
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  m.session_timeout_ms = p.session_timeout_ms;
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
