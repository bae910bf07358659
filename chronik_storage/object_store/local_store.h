#pragma once

// The object store of a directory (LOCAL_STORAGE_PATH): an object is a file under the root at its
// key's path. A put or a completed multipart upload is written to a file under <root>/.uploads,
// fsynced, renamed into place and its directory fsynced, so that after a crash an object is whole
// or absent; what a crash leaves under .uploads is never listed or read, and is removed at open.

#include <memory>
#include <string>

#include "chronik_storage/object_store/object_store.h"

namespace chronik::storage::objects {

class LocalStore : public ObjectStore {
 public:
  // Creates `root` if needed.
  static absl::StatusOr<std::unique_ptr<LocalStore>> Open(const std::string& root);

  absl::Status Put(const std::string& key, std::string_view data) override;
  absl::StatusOr<std::string> Get(const std::string& key, std::optional<ByteRange> range) override;
  absl::StatusOr<std::string> GetReusing(const std::string& key, ByteRange range, std::string buffer) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<std::unique_ptr<MultipartUpload>> StartMultipart(const std::string& key) override;

  // Moves the finished file `temp` (under .uploads) to `key`, durably.
  absl::Status Publish(const std::string& temp, const std::string& key);
  // A fresh path under .uploads.
  std::string TempPath(std::string_view what);

 private:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  // Get, into `out`'s memory when it is large enough.
  absl::StatusOr<std::string> Read(const std::string& key, std::optional<ByteRange> range, std::string out);

  const std::string root_;
};

}  // namespace chronik::storage::objects
