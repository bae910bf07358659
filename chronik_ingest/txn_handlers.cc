#include "chronik_ingest/txn_handlers.h"

#include <string>
#include <vector>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/add_offsets_to_txn.h"
#include "chronik_protocol/messages/add_partitions_to_txn.h"
#include "chronik_protocol/messages/end_txn.h"
#include "chronik_protocol/messages/txn_offset_commit.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

int16_t Code(const absl::Status& s, int16_t version, int16_t first_fenced_version) {
  return static_cast<int16_t>(FencedForVersion(ToKafkaError(s), version, first_fenced_version));
}

void RegisterAddPartitionsToTxn(HandlerTable& table, TxnCoordinator& txns) {
  using protocol::AddPartitionsToTxnRequest;
  using protocol::AddPartitionsToTxnResponse;
  using Topic = AddPartitionsToTxnRequest::AddPartitionsToTxnTopic;
  using TopicResult = AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult;
  table.Add<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(
      AddPartitionsToTxnRequest::kMaxVersion,
      [&txns](const RequestContext& ctx, const AddPartitionsToTxnRequest& request) {
        const int16_t version = ctx.header.api_version;
        // One transaction's answer: per-partition errors, or the transaction's error in each.
        auto add = [&](const std::string& id, int64_t pid, int16_t epoch, const std::vector<Topic>& topics,
                       bool verify_only) {
          std::vector<TxnPartition> partitions;
          for (const Topic& t : topics) {
            for (int32_t p : t.partitions) partitions.push_back({t.name, p});
          }
          absl::StatusOr<std::vector<absl::Status>> r =
              txns.AddPartitions(id, ProducerIdAndEpoch{pid, epoch}, partitions, verify_only);
          std::vector<TopicResult> out;
          size_t i = 0;
          for (const Topic& t : topics) {
            TopicResult& tr = out.emplace_back();
            tr.name = t.name;
            for (int32_t p : t.partitions) {
              auto& pr = tr.results_by_partition.emplace_back();
              pr.partition_index = p;
              pr.partition_error_code = Code(r.ok() ? (*r)[i] : r.status(), version, 2);
              ++i;
            }
          }
          return out;
        };
        AddPartitionsToTxnResponse response;
        if (version <= 3) {
          response.results_by_topic_v3_and_below =
              add(request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
                  request.v3_and_below_producer_epoch, request.v3_and_below_topics, false);
          return response;
        }
        for (const auto& txn : request.transactions) {
          auto& result = response.results_by_transaction.emplace_back();
          result.transactional_id = txn.transactional_id;
          result.topic_results = add(txn.transactional_id, txn.producer_id, txn.producer_epoch, txn.topics,
                                     txn.verify_only);
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterAddOffsetsToTxn(HandlerTable& table, TxnCoordinator& txns) {
  using protocol::AddOffsetsToTxnRequest;
  using protocol::AddOffsetsToTxnResponse;
  table.Add<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>(
      AddOffsetsToTxnRequest::kMaxVersion,
      [&txns](const RequestContext& ctx, const AddOffsetsToTxnRequest& request) {
        AddOffsetsToTxnResponse response;
        response.error_code =
            Code(txns.AddOffsets(request.transactional_id, {request.producer_id, request.producer_epoch},
                                 request.group_id),
                 ctx.header.api_version, 2);
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterEndTxn(HandlerTable& table, TxnCoordinator& txns) {
  using protocol::EndTxnRequest;
  using protocol::EndTxnResponse;
  table.Add<EndTxnRequest, EndTxnResponse>(
      EndTxnRequest::kMaxVersion,
      [&txns](const RequestContext& ctx, const EndTxnRequest& request) {
        EndTxnResponse response;
        response.error_code = Code(txns.EndTxn(request.transactional_id,
                                               {request.producer_id, request.producer_epoch}, request.committed),
                                   ctx.header.api_version, 2);
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterTxnOffsetCommit(HandlerTable& table, TxnCoordinator& txns) {
  using protocol::TxnOffsetCommitRequest;
  using protocol::TxnOffsetCommitResponse;
  table.Add<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(
      TxnOffsetCommitRequest::kMaxVersion,
      [&txns](const RequestContext& ctx, const TxnOffsetCommitRequest& request) {
        const int16_t version = ctx.header.api_version;
        std::vector<OffsetCommitEntry> entries;
        for (const auto& t : request.topics) {
          for (const auto& p : t.partitions) {
            OffsetCommitEntry e;
            e.topic = t.name;
            e.partition = p.partition_index;
            e.offset = p.committed_offset;
            e.leader_epoch = p.committed_leader_epoch;
            e.metadata = p.committed_metadata;
            entries.push_back(std::move(e));
          }
        }
        absl::StatusOr<std::vector<absl::Status>> r = txns.TxnOffsetCommit(
            request.transactional_id, {request.producer_id, request.producer_epoch}, request.group_id,
            request.member_id, request.group_instance_id, request.generation_id, entries);
        TxnOffsetCommitResponse response;
        size_t i = 0;
        for (const auto& t : request.topics) {
          auto& tr = response.topics.emplace_back();
          tr.name = t.name;
          for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            pr.error_code = Code(r.ok() ? (*r)[i] : r.status(), version, 3);
            ++i;
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace

ErrorCode FencedForVersion(ErrorCode code, int16_t version, int16_t first_fenced_version) {
  return code == ErrorCode::kProducerFenced && version < first_fenced_version ? ErrorCode::kInvalidProducerEpoch
                                                                              : code;
}

void RegisterTxnApis(HandlerTable& table, TxnCoordinator& txns) {
  RegisterAddPartitionsToTxn(table, txns);
  RegisterAddOffsetsToTxn(table, txns);
  RegisterEndTxn(table, txns);
  RegisterTxnOffsetCommit(table, txns);
}

}  // namespace chronik::ingest
