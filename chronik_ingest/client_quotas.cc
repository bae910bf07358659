#include "chronik_ingest/client_quotas.h"

#include <set>

#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/all_messages.h"

namespace chronik::ingest {

using protocol::DescribeClientQuotasRequest;
using protocol::DescribeClientQuotasResponse;
using protocol::ErrorCode;

void RegisterDescribeClientQuotas(HandlerTable& table, const BrokerContext& broker) {
  table.Add<DescribeClientQuotasRequest, DescribeClientQuotasResponse>(
      DescribeClientQuotasRequest::kMaxVersion,
      [&broker](const RequestContext& ctx, const DescribeClientQuotasRequest& request) {
        DescribeClientQuotasResponse response;
        auto fail = [&response](ErrorCode code, std::string message) {
          response.error_code = static_cast<int16_t>(code);
          response.error_message = std::move(message);
          response.entries.reset();
          return response;
        };
        if (!broker.AuthorizedCluster(ctx, AclOperation::kDescribeConfigs)) {
          return fail(ErrorCode::kClusterAuthorizationFailed, "Authorization failed.");
        }
        // Kafka's checks of the filter: known entity types, each once, a known match type, and a
        // name exactly when matching one entity.
        std::set<std::string> types;
        for (const auto& c : request.components) {
          if (c.entity_type != "user" && c.entity_type != "client-id" && c.entity_type != "ip") {
            return fail(ErrorCode::kInvalidRequest, "Custom entity type '" + c.entity_type + "' not supported");
          }
          if (!types.insert(c.entity_type).second) {
            return fail(ErrorCode::kInvalidRequest, "Duplicate " + c.entity_type + " filter component entity type");
          }
          if (c.match_type < 0 || c.match_type > 2) {
            return fail(ErrorCode::kInvalidRequest, "Unknown match type: " + std::to_string(c.match_type));
          }
          if ((c.match_type == 0) != c.match.has_value()) {
            return fail(ErrorCode::kInvalidRequest, "A match name is given exactly when matching one entity");
          }
        }
        if (types.contains("ip") && types.size() > 1) {
          return fail(ErrorCode::kInvalidRequest,
                      "IP filter component should not be used with user or clientId filter component.");
        }
        response.entries.emplace();
        return response;
      });
}

}  // namespace chronik::ingest
