#include "chronik_ingest/group_coordinator.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

constexpr int32_t kSession = 10000;
constexpr int32_t kRebalance = 30000;
constexpr int32_t kInitialDelay = 3000;

ErrorCode Err(const absl::Status& s) { return ToKafkaError(s); }

CommittedOffset At(const std::map<std::pair<std::string, int32_t>, CommittedOffset>& offsets, const std::string& topic,
                   int32_t partition) {
  auto it = offsets.find({topic, partition});
  return it == offsets.end() ? CommittedOffset{-2, -2, "absent"} : it->second;
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/groups-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    groups_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Opens (or reopens, as a restarted broker does) the store and a coordinator on it.
  void Open() {
    groups_.reset();
    store_.reset();
    auto store = storage::MetadataStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    GroupCoordinator::Options options;
    options.settings.initial_rebalance_delay_ms = kInitialDelay;
    options.settings.offsets_retention_ms = 60000;
    options.settings.offsets_retention_check_interval_ms = 1000;
    options.now_ms = [this] { return now_; };
    options.partition_exists = [](const std::string& topic, int32_t p) { return topic != "missing" && p < 8; };
    groups_ = std::make_unique<GroupCoordinator>(*store_, std::move(options));
    ASSERT_TRUE(groups_->Load().ok());
  }
  void Advance(int64_t ms) {
    now_ += ms;
    groups_->Tick(now_);
  }

  struct PendingJoin {
    std::shared_ptr<std::optional<JoinGroupResult>> result = std::make_shared<std::optional<JoinGroupResult>>();
    bool done() const { return result->has_value(); }
    const JoinGroupResult& operator*() const { return **result; }
    const JoinGroupResult* operator->() const { return &**result; }
  };
  PendingJoin Join(const std::string& member_id, std::optional<std::string> instance = std::nullopt,
                   std::string protocol = "range", std::string metadata = "m", int version = 5) {
    JoinGroupParams p;
    p.group_id = "g";
    p.member_id = member_id;
    p.group_instance_id = std::move(instance);
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    p.session_timeout_ms = kSession;
    p.rebalance_timeout_ms = kRebalance;
    p.protocol_type = "consumer";
    p.protocols = {{protocol, metadata}};
    p.require_known_member_id = version >= 4;
    p.supports_skip_assignment = version >= 9;
    PendingJoin pending;
    groups_->JoinGroup(std::move(p), [r = pending.result](JoinGroupResult res) { *r = std::move(res); });
    return pending;
  }
  // A dynamic member's full first join (MEMBER_ID_REQUIRED, then the real join), parked.
  // Advances the clock until `join` is answered (the initial delay extends while members arrive).
  void AdvanceUntil(const PendingJoin& join) {
    for (int i = 0; i < 20 && !join.done(); ++i) Advance(kInitialDelay);
    ASSERT_TRUE(join.done());
  }
  PendingJoin JoinNew() {
    PendingJoin first = Join("");
    EXPECT_TRUE(first.done());
    EXPECT_EQ(Err(first->status), ErrorCode::kMemberIdRequired);
    return Join(first->member_id);
  }

  struct PendingSync {
    std::shared_ptr<std::optional<SyncGroupResult>> result = std::make_shared<std::optional<SyncGroupResult>>();
    bool done() const { return result->has_value(); }
    const SyncGroupResult* operator->() const { return &**result; }
  };
  PendingSync Sync(const std::string& member_id, int32_t generation,
                   std::vector<std::pair<std::string, std::string>> assignments = {},
                   std::optional<std::string> instance = std::nullopt) {
    SyncGroupParams p;
    p.group_id = "g";
    p.generation_id = generation;
    p.member_id = member_id;
    p.group_instance_id = std::move(instance);
    p.assignments = std::move(assignments);
    PendingSync pending;
    groups_->SyncGroup(std::move(p), [r = pending.result](SyncGroupResult res) { *r = std::move(res); });
    return pending;
  }

  std::string dir_;
  int64_t now_ = 1'000'000;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<GroupCoordinator> groups_;
};

TEST_F(GroupCoordinatorTest, FirstMemberWaitsForTheInitialDelayThenLeadsGenerationOne) {
  PendingJoin a = JoinNew();
  EXPECT_FALSE(a.done());
  Advance(kInitialDelay - 1);
  EXPECT_FALSE(a.done());
  Advance(1);
  ASSERT_TRUE(a.done());
  EXPECT_TRUE(a->status.ok()) << a->status;
  EXPECT_EQ(a->generation_id, 1);
  EXPECT_EQ(a->leader, a->member_id);
  EXPECT_EQ(a->protocol_name, "range");
  ASSERT_EQ(a->members.size(), 1u);
  EXPECT_EQ(a->members[0].metadata, "m");

  PendingSync s = Sync(a->member_id, 1, {{a->member_id, "all partitions"}});
  ASSERT_TRUE(s.done());
  EXPECT_TRUE(s->status.ok());
  EXPECT_EQ(s->assignment, "all partitions");
  EXPECT_TRUE(groups_->Heartbeat("g", a->member_id, std::nullopt, 1).ok());
  EXPECT_EQ(Err(groups_->Heartbeat("g", a->member_id, std::nullopt, 0)), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(Err(groups_->Heartbeat("g", "nobody", std::nullopt, 1)), ErrorCode::kUnknownMemberId);
  auto d = groups_->DescribeGroup("g");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, GroupState::kStable);
  EXPECT_EQ(d->protocol_name, "range");
  ASSERT_EQ(d->members.size(), 1u);
  EXPECT_EQ(d->members[0].assignment, "all partitions");
}

TEST_F(GroupCoordinatorTest, SecondMemberTriggersRebalanceAndFollowerWaitsForLeaderSync) {
  PendingJoin a = JoinNew();
  Advance(kInitialDelay);
  const std::string a_id = a->member_id;
  ASSERT_TRUE(Sync(a_id, 1, {{a_id, "x"}}).done());

  PendingJoin b = JoinNew();
  EXPECT_FALSE(b.done());
  EXPECT_EQ(Err(groups_->Heartbeat("g", a_id, std::nullopt, 1)), ErrorCode::kRebalanceInProgress);
  PendingJoin a2 = Join(a_id);
  // Everyone rejoined: the barrier opens without waiting for the timeout.
  ASSERT_TRUE(a2.done());
  ASSERT_TRUE(b.done());
  EXPECT_EQ(a2->generation_id, 2);
  EXPECT_EQ(b->generation_id, 2);
  EXPECT_EQ(a2->leader, a_id);
  EXPECT_EQ(a2->members.size(), 2u);
  EXPECT_TRUE(b->members.empty());

  PendingSync sb = Sync(b->member_id, 2);
  EXPECT_FALSE(sb.done());
  PendingSync sa = Sync(a_id, 2, {{a_id, "p0"}, {b->member_id, "p1"}});
  ASSERT_TRUE(sa.done());
  ASSERT_TRUE(sb.done());
  EXPECT_EQ(sa->assignment, "p0");
  EXPECT_EQ(sb->assignment, "p1");
  EXPECT_EQ(Err(Sync(b->member_id, 1)->status), ErrorCode::kIllegalGeneration);
}

TEST_F(GroupCoordinatorTest, MemberMissingItsSessionTimeoutIsRemovedAndTheOthersRebalance) {
  PendingJoin a = JoinNew();
  PendingJoin b = JoinNew();
  AdvanceUntil(a);
  ASSERT_TRUE(a.done() && b.done());
  const std::string leader = a->leader;
  const std::string other = leader == a->member_id ? b->member_id : a->member_id;
  ASSERT_TRUE(Sync(leader, 1, {{leader, "0"}, {other, "1"}}).done());
  ASSERT_TRUE(Sync(other, 1).done());

  // Only `other` keeps heartbeating.
  for (int i = 0; i < 4; ++i) {
    Advance(kSession / 4);
    (void)groups_->Heartbeat("g", other, std::nullopt, 1);
  }
  Advance(1);
  EXPECT_EQ(Err(groups_->Heartbeat("g", leader, std::nullopt, 1)), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(Err(groups_->Heartbeat("g", other, std::nullopt, 1)), ErrorCode::kRebalanceInProgress);
  PendingJoin rejoin = Join(other);
  ASSERT_TRUE(rejoin.done());
  EXPECT_EQ(rejoin->generation_id, 2);
  EXPECT_EQ(rejoin->leader, other);
  EXPECT_EQ(rejoin->members.size(), 1u);
}

TEST_F(GroupCoordinatorTest, MemberThatDoesNotRejoinIsDroppedAtTheRebalanceTimeout) {
  PendingJoin a = JoinNew();
  PendingJoin b = JoinNew();
  AdvanceUntil(a);
  const std::string a_id = a->member_id, b_id = b->member_id;
  ASSERT_TRUE(Sync(a->leader, 1).done());
  ASSERT_TRUE(Sync(a->leader == a_id ? b_id : a_id, 1).done());
  ASSERT_TRUE(groups_->LeaveGroup("g", {{b_id, std::nullopt, "bye"}}).ok());
  PendingJoin a2 = Join(a_id);
  ASSERT_TRUE(a2.done());  // b left, a is everyone
  EXPECT_EQ(a2->members.size(), 1u);

  PendingJoin c = JoinNew();
  // a keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins.
  for (int t = 0; t < kRebalance; t += 2000) {
    Advance(2000);
    if (!c.done()) (void)groups_->Heartbeat("g", a_id, std::nullopt, 2);
  }
  ASSERT_TRUE(c.done());
  EXPECT_TRUE(c->status.ok()) << c->status;
  EXPECT_EQ(c->members.size(), 1u);
  EXPECT_EQ(c->leader, c->member_id);
}

TEST_F(GroupCoordinatorTest, StaticMemberRestartRejoinsWithoutRebalanceAndFencesItsOldId) {
  PendingJoin a = Join("", "instance-a");
  Advance(kInitialDelay);
  ASSERT_TRUE(a.done());
  const std::string old_id = a->member_id;
  ASSERT_TRUE(Sync(old_id, 1, {{old_id, "assigned"}}, "instance-a").done());

  PendingJoin again = Join("", "instance-a");  // the restarted process: no member id
  ASSERT_TRUE(again.done());
  EXPECT_TRUE(again->status.ok()) << again->status;
  EXPECT_EQ(again->generation_id, 1);  // no new generation
  EXPECT_NE(again->member_id, old_id);
  PendingSync s = Sync(again->member_id, 1, {}, "instance-a");
  ASSERT_TRUE(s.done());
  EXPECT_EQ(s->assignment, "assigned");
  EXPECT_EQ(Err(groups_->Heartbeat("g", old_id, "instance-a", 1)), ErrorCode::kFencedInstanceId);
  EXPECT_TRUE(groups_->Heartbeat("g", again->member_id, "instance-a", 1).ok());
  auto d = groups_->DescribeGroup("g");
  EXPECT_EQ(d->state, GroupState::kStable);
}

TEST_F(GroupCoordinatorTest, StaticLeaderOnJoinV9IsToldToSkipTheAssignment) {
  PendingJoin a = Join("", "instance-a", "range", "m", 9);
  Advance(kInitialDelay);
  ASSERT_TRUE(Sync(a->member_id, 1, {{a->member_id, "x"}}, "instance-a").done());
  PendingJoin again = Join("", "instance-a", "range", "m", 9);
  ASSERT_TRUE(again.done());
  EXPECT_TRUE(again->skip_assignment);
  EXPECT_EQ(again->leader, again->member_id);
  EXPECT_EQ(again->members.size(), 1u);
}

TEST_F(GroupCoordinatorTest, JoinErrors) {
  JoinGroupParams p;
  p.group_id = "g";
  p.session_timeout_ms = 100;
  p.protocol_type = "consumer";
  p.protocols = {{"range", ""}};
  std::optional<JoinGroupResult> r;
  groups_->JoinGroup(p, [&](JoinGroupResult res) { r = std::move(res); });
  EXPECT_EQ(Err(r->status), ErrorCode::kInvalidSessionTimeout);
  p.session_timeout_ms = kSession;
  p.group_id = "";
  groups_->JoinGroup(p, [&](JoinGroupResult res) { r = std::move(res); });
  EXPECT_EQ(Err(r->status), ErrorCode::kInvalidGroupId);
  p.group_id = "g";
  p.member_id = "made-up";
  groups_->JoinGroup(p, [&](JoinGroupResult res) { r = std::move(res); });
  EXPECT_EQ(Err(r->status), ErrorCode::kUnknownMemberId);
  p.member_id = "";
  p.protocols.clear();
  groups_->JoinGroup(p, [&](JoinGroupResult res) { r = std::move(res); });
  EXPECT_EQ(Err(r->status), ErrorCode::kInconsistentGroupProtocol);
  // None of these left a group behind.
  EXPECT_TRUE(groups_->ListGroups({}).empty());

  PendingJoin a = JoinNew();
  Advance(kInitialDelay);
  PendingJoin other = Join("", std::nullopt, "roundrobin");
  EXPECT_EQ(Err(other->status), ErrorCode::kInconsistentGroupProtocol);
}

TEST_F(GroupCoordinatorTest, SimpleConsumerCommitsAndFetchesWithoutJoining) {
  std::vector<absl::Status> r = groups_->CommitOffsets(
      "simple", "", std::nullopt, -1, -1,
      {{"t", 0, 42, 3, "meta", -1}, {"missing", 0, 1, -1, std::nullopt, -1}, {"t", 1, 7, -1, std::string(5000, 'x'), -1}});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok()) << r[0];
  EXPECT_EQ(Err(r[1]), ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(Err(r[2]), ErrorCode::kOffsetMetadataTooLarge);
  auto offsets = groups_->FetchOffsets("simple", std::vector<TopicPartitions>{{"t", {0, 1}}});
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(At(*offsets, "t", 0).offset, 42);
  EXPECT_EQ(At(*offsets, "t", 0).leader_epoch, 3);
  EXPECT_EQ(At(*offsets, "t", 0).metadata, "meta");
  EXPECT_EQ(At(*offsets, "t", 1).offset, -1);
  auto listed = groups_->ListGroups({"empty"});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].group_id, "simple");
  EXPECT_EQ(listed[0].protocol_type, "");
  // A commit that stores nothing does not create a group.
  EXPECT_EQ(Err(groups_->CommitOffsets("ghost", "", std::nullopt, -1, -1, {{"missing", 0, 1, -1, "", -1}})[0]),
            ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(groups_->ListGroups({}).size(), 1u);
  // A commit with a generation to a group that does not exist.
  EXPECT_EQ(Err(groups_->CommitOffsets("nope", "m", std::nullopt, 3, -1, {{"t", 0, 1, -1, "", -1}})[0]),
            ErrorCode::kIllegalGeneration);
}

TEST_F(GroupCoordinatorTest, MemberCommitsAreCheckedAgainstTheGeneration) {
  PendingJoin a = JoinNew();
  Advance(kInitialDelay);
  const std::string id = a->member_id;
  EXPECT_EQ(Err(groups_->CommitOffsets("g", id, std::nullopt, 1, -1, {{"t", 0, 5, -1, "", -1}})[0]),
            ErrorCode::kRebalanceInProgress);  // CompletingRebalance until the leader syncs
  ASSERT_TRUE(Sync(id, 1, {{id, "a"}}).done());
  EXPECT_TRUE(groups_->CommitOffsets("g", id, std::nullopt, 1, -1, {{"t", 0, 5, -1, "", -1}})[0].ok());
  EXPECT_EQ(Err(groups_->CommitOffsets("g", id, std::nullopt, 0, -1, {{"t", 0, 6, -1, "", -1}})[0]),
            ErrorCode::kIllegalGeneration);
  EXPECT_EQ(Err(groups_->CommitOffsets("g", "", std::nullopt, -1, -1, {{"t", 0, 6, -1, "", -1}})[0]),
            ErrorCode::kUnknownMemberId);
  EXPECT_EQ(At(*groups_->FetchOffsets("g", std::nullopt), "t", 0).offset, 5);
}

TEST_F(GroupCoordinatorTest, GroupsAndOffsetsSurviveARestart) {
  PendingJoin a = Join("", "instance-a");
  PendingJoin b = JoinNew();
  AdvanceUntil(a);
  const std::string a_id = a->member_id, b_id = b->member_id, leader = a->leader;
  ASSERT_TRUE(Sync(leader, 1, {{a_id, "pa"}, {b_id, "pb"}}, leader == a_id ? std::optional<std::string>("instance-a")
                                                                            : std::nullopt)
                  .done());
  ASSERT_TRUE(groups_->CommitOffsets("g", b_id, std::nullopt, 1, -1, {{"t", 2, 99, 1, "m", -1}})[0].ok());

  Open();  // restart

  auto d = groups_->DescribeGroup("g");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, GroupState::kStable);
  ASSERT_EQ(d->members.size(), 2u);
  EXPECT_EQ(At(*groups_->FetchOffsets("g", std::nullopt), "t", 2).offset, 99);
  EXPECT_TRUE(groups_->Heartbeat("g", b_id, std::nullopt, 1).ok());
  // The restarted static member gets its assignment back without a rebalance.
  PendingJoin again = Join("", "instance-a");
  ASSERT_TRUE(again.done());
  EXPECT_EQ(again->generation_id, 1);
  EXPECT_EQ(Sync(again->member_id, 1, {}, "instance-a")->assignment, "pa");
  // A member that does not come back is removed after its session timeout.
  for (int i = 0; i < 3; ++i) {
    Advance(kSession / 2);
    (void)groups_->Heartbeat("g", again->member_id, "instance-a", 1);
  }
  EXPECT_EQ(Err(groups_->Heartbeat("g", b_id, std::nullopt, 1)), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupCoordinatorTest, DeleteGroupsAndOffsets) {
  PendingJoin a = JoinNew();
  Advance(kInitialDelay);
  const std::string id = a->member_id;
  ASSERT_TRUE(Sync(id, 1, {{id, "x"}}).done());
  ASSERT_TRUE(groups_->CommitOffsets("g", id, std::nullopt, 1, -1, {{"t", 0, 5, -1, "", -1}, {"u", 0, 6, -1, "", -1}})[0].ok());
  EXPECT_EQ(Err(groups_->DeleteGroups({"g"})[0]), ErrorCode::kNonEmptyGroup);
  EXPECT_EQ(Err(groups_->DeleteGroups({"none"})[0]), ErrorCode::kGroupIdNotFound);
  // Subscription metadata did not parse as a consumer subscription: every topic counts as subscribed.
  auto del = groups_->DeleteOffsets("g", {{"u", {0}}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(Err((*del)[0]), ErrorCode::kGroupSubscribedToTopic);

  // The last member leaving completes the (empty) rebalance at once.
  ASSERT_TRUE(groups_->LeaveGroup("g", {{id, std::nullopt, std::nullopt}}).ok());
  EXPECT_EQ(groups_->DescribeGroup("g")->state, GroupState::kEmpty);
  del = groups_->DeleteOffsets("g", {{"u", {0}}});
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE((*del)[0].ok());
  EXPECT_EQ((*groups_->FetchOffsets("g", std::nullopt)).size(), 1u);
  EXPECT_TRUE(groups_->DeleteGroups({"g"})[0].ok());
  EXPECT_EQ(groups_->DescribeGroup("g")->state, GroupState::kDead);
  Open();
  EXPECT_TRUE(groups_->ListGroups({}).empty());
  EXPECT_TRUE(groups_->FetchOffsets("g", std::nullopt)->empty());
}

TEST_F(GroupCoordinatorTest, OffsetsOfAnEmptyGroupExpireAfterRetentionAndDeletedTopicsDropTheirs) {
  ASSERT_TRUE(groups_->CommitOffsets("s", "", std::nullopt, -1, -1, {{"t", 0, 5, -1, "", -1}, {"u", 0, 1, -1, "", -1}})[0].ok());
  groups_->OnTopicDeleted("u");
  EXPECT_EQ(groups_->FetchOffsets("s", std::nullopt)->size(), 1u);
  Advance(59000);
  groups_->ExpireOffsetsNow(now_);
  EXPECT_EQ(groups_->FetchOffsets("s", std::nullopt)->size(), 1u);
  Advance(2000);
  EXPECT_EQ(groups_->FetchOffsets("s", std::nullopt)->size(), 1u) << "expiry is the janitor's, not Tick's";
  groups_->ExpireOffsetsNow(now_);
  EXPECT_TRUE(groups_->FetchOffsets("s", std::nullopt)->empty());
  EXPECT_TRUE(groups_->ListGroups({}).empty());
}

TEST_F(GroupCoordinatorTest, JoinAfterEveryoneLeftDuringTheBarrierIsAccepted) {
  PendingJoin first = Join("");
  const std::string a_id = first->member_id;
  PendingJoin a = Join(a_id);  // parked in the initial delay
  ASSERT_TRUE(groups_->LeaveGroup("g", {{a_id, std::nullopt, std::nullopt}}).ok());
  ASSERT_TRUE(a.done());
  EXPECT_EQ(Err(a->status), ErrorCode::kUnknownMemberId);
  // Still rebalancing, with no members: a newcomer with other protocols is welcome.
  PendingJoin second = Join("", std::nullopt, "roundrobin");
  EXPECT_EQ(Err(second->status), ErrorCode::kMemberIdRequired);
  PendingJoin b = Join(second->member_id, std::nullopt, "roundrobin");
  AdvanceUntil(b);
  EXPECT_TRUE(b->status.ok()) << b->status;
  EXPECT_EQ(b->protocol_name, "roundrobin");
}

TEST_F(GroupCoordinatorTest, ShutdownAnswersParkedRequests) {
  PendingJoin a = JoinNew();
  EXPECT_FALSE(a.done());
  groups_->Shutdown();
  ASSERT_TRUE(a.done());
  EXPECT_EQ(Err(a->status), ErrorCode::kNotCoordinator);
}

// Each group has its own lock, held across its own fsyncs only: while one group's commit waits for
// the disk, another group is served. (With one coordinator-wide lock the join below never returns
// and the test times out.)
TEST(GroupCoordinatorLockingTest, AGroupWaitingForItsFsyncDoesNotHoldUpOtherGroups) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/groups-lock-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::mutex mu;
  std::condition_variable cv;
  bool syncing = false;
  bool release = false;
  std::atomic<bool> armed{false};
  storage::MetadataStore::Options store_options;
  store_options.inject_io_error_for_testing = [&](storage::MetadataIoOp op) {
    if (op == storage::MetadataIoOp::kLogSync && armed.exchange(false)) {
      std::unique_lock<std::mutex> lock(mu);
      syncing = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
    return 0;
  };
  auto store = storage::MetadataStore::Open(dir, store_options);
  ASSERT_TRUE(store.ok()) << store.status();
  {
    GroupCoordinator groups(**store, GroupCoordinator::Options{});
    ASSERT_TRUE(groups.Load().ok());
    armed = true;
    std::thread committer([&] {
      for (const absl::Status& s : groups.CommitOffsets("a", "", std::nullopt, -1, -1, {{"t", 0, 5, -1, "", -1}})) {
        EXPECT_TRUE(s.ok()) << s;
      }
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return syncing; });
    }
    // Group "a" is inside its fsync now. Group "b" is served meanwhile.
    JoinGroupParams p;
    p.group_id = "b";
    p.client_id = "client";
    p.session_timeout_ms = 10000;
    p.rebalance_timeout_ms = 10000;
    p.protocol_type = "consumer";
    p.protocols = {{"range", "m"}};
    p.require_known_member_id = true;
    std::optional<JoinGroupResult> joined;
    groups.JoinGroup(std::move(p), [&](JoinGroupResult r) { joined = std::move(r); });
    ASSERT_TRUE(joined.has_value());
    EXPECT_EQ(Err(joined->status), ErrorCode::kMemberIdRequired);
    EXPECT_TRUE(groups.DescribeGroup("b").ok());
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
    committer.join();
    auto offsets = groups.FetchOffsets("a", std::nullopt);
    ASSERT_TRUE(offsets.ok());
    EXPECT_EQ(offsets->at({"t", 0}).offset, 5);
    groups.Shutdown();
  }
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chronik::ingest
