#pragma once

// S3 and S3-compatible servers, and Google Cloud Storage through its S3-interoperable XML API with
// HMAC keys: requests signed with AWS Signature Version 4, over HTTP or HTTPS (HttpClient), each
// retried with backoff on throttling, server errors and timeouts (RetryPolicy). Over HTTP payloads are
// signed (x-amz-content-sha256 is the body's digest), so a body damaged on the way is refused by the
// server; over HTTPS, TLS guards the body on the way and it is sent as UNSIGNED-PAYLOAD (see
// S3Config::unsigned_payload_over_tls).

#include <memory>
#include <string>

#include "chronik_storage/object_store/http_store.h"
#include "chronik_storage/object_store/sigv4.h"

namespace chronik::storage::objects {

struct S3Config {
  // "http[s]://host[:port]"; empty means AWS's regional endpoint https://s3.<region>.amazonaws.com.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  enum class Addressing { kAuto, kPath, kVirtualHosted };
  // kAuto: virtual-hosted (https://<bucket>.<endpoint host>/<key>) on AWS's and Google's
  // endpoints, path-style (https://<endpoint host>/<bucket>/<key>) on any other.
  Addressing addressing = Addressing::kAuto;
  HttpOptions http;
  RetryPolicy retry;
  // Over HTTPS, a request's body is sent as UNSIGNED-PAYLOAD instead of its SHA-256 being signed:
  // hashing each part cost the broker as much CPU as the rest of a segment's upload, and the TLS
  // record MACs already refuse a body damaged on the way. Never for GCS's endpoint, whose acceptance
  // of it cannot be checked from here; HTTP always signs the payload.
  bool unsigned_payload_over_tls = true;
  // Puts and parts carry their body's CRC-32C (x-amz-checksum-crc32c; a multipart upload declares
  // CRC32C at its start and lists each part's in its completion), which the server checks before
  // it keeps the body: with UNSIGNED-PAYLOAD nothing else checks what arrives against what was
  // read. The CPU's CRC instructions make it cheap. Never for GCS (GcsConfig, or GCS's endpoint),
  // whose XML API has checksums of its own (x-goog-hash).
  bool checksum_bodies = true;
};

// Google Cloud Storage's XML API: endpoint https://storage.googleapis.com, region "auto", HMAC keys
// as access and secret key.
S3Config GcsConfig(std::string bucket, std::string access_key, std::string secret_key);

class S3Store : public HttpObjectStore {
 public:
  static absl::StatusOr<std::unique_ptr<S3Store>> Open(S3Config config);

  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::StatusOr<std::unique_ptr<MultipartUpload>> StartMultipart(const std::string& key) override;

  // Creates the bucket; OK if it is ours already.
  absl::Status CreateBucket();

  HttpRequest Sign(const Request& request, absl::Time now) const override;
  HttpHeaders BodyHeaders(std::string_view body) const override;

 private:
  S3Store(S3Config config, bool virtual_hosted, bool unsigned_payload, bool checksums,
          std::unique_ptr<HttpClient> client)
      : HttpObjectStore(std::move(client), config.retry, "Range", {}),
        config_(std::move(config)),
        virtual_hosted_(virtual_hosted),
        unsigned_payload_(unsigned_payload),
        checksums_(checksums) {}

  const S3Config config_;
  const bool virtual_hosted_;
  const bool unsigned_payload_;  // bodies sent as UNSIGNED-PAYLOAD
  const bool checksums_;         // bodies carry x-amz-checksum-crc32c
};

}  // namespace chronik::storage::objects
