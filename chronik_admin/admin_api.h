#pragma once

// The admin REST API (JSON under /api/v1 on --admin-port). Each operation is one or more Kafka
// requests run through the broker's own handlers (KafkaCaller) as the request of the HTTP
// client's principal, so the same ACLs authorize it and the same errors, by their Kafka names,
// answer it. The routes are listed once, in the route table, and openapi.json describes them; a
// test holds the two together.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chronik_admin/kafka_call.h"
#include "chronik_auth/credential_store.h"
#include "chronik_auth/http_auth.h"
#include "chronik_monitoring/http_server.h"

namespace chronik::admin {

using AdminToken = auth::BearerToken;

struct AdminApiOptions {
  // The Kafka listener whose view the admin sessions take (the endpoints Metadata advertises).
  std::string listener_name = "PLAINTEXT";
  // Without it, a request with no Authorization header runs as User:ANONYMOUS (ACLs still apply).
  bool require_authentication = false;
  std::optional<AdminToken> token;
  // HTTP Basic: a user's SCRAM credential checks the password. Null: Basic is refused.
  const auth::CredentialStore* credentials = nullptr;
};

class AdminApi {
 public:
  AdminApi(const KafkaCaller& kafka, AdminApiOptions options);
  ~AdminApi();

  // Serves one request under /api/v1; `reply` is called once, from any thread.
  void Handle(monitoring::HttpRequest request, monitoring::HttpServer::Reply reply) const;

  struct RouteInfo {
    std::string method;  // "GET", ...
    std::string path;    // "/api/v1/topics/{topic}"
  };
  // Every route served, for the check against the OpenAPI document.
  std::vector<RouteInfo> Routes() const;

 private:
  struct Router;
  const KafkaCaller& kafka_;
  const AdminApiOptions options_;
  std::unique_ptr<Router> router_;
};

// The OpenAPI 3 document of the routes (openapi.json, compiled in).
std::string_view OpenApiDocument();

}  // namespace chronik::admin
