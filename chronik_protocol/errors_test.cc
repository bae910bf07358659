#include "chronik_protocol/errors.h"

#include <cstdint>
#include <set>
#include <string_view>

#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

// Spot checks against Kafka 3.9's Errors.java: these numbers are what clients compare against.
TEST(ErrorCodeTest, NumbersAndNamesMatchKafka) {
  struct Expected {
    ErrorCode code;
    int16_t number;
    std::string_view name;
  };
  const Expected expected[] = {
      {ErrorCode::kUnknownServerError, -1, "UNKNOWN_SERVER_ERROR"},
      {ErrorCode::kNone, 0, "NONE"},
      {ErrorCode::kOffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE"},
      {ErrorCode::kUnknownTopicOrPartition, 3, "UNKNOWN_TOPIC_OR_PARTITION"},
      {ErrorCode::kNotLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER"},
      {ErrorCode::kNotCoordinator, 16, "NOT_COORDINATOR"},
      {ErrorCode::kRebalanceInProgress, 27, "REBALANCE_IN_PROGRESS"},
      {ErrorCode::kUnsupportedVersion, 35, "UNSUPPORTED_VERSION"},
      {ErrorCode::kTopicAlreadyExists, 36, "TOPIC_ALREADY_EXISTS"},
      {ErrorCode::kSaslAuthenticationFailed, 58, "SASL_AUTHENTICATION_FAILED"},
      {ErrorCode::kMemberIdRequired, 79, "MEMBER_ID_REQUIRED"},
      {ErrorCode::kFencedInstanceId, 82, "FENCED_INSTANCE_ID"},
      {ErrorCode::kPositionOutOfRange, 99, "POSITION_OUT_OF_RANGE"},
      {ErrorCode::kVoterNotFound, 127, "VOTER_NOT_FOUND"},
  };
  for (const Expected& e : expected) {
    EXPECT_EQ(ToInt(e.code), e.number) << e.name;
    EXPECT_EQ(ErrorName(e.code), e.name);
    EXPECT_EQ(ErrorCodeFromInt(e.number), e.code) << e.name;
  }
}

// Kafka 3.9 defines every number from -1 to 127 with no gaps.
TEST(ErrorCodeTest, TableIsDenseFromMinusOneTo127) {
  EXPECT_EQ(kAllErrorCodes.size(), 129u);
  std::set<int16_t> numbers;
  for (ErrorCode code : kAllErrorCodes) numbers.insert(ToInt(code));
  EXPECT_EQ(numbers.size(), kAllErrorCodes.size());
  EXPECT_EQ(*numbers.begin(), -1);
  EXPECT_EQ(*numbers.rbegin(), 127);
}

TEST(ErrorCodeTest, EveryEnumeratorRoundTripsThroughItsNumber) {
  for (ErrorCode code : kAllErrorCodes) {
    EXPECT_EQ(ErrorCodeFromInt(ToInt(code)), code) << ErrorName(code);
  }
}

TEST(ErrorCodeTest, NamesAreUniqueAndUpperSnake) {
  std::set<std::string_view> names;
  for (ErrorCode code : kAllErrorCodes) {
    const std::string_view name = ErrorName(code);
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    ASSERT_FALSE(name.empty());
    for (char c : name) {
      EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') << name;
    }
  }
}

TEST(ErrorCodeTest, UnknownNumbersBecomeUnknownServerError) {
  EXPECT_EQ(ErrorCodeFromInt(128), ErrorCode::kUnknownServerError);
  EXPECT_EQ(ErrorCodeFromInt(-2), ErrorCode::kUnknownServerError);
  EXPECT_EQ(ErrorCodeFromInt(INT16_MAX), ErrorCode::kUnknownServerError);
  EXPECT_EQ(ErrorCodeFromInt(INT16_MIN), ErrorCode::kUnknownServerError);
  EXPECT_EQ(ErrorName(static_cast<ErrorCode>(1000)), "UNKNOWN_SERVER_ERROR");
  EXPECT_FALSE(IsRetriable(static_cast<ErrorCode>(1000)));
}

// Retriability follows which Java exceptions extend RetriableException.
TEST(ErrorCodeTest, RetriableMatchesKafka) {
  EXPECT_FALSE(IsRetriable(ErrorCode::kNone));
  EXPECT_FALSE(IsRetriable(ErrorCode::kUnknownServerError));
  EXPECT_TRUE(IsRetriable(ErrorCode::kCorruptMessage));
  EXPECT_TRUE(IsRetriable(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_TRUE(IsRetriable(ErrorCode::kLeaderNotAvailable));
  EXPECT_TRUE(IsRetriable(ErrorCode::kNotLeaderOrFollower));
  EXPECT_TRUE(IsRetriable(ErrorCode::kRequestTimedOut));
  EXPECT_TRUE(IsRetriable(ErrorCode::kNetworkException));
  EXPECT_TRUE(IsRetriable(ErrorCode::kCoordinatorLoadInProgress));
  EXPECT_TRUE(IsRetriable(ErrorCode::kCoordinatorNotAvailable));
  EXPECT_TRUE(IsRetriable(ErrorCode::kNotCoordinator));
  EXPECT_TRUE(IsRetriable(ErrorCode::kNotEnoughReplicas));
  EXPECT_TRUE(IsRetriable(ErrorCode::kNotController));
  EXPECT_TRUE(IsRetriable(ErrorCode::kConcurrentTransactions));
  EXPECT_TRUE(IsRetriable(ErrorCode::kKafkaStorageError));
  EXPECT_TRUE(IsRetriable(ErrorCode::kFencedLeaderEpoch));
  EXPECT_TRUE(IsRetriable(ErrorCode::kUnknownLeaderEpoch));
  EXPECT_TRUE(IsRetriable(ErrorCode::kOffsetNotAvailable));
  EXPECT_TRUE(IsRetriable(ErrorCode::kThrottlingQuotaExceeded));
  EXPECT_TRUE(IsRetriable(ErrorCode::kUnknownTopicId));
  EXPECT_FALSE(IsRetriable(ErrorCode::kOffsetOutOfRange));
  EXPECT_FALSE(IsRetriable(ErrorCode::kRebalanceInProgress));
  EXPECT_FALSE(IsRetriable(ErrorCode::kIllegalGeneration));
  EXPECT_FALSE(IsRetriable(ErrorCode::kUnknownMemberId));
  EXPECT_FALSE(IsRetriable(ErrorCode::kTopicAlreadyExists));
  EXPECT_FALSE(IsRetriable(ErrorCode::kUnsupportedVersion));
  EXPECT_FALSE(IsRetriable(ErrorCode::kMessageTooLarge));
  EXPECT_FALSE(IsRetriable(ErrorCode::kMemberIdRequired));

  int retriable = 0;
  for (ErrorCode code : kAllErrorCodes) retriable += IsRetriable(code) ? 1 : 0;
  EXPECT_EQ(retriable, 31);
}

}  // namespace
}  // namespace chronik::protocol
