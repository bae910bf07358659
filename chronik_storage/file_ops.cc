#include "chronik_storage/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "chronik_storage/errors.h"

namespace chronik::storage {

int FileOps::Open(const char* path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

ssize_t FileOps::PWrite(int fd, const void* data, size_t size, off_t offset) {
  return ::pwrite(fd, data, size, offset);
}

int FileOps::FDataSync(int fd) { return ::fdatasync(fd); }

int FileOps::FSync(int fd) { return ::fsync(fd); }

int FileOps::FTruncate(int fd, off_t size) { return ::ftruncate(fd, size); }

int FileOps::Rename(const char* from, const char* to) { return ::rename(from, to); }

std::shared_ptr<FileOps> FileOps::Default() {
  static const std::shared_ptr<FileOps> ops = std::make_shared<FileOps>();
  return ops;
}

int PWriteFully(FileOps& ops, int fd, const void* data, size_t size, off_t offset) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ops.PWrite(fd, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ENOSPC;
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return 0;
}

std::string ErrnoName(int err) {
  switch (err) {
    case ENOSPC: return "ENOSPC";
    case EIO: return "EIO";
    case EROFS: return "EROFS";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EDQUOT: return "EDQUOT";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EWOULDBLOCK: return "EWOULDBLOCK";
    default: return absl::StrCat("errno ", err);
  }
}

absl::Status IoError(std::string_view what, std::string_view path, int err) {
  char buf[256];
  const char* text = strerror_r(err, buf, sizeof(buf));  // GNU variant
  return absl::UnavailableError(
      absl::StrCat("storage error: ", AbslView(what), " ", AbslView(path), ": ", text, " (", ErrnoName(err), ")"));
}

absl::Status SyncDirectory(FileOps& ops, const std::string& dir) {
  const int fd = ops.Open(dir.c_str(), O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return IoError("open directory", dir, errno);
  const int rc = ops.FSync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync directory", dir, err);
  return absl::OkStatus();
}

// Reads exactly `size` bytes at `offset`; returns 0 or an errno (EIO for an unexpected EOF).
int PReadFully(int fd, char* buf, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, buf, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    buf += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return 0;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, bool* missing) {
  *missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return std::string();
    }
    return IoError("open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("stat", path, err);
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  int err = PReadFully(fd, data.data(), data.size(), 0);
  ::close(fd);
  if (err != 0) return IoError("read", path, err);
  return data;
}

absl::Status WriteFileFully(FileOps& ops, const std::string& path, std::string_view data) {
  int fd = ops.Open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return IoError("create", path, errno);
  int err = PWriteFully(ops, fd, data.data(), data.size(), 0);
  ::close(fd);
  if (err != 0) return IoError("write", path, err);
  return absl::OkStatus();
}

namespace {

absl::Status Replace(FileOps& ops, const std::string& path, const std::string& data, bool durable) {
  const std::string tmp = path + ".tmp";
  absl::Status st = WriteFileFully(ops, tmp, data);
  if (st.ok() && durable) st = SyncFile(ops, tmp);
  if (st.ok() && ops.Rename(tmp.c_str(), path.c_str()) != 0) st = IoError("rename", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (!durable) return absl::OkStatus();
  const size_t slash = path.rfind('/');
  return SyncDirectory(ops, slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace

absl::Status ReplaceFile(FileOps& ops, const std::string& path, const std::string& data) {
  return Replace(ops, path, data, /*durable=*/false);
}

absl::Status ReplaceFileDurably(FileOps& ops, const std::string& path, const std::string& data) {
  return Replace(ops, path, data, /*durable=*/true);
}

absl::Status SyncFile(FileOps& ops, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return IoError("open", path, errno);
  }
  int rc = ops.FSync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync", path, err);
  return absl::OkStatus();
}


}  // namespace chronik::storage
