#pragma once

// What the S3 and Azure stores do alike: a request to a key, signed by the store, sent with
// retries; put, ranged get and delete. A store says how it signs, which header asks for a range
// and what a put adds.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chronik_storage/object_store/http_client.h"
#include "chronik_storage/object_store/http_store_util.h"
#include "chronik_storage/object_store/object_store.h"

namespace chronik::storage::objects {

class HttpObjectStore : public ObjectStore {
 public:
  struct Request {
    std::string method;
    std::string key;  // "" for the bucket or container itself
    std::vector<std::pair<std::string, std::string>> query;  // not encoded
    HttpHeaders headers;
    std::string_view body;
    std::string* response_buffer = nullptr;  // HttpRequest::response_buffer
  };
  // Sends `request`, signed anew for each attempt, with retries; an error response is a Status.
  absl::StatusOr<HttpResponse> Send(const Request& request, std::string_view what);

  absl::Status Put(const std::string& key, std::string_view data) override;
  absl::StatusOr<std::string> Get(const std::string& key, std::optional<ByteRange> range) override;
  absl::StatusOr<std::string> GetReusing(const std::string& key, ByteRange range, std::string buffer) override;
  absl::Status Delete(const std::string& key) override;

  // The request as sent at `now`: signed, path and query encoded as signed.
  virtual HttpRequest Sign(const Request& request, absl::Time now) const = 0;
  // Headers a put of `body` adds besides the store's fixed ones, computed once for all attempts
  // (a checksum of the body for the server to check).
  virtual HttpHeaders BodyHeaders(std::string_view /*body*/) const { return {}; }

 protected:
  HttpObjectStore(std::unique_ptr<HttpClient> client, RetryPolicy retry, std::string range_header,
                  HttpHeaders put_headers)
      : client_(std::move(client)),
        retry_(retry),
        range_header_(std::move(range_header)),
        put_headers_(std::move(put_headers)) {}
  const HttpClient& client() const { return *client_; }

 private:
  absl::StatusOr<std::string> GetInto(const std::string& key, std::optional<ByteRange> range, std::string* buffer);

  std::unique_ptr<HttpClient> client_;
  const RetryPolicy retry_;
  const std::string range_header_;
  const HttpHeaders put_headers_;
};

}  // namespace chronik::storage::objects
