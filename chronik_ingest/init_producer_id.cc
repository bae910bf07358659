#include "chronik_ingest/init_producer_id.h"

#include "chronik_ingest/kafka_error.h"
#include "chronik_ingest/txn_handlers.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/init_producer_id.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {

using protocol::ErrorCode;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;

void RegisterInitProducerId(HandlerTable& table, const BrokerContext& broker, ProducerIdManager& ids,
                            TxnCoordinator& txns) {
  table.Add<InitProducerIdRequest, InitProducerIdResponse>(
      InitProducerIdRequest::kMaxVersion,
      [&broker, &ids, &txns](const RequestContext& ctx, const InitProducerIdRequest& request) {
        InitProducerIdResponse response;
        response.producer_id = -1;
        response.producer_epoch = -1;
        // A transactional producer needs WRITE on its id; an idempotent one IDEMPOTENT_WRITE on the
        // cluster, or WRITE on some topic (Kafka 2.8+).
        if (request.transactional_id.has_value()
                ? !broker.Authorized(ctx, AclOperation::kWrite, ResourceType::kTransactionalId, *request.transactional_id)
                : !broker.Permits(ctx, AclOperation::kIdempotentWrite, ResourceType::kCluster,
                                  auth::kClusterResourceName) &&
                      !broker.AuthorizedAny(ctx, AclOperation::kWrite, ResourceType::kTopic)) {
          response.error_code = static_cast<int16_t>(request.transactional_id.has_value()
                                                         ? ErrorCode::kTransactionalIdAuthorizationFailed
                                                         : ErrorCode::kClusterAuthorizationFailed);
          return response;
        }
        if (request.transactional_id.has_value()) {
          std::optional<ProducerIdAndEpoch> expected;
          if (request.producer_id >= 0) expected = ProducerIdAndEpoch{request.producer_id, request.producer_epoch};
          absl::StatusOr<ProducerIdAndEpoch> r =
              txns.InitProducerId(*request.transactional_id, request.transaction_timeout_ms, expected);
          if (!r.ok()) {
            response.error_code =
                static_cast<int16_t>(FencedForVersion(ToKafkaError(r.status()), ctx.header.api_version, 4));
            return response;
          }
          response.producer_id = r->producer_id;
          response.producer_epoch = r->epoch;
          return response;
        }
        absl::StatusOr<int64_t> id = ids.Next();
        if (!id.ok()) {
          spdlog::warn("InitProducerId for {}: {}", ctx.session.peer, std::string(id.status().message()));
          response.error_code = static_cast<int16_t>(ToKafkaError(id.status(), ErrorCode::kKafkaStorageError));
          return response;
        }
        response.producer_id = *id;
        response.producer_epoch = 0;
        return response;
      },
      // A new block of ids, or a transaction's state, is fsync'd in the metadata store.
      HandlerTraits{.blocking = true});
}

}  // namespace chronik::ingest
