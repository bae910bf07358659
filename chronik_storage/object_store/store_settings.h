#pragma once

// The environment variables that name an object store (see store_factory.h). The TOML file may
// give them too: in its [object_store] table in lower case (s3_bucket), or in its [kafka] table by
// Kafka's convention for remote storage settings, remote.log.storage.manager.impl.prefix
// ("rsm.config.") followed by the name in lower case with dots (rsm.config.s3.bucket).

#include <array>
#include <map>
#include <string>
#include <string_view>

namespace chronik::storage::objects {

inline constexpr std::array<std::string_view, 14> kStoreSettingNames = {
    "STORAGE_BACKEND",   "LOCAL_STORAGE_PATH",    "S3_BUCKET",             "S3_REGION",
    "S3_ENDPOINT",       "S3_PATH_STYLE",         "S3_CHECKSUMS",          "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_CONTAINER",       "AZURE_STORAGE_ENDPOINT",
    "OBJECT_STORE_CA_FILE"};

// Those of them that are set, by name.
using StoreSettings = std::map<std::string, std::string>;

// Kafka's remote.log.storage.manager.impl.prefix; the only one Chronik's built-in store takes.
inline constexpr std::string_view kKafkaStylePrefix = "rsm.config.";

// "S3_BUCKET" -> "rsm.config.s3.bucket".
inline std::string KafkaStyleName(std::string_view name) {
  std::string out(kKafkaStylePrefix);
  for (char c : name) out += c == '_' ? '.' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// The settings that are secrets: never logged, described as sensitive (null).
inline bool IsSecretStoreSetting(std::string_view name) {
  return name == "AWS_SECRET_ACCESS_KEY" || name == "AZURE_STORAGE_KEY";
}

}  // namespace chronik::storage::objects
