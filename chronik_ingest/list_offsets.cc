#include "chronik_ingest/list_offsets.h"

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/list_offsets.h"
#include "chronik_storage/partition_log.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
// KIP-405: the local log's start (v8+) and the last offset in remote storage (v9+).
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;

}  // namespace

void RegisterListOffsets(HandlerTable& table, const BrokerContext& broker) {
  table.Add<ListOffsetsRequest, ListOffsetsResponse>(
      ListOffsetsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const ListOffsetsRequest& request) {
        const int16_t version = ctx.header.api_version;
        ListOffsetsResponse response;
        for (const auto& topic : request.topics) {
          auto& tr = response.topics.emplace_back();
          tr.name = topic.name;
          for (const auto& p : topic.partitions) {
            auto& out = tr.partitions.emplace_back();
            out.partition_index = p.partition_index;
            absl::StatusOr<std::shared_ptr<storage::PartitionLog>> found =
                broker.Partition(ctx, AclOperation::kDescribe, topic.name, p.partition_index);
            if (!found.ok()) {
              out.error_code = static_cast<int16_t>(ToKafkaError(found.status()));
              continue;
            }
            const std::shared_ptr<storage::PartitionLog>& log = *found;
            const storage::TopicPartition tp{topic.name, storage::PartitionId(p.partition_index)};
            const auto remote = broker.RemoteBounds(tp);
            int64_t offset = -1;
            int64_t timestamp = -1;
            if (p.timestamp != kLatest && broker.remote != nullptr && !broker.remote->Loaded(tp) &&
                log->config().remote_storage) {
              // Where a tiered partition starts is not known until its remote manifest is read.
              out.error_code = static_cast<int16_t>(ErrorCode::kKafkaStorageError);
              continue;
            }
            if (p.timestamp == kLatest) {
              // read_committed consumers (isolation_level 1, v2+) end at the last stable offset.
              offset = request.isolation_level == 1 ? log->last_stable_offset().value() : log->high_watermark().value();
            } else if (p.timestamp == kEarliest) {
              offset = storage::tiered::ClientLogStart(log->bounds(), remote).value();
            } else if (p.timestamp == kEarliestLocal && version >= 8) {
              offset = log->log_start_offset().value();
            } else if (p.timestamp == kLatestTiered && version >= 9) {
              offset = remote.empty() ? -1 : remote.end.value() - 1;
            } else {
              // Below the local log, a tiered partition's records are in its remote copy.
              absl::StatusOr<std::optional<storage::TimestampAndOffset>> found =
                  p.timestamp == kMaxTimestamp ? log->OffsetOfMaxTimestamp()
                  : !remote.empty() && remote.start < log->log_start_offset()
                      ? broker.remote->OffsetForTimestamp(tp, p.timestamp, log->bounds().deleted_below)
                      : std::optional<storage::TimestampAndOffset>();
              if (found.ok() && !found->has_value() && p.timestamp != kMaxTimestamp) {
                found = log->OffsetForTimestamp(p.timestamp);
              }
              if (!found.ok()) {
                out.error_code = static_cast<int16_t>(ToKafkaError(found.status()));
                continue;
              }
              // No record at or after the timestamp: Kafka answers offset -1 and timestamp -1; so for
              // read_committed (isolation_level 1) when that record is not yet stable.
              if (found->has_value() && request.isolation_level == 1 &&
                  (*found)->offset >= log->last_stable_offset()) {
                found->reset();
              }
              if (found->has_value()) {
                offset = (*found)->offset.value();
                timestamp = (*found)->timestamp;
              }
            }
            if (version == 0) {
              // v0 answers a list of offsets (at most max_num_offsets); one is all it needs.
              if (offset >= 0 && p.max_num_offsets > 0) out.old_style_offsets.push_back(offset);
            } else {
              out.offset = offset;
              out.timestamp = timestamp;
              out.leader_epoch = 0;
            }
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace chronik::ingest
