#include "chronik_auth/acl.h"

#include <memory>

#include "chronik_storage/metadata_store.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::auth {
namespace {

using O = AclOperation;
using R = ResourceType;

AclBinding Acl(R type, std::string name, PatternType pattern, std::string principal, O op, PermissionType perm,
               std::string host = "*") {
  return AclBinding{type, std::move(name), pattern, std::move(principal), std::move(host), op, perm};
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AuthorizerOptions options;
    options.super_users = {"User:root"};
    Open(options);
  }

  void Open(AuthorizerOptions options) {
    authorizer_.reset();
    store_.reset();
    absl::StatusOr<std::unique_ptr<storage::MetadataStore>> store = storage::MetadataStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    authorizer_ = std::make_unique<Authorizer>(*store_, std::move(options));
    ASSERT_TRUE(authorizer_->Load().ok());
  }

  bool Can(std::string principal, O op, R type, std::string name, std::string host = "10.0.0.1") {
    return authorizer_->Authorize(principal, host, op, type, name);
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<Authorizer> authorizer_;
};

TEST_F(AuthorizerTest, NothingWithoutAnAclButForSuperUsers) {
  EXPECT_FALSE(Can("User:alice", O::kRead, R::kTopic, "orders"));
  EXPECT_TRUE(Can("User:root", O::kAlter, R::kCluster, "kafka-cluster"));
}

TEST_F(AuthorizerTest, LiteralPrefixedWildcardImpliedAndDenyWins) {
  ASSERT_TRUE(authorizer_
                  ->Create({Acl(R::kTopic, "orders", PatternType::kLiteral, "User:alice", O::kWrite, PermissionType::kAllow),
                            Acl(R::kTopic, "logs-", PatternType::kPrefixed, "User:alice", O::kRead, PermissionType::kAllow),
                            Acl(R::kTopic, "*", PatternType::kLiteral, "User:bob", O::kAll, PermissionType::kAllow),
                            Acl(R::kTopic, "secret", PatternType::kLiteral, "User:bob", O::kRead, PermissionType::kDeny),
                            Acl(R::kGroup, "g", PatternType::kLiteral, "User:*", O::kRead, PermissionType::kAllow,
                                "10.0.0.1")})
                  .ok());
  EXPECT_TRUE(Can("User:alice", O::kWrite, R::kTopic, "orders"));
  EXPECT_TRUE(Can("User:alice", O::kDescribe, R::kTopic, "orders"));  // implied by WRITE
  EXPECT_FALSE(Can("User:alice", O::kRead, R::kTopic, "orders"));
  EXPECT_TRUE(Can("User:alice", O::kRead, R::kTopic, "logs-app"));
  EXPECT_FALSE(Can("User:alice", O::kRead, R::kTopic, "log"));
  EXPECT_TRUE(Can("User:bob", O::kAlterConfigs, R::kTopic, "anything"));
  EXPECT_TRUE(Can("User:bob", O::kWrite, R::kTopic, "secret"));
  EXPECT_FALSE(Can("User:bob", O::kRead, R::kTopic, "secret"));  // DENY wins over the ALL
  EXPECT_TRUE(Can("User:carol", O::kRead, R::kGroup, "g"));
  EXPECT_FALSE(Can("User:carol", O::kRead, R::kGroup, "g", "10.0.0.2"));  // host
  EXPECT_TRUE(authorizer_->AuthorizeAny("User:alice", "10.0.0.1", O::kWrite, R::kTopic));
  EXPECT_FALSE(authorizer_->AuthorizeAny("User:carol", "10.0.0.1", O::kWrite, R::kTopic));
}

TEST_F(AuthorizerTest, AllowEveryoneIfNoAclFound) {
  AuthorizerOptions options;
  options.allow_everyone_if_no_acl_found = true;
  Open(options);
  EXPECT_TRUE(Can("User:alice", O::kRead, R::kTopic, "open"));
  ASSERT_TRUE(
      authorizer_->Create({Acl(R::kTopic, "closed", PatternType::kLiteral, "User:bob", O::kRead, PermissionType::kAllow)})
          .ok());
  EXPECT_TRUE(Can("User:alice", O::kRead, R::kTopic, "open"));
  EXPECT_FALSE(Can("User:alice", O::kRead, R::kTopic, "closed"));  // the resource has ACLs now
}

TEST_F(AuthorizerTest, DurableDescribeAndDeleteByFilter) {
  const AclBinding a = Acl(R::kTopic, "t", PatternType::kLiteral, "User:alice", O::kRead, PermissionType::kAllow);
  const AclBinding b = Acl(R::kTopic, "t-", PatternType::kPrefixed, "User:bob", O::kWrite, PermissionType::kAllow);
  const AclBinding c = Acl(R::kGroup, "g", PatternType::kLiteral, "User:bob", O::kRead, PermissionType::kDeny);
  ASSERT_TRUE(authorizer_->Create({a, b, c, a}).ok());
  Open({});  // reopen: the ACLs came from the store
  EXPECT_EQ(authorizer_->Describe(AclFilter{}).size(), 3u);
  AclFilter match;
  match.resource_type = R::kTopic;
  match.resource_name = "t-1";
  match.pattern_type = PatternType::kMatch;
  EXPECT_EQ(authorizer_->Describe(match), (std::vector<AclBinding>{b}));
  AclFilter bob;
  bob.principal = "User:bob";
  absl::StatusOr<std::vector<std::vector<AclBinding>>> deleted = authorizer_->Delete({bob});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ((*deleted)[0].size(), 2u);
  Open({});
  EXPECT_EQ(authorizer_->Describe(AclFilter{}), (std::vector<AclBinding>{a}));
}

TEST(AclValidation, RefusesWhatKafkaRefuses) {
  EXPECT_TRUE(ValidateAclBinding(Acl(R::kTopic, "t", PatternType::kLiteral, "User:a", O::kRead, PermissionType::kAllow)).ok());
  EXPECT_FALSE(ValidateAclBinding(Acl(R::kAny, "t", PatternType::kLiteral, "User:a", O::kRead, PermissionType::kAllow)).ok());
  EXPECT_FALSE(ValidateAclBinding(Acl(R::kTopic, "t", PatternType::kMatch, "User:a", O::kRead, PermissionType::kAllow)).ok());
  EXPECT_FALSE(ValidateAclBinding(Acl(R::kTopic, "t", PatternType::kLiteral, "alice", O::kRead, PermissionType::kAllow)).ok());
  EXPECT_FALSE(ValidateAclBinding(Acl(R::kCluster, "c", PatternType::kLiteral, "User:a", O::kAlter, PermissionType::kAllow)).ok());
  EXPECT_TRUE(ValidateAclBinding(Acl(R::kGroup, "g", PatternType::kLiteral, "User:a", O::kWrite, PermissionType::kAllow)).ok());
  EXPECT_FALSE(ValidateAclBinding(Acl(R::kGroup, "g", PatternType::kLiteral, "User:a", static_cast<O>(16), PermissionType::kAllow)).ok());
  EXPECT_FALSE(ValidateAclBinding(Acl(R::kTopic, "t", PatternType::kLiteral, "User:a", O::kAny, PermissionType::kAllow)).ok());
}

}  // namespace
}  // namespace chronik::auth
