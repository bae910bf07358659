#pragma once

// AWS Signature Version 4 (the Authorization header), for S3 and S3-compatible servers and for
// Google Cloud Storage's interoperable XML API with HMAC keys. Checked against AWS's published
// test vectors (sigv4_test.cc).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronik::storage::objects {

struct SigV4Request {
  std::string method;  // GET, PUT, ...
  std::string path;    // as it is to be encoded once (S3 does not normalize): "/bucket/a key"
  std::vector<std::pair<std::string, std::string>> query;    // names and values, not encoded
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, host included
  std::string payload_sha256;                                // hex; "UNSIGNED-PAYLOAD" is allowed
};

struct SigV4Key {
  std::string access_key;
  std::string secret_key;
  std::string region;   // us-east-1
  std::string service;  // s3
};

// RFC 3986 encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper case),
// '/' kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);
std::string Sha256Hex(std::string_view data);
// SHA-256 of data given in pieces (a file read piece by piece), as lower-case hex.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string Hex();

 private:
  struct Context;
  Context* context_;
};
// The raw 32-byte HMAC-SHA256 (also Azure's Shared Key signature, base64-encoded).
std::string HmacSha256(std::string_view key, std::string_view data);

std::string CanonicalRequest(const SigV4Request& request);
// `amz_date`: YYYYMMDD'T'HHMMSS'Z', the request's x-amz-date.
std::string StringToSign(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date);
std::string Signature(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date);
// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
std::string AuthorizationHeader(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date);

}  // namespace chronik::storage::objects
