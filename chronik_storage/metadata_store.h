#pragma once

// The broker's durable metadata: a namespaced key-value store with revisions.
//
// Topics and their configs, partition counts, consumer-group offsets and group state all live here,
// each under its own namespace, as values the broker serializes itself; the store knows nothing of
// their meaning. Every change is a batch of puts and deletes (`Apply`) that becomes one record of
// an append-only log and one new revision: after a crash at any point either the whole batch or
// none of it is loaded. A periodic snapshot bounds replay time, so nothing ever rewrites a whole
// file per change. The shape (namespaces, keys, one revision per transaction) is meant to map onto
// etcd when the metadata moves into a cluster.
//
// On disk, in the directory given to Open:
//   snapshot-<revision>.bin   every live entry at <revision>, with a CRC-32C over the whole file;
//                             written to a .tmp file, fsync'd, renamed, directory fsync'd.
//   log-<first revision>.bin  log segment: a header, then records
//                               u32 body length | u32 CRC-32C of body | body
//                               body = i64 revision | u32 op count | ops
//                               op   = u8 kind | u32 len, namespace | u32 len, key
//                                      [| u32 len, value   (puts only)]
//                             integers little-endian.
//   LOCK                      flock'd while a store has the directory open.
// Open loads the newest valid snapshot (falling back to the previous one if it is damaged), replays
// the log records after it, and truncates the log at the first torn or corrupt record.
//
// Thread safety: every method may be called from any thread. Get and Scan never wait for disk I/O.
// Concurrent Apply calls share one write and one fsync (group commit).

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace chronik::storage {

// Where a broker keeps its metadata store inside the data directory; partition logs never use it.
inline constexpr char kMetadataDirName[] = "__metadata";
// Other services' directories in the data directory, beside the partitions: the audit log and the
// search indexes.
inline constexpr char kAuditDirName[] = "audit";
inline constexpr char kSearchDirName[] = "__search";
// Where a backup of a running broker keeps the files it hard-linked while it uploads them; what a
// crash leaves there is removed at the next start.
inline constexpr char kBackupDirName[] = "__backup";

struct MetadataOp {
  enum class Kind : uint8_t { kPut = 0, kDelete = 1 };

  Kind kind = Kind::kPut;
  std::string ns;
  std::string key;
  std::string value;  // Ignored for deletes.

  static MetadataOp Put(std::string ns, std::string key, std::string value) {
    return MetadataOp{Kind::kPut, std::move(ns), std::move(key), std::move(value)};
  }
  static MetadataOp Delete(std::string ns, std::string key) {
    return MetadataOp{Kind::kDelete, std::move(ns), std::move(key), {}};
  }
};

// The file operations a test can make fail (see Options::inject_io_error_for_testing).
enum class MetadataIoOp {
  kLogWrite,       // Appending records to the log (fails after writing half of them).
  kLogSync,        // fdatasync of the log after an append.
  kLogTruncate,    // Cutting a failed append back off the log.
  kSnapshotWrite,  // Writing a snapshot's temporary file.
  kSnapshotSync,   // fsync of a snapshot's temporary file.
  kNewSegment,     // Creating the log segment that follows a snapshot.
  kRename,         // Renaming a finished temporary file into place.
  kDirSync,        // fsync of the directory after a rename.
};

class MetadataStore {
 public:
  struct Options {
    // Log bytes written since the last snapshot that trigger a new snapshot.
    int64_t snapshot_every_bytes = int64_t{64} << 20;
    // Off only for tests and throwaway setups: Apply then returns before the data reaches the disk.
    bool fsync = true;
    // Test seam: called before each file operation listed in MetadataIoOp; a non-zero return is an
    // errno value the operation then fails with, as if the system call had.
    std::function<int(MetadataIoOp)> inject_io_error_for_testing;
  };

  struct Stats {
    int64_t log_bytes = 0;                // Log bytes after the newest snapshot (replayed + written).
    int64_t records_replayed = 0;         // Log records applied by Open.
    int64_t bytes_truncated_on_open = 0;  // Torn or corrupt log tail cut off by Open.
    int64_t snapshots_written = 0;
    int64_t fsyncs = 0;                   // Every fsync/fdatasync issued: log, snapshots, directory.
    int64_t applies = 0;                  // Successful Apply calls (Put and Delete included).
  };

  // Largest encoded batch Apply accepts.
  static constexpr int64_t kMaxBatchBytes = int64_t{64} << 20;

  // Opens (creating if needed) the store in `dir`: loads the newest valid snapshot, replays the log
  // after it and truncates a torn tail. Fails with DataLoss if durable data cannot be recovered
  // (every snapshot damaged and the log no longer reaches back to revision 1, or a gap in the log),
  // and with FailedPrecondition if another store has the directory open.
  static absl::StatusOr<std::unique_ptr<MetadataStore>> Open(const std::string& dir, Options options);
  static absl::StatusOr<std::unique_ptr<MetadataStore>> Open(const std::string& dir) {
    return Open(dir, Options());
  }

  ~MetadataStore();
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  // Applies `ops` in order as one atomic batch and returns the new revision. The batch is durable
  // when this returns OK, and only then visible to Get/Scan. On error nothing of the batch is
  // visible. After a failed fsync (or a failed attempt to cut a failed append back off the log) the
  // store refuses all further writes with FailedPrecondition, because what the disk holds is no
  // longer known; reopening it loads whatever is durable. Empty or oversized batches are
  // InvalidArgument.
  absl::StatusOr<int64_t> Apply(std::vector<MetadataOp> ops);

  absl::Status Put(std::string_view ns, std::string_view key, std::string_view value);
  absl::Status Delete(std::string_view ns, std::string_view key);

  std::optional<std::string> Get(std::string_view ns, std::string_view key) const;
  // Entries of `ns` whose key starts with `key_prefix`, sorted by key.
  std::vector<std::pair<std::string, std::string>> Scan(std::string_view ns,
                                                        std::string_view key_prefix = "") const;
  // Namespaces holding at least one key, sorted.
  std::vector<std::string> Namespaces() const;

  // Revision of the last applied batch; 0 for an empty store. Each Apply adds exactly 1.
  int64_t revision() const;

  // Writes a snapshot of the current state now (a no-op if one exists at this revision), starts a
  // new log segment, and deletes the files the previous snapshot makes unnecessary.
  absl::Status Snapshot();

  // The state as of now (the revision of the last applied batch), encoded as a snapshot file
  // named `*file_name`: a directory holding only that file opens as this state. For backups of a
  // running broker.
  std::string EncodeState(std::string* file_name) const;

  Stats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Waiter;
  using KeyMap = std::map<std::string, std::string, std::less<>>;
  using State = std::map<std::string, KeyMap, std::less<>>;

  MetadataStore(std::string dir, Options options);

  absl::Status Load();
  // Runs `w` through the writer queue; returns once it is done.
  void Submit(Waiter& w);
  // Writes and syncs the batch, then makes it visible. Returns non-OK if writes must stop for good.
  absl::Status CommitBatch(const std::vector<Waiter*>& batch);
  absl::Status WriteSnapshot(bool only_if_due);
  absl::Status CreateSegment(int64_t first_revision, int* fd_out);
  void RemoveObsoleteFiles(int64_t keep_snapshot, int64_t previous_snapshot);
  absl::Status Inject(MetadataIoOp op, std::string_view what, const std::string& path) const;
  absl::Status SyncFile(int fd, bool data_only, MetadataIoOp op, const std::string& path);
  absl::Status SyncDir();
  std::string PathOf(std::string_view name) const;

  const std::string dir_;
  const Options options_;
  int lock_fd_ = -1;

  // In-memory state, readable without waiting for the writer.
  mutable absl::Mutex state_mu_;
  State state_ ABSL_GUARDED_BY(state_mu_);
  int64_t revision_ ABSL_GUARDED_BY(state_mu_) = 0;

  // Writer queue: the waiter at the front is the leader and alone touches the files below.
  absl::Mutex queue_mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(queue_mu_);
  absl::Status write_failure_ ABSL_GUARDED_BY(queue_mu_);

  // Owned by the current leader (or by Open, before any other thread can see the store).
  int log_fd_ = -1;
  std::string log_path_;
  int64_t log_end_ = 0;              // Bytes of the active segment that hold valid records.
  int64_t logged_revision_ = 0;      // Revision of the last record in the log.
  int64_t snapshot_revision_ = 0;    // Newest valid snapshot on disk (0: none).

  std::atomic<int64_t> log_bytes_{0};
  std::atomic<int64_t> records_replayed_{0};
  std::atomic<int64_t> bytes_truncated_{0};
  std::atomic<int64_t> snapshots_written_{0};
  std::atomic<int64_t> fsyncs_{0};
  std::atomic<int64_t> applies_{0};
};

}  // namespace chronik::storage
