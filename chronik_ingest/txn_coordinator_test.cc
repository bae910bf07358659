#include "chronik_ingest/txn_coordinator.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

class TxnCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    dir_ = std::string(base != nullptr ? base : "/tmp") + "/txn-XXXXXX";
    if (::mkdtemp(dir_.data()) == nullptr) std::abort();
    storage::LogManager::Options log_options;
    log_options.clock_ms = [this] { return now_.load(); };
    logs_ = *storage::LogManager::Open(dir_ + "/logs", log_options);
    for (int p = 0; p < 2; ++p) {
      ASSERT_TRUE(logs_->Create({"out", storage::PartitionId(p)}, storage::LogConfig{}).ok());
    }
    Open();
  }

  void TearDown() override {
    Close();
    (void)logs_->Close();
    logs_.reset();
    std::filesystem::remove_all(dir_);
  }

  // (Re)opens everything above the logs, as a restarted broker would.
  void Open() {
    store_ = *storage::MetadataStore::Open(dir_ + "/meta");
    GroupCoordinator::Options group_options;
    group_options.now_ms = [this] { return now_.load(); };
    group_options.partition_exists = [](const std::string& topic, int32_t p) { return topic == "in" && p == 0; };
    groups_ = std::make_unique<GroupCoordinator>(*store_, std::move(group_options));
    ASSERT_TRUE(groups_->Load().ok());
    ids_ = std::make_unique<ProducerIdManager>(*store_);
    TxnCoordinator::Options options;
    options.now_ms = [this] { return now_.load(); };
    options.log = [this](const std::string& topic, int32_t p) {
      return logs_->Get({topic, storage::PartitionId(p)});
    };
    txns_ = std::make_unique<TxnCoordinator>(*store_, *ids_, *groups_, std::move(options));
    ASSERT_TRUE(txns_->Load().ok());
  }

  void Close() {
    txns_.reset();
    ids_.reset();
    groups_.reset();
    store_.reset();
  }

  std::shared_ptr<storage::PartitionLog> Out(int p) { return logs_->Get({"out", storage::PartitionId(p)}); }

  static ErrorCode Code(const absl::Status& s) { return ToKafkaError(s); }

  std::string dir_;
  std::atomic<int64_t> now_{1'700'000'000'000};
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<ProducerIdManager> ids_;
  std::unique_ptr<TxnCoordinator> txns_;
};

OffsetCommitEntry Entry(int64_t offset) {
  OffsetCommitEntry e;
  e.topic = "in";
  e.partition = 0;
  e.offset = offset;
  return e;
}

// The offsets a transaction sends become the group's only when it commits; while it is open
// they are pending (OffsetFetch require_stable), and an abort drops them.
TEST_F(TxnCoordinatorTest, TransactionalOffsetsApplyOnCommitOnly) {
  absl::StatusOr<ProducerIdAndEpoch> p = txns_->InitProducerId("t", 60'000, std::nullopt);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Code(txns_->TxnOffsetCommit("t", *p, "g", "", std::nullopt, -1, {Entry(5)}).status()),
            ErrorCode::kInvalidTxnState);  // the group was not added (AddOffsetsToTxn)
  ASSERT_TRUE(txns_->AddOffsets("t", *p, "g").ok());
  auto r = txns_->TxnOffsetCommit("t", *p, "g", "", std::nullopt, -1, {Entry(5)});
  ASSERT_TRUE(r.ok() && (*r)[0].ok());
  EXPECT_EQ(txns_->PendingOffsets("g").count({"in", 0}), 1u);
  EXPECT_EQ((*groups_->FetchOffsets("g", std::nullopt)).size(), 0u);
  ASSERT_TRUE(txns_->EndTxn("t", *p, /*commit=*/false).ok());
  EXPECT_TRUE(txns_->PendingOffsets("g").empty());
  EXPECT_EQ((*groups_->FetchOffsets("g", std::nullopt)).size(), 0u);

  ASSERT_TRUE(txns_->AddOffsets("t", *p, "g").ok());
  ASSERT_TRUE(txns_->TxnOffsetCommit("t", *p, "g", "", std::nullopt, -1, {Entry(7)}).ok());
  ASSERT_TRUE(txns_->EndTxn("t", *p, /*commit=*/true).ok());
  auto offsets = groups_->FetchOffsets("g", std::nullopt);
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ((*offsets)[std::make_pair(std::string("in"), 0)].offset, 7);
}

// A crash between PrepareCommit and the markers: the next Load writes the markers and the
// offsets, so the transaction is committed everywhere and the LSO moves past it.
TEST_F(TxnCoordinatorTest, PreparedCommitIsCompletedAfterARestart) {
  absl::StatusOr<ProducerIdAndEpoch> p = txns_->InitProducerId("t", 60'000, std::nullopt);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(txns_->AddPartitions("t", *p, {{"out", 0}, {"out", 1}}, false).ok());
  ASSERT_TRUE(txns_->AddOffsets("t", *p, "g").ok());
  ASSERT_TRUE(txns_->TxnOffsetCommit("t", *p, "g", "", std::nullopt, -1, {Entry(3)}).ok());
  ASSERT_TRUE(storage::testing::AppendSync(
                  *Out(0), storage::testing::ProducerBatch({"v"}, p->producer_id, p->epoch, 0, /*transactional=*/true))
                  .ok());
  EXPECT_EQ(Out(0)->last_stable_offset(), storage::Offset(0));

  // What EndTxn stores before it writes markers, as if the broker died right after.
  std::optional<std::string> record = store_->Get(TxnCoordinator::kNamespace, "t");
  ASSERT_TRUE(record.has_value());
  const size_t at = record->find("\"Ongoing\"");
  ASSERT_NE(at, std::string::npos);
  record->replace(at, 9, "\"PrepareCommit\"");
  ASSERT_TRUE(store_->Put(TxnCoordinator::kNamespace, "t", *record).ok());
  Close();
  Open();

  EXPECT_EQ(txns_->Describe("t")->state, TxnState::kCompleteCommit);
  EXPECT_EQ(Out(0)->last_stable_offset(), Out(0)->high_watermark());
  EXPECT_EQ(Out(0)->log_end_offset(), storage::Offset(2));  // the record and the commit marker
  EXPECT_EQ(Out(1)->log_end_offset(), storage::Offset(1));  // a marker in every partition
  EXPECT_EQ((*groups_->FetchOffsets("g", std::nullopt))[std::make_pair(std::string("in"), 0)].offset, 3);
  // The producer's EndTxn retry after the crash is answered as done.
  EXPECT_TRUE(txns_->EndTxn("t", *p, true).ok());
}

// A transaction older than transaction.timeout.ms is aborted by the sweep with a bumped epoch:
// its producer is fenced, and may recover (KIP-360) by naming the epoch it had.
TEST_F(TxnCoordinatorTest, TimedOutTransactionsAreAbortedAndTheirProducerFenced) {
  absl::StatusOr<ProducerIdAndEpoch> p = txns_->InitProducerId("t", 1'000, std::nullopt);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(txns_->AddPartitions("t", *p, {{"out", 0}}, false).ok());
  EXPECT_TRUE(txns_->VerifyProduce("t", *p, {"out", 0}).ok());
  EXPECT_EQ(Code(txns_->VerifyProduce("t", *p, {"out", 1})), ErrorCode::kInvalidTxnState);
  now_ += 500;
  txns_->Sweep(now_);
  EXPECT_EQ(txns_->Describe("t")->state, TxnState::kOngoing);
  now_ += 1'000;
  txns_->Sweep(now_);
  EXPECT_EQ(txns_->Describe("t")->state, TxnState::kCompleteAbort);
  EXPECT_EQ(txns_->Describe("t")->producer_epoch, p->epoch + 1);
  EXPECT_EQ(Out(0)->log_end_offset(), storage::Offset(1));  // the abort marker
  EXPECT_EQ(Code(txns_->EndTxn("t", *p, true)), ErrorCode::kProducerFenced);
  EXPECT_EQ(Code(txns_->VerifyProduce("t", *p, {"out", 0})), ErrorCode::kInvalidProducerEpoch);
  absl::StatusOr<ProducerIdAndEpoch> again = txns_->InitProducerId("t", 1'000, *p);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->producer_id, p->producer_id);
  EXPECT_EQ(again->epoch, p->epoch + 2);
  EXPECT_EQ(Code(txns_->InitProducerId("t", 1'000, *p).status()), ErrorCode::kProducerFenced);
}

// A new producer's InitProducerId (naming no epoch) forgets the epoch before it, so the producer
// it fenced cannot come back by naming its old epoch (KIP-360 recovery is for the current one).
TEST_F(TxnCoordinatorTest, AZombieCannotRecoverPastANewProducer) {
  absl::StatusOr<ProducerIdAndEpoch> zombie = txns_->InitProducerId("t", 1'000, std::nullopt);
  ASSERT_TRUE(zombie.ok());
  absl::StatusOr<ProducerIdAndEpoch> fresh = txns_->InitProducerId("t", 1'000, std::nullopt);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->epoch, zombie->epoch + 1);
  EXPECT_EQ(Code(txns_->InitProducerId("t", 1'000, *zombie).status()), ErrorCode::kProducerFenced);
  absl::StatusOr<ProducerIdAndEpoch> recovered = txns_->InitProducerId("t", 1'000, *fresh);
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(recovered->epoch, fresh->epoch + 1);
}

// transactional.id.expiration.ms: an id idle that long is forgotten (durably).
TEST_F(TxnCoordinatorTest, IdleTransactionalIdsExpire) {
  ASSERT_TRUE(txns_->InitProducerId("t", 1'000, std::nullopt).ok());
  now_ += 604'800'000 + 1;
  txns_->Sweep(now_);
  EXPECT_FALSE(txns_->Describe("t").has_value());
  Close();
  Open();
  EXPECT_FALSE(txns_->Describe("t").has_value());
  EXPECT_TRUE(txns_->List().empty());
}

}  // namespace
}  // namespace chronik::ingest
