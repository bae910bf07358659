#include "chronik_ingest/fetch.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/fetch.h"
#include "chronik_protocol/records/legacy_message_set.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/records.h"
#include "chronik_storage/partition_log.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;


// Record batches v2 → message set v0 (Fetch v0-v1) or v1 (Fetch v2-v3), batch by batch, keeping
// offsets and the codec (zstd, which old formats lack, is sent uncompressed).
absl::StatusOr<std::string> DownConvert(std::string_view batches, int8_t magic) {
  std::string out;
  size_t pos = 0;
  while (pos < batches.size()) {
    absl::StatusOr<protocol::RecordBatchView> batch = protocol::RecordBatchView::Parse(batches.substr(pos));
    if (!batch.ok()) return batch.status();
    pos += batch->size_bytes();
    if (batch->is_control()) continue;
    protocol::LegacyMessageSetBuilder::Options options;
    options.magic = magic;
    options.compression =
        batch->compression() == protocol::CompressionType::kZstd ? protocol::CompressionType::kNone : batch->compression();
    options.timestamp_type = batch->timestamp_type() == protocol::TimestampType::kLogAppendTime
                                 ? protocol::TimestampType::kLogAppendTime
                                 : protocol::TimestampType::kCreateTime;
    if (options.timestamp_type == protocol::TimestampType::kLogAppendTime) {
      options.log_append_time_ms = batch->max_timestamp();
    }
    protocol::LegacyMessageSetBuilder builder(options);
    absl::StatusOr<protocol::RecordReader> reader = protocol::RecordReader::Create(*batch, protocol::kMaxDecompressedBatchBytes);
    if (!reader.ok()) return reader.status();
    protocol::RecordView record;
    int appended = 0;
    while (reader->Next(&record)) {
      if (absl::Status s = builder.Append(record.offset, record.timestamp, record.key, record.value); !s.ok()) return s;
      ++appended;
    }
    if (!reader->status().ok()) return reader->status();
    if (appended > 0) {
      if (absl::Status s = builder.BuildAppend(&out); !s.ok()) return s;
    }
  }
  return out;
}

// The records of a read, as the fetch version needs them: v4+ sends the log's own batches, which
// stay in their segment files until the transport sends them from there; older versions get
// message sets converted in memory.
absl::StatusOr<protocol::Records> ToRecords(storage::ReadResult read, int16_t version) {
  if (version >= 4) return std::move(read.records);
  absl::StatusOr<std::string> data = read.records.Flatten();
  if (data.ok() && !data->empty()) data = DownConvert(*data, version <= 1 ? 0 : 1);
  if (!data.ok()) return data.status();
  return protocol::Records(*std::move(data));
}

struct FetchState {
  std::shared_ptr<FetchRequest> request;
  int16_t version = 0;
  // Topic names by request position (v13+ names them by id).
  std::vector<std::shared_ptr<const Topic>> topics;
  // Per topic and partition (request positions): the access decided once, when the request came
  // (BrokerContext::Partition, where authorization sits); a long poll's later reads keep it.
  std::vector<std::vector<absl::Status>> access;
};

// One pass over every requested partition. Returns the response and how many record bytes it
// carries; `any_error` tells whether some partition failed (Kafka answers those at once).
// Sizes as Kafka bounds them: the whole answer by max_bytes and each partition by its
// partition_max_bytes, except that the first batch of the first partition with data is sent
// whole even if larger, so that a consumer always progresses.
FetchResponse ReadOnce(const FetchState& st, const BrokerContext& broker, int64_t* bytes, bool* any_error) {
  const FetchRequest& req = *st.request;
  FetchResponse response;
  response.session_id = 0;
  *bytes = 0;
  *any_error = false;
  int64_t budget = req.max_bytes;
  for (size_t t = 0; t < req.topics.size(); ++t) {
    const auto& topic = req.topics[t];
    auto& tr = response.responses.emplace_back();
    tr.topic = topic.topic;
    tr.topic_id = topic.topic_id;
    const std::shared_ptr<const Topic>& known = st.topics[t];
    for (size_t i = 0; i < topic.partitions.size(); ++i) {
      const auto& p = topic.partitions[i];
      auto& out = tr.partitions.emplace_back();
      out.partition_index = p.partition;
      out.high_watermark = -1;
      out.last_stable_offset = -1;
      out.log_start_offset = -1;
      if (req.isolation_level == 0) out.aborted_transactions.reset();
      if (known == nullptr) {
        out.error_code = static_cast<int16_t>(st.version >= 13 ? ErrorCode::kUnknownTopicId
                                                               : ErrorCode::kUnknownTopicOrPartition);
        *any_error = true;
        continue;
      }
      if (const absl::Status& access = st.access[t][i]; !access.ok()) {
        out.error_code = static_cast<int16_t>(ToKafkaError(access));
        *any_error = true;
        continue;
      }
      // Looked up again each round: the partition may have been deleted since.
      std::shared_ptr<storage::PartitionLog> log = broker.topics->Log(known->name, p.partition);
      if (log == nullptr) {
        out.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
        *any_error = true;
        continue;
      }
      const storage::LogBounds b = log->bounds();
      const storage::TopicPartition tp{known->name, storage::PartitionId(p.partition)};
      // A tiered partition starts where its remote copy does.
      const auto remote = broker.RemoteBounds(tp);
      out.high_watermark = b.high_watermark.value();
      out.last_stable_offset = b.last_stable_offset.value();
      const int64_t start = storage::tiered::ClientLogStart(b, remote).value();
      out.log_start_offset = start;
      out.records = std::string();
      // read_committed reads stop at the last stable offset: beyond it transactions are open.
      const bool committed = req.isolation_level == 1;
      const int64_t end = committed ? out.last_stable_offset : out.high_watermark;
      if (p.fetch_offset == end) continue;  // nothing new yet
      if (st.version <= 3 && !known->downconversion) {
        out.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedVersion);
        *any_error = true;
        continue;
      }
      const bool first_data = *bytes == 0;
      const int64_t limit = std::min<int64_t>(p.partition_max_bytes, budget);
      if (!first_data && limit <= 0) continue;
      // Set by a read from the remote copy, which knows its own aborted transactions.
      std::optional<std::vector<storage::AbortedTxn>> remote_aborted;
      absl::StatusOr<storage::ReadResult> read =
          log->Read(storage::Offset(p.fetch_offset), std::max<int64_t>(limit, 0),
                    committed ? std::optional<storage::Offset>(storage::Offset(end)) : std::nullopt, first_data);
      if (!read.ok() && absl::IsOutOfRange(read.status()) && broker.remote != nullptr && remote.empty() &&
          p.fetch_offset >= b.deleted_below.value() && p.fetch_offset < b.log_start_offset.value() &&
          !broker.remote->Loaded(tp) && log->config().remote_storage) {
        // What lies below the local log is not known until the remote manifest is read.
        read = absl::UnavailableError("the remote copy's manifest is not read yet");
      }
      if (!read.ok() && absl::IsOutOfRange(read.status()) && !remote.empty() && p.fetch_offset >= start &&
          p.fetch_offset < b.log_start_offset.value()) {
        // Below the local log: from the remote copy's cache, or, while a reader fetches it, nothing
        // yet (the reader's end wakes this fetch).
        std::optional<absl::StatusOr<storage::tiered::RemoteLogManager::Read>> cached =
            broker.remote->TryRead(tp, storage::Offset(p.fetch_offset), std::max<int64_t>(limit, 0),
                                   b.log_start_offset);
        if (!cached.has_value()) continue;
        if (cached->ok() && !first_data && (*cached)->bytes.size > limit) continue;
        if (cached->ok()) {
          storage::ReadResult remote_read;
          remote_read.records.shared.push_back(std::move((*cached)->bytes));
          remote_read.next_offset = (*cached)->next_offset;
          remote_aborted = std::move((*cached)->aborted);
          read = std::move(remote_read);
        } else {
          read = cached->status();
        }
      }
      const storage::Offset read_end = read.ok() ? read->next_offset : storage::Offset(p.fetch_offset);
      absl::StatusOr<protocol::Records> data = read.ok() ? ToRecords(*std::move(read), st.version) : read.status();
      if (!data.ok()) {
        out.error_code = static_cast<int16_t>(ToKafkaError(data.status()));
        *any_error = true;
        continue;
      }
      if (committed && !data->empty()) {
        // The aborted transactions the consumer needs to drop their batches from what it got.
        auto& aborted = out.aborted_transactions.emplace();
        for (const storage::AbortedTxn& t :
             remote_aborted ? *remote_aborted : log->AbortedTransactions(storage::Offset(p.fetch_offset), read_end)) {
          auto& a = aborted.emplace_back();
          a.producer_id = t.producer_id;
          a.first_offset = t.first_offset;
        }
      }
      *bytes += data->size();
      budget -= data->size();
      out.records = *std::move(data);
    }
  }
  return response;
}

// A fetch that found less than min_bytes: armed for its partitions before each read, so that new
// data arriving between the read and the wait wakes it instead of being missed.
struct LongPoll : std::enable_shared_from_this<LongPoll> {
  std::shared_ptr<FetchState> st;
  const BrokerContext* broker;
  PartitionEvents* events;
  std::vector<storage::TopicPartition> partitions;
  std::chrono::steady_clock::time_point deadline;
  std::function<void(absl::StatusOr<std::optional<FetchResponse>>)> done;

  // Reads once; answers if that is enough or time is up, else waits for the next event.
  void Round() {
    PartitionEvents::Handle armed = events->Arm(partitions);
    int64_t bytes = 0;
    bool any_error = false;
    FetchResponse r = ReadOnce(*st, *broker, &bytes, &any_error);
    if (any_error || bytes >= st->request->min_bytes || std::chrono::steady_clock::now() >= deadline) {
      events->Cancel(armed);
      return done(std::optional<FetchResponse>(std::move(r)));
    }
    events->Start(armed, deadline, [self = shared_from_this()] { self->Round(); });
  }
};

}  // namespace

void RegisterFetch(HandlerTable& table, const BrokerContext& broker, PartitionEvents& events) {
  table.AddAsync<FetchRequest, FetchResponse>(
      FetchRequest::kMaxVersion,
      [&broker, &events](const RequestContext& ctx, std::shared_ptr<FetchRequest> request, auto done) {
        auto st = std::make_shared<FetchState>();
        st->request = request;
        st->version = ctx.header.api_version;
        if (request->session_id != 0 || request->session_epoch > 0) {
          // No sessions are ever handed out, so any the client names is unknown to us.
          FetchResponse r;
          r.error_code = static_cast<int16_t>(ErrorCode::kFetchSessionIdNotFound);
          return done(std::optional<FetchResponse>(std::move(r)));
        }
        std::vector<storage::TopicPartition> partitions;
        for (const auto& topic : request->topics) {
          std::shared_ptr<const Topic> t =
              st->version >= 13 ? broker.topics->FindById(topic.topic_id) : broker.topics->Find(topic.topic);
          st->topics.push_back(t);
          std::vector<absl::Status>& access = st->access.emplace_back();
          if (t == nullptr) continue;
          for (const auto& p : topic.partitions) {
            access.push_back(broker.Partition(ctx, AclOperation::kRead, t->name, p.partition).status());
            partitions.push_back({t->name, storage::PartitionId(p.partition)});
          }
        }
        if (request->max_wait_ms <= 0 || partitions.empty()) {
          int64_t bytes = 0;
          bool any_error = false;
          return done(std::optional<FetchResponse>(ReadOnce(*st, broker, &bytes, &any_error)));
        }
        auto poll = std::make_shared<LongPoll>();
        poll->st = std::move(st);
        poll->broker = &broker;
        poll->events = &events;
        poll->partitions = std::move(partitions);
        poll->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request->max_wait_ms);
        poll->done = std::move(done);
        poll->Round();
      });
}

}  // namespace chronik::ingest
