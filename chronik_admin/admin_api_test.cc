#include "chronik_admin/admin_api.h"

#include <set>

#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_protocol/messages/describe_cluster.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace chronik::admin {
namespace {

using monitoring::HttpRequest;
using monitoring::HttpResponse;

// A broker whose one API is DescribeCluster, answering with the asking session's principal and
// listener as its cluster id, so that a test sees who the admin API asked as.
class AdminApiTest : public ::testing::Test {
 protected:
  AdminApiTest() {
    table_.Add<protocol::DescribeClusterRequest, protocol::DescribeClusterResponse>(
        1, [](const ingest::RequestContext& ctx, const protocol::DescribeClusterRequest&) {
          protocol::DescribeClusterResponse r;
          r.cluster_id = ctx.session.principal + "@" + ctx.session.listener_name;
          r.controller_id = 1;
          return r;
        });
  }

  HttpResponse Serve(const AdminApi& api, HttpRequest request) {
    std::optional<HttpResponse> out;
    api.Handle(std::move(request), [&](HttpResponse r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value());  // the handlers here all answer at once
    return out.value_or(HttpResponse{});
  }

  static HttpRequest Get(std::string target, std::string authorization = "") {
    return HttpRequest{"GET", std::move(target), "", std::move(authorization), "127.0.0.1:5000", ""};
  }

  ingest::HandlerTable table_;
  ingest::Dispatcher dispatcher_{table_};
  KafkaCaller kafka_{dispatcher_, table_};
};

TEST_F(AdminApiTest, EveryRouteIsInTheOpenApiDocumentAndEveryDocumentedRouteIsServed) {
  const AdminApi api(kafka_, AdminApiOptions{});
  const nlohmann::json doc = nlohmann::json::parse(OpenApiDocument());
  std::set<std::pair<std::string, std::string>> served;
  for (const AdminApi::RouteInfo& r : api.Routes()) {
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(served.emplace(method, r.path).second) << "served twice: " << r.method << " " << r.path;
  }
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      documented.emplace(method, path);
      EXPECT_TRUE(op.contains("responses")) << method << " " << path;
    }
  }
  EXPECT_EQ(served, documented);
  EXPECT_GE(served.size(), 20u);
}

TEST_F(AdminApiTest, UnknownRoutesWrongMethodsAndBadBodiesGetJsonErrors) {
  const AdminApi api(kafka_, AdminApiOptions{});
  HttpResponse r = Serve(api, Get("/api/v1/nothing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body).at("error"), "not_found");

  r = Serve(api, HttpRequest{"PUT", "/api/v1/cluster", "", "", "", ""});
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET");

  r = Serve(api, HttpRequest{"GET", "/api/v1/cluster", "", "", "", "{not json"});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body).at("error"), "INVALID_REQUEST");

  r = Serve(api, HttpRequest{"GET", "/api/v1/cluster", "", "", "", "[1, 2]"});
  EXPECT_EQ(r.status, 400);

  // An API the broker does not serve is an internal error, not a made-up answer.
  r = Serve(api, Get("/api/v1/topics"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(nlohmann::json::parse(r.body).at("error"), "UNKNOWN_SERVER_ERROR");
}

TEST_F(AdminApiTest, RequestsRunThroughTheKafkaHandlersAsTheirPrincipal) {
  const AdminApi api(kafka_, AdminApiOptions{.listener_name = "EXTERNAL",
                                             .require_authentication = false,
                                             .token = AdminToken{"ops", "s3cret"},
                                             .credentials = nullptr});
  HttpResponse r = Serve(api, Get("/api/v1/cluster"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body).at("cluster_id"), "User:ANONYMOUS@EXTERNAL");

  r = Serve(api, Get("/api/v1/cluster", "Bearer s3cret"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body).at("cluster_id"), "User:ops@EXTERNAL");
}

TEST_F(AdminApiTest, AuthenticationWhenRequired) {
  const AdminApi api(kafka_, AdminApiOptions{.listener_name = "PLAINTEXT",
                                             .require_authentication = true,
                                             .token = AdminToken{"ops", "s3cret"},
                                             .credentials = nullptr});
  HttpResponse r = Serve(api, Get("/api/v1/cluster"));
  EXPECT_EQ(r.status, 401);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");

  EXPECT_EQ(Serve(api, Get("/api/v1/cluster", "Bearer s3cre")).status, 401);
  EXPECT_EQ(Serve(api, Get("/api/v1/cluster", "Bearer s3cret!")).status, 401);
  EXPECT_EQ(Serve(api, Get("/api/v1/cluster", "Digest x")).status, 401);
  // No credential store: Basic cannot succeed.
  EXPECT_EQ(Serve(api, Get("/api/v1/cluster", "Basic b3BzOnMzY3JldA==")).status, 401);
  EXPECT_EQ(Serve(api, Get("/api/v1/cluster", "Basic !!!")).status, 401);
  EXPECT_EQ(Serve(api, Get("/api/v1/cluster", "Bearer s3cret")).status, 200);
  // The document is public.
  r = Serve(api, Get("/api/v1/openapi.json"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body).at("openapi"), "3.0.3");
}

}  // namespace
}  // namespace chronik::admin
