#pragma once

// What the admin API's route files share: one HTTP exchange (its principal's session, path
// parameters, query, body and reply), the route table they add to, and the one mapping of Kafka
// errors to HTTP answers.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chronik_admin/kafka_call.h"
#include "chronik_ingest/session.h"
#include "chronik_monitoring/http_server.h"
#include "chronik_protocol/messages/metadata.h"
#include "nlohmann/json.hpp"

namespace chronik::admin::internal {

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(const KafkaCaller& kafka, std::shared_ptr<ingest::Session> session, monitoring::HttpServer::Reply reply)
      : kafka_(kafka), session_(std::move(session)), reply_(std::move(reply)) {}

  std::map<std::string, std::string> params;  // path parameters, decoded
  std::map<std::string, std::string> query;   // query parameters, decoded
  nlohmann::json body;                        // the parsed body (an object), or null

  // Runs a Kafka request as this exchange's principal. `next` gets the response; an error of the
  // call itself is answered here.
  template <typename Request, typename Response>
  void Call(const Request& request, std::function<void(const Response&)> next) {
    kafka_.Call<Request, Response>(session_, request,
                                   [self = shared_from_this(), next = std::move(next)](absl::StatusOr<Response> r) {
                                     if (!r.ok()) return self->Internal(r.status());
                                     next(*r);
                                   });
  }

  void Ok(int status, const nlohmann::json& j);
  // A Kafka error code from a response: its HTTP status and name.
  void KafkaError(int16_t code, const std::optional<std::string>& message, std::string_view context);
  // A request the API itself refuses: 400 INVALID_REQUEST.
  void BadRequest(std::string_view message);
  void Internal(const absl::Status& status);

 private:
  const KafkaCaller& kafka_;
  std::shared_ptr<ingest::Session> session_;
  monitoring::HttpServer::Reply reply_;
};

using ExchangePtr = std::shared_ptr<Exchange>;
using RouteFn = std::function<void(const ExchangePtr&)>;

struct RouteEntry {
  std::string method;
  std::string path;  // with {name} segments
  RouteFn fn;
  std::vector<std::string> segments = {};  // `path` split at '/', by the router at start
};

// The HTTP status of a Kafka error.
int HttpStatusForKafkaError(int16_t code);

// Body fields, checked: a wrong type is a BadRequest naming the field.
absl::StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& j, std::string_view key);
absl::StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& j, std::string_view key);
absl::StatusOr<bool> OptionalBool(const nlohmann::json& j, std::string_view key, bool fallback);
// A JSON object of strings ({"retention.ms": "1000"}).
absl::StatusOr<std::map<std::string, std::string>> OptionalStringMap(const nlohmann::json& j, std::string_view key);
absl::StatusOr<std::vector<std::string>> OptionalStringList(const nlohmann::json& j, std::string_view key);

// Kafka's topic id text (URL-safe base64 without padding).
std::string TopicIdText(const std::array<uint8_t, 16>& id);

// Metadata of one topic, or of all (nullopt), never creating one.
void TopicMetadata(const ExchangePtr& x, std::optional<std::string> topic,
                   std::function<void(const protocol::MetadataResponse&)> next);
// ListOffsets of `partitions` of `topic` at `timestamp` (-2 earliest, -1 latest, or a time in
// ms: -1 where no record is that late). A partition's error is answered here.
void PartitionOffsets(const ExchangePtr& x, const std::string& topic, const std::vector<int32_t>& partitions,
                      int64_t timestamp, std::function<void(std::map<int32_t, int64_t>)> next);

void AddClusterRoutes(std::vector<RouteEntry>& routes);
void AddTopicRoutes(std::vector<RouteEntry>& routes);
void AddGroupRoutes(std::vector<RouteEntry>& routes);
void AddSecurityRoutes(std::vector<RouteEntry>& routes);

}  // namespace chronik::admin::internal
