#include "chronik_ingest/dispatcher.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "chronik_ingest/api_versions.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/messages/api_versions.h"

namespace chronik::ingest {
namespace {

using protocol::ResponseHeader;
using protocol::Writer;

void PatchSize(std::string& frame) {
  const uint32_t size = static_cast<uint32_t>(frame.size() - 4);
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(size >> (8 * (3 - i)));
}

std::string StartFrame(int32_t correlation_id, int16_t header_version) {
  std::string frame(4, '\0');
  Writer w(&frame);
  ResponseHeader h;
  h.correlation_id = correlation_id;
  h.Encode(w, header_version);
  return frame;
}

}  // namespace

void Dispatcher::Dispatch(std::string_view frame, const ConnectionInfo& connection,
                          std::function<void(DispatchResult)> done) const {
  absl::StatusOr<protocol::ParsedRequest> parsed = protocol::ParseRequestFrame(frame);
  if (!parsed.ok()) return done(parsed.status());
  const protocol::RequestHeader& header = parsed->header;
  const int16_t key = header.api_key;
  const int16_t version = header.api_version;

  const HandlerEntry* entry = table_.Find(key);
  if (entry == nullptr) {
    return done(absl::UnimplementedError(absl::StrCat("API key ", key, " is not served by this broker")));
  }
  if (version < entry->min_version || version > entry->max_version) {
    if (key == protocol::ApiVersionsRequest::kApiKey) {
      // A client newer than us: answer in v0, which every client can read, with the versions we
      // do support, so that it retries with one of them.
      std::string out = StartFrame(header.correlation_id, 0);
      Writer w(&out);
      BuildApiVersionsResponse(table_, protocol::ErrorCode::kUnsupportedVersion).Encode(w, 0);
      PatchSize(out);
      return done(std::optional<std::string>(std::move(out)));
    }
    return done(absl::UnimplementedError(absl::StrCat(std::string(parsed->api->name), " v", version,
                                                      " is not served by this broker (served: v",
                                                      entry->min_version, "-v", entry->max_version, ")")));
  }

  const int32_t correlation_id = header.correlation_id;
  const int16_t header_version = protocol::ResponseHeaderVersion(*parsed->api, version);
  RequestContext ctx{header, connection};
  entry->fn(ctx, parsed->body,
            [done = std::move(done), correlation_id, header_version](ResponseBody body) {
              if (!body.ok()) return done(body.status());
              if (!body->has_value()) return done(std::optional<std::string>());
              std::string out = StartFrame(correlation_id, header_version);
              out.append(**body);
              PatchSize(out);
              done(std::optional<std::string>(std::move(out)));
            });
}

DispatchResult Dispatcher::Handle(std::string_view frame, const ConnectionInfo& connection) const {
  std::optional<DispatchResult> result;
  Dispatch(frame, connection, [&result](DispatchResult r) { result = std::move(r); });
  if (!result.has_value()) return absl::InternalError("handler did not answer at once");
  return *std::move(result);
}

}  // namespace chronik::ingest
