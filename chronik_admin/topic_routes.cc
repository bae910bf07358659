// Topics: list, create, describe with offsets, delete, configs, partitions, delete records.

#include "absl/strings/str_cat.h"
#include "chronik_admin/exchange.h"
#include "chronik_protocol/messages/create_partitions.h"
#include "chronik_protocol/messages/create_topics.h"
#include "chronik_protocol/messages/delete_records.h"
#include "chronik_protocol/messages/delete_topics.h"
#include "chronik_protocol/messages/describe_configs.h"
#include "chronik_protocol/messages/incremental_alter_configs.h"
#include "chronik_protocol/messages/list_offsets.h"
#include "chronik_protocol/messages/metadata.h"

namespace chronik::admin::internal {

using namespace protocol;  // NOLINT: the message types

namespace {

constexpr int32_t kTimeoutMs = 30000;
constexpr int8_t kTopicResource = 2;
constexpr int64_t kEarliest = -2;
constexpr int64_t kLatest = -1;

// Kafka's ConfigSource numbers.
std::string_view ConfigSourceName(int8_t source) {
  switch (source) {
    case 1: return "DYNAMIC_TOPIC_CONFIG";
    case 2: return "DYNAMIC_BROKER_CONFIG";
    case 3: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case 4: return "STATIC_BROKER_CONFIG";
    case 5: return "DEFAULT_CONFIG";
    case 6: return "DYNAMIC_BROKER_LOGGER_CONFIG";
    default: return "UNKNOWN";
  }
}

}  // namespace

void TopicMetadata(const ExchangePtr& x, std::optional<std::string> topic,
                   std::function<void(const MetadataResponse&)> next) {
  MetadataRequest request;
  request.allow_auto_topic_creation = false;
  if (topic.has_value()) {
    MetadataRequest::MetadataRequestTopic t;
    t.name = *topic;
    request.topics->push_back(std::move(t));
  } else {
    request.topics.reset();  // all topics
  }
  x->Call<MetadataRequest, MetadataResponse>(request, std::move(next));
}

void PartitionOffsets(const ExchangePtr& x, const std::string& topic, const std::vector<int32_t>& partitions,
                      int64_t timestamp, std::function<void(std::map<int32_t, int64_t>)> next) {
  ListOffsetsRequest request;
  request.replica_id = -1;
  ListOffsetsRequest::ListOffsetsTopic t;
  t.name = topic;
  for (int32_t p : partitions) {
    ListOffsetsRequest::ListOffsetsPartition lp;
    lp.partition_index = p;
    lp.timestamp = timestamp;
    t.partitions.push_back(lp);
  }
  request.topics.push_back(std::move(t));
  x->Call<ListOffsetsRequest, ListOffsetsResponse>(request, [x, topic, next = std::move(next)](const ListOffsetsResponse& r) {
    std::map<int32_t, int64_t> out;
    for (const auto& rt : r.topics) {
      for (const auto& rp : rt.partitions) {
        if (rp.error_code != 0) {
          return x->KafkaError(rp.error_code, std::nullopt, absl::StrCat("ListOffsets of ", topic, "-", rp.partition_index));
        }
        out[rp.partition_index] = rp.offset;
      }
    }
    next(std::move(out));
  });
}

namespace {

void DescribeTopicConfigs(const ExchangePtr& x, const std::string& topic) {
  DescribeConfigsRequest request;
  DescribeConfigsRequest::DescribeConfigsResource resource;
  resource.resource_type = kTopicResource;
  resource.resource_name = topic;
  resource.configuration_keys.reset();
  request.resources.push_back(std::move(resource));
  x->Call<DescribeConfigsRequest, DescribeConfigsResponse>(request, [x, topic](const DescribeConfigsResponse& r) {
    if (r.results.size() != 1) return x->Internal(absl::InternalError("DescribeConfigs answered for no topic"));
    const auto& result = r.results.front();
    if (result.error_code != 0) return x->KafkaError(result.error_code, result.error_message, "DescribeConfigs");
    nlohmann::json configs = nlohmann::json::array();
    for (const auto& c : result.configs) {
      configs.push_back({{"name", c.name},
                         {"value", c.value.has_value() ? nlohmann::json(*c.value) : nlohmann::json(nullptr)},
                         {"source", ConfigSourceName(c.config_source)},
                         {"read_only", c.read_only},
                         {"sensitive", c.is_sensitive}});
    }
    x->Ok(200, {{"name", topic}, {"configs", std::move(configs)}});
  });
}

void ListTopics(const ExchangePtr& x) {
  TopicMetadata(x, std::nullopt, [x](const MetadataResponse& r) {
    nlohmann::json topics = nlohmann::json::array();
    for (const auto& t : r.topics) {
      if (t.error_code != 0 || !t.name.has_value()) continue;
      topics.push_back({{"name", *t.name},
                        {"topic_id", TopicIdText(t.topic_id)},
                        {"partitions", t.partitions.size()},
                        {"internal", t.is_internal}});
    }
    x->Ok(200, {{"topics", std::move(topics)}});
  });
}

void CreateTopic(const ExchangePtr& x) {
  const nlohmann::json& b = x->body;
  absl::StatusOr<std::optional<std::string>> name = OptionalString(b, "name");
  absl::StatusOr<std::optional<int64_t>> partitions = OptionalInt(b, "partitions");
  absl::StatusOr<std::optional<int64_t>> replication = OptionalInt(b, "replication_factor");
  absl::StatusOr<std::map<std::string, std::string>> configs = OptionalStringMap(b, "configs");
  absl::StatusOr<bool> validate_only = OptionalBool(b, "validate_only", false);
  for (const absl::Status& s : {name.status(), partitions.status(), replication.status(), configs.status(),
                                validate_only.status()}) {
    if (!s.ok()) return x->BadRequest(std::string(s.message()));
  }
  if (!name->has_value()) return x->BadRequest("\"name\" is required");
  const int64_t count = partitions->value_or(-1);
  const int64_t factor = replication->value_or(-1);
  if (count < -1 || count == 0 || count > INT32_MAX) return x->BadRequest("\"partitions\" must be a positive count");
  if (factor < -1 || factor == 0 || factor > INT16_MAX) return x->BadRequest("\"replication_factor\" must be positive");

  CreateTopicsRequest request;
  CreateTopicsRequest::CreatableTopic t;
  t.name = **name;
  t.num_partitions = static_cast<int32_t>(count);
  t.replication_factor = static_cast<int16_t>(factor);
  for (const auto& [k, v] : *configs) {
    CreateTopicsRequest::CreatableTopicConfig c;
    c.name = k;
    c.value = v;
    t.configs.push_back(std::move(c));
  }
  request.topics.push_back(std::move(t));
  request.timeout_ms = kTimeoutMs;
  request.validate_only = *validate_only;
  x->Call<CreateTopicsRequest, CreateTopicsResponse>(request, [x, validate = *validate_only](const CreateTopicsResponse& r) {
    if (r.topics.size() != 1) return x->Internal(absl::InternalError("CreateTopics answered for no topic"));
    const auto& t = r.topics.front();
    if (t.error_code != 0) return x->KafkaError(t.error_code, t.error_message, absl::StrCat("CreateTopics ", t.name));
    x->Ok(201, {{"name", t.name},
                {"topic_id", TopicIdText(t.topic_id)},
                {"partitions", t.num_partitions},
                {"replication_factor", t.replication_factor},
                {"validate_only", validate}});
  });
}

void DescribeTopic(const ExchangePtr& x) {
  const std::string topic = x->params.at("topic");
  TopicMetadata(x, topic, [x, topic](const MetadataResponse& r) {
    if (r.topics.size() != 1) return x->Internal(absl::InternalError("Metadata answered for no topic"));
    const auto& t = r.topics.front();
    if (t.error_code != 0) return x->KafkaError(t.error_code, std::nullopt, absl::StrCat("Metadata of ", topic));
    auto described = std::make_shared<nlohmann::json>(nlohmann::json{
        {"name", topic}, {"topic_id", TopicIdText(t.topic_id)}, {"internal", t.is_internal}});
    std::vector<int32_t> partitions;
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : t.partitions) {
      partitions.push_back(p.partition_index);
      parts.push_back({{"partition", p.partition_index},
                       {"leader", p.leader_id},
                       {"replicas", p.replica_nodes},
                       {"isr", p.isr_nodes}});
    }
    (*described)["partitions"] = std::move(parts);
    PartitionOffsets(x, topic, partitions, kEarliest, [x, topic, partitions, described](std::map<int32_t, int64_t> earliest) {
      PartitionOffsets(x, topic, partitions, kLatest, [x, described, earliest](std::map<int32_t, int64_t> latest) {
        for (auto& p : (*described)["partitions"]) {
          const int32_t index = p["partition"].get<int32_t>();
          p["log_start_offset"] = earliest.contains(index) ? earliest.at(index) : -1;
          p["high_watermark"] = latest.contains(index) ? latest.at(index) : -1;
        }
        x->Ok(200, *described);
      });
    });
  });
}

void DeleteTopic(const ExchangePtr& x) {
  const std::string topic = x->params.at("topic");
  DeleteTopicsRequest request;
  request.topic_names.push_back(topic);  // v0-5
  DeleteTopicsRequest::DeleteTopicState state;
  state.name = topic;  // v6+
  request.topics.push_back(std::move(state));
  request.timeout_ms = kTimeoutMs;
  x->Call<DeleteTopicsRequest, DeleteTopicsResponse>(request, [x, topic](const DeleteTopicsResponse& r) {
    if (r.responses.size() != 1) return x->Internal(absl::InternalError("DeleteTopics answered for no topic"));
    const auto& t = r.responses.front();
    if (t.error_code != 0) return x->KafkaError(t.error_code, t.error_message, absl::StrCat("DeleteTopics ", topic));
    x->Ok(200, {{"name", topic}, {"deleted", true}});
  });
}

void AlterTopicConfigs(const ExchangePtr& x) {
  const std::string topic = x->params.at("topic");
  absl::StatusOr<std::map<std::string, std::string>> set = OptionalStringMap(x->body, "set");
  absl::StatusOr<std::vector<std::string>> remove = OptionalStringList(x->body, "delete");
  absl::StatusOr<bool> validate_only = OptionalBool(x->body, "validate_only", false);
  for (const absl::Status& s : {set.status(), remove.status(), validate_only.status()}) {
    if (!s.ok()) return x->BadRequest(std::string(s.message()));
  }
  if (set->empty() && remove->empty()) return x->BadRequest("nothing to change: give \"set\" or \"delete\"");
  IncrementalAlterConfigsRequest request;
  IncrementalAlterConfigsRequest::AlterConfigsResource resource;
  resource.resource_type = kTopicResource;
  resource.resource_name = topic;
  for (const auto& [k, v] : *set) {
    IncrementalAlterConfigsRequest::AlterableConfig c;
    c.name = k;
    c.config_operation = 0;  // SET
    c.value = v;
    resource.configs.push_back(std::move(c));
  }
  for (const std::string& k : *remove) {
    IncrementalAlterConfigsRequest::AlterableConfig c;
    c.name = k;
    c.config_operation = 1;  // DELETE
    c.value.reset();
    resource.configs.push_back(std::move(c));
  }
  request.resources.push_back(std::move(resource));
  request.validate_only = *validate_only;
  x->Call<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(
      request, [x, topic](const IncrementalAlterConfigsResponse& r) {
        for (const auto& res : r.responses) {
          if (res.error_code != 0) return x->KafkaError(res.error_code, res.error_message, "IncrementalAlterConfigs");
        }
        DescribeTopicConfigs(x, topic);
      });
}

void AddPartitions(const ExchangePtr& x) {
  const std::string topic = x->params.at("topic");
  absl::StatusOr<std::optional<int64_t>> count = OptionalInt(x->body, "count");
  absl::StatusOr<bool> validate_only = OptionalBool(x->body, "validate_only", false);
  if (!count.ok()) return x->BadRequest(std::string(count.status().message()));
  if (!validate_only.ok()) return x->BadRequest(std::string(validate_only.status().message()));
  if (!count->has_value() || **count <= 0 || **count > INT32_MAX) return x->BadRequest("\"count\" must be a positive count");
  CreatePartitionsRequest request;
  CreatePartitionsRequest::CreatePartitionsTopic t;
  t.name = topic;
  t.count = static_cast<int32_t>(**count);
  t.assignments.reset();
  request.topics.push_back(std::move(t));
  request.timeout_ms = kTimeoutMs;
  request.validate_only = *validate_only;
  x->Call<CreatePartitionsRequest, CreatePartitionsResponse>(
      request, [x, topic, n = **count](const CreatePartitionsResponse& r) {
        for (const auto& res : r.results) {
          if (res.error_code != 0) return x->KafkaError(res.error_code, res.error_message, "CreatePartitions");
        }
        x->Ok(200, {{"name", topic}, {"partitions", n}});
      });
}

void DeleteRecords(const ExchangePtr& x) {
  const std::string topic = x->params.at("topic");
  auto it = x->body.find("partitions");
  if (it == x->body.end() || !it->is_array() || it->empty()) {
    return x->BadRequest("\"partitions\" must be a non-empty array of {\"partition\", \"offset\"}");
  }
  DeleteRecordsRequest request;
  DeleteRecordsRequest::DeleteRecordsTopic t;
  t.name = topic;
  for (const nlohmann::json& p : *it) {
    if (!p.is_object()) return x->BadRequest("each of \"partitions\" must be an object");
    absl::StatusOr<std::optional<int64_t>> partition = OptionalInt(p, "partition");
    absl::StatusOr<std::optional<int64_t>> offset = OptionalInt(p, "offset");
    if (!partition.ok()) return x->BadRequest(std::string(partition.status().message()));
    if (!offset.ok()) return x->BadRequest(std::string(offset.status().message()));
    if (!partition->has_value() || !offset->has_value() || **partition < 0 || **partition > INT32_MAX) {
      return x->BadRequest("each of \"partitions\" needs a \"partition\" and an \"offset\"");
    }
    DeleteRecordsRequest::DeleteRecordsPartition dp;
    dp.partition_index = static_cast<int32_t>(**partition);
    dp.offset = **offset;
    t.partitions.push_back(dp);
  }
  request.topics.push_back(std::move(t));
  request.timeout_ms = kTimeoutMs;
  x->Call<DeleteRecordsRequest, DeleteRecordsResponse>(request, [x, topic](const DeleteRecordsResponse& r) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& rt : r.topics) {
      for (const auto& rp : rt.partitions) {
        if (rp.error_code != 0) {
          return x->KafkaError(rp.error_code, std::nullopt, absl::StrCat("DeleteRecords of ", topic, "-", rp.partition_index));
        }
        parts.push_back({{"partition", rp.partition_index}, {"low_watermark", rp.low_watermark}});
      }
    }
    x->Ok(200, {{"name", topic}, {"partitions", std::move(parts)}});
  });
}

}  // namespace

void AddTopicRoutes(std::vector<RouteEntry>& routes) {
  routes.push_back(RouteEntry{"GET", "/api/v1/topics", ListTopics});
  routes.push_back(RouteEntry{"POST", "/api/v1/topics", CreateTopic});
  routes.push_back(RouteEntry{"GET", "/api/v1/topics/{topic}", DescribeTopic});
  routes.push_back(RouteEntry{"DELETE", "/api/v1/topics/{topic}", DeleteTopic});
  routes.push_back(RouteEntry{"GET", "/api/v1/topics/{topic}/configs",
                              [](const ExchangePtr& x) { DescribeTopicConfigs(x, x->params.at("topic")); }});
  routes.push_back(RouteEntry{"PATCH", "/api/v1/topics/{topic}/configs", AlterTopicConfigs});
  routes.push_back(RouteEntry{"POST", "/api/v1/topics/{topic}/partitions", AddPartitions});
  routes.push_back(RouteEntry{"POST", "/api/v1/topics/{topic}/delete-records", DeleteRecords});
}

}  // namespace chronik::admin::internal
