#pragma once

// Tiered storage (KIP-405) for topics with remote.storage.enable: rolled segments are copied to an
// object store under a per-partition manifest, local segments go once copied (local.retention.*),
// retention.* then applies to the remote copy, and reads below the local log start are served from
// the store through a bounded cache.
//
// Objects of partition t-p live under "tiered/t-p/": "manifest.json" and, per segment,
// "<base offset>-<nonce>.log", ".index" and ".timeindex". The manifest names every segment a
// reader may use; it is replaced (atomically, by a put) only after the objects it names are
// stored, and objects are deleted only after a manifest without them is. So an upload, a remote
// deletion or a crash in between leaves at worst objects no manifest names, which the first pass
// after a start deletes.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "chronik_protocol/wire.h"
#include "chronik_storage/log_events.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"
#include "chronik_storage/object_store/object_store.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/types.h"

namespace chronik::storage::tiered {

struct RemoteSegment {
  int64_t base_offset = 0;
  int64_t next_offset = 0;
  int64_t size = 0;
  int64_t max_timestamp = -1;
  std::string log_key;
  std::string index_key;
  std::string time_index_key;
  std::string txn_index_key;  // "" when the segment aborted no transaction
  // The producers as of next_offset (a producer snapshot file); "" when there was none to copy.
  std::string producer_snapshot_key;
  std::vector<std::string> keys() const {
    std::vector<std::string> out = {log_key, index_key, time_index_key};
    for (const std::string* k : {&txn_index_key, &producer_snapshot_key}) {
      if (!k->empty()) out.push_back(*k);
    }
    return out;
  }
};

struct Manifest {
  std::vector<RemoteSegment> segments;  // by base offset
  int64_t start() const { return segments.empty() ? -1 : segments.front().base_offset; }
  int64_t end() const { return segments.empty() ? -1 : segments.back().next_offset; }
};
std::string EncodeManifest(const Manifest& manifest);
absl::StatusOr<Manifest> DecodeManifest(std::string_view json);

// "tiered/<topic>-<partition>/".
std::string PartitionPrefix(const TopicPartition& tp);

// Deletions of topics' remote data wait in the broker's metadata store, under this namespace: a
// topic's deletion writes RemoteDeletionRecords in the batch that deletes the topic, and the
// manager removes a partition's record once its remote objects are gone. So a deletion a restart
// interrupted is finished after it, and a topic made again under the same name never takes the
// old one's remote copy for its own (remote data are found by the topic's name).
inline constexpr char kRemoteDeletionsNamespace[] = "remote_deletions";
// A record per partition, keyed "<topic>/<partition>/<id>": a topic deleted, made again and deleted
// again has two.
std::vector<MetadataOp> RemoteDeletionRecords(const std::string& topic, const std::string& id, int32_t partitions);

struct RemoteLogOptions {
  int64_t cache_bytes = 64 << 20;  // remote.log.reader.cache.bytes
  int32_t fetch_bytes = 8 << 20;   // remote.log.reader.fetch.bytes: one ranged GET
  int reader_threads = 10;         // remote.log.reader.threads
  // A read of tp's remote copy (asked for by TryRead, or read ahead) has ended, with data or an
  // error: fetches waiting on tp read again.
  std::function<void(const TopicPartition&)> on_ready;
  // The data directory was restored from a backup (backup.h) and has not been reconciled with the
  // remote copy yet: a partition's remote segments that reach past its restored local log were
  // copied after the backup was taken, and are dropped, so the partition goes on from the backup's
  // moment as its metadata does. Once every tiered partition's manifest has been read,
  // on_reconciled is called (the broker then forgets the restore).
  bool restored_from_backup = false;
  // Each restored partition's log end (by TopicPartition::ToString) as the restore left it, noted
  // before any client was served: the remote copy is cut there, not at the log's end of the moment
  // its manifest can be read (records produced since then reuse the offsets of what is cut).
  std::map<std::string, int64_t> restored_ends;
  std::function<void()> on_reconciled;
  // Where the RemoteDeletionRecords are; without one, deletions are not resumed after a restart.
  MetadataStore* metadata = nullptr;
  // remote.log.manager.copy.max.bytes.per.second: called with the size of each part of a segment
  // before it is read and sent, and may wait, adding the time it waited to *waited; false stops
  // the copy (the broker is stopping).
  std::function<bool(int64_t bytes, std::chrono::nanoseconds* waited)> copy_throttle;
};

struct RemoteStats {
  int64_t segments_copied = 0;
  int64_t bytes_copied = 0;
  int64_t segments_deleted = 0;
  int64_t copy_failures = 0;  // passes over a partition that failed (manifest, copy or retention)
  int64_t copy_throttle_ns = 0;  // waited on remote.log.manager.copy.max.bytes.per.second
  int64_t reads = 0;
  int64_t read_bytes = 0;
  // Batches read from the store into the cache, for consumers and ahead of them (not the indexes,
  // nor the incomplete batch a read of fetch.bytes may end in).
  int64_t chunk_bytes_read = 0;
  int64_t read_queue = 0;        // reads waiting for a reader or being read, now
  // As of the last pass: rolled local segments of tiered partitions not yet copied.
  int64_t copy_lag_segments = 0;
  int64_t copy_lag_bytes = 0;
};

class RemoteLogManager {
 public:
  RemoteLogManager(objects::ObjectStore& store, LogManager& logs, RemoteLogOptions options);
  ~RemoteLogManager();
  RemoteLogManager(const RemoteLogManager&) = delete;
  RemoteLogManager& operator=(const RemoteLogManager&) = delete;

  // One pass of the janitor's task: for each tiered partition, copies its rolled, durable segments,
  // tells the log how far the remote copy goes, and applies retention.* to the remote copy; removes
  // the remote data of deleted partitions. Blocks on the store.
  void RunPass(int64_t now_ms);

  // Reads the manifest of every tiered partition (at start, before clients are served), and deletes
  // the objects no manifest names. A partition whose manifest cannot be read is tried again by each
  // pass; until then it is not Loaded.
  void LoadAll();
  // Whether the remote copy of `tp` is known; for a tiered partition that is not, neither its start
  // nor what lies below its local log is known.
  bool Loaded(const TopicPartition& tp) const;

  // A storage event (LogManager::Subscribe): a deleted partition's remote data goes at the next pass.
  void OnLogEvent(const LogEvent& event);

  // The remote copy's [start, end) offsets; empty() when it has none.
  struct Bounds {
    Offset start{-1};
    Offset end{-1};
    bool empty() const { return end.value() < 0; }
  };
  Bounds RemoteBounds(const TopicPartition& tp) const;

  struct Read {
    // Whole batches, in the cached chunk they were found in (which the range keeps alive): a fetch
    // sends them from there, not from a copy.
    protocol::SharedRange bytes;
    Offset next_offset;  // after the last of them
    // The aborted transactions a read_committed fetch of these batches must be told of.
    std::vector<AbortedTxn> aborted;
  };
  // For Fetch on a network thread, never blocking: the whole batches from the one holding `from`
  // (at least one, then up to max_bytes) when they are cached; else nullopt, and a read into the
  // cache is started whose end calls on_ready(tp). A read that failed is reported once as its
  // error (OutOfRange: not in the remote copy; DataLoss: a damaged object). Reads ahead go as far
  // as `local_start` at most: from there on the consumer reads the local log.
  std::optional<absl::StatusOr<Read>> TryRead(const TopicPartition& tp, Offset from, int64_t max_bytes,
                                              Offset local_start);

  // For ListOffsets on the handler pool (blocks on the store): the first record of the remote copy
  // at or above offset `from` with a timestamp at least `timestamp`, nullopt when there is none.
  absl::StatusOr<std::optional<TimestampAndOffset>> OffsetForTimestamp(const TopicPartition& tp, int64_t timestamp,
                                                                       Offset from);

  RemoteStats stats() const;

 private:
  struct Chunk {
    TopicPartition tp;
    int64_t first_offset = 0;  // of its first batch
    int64_t next_offset = 0;   // after its last batch
    // Shared with the reads that send them (Read::bytes): they outlive the chunk's place in the
    // cache, and its buffer is reused only once no read holds it.
    std::shared_ptr<std::string> bytes;
    struct Batch {
      int64_t base_offset;
      int64_t last_offset;
      int64_t position;
      int64_t size;
    };
    std::vector<Batch> batches;
    // Those aborted transactions a read_committed fetch of any of its batches may need.
    std::vector<AbortedTxn> aborted;
    // Its place in lru_, so that a read moves it to the front without a search.
    std::list<std::shared_ptr<Chunk>>::iterator lru_position;
  };
  struct ReadKey {
    TopicPartition tp;
    int64_t from;
    friend auto operator<=>(const ReadKey&, const ReadKey&) = default;
  };

  // Reads tp's manifest from the store; `log` is the partition's log as the caller found it.
  absl::Status LoadManifest(const TopicPartition& tp, PartitionLog& log);
  // Drops what is kept of tp (manifest, cached chunks).
  void ForgetLocked(const TopicPartition& tp);
  // After a restore, once no tiered partition's manifest is unknown: on_reconciled, once.
  void FinishRestoreIfReconciled();
  absl::Status CopySegments(const TopicPartition& tp, PartitionLog& log, const std::vector<SegmentInfo>& segments);
  absl::Status ApplyRemoteRetention(const TopicPartition& tp, PartitionLog& log, int64_t now_ms);
  absl::Status PublishManifest(const TopicPartition& tp, Manifest manifest);
  absl::Status DeletePartition(const TopicPartition& tp);
  std::shared_ptr<const Manifest> ManifestOf(const TopicPartition& tp) const;

  // Reader side.
  void ReaderLoop();
  // Where the chunk holding `from` lies in its segment. It starts at the segment's last index entry
  // at or before `from` and, when an entry lies within fetch_bytes after that, ends at the last such
  // entry (entries mark batch starts): then the chunk after it is known before this one is read,
  // and the two are read at once.
  struct ChunkPlan {
    std::shared_ptr<const Manifest> manifest;
    const RemoteSegment* segment = nullptr;  // in *manifest
    int64_t position = 0;
    int64_t end = -1;          // the byte after the chunk; -1: fetch_bytes, cut after the last whole batch
    int64_t next_offset = -1;  // the offset at `end`, when known
  };
  absl::StatusOr<ChunkPlan> PlanChunk(const TopicPartition& tp, int64_t from);
  absl::StatusOr<std::shared_ptr<Chunk>> ReadChunk(const TopicPartition& tp, int64_t from, const ChunkPlan& plan);
  absl::StatusOr<std::shared_ptr<Chunk>> ReadChunk(const TopicPartition& tp, int64_t from);
  absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> OffsetIndex(const RemoteSegment& segment);
  // The aborted transactions of [from, upper): the remote segments' transaction indexes from the
  // one holding `from` on, then the local log's.
  absl::StatusOr<std::vector<AbortedTxn>> AbortedTransactions(const TopicPartition& tp, const Manifest& manifest,
                                                              int64_t from, int64_t upper);
  void StartReadLocked(const TopicPartition& tp, int64_t from);
  // Keeps the chunks after the one holding reading_at_[tp] cached or being read, as far as
  // kReadAheadFetches allows and no further than the local log's start.
  // Starts at most one read: a read whose end is not known yet ends the walk, and its reader walks
  // again once it knows it.
  void ReadAheadLocked(const TopicPartition& tp);
  // The cached chunk holding `offset`, or null.
  const Chunk* CachedLocked(const TopicPartition& tp, int64_t offset) const;
  void InsertLocked(std::shared_ptr<Chunk> chunk);
  void EraseLocked(const std::shared_ptr<Chunk>& chunk);
  // Where the remote copy of `tp` ends (0: no copy known).
  int64_t RemoteEndLocked(const TopicPartition& tp) const;

  objects::ObjectStore& store_;
  LogManager& logs_;
  const RemoteLogOptions options_;
  // options_.restored_from_backup until every tiered partition's manifest was read.
  std::atomic<bool> restored_;

  mutable std::mutex mu_;
  std::map<TopicPartition, std::shared_ptr<const Manifest>> manifests_;
  std::set<TopicPartition> deleted_;
  // Tiered partitions whose manifest could not be read at start (a partition created since has none).
  std::set<TopicPartition> unknown_;
  RemoteStats stats_;

  // Cache of chunks by partition and first offset, evicted least recently used first.
  std::map<TopicPartition, std::map<int64_t, std::shared_ptr<Chunk>>> chunks_;
  std::list<std::shared_ptr<Chunk>> lru_;
  int64_t cached_bytes_ = 0;
  // The bytes of all chunks alive: cached, or evicted but still held by responses being sent.
  // Shared with the chunks' deleters, which may run after the manager is gone.
  std::shared_ptr<std::atomic<int64_t>> live_chunk_bytes_ = std::make_shared<std::atomic<int64_t>>(0);
  // The memory of evicted chunks, for the next reads' bodies (ObjectStore::GetReusing): a chunk read
  // into fresh memory spent most of its reader's CPU in page faults. At most kSpareBuffers.
  std::vector<std::string> spare_buffers_;
  std::map<ReadKey, absl::Status> failed_;
  // Reads queued or under way, with where their chunk ends once planned.
  struct PlannedRead {
    int64_t next_offset = -1;  // -1: not known yet
    int64_t bytes = 0;
  };
  std::map<ReadKey, PlannedRead> pending_;
  // Per partition, the offset its consumer's last fetch from the remote copy asked for, and the
  // local log's start as of then: reads go on ahead of the one, up to the other.
  struct Reading {
    int64_t at = 0;
    int64_t until = 0;
  };
  std::map<TopicPartition, Reading> reading_at_;
  std::deque<ReadKey> queue_;
  std::condition_variable queue_cv_;
  bool stopping_ = false;
  std::vector<std::thread> readers_;

  std::mutex index_mu_;
  std::map<std::string, std::shared_ptr<const std::vector<std::pair<int64_t, int64_t>>>> indexes_;
};

// Where a partition's records start for clients (Kafka's log start offset): the remote copy's start
// when it reaches below the local log, never below what DeleteRecords deleted.
Offset ClientLogStart(const LogBounds& local, const RemoteLogManager::Bounds& remote);

}  // namespace chronik::storage::tiered
