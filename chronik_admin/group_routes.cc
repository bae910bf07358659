// Consumer groups: list, describe with assignments, offsets and lag, reset offsets, delete.

#include <set>

#include "absl/strings/str_cat.h"
#include "chronik_admin/exchange.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/delete_groups.h"
#include "chronik_protocol/messages/describe_groups.h"
#include "chronik_protocol/messages/list_groups.h"
#include "chronik_protocol/messages/offset_commit.h"
#include "chronik_protocol/messages/offset_fetch.h"
#include "chronik_protocol/wire.h"

namespace chronik::admin::internal {

using namespace protocol;  // NOLINT: the message types

namespace {

constexpr int64_t kEarliest = -2;
constexpr int64_t kLatest = -1;

// A ConsumerProtocolAssignment (int16 version, then topics with their partitions; what follows
// is not needed) as [{"topic", "partitions"}]; null if it does not parse.
nlohmann::json AssignmentJson(std::string_view data) {
  protocol::Reader r(data);
  const int16_t version = r.ReadInt16();
  const int32_t topics = r.ReadInt32();
  if (!r.ok() || version < 0 || topics < 0) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    const int16_t len = r.ReadInt16();
    if (len < 0 || static_cast<size_t>(len) > r.remaining()) return nullptr;
    const std::string topic(r.ReadView(static_cast<size_t>(len)));
    const int32_t count = r.ReadInt32();
    if (count < 0 || static_cast<size_t>(count) * 4 > r.remaining()) return nullptr;
    std::vector<int32_t> partitions;
    for (int32_t p = 0; p < count; ++p) partitions.push_back(r.ReadInt32());
    out.push_back({{"topic", topic}, {"partitions", partitions}});
  }
  if (!r.ok()) return nullptr;
  return out;
}

using DescribedGroup = DescribeGroupsResponse::DescribedGroup;

// DescribeGroups of one group; a group that does not exist is GROUP_ID_NOT_FOUND when
// `must_exist`, else passed on with state "Dead".
void DescribeGroup(const ExchangePtr& x, const std::string& group, bool must_exist,
                   std::function<void(const DescribedGroup&)> next) {
  DescribeGroupsRequest request;
  request.groups.push_back(group);
  x->Call<DescribeGroupsRequest, DescribeGroupsResponse>(
      request, [x, group, must_exist, next = std::move(next)](const DescribeGroupsResponse& r) {
        if (r.groups.size() != 1) return x->Internal(absl::InternalError("DescribeGroups answered for no group"));
        const DescribedGroup& g = r.groups.front();
        if (g.error_code != 0) return x->KafkaError(g.error_code, std::nullopt, absl::StrCat("DescribeGroups ", group));
        if (must_exist && g.group_state == "Dead") {
          return x->KafkaError(static_cast<int16_t>(protocol::ErrorCode::kGroupIdNotFound), std::nullopt,
                               absl::StrCat("group ", group, " does not exist"));
        }
        next(g);
      });
}

struct Committed {
  std::string topic;
  int32_t partition;
  int64_t offset;
  std::optional<std::string> metadata;
};

// Every offset the group has committed.
void FetchOffsets(const ExchangePtr& x, const std::string& group, std::function<void(std::vector<Committed>)> next) {
  OffsetFetchRequest request;
  request.group_id = group;  // v0-7
  request.topics.reset();    // all
  OffsetFetchRequest::OffsetFetchRequestGroup g;  // v8+
  g.group_id = group;
  g.topics.reset();
  request.groups.push_back(std::move(g));
  x->Call<OffsetFetchRequest, OffsetFetchResponse>(request, [x, group, next = std::move(next)](const OffsetFetchResponse& r) {
    std::vector<Committed> out;
    auto take = [&](const auto& topics) -> bool {
      for (const auto& t : topics) {
        for (const auto& p : t.partitions) {
          if (p.error_code != 0) {
            x->KafkaError(p.error_code, std::nullopt, absl::StrCat("OffsetFetch of ", t.name, "-", p.partition_index));
            return false;
          }
          if (p.committed_offset >= 0) out.push_back(Committed{t.name, p.partition_index, p.committed_offset, p.metadata});
        }
      }
      return true;
    };
    if (!r.groups.empty()) {
      const auto& g = r.groups.front();
      if (g.error_code != 0) return x->KafkaError(g.error_code, std::nullopt, absl::StrCat("OffsetFetch ", group));
      if (!take(g.topics)) return;
    } else {
      if (r.error_code != 0) return x->KafkaError(r.error_code, std::nullopt, absl::StrCat("OffsetFetch ", group));
      if (!take(r.topics)) return;
    }
    next(std::move(out));
  });
}

// Calls `each` for the topics one after another, then `done`.
void ForEachTopic(const ExchangePtr& x, std::shared_ptr<std::vector<std::string>> topics, size_t i,
                  std::function<void(const std::string&, std::function<void()>)> each, std::function<void()> done) {
  if (i == topics->size()) return done();
  const std::string& topic = (*topics)[i];
  each(topic, [x, topics, i, each, done]() { ForEachTopic(x, topics, i + 1, each, done); });
}

void ListGroups(const ExchangePtr& x) {
  x->Call<ListGroupsRequest, ListGroupsResponse>(ListGroupsRequest{}, [x](const ListGroupsResponse& r) {
    if (r.error_code != 0) return x->KafkaError(r.error_code, std::nullopt, "ListGroups");
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : r.groups) {
      groups.push_back({{"group_id", g.group_id}, {"protocol_type", g.protocol_type}, {"state", g.group_state}});
    }
    x->Ok(200, {{"groups", std::move(groups)}});
  });
}

void DescribeGroupRoute(const ExchangePtr& x) {
  const std::string group = x->params.at("group");
  DescribeGroup(x, group, true, [x](const DescribedGroup& g) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : g.members) {
      members.push_back(
          {{"member_id", m.member_id},
           {"group_instance_id", m.group_instance_id.has_value() ? nlohmann::json(*m.group_instance_id) : nlohmann::json(nullptr)},
           {"client_id", m.client_id},
           {"client_host", m.client_host},
           {"assignment", g.protocol_type == "consumer" ? AssignmentJson(m.member_assignment) : nlohmann::json(nullptr)}});
    }
    x->Ok(200, {{"group_id", g.group_id},
                {"state", g.group_state},
                {"protocol_type", g.protocol_type},
                {"protocol", g.protocol_data},
                {"members", std::move(members)}});
  });
}

void GroupOffsets(const ExchangePtr& x) {
  const std::string group = x->params.at("group");
  DescribeGroup(x, group, true, [x, group](const DescribedGroup&) {
    FetchOffsets(x, group, [x, group](std::vector<Committed> committed) {
      auto by_topic = std::make_shared<std::map<std::string, std::vector<Committed>>>();
      for (Committed& c : committed) (*by_topic)[c.topic].push_back(std::move(c));
      auto topics = std::make_shared<std::vector<std::string>>();
      for (const auto& [t, _] : *by_topic) topics->push_back(t);
      auto rows = std::make_shared<nlohmann::json>(nlohmann::json::array());
      auto total = std::make_shared<int64_t>(0);
      ForEachTopic(
          x, topics, 0,
          [x, by_topic, rows, total](const std::string& topic, std::function<void()> next) {
            std::vector<int32_t> partitions;
            for (const Committed& c : by_topic->at(topic)) partitions.push_back(c.partition);
            PartitionOffsets(x, topic, partitions, kLatest,
                             [by_topic, rows, total, topic, next](std::map<int32_t, int64_t> end) {
                               for (const Committed& c : by_topic->at(topic)) {
                                 const int64_t log_end = end.contains(c.partition) ? end.at(c.partition) : -1;
                                 const int64_t lag = log_end >= c.offset ? log_end - c.offset : 0;
                                 *total += lag;
                                 rows->push_back({{"topic", c.topic},
                                                  {"partition", c.partition},
                                                  {"committed_offset", c.offset},
                                                  {"metadata", c.metadata.has_value() ? nlohmann::json(*c.metadata)
                                                                                      : nlohmann::json(nullptr)},
                                                  {"log_end_offset", log_end},
                                                  {"lag", lag}});
                               }
                               next();
                             });
          },
          [x, group, rows, total]() { x->Ok(200, {{"group_id", group}, {"offsets", *rows}, {"total_lag", *total}}); });
    });
  });
}

struct ResetPlan {
  std::string group;
  std::string to;
  int64_t timestamp = 0;
  int64_t offset = 0;
  bool dry_run = false;
  std::vector<std::string> topics;
  std::map<std::string, std::map<int32_t, int64_t>> result;
};

void CommitReset(const ExchangePtr& x, std::shared_ptr<ResetPlan> plan) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [topic, partitions] : plan->result) {
    for (const auto& [p, o] : partitions) rows.push_back({{"topic", topic}, {"partition", p}, {"offset", o}});
  }
  if (plan->dry_run) return x->Ok(200, {{"group_id", plan->group}, {"dry_run", true}, {"offsets", std::move(rows)}});
  OffsetCommitRequest request;
  request.group_id = plan->group;
  request.generation_id_or_member_epoch = -1;  // not a member: the group must be empty
  request.member_id = "";
  for (const auto& [topic, partitions] : plan->result) {
    OffsetCommitRequest::OffsetCommitRequestTopic t;
    t.name = topic;
    for (const auto& [p, o] : partitions) {
      OffsetCommitRequest::OffsetCommitRequestPartition cp;
      cp.partition_index = p;
      cp.committed_offset = o;
      cp.committed_metadata = "";
      t.partitions.push_back(cp);
    }
    request.topics.push_back(std::move(t));
  }
  x->Call<OffsetCommitRequest, OffsetCommitResponse>(
      request, [x, plan, rows = std::move(rows)](const OffsetCommitResponse& r) {
        for (const auto& t : r.topics) {
          for (const auto& p : t.partitions) {
            if (p.error_code != 0) {
              return x->KafkaError(p.error_code, std::nullopt,
                                   absl::StrCat("OffsetCommit of ", t.name, "-", p.partition_index));
            }
          }
        }
        x->Ok(200, {{"group_id", plan->group}, {"dry_run", false}, {"offsets", rows}});
      });
}

// The new offsets of every partition of `topic`.
void PlanTopic(const ExchangePtr& x, std::shared_ptr<ResetPlan> plan, const std::string& topic, std::function<void()> next) {
  TopicMetadata(x, topic, [x, plan, topic, next](const MetadataResponse& r) {
    if (r.topics.size() != 1) return x->Internal(absl::InternalError("Metadata answered for no topic"));
    const auto& t = r.topics.front();
    if (t.error_code != 0) return x->KafkaError(t.error_code, std::nullopt, absl::StrCat("Metadata of ", topic));
    std::vector<int32_t> partitions;
    for (const auto& p : t.partitions) partitions.push_back(p.partition_index);
    auto store = [plan, topic, next](std::map<int32_t, int64_t> offsets) {
      plan->result[topic] = std::move(offsets);
      next();
    };
    if (plan->to == "earliest") return PartitionOffsets(x, topic, partitions, kEarliest, store);
    if (plan->to == "latest") return PartitionOffsets(x, topic, partitions, kLatest, store);
    // "timestamp" and "offset" are bounded by the log's ends.
    PartitionOffsets(x, topic, partitions, kEarliest, [x, plan, topic, partitions, store](std::map<int32_t, int64_t> start) {
      PartitionOffsets(x, topic, partitions, kLatest, [x, plan, topic, partitions, store, start](std::map<int32_t, int64_t> end) {
        if (plan->to == "offset") {
          std::map<int32_t, int64_t> out;
          for (const auto& [p, e] : end) out[p] = std::clamp(plan->offset, start.at(p), e);
          return store(std::move(out));
        }
        PartitionOffsets(x, topic, partitions, plan->timestamp, [store, end](std::map<int32_t, int64_t> at) {
          for (auto& [p, o] : at) {
            if (o < 0) o = end.at(p);  // no record that late: the end
          }
          store(std::move(at));
        });
      });
    });
  });
}

void ResetOffsets(const ExchangePtr& x) {
  auto plan = std::make_shared<ResetPlan>();
  plan->group = x->params.at("group");
  absl::StatusOr<std::optional<std::string>> to = OptionalString(x->body, "to");
  absl::StatusOr<std::optional<int64_t>> timestamp = OptionalInt(x->body, "timestamp");
  absl::StatusOr<std::optional<int64_t>> offset = OptionalInt(x->body, "offset");
  absl::StatusOr<std::vector<std::string>> topics = OptionalStringList(x->body, "topics");
  absl::StatusOr<bool> dry_run = OptionalBool(x->body, "dry_run", false);
  for (const absl::Status& s : {to.status(), timestamp.status(), offset.status(), topics.status(), dry_run.status()}) {
    if (!s.ok()) return x->BadRequest(std::string(s.message()));
  }
  static const std::set<std::string> kTargets = {"earliest", "latest", "timestamp", "offset"};
  if (!to->has_value() || !kTargets.contains(**to)) {
    return x->BadRequest("\"to\" must be earliest, latest, timestamp or offset");
  }
  if (**to == "timestamp" && (!timestamp->has_value() || **timestamp < 0)) {
    return x->BadRequest("to=timestamp needs \"timestamp\" (ms since the epoch)");
  }
  if (**to == "offset" && !offset->has_value()) return x->BadRequest("to=offset needs \"offset\"");
  plan->to = **to;
  plan->timestamp = timestamp->value_or(0);
  plan->offset = offset->value_or(0);
  plan->dry_run = *dry_run;
  plan->topics = *std::move(topics);

  DescribeGroup(x, plan->group, false, [x, plan](const DescribedGroup& g) {
    if (g.group_state != "Empty" && g.group_state != "Dead") {
      return x->KafkaError(static_cast<int16_t>(protocol::ErrorCode::kNonEmptyGroup), std::nullopt,
                           absl::StrCat("offsets can only be reset while group ", plan->group,
                                        " is inactive; it is ", g.group_state, " with ", g.members.size(), " members"));
    }
    auto run = [x, plan]() {
      if (plan->topics.empty()) return x->BadRequest("no topics: give \"topics\"; the group has committed no offsets");
      auto topics = std::make_shared<std::vector<std::string>>(plan->topics);
      ForEachTopic(
          x, topics, 0,
          [x, plan](const std::string& topic, std::function<void()> next) { PlanTopic(x, plan, topic, next); },
          [x, plan]() { CommitReset(x, plan); });
    };
    if (!plan->topics.empty()) return run();
    FetchOffsets(x, plan->group, [plan, run](std::vector<Committed> committed) {
      std::set<std::string> names;
      for (const Committed& c : committed) names.insert(c.topic);
      plan->topics.assign(names.begin(), names.end());
      run();
    });
  });
}

void DeleteGroup(const ExchangePtr& x) {
  const std::string group = x->params.at("group");
  DeleteGroupsRequest request;
  request.groups_names.push_back(group);
  x->Call<DeleteGroupsRequest, DeleteGroupsResponse>(request, [x, group](const DeleteGroupsResponse& r) {
    for (const auto& res : r.results) {
      if (res.error_code != 0) return x->KafkaError(res.error_code, std::nullopt, absl::StrCat("DeleteGroups ", group));
    }
    x->Ok(200, {{"group_id", group}, {"deleted", true}});
  });
}

}  // namespace

void AddGroupRoutes(std::vector<RouteEntry>& routes) {
  routes.push_back(RouteEntry{"GET", "/api/v1/groups", ListGroups});
  routes.push_back(RouteEntry{"GET", "/api/v1/groups/{group}", DescribeGroupRoute});
  routes.push_back(RouteEntry{"DELETE", "/api/v1/groups/{group}", DeleteGroup});
  routes.push_back(RouteEntry{"GET", "/api/v1/groups/{group}/offsets", GroupOffsets});
  routes.push_back(RouteEntry{"POST", "/api/v1/groups/{group}/offsets/reset", ResetOffsets});
}

}  // namespace chronik::admin::internal
