#pragma once

// The narrow seam through which the log's write path touches the disk. Production code uses
// FileOps::Default() (plain POSIX calls); tests substitute an implementation that injects ENOSPC,
// EIO, EROFS and short writes, since a test running as root cannot provoke those reliably.
//
// Each function returns what the POSIX call returns (-1 with errno set on failure). Reads do not
// go through the seam.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chronik::storage {

class FileOps {
 public:
  virtual ~FileOps() = default;

  virtual int Open(const char* path, int flags, mode_t mode);
  virtual ssize_t PWrite(int fd, const void* data, size_t size, off_t offset);
  virtual int FDataSync(int fd);
  virtual int FSync(int fd);
  virtual int FTruncate(int fd, off_t size);
  virtual int Rename(const char* from, const char* to);

  // The process-wide POSIX implementation.
  static std::shared_ptr<FileOps> Default();
};

// Writes all of `size` bytes at `offset`, retrying short writes and EINTR. Returns 0, or the errno
// of the failing call (ENOSPC for a write that makes no progress).
int PWriteFully(FileOps& ops, int fd, const void* data, size_t size, off_t offset);

// Reads exactly `size` bytes at `offset`; returns 0 or an errno (EIO for an unexpected EOF).
int PReadFully(int fd, char* buf, size_t size, int64_t offset);

// The whole file; *missing (and an empty string) if it does not exist.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, bool* missing);
// Creates or truncates `path` and writes `data` (not synced).
absl::Status WriteFileFully(FileOps& ops, const std::string& path, std::string_view data);
// fsyncs `path` (OK if it does not exist).
absl::Status SyncFile(FileOps& ops, const std::string& path);

// fsyncs a directory, so that files created, renamed or removed in it stay so after a crash.
absl::Status SyncDirectory(FileOps& ops, const std::string& dir);

// Replaces `path` with `data`, written under `path`.tmp and renamed over it: a crash leaves the old
// file or the new one whole, and so does a hard link to the old one taken before (a live backup's).
// Not synced: for files rebuilt when lost.
absl::Status ReplaceFile(FileOps& ops, const std::string& path, const std::string& data);
// ReplaceFile, with the new file fsynced before the rename and the directory after it, so that it
// stays after a crash.
absl::Status ReplaceFileDurably(FileOps& ops, const std::string& path, const std::string& data);

}  // namespace chronik::storage
