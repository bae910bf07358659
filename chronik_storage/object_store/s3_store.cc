#include "chronik_storage/object_store/s3_store.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chronik_common/host_port.h"
#include "chronik_protocol/records/crc32c.h"

namespace chronik::storage::objects {
namespace {

bool IsGcsEndpoint(const std::string& host) { return absl::EqualsIgnoreCase(host, "storage.googleapis.com"); }

bool IsCloudEndpoint(const std::string& host) {
  return absl::EndsWithIgnoreCase(host, ".amazonaws.com") || IsGcsEndpoint(host);
}

constexpr char kChecksumHeader[] = "x-amz-checksum-crc32c";

// S3's form of a CRC-32C: its four bytes, most significant first, in base64.
std::string Crc32cBase64(std::string_view body) {
  const uint32_t crc = protocol::Crc32c(body);
  const char bytes[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                         static_cast<char>(crc)};
  return absl::Base64Escape(absl::string_view(bytes, 4));
}

class S3Multipart : public MultipartUpload {
 public:
  S3Multipart(S3Store& store, std::string key, std::string upload_id)
      : store_(store), key_(std::move(key)), upload_id_(std::move(upload_id)) {}

  absl::Status UploadPart(int part_number, std::string_view data) override {
    if (part_number < 1 || part_number > 10000) return absl::InvalidArgumentError("part number not in 1..10000");
    // A part's checksum, when the store sends them, is listed again at completion.
    HttpHeaders headers = store_.BodyHeaders(data);
    const std::string crc32c(FindHeader(headers, kChecksumHeader));
    auto response = store_.Send({"PUT",
                                 key_,
                                 {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id_}},
                                 std::move(headers),
                                 data},
                                absl::StrCat("upload part ", part_number, " of ", key_));
    if (!response.ok()) return response.status();
    Part part{std::string(response->Header("ETag")), crc32c};
    if (part.etag.empty()) return absl::InternalError(absl::StrCat("upload part of ", key_, ": no ETag in the answer"));
    std::lock_guard lock(mu_);
    parts_[part_number] = std::move(part);
    return absl::OkStatus();
  }

  absl::Status Complete() override {
    std::string body = "<CompleteMultipartUpload>";
    {
      std::lock_guard lock(mu_);
      if (parts_.empty()) return absl::FailedPreconditionError("a multipart upload needs at least one part");
      for (const auto& [number, part] : parts_) {
        absl::StrAppend(&body, "<Part><PartNumber>", number, "</PartNumber><ETag>", XmlEscape(part.etag), "</ETag>");
        if (!part.crc32c.empty()) absl::StrAppend(&body, "<ChecksumCRC32C>", part.crc32c, "</ChecksumCRC32C>");
        body += "</Part>";
      }
    }
    body += "</CompleteMultipartUpload>";
    auto response = store_.Send({"POST", key_, {{"uploadId", upload_id_}}, {{"Content-Type", "application/xml"}}, body},
                                absl::StrCat("complete upload of ", key_));
    if (!response.ok()) return response.status();
    // S3 answers 200 as soon as it starts combining the parts, and reports a failure in the body.
    if (absl::StrContains(response->body, "<Error>")) {
      return absl::UnavailableError(absl::StrCat("complete upload of ", key_, ": ", XmlText(response->body, "Code"),
                                                 " ", XmlText(response->body, "Message")));
    }
    return absl::OkStatus();
  }

  absl::Status Abort() override {
    auto response = store_.Send({"DELETE", key_, {{"uploadId", upload_id_}}, {}, {}}, absl::StrCat("abort upload of ", key_));
    if (!response.ok() && !absl::IsNotFound(response.status())) return response.status();
    return absl::OkStatus();
  }

 private:
  S3Store& store_;
  const std::string key_;
  const std::string upload_id_;
  struct Part {
    std::string etag;
    std::string crc32c;  // base64; empty without checksums
  };
  std::mutex mu_;
  std::map<int, Part> parts_;
};

}  // namespace

S3Config GcsConfig(std::string bucket, std::string access_key, std::string secret_key) {
  S3Config config;
  config.endpoint = "https://storage.googleapis.com";
  config.region = "auto";
  config.bucket = std::move(bucket);
  config.access_key = std::move(access_key);
  config.secret_key = std::move(secret_key);
  config.checksum_bodies = false;  // also at another endpoint (a private one)
  return config;
}

absl::StatusOr<std::unique_ptr<S3Store>> S3Store::Open(S3Config config) {
  if (config.bucket.empty()) return absl::InvalidArgumentError("S3: no bucket (S3_BUCKET)");
  if (config.region.empty()) return absl::InvalidArgumentError("S3: no region (S3_REGION)");
  if (config.access_key.empty() || config.secret_key.empty()) {
    return absl::InvalidArgumentError("S3: no credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  }
  std::string endpoint =
      config.endpoint.empty() ? absl::StrCat("https://s3.", config.region, ".amazonaws.com") : config.endpoint;
  auto url = ParseUrl(endpoint);
  if (!url.ok()) return url.status();
  if (!url->path.empty()) return absl::InvalidArgumentError(absl::StrCat("S3 endpoint has a path: ", endpoint));
  bool virtual_hosted = config.addressing == S3Config::Addressing::kVirtualHosted ||
                        (config.addressing == S3Config::Addressing::kAuto && IsCloudEndpoint(url->host));
  if (virtual_hosted && common::IsIpLiteral(url->host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("S3: virtual-hosted addressing needs a host name, not the address ", url->host));
  }
  std::string host = virtual_hosted ? absl::StrCat(config.bucket, ".", url->host) : url->host;
  auto client = std::make_unique<HttpClient>(url->tls, std::move(host), url->port, config.http);
  // GCS's acceptance of UNSIGNED-PAYLOAD cannot be checked from here: its payloads stay signed,
  // whichever backend name points at it.
  const bool unsigned_payload = url->tls && config.unsigned_payload_over_tls && !IsGcsEndpoint(url->host);
  const bool checksums = config.checksum_bodies && !IsGcsEndpoint(url->host);
  return std::unique_ptr<S3Store>(
      new S3Store(std::move(config), virtual_hosted, unsigned_payload, checksums, std::move(client)));
}

HttpHeaders S3Store::BodyHeaders(std::string_view body) const {
  if (!checksums_) return {};
  return {{kChecksumHeader, Crc32cBase64(body)}};
}

HttpRequest S3Store::Sign(const Request& request, absl::Time now) const {
  std::string path = virtual_hosted_ ? absl::StrCat("/", request.key) : absl::StrCat("/", config_.bucket, "/", request.key);
  if (!virtual_hosted_ && request.key.empty()) path.pop_back();  // "/bucket"

  SigV4Request sig;
  sig.method = request.method;
  sig.path = path;
  sig.query = request.query;
  // A request without a body keeps the empty body's digest: it costs nothing to sign.
  sig.payload_sha256 = unsigned_payload_ && !request.body.empty() ? "UNSIGNED-PAYLOAD" : Sha256Hex(request.body);
  const std::string amz_date = AmzDate(now);
  sig.headers = request.headers;
  sig.headers.emplace_back("host", client().host_header());
  sig.headers.emplace_back("x-amz-date", amz_date);
  sig.headers.emplace_back("x-amz-content-sha256", sig.payload_sha256);

  HttpRequest out;
  out.method = request.method;
  out.target = UriEncode(path, true);
  std::vector<std::string> query;
  for (const auto& [name, value] : request.query) {
    query.push_back(absl::StrCat(UriEncode(name, false), "=", UriEncode(value, false)));
  }
  if (!query.empty()) absl::StrAppend(&out.target, "?", absl::StrJoin(query, "&"));
  SigV4Key key{config_.access_key, config_.secret_key, config_.region, "s3"};
  out.headers = request.headers;
  out.headers.emplace_back("x-amz-date", amz_date);
  out.headers.emplace_back("x-amz-content-sha256", sig.payload_sha256);
  out.headers.emplace_back("Authorization", AuthorizationHeader(sig, key, amz_date));
  out.body = request.body;
  return out;
}

absl::StatusOr<std::vector<ObjectInfo>> S3Store::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    auto response = Send({"GET", "", std::move(query), {}, {}}, absl::StrCat("list ", prefix));
    if (!response.ok()) return response.status();
    for (std::string_view contents : XmlElements(response->body, "Contents")) {
      ObjectInfo info;
      info.key = XmlText(contents, "Key");
      if (!absl::SimpleAtoi(XmlText(contents, "Size"), &info.size)) {
        return absl::InternalError(absl::StrCat("list ", prefix, ": an entry without a size"));
      }
      out.push_back(std::move(info));
    }
    if (XmlText(response->body, "IsTruncated") != "true") break;
    token = XmlText(response->body, "NextContinuationToken");
    if (token.empty()) return absl::InternalError(absl::StrCat("list ", prefix, ": truncated without a continuation"));
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<std::unique_ptr<MultipartUpload>> S3Store::StartMultipart(const std::string& key) {
  if (auto st = ValidateKey(key); !st.ok()) return st;
  // CRC32C declared at the start: each part then must carry its checksum, and the server keeps
  // the object's as the checksum of the parts' checksums.
  HttpHeaders headers;
  if (checksums_) headers.emplace_back("x-amz-checksum-algorithm", "CRC32C");
  auto response = Send({"POST", key, {{"uploads", ""}}, std::move(headers), {}}, absl::StrCat("start upload of ", key));
  if (!response.ok()) return response.status();
  std::string upload_id = XmlText(response->body, "UploadId");
  if (upload_id.empty()) return absl::InternalError(absl::StrCat("start upload of ", key, ": no UploadId in the answer"));
  return std::unique_ptr<MultipartUpload>(new S3Multipart(*this, key, std::move(upload_id)));
}

absl::Status S3Store::CreateBucket() {
  std::string body;
  if (config_.region != "us-east-1" && config_.region != "auto") {
    body = absl::StrCat("<CreateBucketConfiguration><LocationConstraint>", XmlEscape(config_.region),
                        "</LocationConstraint></CreateBucketConfiguration>");
  }
  auto response = Send({"PUT", "", {}, {}, body}, absl::StrCat("create bucket ", config_.bucket));
  if (!response.ok() && !(absl::IsFailedPrecondition(response.status()) &&
                          absl::StrContains(response.status().message(), "BucketAlreadyOwnedByYou"))) {
    return response.status();
  }
  return absl::OkStatus();
}

}  // namespace chronik::storage::objects
