#pragma once

// Kafka error codes stay at the protocol edge. Inside, operations fail with absl::Status; where
// Kafka tells apart more cases than absl's codes can (TOPIC_ALREADY_EXISTS vs INVALID_PARTITIONS,
// say), the status carries the Kafka error as a payload, and ToKafkaError is the one place that
// turns any status into the code a response carries.

#include "absl/status/status.h"
#include "chronik_protocol/errors.h"

namespace chronik::ingest {

// `status` (not OK) annotated with the Kafka error that describes it.
absl::Status WithKafkaError(absl::Status status, protocol::ErrorCode code);

// Shorthand for a new annotated status.
absl::Status KafkaError(absl::StatusCode code, protocol::ErrorCode kafka, std::string_view message);

// The annotation if there is one; otherwise the Kafka error for the absl code as storage and
// the codec use them (see chronik_storage/errors.h), and `fallback` for codes with no Kafka
// meaning of their own.
protocol::ErrorCode ToKafkaError(const absl::Status& status,
                                 protocol::ErrorCode fallback = protocol::ErrorCode::kUnknownServerError);

}  // namespace chronik::ingest
