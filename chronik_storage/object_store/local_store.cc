#include "chronik_storage/object_store/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chronik_storage/file_ops.h"

namespace chronik::storage::objects {

namespace fs = std::filesystem;

namespace {

constexpr char kUploads[] = ".uploads";

absl::Status Errno(std::string_view what, const std::string& path, int err) {
  const std::string message = absl::StrCat(std::string(what), " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

// Writes `data` to a new file at `path` and fsyncs it, with file_ops' helpers.
absl::Status WriteSynced(const std::string& path, std::string_view data) {
  FileOps& ops = *FileOps::Default();
  if (absl::Status st = WriteFileFully(ops, path, data); !st.ok()) return st;
  return SyncFile(ops, path);
}

// Parts that come in order (1, 2, 3, ...), as the remote log manager sends a segment's, are written
// straight into the object's file, so that Complete only syncs and names it: each byte is written
// once. A part out of that order, or one sent again, goes to a file of its own, and Complete then
// assembles the object from both. Nothing is synced before Complete: what a crash leaves of an
// upload is removed at the next Open, and Complete syncs the object before it is named.
class LocalUpload : public MultipartUpload {
 public:
  LocalUpload(LocalStore& store, std::string key, std::string dir)
      : store_(store), key_(std::move(key)), dir_(std::move(dir)), object_path_(dir_ + "/object") {}
  ~LocalUpload() override {
    if (!done_) (void)Abort();
  }

  absl::Status UploadPart(int part_number, std::string_view data) override {
    if (done_) return absl::FailedPreconditionError("the upload is finished");
    if (part_number < 1 || part_number > 10000) return absl::InvalidArgumentError("part numbers are 1 to 10000");
    FileOps& ops = *FileOps::Default();
    if (in_order_ && part_number == static_cast<int>(parts_.size()) + 1) {
      if (object_fd_ < 0) {
        object_fd_ = ops.Open(object_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (object_fd_ < 0) return Errno("creating", object_path_, errno);
      }
      // A write that fails leaves the object's end where it was: the part is sent again or the
      // upload given up.
      if (int err = PWriteFully(ops, object_fd_, data.data(), data.size(), object_size_); err != 0) {
        return Errno("writing", object_path_, err);
      }
      parts_[part_number] = Part{"", object_size_, static_cast<int64_t>(data.size())};
      object_size_ += static_cast<int64_t>(data.size());
      return absl::OkStatus();
    }
    in_order_ = false;
    const std::string path = absl::StrCat(dir_, "/", part_number);
    if (absl::Status st = WriteFileFully(ops, path, data); !st.ok()) return st;
    parts_[part_number] = Part{path, 0, static_cast<int64_t>(data.size())};
    return absl::OkStatus();
  }

  absl::Status Complete() override {
    if (done_) return absl::FailedPreconditionError("the upload is finished");
    if (parts_.empty()) return absl::FailedPreconditionError("an upload needs at least one part");
    if (sync_failed_) return absl::FailedPreconditionError("the object's sync failed: the upload can only be aborted");
    FileOps& ops = *FileOps::Default();
    std::string object = object_path_;
    if (in_order_) {
      // A write that failed may have left bytes past the last part.
      if (ops.FTruncate(object_fd_, object_size_) != 0 || ops.FSync(object_fd_) != 0) {
        // A second fsync of the same file may report success for pages the first one lost.
        sync_failed_ = true;
        return Errno("syncing", object_path_, errno);
      }
    } else if (absl::Status st = Assemble(ops, &object); !st.ok()) {
      return st;
    }
    if (absl::Status st = store_.Publish(object, key_); !st.ok()) return st;
    done_ = true;
    CloseObject();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    return absl::OkStatus();
  }

  absl::Status Abort() override {
    done_ = true;
    CloseObject();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    return ec ? absl::InternalError(absl::StrCat("removing ", dir_, ": ", ec.message())) : absl::OkStatus();
  }

 private:
  struct Part {
    std::string path;  // "": in the object's file, at offset
    int64_t offset = 0;
    int64_t size = 0;
  };

  // Writes the parts in order into a new file in the upload's directory, synced; names it in `path`.
  absl::Status Assemble(FileOps& ops, std::string* path) {
    *path = dir_ + "/assembled";
    const int fd = ops.Open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("creating", *path, errno);
    int64_t offset = 0;
    int err = 0;
    for (const auto& [number, part] : parts_) {
      std::string bytes;
      if (part.path.empty()) {
        bytes.resize(static_cast<size_t>(part.size));
        if (int read_err = PReadFully(object_fd_, bytes.data(), bytes.size(), part.offset); read_err != 0) {
          ::close(fd);
          return Errno("reading", object_path_, read_err);
        }
      } else {
        bool missing = false;
        absl::StatusOr<std::string> read = ReadWholeFile(part.path, &missing);
        if (!read.ok() || missing) {
          ::close(fd);
          return read.ok() ? absl::DataLossError(absl::StrCat("part ", part.path, " is gone")) : read.status();
        }
        bytes = *std::move(read);
      }
      if ((err = PWriteFully(ops, fd, bytes.data(), bytes.size(), offset)) != 0) break;
      offset += static_cast<int64_t>(bytes.size());
    }
    if (err == 0 && ops.FSync(fd) != 0) err = errno;
    ::close(fd);
    return err != 0 ? Errno("writing", *path, err) : absl::OkStatus();
  }

  void CloseObject() {
    if (object_fd_ >= 0) ::close(object_fd_);
    object_fd_ = -1;
  }

  LocalStore& store_;
  const std::string key_;
  const std::string dir_;
  const std::string object_path_;
  std::map<int, Part> parts_;
  bool in_order_ = true;  // every part so far was the next one, in the object's file
  bool sync_failed_ = false;
  int object_fd_ = -1;
  int64_t object_size_ = 0;
  bool done_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", root, ": ", ec.message()));
  // What a crash left half-written.
  fs::remove_all(fs::path(root) / kUploads, ec);
  fs::create_directories(fs::path(root) / kUploads, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", root, "/", kUploads, ": ", ec.message()));
  return std::unique_ptr<LocalStore>(new LocalStore(root));
}

std::string LocalStore::TempPath(std::string_view what) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return absl::StrCat(root_, "/", kUploads, "/", std::string(what), "-", ::getpid(), "-", salt, "-", counter++);
}

absl::Status LocalStore::Publish(const std::string& temp, const std::string& key) {
  const fs::path target = fs::path(root_) / key;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", target.parent_path().string(), ": ", ec.message()));
  if (::rename(temp.c_str(), target.c_str()) != 0) return Errno("renaming to", target.string(), errno);
  return SyncDirectory(*FileOps::Default(), target.parent_path().string());
}

absl::Status LocalStore::Put(const std::string& key, std::string_view data) {
  if (absl::Status st = ValidateKey(key); !st.ok()) return st;
  if (key == kUploads || key.starts_with(std::string(kUploads) + "/")) {
    return absl::InvalidArgumentError(absl::StrCat("object key ", key, ": reserved"));
  }
  const std::string temp = TempPath("put");
  if (absl::Status st = WriteSynced(temp, data); !st.ok()) return st;
  absl::Status st = Publish(temp, key);
  if (!st.ok()) ::unlink(temp.c_str());
  return st;
}

absl::StatusOr<std::string> LocalStore::Get(const std::string& key, std::optional<ByteRange> range) {
  return Read(key, range, std::string());
}

absl::StatusOr<std::string> LocalStore::GetReusing(const std::string& key, ByteRange range, std::string buffer) {
  return Read(key, range, std::move(buffer));
}

absl::StatusOr<std::string> LocalStore::Read(const std::string& key, std::optional<ByteRange> range, std::string out) {
  if (absl::Status st = ValidateKey(key); !st.ok()) return st;
  const std::string path = (fs::path(root_) / key).string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat("no object ", key));
  }
  int64_t first = 0, last = st.st_size - 1;
  if (range.has_value()) {
    if (range->first < 0 || range->last < range->first) {
      ::close(fd);
      return absl::InvalidArgumentError("a byte range is first <= last, from 0");
    }
    if (range->first >= st.st_size) {
      ::close(fd);
      return absl::OutOfRangeError(absl::StrCat("object ", key, " has ", st.st_size, " bytes"));
    }
    first = range->first;
    last = std::min<int64_t>(range->last, st.st_size - 1);
  }
  // In `out`'s memory when it has the capacity (GetReusing).
  out.resize(static_cast<size_t>(std::max<int64_t>(0, last - first + 1)));
  const int err = out.empty() ? 0 : PReadFully(fd, out.data(), out.size(), first);
  ::close(fd);
  if (err != 0) return Errno("reading", path, err);
  return out;
}

absl::StatusOr<std::vector<ObjectInfo>> LocalStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::error_code ec;
  const fs::path root(root_);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it.depth() == 0 && it->path().filename() == kUploads) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::string key = fs::relative(it->path(), root, ec).generic_string();
    if (!key.starts_with(prefix)) continue;
    out.push_back(ObjectInfo{std::move(key), static_cast<int64_t>(it->file_size(ec))});
  }
  if (ec) return absl::InternalError(absl::StrCat("listing ", root_, ": ", ec.message()));
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::Status LocalStore::Delete(const std::string& key) {
  if (absl::Status st = ValidateKey(key); !st.ok()) return st;
  const fs::path path = fs::path(root_) / key;
  if (::unlink(path.c_str()) != 0) return errno == ENOENT ? absl::OkStatus() : Errno("deleting", path.string(), errno);
  return SyncDirectory(*FileOps::Default(), path.parent_path().string());
}

absl::StatusOr<std::unique_ptr<MultipartUpload>> LocalStore::StartMultipart(const std::string& key) {
  if (absl::Status st = ValidateKey(key); !st.ok()) return st;
  const std::string dir = TempPath("multipart");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  return std::unique_ptr<MultipartUpload>(new LocalUpload(*this, key, dir));
}

}  // namespace chronik::storage::objects
