#include "chronik_ingest/dynamic_configs.h"

#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

constexpr char kCopyRate[] = "remote.log.manager.copy.max.bytes.per.second";

class DynamicBrokerConfigsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/dynamic_configs.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    configs_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A broker started again: the store opened anew, the copy rate registered, the values loaded.
  void Reopen() {
    configs_.reset();
    store_.reset();
    auto store = storage::MetadataStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    BrokerConfigValues values;
    ASSERT_TRUE(values.SetStatic(kCopyRate, "1000").ok());
    configs_ = std::make_unique<DynamicBrokerConfigs>(std::move(values), *store_);
    applied_.clear();
    ASSERT_TRUE(configs_->Register(kCopyRate, [this](const std::optional<std::string>& v) {
                  applied_.push_back(v.value_or("null"));
                }).ok());
    ASSERT_TRUE(configs_->Load().ok());
  }
  absl::Status Set(BrokerConfigLayer layer, std::optional<std::string> value, bool replace = false) {
    return configs_->Alter(layer, {{kCopyRate, std::move(value)}}, replace, /*validate_only=*/false);
  }
  std::string DescribedSource(bool per_broker) {
    for (const DescribedConfig& d : configs_->Describe(per_broker)) {
      if (d.name == kCopyRate) return std::to_string(static_cast<int>(d.source)) + ":" + d.value.value_or("null");
    }
    return "absent";
  }

  std::string dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<DynamicBrokerConfigs> configs_;
  std::vector<std::string> applied_;
};

TEST_F(DynamicBrokerConfigsTest, LayersApplyInKafkasOrderAndOutliveARestart) {
  EXPECT_EQ(applied_, std::vector<std::string>{"1000"});  // the static value, at Load
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicDefault, "2000").ok());
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicBroker, "3000").ok());
  EXPECT_EQ(applied_, (std::vector<std::string>{"1000", "2000", "3000"}));
  // This broker's value wins over the cluster default, which stays.
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicDefault, "2500").ok());
  EXPECT_EQ(applied_.back(), "3000");
  EXPECT_EQ(DescribedSource(true), "2:3000");    // DYNAMIC_BROKER_CONFIG
  EXPECT_EQ(DescribedSource(false), "3:2500");   // DYNAMIC_DEFAULT_BROKER_CONFIG

  Reopen();
  EXPECT_EQ(applied_, std::vector<std::string>{"3000"});
  EXPECT_EQ(DescribedSource(false), "3:2500");
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicBroker, std::nullopt).ok());
  EXPECT_EQ(applied_.back(), "2500");
  // AlterConfigs replaces the layer: a resource without the config removes it.
  ASSERT_TRUE(configs_->Alter(BrokerConfigLayer::kDynamicDefault, {}, /*replace_layer=*/true, false).ok());
  EXPECT_EQ(applied_.back(), "1000");
  EXPECT_EQ(DescribedSource(true), "4:1000");  // STATIC_BROKER_CONFIG
  Reopen();
  EXPECT_EQ(applied_, std::vector<std::string>{"1000"});
  EXPECT_TRUE(store_->Scan(DynamicBrokerConfigs::kNamespace).empty());
}

TEST_F(DynamicBrokerConfigsTest, OnlyRegisteredConfigsWithValidValuesAreTaken) {
  absl::Status s = configs_->Alter(BrokerConfigLayer::kDynamicDefault, {{"log.retention.ms", "1000"}}, false, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(s.message(), "Cannot update these configs dynamically: Set(log.retention.ms)");
  s = configs_->Alter(BrokerConfigLayer::kDynamicDefault, {{"no.such.config", "1"}}, false, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  s = Set(BrokerConfigLayer::kDynamicDefault, "fast");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  // One refused change leaves the others of its resource undone, also those before it.
  s = configs_->Alter(BrokerConfigLayer::kDynamicDefault, {{kCopyRate, "5"}, {"unclean.leader.election.enable", "true"}},
                      false, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  ASSERT_TRUE(configs_->Alter(BrokerConfigLayer::kDynamicDefault, {{kCopyRate, "7"}}, false, /*validate_only=*/true)
                  .ok());
  EXPECT_EQ(applied_, std::vector<std::string>{"1000"});
  EXPECT_TRUE(store_->Scan(DynamicBrokerConfigs::kNamespace).empty());
  EXPECT_FALSE(configs_->Register(kCopyRate, [](const auto&) {}).ok());  // after Load
}

// A stored value whose part of the broker is off (tiering, for the copy quota) is kept and
// described, cannot be set, and can be deleted; one the table does not take is ignored and kept.
TEST_F(DynamicBrokerConfigsTest, StoredValuesWithoutAnApplier) {
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicDefault, "2000").ok());
  ASSERT_TRUE(store_->Put(DynamicBrokerConfigs::kNamespace, "default/no.such.config", "1").ok());
  configs_.reset();
  BrokerConfigValues values;
  configs_ = std::make_unique<DynamicBrokerConfigs>(std::move(values), *store_);
  EXPECT_FALSE(configs_->Register("broker.id", [](const auto&) {}).ok());  // read-only in Kafka
  ASSERT_TRUE(configs_->Load().ok());
  EXPECT_EQ(store_->Get(DynamicBrokerConfigs::kNamespace, "default/no.such.config"), "1");
  EXPECT_EQ(DescribedSource(false), "3:2000");
  EXPECT_TRUE(absl::IsFailedPrecondition(Set(BrokerConfigLayer::kDynamicDefault, "3000")));
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicBroker, std::nullopt).ok());  // none there: no change
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicDefault, std::nullopt).ok());
  EXPECT_EQ(store_->Scan(DynamicBrokerConfigs::kNamespace).size(), 1u);  // no.such.config
  EXPECT_EQ(DescribedSource(false), "absent");
}

// An applier hears only of a change of the value in effect.
TEST_F(DynamicBrokerConfigsTest, AppliersHearOnlyOfChangedValues) {
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicBroker, "3000").ok());
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicDefault, "2000").ok());  // this broker's value wins
  ASSERT_TRUE(Set(BrokerConfigLayer::kDynamicBroker, "3000").ok());   // the same value
  EXPECT_EQ(applied_, (std::vector<std::string>{"1000", "3000"}));
}

}  // namespace
}  // namespace chronik::ingest
