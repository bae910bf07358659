#include "chronik_storage/object_store/azure_store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "chronik_storage/object_store/sigv4.h"

namespace chronik::storage::objects {
namespace {

constexpr char kServiceVersion[] = "2021-08-06";

std::string HeaderValue(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, absl::string_view(name.data(), name.size()))) return v;
  }
  return {};
}

class AzureMultipart : public MultipartUpload {
 public:
  AzureMultipart(AzureStore& store, std::string key, std::string upload_id)
      : store_(store), key_(std::move(key)), upload_id_(std::move(upload_id)) {}

  absl::Status UploadPart(int part_number, std::string_view data) override {
    if (part_number < 1 || part_number > 10000) return absl::InvalidArgumentError("part number not in 1..10000");
    std::string block_id = BlockId(part_number);
    auto response = store_.Send({"PUT", key_, {{"comp", "block"}, {"blockid", block_id}}, {}, data},
                                absl::StrCat("put block ", part_number, " of ", key_));
    if (!response.ok()) return response.status();
    std::lock_guard lock(mu_);
    blocks_[part_number] = std::move(block_id);
    return absl::OkStatus();
  }

  absl::Status Complete() override {
    std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    {
      std::lock_guard lock(mu_);
      if (blocks_.empty()) return absl::FailedPreconditionError("a multipart upload needs at least one part");
      for (const auto& [number, id] : blocks_) absl::StrAppend(&body, "<Latest>", id, "</Latest>");
    }
    body += "</BlockList>";
    return store_.Send({"PUT", key_, {{"comp", "blocklist"}}, {{"Content-Type", "application/xml"}}, body},
                       absl::StrCat("put block list of ", key_))
        .status();
  }

  // Uncommitted blocks cannot be deleted on their own; they are invisible and the service discards
  // them.
  absl::Status Abort() override { return absl::OkStatus(); }

 private:
  // All of one blob's block ids have the same length; the upload's own prefix keeps two uploads
  // to one key apart.
  std::string BlockId(int part_number) const {
    return absl::Base64Escape(absl::StrFormat("%s-%05d", upload_id_, part_number));
  }

  AzureStore& store_;
  const std::string key_;
  const std::string upload_id_;
  std::mutex mu_;
  std::map<int, std::string> blocks_;
};

}  // namespace

std::string AzureStringToSign(const AzureRequest& request, std::string_view account) {
  auto header = [&](std::string_view name) { return HeaderValue(request.headers, name); };
  std::vector<std::pair<std::string, std::string>> ms_headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = absl::AsciiStrToLower(name);
    if (absl::StartsWith(lower, "x-ms-")) ms_headers.emplace_back(std::move(lower), std::string(absl::StripAsciiWhitespace(value)));
  }
  std::sort(ms_headers.begin(), ms_headers.end());
  std::string out = absl::StrCat(request.method, "\n", header("Content-Encoding"), "\n", header("Content-Language"), "\n",
                                 request.content_length > 0 ? std::to_string(request.content_length) : "", "\n",
                                 header("Content-MD5"), "\n", header("Content-Type"), "\n", header("Date"), "\n",
                                 header("If-Modified-Since"), "\n", header("If-Match"), "\n", header("If-None-Match"),
                                 "\n", header("If-Unmodified-Since"), "\n", header("Range"), "\n");
  for (const auto& [name, value] : ms_headers) absl::StrAppend(&out, name, ":", value, "\n");
  absl::StrAppend(&out, "/", std::string(account), request.path);
  std::map<std::string, std::vector<std::string>> query;
  for (const auto& [name, value] : request.query) query[absl::AsciiStrToLower(name)].push_back(value);
  for (auto& [name, values] : query) {
    std::sort(values.begin(), values.end());
    absl::StrAppend(&out, "\n", name, ":", absl::StrJoin(values, ","));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<AzureStore>> AzureStore::Open(AzureConfig config) {
  if (config.account.empty()) return absl::InvalidArgumentError("Azure: no account (AZURE_STORAGE_ACCOUNT)");
  if (config.container.empty()) return absl::InvalidArgumentError("Azure: no container (AZURE_CONTAINER)");
  std::string decoded_key;
  if (config.key.empty() || !absl::Base64Unescape(config.key, &decoded_key)) {
    return absl::InvalidArgumentError("Azure: AZURE_STORAGE_KEY is not a base64 account key");
  }
  std::string endpoint =
      config.endpoint.empty() ? absl::StrCat("https://", config.account, ".blob.core.windows.net") : config.endpoint;
  auto url = ParseUrl(endpoint);
  if (!url.ok()) return url.status();
  auto client = std::make_unique<HttpClient>(url->tls, url->host, url->port, config.http);
  std::string base_path = absl::StrCat(url->path, "/", UriEncode(config.container, false));
  return std::unique_ptr<AzureStore>(
      new AzureStore(std::move(config), std::move(decoded_key), std::move(base_path), std::move(client)));
}

HttpRequest AzureStore::Sign(const Request& request, absl::Time now) const {
  AzureRequest canonical;
  canonical.method = request.method;
  canonical.path = request.key.empty() ? base_path_ : absl::StrCat(base_path_, "/", UriEncode(request.key, true));
  canonical.query = request.query;
  canonical.headers = request.headers;
  canonical.headers.emplace_back("x-ms-date", HttpDate(now));
  canonical.headers.emplace_back("x-ms-version", kServiceVersion);
  canonical.content_length = static_cast<int64_t>(request.body.size());

  HttpRequest out;
  out.method = request.method;
  out.target = canonical.path;
  std::vector<std::string> query;
  for (const auto& [name, value] : request.query) {
    query.push_back(absl::StrCat(UriEncode(name, false), "=", UriEncode(value, false)));
  }
  if (!query.empty()) absl::StrAppend(&out.target, "?", absl::StrJoin(query, "&"));
  std::string signature = absl::Base64Escape(HmacSha256(decoded_key_, AzureStringToSign(canonical, config_.account)));
  out.headers = std::move(canonical.headers);
  out.headers.emplace_back("Authorization", absl::StrCat("SharedKey ", config_.account, ":", signature));
  out.body = request.body;
  return out;
}

absl::StatusOr<std::vector<ObjectInfo>> AzureStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string marker;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> query = {{"restype", "container"}, {"comp", "list"}};
    if (!prefix.empty()) query.emplace_back("prefix", prefix);
    if (!marker.empty()) query.emplace_back("marker", marker);
    auto response = Send({"GET", "", std::move(query), {}, {}}, absl::StrCat("list ", prefix));
    if (!response.ok()) return response.status();
    for (std::string_view blob : XmlElements(response->body, "Blob")) {
      ObjectInfo info;
      info.key = XmlText(blob, "Name");
      if (!absl::SimpleAtoi(XmlText(blob, "Content-Length"), &info.size)) {
        return absl::InternalError(absl::StrCat("list ", prefix, ": a blob without a length"));
      }
      out.push_back(std::move(info));
    }
    marker = XmlText(response->body, "NextMarker");
    if (marker.empty()) break;
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<std::unique_ptr<MultipartUpload>> AzureStore::StartMultipart(const std::string& key) {
  if (auto st = ValidateKey(key); !st.ok()) return st;
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::string upload_id = absl::StrFormat("%016x", random());
  return std::unique_ptr<MultipartUpload>(new AzureMultipart(*this, key, std::move(upload_id)));
}

absl::Status AzureStore::CreateContainer() {
  auto response = Send({"PUT", "", {{"restype", "container"}}, {}, {}}, absl::StrCat("create container ", config_.container));
  if (!response.ok() && !absl::IsFailedPrecondition(response.status())) return response.status();
  return absl::OkStatus();
}

}  // namespace chronik::storage::objects
