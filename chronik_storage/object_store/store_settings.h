#pragma once

// The environment variables that name an object store (see store_factory.h); the TOML file's
// [object_store] table may give them too, in lower case.

#include <array>
#include <map>
#include <string>
#include <string_view>

namespace chronik::storage::objects {

inline constexpr std::array<std::string_view, 13> kStoreSettingNames = {
    "STORAGE_BACKEND",   "LOCAL_STORAGE_PATH",    "S3_BUCKET",             "S3_REGION",
    "S3_ENDPOINT",       "S3_PATH_STYLE",         "AWS_ACCESS_KEY_ID",     "AWS_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_CONTAINER",       "AZURE_STORAGE_ENDPOINT",
    "OBJECT_STORE_CA_FILE"};

// Those of them that are set, by name.
using StoreSettings = std::map<std::string, std::string>;

}  // namespace chronik::storage::objects
