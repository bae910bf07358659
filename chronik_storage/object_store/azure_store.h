#pragma once

// Azure Blob Storage: block blobs in one container, requests authorized with Shared Key
// (HMAC-SHA256 of the canonical request with the account key), retried with backoff like S3's.
// A multipart upload is Put Block per part and Put Block List at Complete: nothing is visible
// before it, and blocks never committed are discarded by the service (after a week).

#include <memory>
#include <string>

#include "chronik_storage/object_store/http_store.h"

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

class AzureStore : public HttpObjectStore {
 public:
  static absl::StatusOr<std::unique_ptr<AzureStore>> Open(AzureConfig config);

  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::StatusOr<std::unique_ptr<MultipartUpload>> StartMultipart(const std::string& key) override;

  // Creates the container; OK if it exists.
  absl::Status CreateContainer();

  HttpRequest Sign(const Request& request, absl::Time now) const override;

 private:
  AzureStore(AzureConfig config, std::string decoded_key, std::string base_path, std::unique_ptr<HttpClient> client)
      : HttpObjectStore(std::move(client), config.retry, "x-ms-range", {{"x-ms-blob-type", "BlockBlob"}}),
        config_(std::move(config)),
        decoded_key_(std::move(decoded_key)),
        base_path_(std::move(base_path)) {}

  const AzureConfig config_;
  const std::string decoded_key_;
  const std::string base_path_;
};

}  // namespace chronik::storage::objects
