#include "chronik_ingest/group_coordinator.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_ingest/group_coordinator_internal.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace chronik::ingest::group_internal {

using protocol::ErrorCode;
using Json = nlohmann::json;

absl::Status GroupError(ErrorCode code, std::string_view message) {
  return KafkaError(absl::StatusCode::kFailedPrecondition, code, message);
}

std::string OffsetPrefix(std::string_view group) { return absl::StrCat(std::string(group), std::string(1, '\0')); }
std::string OffsetKey(std::string_view group, std::string_view topic, int32_t partition) {
  return absl::StrCat(OffsetPrefix(group), std::string(topic), std::string(1, '\0'), partition);
}

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

}  // namespace chronik::ingest::group_internal

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using Json = nlohmann::json;
using group_internal::kNever;
using group_internal::kGroupsNs;
using group_internal::kOffsetsNs;
using group_internal::GroupError;
using group_internal::OffsetPrefix;
using group_internal::GroupOfOffsetKey;
using group_internal::JoinError;
using group_internal::SyncError;

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

}  // namespace chronik::ingest
