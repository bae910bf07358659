#include "chronik_storage/object_store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace chronik::storage::objects {

namespace {

std::string Hex(const unsigned char* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

namespace {

// Lower-case names, values trimmed with inner runs of spaces made one, by name; a name given
// twice has its values joined with commas.
std::vector<std::pair<std::string, std::string>> CanonicalHeaders(const SigV4Request& request) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string v;
    for (char c : absl::StripAsciiWhitespace(value)) {
      if (c == ' ' && !v.empty() && v.back() == ' ') continue;
      v.push_back(c);
    }
    headers.emplace_back(absl::AsciiStrToLower(name), std::move(v));
  }
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string, std::string>> merged;
  for (auto& h : headers) {
    if (!merged.empty() && merged.back().first == h.first) {
      absl::StrAppend(&merged.back().second, ",", h.second);
    } else {
      merged.push_back(std::move(h));
    }
  }
  return merged;
}

std::string SignedHeaders(const SigV4Request& request) {
  std::vector<std::string> names;
  for (const auto& [name, _] : CanonicalHeaders(request)) names.push_back(name);
  return absl::StrJoin(names, ";");
}

std::string Scope(const SigV4Key& key, std::string_view amz_date) {
  return absl::StrCat(std::string(amz_date.substr(0, 8)), "/", key.region, "/", key.service, "/aws4_request");
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

struct Sha256::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
};

Sha256::Sha256() : context_(new Context) { EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr); }
Sha256::~Sha256() {
  EVP_MD_CTX_free(context_->ctx);
  delete context_;
}
void Sha256::Update(std::string_view data) { EVP_DigestUpdate(context_->ctx, data.data(), data.size()); }
std::string Sha256::Hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_->ctx, digest, &size);
  return objects::Hex(digest, size);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof(digest));
}

std::string CanonicalRequest(const SigV4Request& request) {
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, value] : request.query) query.emplace_back(UriEncode(name, false), UriEncode(value, false));
  std::sort(query.begin(), query.end());
  std::vector<std::string> pairs;
  for (const auto& [name, value] : query) pairs.push_back(absl::StrCat(name, "=", value));
  std::string headers;
  for (const auto& [name, value] : CanonicalHeaders(request)) absl::StrAppend(&headers, name, ":", value, "\n");
  return absl::StrCat(request.method, "\n", UriEncode(request.path.empty() ? "/" : request.path, true), "\n",
                      absl::StrJoin(pairs, "&"), "\n", headers, "\n", SignedHeaders(request), "\n",
                      request.payload_sha256);
}

std::string StringToSign(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date) {
  return absl::StrCat("AWS4-HMAC-SHA256\n", std::string(amz_date), "\n", Scope(key, amz_date), "\n",
                      Sha256Hex(CanonicalRequest(request)));
}

std::string Signature(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date) {
  std::string k = HmacSha256("AWS4" + key.secret_key, amz_date.substr(0, 8));
  k = HmacSha256(k, key.region);
  k = HmacSha256(k, key.service);
  k = HmacSha256(k, "aws4_request");
  const std::string sig = HmacSha256(k, StringToSign(request, key, amz_date));
  return Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

std::string AuthorizationHeader(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date) {
  return absl::StrCat("AWS4-HMAC-SHA256 Credential=", key.access_key, "/", Scope(key, amz_date),
                      ", SignedHeaders=", SignedHeaders(request), ", Signature=", Signature(request, key, amz_date));
}

}  // namespace chronik::storage::objects
