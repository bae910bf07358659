// libFuzzer target: arbitrary bytes as a request frame. The frame is split into header and body;
// a known API's body is decoded as its request and, whatever the version says, as its response.
// Anything that decodes must re-encode to bytes that decode again, whole, and encode to the same
// bytes. (Bytes, not values: a float64 field may hold a NaN, which equals nothing.)

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chronik_protocol/header.h"
#include "chronik_protocol/messages/all_messages.h"

namespace chronik::protocol {
namespace {

template <typename Message>
void DecodeReencode(std::string_view body, int16_t version) {
  Message m;
  Reader r(body);
  if (!m.Decode(r, version).ok()) return;
  std::string bytes;
  Writer w(&bytes);
  m.Encode(w, version);
  Message again;
  Reader r2(bytes);
  if (!again.Decode(r2, version).ok() || r2.remaining() != 0) std::abort();
  std::string bytes_again;
  Writer w2(&bytes_again);
  again.Encode(w2, version);
  if (bytes_again != bytes) std::abort();
}

void FuzzOne(std::string_view frame) {
  absl::StatusOr<ParsedRequest> parsed = ParseRequestFrame(frame);
  if (!parsed.ok() || parsed->api == nullptr || !parsed->version_supported) return;
  switch (parsed->header.api_key) {
#define CHRONIK_FUZZ_CASE(Name, Request, Response)                     \
  case Request::kApiKey:                                               \
    DecodeReencode<Request>(parsed->body, parsed->header.api_version);  \
    DecodeReencode<Response>(parsed->body, parsed->header.api_version); \
    break;
    CHRONIK_FOR_EACH_API(CHRONIK_FUZZ_CASE)
#undef CHRONIK_FUZZ_CASE
  }
}

}  // namespace
}  // namespace chronik::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chronik::protocol::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
