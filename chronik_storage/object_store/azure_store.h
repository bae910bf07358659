#pragma once

// Azure Blob Storage: block blobs in one container, requests authorized with Shared Key
// (HMAC-SHA256 of the canonical request with the account key), retried with backoff like S3's.
// A multipart upload is Put Block per part and Put Block List at Complete: nothing is visible
// before it, and blocks never committed are discarded by the service (after a week).

#include <memory>
#include <string>

#include "chronik_storage/object_store/http_client.h"
#include "chronik_storage/object_store/http_store_util.h"
#include "chronik_storage/object_store/object_store.h"

namespace chronik::storage::objects {

struct AzureConfig {
  std::string account;    // AZURE_STORAGE_ACCOUNT
  std::string key;        // AZURE_STORAGE_KEY, base64 as the portal shows it
  std::string container;  // AZURE_CONTAINER
  // "http[s]://host[:port][/path]"; empty means https://<account>.blob.core.windows.net. An
  // emulator such as Azurite has the account as the path: http://127.0.0.1:10000/<account>.
  std::string endpoint;
  HttpOptions http;
  RetryPolicy retry;
};

struct AzureRequest {
  std::string method;
  std::string path;  // encoded, from the endpoint's path on: "/<account>/<container>/<blob>"
  std::vector<std::pair<std::string, std::string>> query;  // not encoded
  HttpHeaders headers;                                      // x-ms-date and x-ms-version included
  int64_t content_length = 0;
};
// Shared Key's string to sign (for service versions from 2015-02-21 on).
std::string AzureStringToSign(const AzureRequest& request, std::string_view account);

class AzureStore : public ObjectStore {
 public:
  static absl::StatusOr<std::unique_ptr<AzureStore>> Open(AzureConfig config);

  absl::Status Put(const std::string& key, std::string_view data) override;
  absl::StatusOr<std::string> Get(const std::string& key, std::optional<ByteRange> range) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<std::unique_ptr<MultipartUpload>> StartMultipart(const std::string& key) override;

  // Creates the container; OK if it exists.
  absl::Status CreateContainer();

  struct Request {
    std::string method;
    std::string blob;  // "" for the container
    std::vector<std::pair<std::string, std::string>> query;
    HttpHeaders headers;
    std::string_view body;
  };
  // Sends `request`, authorized, with retries; an error response is a Status.
  absl::StatusOr<HttpResponse> Send(const Request& request, std::string_view what);

 private:
  AzureStore(AzureConfig config, std::string decoded_key, std::string base_path, std::unique_ptr<HttpClient> client)
      : config_(std::move(config)),
        decoded_key_(std::move(decoded_key)),
        base_path_(std::move(base_path)),
        client_(std::move(client)) {}
  HttpRequest Sign(const Request& request, absl::Time now) const;

  const AzureConfig config_;
  const std::string decoded_key_;
  const std::string base_path_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace chronik::storage::objects
