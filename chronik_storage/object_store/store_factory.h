#pragma once

// The object store the environment names, by the seed's variables:
//   STORAGE_BACKEND      local | s3 | gcs | azure
//   LOCAL_STORAGE_PATH   local: the directory
//   S3_BUCKET, S3_REGION (us-east-1), S3_ENDPOINT (AWS's regional one), S3_PATH_STYLE (true|false;
//   default: path-style for a custom endpoint), S3_CHECKSUMS (s3 only: false sends no
//   x-amz-checksum-crc32c, for servers that refuse it), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
//                        s3, and gcs (the XML API at storage.googleapis.com with HMAC keys)
//   AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY, AZURE_CONTAINER, AZURE_STORAGE_ENDPOINT (optional)
//                        azure
//   OBJECT_STORE_CA_FILE a PEM file of CAs trusted instead of the system's (s3, gcs, azure)
// Secrets are read here and nowhere else, and never appear in a message.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "chronik_storage/object_store/object_store.h"
#include "chronik_storage/object_store/store_settings.h"

namespace chronik::storage::objects {

// nullptr when STORAGE_BACKEND is unset; InvalidArgument naming the variable when a setting is
// missing or wrong. Opens no connection: a store that is down is found by its first request.
absl::StatusOr<std::unique_ptr<ObjectStore>> OpenObjectStore(const StoreSettings& settings);

// "s3 bucket chronik at http://127.0.0.1:7070" (no secrets), for the startup log.
std::string DescribeStore(const StoreSettings& settings);

}  // namespace chronik::storage::objects
