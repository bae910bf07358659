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

#include "absl/status/status.h"

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

// fsyncs a directory, so that files created, renamed or removed in it stay so after a crash.
absl::Status SyncDirectory(FileOps& ops, const std::string& dir);

}  // namespace chronik::storage
