#include "chronik_ingest/group_handlers.h"

#include <climits>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/delete_groups.h"
#include "chronik_protocol/messages/describe_groups.h"
#include "chronik_protocol/messages/find_coordinator.h"
#include "chronik_protocol/messages/heartbeat.h"
#include "chronik_protocol/messages/join_group.h"
#include "chronik_protocol/messages/leave_group.h"
#include "chronik_protocol/messages/list_groups.h"
#include "chronik_protocol/messages/offset_commit.h"
#include "chronik_protocol/messages/offset_delete.h"
#include "chronik_protocol/messages/offset_fetch.h"
#include "chronik_protocol/messages/sync_group.h"

namespace chronik::ingest {
namespace {

using protocol::ErrorCode;

// FindCoordinator key types.
constexpr int8_t kGroupKey = 0;
constexpr int8_t kTransactionKey = 1;
// DescribeGroups authorized_operations when not computed (no ACLs yet).
constexpr int32_t kOperationsNotComputed = INT32_MIN;

int16_t Code(const absl::Status& s) { return static_cast<int16_t>(ToKafkaError(s)); }
int16_t Code(ErrorCode c) { return static_cast<int16_t>(c); }

struct Coordinator {
  int16_t error = 0;
  std::optional<std::string> message;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

Coordinator FindCoordinatorFor(const BrokerContext& broker, const RequestContext& ctx, int8_t key_type,
                               const std::string& key) {
  const Session& session = ctx.session;
  Coordinator c;
  if (key_type == kGroupKey && !broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kGroup, key)) {
    c.error = Code(ErrorCode::kGroupAuthorizationFailed);
  } else if (key_type == kTransactionKey &&
             !broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kTransactionalId, key)) {
    c.error = Code(ErrorCode::kTransactionalIdAuthorizationFailed);
  } else if (key_type == kGroupKey || key_type == kTransactionKey) {
    const AdvertisedEndpoint& endpoint = broker.identity.AdvertisedFor(session);
    c.node_id = broker.identity.node_id;
    c.host = endpoint.host;
    c.port = endpoint.port;
  } else {
    c.error = Code(ErrorCode::kInvalidRequest);
    c.message = "unknown coordinator key type " + std::to_string(key_type);
  }
  return c;
}

void RegisterFindCoordinator(HandlerTable& table, const BrokerContext& broker) {
  using protocol::FindCoordinatorRequest;
  using protocol::FindCoordinatorResponse;
  table.Add<FindCoordinatorRequest, FindCoordinatorResponse>(
      FindCoordinatorRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const FindCoordinatorRequest& request) {
        FindCoordinatorResponse response;
        if (ctx.header.api_version < 4) {
          const Coordinator c = FindCoordinatorFor(broker, ctx, request.key_type, request.key);
          response.error_code = c.error;
          response.error_message = c.message;
          response.node_id = c.node_id;
          response.host = c.host;
          response.port = c.port;
          return response;
        }
        for (const std::string& key : request.coordinator_keys) {
          const Coordinator c = FindCoordinatorFor(broker, ctx, request.key_type, key);
          auto& out = response.coordinators.emplace_back();
          out.key = key;
          out.error_code = c.error;
          out.error_message = c.message;
          out.node_id = c.node_id;
          out.host = c.host;
          out.port = c.port;
        }
        return response;
      });
}

void RegisterJoinGroup(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::JoinGroupRequest;
  using protocol::JoinGroupResponse;
  table.AddAsync<JoinGroupRequest, JoinGroupResponse>(
      JoinGroupRequest::kMaxVersion,
      [&broker, &groups](const RequestContext& ctx, std::shared_ptr<JoinGroupRequest> request, auto done) {
        const int16_t version = ctx.header.api_version;
        if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request->group_id)) {
          JoinGroupResponse response;
          response.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
          response.generation_id = -1;
          if (version < 7) response.protocol_name = "";
          return done(std::optional<JoinGroupResponse>(std::move(response)));
        }
        JoinGroupParams p;
        p.group_id = request->group_id;
        p.member_id = request->member_id;
        p.group_instance_id = request->group_instance_id;
        p.client_id = ctx.header.client_id.value_or("");
        // Kafka reports a member's host as its address with a leading slash.
        p.client_host = "/" + ctx.session.host;
        p.session_timeout_ms = request->session_timeout_ms;
        // v0 has no rebalance timeout: the session timeout bounds the join barrier.
        p.rebalance_timeout_ms = version == 0 ? request->session_timeout_ms : request->rebalance_timeout_ms;
        p.protocol_type = request->protocol_type;
        for (auto& proto : request->protocols) p.protocols.push_back({proto.name, std::move(proto.metadata)});
        p.require_known_member_id = version >= 4;
        p.supports_skip_assignment = version >= 9;
        groups.JoinGroup(std::move(p), [done, version](JoinGroupResult r) {
          JoinGroupResponse response;
          response.error_code = Code(r.status);
          response.generation_id = r.generation_id;
          response.protocol_type = r.protocol_type;
          response.protocol_name = r.protocol_name;
          // Before v7 the protocol name cannot be null.
          if (version < 7 && !response.protocol_name) response.protocol_name = "";
          response.leader = r.leader;
          response.skip_assignment = r.skip_assignment;
          response.member_id = r.member_id;
          for (auto& m : r.members) {
            auto& out = response.members.emplace_back();
            out.member_id = m.member_id;
            out.group_instance_id = m.group_instance_id;
            out.metadata = std::move(m.metadata);
          }
          done(std::optional<JoinGroupResponse>(std::move(response)));
        });
      },
      HandlerTraits{.blocking = true});
}

void RegisterSyncGroup(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::SyncGroupRequest;
  using protocol::SyncGroupResponse;
  table.AddAsync<SyncGroupRequest, SyncGroupResponse>(
      SyncGroupRequest::kMaxVersion,
      [&broker, &groups](const RequestContext& ctx, std::shared_ptr<SyncGroupRequest> request, auto done) {
        if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request->group_id)) {
          SyncGroupResponse response;
          response.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
          return done(std::optional<SyncGroupResponse>(std::move(response)));
        }
        SyncGroupParams p;
        p.group_id = request->group_id;
        p.generation_id = request->generation_id;
        p.member_id = request->member_id;
        p.group_instance_id = request->group_instance_id;
        p.protocol_type = request->protocol_type;
        p.protocol_name = request->protocol_name;
        for (auto& a : request->assignments) p.assignments.emplace_back(a.member_id, std::move(a.assignment));
        groups.SyncGroup(std::move(p), [done](SyncGroupResult r) {
          SyncGroupResponse response;
          response.error_code = Code(r.status);
          response.protocol_type = r.protocol_type;
          response.protocol_name = r.protocol_name;
          response.assignment = std::move(r.assignment);
          done(std::optional<SyncGroupResponse>(std::move(response)));
        });
      },
      HandlerTraits{.blocking = true});
}

void RegisterHeartbeat(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::HeartbeatRequest;
  using protocol::HeartbeatResponse;
  table.Add<HeartbeatRequest, HeartbeatResponse>(
      HeartbeatRequest::kMaxVersion, [&broker, &groups](const RequestContext& ctx, const HeartbeatRequest& request) {
        HeartbeatResponse response;
        if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
          response.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
          return response;
        }
        response.error_code =
            Code(groups.Heartbeat(request.group_id, request.member_id, request.group_instance_id, request.generation_id));
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterLeaveGroup(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::LeaveGroupRequest;
  using protocol::LeaveGroupResponse;
  table.Add<LeaveGroupRequest, LeaveGroupResponse>(
      LeaveGroupRequest::kMaxVersion, [&broker, &groups](const RequestContext& ctx, const LeaveGroupRequest& request) {
        const bool batched = ctx.header.api_version >= 3;
        if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
          LeaveGroupResponse response;
          response.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
          return response;
        }
        std::vector<LeavingMember> leaving;
        if (batched) {
          for (const auto& m : request.members) leaving.push_back({m.member_id, m.group_instance_id, m.reason});
        } else {
          leaving.push_back({request.member_id, std::nullopt, std::nullopt});
        }
        LeaveGroupResponse response;
        absl::StatusOr<std::vector<absl::Status>> results = groups.LeaveGroup(request.group_id, leaving);
        if (!results.ok()) {
          response.error_code = Code(results.status());
          return response;
        }
        if (!batched) {
          response.error_code = Code(results->front());
          return response;
        }
        for (size_t i = 0; i < leaving.size(); ++i) {
          auto& out = response.members.emplace_back();
          out.member_id = leaving[i].member_id;
          out.group_instance_id = leaving[i].group_instance_id;
          out.error_code = Code((*results)[i]);
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterOffsetCommit(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::OffsetCommitRequest;
  using protocol::OffsetCommitResponse;
  table.Add<OffsetCommitRequest, OffsetCommitResponse>(
      OffsetCommitRequest::kMaxVersion,
      [&broker, &groups](const RequestContext& ctx, const OffsetCommitRequest& request) {
        const bool group_allowed = broker.Authorized(ctx, AclOperation::kRead, ResourceType::kGroup, request.group_id);
        // Per topic: committed only where the caller may read the topic.
        std::vector<ErrorCode> topic_errors;
        std::vector<OffsetCommitEntry> entries;
        for (const auto& t : request.topics) {
          ErrorCode& e = topic_errors.emplace_back(ErrorCode::kNone);
          if (!group_allowed) {
            e = ErrorCode::kGroupAuthorizationFailed;
          } else if (!broker.Authorized(ctx, AclOperation::kRead, ResourceType::kTopic, t.name)) {
            e = ErrorCode::kTopicAuthorizationFailed;
          }
          if (e != ErrorCode::kNone) continue;
          for (const auto& p : t.partitions) {
            entries.push_back({t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch,
                               p.committed_metadata, ctx.header.api_version == 1 ? p.commit_timestamp : -1});
          }
        }
        const int64_t retention = ctx.header.api_version >= 2 && ctx.header.api_version <= 4 ? request.retention_time_ms : -1;
        std::vector<absl::Status> results;
        if (!entries.empty()) {
          results = groups.CommitOffsets(request.group_id, request.member_id, request.group_instance_id,
                                         request.generation_id_or_member_epoch, retention, entries);
        }
        OffsetCommitResponse response;
        size_t i = 0;
        for (size_t ti = 0; ti < request.topics.size(); ++ti) {
          const auto& t = request.topics[ti];
          auto& tr = response.topics.emplace_back();
          tr.name = t.name;
          for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            pr.error_code = topic_errors[ti] != ErrorCode::kNone ? Code(topic_errors[ti]) : Code(results[i++]);
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterOffsetFetch(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups,
                         const TxnCoordinator& txns) {
  using protocol::OffsetFetchRequest;
  using protocol::OffsetFetchResponse;
  table.Add<OffsetFetchRequest, OffsetFetchResponse>(
      OffsetFetchRequest::kMaxVersion,
      [&broker, &groups, &txns](const RequestContext& ctx, const OffsetFetchRequest& request) {
        const int16_t version = ctx.header.api_version;
        // One group's answer, in the order the request asked (or the stored order for "all").
        struct Partition {
          std::string topic;
          int32_t partition;
          CommittedOffset offset;
        };
        // Partitions an open transaction holds offsets for, taken before the offsets are read.
        std::map<std::string, std::set<std::pair<std::string, int32_t>>> pending;
        auto fetch = [&](const std::string& group_id, const auto& topics,
                         bool all) -> absl::StatusOr<std::vector<Partition>> {
          if (!broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kGroup, group_id)) {
            return KafkaError(absl::StatusCode::kPermissionDenied, ErrorCode::kGroupAuthorizationFailed,
                              "Not authorized to access group: " + group_id);
          }
          if (request.require_stable) pending[group_id] = txns.PendingOffsets(group_id);
          std::optional<std::vector<TopicPartitions>> wanted;
          if (!all) {
            wanted.emplace();
            for (const auto& t : topics) wanted->push_back({t.name, t.partition_indexes});
          }
          auto offsets = groups.FetchOffsets(group_id, wanted);
          if (!offsets.ok()) return offsets.status();
          std::vector<Partition> out;
          if (all) {
            // Offsets of topics the caller may not describe are left out.
            for (auto& [tp, o] : *offsets) {
              if (broker.Permits(ctx, AclOperation::kDescribe, ResourceType::kTopic, tp.first)) {
                out.push_back({tp.first, tp.second, o});
              }
            }
          } else {
            for (const TopicPartitions& tp : *wanted) {
              for (int32_t p : tp.partitions) out.push_back({tp.topic, p, (*offsets)[{tp.topic, p}]});
            }
          }
          return out;
        };
        // With require_stable (v7+, KIP-447), a partition an open transaction holds an offset
        // for answers UNSTABLE_OFFSET_COMMIT: the consumer retries once the transaction ends.
        std::map<std::string, bool> topic_allowed;
        auto group_by_topic = [&](const std::string& group_id, std::vector<Partition>& parts, auto& topics_out) {
          for (Partition& p : parts) {
            auto allowed = topic_allowed.find(p.topic);
            if (allowed == topic_allowed.end()) {
              allowed = topic_allowed
                            .emplace(p.topic, broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kTopic, p.topic))
                            .first;
            }
            if (topics_out.empty() || topics_out.back().name != p.topic) topics_out.emplace_back().name = p.topic;
            auto& out = topics_out.back().partitions.emplace_back();
            out.partition_index = p.partition;
            out.committed_offset = p.offset.offset;
            out.committed_leader_epoch = p.offset.leader_epoch;
            out.metadata = std::move(p.offset.metadata);
            out.error_code = 0;
            if (!allowed->second) {
              out.committed_offset = -1;
              out.committed_leader_epoch = -1;
              out.metadata = "";
              out.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
            } else if (request.require_stable && pending[group_id].count({p.topic, p.partition}) != 0) {
              out.committed_offset = -1;
              out.error_code = static_cast<int16_t>(ErrorCode::kUnstableOffsetCommit);
            }
          }
        };

        OffsetFetchResponse response;
        if (version < 8) {
          const bool all = version >= 2 && !request.topics.has_value();
          static const std::vector<OffsetFetchRequest::OffsetFetchRequestTopic> kNone;
          auto parts = fetch(request.group_id, request.topics.has_value() ? *request.topics : kNone, all);
          if (!parts.ok()) {
            // v0-v1 carry a group error in every partition; v2+ also at the top.
            response.error_code = Code(parts.status());
            if (request.topics.has_value()) {
              for (const auto& t : *request.topics) {
                auto& tr = response.topics.emplace_back();
                tr.name = t.name;
                for (int32_t p : t.partition_indexes) {
                  auto& pr = tr.partitions.emplace_back();
                  pr.partition_index = p;
                  pr.committed_offset = -1;
                  pr.metadata = "";
                  pr.error_code = Code(parts.status());
                }
              }
            }
            return response;
          }
          group_by_topic(request.group_id, *parts, response.topics);
          return response;
        }
        for (const auto& g : request.groups) {
          auto& gr = response.groups.emplace_back();
          gr.group_id = g.group_id;
          static const std::vector<OffsetFetchRequest::OffsetFetchRequestTopics> kNone;
          auto parts = fetch(g.group_id, g.topics.has_value() ? *g.topics : kNone, !g.topics.has_value());
          if (!parts.ok()) {
            gr.error_code = Code(parts.status());
            continue;
          }
          group_by_topic(g.group_id, *parts, gr.topics);
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterDescribeGroups(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::DescribeGroupsRequest;
  using protocol::DescribeGroupsResponse;
  table.Add<DescribeGroupsRequest, DescribeGroupsResponse>(
      DescribeGroupsRequest::kMaxVersion,
      [&broker, &groups](const RequestContext& ctx, const DescribeGroupsRequest& request) {
        DescribeGroupsResponse response;
        for (const std::string& id : request.groups) {
          auto& out = response.groups.emplace_back();
          out.group_id = id;
          out.authorized_operations = kOperationsNotComputed;
          if (!broker.Authorized(ctx, AclOperation::kDescribe, ResourceType::kGroup, id)) {
            out.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
            continue;
          }
          if (ctx.header.api_version >= 3 && request.include_authorized_operations) {
            out.authorized_operations = broker.AuthorizedOperations(ctx, ResourceType::kGroup, id);
          }
          absl::StatusOr<GroupDescription> d = groups.DescribeGroup(id);
          if (!d.ok()) {
            out.error_code = Code(d.status());
            continue;
          }
          out.group_state = std::string(GroupStateName(d->state));
          out.protocol_type = d->protocol_type;
          out.protocol_data = d->protocol_name;
          for (auto& m : d->members) {
            auto& om = out.members.emplace_back();
            om.member_id = m.member_id;
            om.group_instance_id = m.group_instance_id;
            om.client_id = m.client_id;
            om.client_host = m.client_host;
            om.member_metadata = std::move(m.metadata);
            om.member_assignment = std::move(m.assignment);
          }
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterListGroups(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::ListGroupsRequest;
  using protocol::ListGroupsResponse;
  table.Add<ListGroupsRequest, ListGroupsResponse>(
      ListGroupsRequest::kMaxVersion, [&broker, &groups](const RequestContext& ctx, const ListGroupsRequest& request) {
        ListGroupsResponse response;
        // Every group here is a classic one; a filter without "classic" matches none.
        bool classic_wanted = request.types_filter.empty();
        for (const std::string& t : request.types_filter) {
          classic_wanted = classic_wanted || absl::AsciiStrToLower(t) == "classic";
        }
        if (!classic_wanted) return response;
        // DESCRIBE on the cluster lists every group; otherwise those the caller may describe.
        const bool all = broker.Permits(ctx, AclOperation::kDescribe, ResourceType::kCluster, auth::kClusterResourceName);
        for (const GroupOverview& g : groups.ListGroups(request.states_filter)) {
          if (!all && !broker.Permits(ctx, AclOperation::kDescribe, ResourceType::kGroup, g.group_id)) continue;
          auto& out = response.groups.emplace_back();
          out.group_id = g.group_id;
          out.protocol_type = g.protocol_type;
          out.group_state = std::string(GroupStateName(g.state));
          out.group_type = "classic";
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterDeleteGroups(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::DeleteGroupsRequest;
  using protocol::DeleteGroupsResponse;
  table.Add<DeleteGroupsRequest, DeleteGroupsResponse>(
      DeleteGroupsRequest::kMaxVersion,
      [&broker, &groups](const RequestContext& ctx, const DeleteGroupsRequest& request) {
        DeleteGroupsResponse response;
        std::vector<std::string> allowed;
        for (const std::string& id : request.groups_names) {
          if (broker.Authorized(ctx, AclOperation::kDelete, ResourceType::kGroup, id)) allowed.push_back(id);
        }
        std::vector<absl::Status> results = groups.DeleteGroups(allowed);
        size_t next = 0;
        for (const std::string& id : request.groups_names) {
          auto& out = response.results.emplace_back();
          out.group_id = id;
          if (next < allowed.size() && allowed[next] == id) {
            out.error_code = Code(results[next++]);
          } else {
            out.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
          }
          broker.AuditAdmin(ctx, "DeleteGroups", ResourceType::kGroup, id, out.error_code, "");
        }
        return response;
      },
      HandlerTraits{.blocking = true});
}

void RegisterOffsetDelete(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups) {
  using protocol::OffsetDeleteRequest;
  using protocol::OffsetDeleteResponse;
  table.Add<OffsetDeleteRequest, OffsetDeleteResponse>(
      OffsetDeleteRequest::kMaxVersion,
      [&broker, &groups](const RequestContext& ctx, const OffsetDeleteRequest& request) {
        OffsetDeleteResponse response;
        if (!broker.Authorized(ctx, AclOperation::kDelete, ResourceType::kGroup, request.group_id)) {
          response.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
          broker.AuditAdmin(ctx, "OffsetDelete", ResourceType::kGroup, request.group_id, response.error_code, "");
          return response;
        }
        std::vector<bool> topic_allowed;
        std::vector<TopicPartitions> partitions;
        for (const auto& t : request.topics) {
          topic_allowed.push_back(broker.Authorized(ctx, AclOperation::kRead, ResourceType::kTopic, t.name));
          if (!topic_allowed.back()) continue;
          TopicPartitions& tp = partitions.emplace_back();
          tp.topic = t.name;
          for (const auto& p : t.partitions) tp.partitions.push_back(p.partition_index);
        }
        absl::StatusOr<std::vector<absl::Status>> results = groups.DeleteOffsets(request.group_id, partitions);
        if (!results.ok()) {
          response.error_code = Code(results.status());
          return response;
        }
        size_t i = 0;
        for (size_t ti = 0; ti < request.topics.size(); ++ti) {
          const auto& t = request.topics[ti];
          auto& tr = response.topics.emplace_back();
          tr.name = t.name;
          for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            pr.error_code = topic_allowed[ti] ? Code((*results)[i++]) : Code(ErrorCode::kTopicAuthorizationFailed);
          }
        }
        broker.AuditAdmin(ctx, "OffsetDelete", ResourceType::kGroup, request.group_id, response.error_code, "");
        return response;
      },
      HandlerTraits{.blocking = true});
}

}  // namespace

void RegisterGroupApis(HandlerTable& table, const BrokerContext& broker, GroupCoordinator& groups,
                       const TxnCoordinator& txns) {
  RegisterFindCoordinator(table, broker);
  RegisterJoinGroup(table, broker, groups);
  RegisterSyncGroup(table, broker, groups);
  RegisterHeartbeat(table, broker, groups);
  RegisterLeaveGroup(table, broker, groups);
  RegisterOffsetCommit(table, broker, groups);
  RegisterOffsetFetch(table, broker, groups, txns);
  RegisterDescribeGroups(table, broker, groups);
  RegisterListGroups(table, broker, groups);
  RegisterDeleteGroups(table, broker, groups);
  RegisterOffsetDelete(table, broker, groups);
}

}  // namespace chronik::ingest
