#include "chronik_admin/admin_api.h"

#include <atomic>
#include <cctype>
#include <exception>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chronik_admin/exchange.h"
#include "chronik_auth/http_auth.h"
#include "chronik_protocol/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::admin {

using internal::Exchange;
using internal::ExchangePtr;
using internal::RouteEntry;
using monitoring::HttpResponse;
using monitoring::JsonError;

namespace internal {

void Exchange::Ok(int status, const nlohmann::json& j) {
  // Names from clients (group ids, client ids) need not be UTF-8: replaced, never a throw.
  reply_(HttpResponse{status, "application/json", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                      {}});
}

void Exchange::KafkaError(int16_t code, const std::optional<std::string>& message, std::string_view context) {
  const std::string name(protocol::ErrorName(static_cast<protocol::ErrorCode>(code)));
  std::string text = std::string(context);
  if (message.has_value() && !message->empty()) absl::StrAppend(&text, ": ", *message);
  reply_(JsonError(HttpStatusForKafkaError(code), name, text));
}

void Exchange::BadRequest(std::string_view message) { reply_(JsonError(400, "INVALID_REQUEST", message)); }

void Exchange::Internal(const absl::Status& status) {
  spdlog::error("admin API: {}", status.ToString());
  reply_(JsonError(500, "UNKNOWN_SERVER_ERROR", std::string(status.message())));
}

int HttpStatusForKafkaError(int16_t code) {
  using protocol::ErrorCode;
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kNone:
      return 200;
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kGroupIdNotFound:
    case ErrorCode::kResourceNotFound:
      return 404;
    case ErrorCode::kTopicAlreadyExists:
    case ErrorCode::kNonEmptyGroup:
    case ErrorCode::kUnknownMemberId:
    case ErrorCode::kIllegalGeneration:
    case ErrorCode::kRebalanceInProgress:
    case ErrorCode::kTopicDeletionDisabled:
      return 409;
    case ErrorCode::kCoordinatorLoadInProgress:
    case ErrorCode::kCoordinatorNotAvailable:
    case ErrorCode::kNotCoordinator:
    case ErrorCode::kRequestTimedOut:
      return 503;
    case ErrorCode::kUnsupportedVersion:
      return 501;
    case ErrorCode::kSecurityDisabled:
      return 400;
    default:
      break;
  }
  const std::string_view name = protocol::ErrorName(static_cast<ErrorCode>(code));
  if (name.ends_with("_AUTHORIZATION_FAILED")) return 403;
  if (name.starts_with("INVALID_") || name == "POLICY_VIOLATION" || name == "UNSUPPORTED_SASL_MECHANISM" ||
      name == "OFFSET_OUT_OF_RANGE" || name == "DUPLICATE_RESOURCE" || name == "UNACCEPTABLE_CREDENTIAL") {
    return 400;
  }
  return 500;
}

namespace {
absl::Status WrongType(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("\"", std::string(key), "\" must be ", std::string(what)));
}
}  // namespace

absl::StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return WrongType(key, "an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return WrongType(key, "an integer within 64 bits");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

absl::StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return WrongType(key, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

absl::StatusOr<bool> OptionalBool(const nlohmann::json& j, std::string_view key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return WrongType(key, "true or false");
  return it->get<bool>();
}

absl::StatusOr<std::map<std::string, std::string>> OptionalStringMap(const nlohmann::json& j, std::string_view key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return WrongType(key, "an object of strings");
  for (auto& [name, value] : it->items()) {
    if (!value.is_string()) return WrongType(absl::StrCat(std::string(key), ".", name), "a string");
    out[name] = value.get<std::string>();
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> OptionalStringList(const nlohmann::json& j, std::string_view key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return WrongType(key, "an array of strings");
  for (const auto& value : *it) {
    if (!value.is_string()) return WrongType(key, "an array of strings");
    out.push_back(value.get<std::string>());
  }
  return out;
}

std::string TopicIdText(const std::array<uint8_t, 16>& id) {
  return absl::WebSafeBase64Escape(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
}

}  // namespace internal

namespace {

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

HttpResponse Unauthorized(std::string_view message) {
  HttpResponse r = JsonError(401, "SASL_AUTHENTICATION_FAILED", message);
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"chronik\", charset=\"UTF-8\"");
  return r;
}

std::atomic<uint64_t> next_session_id{1};

}  // namespace

struct AdminApi::Router {
  std::vector<RouteEntry> routes;
};

AdminApi::AdminApi(const KafkaCaller& kafka, AdminApiOptions options)
    : kafka_(kafka), options_(std::move(options)), router_(std::make_unique<Router>()) {
  router_->routes.push_back(RouteEntry{"GET", "/api/v1/openapi.json", [](const ExchangePtr& x) {
                                         x->Ok(200, nlohmann::json::parse(OpenApiDocument()));
                                       }});
  internal::AddClusterRoutes(router_->routes);
  internal::AddTopicRoutes(router_->routes);
  internal::AddGroupRoutes(router_->routes);
  internal::AddSecurityRoutes(router_->routes);
  for (RouteEntry& r : router_->routes) r.segments = Segments(r.path);
}

AdminApi::~AdminApi() = default;

std::vector<AdminApi::RouteInfo> AdminApi::Routes() const {
  std::vector<RouteInfo> out;
  for (const RouteEntry& r : router_->routes) out.push_back(RouteInfo{r.method, r.path});
  return out;
}

void AdminApi::Handle(monitoring::HttpRequest request, monitoring::HttpServer::Reply reply) const {
  const size_t question = request.target.find('?');
  const std::string path = request.target.substr(0, question);
  const std::vector<std::string> segments = Segments(path);

  // The route: its path matches segment by segment, then the method.
  const RouteEntry* match = nullptr;
  std::map<std::string, std::string> params;
  std::vector<std::string> allowed;
  for (const RouteEntry& r : router_->routes) {
    const std::vector<std::string>& pattern = r.segments;
    if (pattern.size() != segments.size()) continue;
    std::map<std::string, std::string> found;
    bool same = true;
    for (size_t i = 0; i < pattern.size() && same; ++i) {
      if (pattern[i].starts_with("{")) {
        found[pattern[i].substr(1, pattern[i].size() - 2)] = monitoring::UrlDecode(segments[i], false);
        same = !segments[i].empty();
      } else {
        same = pattern[i] == segments[i];
      }
    }
    if (!same) continue;
    if (r.method == request.method) {
      match = &r;
      params = std::move(found);
      break;
    }
    allowed.push_back(r.method);
  }
  if (match == nullptr) {
    if (allowed.empty()) return reply(JsonError(404, "not_found", "no route " + path));
    HttpResponse r = JsonError(405, "method_not_allowed", absl::StrCat(request.method, " is not served on ", path));
    r.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
    return reply(std::move(r));
  }

  // Who asks. The OpenAPI document is public.
  absl::StatusOr<std::optional<std::string>> who =
      auth::AuthenticateHttp(request.authorization, options_.credentials, options_.token);
  if (!who.ok()) {
    spdlog::info("admin API: failed authentication from {}: {}", request.peer, std::string(who.status().message()));
    return reply(Unauthorized(std::string(who.status().message())));
  }
  if (!who->has_value() && options_.require_authentication && match->path != "/api/v1/openapi.json") {
    return reply(Unauthorized("authentication required"));
  }
  const std::string user = who->value_or("");

  auto session = std::make_shared<ingest::Session>();
  // Apart from the Kafka connections' ids, for anything that keys on a connection.
  session->connection_id = (uint64_t{1} << 63) | next_session_id.fetch_add(1);
  session->listener_name = options_.listener_name;
  session->peer = request.peer.empty() ? "admin-api" : request.peer;
  session->host = session->peer.substr(0, session->peer.rfind(':'));
  if (!user.empty()) {
    session->principal = "User:" + user;
    session->auth_state = ingest::AuthState::kAuthenticated;
  }

  auto exchange = std::make_shared<Exchange>(kafka_, std::move(session), std::move(reply));
  exchange->params = std::move(params);
  if (question != std::string::npos) exchange->query = monitoring::ParseQueryParameters(std::string_view(request.target).substr(question + 1));
  if (!request.body.empty()) {
    exchange->body = nlohmann::json::parse(request.body, nullptr, false);
    if (exchange->body.is_discarded()) return exchange->BadRequest("the body is not JSON");
    if (!exchange->body.is_object()) return exchange->BadRequest("the body must be a JSON object");
  } else {
    exchange->body = nlohmann::json::object();
  }
  try {
    match->fn(exchange);
  } catch (const std::exception& e) {
    exchange->Internal(absl::InternalError(e.what()));
  }
}

}  // namespace chronik::admin
