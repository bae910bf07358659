#pragma once

// Where tiered segments and backups go: one small interface over S3 (and S3-compatible servers),
// Google Cloud Storage, Azure Blob Storage and a local directory. An object is written whole or
// not at all: a reader never sees part of a put or of a multipart upload.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chronik::storage::objects {

// Bytes first..last of an object, both included (as an HTTP Range); last past the end means to
// the end.
struct ByteRange {
  int64_t first = 0;
  int64_t last = 0;
};

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
};

// Parts are uploaded in any order and become one object, in part-number order, at Complete.
class MultipartUpload {
 public:
  virtual ~MultipartUpload() = default;
  // part_number 1..10000; a part uploaded again replaces the earlier one.
  virtual absl::Status UploadPart(int part_number, std::string_view data) = 0;
  virtual absl::Status Complete() = 0;
  // Leaves nothing behind; the object is not created.
  virtual absl::Status Abort() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual absl::Status Put(const std::string& key, std::string_view data) = 0;
  // NotFound if there is no such object; OutOfRange if the range starts past its end.
  virtual absl::StatusOr<std::string> Get(const std::string& key, std::optional<ByteRange> range = std::nullopt) = 0;
  // Get, with the bytes read into `buffer`'s memory when it has the capacity: a reader of many
  // ranges of one size hands back what it is done with, and the pages it has are reused instead of
  // the kernel faulting in and zeroing fresh ones for each read.
  virtual absl::StatusOr<std::string> GetReusing(const std::string& key, ByteRange range, std::string buffer) = 0;
  // The objects whose keys start with `prefix`, by key.
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // OK if there is no such object.
  virtual absl::Status Delete(const std::string& key) = 0;
  virtual absl::StatusOr<std::unique_ptr<MultipartUpload>> StartMultipart(const std::string& key) = 0;
};

// What every store accepts as a key: 1-1024 bytes of UTF-8 without NUL, not starting with '/',
// with no empty, "." or ".." segment between slashes.
absl::Status ValidateKey(std::string_view key);

}  // namespace chronik::storage::objects
