#include "chronik_ingest/produce.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chronik_storage/big_endian.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/produce.h"
#include "chronik_protocol/records/legacy_message_set.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_protocol/records/records.h"
#include "chronik_storage/partition_log.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using protocol::ProduceRequest;
using protocol::ProduceResponse;


// Message sets v0/v1 (old clients, e.g. kafka-python pinned to 0.10) become one record batch v2
// with the same records, timestamps and codec, which is what Kafka 3.x stores too.
absl::StatusOr<std::string> UpConvert(std::string_view message_set) {
  protocol::LegacyMessageSetReader reader = protocol::LegacyMessageSetReader::ForProduce(message_set, protocol::kMaxDecompressedBatchBytes);
  protocol::LegacyMessageView m;
  std::optional<protocol::RecordBatchBuilder> builder;
  while (reader.Next(&m)) {
    if (!builder.has_value()) {
      protocol::RecordBatchBuilder::Options options;
      options.compression = m.compression();
      builder.emplace(options);
    }
    if (absl::Status s = builder->Append(m.timestamp, m.key, m.value); !s.ok()) return s;
  }
  if (!reader.status().ok()) return reader.status();
  if (!builder.has_value()) return absl::InvalidArgumentError("empty message set");
  return builder->Build();
}

// The CreateTime timestamps a topic accepts now.
struct TimestampBounds {
  bool check = false;
  int64_t lowest = 0;
  int64_t highest = 0;
};

TimestampBounds BoundsFor(const TimestampLimits& limits, int64_t now_ms) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  TimestampBounds b;
  if (!limits.create_time) return b;
  // Both limits are >= 0 (validated), and now_ms is positive: only the sum can overflow.
  b.lowest = limits.before_max_ms == kMax ? kMin : now_ms - limits.before_max_ms;
  b.highest = limits.after_max_ms > kMax - now_ms ? kMax : now_ms + limits.after_max_ms;
  b.check = b.lowest != kMin || b.highest != kMax;
  return b;
}

// Checks a partition's records and returns the bytes to append (v2 batches), taking them from
// the decoded request rather than copying them.
// The records in v2 batches (each: base offset, length, ..., record count at byte 57).
int64_t CountRecords(const std::string& batches) {
  int64_t records = 0;
  for (size_t at = 0; at + 61 <= batches.size();) {
    records += static_cast<int32_t>(storage::LoadBe32(batches.data() + at + 57));
    at += 12 + storage::LoadBe32(batches.data() + at + 8);
  }
  return records;
}

absl::StatusOr<std::string> Prepare(std::optional<protocol::Records>& decoded, const TimestampBounds& bounds) {
  // A decoded request holds its records as bytes.
  std::string* records = decoded.has_value() ? &decoded->bytes : nullptr;
  if (records == nullptr || records->empty()) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidRecord, "no records");
  }
  absl::StatusOr<protocol::ProducedRecordsSummary> summary =
      protocol::ValidateProducedRecords(*records, protocol::kMaxDecompressedBatchBytes);
  if (!summary.ok()) {
    const ErrorCode code = summary.status().code() == absl::StatusCode::kUnimplemented
                               ? ErrorCode::kUnsupportedCompressionType
                               : ErrorCode::kCorruptMessage;
    return WithKafkaError(summary.status(), code);
  }
  // Transaction markers are the broker's to write (as Kafka's LogValidator refuses them).
  if (summary->has_control) {
    return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidRecord,
                      "control batches are written by the broker, not produced");
  }
  // Magic 0 has no timestamps to check.
  if (bounds.check && summary->magic >= 1 && summary->min_timestamp <= summary->max_timestamp) {
    for (int64_t ts : {summary->min_timestamp, summary->max_timestamp}) {
      if (ts < bounds.lowest || ts > bounds.highest) {
        return KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidTimestamp,
                          absl::StrCat("Timestamp ", ts, " of a record is out of range. The timestamp should be within [",
                                       bounds.lowest, ", ", bounds.highest, "]"));
      }
    }
  }
  if (summary->magic < 2) {
    absl::StatusOr<std::string> converted = UpConvert(*records);
    if (!converted.ok()) return WithKafkaError(converted.status(), ErrorCode::kCorruptMessage);
    return converted;
  }
  return std::move(*records);
}

// The verifier of requests without a transactional id: their transactional batches belong to no
// transaction (as Kafka, which authorizes such batches by the transactional id, refuses them).
absl::Status NoTransaction(int64_t producer_id, int16_t) {
  return KafkaError(absl::StatusCode::kFailedPrecondition, ErrorCode::kInvalidTxnState,
                    absl::StrCat("transactional batch of producer ", producer_id, " in a request without a transactional id"));
}
const storage::TxnVerifier kNoTransaction = NoTransaction;

void SetError(ProduceResponse::PartitionProduceResponse& out, const absl::Status& s) {
  out.error_code = static_cast<int16_t>(ToKafkaError(s, ErrorCode::kUnknownServerError));
  out.base_offset = -1;
  out.error_message = std::string(s.message());
}

// Collects the partitions' results; whoever completes the request (the last append, or the
// timeout) sends the response, exactly once.
struct PendingProduce {
  ProduceResponse response;
  std::function<void(absl::StatusOr<std::optional<ProduceResponse>>)> done;
  bool respond = true;
  PartitionEvents* events = nullptr;
  PartitionEvents::Handle timeout;

  std::mutex mu;
  int outstanding = 1;  // appends in flight, plus one while the request is being dispatched
  bool answered = false;
  std::set<ProduceResponse::PartitionProduceResponse*> in_flight;

  // One append (or the dispatch) is over; answers if it was the last.
  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (--outstanding != 0 || answered) return;
      answered = true;
    }
    if (events != nullptr) events->Cancel(timeout);
    Answer();
  }

  // timeout_ms passed before every acks=all append was durable: those partitions get
  // REQUEST_TIMED_OUT (their records may still be written, as in Kafka).
  void TimeOut() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (answered) return;
      answered = true;
      for (ProduceResponse::PartitionProduceResponse* out : in_flight) {
        SetError(*out, KafkaError(absl::StatusCode::kDeadlineExceeded, ErrorCode::kRequestTimedOut,
                                  "the records were not durable within the request's timeout"));
      }
    }
    Answer();
  }

  void Answer() {
    if (respond) {
      done(std::optional<ProduceResponse>(std::move(response)));
    } else {
      done(std::optional<ProduceResponse>());
    }
  }
};

}  // namespace

void RegisterProduce(HandlerTable& table, const BrokerContext& broker, PartitionEvents& events,
                     const TxnCoordinator* verify) {
  table.AddAsync<ProduceRequest, ProduceResponse>(
      ProduceRequest::kMaxVersion,
      [&broker, &events, verify](const RequestContext& ctx, std::shared_ptr<ProduceRequest> request, auto done) {
        auto pending = std::make_shared<PendingProduce>();
        pending->done = std::move(done);
        pending->respond = request->acks != 0;
        const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
        const bool valid_acks = request->acks == 0 || request->acks == 1 || request->acks == -1;
        // A transactional producer writes in the name of its transactional id.
        const bool txn_id_denied =
            request->transactional_id.has_value() &&
            !broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTransactionalId, *request->transactional_id);
        // Callbacks hold references into the response: nothing may reallocate under them.
        pending->response.responses.reserve(request->topic_data.size());
        for (auto& topic : request->topic_data) {
          ProduceResponse::TopicProduceResponse& tr = pending->response.responses.emplace_back();
          tr.name = topic.name;
          tr.partition_responses.resize(topic.partition_data.size());
          std::shared_ptr<const Topic> known = broker.topics->Find(topic.name);
          for (size_t i = 0; i < topic.partition_data.size(); ++i) {
            auto& pd = topic.partition_data[i];
            ProduceResponse::PartitionProduceResponse& out = tr.partition_responses[i];
            out.index = pd.index;
            if (!valid_acks) {
              SetError(out, KafkaError(absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidRequiredAcks,
                                       "acks must be 0, 1 or -1"));
              continue;
            }
            if (txn_id_denied) {
              SetError(out, KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kTransactionalIdAuthorizationFailed,
                                       "Transactional Id authorization failed."));
              continue;
            }
            absl::StatusOr<std::shared_ptr<storage::PartitionLog>> log =
                broker.Partition(ctx, AclOperation::kWrite, topic.name, pd.index);
            if (!log.ok() || known == nullptr) {
              SetError(out, log.ok() ? KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                                                  "This server does not host this topic-partition.")
                                     : log.status());
              continue;
            }
            // One node is the whole in-sync replica set, so acks=all can never meet more than 1.
            if (request->acks == -1 && known->min_insync_replicas > 1) {
              SetError(out, KafkaError(absl::StatusCode::kFailedPrecondition, ErrorCode::kNotEnoughReplicas,
                                       absl::StrCat("The size of the current ISR 1 is insufficient to satisfy the "
                                                    "min.isr requirement of ",
                                                    known->min_insync_replicas, " for partition ", topic.name, "-",
                                                    pd.index)));
              continue;
            }
            absl::StatusOr<std::string> batches = Prepare(pd.records, BoundsFor(known->timestamps, now_ms));
            if (!batches.ok()) {
              SetError(out, batches.status());
              continue;
            }
            if (broker.on_produced) broker.on_produced(topic.name, CountRecords(*batches), batches->size());
            // KIP-890 part 1: a transactional batch goes only to a partition of its producer's
            // ongoing transaction (asked under the partition's lock, see PartitionLog::Append).
            // Only a transactional producer's request (one naming its transactional id) needs the
            // id and partition; any other request's transactional batches are refused outright,
            // so a plain produce builds no closure here.
            storage::TxnVerifier verifier;
            if (verify != nullptr && request->transactional_id.has_value()) {
              verifier = [verify, request, &topic, partition = pd.index](int64_t producer_id, int16_t producer_epoch) {
                return verify->VerifyProduce(*request->transactional_id, {producer_id, producer_epoch},
                                             TxnPartition{topic.name, partition});
              };
            } else if (verify != nullptr) {
              verifier = kNoTransaction;
            }
            // The response vector is sized up front, so this element's address stays valid.
            {
              std::lock_guard<std::mutex> lock(pending->mu);
              ++pending->outstanding;
              pending->in_flight.insert(&out);
            }
            (*log)->Append(*std::move(batches), storage::LeaderEpoch(0),
                        [pending, &out, &broker, request, &topic](absl::StatusOr<storage::AppendResult> r) {
                          if (r.ok() && broker.on_stored) {
                            broker.on_stored(topic.name, r->last_offset.value() - r->base_offset.value() + 1);
                          }
                          {
                            std::lock_guard<std::mutex> lock(pending->mu);
                            pending->in_flight.erase(&out);
                            if (pending->answered) {
                              // Answered by the timeout already; the response is gone.
                            } else if (r.ok()) {
                              out.base_offset = r->base_offset.value();
                              out.log_append_time_ms = r->log_append_time_ms;
                              out.log_start_offset = r->log_start_offset.value();
                            } else {
                              SetError(out, r.status());
                            }
                          }
                          pending->Finish();
                        },
                        verifier);
          }
        }
        // acks=all waits for durability at most timeout_ms (acks=1 answers after the local write).
        if (request->acks == -1 && request->timeout_ms >= 0) {
          std::lock_guard<std::mutex> lock(pending->mu);
          if (pending->outstanding > 1) {
            pending->events = &events;
            pending->timeout = events.Wait({}, std::chrono::steady_clock::now() +
                                                   std::chrono::milliseconds(request->timeout_ms),
                                           [pending] { pending->TimeOut(); });
          }
        }
        pending->Finish();
      },
      HandlerTraits{.pipelined = true});
}

}  // namespace chronik::ingest
