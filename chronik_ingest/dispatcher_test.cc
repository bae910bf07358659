#include "chronik_ingest/dispatcher.h"

#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "chronik_ingest/api_versions.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/group_handlers.h"
#include "chronik_protocol/messages/find_coordinator.h"
#include "chronik_protocol/messages/join_group.h"
#include "chronik_protocol/messages/leave_group.h"
#include "chronik_protocol/messages/list_groups.h"
#include "chronik_protocol/messages/offset_commit.h"
#include "chronik_protocol/messages/offset_fetch.h"
#include "chronik_protocol/messages/sasl_handshake.h"
#include "chronik_protocol/messages/sync_group.h"
#include "chronik_ingest/metadata.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/messages/api_versions.h"
#include "chronik_protocol/messages/describe_cluster.h"
#include "chronik_protocol/messages/describe_log_dirs.h"
#include "chronik_protocol/messages/heartbeat.h"
#include "chronik_protocol/messages/offset_for_leader_epoch.h"
#include "chronik_ingest/partition_admin.h"
#include "chronik_ingest/admin_configs.h"
#include "chronik_protocol/messages/describe_configs.h"
#include "chronik_protocol/messages/incremental_alter_configs.h"
#include "chronik_protocol/messages/metadata.h"
#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

std::shared_ptr<Session> TestSession() {
  auto s = std::make_shared<Session>();
  s->peer = "127.0.0.1:1";
  s->host = "127.0.0.1";
  return s;
}

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;
using protocol::MetadataRequest;
using protocol::MetadataResponse;
using protocol::Reader;
using protocol::Writer;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : dispatcher_(table_) {
    const char* base = std::getenv("TEST_TMPDIR");
    dir_ = std::string(base ? base : "/tmp") + "/dispatch-XXXXXX";
    if (::mkdtemp(dir_.data()) == nullptr) std::abort();
    store_ = *storage::MetadataStore::Open(dir_ + "/__metadata");
    logs_ = *storage::LogManager::Open(dir_, storage::LogManager::Options{});
    // Unknown topics stay unknown here; auto-creation has its own test.
    if (!configs_.SetStatic("auto.create.topics.enable", "false").ok()) std::abort();
    registry_ = std::make_unique<TopicRegistry>(*store_, *logs_, configs_);
    if (!registry_->Load().ok()) std::abort();
    broker_.identity.advertised["PLAINTEXT"] = {"broker.example", 19092};
    broker_.identity.cluster_id = "cluster-1";
    broker_.configs = &configs_;
    broker_.topics = registry_.get();
    broker_.log_dir = dir_;
    RegisterApiVersions(table_);
    RegisterMetadata(table_, broker_);
    RegisterPartitionAdmin(table_, broker_);
    RegisterConfigAdmin(table_, broker_);
    GroupCoordinator::Options group_options;
    group_options.settings.initial_rebalance_delay_ms = 0;
    groups_ = std::make_unique<GroupCoordinator>(*store_, std::move(group_options));
    if (!groups_->Load().ok()) std::abort();
    ids_ = std::make_unique<ProducerIdManager>(*store_);
    TxnCoordinator::Options txn_options;
    txn_options.now_ms = [] { return int64_t{1'700'000'000'000}; };
    txn_options.log = [this](const std::string& topic, int32_t partition) { return registry_->Log(topic, partition); };
    txns_ = std::make_unique<TxnCoordinator>(*store_, *ids_, *groups_, std::move(txn_options));
    RegisterGroupApis(table_, broker_, *groups_, *txns_);
  }
  ~DispatcherTest() override {
    txns_.reset();
    ids_.reset();
    groups_.reset();
    registry_.reset();
    (void)logs_->Close();
    logs_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Builds a request frame (without the size prefix) for `message` in `version`.
  template <typename Message>
  std::string Frame(const Message& message, int16_t version, int32_t correlation_id = 7) {
    protocol::RequestHeader h;
    h.api_key = Message::kApiKey;
    h.api_version = version;
    h.correlation_id = correlation_id;
    h.client_id = "test";
    std::string frame;
    Writer w(&frame);
    const protocol::ApiDescriptor* api = protocol::FindApi(Message::kApiKey);
    h.Encode(w, protocol::RequestHeaderVersion(*api, version));
    message.Encode(w, version);
    return frame;
  }

  // Splits a response frame into the correlation id and the decoded body.
  template <typename Response>
  Response Parse(const std::string& frame, int16_t version, int16_t header_version, int32_t* correlation_id) {
    EXPECT_GE(frame.size(), 4u);
    Reader r(frame);
    EXPECT_EQ(static_cast<size_t>(r.ReadInt32()), frame.size() - 4);
    protocol::ResponseHeader h;
    EXPECT_TRUE(h.Decode(r, header_version).ok());
    *correlation_id = h.correlation_id;
    Response response;
    EXPECT_TRUE(response.Decode(r, version).ok());
    EXPECT_EQ(r.remaining(), 0u);
    return response;
  }

  std::string dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<storage::LogManager> logs_;
  BrokerConfigValues configs_;
  std::unique_ptr<TopicRegistry> registry_;
  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<ProducerIdManager> ids_;
  std::unique_ptr<TxnCoordinator> txns_;
  HandlerTable table_;
  BrokerContext broker_;
  Dispatcher dispatcher_;
  std::shared_ptr<Session> conn_ptr_ = TestSession();
  Session& conn_ = *conn_ptr_;
};

TEST_F(DispatcherTest, ApiVersionsListsExactlyTheHandlerTable) {
  for (int16_t v = 0; v <= ApiVersionsRequest::kMaxVersion; ++v) {
    ApiVersionsRequest req;
    req.client_software_name = "chronik-test";
    req.client_software_version = "1.0";
    auto out = dispatcher_.Handle(Frame(req, v), conn_);
    ASSERT_TRUE(out.ok()) << out.status();
    int32_t corr = 0;
    // ApiVersions answers with response header v0 in every version.
    auto resp = Parse<ApiVersionsResponse>(**out, v, 0, &corr);
    EXPECT_EQ(corr, 7);
    EXPECT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.api_keys.size(), table_.Supported().size());
    for (size_t i = 0; i < resp.api_keys.size(); ++i) {
      EXPECT_EQ(resp.api_keys[i].api_key, table_.Supported()[i].api_key);
      EXPECT_EQ(resp.api_keys[i].min_version, 0);
      EXPECT_EQ(resp.api_keys[i].max_version, table_.Supported()[i].max_version);
    }
  }
}

TEST_F(DispatcherTest, ApiVersionsFromTheFutureGetsV0WithUnsupportedVersion) {
  protocol::RequestHeader h;
  h.api_key = 18;
  h.api_version = 77;
  h.correlation_id = 99;
  h.client_id = "future";
  std::string frame;
  Writer w(&frame);
  h.Encode(w, 2);
  w.WriteRaw(std::string_view("\x05" "abcd\x00\x00", 7));
  auto out = dispatcher_.Handle(frame, conn_);
  ASSERT_TRUE(out.ok());
  int32_t corr = 0;
  auto resp = Parse<ApiVersionsResponse>(**out, 0, 0, &corr);
  EXPECT_EQ(corr, 99);
  EXPECT_EQ(resp.error_code, 35);
  EXPECT_EQ(resp.api_keys.size(), table_.Supported().size());
}

TEST_F(DispatcherTest, ApiVersionsV3RejectsInvalidSoftwareName) {
  ApiVersionsRequest req;
  req.client_software_name = "-bad name";
  req.client_software_version = "1";
  auto out = dispatcher_.Handle(Frame(req, 3), conn_);
  ASSERT_TRUE(out.ok());
  int32_t corr = 0;
  EXPECT_EQ(Parse<ApiVersionsResponse>(**out, 3, 0, &corr).error_code, 42);
}

TEST_F(DispatcherTest, MetadataDescribesTheBrokerInEveryVersion) {
  for (int16_t v = 0; v <= MetadataRequest::kMaxVersion; ++v) {
    MetadataRequest req;
    req.topics.emplace();
    if (v >= 1) {
      auto& t = req.topics->emplace_back();
      t.name = "missing";
    }
    auto out = dispatcher_.Handle(Frame(req, v, 1000 + v), conn_);
    ASSERT_TRUE(out.ok()) << out.status();
    int32_t corr = 0;
    auto resp = Parse<MetadataResponse>(**out, v, v >= 9 ? 1 : 0, &corr);
    EXPECT_EQ(corr, 1000 + v);
    ASSERT_EQ(resp.brokers.size(), 1u);
    EXPECT_EQ(resp.brokers[0].host, "broker.example");
    EXPECT_EQ(resp.brokers[0].port, 19092);
    if (v >= 2) {
      EXPECT_EQ(resp.cluster_id, "cluster-1");
    }
    if (v >= 1) {
      EXPECT_EQ(resp.controller_id, 1);
      ASSERT_EQ(resp.topics.size(), 1u);
      EXPECT_EQ(resp.topics[0].error_code, 3);
      EXPECT_EQ(resp.topics[0].name, "missing");
    } else {
      EXPECT_TRUE(resp.topics.empty());
    }
  }
}

TEST_F(DispatcherTest, MetadataListsTopicsWithThisBrokerAsLeader) {
  ASSERT_TRUE(registry_->Create("events", 3, {}, false).ok());
  for (int16_t v : {0, 1, 4, 9, 12}) {
    MetadataRequest req;
    if (v >= 1) req.topics.reset();  // all topics
    auto out = dispatcher_.Handle(Frame(req, v), conn_);
    ASSERT_TRUE(out.ok());
    int32_t corr = 0;
    auto resp = Parse<MetadataResponse>(**out, v, v >= 9 ? 1 : 0, &corr);
    ASSERT_EQ(resp.topics.size(), 1u) << "v" << v;
    const auto& t = resp.topics[0];
    EXPECT_EQ(t.name, "events");
    EXPECT_EQ(t.error_code, 0);
    ASSERT_EQ(t.partitions.size(), 3u);
    for (int p = 0; p < 3; ++p) {
      EXPECT_EQ(t.partitions[p].partition_index, p);
      EXPECT_EQ(t.partitions[p].leader_id, 1);
      EXPECT_EQ(t.partitions[p].replica_nodes, std::vector<int32_t>{1});
      EXPECT_EQ(t.partitions[p].isr_nodes, std::vector<int32_t>{1});
    }
    if (v >= 10) {
      EXPECT_EQ(t.topic_id, registry_->Find("events")->id);
    }
  }
}

TEST_F(DispatcherTest, IncrementalAlterConfigsThenDescribe) {
  ASSERT_TRUE(registry_->Create("inc", 1, {}, false).ok());
  int32_t corr = 0;
  protocol::IncrementalAlterConfigsRequest alter;
  auto& res = alter.resources.emplace_back();
  res.resource_type = 2;
  res.resource_name = "inc";
  auto add = [&](const char* name, int8_t op, const char* value) {
    auto& c = res.configs.emplace_back();
    c.name = name;
    c.config_operation = op;
    c.value = value;
  };
  add("retention.ms", 0, "5000");     // SET
  add("cleanup.policy", 2, "compact");  // APPEND
  auto out = dispatcher_.Handle(Frame(alter, 1), conn_);
  ASSERT_TRUE(out.ok());
  auto altered = Parse<protocol::IncrementalAlterConfigsResponse>(**out, 1, 1, &corr);
  ASSERT_EQ(altered.responses.size(), 1u);
  EXPECT_EQ(altered.responses[0].error_code, 0) << altered.responses[0].error_message.value_or("");
  EXPECT_EQ(registry_->Find("inc")->configs.Get<int64_t>("retention.ms"), 5000);
  auto policy = registry_->Find("inc")->configs.Get<std::vector<std::string>>("cleanup.policy");
  EXPECT_EQ(policy, (std::vector<std::string>{"delete", "compact"}));

  // A bad value is refused with INVALID_CONFIG and changes nothing.
  res.configs.clear();
  add("retention.ms", 0, "later");
  out = dispatcher_.Handle(Frame(alter, 1), conn_);
  EXPECT_EQ(Parse<protocol::IncrementalAlterConfigsResponse>(**out, 1, 1, &corr).responses[0].error_code, 40);
  EXPECT_EQ(registry_->Find("inc")->configs.Get<int64_t>("retention.ms"), 5000);

  protocol::DescribeConfigsRequest describe;
  auto& d = describe.resources.emplace_back();
  d.resource_type = 2;
  d.resource_name = "inc";
  d.configuration_keys = std::vector<std::string>{"retention.ms"};
  describe.include_synonyms = true;
  out = dispatcher_.Handle(Frame(describe, 4), conn_);
  auto described = Parse<protocol::DescribeConfigsResponse>(**out, 4, 1, &corr);
  ASSERT_EQ(described.results[0].configs.size(), 1u);
  const auto& c = described.results[0].configs[0];
  EXPECT_EQ(c.value, "5000");
  EXPECT_EQ(c.config_source, 1);  // DYNAMIC_TOPIC_CONFIG
  EXPECT_EQ(c.config_type, 5);    // LONG
  ASSERT_FALSE(c.synonyms.empty());
  EXPECT_EQ(c.synonyms[0].name, "retention.ms");
}

TEST_F(DispatcherTest, PartitionAdminAnswers) {
  ASSERT_TRUE(registry_->Create("logs", 2, {}, false).ok());
  int32_t corr = 0;

  protocol::DescribeClusterRequest dc;
  auto out = dispatcher_.Handle(Frame(dc, 1), conn_);
  ASSERT_TRUE(out.ok());
  auto cluster = Parse<protocol::DescribeClusterResponse>(**out, 1, 1, &corr);
  EXPECT_EQ(cluster.cluster_id, "cluster-1");
  ASSERT_EQ(cluster.brokers.size(), 1u);
  EXPECT_EQ(cluster.brokers[0].port, 19092);
  dc.endpoint_type = 2;
  out = dispatcher_.Handle(Frame(dc, 1), conn_);
  EXPECT_EQ(Parse<protocol::DescribeClusterResponse>(**out, 1, 1, &corr).error_code, 115);

  protocol::OffsetForLeaderEpochRequest ofle;
  auto& t = ofle.topics.emplace_back();
  t.topic = "logs";
  for (int32_t epoch : {0, 3}) {
    auto& p = t.partitions.emplace_back();
    p.partition = 1;
    p.leader_epoch = epoch;
  }
  t.partitions.emplace_back().partition = 9;
  out = dispatcher_.Handle(Frame(ofle, 4), conn_);
  auto epochs = Parse<protocol::OffsetForLeaderEpochResponse>(**out, 4, 1, &corr);
  ASSERT_EQ(epochs.topics[0].partitions.size(), 3u);
  EXPECT_EQ(epochs.topics[0].partitions[0].leader_epoch, 0);
  EXPECT_EQ(epochs.topics[0].partitions[0].end_offset, 0);
  EXPECT_EQ(epochs.topics[0].partitions[1].end_offset, -1);
  EXPECT_EQ(epochs.topics[0].partitions[2].error_code, 3);

  protocol::DescribeLogDirsRequest dl;
  dl.topics.reset();
  out = dispatcher_.Handle(Frame(dl, 4), conn_);
  auto dirs = Parse<protocol::DescribeLogDirsResponse>(**out, 4, 1, &corr);
  ASSERT_EQ(dirs.results.size(), 1u);
  EXPECT_EQ(dirs.results[0].log_dir, dir_);
  EXPECT_GT(dirs.results[0].total_bytes, 0);
  ASSERT_EQ(dirs.results[0].topics.size(), 1u);
  EXPECT_EQ(dirs.results[0].topics[0].partitions.size(), 2u);
}

TEST_F(DispatcherTest, MetadataAutoCreatesWhenAllowed) {
  ASSERT_TRUE(configs_.SetStatic("auto.create.topics.enable", "true").ok());
  ASSERT_TRUE(configs_.SetStatic("num.partitions", "2").ok());
  MetadataRequest req;
  req.topics.emplace().emplace_back().name = "fresh";
  req.allow_auto_topic_creation = false;
  auto out = dispatcher_.Handle(Frame(req, 9), conn_);
  int32_t corr = 0;
  EXPECT_EQ(Parse<MetadataResponse>(**out, 9, 1, &corr).topics[0].error_code, 3);
  req.allow_auto_topic_creation = true;
  out = dispatcher_.Handle(Frame(req, 9), conn_);
  auto resp = Parse<MetadataResponse>(**out, 9, 1, &corr);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].partitions.size(), 2u);
  EXPECT_NE(registry_->Find("fresh"), nullptr);
  req.topics->at(0).name = "bad name";
  out = dispatcher_.Handle(Frame(req, 9), conn_);
  EXPECT_EQ(Parse<MetadataResponse>(**out, 9, 1, &corr).topics[0].error_code, 17);
}

TEST_F(DispatcherTest, MetadataByTopicIdBeforeV12IsInvalid) {
  MetadataRequest req;
  auto& t = req.topics.emplace().emplace_back();
  t.topic_id[15] = 1;
  t.name = "x";
  EXPECT_FALSE(dispatcher_.Handle(Frame(req, 10), conn_).ok());
  auto out = dispatcher_.Handle(Frame(req, 12), conn_);
  ASSERT_TRUE(out.ok());
  int32_t corr = 0;
  EXPECT_EQ(Parse<MetadataResponse>(**out, 12, 1, &corr).topics[0].error_code, 3);
}

TEST_F(DispatcherTest, UnservedApiOrVersionGetsUnsupportedVersion) {
  // An API key no codec knows, and a version newer than the codec: a v0 header and the code.
  for (auto [key, version] : {std::pair<int16_t, int16_t>{99, 0}, {MetadataRequest::kApiKey, 13}}) {
    protocol::RequestHeader h;
    h.api_key = key;
    h.api_version = version;
    h.correlation_id = 41;
    h.client_id = "x";
    std::string frame;
    Writer w(&frame);
    h.Encode(w, 1);
    auto out = dispatcher_.Handle(frame, conn_);
    ASSERT_TRUE(out.ok()) << out.status();
    Reader r(**out);
    EXPECT_EQ(r.ReadInt32(), 6);
    EXPECT_EQ(r.ReadInt32(), 41);
    EXPECT_EQ(r.ReadInt16(), 35);
  }
  // An API the codec knows but the broker does not serve: that API's response, in that version.
  protocol::SaslHandshakeRequest sasl;
  sasl.mechanism = "PLAIN";
  auto out = dispatcher_.Handle(Frame(sasl, 1, 42), conn_);
  ASSERT_TRUE(out.ok()) << out.status();
  int32_t corr = 0;
  auto resp = Parse<protocol::SaslHandshakeResponse>(**out, 1, 0, &corr);
  EXPECT_EQ(corr, 42);
  EXPECT_EQ(resp.error_code, 35);
  EXPECT_TRUE(resp.mechanisms.empty());
}

TEST_F(DispatcherTest, MalformedBodyClosesTheConnection) {
  MetadataRequest req;
  std::string frame = Frame(req, 4);
  frame.resize(frame.size() - 1);
  auto out = dispatcher_.Handle(frame, conn_);
  EXPECT_FALSE(out.ok());
  EXPECT_FALSE(dispatcher_.Handle(std::string_view("\x00", 1), conn_).ok());
}

TEST(AsyncDispatch, HandlersMayAnswerLaterFromAnotherThreadOrNotAtAll) {
  using protocol::HeartbeatRequest;
  using protocol::HeartbeatResponse;
  HandlerTable table;
  std::vector<std::thread> threads;
  table.AddAsync<HeartbeatRequest, HeartbeatResponse>(
      HeartbeatRequest::kMaxVersion,
      [&threads](const RequestContext&, std::shared_ptr<HeartbeatRequest> request, auto done) {
        threads.emplace_back([request, done = std::move(done)] {
          if (request->generation_id < 0) return done(std::nullopt);  // answered with silence
          HeartbeatResponse r;
          r.error_code = static_cast<int16_t>(request->generation_id);
          done(r);
        });
      });
  Dispatcher dispatcher(table);
  auto conn = TestSession();
  auto frame = [](int32_t generation) {
    protocol::RequestHeader h;
    h.api_key = HeartbeatRequest::kApiKey;
    h.api_version = 4;
    h.correlation_id = 5;
    std::string f;
    Writer w(&f);
    h.Encode(w, 2);
    HeartbeatRequest req;
    req.generation_id = generation;
    req.Encode(w, 4);
    return f;
  };
  std::promise<DispatchResult> answered, silent;
  dispatcher.Dispatch(frame(27), conn, [&](DispatchResult r) { answered.set_value(std::move(r)); });
  dispatcher.Dispatch(frame(-1), conn, [&](DispatchResult r) { silent.set_value(std::move(r)); });
  DispatchResult a = answered.get_future().get();
  DispatchResult b = silent.get_future().get();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE((*a)->splices.empty());
  Reader r((*a)->bytes);
  EXPECT_EQ(r.ReadInt32(), static_cast<int32_t>((*a)->bytes.size() - 4));
  protocol::ResponseHeader h;
  ASSERT_TRUE(h.Decode(r, 1).ok());
  EXPECT_EQ(h.correlation_id, 5);
  HeartbeatResponse resp;
  ASSERT_TRUE(resp.Decode(r, 4).ok());
  EXPECT_EQ(resp.error_code, 27);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
}

}  // namespace
}  // namespace chronik::ingest

namespace chronik::ingest {
namespace {

// Request and response in one version, through the dispatcher; the header versions follow it.
template <typename Response, typename Fixture, typename Request>
Response RoundTrip(Fixture& f, const Request& request, int16_t version) {
  auto out = f.dispatcher_.Handle(f.Frame(request, version), f.conn_);
  EXPECT_TRUE(out.ok()) << out.status();
  int32_t corr = 0;
  const protocol::ApiDescriptor* api = protocol::FindApi(Request::kApiKey);
  return f.template Parse<Response>(**out, version, protocol::ResponseHeaderVersion(*api, version), &corr);
}

class GroupDispatchTest : public DispatcherTest {
 public:
  using DispatcherTest::conn_;
  using DispatcherTest::dispatcher_;
  using DispatcherTest::Frame;
  using DispatcherTest::Parse;
};

TEST_F(GroupDispatchTest, FindCoordinatorBatchesKeysInV4ForGroupsAndTransactions) {
  protocol::FindCoordinatorRequest req;
  req.coordinator_keys = {"a", "b"};
  auto resp = RoundTrip<protocol::FindCoordinatorResponse>(*this, req, 4);
  ASSERT_EQ(resp.coordinators.size(), 2u);
  EXPECT_EQ(resp.coordinators[1].key, "b");
  EXPECT_EQ(resp.coordinators[1].host, "broker.example");
  EXPECT_EQ(resp.coordinators[1].port, 19092);
  req.key_type = 1;  // transactions: this broker coordinates them too
  resp = RoundTrip<protocol::FindCoordinatorResponse>(*this, req, 4);
  EXPECT_EQ(resp.coordinators[0].error_code, 0);
  EXPECT_EQ(resp.coordinators[0].port, 19092);
  req.key_type = 2;
  resp = RoundTrip<protocol::FindCoordinatorResponse>(*this, req, 4);
  EXPECT_EQ(resp.coordinators[0].error_code, 42);  // INVALID_REQUEST
  protocol::FindCoordinatorRequest old;
  old.key = "a";
  resp = RoundTrip<protocol::FindCoordinatorResponse>(*this, old, 0);
  EXPECT_EQ(resp.node_id, 1);
  EXPECT_EQ(resp.port, 19092);
}

TEST_F(GroupDispatchTest, GroupLifecycleInFlexibleVersions) {
  ASSERT_TRUE(registry_->Create("t", 2, {}, false).ok());
  // A static member's v9 join: parked until the coordinator's next tick ends the (zero) initial delay.
  protocol::JoinGroupRequest join;
  join.group_id = "g";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 10000;
  join.group_instance_id = "i1";
  join.protocol_type = "consumer";
  join.protocols.push_back({"range", "meta", {}});
  std::promise<std::string> answered;
  dispatcher_.Dispatch(Frame(join, 9), conn_ptr_, [&](DispatchResult r) { answered.set_value((*r)->bytes); });
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  groups_->Tick(now + 1);
  int32_t corr = 0;
  auto joined = Parse<protocol::JoinGroupResponse>(answered.get_future().get(), 9, 1, &corr);
  EXPECT_EQ(joined.error_code, 0);
  EXPECT_EQ(joined.protocol_name, "range");
  const std::string member = joined.member_id;

  protocol::SyncGroupRequest sync;
  sync.group_id = "g";
  sync.generation_id = joined.generation_id;
  sync.member_id = member;
  sync.group_instance_id = "i1";
  sync.protocol_type = "consumer";
  sync.protocol_name = "range";
  sync.assignments.push_back({member, "assignment", {}});
  auto synced = RoundTrip<protocol::SyncGroupResponse>(*this, sync, 5);
  EXPECT_EQ(synced.error_code, 0);
  EXPECT_EQ(synced.assignment, "assignment");

  protocol::OffsetCommitRequest commit;
  commit.group_id = "g";
  commit.generation_id_or_member_epoch = joined.generation_id;
  commit.member_id = member;
  commit.group_instance_id = "i1";
  auto& ct = commit.topics.emplace_back();
  ct.name = "t";
  ct.partitions.push_back({1, 77, 4, -1, std::string("m"), {}});
  auto committed = RoundTrip<protocol::OffsetCommitResponse>(*this, commit, 9);
  EXPECT_EQ(committed.topics[0].partitions[0].error_code, 0);

  // v8: two groups, one with every committed offset (null topics), one unknown.
  protocol::OffsetFetchRequest fetch;
  auto& g1 = fetch.groups.emplace_back();
  g1.group_id = "g";
  g1.topics = std::nullopt;
  auto& g2 = fetch.groups.emplace_back();
  g2.group_id = "other";
  g2.topics.emplace().push_back({"t", {0}, {}});
  auto fetched = RoundTrip<protocol::OffsetFetchResponse>(*this, fetch, 8);
  ASSERT_EQ(fetched.groups.size(), 2u);
  ASSERT_EQ(fetched.groups[0].topics.size(), 1u);
  EXPECT_EQ(fetched.groups[0].topics[0].partitions[0].partition_index, 1);
  EXPECT_EQ(fetched.groups[0].topics[0].partitions[0].committed_offset, 77);
  EXPECT_EQ(fetched.groups[0].topics[0].partitions[0].committed_leader_epoch, 4);
  EXPECT_EQ(fetched.groups[1].topics[0].partitions[0].committed_offset, -1);

  protocol::ListGroupsRequest list;
  list.states_filter = {"stable"};
  auto listed = RoundTrip<protocol::ListGroupsResponse>(*this, list, 5);
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_state, "Stable");
  EXPECT_EQ(listed.groups[0].group_type, "classic");
  list.states_filter = {"Empty"};
  EXPECT_TRUE(RoundTrip<protocol::ListGroupsResponse>(*this, list, 4).groups.empty());
  list.states_filter.clear();
  list.types_filter = {"consumer"};
  EXPECT_TRUE(RoundTrip<protocol::ListGroupsResponse>(*this, list, 5).groups.empty());

  // v3+ batch leave by group.instance.id alone, and an unknown one.
  protocol::LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.members.push_back({"", std::string("i1"), std::string("done"), {}});
  leave.members.push_back({"", std::string("nobody"), std::nullopt, {}});
  auto left = RoundTrip<protocol::LeaveGroupResponse>(*this, leave, 5);
  ASSERT_EQ(left.members.size(), 2u);
  EXPECT_EQ(left.members[0].error_code, 0);
  EXPECT_EQ(left.members[1].error_code, 25);  // UNKNOWN_MEMBER_ID
  list.types_filter.clear();
  list.states_filter = {"EMPTY"};
  EXPECT_EQ(RoundTrip<protocol::ListGroupsResponse>(*this, list, 4).groups.size(), 1u);
}

}  // namespace
}  // namespace chronik::ingest
