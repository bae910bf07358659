#include "chronik_ingest/produce.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

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

// Checks a partition's records and returns the bytes to append (v2 batches).
absl::StatusOr<std::string> Prepare(const std::optional<std::string>& records) {
  if (!records.has_value() || records->empty()) {
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
  if (summary->magic < 2) {
    absl::StatusOr<std::string> converted = UpConvert(*records);
    if (!converted.ok()) return WithKafkaError(converted.status(), ErrorCode::kCorruptMessage);
    return converted;
  }
  return *records;
}

// Collects the partitions' results; the last one to finish sends the response.
struct PendingProduce {
  ProduceResponse response;
  std::mutex mu;
  std::atomic<int> outstanding{0};
  std::function<void(absl::StatusOr<std::optional<ProduceResponse>>)> done;
  bool respond = true;

  void Finish() {
    if (outstanding.fetch_sub(1) != 1) return;
    if (respond) {
      done(std::optional<ProduceResponse>(std::move(response)));
    } else {
      done(std::optional<ProduceResponse>());
    }
  }
};

void SetError(ProduceResponse::PartitionProduceResponse& out, const absl::Status& s) {
  out.error_code = static_cast<int16_t>(ToKafkaError(s, ErrorCode::kUnknownServerError));
  out.base_offset = -1;
  out.error_message = std::string(s.message());
}

}  // namespace

void RegisterProduce(HandlerTable& table, const BrokerContext& broker, PartitionEvents& events) {
  table.AddAsync<ProduceRequest, ProduceResponse>(
      ProduceRequest::kMaxVersion,
      [&broker, &events](const RequestContext& ctx, std::shared_ptr<ProduceRequest> request, auto done) {
        auto pending = std::make_shared<PendingProduce>();
        pending->done = std::move(done);
        pending->respond = request->acks != 0;
        // One extra count held while the partitions are dispatched, so no early Finish answers.
        pending->outstanding = 1;
        const bool valid_acks = request->acks == 0 || request->acks == 1 || request->acks == -1;
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
            std::shared_ptr<storage::PartitionLog> log =
                known == nullptr ? nullptr : broker.topics->Log(topic.name, pd.index);
            if (log == nullptr) {
              SetError(out, KafkaError(absl::StatusCode::kNotFound, ErrorCode::kUnknownTopicOrPartition,
                                       "This server does not host this topic-partition."));
              continue;
            }
            absl::StatusOr<std::string> batches = Prepare(pd.records);
            if (!batches.ok()) {
              SetError(out, batches.status());
              continue;
            }
            // The response vector is sized up front, so this element's address stays valid.
            ++pending->outstanding;
            storage::TopicPartition tp{topic.name, storage::PartitionId(pd.index)};
            log->Append(*std::move(batches), storage::LeaderEpoch(0),
                        [pending, &out, &events, tp](absl::StatusOr<storage::AppendResult> r) {
                          {
                            std::lock_guard<std::mutex> lock(pending->mu);
                            if (r.ok()) {
                              out.base_offset = r->base_offset.value();
                              out.log_append_time_ms = r->log_append_time_ms;
                              out.log_start_offset = r->log_start_offset.value();
                            } else {
                              SetError(out, r.status());
                            }
                          }
                          if (r.ok()) events.Notify(tp);
                          pending->Finish();
                        });
          }
        }
        pending->Finish();
      });
}

}  // namespace chronik::ingest
