#pragma once

// Request and response headers, and splitting a request frame into header and body.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/apis.h"
#include "chronik_protocol/wire.h"

namespace chronik::protocol {

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  // Always a classic (int16-length) nullable string, even in header v2.
  std::optional<std::string> client_id;
  std::vector<TaggedField> unknown_tagged_fields;

  absl::Status Decode(Reader& r, int16_t header_version);
  void Encode(Writer& w, int16_t header_version) const;
  bool operator==(const RequestHeader&) const = default;
};

struct ResponseHeader {
  int32_t correlation_id = 0;
  std::vector<TaggedField> unknown_tagged_fields;

  absl::Status Decode(Reader& r, int16_t header_version);
  void Encode(Writer& w, int16_t header_version) const;
  bool operator==(const ResponseHeader&) const = default;
};

// A request frame (the bytes after the int32 size) split into its header and body.
struct ParsedRequest {
  RequestHeader header;
  // nullptr when the API key has no schema; the header then holds only key, version and
  // correlation id, which is all a broker needs to answer or drop it.
  const ApiDescriptor* api = nullptr;
  bool version_supported = false;  // within the codec's range for the API
  std::string_view body;           // points into the frame
};

// Fails only when not even the fixed header prefix can be read, or a known API's header is
// malformed. An unknown key or version is not an error here: the caller decides how to answer.
absl::StatusOr<ParsedRequest> ParseRequestFrame(std::string_view frame);

}  // namespace chronik::protocol
