#pragma once

// The audit log: one JSON object per line in <dir>/audit.log for each authentication (success and
// failure), authorization denial and administrative change. Record never waits for the disk: a
// writer thread appends what was recorded and fsyncs once per batch. The file is rotated by size
// (audit.log.1 is the previous one, up to max_files kept). Callers pass only what may be read by
// anyone with the file: never a password, token or key.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace chronik::auth {

class AuditLog {
 public:
  struct Options {
    std::string dir;
    int64_t max_file_bytes = int64_t{100} << 20;
    int max_files = 10;
  };

  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(Options options);
  // Writes what is left and stops the writer.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Adds the time ("time", ISO 8601 UTC with milliseconds) and queues the event.
  void Record(nlohmann::json event);
  // Returns once everything recorded before the call has been written and fsync'd, or its write
  // failed (logged).
  void Flush();

  const std::string& path() const { return path_; }

 private:
  explicit AuditLog(Options options);
  void Run();
  absl::Status Write(const std::string& lines);
  absl::Status Rotate();

  const Options options_;
  const std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  uint64_t recorded_ = 0;  // events queued so far
  uint64_t durable_ = 0;   // events on disk
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace chronik::auth
