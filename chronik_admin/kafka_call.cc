#include "chronik_admin/kafka_call.h"

#include <atomic>

#include "chronik_protocol/apis.h"
#include "chronik_protocol/header.h"

namespace chronik::admin {

namespace {
std::atomic<int32_t> next_correlation_id{1};
}  // namespace

int16_t KafkaCaller::ServedVersion(int16_t api_key) const {
  const ingest::HandlerEntry* entry = table_.Find(api_key);
  const protocol::ApiDescriptor* api = protocol::FindApi(api_key);
  if (entry == nullptr || api == nullptr) return -1;
  return std::min(entry->max_version, api->max_version);
}

std::string KafkaCaller::StartRequest(int16_t api_key, int16_t version) {
  protocol::RequestHeader header;
  header.api_key = api_key;
  header.api_version = version;
  header.correlation_id = next_correlation_id.fetch_add(1, std::memory_order_relaxed);
  header.client_id = "chronik-admin-api";
  std::string frame;
  protocol::Writer w(&frame);
  header.Encode(w, protocol::RequestHeaderVersion(*protocol::FindApi(api_key), version));
  return frame;
}

void KafkaCaller::Send(std::string_view frame, std::shared_ptr<ingest::Session> session,
                       std::function<void(absl::StatusOr<std::string>)> done) const {
  const int16_t api_key = static_cast<int16_t>((static_cast<uint8_t>(frame[0]) << 8) | static_cast<uint8_t>(frame[1]));
  const int16_t version = static_cast<int16_t>((static_cast<uint8_t>(frame[2]) << 8) | static_cast<uint8_t>(frame[3]));
  const int16_t header_version = protocol::ResponseHeaderVersion(*protocol::FindApi(api_key), version);
  dispatcher_.Dispatch(frame, std::move(session), [done = std::move(done), header_version](ingest::DispatchResult r) {
    if (!r.ok()) return done(r.status());
    if (!r->has_value()) return done(absl::InternalError("the handler sent no answer"));
    absl::StatusOr<std::string> flat = (*r)->Flatten();
    if (!flat.ok()) return done(flat.status());
    protocol::Reader reader(std::string_view(*flat).substr(4));
    protocol::ResponseHeader header;
    if (absl::Status s = header.Decode(reader, header_version); !s.ok()) return done(s);
    done(flat->substr(flat->size() - reader.remaining()));
  });
}

}  // namespace chronik::admin
