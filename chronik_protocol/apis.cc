#include "chronik_protocol/apis.h"

#include <algorithm>
#include <array>

#include "chronik_protocol/messages/all_messages.h"

namespace chronik::protocol {
namespace {

constexpr std::array kApis = {
#define CHRONIK_API_DESCRIPTOR(Name, Request, Response)                                      \
  ApiDescriptor{Request::kApiKey, Request::kApiName, Request::kMinVersion, Request::kMaxVersion, \
                Request::kFirstFlexibleVersion, Response::kFirstFlexibleVersion},
    CHRONIK_FOR_EACH_API(CHRONIK_API_DESCRIPTOR)
#undef CHRONIK_API_DESCRIPTOR
};

constexpr int16_t kApiVersionsKey = ApiVersionsRequest::kApiKey;

bool Flexible(int16_t first_flexible, int16_t version) {
  return first_flexible >= 0 && version >= first_flexible;
}

}  // namespace

std::span<const ApiDescriptor> AllApis() { return kApis; }

const ApiDescriptor* FindApi(int16_t key) {
  auto it = std::lower_bound(kApis.begin(), kApis.end(), key,
                             [](const ApiDescriptor& a, int16_t k) { return a.key < k; });
  return (it != kApis.end() && it->key == key) ? &*it : nullptr;
}

int16_t RequestHeaderVersion(const ApiDescriptor& api, int16_t version) {
  return Flexible(api.first_flexible_request, version) ? 2 : 1;
}

int16_t ResponseHeaderVersion(const ApiDescriptor& api, int16_t version) {
  if (api.key == kApiVersionsKey) return 0;
  return Flexible(api.first_flexible_response, version) ? 1 : 0;
}

}  // namespace chronik::protocol
