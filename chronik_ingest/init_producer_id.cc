#include "chronik_ingest/init_producer_id.h"

#include "chronik_ingest/kafka_error.h"
#include "chronik_protocol/errors.h"
#include "chronik_protocol/messages/init_producer_id.h"
#include "spdlog/spdlog.h"

namespace chronik::ingest {

using protocol::ErrorCode;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;

void RegisterInitProducerId(HandlerTable& table, ProducerIdManager& ids) {
  table.Add<InitProducerIdRequest, InitProducerIdResponse>(
      InitProducerIdRequest::kMaxVersion,
      [&ids](const RequestContext& ctx, const InitProducerIdRequest& request) {
        InitProducerIdResponse response;
        response.producer_id = -1;
        response.producer_epoch = -1;
        if (request.transactional_id.has_value()) {
          response.error_code = static_cast<int16_t>(ErrorCode::kCoordinatorNotAvailable);
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
      // A new block of ids is fsync'd in the metadata store.
      HandlerTraits{.blocking = true});
}

}  // namespace chronik::ingest
