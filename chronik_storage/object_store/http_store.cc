#include "chronik_storage/object_store/http_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace chronik::storage::objects {

absl::StatusOr<HttpResponse> HttpObjectStore::Send(const Request& request, std::string_view what) {
  return SendChecked(
      *client_, retry_,
      [&] {
        HttpRequest signed_request = Sign(request, absl::Now());
        signed_request.response_buffer = request.response_buffer;
        return signed_request;
      },
      what);
}

absl::Status HttpObjectStore::Put(const std::string& key, std::string_view data) {
  if (auto st = ValidateKey(key); !st.ok()) return st;
  HttpHeaders headers = put_headers_;
  for (auto& header : BodyHeaders(data)) headers.push_back(std::move(header));
  return Send({"PUT", key, {}, std::move(headers), data}, absl::StrCat("put ", key)).status();
}

absl::StatusOr<std::string> HttpObjectStore::Get(const std::string& key, std::optional<ByteRange> range) {
  return GetInto(key, range, nullptr);
}

absl::StatusOr<std::string> HttpObjectStore::GetReusing(const std::string& key, ByteRange range, std::string buffer) {
  return GetInto(key, range, &buffer);
}

absl::StatusOr<std::string> HttpObjectStore::GetInto(const std::string& key, std::optional<ByteRange> range,
                                                     std::string* buffer) {
  if (auto st = ValidateKey(key); !st.ok()) return st;
  HttpHeaders headers;
  if (range) headers.emplace_back(range_header_, absl::StrCat("bytes=", range->first, "-", range->last));
  auto response = Send({"GET", key, {}, std::move(headers), {}, buffer}, absl::StrCat("get ", key));
  if (!response.ok()) return response.status();
  return RangedBody(*std::move(response), range, absl::StrCat("get ", key));
}

absl::Status HttpObjectStore::Delete(const std::string& key) {
  if (auto st = ValidateKey(key); !st.ok()) return st;
  auto response = Send({"DELETE", key, {}, {}, {}}, absl::StrCat("delete ", key));
  if (!response.ok() && !absl::IsNotFound(response.status())) return response.status();
  return absl::OkStatus();
}

}  // namespace chronik::storage::objects
