#include "chronik_ingest/partition_admin.h"

#include <sys/statvfs.h>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/delete_records.h"
#include "chronik_protocol/messages/describe_cluster.h"
#include "chronik_protocol/messages/describe_log_dirs.h"
#include "chronik_protocol/messages/offset_for_leader_epoch.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/tiered/remote_log.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

// The leader epoch of every partition: one broker, never a new leader.
constexpr int32_t kLeaderEpoch = 0;
// DescribeCluster's endpoint type for brokers (2 is controllers, which do not exist apart here).
constexpr int8_t kBrokerEndpoints = 1;
// DeleteRecords: offset -1 means "up to the high watermark".
constexpr int64_t kHighWatermark = -1;

int16_t Code(ErrorCode c) { return static_cast<int16_t>(c); }

void RegisterDeleteRecords(HandlerTable& table, const BrokerContext& broker) {
  using protocol::DeleteRecordsRequest;
  using protocol::DeleteRecordsResponse;
  table.Add<DeleteRecordsRequest, DeleteRecordsResponse>(
      DeleteRecordsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const DeleteRecordsRequest& request) {
        DeleteRecordsResponse response;
        for (const auto& topic : request.topics) {
          auto& tr = response.topics.emplace_back();
          tr.name = topic.name;
          for (const auto& p : topic.partitions) {
            auto& out = tr.partitions.emplace_back();
            out.partition_index = p.partition_index;
            out.low_watermark = -1;
            absl::StatusOr<std::shared_ptr<storage::PartitionLog>> found =
                broker.Partition(ctx, AclOperation::kDelete, topic.name, p.partition_index);
            if (!found.ok()) {
              out.error_code = Code(ToKafkaError(found.status()));
              continue;
            }
            const std::shared_ptr<storage::PartitionLog>& log = *found;
            const int64_t before = p.offset == kHighWatermark ? log->high_watermark().value() : p.offset;
            if (before < 0) {
              out.error_code = Code(ErrorCode::kOffsetOutOfRange);
              continue;
            }
            const std::string partition_name = topic.name + "-" + std::to_string(p.partition_index);
            if (absl::Status s = log->DeleteRecordsBefore(storage::Offset(before)); !s.ok()) {
              out.error_code = Code(ToKafkaError(s));
              broker.AuditAdmin(ctx, "DeleteRecords", ResourceType::kTopic, partition_name, out.error_code,
                                std::string(s.message()));
              continue;
            }
            // A tiered partition's remote copy may start below the local log.
            const storage::TopicPartition tp{topic.name, storage::PartitionId(p.partition_index)};
            out.low_watermark = storage::tiered::ClientLogStart(log->bounds(), broker.RemoteBounds(tp)).value();
            spdlog::info("deleted records of {}-{} below offset {} for {}", topic.name, p.partition_index,
                         out.low_watermark, ctx.session.peer);
            broker.AuditAdmin(ctx, "DeleteRecords", ResourceType::kTopic, partition_name, 0,
                              "below offset " + std::to_string(out.low_watermark));
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterOffsetForLeaderEpoch(HandlerTable& table, const BrokerContext& broker) {
  using protocol::OffsetForLeaderEpochRequest;
  using protocol::OffsetForLeaderEpochResponse;
  table.Add<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(
      OffsetForLeaderEpochRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const OffsetForLeaderEpochRequest& request) {
        OffsetForLeaderEpochResponse response;
        for (const auto& topic : request.topics) {
          auto& tr = response.topics.emplace_back();
          tr.topic = topic.topic;
          for (const auto& p : topic.partitions) {
            auto& out = tr.partitions.emplace_back();
            out.partition = p.partition;
            absl::StatusOr<std::shared_ptr<storage::PartitionLog>> log =
                broker.Partition(ctx, AclOperation::kDescribe, topic.topic, p.partition);
            if (!log.ok()) {
              out.error_code = Code(ToKafkaError(log.status()));
            } else if (p.current_leader_epoch > kLeaderEpoch) {
              out.error_code = Code(ErrorCode::kUnknownLeaderEpoch);
            } else if (p.current_leader_epoch >= 0 && p.current_leader_epoch < kLeaderEpoch) {
              out.error_code = Code(ErrorCode::kFencedLeaderEpoch);
            } else if (p.leader_epoch > kLeaderEpoch || p.leader_epoch < 0) {
              // An epoch this log never had: Kafka's undefined epoch and offset.
              out.leader_epoch = -1;
              out.end_offset = -1;
            } else {
              // Epoch 0 is the only one and ends at the log end.
              out.leader_epoch = kLeaderEpoch;
              out.end_offset = (*log)->log_end_offset().value();
            }
          }
        }
        return response;
      });
}

void RegisterDescribeLogDirs(HandlerTable& table, const BrokerContext& broker) {
  using protocol::DescribeLogDirsRequest;
  using protocol::DescribeLogDirsResponse;
  table.Add<DescribeLogDirsRequest, DescribeLogDirsResponse>(
      DescribeLogDirsRequest::kMaxVersion, [&broker](const RequestContext& ctx, const DescribeLogDirsRequest& request) {
        DescribeLogDirsResponse response;
        if (!broker.AuthorizedCluster(ctx, AclOperation::kDescribe)) {
          response.error_code = Code(ErrorCode::kClusterAuthorizationFailed);
          return response;
        }
        auto& dir = response.results.emplace_back();
        dir.log_dir = broker.log_dir;
        struct statvfs fs {};
        if (::statvfs(broker.log_dir.c_str(), &fs) == 0) {
          dir.total_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
          dir.usable_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
        }
        auto describe = [&](const Topic& topic, const std::vector<int32_t>& partitions) {
          auto& t = dir.topics.emplace_back();
          t.name = topic.name;
          for (int32_t p : partitions) {
            std::shared_ptr<storage::PartitionLog> log = broker.topics->Log(topic.name, p);
            if (log == nullptr) continue;
            auto& out = t.partitions.emplace_back();
            out.partition_index = p;
            out.partition_size = log->size_bytes();
            out.offset_lag = 0;
            out.is_future_key = false;
          }
        };
        if (!request.topics.has_value()) {
          for (const auto& topic : broker.topics->List()) {
            std::vector<int32_t> all(static_cast<size_t>(topic->partitions));
            for (int32_t p = 0; p < topic->partitions; ++p) all[static_cast<size_t>(p)] = p;
            describe(*topic, all);
          }
        } else {
          for (const auto& wanted : *request.topics) {
            if (std::shared_ptr<const Topic> topic = broker.topics->Find(wanted.topic)) {
              describe(*topic, wanted.partitions);
            }
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterDescribeCluster(HandlerTable& table, const BrokerContext& broker) {
  using protocol::DescribeClusterRequest;
  using protocol::DescribeClusterResponse;
  table.Add<DescribeClusterRequest, DescribeClusterResponse>(
      DescribeClusterRequest::kMaxVersion, [&broker](const RequestContext& ctx, const DescribeClusterRequest& request) {
        DescribeClusterResponse response;
        response.endpoint_type = request.endpoint_type;
        if (request.endpoint_type != kBrokerEndpoints) {
          response.error_code = Code(ErrorCode::kUnsupportedEndpointType);
          response.error_message = "This broker describes brokers only (endpoint type 1)";
          return response;
        }
        response.cluster_id = broker.identity.cluster_id;
        response.controller_id = broker.identity.node_id;
        auto& b = response.brokers.emplace_back();
        b.broker_id = broker.identity.node_id;
        const AdvertisedEndpoint& endpoint = broker.identity.AdvertisedFor(ctx.session);
        b.host = endpoint.host;
        b.port = endpoint.port;
        b.rack = broker.identity.rack;
        if (request.include_cluster_authorized_operations) {
          response.cluster_authorized_operations =
              broker.AuthorizedOperations(ctx, ResourceType::kCluster, auth::kClusterResourceName);
        }
        return response;
      });
}

}  // namespace

void RegisterPartitionAdmin(HandlerTable& table, const BrokerContext& broker) {
  RegisterDeleteRecords(table, broker);
  RegisterOffsetForLeaderEpoch(table, broker);
  RegisterDescribeLogDirs(table, broker);
  RegisterDescribeCluster(table, broker);
}

}  // namespace chronik::ingest
