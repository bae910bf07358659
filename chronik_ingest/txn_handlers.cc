#include "chronik_ingest/txn_handlers.h"

#include <set>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/add_offsets_to_txn.h"
#include "chronik_protocol/messages/add_partitions_to_txn.h"
#include "chronik_protocol/messages/describe_producers.h"
#include "chronik_protocol/messages/describe_transactions.h"
#include "chronik_protocol/messages/list_transactions.h"
#include "chronik_protocol/messages/end_txn.h"
#include "chronik_protocol/messages/txn_offset_commit.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

int16_t Code(const absl::Status& s, int16_t version, int16_t first_fenced_version) {
  return static_cast<int16_t>(FencedForVersion(ToKafkaError(s), version, first_fenced_version));
}

void RegisterAddPartitionsToTxn(HandlerTable& table, const BrokerContext& broker, TxnCoordinator& txns) {
  using protocol::AddPartitionsToTxnRequest;
  using protocol::AddPartitionsToTxnResponse;
  using Topic = AddPartitionsToTxnRequest::AddPartitionsToTxnTopic;
  using TopicResult = AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult;
  table.Add<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(
      AddPartitionsToTxnRequest::kMaxVersion,
      [&broker, &txns](const RequestContext& ctx, const AddPartitionsToTxnRequest& request) {
        const int16_t version = ctx.header.api_version;
        // One transaction's answer: per-partition errors, or the transaction's error in each.
        auto add = [&](const std::string& id, int64_t pid, int16_t epoch, const std::vector<Topic>& topics,
                       bool verify_only) {
          // The transactional id, then every topic, must allow WRITE; a denial fails the whole
          // transaction's answer (topics denied get their error, the rest OPERATION_NOT_ATTEMPTED).
          absl::Status denied;
          std::set<std::string> denied_topics;
          if (!broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTransactionalId, id)) {
            denied = KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kTransactionalIdAuthorizationFailed,
                                "Transactional Id authorization failed.");
          } else {
            for (const Topic& t : topics) {
              if (!broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTopic, t.name)) {
                denied_topics.insert(t.name);
              }
            }
          }
          std::vector<TxnPartition> partitions;
          for (const Topic& t : topics) {
            for (int32_t p : t.partitions) partitions.push_back({t.name, p});
          }
          absl::StatusOr<std::vector<absl::Status>> r = std::vector<absl::Status>();
          if (!denied.ok()) {
            r = denied;
          } else if (!denied_topics.empty()) {
            std::vector<absl::Status> each;
            for (const TxnPartition& p : partitions) {
              each.push_back(denied_topics.contains(p.topic)
                                 ? KafkaError(absl::StatusCode::kPermissionDenied,
                                              ErrorCode::kTopicAuthorizationFailed, "Topic authorization failed.")
                                 : KafkaError(absl::StatusCode::kAborted, ErrorCode::kOperationNotAttempted,
                                              "Another partition of the request was refused."));
            }
            r = std::move(each);
          } else {
            r = txns.AddPartitions(id, ProducerIdAndEpoch{pid, epoch}, partitions, verify_only);
          }
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
        // v4+ (batched, VerifyOnly) is how brokers talk to the coordinator: CLUSTER_ACTION.
        if (!broker.AuthorizedCluster(ctx, AclOperation::kClusterAction)) {
          response.error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed);
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

void RegisterAddOffsetsToTxn(HandlerTable& table, const BrokerContext& broker, TxnCoordinator& txns) {
  using protocol::AddOffsetsToTxnRequest;
  using protocol::AddOffsetsToTxnResponse;
  table.Add<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>(
      AddOffsetsToTxnRequest::kMaxVersion,
      [&broker, &txns](const RequestContext& ctx, const AddOffsetsToTxnRequest& request) {
        AddOffsetsToTxnResponse response;
        if (!broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
          response.error_code = static_cast<int16_t>(ErrorCode::kTransactionalIdAuthorizationFailed);
          return response;
        }
        if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
          response.error_code = static_cast<int16_t>(ErrorCode::kGroupAuthorizationFailed);
          return response;
        }
        response.error_code =
            Code(txns.AddOffsets(request.transactional_id, {request.producer_id, request.producer_epoch},
                                 request.group_id),
                 ctx.header.api_version, 2);
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterEndTxn(HandlerTable& table, const BrokerContext& broker, TxnCoordinator& txns) {
  using protocol::EndTxnRequest;
  using protocol::EndTxnResponse;
  table.Add<EndTxnRequest, EndTxnResponse>(
      EndTxnRequest::kMaxVersion,
      [&broker, &txns](const RequestContext& ctx, const EndTxnRequest& request) {
        EndTxnResponse response;
        if (!broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
          response.error_code = static_cast<int16_t>(ErrorCode::kTransactionalIdAuthorizationFailed);
          return response;
        }
        response.error_code = Code(txns.EndTxn(request.transactional_id,
                                               {request.producer_id, request.producer_epoch}, request.committed),
                                   ctx.header.api_version, 2);
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterTxnOffsetCommit(HandlerTable& table, const BrokerContext& broker, TxnCoordinator& txns) {
  using protocol::TxnOffsetCommitRequest;
  using protocol::TxnOffsetCommitResponse;
  table.Add<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(
      TxnOffsetCommitRequest::kMaxVersion,
      [&broker, &txns](const RequestContext& ctx, const TxnOffsetCommitRequest& request) {
        const int16_t version = ctx.header.api_version;
        // The transactional id (WRITE) and the group (READ) fail every partition; a topic without
        // READ fails its own.
        std::optional<ErrorCode> all_denied;
        if (!broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
          all_denied = ErrorCode::kTransactionalIdAuthorizationFailed;
        } else if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
          all_denied = ErrorCode::kGroupAuthorizationFailed;
        }
        std::set<std::string> denied_topics;
        std::vector<OffsetCommitEntry> entries;
        for (const auto& t : request.topics) {
          if (all_denied.has_value()) continue;
          if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kTopic, t.name)) {
            denied_topics.insert(t.name);
            continue;
          }
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
        absl::StatusOr<std::vector<absl::Status>> r = std::vector<absl::Status>();
        if (!all_denied.has_value() && !entries.empty()) {
          r = txns.TxnOffsetCommit(request.transactional_id, {request.producer_id, request.producer_epoch},
                                   request.group_id, request.member_id, request.group_instance_id,
                                   request.generation_id, entries);
        }
        TxnOffsetCommitResponse response;
        size_t i = 0;
        for (const auto& t : request.topics) {
          auto& tr = response.topics.emplace_back();
          tr.name = t.name;
          for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            if (all_denied.has_value()) {
              pr.error_code = static_cast<int16_t>(*all_denied);
            } else if (denied_topics.contains(t.name)) {
              pr.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
            } else {
              pr.error_code = Code(r.ok() ? (*r)[i] : r.status(), version, 3);
              ++i;
            }
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterDescribeProducers(HandlerTable& table, const BrokerContext& broker) {
  using protocol::DescribeProducersRequest;
  using protocol::DescribeProducersResponse;
  table.Add<DescribeProducersRequest, DescribeProducersResponse>(
      DescribeProducersRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const DescribeProducersRequest& request) {
        DescribeProducersResponse response;
        for (const auto& topic : request.topics) {
          auto& tr = response.topics.emplace_back();
          tr.name = topic.name;
          for (int32_t index : topic.partition_indexes) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = index;
            absl::StatusOr<std::shared_ptr<storage::PartitionLog>> log =
                broker.Partition(ctx, AclOperation::kRead, topic.name, index);
            if (!log.ok()) {
              pr.error_code = static_cast<int16_t>(ToKafkaError(log.status()));
              pr.error_message = std::string(log.status().message());
              continue;
            }
            for (const storage::ProducerInfo& p : (*log)->Producers()) {
              auto& out = pr.active_producers.emplace_back();
              out.producer_id = p.producer_id;
              out.producer_epoch = p.epoch;
              out.last_sequence = p.last_sequence;
              out.last_timestamp = p.last_append_ms;
              out.coordinator_epoch = 0;  // one coordinator, never moved
              out.current_txn_start_offset = p.txn_first_offset;
            }
          }
        }
        return response;
      });
}

void RegisterDescribeTransactions(HandlerTable& table, const BrokerContext& broker, const TxnCoordinator& txns) {
  using protocol::DescribeTransactionsRequest;
  using protocol::DescribeTransactionsResponse;
  table.Add<DescribeTransactionsRequest, DescribeTransactionsResponse>(
      DescribeTransactionsRequest::kMaxVersion,
      [&broker, &txns](const RequestContext& ctx, const DescribeTransactionsRequest& request) {
        DescribeTransactionsResponse response;
        for (const std::string& id : request.transactional_ids) {
          auto& out = response.transaction_states.emplace_back();
          out.transactional_id = id;
          std::optional<TxnDescription> d;
          const bool allowed = broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kTransactionalId, id);
          if (allowed) d = txns.Describe(id);
          if (!d.has_value()) {
            out.error_code = static_cast<int16_t>(allowed ? ErrorCode::kTransactionalIdNotFound
                                                           : ErrorCode::kTransactionalIdAuthorizationFailed);
            out.transaction_state = "";
            out.transaction_start_time_ms = -1;
            out.producer_id = -1;
            out.producer_epoch = -1;
            continue;
          }
          out.transaction_state = std::string(TxnStateName(d->state));
          out.transaction_timeout_ms = d->timeout_ms;
          out.transaction_start_time_ms = d->start_ms;
          out.producer_id = d->producer_id;
          out.producer_epoch = d->producer_epoch;
          for (const TxnPartition& p : d->partitions) {
            // Topics the caller may not describe are left out, as Kafka does.
            if (!broker.Permits(ctx, AclOperation::kDescribe, ResourceType::kTopic, p.topic)) continue;
            if (out.topics.empty() || out.topics.back().topic != p.topic) out.topics.emplace_back().topic = p.topic;
            out.topics.back().partitions.push_back(p.partition);
          }
        }
        return response;
      });
}

void RegisterListTransactions(HandlerTable& table, const BrokerContext& broker, const TxnCoordinator& txns,
                              std::function<int64_t()> now_ms) {
  using protocol::ListTransactionsRequest;
  using protocol::ListTransactionsResponse;
  table.Add<ListTransactionsRequest, ListTransactionsResponse>(
      ListTransactionsRequest::kMaxVersion,
      [&broker, &txns, now_ms](const RequestContext& ctx, const ListTransactionsRequest& request) {
        ListTransactionsResponse response;
        for (const std::string& f : request.state_filters) {
          if (!ParseTxnState(f).has_value()) response.unknown_state_filters.push_back(f);
        }
        const int64_t now = now_ms();
        for (const TxnDescription& d : txns.List()) {
          // Only the transactions the caller may describe are listed.
          if (!broker.Permits(ctx, AclOperation::kDescribe, ResourceType::kTransactionalId, d.transactional_id)) {
            continue;
          }
          const std::string state(TxnStateName(d.state));
          if (!request.state_filters.empty() &&
              std::none_of(request.state_filters.begin(), request.state_filters.end(),
                           [&](const std::string& f) { return ParseTxnState(f) == d.state; })) {
            continue;
          }
          if (!request.producer_id_filters.empty() &&
              std::find(request.producer_id_filters.begin(), request.producer_id_filters.end(), d.producer_id) ==
                  request.producer_id_filters.end()) {
            continue;
          }
          // v1 (KIP-994): only transactions running longer than the duration.
          if (request.duration_filter >= 0 && (d.start_ms < 0 || now - d.start_ms <= request.duration_filter)) {
            continue;
          }
          auto& out = response.transaction_states.emplace_back();
          out.transactional_id = d.transactional_id;
          out.producer_id = d.producer_id;
          out.transaction_state = state;
        }
        return response;
      });
}

}  // namespace

ErrorCode FencedForVersion(ErrorCode code, int16_t version, int16_t first_fenced_version) {
  return code == ErrorCode::kProducerFenced && version < first_fenced_version ? ErrorCode::kInvalidProducerEpoch
                                                                              : code;
}

void RegisterTxnApis(HandlerTable& table, const BrokerContext& broker, TxnCoordinator& txns,
                     std::function<int64_t()> now_ms) {
  RegisterAddPartitionsToTxn(table, broker, txns);
  RegisterAddOffsetsToTxn(table, broker, txns);
  RegisterEndTxn(table, broker, txns);
  RegisterTxnOffsetCommit(table, broker, txns);
  RegisterDescribeProducers(table, broker);
  RegisterDescribeTransactions(table, broker, txns);
  RegisterListTransactions(table, broker, txns, std::move(now_ms));
}

}  // namespace chronik::ingest
