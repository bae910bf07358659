#include "chronik_storage/object_store/store_factory.h"

#include "absl/strings/str_cat.h"
#include "chronik_storage/object_store/azure_store.h"
#include "chronik_storage/object_store/local_store.h"
#include "chronik_storage/object_store/s3_store.h"

namespace chronik::storage::objects {
namespace {

std::string Setting(const StoreSettings& settings, const std::string& name, std::string fallback = "") {
  auto it = settings.find(name);
  return it == settings.end() || it->second.empty() ? fallback : it->second;
}

absl::StatusOr<std::string> Required(const StoreSettings& settings, const std::string& name,
                                     const std::string& backend) {
  std::string value = Setting(settings, name);
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("STORAGE_BACKEND=", backend, " needs ", name));
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectStore>> OpenObjectStore(const StoreSettings& settings) {
  const std::string backend = Setting(settings, "STORAGE_BACKEND");
  if (backend.empty()) return std::unique_ptr<ObjectStore>();
  HttpOptions http;
  http.ca_file = Setting(settings, "OBJECT_STORE_CA_FILE");
  if (backend == "local") {
    auto path = Required(settings, "LOCAL_STORAGE_PATH", backend);
    if (!path.ok()) return path.status();
    auto store = LocalStore::Open(*path);
    if (!store.ok()) return store.status();
    return std::unique_ptr<ObjectStore>(*std::move(store));
  }
  if (backend == "s3" || backend == "gcs") {
    auto bucket = Required(settings, "S3_BUCKET", backend);
    if (!bucket.ok()) return bucket.status();
    auto access = Required(settings, "AWS_ACCESS_KEY_ID", backend);
    if (!access.ok()) return access.status();
    auto secret = Required(settings, "AWS_SECRET_ACCESS_KEY", backend);
    if (!secret.ok()) return secret.status();
    S3Config config = backend == "gcs" ? GcsConfig(*bucket, *access, *secret) : S3Config{};
    if (backend == "s3") {
      config.bucket = *bucket;
      config.access_key = *access;
      config.secret_key = *secret;
      config.region = Setting(settings, "S3_REGION", "us-east-1");
    }
    config.endpoint = Setting(settings, "S3_ENDPOINT", config.endpoint);
    const std::string path_style = Setting(settings, "S3_PATH_STYLE");
    if (path_style == "true") {
      config.addressing = S3Config::Addressing::kPath;
    } else if (path_style == "false") {
      config.addressing = S3Config::Addressing::kVirtualHosted;
    } else if (!path_style.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("S3_PATH_STYLE must be true or false, not ", path_style));
    }
    // Some S3-compatible servers refuse or ignore S3's checksum headers; GCS's XML API never gets them.
    const std::string checksums = Setting(settings, "S3_CHECKSUMS");
    if (!checksums.empty() && backend == "gcs") {
      return absl::InvalidArgumentError("S3_CHECKSUMS is for s3: gcs requests carry no S3 checksums");
    } else if (checksums == "false") {
      config.checksum_bodies = false;
    } else if (!checksums.empty() && checksums != "true") {
      return absl::InvalidArgumentError(absl::StrCat("S3_CHECKSUMS must be true or false, not ", checksums));
    }
    config.http = http;
    auto store = S3Store::Open(std::move(config));
    if (!store.ok()) return store.status();
    return std::unique_ptr<ObjectStore>(*std::move(store));
  }
  if (backend == "azure") {
    AzureConfig config;
    auto account = Required(settings, "AZURE_STORAGE_ACCOUNT", backend);
    if (!account.ok()) return account.status();
    auto key = Required(settings, "AZURE_STORAGE_KEY", backend);
    if (!key.ok()) return key.status();
    auto container = Required(settings, "AZURE_CONTAINER", backend);
    if (!container.ok()) return container.status();
    config.account = *account;
    config.key = *key;
    config.container = *container;
    config.endpoint = Setting(settings, "AZURE_STORAGE_ENDPOINT");
    config.http = http;
    auto store = AzureStore::Open(std::move(config));
    if (!store.ok()) return store.status();
    return std::unique_ptr<ObjectStore>(*std::move(store));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("STORAGE_BACKEND must be local, s3, gcs or azure, not ", backend));
}

std::string DescribeStore(const StoreSettings& settings) {
  const std::string backend = Setting(settings, "STORAGE_BACKEND");
  if (backend == "local") return absl::StrCat("local directory ", Setting(settings, "LOCAL_STORAGE_PATH"));
  if (backend == "s3" || backend == "gcs") {
    return absl::StrCat(backend, " bucket ", Setting(settings, "S3_BUCKET"), " at ",
                        Setting(settings, "S3_ENDPOINT", backend == "gcs" ? "storage.googleapis.com" : "AWS"));
  }
  if (backend == "azure") {
    return absl::StrCat("azure container ", Setting(settings, "AZURE_CONTAINER"), " of account ",
                        Setting(settings, "AZURE_STORAGE_ACCOUNT"));
  }
  return "none";
}

}  // namespace chronik::storage::objects
