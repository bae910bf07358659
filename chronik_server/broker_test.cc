// The in-process integration tier: a whole Broker (listener, dispatcher, handler pool, storage,
// janitor) on a loopback port in a temp dir, driven through real sockets with the project's
// codec. Faster to run and to debug than the Python e2e tests, which check the real clients.

#include "chronik_server/broker.h"

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "chronik_protocol/messages/add_partitions_to_txn.h"
#include "chronik_protocol/messages/create_topics.h"
#include "chronik_protocol/messages/end_txn.h"
#include "chronik_protocol/messages/fetch.h"
#include "chronik_protocol/messages/init_producer_id.h"
#include "chronik_protocol/messages/list_offsets.h"
#include "chronik_protocol/messages/produce.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_server/test_client.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::server {
namespace {

using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using testing::TestClient;

std::string Batch(const std::vector<std::string>& values, int64_t producer_id = -1, int16_t epoch = -1,
                  int32_t sequence = -1, bool transactional = false) {
  return storage::testing::ProducerBatch(values, producer_id, epoch, sequence, transactional);
}

// The values of every data record in `records` (v2 batches; transaction markers skipped).
std::vector<std::string> Values(const std::string& records) {
  std::vector<std::string> out;
  std::string_view rest = records;
  while (!rest.empty()) {
    absl::StatusOr<protocol::RecordBatchView> batch = protocol::RecordBatchView::Parse(rest);
    if (!batch.ok()) break;
    rest.remove_prefix(batch->size_bytes());
    if (batch->is_control()) continue;
    absl::StatusOr<protocol::RecordReader> reader = protocol::RecordReader::Create(*batch, 1 << 20);
    protocol::RecordView r;
    while (reader.ok() && reader->Next(&r)) out.emplace_back(r.value.value_or(""));
  }
  return out;
}

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    dir_ = std::string(base != nullptr ? base : "/tmp") + "/broker-XXXXXX";
    if (::mkdtemp(dir_.data()) == nullptr) std::abort();
    config::ServerConfig cfg;
    cfg.kafka_port = 0;
    cfg.metrics_port = 0;  // any free port
    cfg.admin_port = 0;
    cfg.bind_addr = "127.0.0.1";
    cfg.data_dir = dir_;
    cfg.advertised_host = "127.0.0.1";
    absl::StatusOr<std::unique_ptr<Broker>> broker = Broker::Open(cfg);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    runner_ = std::thread([this] { run_status_ = broker_->Run(); });
  }

  void TearDown() override {
    if (broker_ == nullptr) return;
    broker_->Shutdown();
    runner_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_;
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void CreateTopic(const std::string& name, int32_t partitions,
                   const std::vector<std::pair<std::string, std::string>>& configs = {}) {
    TestClient admin(broker_->kafka_port());
    CreateTopicsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    for (const auto& [k, v] : configs) {
      auto& c = t.configs.emplace_back();
      c.name = k;
      c.value = v;
    }
    absl::StatusOr<CreateTopicsResponse> r = admin.Call<CreateTopicsResponse>(req, 7);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->topics.at(0).error_code, 0);
  }

  ProduceRequest Produce(const std::string& topic, std::string batch) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& td = req.topic_data.emplace_back();
    td.name = topic;
    auto& pd = td.partition_data.emplace_back();
    pd.index = 0;
    pd.records = protocol::Records(std::move(batch));
    return req;
  }

  FetchRequest Fetch(const std::string& topic, int64_t offset, int32_t max_wait_ms) {
    FetchRequest req;
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    auto& ft = req.topics.emplace_back();
    ft.topic = topic;
    auto& fp = ft.partitions.emplace_back();
    fp.partition = 0;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = 1 << 20;
    return req;
  }

  std::string dir_;
  std::unique_ptr<Broker> broker_;
  std::thread runner_;
  absl::Status run_status_;
};

TEST_F(BrokerTest, ProduceIsDurableAndFetchedBack) {
  CreateTopic("t", 1);
  TestClient client(broker_->kafka_port());
  absl::StatusOr<ProduceResponse> p = client.Call<ProduceResponse>(Produce("t", Batch({"a", "b", "c"})), 9);
  ASSERT_TRUE(p.ok()) << p.status();
  const auto& pr = p->responses.at(0).partition_responses.at(0);
  ASSERT_EQ(pr.error_code, 0);
  EXPECT_EQ(pr.base_offset, 0);
  absl::StatusOr<FetchResponse> f = client.Call<FetchResponse>(Fetch("t", 0, 0), 12);
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& fr = f->responses.at(0).partitions.at(0);
  EXPECT_EQ(fr.error_code, 0);
  EXPECT_EQ(fr.high_watermark, 3);
  EXPECT_EQ(Values(fr.records->bytes), (std::vector<std::string>{"a", "b", "c"}));
}

// A long poll at the end of the log is answered by the storage event of another connection's
// produce. Its wait is longer than the test's timeout, so a lost wake-up fails the test.
TEST_F(BrokerTest, LongPollIsWokenByAnotherConnectionsProduce) {
  CreateTopic("tail", 1);
  TestClient consumer(broker_->kafka_port());
  TestClient producer(broker_->kafka_port());
  for (int round = 0; round < 20; ++round) {
    consumer.Send(Fetch("tail", round, std::numeric_limits<int32_t>::max()), 12);
    absl::StatusOr<ProduceResponse> p =
        producer.Call<ProduceResponse>(Produce("tail", Batch({"m" + std::to_string(round)})), 9);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_EQ(p->responses.at(0).partition_responses.at(0).base_offset, round);
    absl::StatusOr<FetchResponse> f = consumer.Receive<FetchResponse>(12);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(Values(f->responses.at(0).partitions.at(0).records->bytes),
              std::vector<std::string>{"m" + std::to_string(round)});
  }
}

// message.downconversion.enable=false: fetchers that need message sets v0/v1 (Fetch v0-v3) get
// UNSUPPORTED_VERSION for the partition, as Kafka answers; v4+ reads the batches as stored.
TEST_F(BrokerTest, DownconversionDisabledRefusesOldFetchVersions) {
  CreateTopic("modern", 1, {{"message.downconversion.enable", "false"}});
  TestClient client(broker_->kafka_port());
  ASSERT_TRUE(client.Call<ProduceResponse>(Produce("modern", Batch({"x"})), 9).ok());
  absl::StatusOr<FetchResponse> old = client.Call<FetchResponse>(Fetch("modern", 0, 0), 3);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->responses.at(0).partitions.at(0).error_code, 35);
  absl::StatusOr<FetchResponse> current = client.Call<FetchResponse>(Fetch("modern", 0, 0), 4);
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(Values(current->responses.at(0).partitions.at(0).records->bytes), std::vector<std::string>{"x"});
}

// The idempotent producer over the wire: InitProducerId hands out distinct ids; a retry gets its
// original offset, a gap OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch INVALID_PRODUCER_EPOCH, and
// neither appends anything.
TEST_F(BrokerTest, IdempotentProduceOverTheWire) {
  CreateTopic("idem", 1);
  TestClient client(broker_->kafka_port());
  protocol::InitProducerIdRequest init;
  init.transactional_id = std::nullopt;
  absl::StatusOr<protocol::InitProducerIdResponse> a = client.Call<protocol::InitProducerIdResponse>(init, 5);
  absl::StatusOr<protocol::InitProducerIdResponse> b = client.Call<protocol::InitProducerIdResponse>(init, 5);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->error_code, 0);
  EXPECT_NE(a->producer_id, b->producer_id);
  const int64_t pid = a->producer_id;
  auto produce = [&](int16_t epoch, int32_t seq) {
    absl::StatusOr<ProduceResponse> r = client.Call<ProduceResponse>(Produce("idem", Batch({"v"}, pid, epoch, seq)), 9);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->responses.at(0).partition_responses.at(0);
  };
  EXPECT_EQ(produce(0, 0).base_offset, 0);
  EXPECT_EQ(produce(0, 1).base_offset, 1);
  auto retry = produce(0, 0);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(produce(0, 7).error_code, 45);   // OUT_OF_ORDER_SEQUENCE_NUMBER
  EXPECT_EQ(produce(1, 0).base_offset, 2);   // a bumped epoch starts again at 0
  EXPECT_EQ(produce(0, 2).error_code, 47);   // INVALID_PRODUCER_EPOCH
  absl::StatusOr<FetchResponse> f = client.Call<FetchResponse>(Fetch("idem", 0, 0), 12);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->responses.at(0).partitions.at(0).high_watermark, 3);

}

// Transactions over the wire, with Kafka's error for each misuse: a timeout above
// transaction.max.timeout.ms, EndTxn without a transaction, an unknown producer id, a fenced
// epoch (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH for old versions), a transactional produce to a
// partition outside the transaction (nothing appended), an unknown partition; then a transaction
// that holds read_committed fetches at its first offset until it commits.
TEST_F(BrokerTest, TransactionsOverTheWire) {
  CreateTopic("txn", 1);
  TestClient client(broker_->kafka_port());
  protocol::InitProducerIdRequest init;
  init.transactional_id = "t1";
  init.transaction_timeout_ms = 900'001;
  auto r = client.Call<protocol::InitProducerIdResponse>(init, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error_code, 50);  // INVALID_TRANSACTION_TIMEOUT
  init.transaction_timeout_ms = 60'000;
  r = client.Call<protocol::InitProducerIdResponse>(init, 5);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->error_code, 0);
  const int64_t pid = r->producer_id;
  const int16_t epoch = r->producer_epoch;

  protocol::EndTxnRequest end;
  end.transactional_id = "t1";
  end.producer_id = pid;
  end.producer_epoch = epoch;
  end.committed = true;
  EXPECT_EQ(client.Call<protocol::EndTxnResponse>(end, 3)->error_code, 48);  // INVALID_TXN_STATE: none open

  auto add = [&](int64_t p, int16_t e, const std::string& topic, int16_t version) {
    protocol::AddPartitionsToTxnRequest req;
    req.v3_and_below_transactional_id = "t1";
    req.v3_and_below_producer_id = p;
    req.v3_and_below_producer_epoch = e;
    auto& t = req.v3_and_below_topics.emplace_back();
    t.name = topic;
    t.partitions = {0};
    auto resp = client.Call<protocol::AddPartitionsToTxnResponse>(req, version);
    EXPECT_TRUE(resp.ok());
    return resp->results_by_topic_v3_and_below.at(0).results_by_partition.at(0).partition_error_code;
  };
  EXPECT_EQ(add(pid + 1000, epoch, "txn", 3), 49);  // INVALID_PRODUCER_ID_MAPPING
  EXPECT_EQ(add(pid, epoch - 1, "txn", 3), 90);     // PRODUCER_FENCED
  EXPECT_EQ(add(pid, epoch - 1, "txn", 1), 47);     // INVALID_PRODUCER_EPOCH before KIP-588
  EXPECT_EQ(add(pid, epoch, "nope", 3), 3);         // UNKNOWN_TOPIC_OR_PARTITION

  auto produce = [&](int32_t seq) {
    ProduceRequest req = Produce("txn", Batch({"in-txn"}, pid, epoch, seq, /*transactional=*/true));
    req.transactional_id = "t1";
    auto resp = client.Call<ProduceResponse>(req, 9);
    EXPECT_TRUE(resp.ok());
    return resp->responses.at(0).partition_responses.at(0).error_code;
  };
  EXPECT_EQ(produce(0), 48);  // INVALID_TXN_STATE: the partition is not in the transaction
  ASSERT_TRUE(client.Call<ProduceResponse>(Produce("txn", Batch({"plain"})), 9).ok());  // offset 0
  EXPECT_EQ(add(pid, epoch, "txn", 3), 0);
  EXPECT_EQ(produce(0), 0);  // offset 1
  ASSERT_TRUE(client.Call<ProduceResponse>(Produce("txn", Batch({"after"})), 9).ok());  // offset 2

  FetchRequest committed = Fetch("txn", 0, 0);
  committed.isolation_level = 1;
  auto f = client.Call<FetchResponse>(committed, 12);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->responses.at(0).partitions.at(0).high_watermark, 3);
  EXPECT_EQ(f->responses.at(0).partitions.at(0).last_stable_offset, 1);
  EXPECT_EQ(Values(f->responses.at(0).partitions.at(0).records->bytes), std::vector<std::string>{"plain"});

  auto latest = [&](int8_t isolation) {
    protocol::ListOffsetsRequest req;
    req.replica_id = -1;
    req.isolation_level = isolation;
    auto& t = req.topics.emplace_back();
    t.name = "txn";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = -1;
    auto resp = client.Call<protocol::ListOffsetsResponse>(req, 7);
    EXPECT_TRUE(resp.ok());
    return resp->topics.at(0).partitions.at(0).offset;
  };
  EXPECT_EQ(latest(0), 3);  // the high watermark
  EXPECT_EQ(latest(1), 1);  // read_committed: the last stable offset

  EXPECT_EQ(client.Call<protocol::EndTxnResponse>(end, 3)->error_code, 0);
  EXPECT_EQ(client.Call<protocol::EndTxnResponse>(end, 3)->error_code, 0);  // a retry of the commit
  end.committed = false;
  EXPECT_EQ(client.Call<protocol::EndTxnResponse>(end, 3)->error_code, 48);  // abort after commit
  f = client.Call<FetchResponse>(committed, 12);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->responses.at(0).partitions.at(0).last_stable_offset, 4);  // past the commit marker
  EXPECT_EQ(Values(f->responses.at(0).partitions.at(0).records->bytes),
            (std::vector<std::string>{"plain", "in-txn", "after"}));

  // A second InitProducerId fences the first producer's epoch.
  r = client.Call<protocol::InitProducerIdResponse>(init, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->producer_id, pid);
  EXPECT_EQ(r->producer_epoch, epoch + 1);
  EXPECT_EQ(add(pid, epoch, "txn", 3), 90);
}

// Handlers that wait for the disk run on the handler pool: topic creation (a metadata fsync)
// from many connections at once all complete, and produce keeps being served meanwhile.
TEST_F(BrokerTest, AdminRequestsFromManyConnectionsComplete) {
  std::vector<std::thread> admins;
  for (int i = 0; i < 8; ++i) {
    admins.emplace_back([this, i] { CreateTopic("topic-" + std::to_string(i), 2); });
  }
  for (auto& t : admins) t.join();
  TestClient client(broker_->kafka_port());
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<ProduceResponse> p =
        client.Call<ProduceResponse>(Produce("topic-" + std::to_string(i), Batch({"x"})), 9);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->responses.at(0).partition_responses.at(0).error_code, 0);
  }
}

}  // namespace
}  // namespace chronik::server
