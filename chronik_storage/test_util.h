#pragma once

// Helpers for chronik_storage's tests and benchmarks: temporary directories, batches, synchronous
// appends, whole-log reads and a fault-injecting FileOps.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/partition_log.h"

namespace chronik::storage::testing {

// A fresh directory under $TEST_TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/chronik_storage.XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One v2 batch of `records` records with `value_size`-byte values and timestamps ts, ts+1, ...
// A batch of `values` (null keys, timestamps 1000, 1001, ...) from producer `pid` at `epoch`
// starting at sequence `first_seq` (-1s: no producer), transactional if asked.
inline std::string ProducerBatch(const std::vector<std::string>& values, int64_t pid, int16_t epoch,
                                 int32_t first_seq, bool transactional = false) {
  protocol::RecordBatchBuilder::Options options;
  options.producer_id = pid;
  options.producer_epoch = epoch;
  options.base_sequence = first_seq;
  options.transactional = transactional;
  protocol::RecordBatchBuilder builder(options);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!builder.Append(1'000 + static_cast<int64_t>(i), std::nullopt, values[i]).ok()) std::abort();
  }
  absl::StatusOr<std::string> batch = builder.Build();
  if (!batch.ok()) std::abort();
  return *batch;
}

inline std::string MakeBatch(int records, size_t value_size, int64_t timestamp = 1'000,
                             protocol::CompressionType compression = protocol::CompressionType::kNone,
                             char fill = 'v') {
  protocol::RecordBatchBuilder::Options options;
  options.compression = compression;
  protocol::RecordBatchBuilder builder(options);
  std::string value(value_size, fill);
  for (int i = 0; i < records; ++i) {
    std::string key = "k" + std::to_string(i);
    if (!builder.Append(timestamp + i, key, value).ok()) std::abort();
  }
  absl::StatusOr<std::string> batch = builder.Build();
  if (!batch.ok()) std::abort();
  return *batch;
}

inline absl::StatusOr<AppendResult> AppendSync(PartitionLog& log, std::string batches,
                                               LeaderEpoch epoch = LeaderEpoch(0)) {
  std::promise<absl::StatusOr<AppendResult>> promise;
  auto future = promise.get_future();
  log.Append(std::move(batches), epoch, [&promise](absl::StatusOr<AppendResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

struct StoredBatch {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int32_t leader_epoch = 0;
  uint32_t crc = 0;
  int64_t max_timestamp = 0;
  std::string bytes;
};

// Splits read bytes into batches, verifying each CRC (aborting the test on failure is the
// caller's business: an error status is returned).
inline absl::StatusOr<std::vector<StoredBatch>> SplitBatches(std::string_view data) {
  std::vector<StoredBatch> out;
  while (!data.empty()) {
    absl::StatusOr<protocol::RecordBatchView> view = protocol::RecordBatchView::Parse(data);
    if (!view.ok()) return view.status();
    out.push_back({view->base_offset(), view->last_offset(), view->partition_leader_epoch(), view->crc(),
                   view->max_timestamp(), std::string(view->bytes())});
    data.remove_prefix(view->size_bytes());
  }
  return out;
}

// Reads every batch from `from` to the high watermark.
inline absl::StatusOr<std::vector<StoredBatch>> ReadAll(const PartitionLog& log, int64_t from = -1) {
  std::vector<StoredBatch> out;
  int64_t next = from < 0 ? log.log_start_offset().value() : from;
  while (true) {
    absl::StatusOr<ReadResult> r = log.Read(Offset(next), 1 << 20);
    if (!r.ok()) return r.status();
    absl::StatusOr<std::string> bytes = r->records.Flatten();
    if (!bytes.ok()) return bytes.status();
    if (bytes->empty()) break;
    absl::StatusOr<std::vector<StoredBatch>> batches = SplitBatches(*bytes);
    if (!batches.ok()) return batches.status();
    for (auto& b : *batches) {
      next = b.last_offset + 1;
      out.push_back(std::move(b));
    }
  }
  return out;
}

inline int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// FileOps that fails chosen calls with a chosen errno. `*_fail_after` counts successful calls
// left before failures start (-1: never fail). A failing PWrite may first write half its bytes,
// as a disk filling up mid-write does.
class FaultyFileOps : public FileOps {
 public:
  std::atomic<int> write_errno{ENOSPC};
  std::atomic<int> writes_before_failure{-1};
  std::atomic<bool> partial_write_first{true};
  std::atomic<int> sync_errno{EIO};
  std::atomic<int> syncs_before_failure{-1};
  std::atomic<int> open_errno{EROFS};
  std::atomic<bool> fail_creates{false};  // Open with O_CREAT fails
  std::atomic<bool> fail_truncate{false};
  std::atomic<int> failed_writes{0};

  int Open(const char* path, int flags, mode_t mode) override {
    if (fail_creates && (flags & O_CREAT) != 0) {
      errno = open_errno;
      return -1;
    }
    return FileOps::Open(path, flags, mode);
  }
  ssize_t PWrite(int fd, const void* data, size_t size, off_t offset) override {
    if (Consume(writes_before_failure)) {
      if (partial_write_first && size > 1) {
        partial_write_first = false;
        return FileOps::PWrite(fd, data, size / 2, offset);
      }
      failed_writes++;
      errno = write_errno;
      return -1;
    }
    return FileOps::PWrite(fd, data, size, offset);
  }
  int FDataSync(int fd) override {
    if (Consume(syncs_before_failure)) {
      errno = sync_errno;
      return -1;
    }
    return FileOps::FDataSync(fd);
  }
  int FTruncate(int fd, off_t size) override {
    if (fail_truncate) {
      errno = EIO;
      return -1;
    }
    return FileOps::FTruncate(fd, size);
  }
  void Heal() {
    writes_before_failure = -1;
    syncs_before_failure = -1;
    fail_creates = false;
    fail_truncate = false;
    partial_write_first = true;
  }

 private:
  // True if this call should fail.
  static bool Consume(std::atomic<int>& left) {
    int v = left.load();
    while (v > 0) {
      if (left.compare_exchange_weak(v, v - 1)) return false;
    }
    return v == 0;
  }
};

}  // namespace chronik::storage::testing
