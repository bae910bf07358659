#include "chronik_ingest/api_versions.h"

#include <string_view>

namespace chronik::ingest {
namespace {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;

// Kafka's rule for client_software_name/version (KIP-511): letters, digits, '-' and '.', starting
// and ending with a letter or digit.
bool ValidSoftwareField(std::string_view s) {
  if (s.empty()) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

ApiVersionsResponse BuildApiVersionsResponse(const HandlerTable& table, protocol::ErrorCode error) {
  ApiVersionsResponse response;
  response.error_code = static_cast<int16_t>(error);
  for (const SupportedVersions& v : table.Supported()) {
    ApiVersionsResponse::ApiVersion& a = response.api_keys.emplace_back();
    a.api_key = v.api_key;
    a.min_version = v.min_version;
    a.max_version = v.max_version;
  }
  return response;
}

void RegisterApiVersions(HandlerTable& table) {
  table.Add<ApiVersionsRequest, ApiVersionsResponse>(
      ApiVersionsRequest::kMaxVersion,
      [&table](const RequestContext& ctx, const ApiVersionsRequest& request) {
        protocol::ErrorCode error = protocol::ErrorCode::kNone;
        if (ctx.header.api_version >= 3 && (!ValidSoftwareField(request.client_software_name) ||
                                            !ValidSoftwareField(request.client_software_version))) {
          error = protocol::ErrorCode::kInvalidRequest;
        } else if (ctx.header.api_version >= 3) {
          ctx.session.client_software_name = request.client_software_name;
          ctx.session.client_software_version = request.client_software_version;
        }
        return BuildApiVersionsResponse(table, error);
      });
}

}  // namespace chronik::ingest
