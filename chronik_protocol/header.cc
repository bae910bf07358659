#include "chronik_protocol/header.h"

namespace chronik::protocol {
namespace {

void WriteTaggedSection(Writer& w, const std::vector<TaggedField>& fields) {
  if (fields.empty()) {
    w.WriteUnsignedVarint(0);
  } else {
    WriteTaggedFields(w, {}, fields);
  }
}

}  // namespace

absl::Status RequestHeader::Decode(Reader& r, int16_t header_version) {
  api_key = r.ReadInt16();
  api_version = r.ReadInt16();
  correlation_id = r.ReadInt32();
  if (header_version >= 1) client_id = r.ReadNullableString(/*compact=*/false);
  if (header_version >= 2) ReadTaggedFields(r, unknown_tagged_fields);
  return r.status();
}

void RequestHeader::Encode(Writer& w, int16_t header_version) const {
  w.WriteInt16(api_key);
  w.WriteInt16(api_version);
  w.WriteInt32(correlation_id);
  if (header_version >= 1) w.WriteNullableString(client_id, /*compact=*/false);
  if (header_version >= 2) WriteTaggedSection(w, unknown_tagged_fields);
}

absl::Status ResponseHeader::Decode(Reader& r, int16_t header_version) {
  correlation_id = r.ReadInt32();
  if (header_version >= 1) ReadTaggedFields(r, unknown_tagged_fields);
  return r.status();
}

void ResponseHeader::Encode(Writer& w, int16_t header_version) const {
  w.WriteInt32(correlation_id);
  if (header_version >= 1) WriteTaggedSection(w, unknown_tagged_fields);
}

absl::StatusOr<ParsedRequest> ParseRequestFrame(std::string_view frame) {
  ParsedRequest out;
  Reader r(frame);
  // Key, version and correlation id come first in every header version; read them before
  // deciding how the rest is laid out.
  {
    Reader prefix(frame);
    RequestHeader& h = out.header;
    if (!h.Decode(prefix, 0).ok()) {
      return absl::InvalidArgumentError("request frame shorter than a request header");
    }
  }
  out.api = FindApi(out.header.api_key);
  if (out.api == nullptr) return out;
  const int16_t version = out.header.api_version;
  out.version_supported = version >= out.api->min_version && version <= out.api->max_version;
  // An unsupported version still has a v1 header prefix we can read; a v2 header is only
  // assumed for versions whose layout we know.
  const int16_t header_version = out.version_supported ? RequestHeaderVersion(*out.api, version) : 1;
  RequestHeader h;
  absl::Status s = h.Decode(r, header_version);
  if (!s.ok()) return absl::InvalidArgumentError("malformed request header: " + std::string(s.message()));
  out.header = std::move(h);
  out.body = frame.substr(frame.size() - r.remaining());
  return out;
}

}  // namespace chronik::protocol
