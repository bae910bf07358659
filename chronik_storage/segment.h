#pragma once

// One log segment: a .log file of v2 record batches plus its sparse offset and time indexes.
// Internal to chronik_storage (PartitionLog owns segments and serializes access to them); the
// only public piece is SegmentFile, which read results hand out for zero-copy reads.
//
// Index entries are kept in memory for every segment and written to the .index and .timeindex
// files when the segment is rolled or the log is closed (the files of the active segment are
// stale while it is written to; recovery rebuilds them from the log). On disk, big-endian as in
// Kafka:
//   .index      entries of { int32 relative offset, int32 position }            8 bytes each
//   .timeindex  entries of { int64 timestamp, int32 relative offset }          12 bytes each
// An offset index entry maps a batch's base offset to the batch's position. A time index entry
// { T, o } says: every record at an offset below o (in this segment) has a timestamp <= T.
// Entries strictly increase. The time index ends with { max timestamp, next offset } once the
// segment is written out, so a segment's max timestamp is known without a scan.
//   .txnindex   entries of { int16 version 0, int64 producer id, int64 first offset,
//               int64 last offset, int64 last stable offset }                    34 bytes each
// The transaction index lists the transactions aborted by a marker in this segment, as Kafka's
// does, for read_committed fetches. It has the life of the other index files (kept in memory,
// written at roll and close); compaction keeps a segment's markers, so the original's .txnindex
// stays valid for the cleaned copy.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_config.h"

namespace chronik::storage {

// An open .log file. Readers hold it through shared_ptr, so a segment deleted by retention stays
// readable (unlinked, fd open) until the last slice over it is gone.
class SegmentFile {
 public:
  SegmentFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Appends exactly `size` bytes from `position` to `*out` (pread); an error if the file is shorter.
  absl::Status ReadAt(int64_t position, int64_t size, std::string* out) const;

 private:
  int fd_;
  std::string path_;
};


struct OffsetIndexEntry {
  int32_t relative_offset = 0;
  int32_t position = 0;
};

struct TimeIndexEntry {
  int64_t timestamp = 0;
  int32_t relative_offset = 0;
};

// A transaction aborted by a marker at last_offset; last_stable_offset is the partition's LSO
// once it was aborted (a reader collecting aborted transactions below an offset stops at the
// first entry whose LSO reaches it).
struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t last_stable_offset = 0;
  bool operator==(const AbortedTxn&) const = default;
};

inline constexpr size_t kOffsetIndexEntrySize = 8;
inline constexpr size_t kTxnIndexEntrySize = 34;
inline constexpr size_t kTimeIndexEntrySize = 12;

// "<20-digit zero-padded base offset><suffix>", e.g. 00000000000000000042.log
std::string SegmentFileName(int64_t base_offset, std::string_view suffix);

// Compaction writes a cleaned copy of a segment as <base>.log.cleaned (+ .index.cleaned,
// .timeindex.cleaned), renames the complete, synced files to *.swap and then over the originals.
// See compaction.h.
inline constexpr std::string_view kCleanedSuffix = ".cleaned";
// A partition's producer state as of offset N: <N>.snapshot (see PartitionLog).
inline constexpr char kSnapshotSuffix[] = ".snapshot";
inline constexpr std::string_view kSwapSuffix = ".swap";

// A file that is not a partition's yet: mid-compaction (.cleaned, .swap), mid-replacement (.tmp,
// ReplaceFile) or hidden. Links and backups leave them out; a partition's load finishes or removes
// them.
inline bool IsTransientFileName(std::string_view name) {
  return name.empty() || name.front() == '.' || name.ends_with(kCleanedSuffix) || name.ends_with(kSwapSuffix) ||
         name.ends_with(".tmp");
}

// The header fields a log walk needs, decoded from the first 61 bytes of a batch.
struct BatchHeader {
  int64_t base_offset = 0;
  int64_t size = 0;  // whole batch, log overhead included
  int64_t last_offset = 0;
  int64_t max_timestamp = -1;
  // The idempotent producer's fields (-1: none).
  bool is_control = false;  // a transaction marker: no sequence of its own
  bool is_transactional = false;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
};

// What Segment::Recover found.
struct SegmentScan {
  int64_t batches = 0;
  int64_t valid_bytes = 0;
  int64_t truncated_bytes = 0;  // bytes removed after the last valid batch
  std::string stop_reason;      // why the scan stopped early; empty if it reached the end
};

class Segment {
 public:
  // Creates a new, empty segment file (fails if one exists). Does not sync the directory.
  static absl::StatusOr<std::unique_ptr<Segment>> Create(const std::string& dir, int64_t base_offset,
                                                         FileOps& ops, int64_t now_ms);
  // Opens an existing .log file. Call Recover or LoadIndexes before use.
  static absl::StatusOr<std::unique_ptr<Segment>> Open(const std::string& dir, int64_t base_offset, FileOps& ops);
  // Creates (or truncates) <base>.log.cleaned, the cleaned copy compaction writes; its index
  // paths are <base>.index.cleaned and <base>.timeindex.cleaned.
  static absl::StatusOr<std::unique_ptr<Segment>> CreateCleaned(const std::string& dir, int64_t base_offset,
                                                                FileOps& ops);

  // Scans every batch from the start (header sanity, CRC-32C, offsets within
  // [base_offset, max_next_offset)), rebuilds the in-memory indexes, and truncates the file at
  // the first invalid batch. `index_interval_bytes` and `max_index_bytes` shape the rebuilt index.
  absl::StatusOr<SegmentScan> Recover(FileOps& ops, int64_t max_next_offset, int32_t index_interval_bytes,
                                      int32_t max_index_bytes, int64_t now_ms);

  // For a segment the clean-shutdown marker or recovery point vouches for: loads the index files
  // and checks them (size, monotonic, within the log, the indexed batch really there) and finds the
  // segment's end offset from the last indexed position. Returns false (and loads nothing) if an
  // index is missing or damaged or the tail does not parse; the caller then runs Recover.
  absl::StatusOr<bool> LoadIndexes(int64_t now_ms);

  // Writes the index files from memory (plus the final time index entry). Not synced. A cleaned
  // copy writes no .txnindex (see above).
  absl::Status WriteIndexes(FileOps& ops, int32_t max_index_bytes);
  // fsyncs the index files.
  absl::Status SyncIndexes(FileOps& ops);
  // Unlinks the .log and index files (a cleaned copy's only: never the original's .txnindex).
  void DeleteFiles();

  // Loads the .txnindex file; false (and nothing loaded) if it is missing or damaged.
  absl::StatusOr<bool> LoadTxnIndex();
  const std::vector<AbortedTxn>& aborted_txns() const { return aborted_; }
  void AddAbortedTxn(const AbortedTxn& txn) { aborted_.push_back(txn); }
  void SetAbortedTxns(std::vector<AbortedTxn> txns) { aborted_ = std::move(txns); }
  // Takes over the in-memory indexes, end offset and max timestamp of `other`, a cleaned copy of
  // this segment whose file has just been renamed to this one's path.
  void AdoptIndexes(const Segment& other);

  // Appends `data` (whole batches, offsets already assigned) at the end of the file. On failure,
  // truncates back to the previous end; if that fails too, *truncate_failed is set.
  absl::Status Append(FileOps& ops, std::string_view data, bool* truncate_failed);
  // Records a batch just written at `position` in the in-memory indexes.
  void OnBatchAppended(const protocol::RecordBatchView& batch, int64_t position, int32_t index_interval_bytes,
                       int32_t max_index_bytes);

  // Whether the offset or the time index is full under `max_index_bytes`.
  bool IndexFull(int32_t max_index_bytes) const;

  // The position from which a forward walk finds the batch containing `offset` (0 if none indexed).
  int64_t LookupPosition(int64_t offset) const;
  // The position from which a forward walk finds the first record with timestamp >= ts.
  int64_t LookupTimestampPosition(int64_t timestamp) const;

  // Reads the header of the batch at `position` (which must lie below size()).
  absl::StatusOr<BatchHeader> ReadHeaderAt(int64_t position) const;

  // Walks batch headers from `position` up to size(), calling `visit(header, position)` until it
  // returns false. Header reads are buffered.
  absl::Status WalkHeaders(int64_t position, int64_t end,
                           const std::function<bool(const BatchHeader&, int64_t position)>& visit) const;

  int64_t base_offset() const { return base_offset_; }
  int64_t next_offset() const { return next_offset_; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t max_timestamp() const { return max_timestamp_; }
  // Base offset of the first batch holding max_timestamp(), -1 if not known (found lazily).
  int64_t max_timestamp_batch() const { return max_timestamp_batch_; }
  int64_t first_append_ms() const { return first_append_ms_; }
  void MarkFirstAppend(int64_t now_ms) {
    if (first_append_ms_ < 0) first_append_ms_ = now_ms;
  }
  const std::shared_ptr<SegmentFile>& file() const { return file_; }
  const std::string& log_path() const { return file_->path(); }
  std::string index_path() const;
  std::string time_index_path() const;
  std::string txn_index_path() const;
  size_t offset_index_entries() const { return offset_index_.size(); }
  size_t time_index_entries() const { return time_index_.size(); }
  const std::vector<OffsetIndexEntry>& offset_index() const { return offset_index_; }
  const std::vector<TimeIndexEntry>& time_index() const { return time_index_; }
  // Last modification time of the .log file, ms since the epoch (retention fallback).
  int64_t ModifiedMs() const;

 private:
  Segment(std::string dir, int64_t base_offset, std::shared_ptr<SegmentFile> file, std::string suffix = "")
      : dir_(std::move(dir)), base_offset_(base_offset), file_(std::move(file)), suffix_(std::move(suffix)) {}

  void ResetIndexes();

  std::string dir_;
  int64_t base_offset_;
  std::shared_ptr<SegmentFile> file_;
  std::string suffix_;  // appended to the index file names: "" or kCleanedSuffix
  int64_t size_ = 0;
  int64_t next_offset_ = 0;
  int64_t max_timestamp_ = -1;
  int64_t max_timestamp_batch_ = -1;
  int64_t first_append_ms_ = -1;
  int64_t bytes_since_index_entry_ = 0;
  std::vector<OffsetIndexEntry> offset_index_;
  std::vector<TimeIndexEntry> time_index_;
  std::vector<AbortedTxn> aborted_;  // by last_offset
};

// Parses the 61-byte header at the start of `bytes` (no CRC check). Needs kHeaderSize bytes.
absl::StatusOr<BatchHeader> ParseBatchHeader(std::string_view bytes);

// The entries of a .txnindex file of the segment at `base_offset`; nullopt if it is damaged.
std::optional<std::vector<AbortedTxn>> ParseTxnIndex(std::string_view data, int64_t base_offset);
// Adds to `out` the transactions of one segment's index (segments taken in offset order) that a
// read_committed fetch of [from, upper) must be told of. True once no later segment can add any:
// an entry whose last stable offset reaches `upper` means every transaction begun below it had
// ended.
bool CollectAborted(const std::vector<AbortedTxn>& txns, int64_t from, int64_t upper, std::vector<AbortedTxn>* out);

}  // namespace chronik::storage
