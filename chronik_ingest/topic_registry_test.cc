#include "chronik_ingest/topic_registry.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "chronik_ingest/kafka_error.h"
#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

class TopicRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/topics-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    auto store = storage::MetadataStore::Open(dir_ + "/__metadata");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto logs = storage::LogManager::Open(dir_, storage::LogManager::Options{});
    ASSERT_TRUE(logs.ok()) << logs.status();
    logs_ = *std::move(logs);
    registry_ = std::make_unique<TopicRegistry>(*store_, *logs_, broker_);
    ASSERT_TRUE(registry_->Load().ok());
  }
  void Close() {
    registry_.reset();
    if (logs_) {
      ASSERT_TRUE(logs_->Close().ok());
    }
    logs_.reset();
    store_.reset();
  }

  std::string dir_;
  BrokerConfigValues broker_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<TopicRegistry> registry_;
};

TEST_F(TopicRegistryTest, CreateFindAndSurviveRestart) {
  auto t = registry_->Create("orders", 3, {{"retention.ms", "1000"}}, false);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->partitions, 3);
  EXPECT_NE((*t)->id, protocol::Uuid{});
  for (int p = 0; p < 3; ++p) EXPECT_NE(registry_->Log("orders", p), nullptr);
  const protocol::Uuid id = (*t)->id;

  Close();
  Open();
  auto again = registry_->Find("orders");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->partitions, 3);
  EXPECT_EQ(again->configs.Get<int64_t>("retention.ms"), 1000);
  EXPECT_EQ(registry_->FindById(id), again);
  EXPECT_NE(registry_->Log("orders", 2), nullptr);
}

TEST_F(TopicRegistryTest, KafkaErrorsForBadRequests) {
  ASSERT_TRUE(registry_->Create("a.b", 1, {}, false).ok());
  EXPECT_EQ(ToKafkaError(registry_->Create("a.b", 1, {}, false).status()), ErrorCode::kTopicAlreadyExists);
  EXPECT_EQ(ToKafkaError(registry_->Create("a_b", 1, {}, false).status()), ErrorCode::kInvalidTopicException);
  EXPECT_EQ(ToKafkaError(registry_->Create("bad name", 1, {}, false).status()), ErrorCode::kInvalidTopicException);
  EXPECT_EQ(ToKafkaError(registry_->Create("..", 1, {}, false).status()), ErrorCode::kInvalidTopicException);
  EXPECT_EQ(ToKafkaError(registry_->Create(std::string(250, 'x'), 1, {}, false).status()),
            ErrorCode::kInvalidTopicException);
  EXPECT_EQ(ToKafkaError(registry_->Create("zero", 0, {}, false).status()), ErrorCode::kInvalidPartitions);
  EXPECT_EQ(ToKafkaError(registry_->Create("cfg", 1, {{"retention.ms", "soon"}}, false).status()),
            ErrorCode::kInvalidConfig);
  EXPECT_EQ(ToKafkaError(registry_->Create("cfg", 1, {{"no.such.config", "1"}}, false).status()),
            ErrorCode::kInvalidConfig);
  EXPECT_EQ(ToKafkaError(registry_->Delete("missing")), ErrorCode::kUnknownTopicOrPartition);
}

TEST_F(TopicRegistryTest, ValidateOnlyChangesNothing) {
  ASSERT_TRUE(registry_->Create("dry", 2, {}, true).ok());
  EXPECT_EQ(registry_->Find("dry"), nullptr);
  EXPECT_EQ(registry_->Log("dry", 0), nullptr);
}

TEST_F(TopicRegistryTest, DeleteRemovesMetadataAndLogs) {
  ASSERT_TRUE(registry_->Create("gone", 2, {}, false).ok());
  ASSERT_TRUE(registry_->Delete("gone").ok());
  EXPECT_EQ(registry_->Find("gone"), nullptr);
  EXPECT_EQ(registry_->Log("gone", 0), nullptr);
  Close();
  Open();
  EXPECT_EQ(registry_->Find("gone"), nullptr);
  EXPECT_TRUE(registry_->List().empty());
}

TEST_F(TopicRegistryTest, DeletionRecordsAreWrittenWithTheDeletion) {
  auto t = registry_->Create("kept", 2, {}, false);
  ASSERT_TRUE(t.ok());
  std::string seen_id;
  registry_->SetDeletionRecords([&](const std::string& topic, const std::string& id, int32_t partitions) {
    seen_id = id;
    return std::vector<storage::MetadataOp>{
        storage::MetadataOp::Put("work", topic, absl::StrCat(partitions))};
  });
  const int64_t before = store_->stats().applies;
  ASSERT_TRUE(registry_->Delete("kept").ok());
  EXPECT_EQ(store_->stats().applies, before + 1);  // one batch: the topic and the record
  EXPECT_EQ(store_->Get("work", "kept"), "2");
  EXPECT_EQ(seen_id.size(), 32u);
  EXPECT_EQ(store_->Get(TopicRegistry::kNamespace, "kept"), std::nullopt);
}

TEST_F(TopicRegistryTest, LoadFinishesADeleteInterruptedAfterItsMetadataWrite) {
  ASSERT_TRUE(registry_->Create("half", 2, {}, false).ok());
  // The crash: the metadata record is gone, the logs are still there.
  ASSERT_TRUE(store_->Delete(TopicRegistry::kNamespace, "half").ok());
  Close();
  Open();
  EXPECT_EQ(registry_->Find("half"), nullptr);
  EXPECT_EQ(registry_->Log("half", 0), nullptr);
  EXPECT_TRUE(logs_->partitions().empty());
}

// A value an older Chronik stored and this one refuses does not keep the broker from starting:
// the topic loads with that setting at its default and keeps the rest.
TEST_F(TopicRegistryTest, LoadDropsStoredValuesNoLongerAccepted) {
  ASSERT_TRUE(registry_->Create("old", 1, {{"retention.ms", "1000"}}, false).ok());
  std::optional<std::string> stored = store_->Get(TopicRegistry::kNamespace, "old");
  ASSERT_TRUE(stored.has_value());
  const std::string kept = "\"retention.ms\":\"1000\"";
  const size_t at = stored->find(kept);
  ASSERT_NE(at, std::string::npos) << *stored;
  stored->insert(at, "\"compression.type\":\"lz4\",\"segment.jitter.ms\":\"5\",");
  ASSERT_TRUE(store_->Put(TopicRegistry::kNamespace, "old", *stored).ok());
  Close();
  Open();
  std::shared_ptr<const Topic> t = registry_->Find("old");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->configs.Value("retention.ms"), "1000");
  EXPECT_EQ(t->configs.Value("compression.type"), "producer");
  EXPECT_EQ(t->configs.Value("segment.jitter.ms"), "0");
}

TEST_F(TopicRegistryTest, AddPartitions) {
  ASSERT_TRUE(registry_->Create("grow", 1, {}, false).ok());
  EXPECT_EQ(ToKafkaError(registry_->AddPartitions("grow", 1, false).status()), ErrorCode::kInvalidPartitions);
  auto t = registry_->AddPartitions("grow", 4, false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->partitions, 4);
  EXPECT_NE(registry_->Log("grow", 3), nullptr);
  Close();
  Open();
  EXPECT_EQ(registry_->Find("grow")->partitions, 4);
}

TEST(TopicLogConfig, DefaultIsDurableAndFlushSettingsTradeItAway) {
  BrokerConfigValues broker;
  auto durable = TopicConfigSet::Create({}, broker);
  ASSERT_TRUE(durable.ok());
  EXPECT_TRUE(TopicRegistry::ToLogConfig(*durable).durable());
  auto lazy = TopicConfigSet::Create({{"flush.messages", "10000"}}, broker);
  ASSERT_TRUE(lazy.ok());
  EXPECT_FALSE(TopicRegistry::ToLogConfig(*lazy).durable());
  auto config = TopicRegistry::ToLogConfig(*TopicConfigSet::Create(
      {{"segment.bytes", "1048576"}, {"message.timestamp.type", "LogAppendTime"}}, broker));
  EXPECT_EQ(config.segment_bytes, 1048576);
  EXPECT_TRUE(config.log_append_time);
  EXPECT_TRUE(config.cleanup_delete);
  EXPECT_FALSE(config.cleanup_compact);
  auto compacted = TopicRegistry::ToLogConfig(*TopicConfigSet::Create({{"cleanup.policy", "compact"}}, broker));
  EXPECT_FALSE(compacted.cleanup_delete);
  EXPECT_TRUE(compacted.cleanup_compact);
}

}  // namespace
}  // namespace chronik::ingest
