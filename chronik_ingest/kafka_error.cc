#include "chronik_ingest/kafka_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "chronik_storage/producer_state.h"

namespace chronik::ingest {
namespace {

constexpr char kPayloadUrl[] = "type.chronik/kafka-error";

}  // namespace

absl::Status WithKafkaError(absl::Status status, protocol::ErrorCode code) {
  const int16_t v = static_cast<int16_t>(code);
  const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  status.SetPayload(kPayloadUrl, absl::Cord(absl::string_view(bytes, 2)));
  return status;
}

absl::Status KafkaError(absl::StatusCode code, protocol::ErrorCode kafka, std::string_view message) {
  return WithKafkaError(absl::Status(code, absl::string_view(message.data(), message.size())), kafka);
}

protocol::ErrorCode ToKafkaError(const absl::Status& status, protocol::ErrorCode fallback) {
  using protocol::ErrorCode;
  if (status.ok()) return ErrorCode::kNone;
  if (auto p = status.GetPayload(kPayloadUrl); p.has_value()) {
    const std::string b(*p);
    if (b.size() == 2) {
      return protocol::ErrorCodeFromInt(
          static_cast<int16_t>((static_cast<uint8_t>(b[0]) << 8) | static_cast<uint8_t>(b[1])));
    }
  }
  if (std::optional<storage::ProducerError> p = storage::GetProducerError(status)) {
    return *p == storage::ProducerError::kInvalidEpoch ? ErrorCode::kInvalidProducerEpoch
                                                       : ErrorCode::kOutOfOrderSequenceNumber;
  }
  switch (status.code()) {
    case absl::StatusCode::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    case absl::StatusCode::kUnavailable:
      return ErrorCode::kKafkaStorageError;
    case absl::StatusCode::kResourceExhausted:
      return ErrorCode::kMessageTooLarge;
    case absl::StatusCode::kDataLoss:
      return ErrorCode::kCorruptMessage;
    case absl::StatusCode::kNotFound:
      return ErrorCode::kUnknownTopicOrPartition;
    case absl::StatusCode::kAlreadyExists:
      return ErrorCode::kTopicAlreadyExists;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorCode::kRequestTimedOut;
    default:
      return fallback;
  }
}

}  // namespace chronik::ingest
