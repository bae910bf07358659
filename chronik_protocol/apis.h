#pragma once

// What the codec knows about each API (key, name, version range, flexible versions), derived
// from the generated messages so that no version number is written down twice.

#include <cstdint>
#include <span>
#include <string_view>

namespace chronik::protocol {

struct ApiDescriptor {
  int16_t key;
  std::string_view name;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_request;   // -1: never flexible
  int16_t first_flexible_response;  // -1: never flexible
};

// Every API with a schema, in key order.
std::span<const ApiDescriptor> AllApis();

// nullptr for a key without a schema.
const ApiDescriptor* FindApi(int16_t key);

// Request header v2 for flexible versions, v1 otherwise (every API we know reads a client id).
int16_t RequestHeaderVersion(const ApiDescriptor& api, int16_t version);

// Response header v1 for flexible versions, v0 otherwise. ApiVersions always answers with v0 so
// that a client that sent a version the broker does not know can still read the answer.
int16_t ResponseHeaderVersion(const ApiDescriptor& api, int16_t version);

}  // namespace chronik::protocol
