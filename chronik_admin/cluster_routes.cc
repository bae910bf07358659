// GET /api/v1/cluster and /api/v1/brokers: DescribeCluster.

#include "chronik_admin/exchange.h"
#include "chronik_config/server_config.h"
#include "chronik_protocol/messages/describe_cluster.h"

namespace chronik::admin::internal {

namespace {

using protocol::DescribeClusterRequest;
using protocol::DescribeClusterResponse;

void DescribeCluster(const ExchangePtr& x, std::function<void(const DescribeClusterResponse&)> next) {
  x->Call<DescribeClusterRequest, DescribeClusterResponse>(
      DescribeClusterRequest{}, [x, next = std::move(next)](const DescribeClusterResponse& r) {
        if (r.error_code != 0) return x->KafkaError(r.error_code, r.error_message, "DescribeCluster");
        next(r);
      });
}

nlohmann::json Brokers(const DescribeClusterResponse& r) {
  nlohmann::json brokers = nlohmann::json::array();
  for (const auto& b : r.brokers) {
    brokers.push_back({{"node_id", b.broker_id},
                       {"host", b.host},
                       {"port", b.port},
                       {"rack", b.rack.has_value() ? nlohmann::json(*b.rack) : nlohmann::json(nullptr)}});
  }
  return brokers;
}

}  // namespace

void AddClusterRoutes(std::vector<RouteEntry>& routes) {
  routes.push_back(RouteEntry{"GET", "/api/v1/cluster", [](const ExchangePtr& x) {
                                DescribeCluster(x, [x](const DescribeClusterResponse& r) {
                                  x->Ok(200, {{"cluster_id", r.cluster_id},
                                              {"controller_id", r.controller_id},
                                              {"version", std::string(config::kChronikVersion)},
                                              {"brokers", Brokers(r)}});
                                });
                              }});
  routes.push_back(RouteEntry{"GET", "/api/v1/brokers", [](const ExchangePtr& x) {
                                DescribeCluster(x, [x](const DescribeClusterResponse& r) {
                                  x->Ok(200, {{"brokers", Brokers(r)}});
                                });
                              }});
}

}  // namespace chronik::admin::internal
