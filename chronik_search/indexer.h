#pragma once

// Keeps the search indexes of searchable topics up with their logs, on threads of its own:
// storage events (the high watermark, the log start, a partition's deletion) mark partitions to
// visit; the reader reads each from where it stopped to its last stable offset and makes the
// records documents (control batches and aborted transactions left out), while the writer adds
// the previous batch to its index (the text half itself, the terms half on a thread of each batch,
// partition_index.h). Acknowledgements do not wait for it, and it reports how far it trails.
// The indexes are caches: a damaged one is deleted and rebuilt from the log, a topic no longer
// searchable loses its indexes, and documents below the log start offset are deleted.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <deque>

#include "chronik_search/partition_index.h"
#include "chronik_storage/log_events.h"
#include "chronik_storage/log_manager.h"

namespace chronik::search {

struct IndexerOptions {
  // <data-dir>/__search.
  std::string dir;
  // Whether `topic` is searchable now (its `searchable` config); asked on every refresh.
  std::function<bool(const std::string& topic)> searchable;
  // Bytes of log read per step, so that one busy partition does not hold up the others.
  int64_t read_bytes = 1 << 20;
  // How often the searchable topics are looked at again (configs changed, topics created).
  int64_t refresh_ms = 500;
};

class Indexer {
 public:
  Indexer(storage::LogManager& logs, IndexerOptions options);
  ~Indexer();
  Indexer(const Indexer&) = delete;
  Indexer& operator=(const Indexer&) = delete;

  void Start();
  void Stop();

  // The log manager's event listener: quick, never blocking.
  void OnEvent(const storage::LogEvent& event);

  struct PartitionState {
    std::shared_ptr<PartitionIndex> index;
    int64_t indexed_offset = 0;
    int64_t deleted_below = 0;  // documents below it were deleted (in this run)
    int64_t read_offset = 0;    // read and handed to the writer up to here
    // Bumped when a batch fails: the batches read after it are dropped and read again.
    int64_t epoch = 0;
  };
  // The indexed partitions of `topic`, by partition number.
  std::map<int32_t, std::shared_ptr<PartitionIndex>> IndexesOf(const std::string& topic) const;
  // The topics with indexes.
  std::vector<std::string> Topics() const;
  // Records below the high watermark not yet indexed, over every searchable partition.
  int64_t Lag() const;

 private:
  // A batch of documents from the reader, for the writer.
  struct Batch {
    storage::TopicPartition tp;
    std::shared_ptr<PartitionIndex> index;
    int64_t epoch = 0;
    std::vector<Document> docs;
    int64_t next = 0;
  };
  // Batches read ahead of the writer: enough to keep both threads busy.
  static constexpr size_t kQueueDepth = 2;
  // Documents the writer added, freed by the reader (which waits on the writer most of the time)
  // rather than on the writer's thread, where freeing a batch was 5 % of the broker's samples.
  std::vector<std::vector<Document>> spent_;  // under mu_
  void FreeSpent();  // on the reader's thread

  void Run();
  void Write();
  void Refresh();
  // Indexes what `tp`'s log has beyond its index; false if more is left.
  bool Visit(const storage::TopicPartition& tp);
  std::shared_ptr<PartitionIndex> OpenIndex(const storage::TopicPartition& tp, int64_t* indexed);
  void Drop(const storage::TopicPartition& tp);
  std::string PathOf(const storage::TopicPartition& tp) const;

  storage::LogManager& logs_;
  const IndexerOptions options_;

  // The indexer's threads run at SCHED_IDLE and can be preempted anywhere, also holding mu_: the
  // storage events, sent from produce's threads, take events_mu_ instead, which those threads hold
  // only to swap a set. (Reading a log, they still take the partition's lock, for as long as a
  // read takes.)
  std::mutex events_mu_;
  std::condition_variable wake_;  // with events_mu_
  std::set<storage::TopicPartition> watched_;  // the partitions_ with an index
  std::set<storage::TopicPartition> dirty_;
  std::set<storage::TopicPartition> deleted_;

  mutable std::mutex mu_;
  std::atomic<bool> stop_ = false;
  std::map<storage::TopicPartition, PartitionState> partitions_;
  std::deque<Batch> queue_;
  std::condition_variable queue_cv_;
  bool swept_ = false;  // stale index files removed (the reader thread's own)
  std::thread thread_;
  std::thread writer_;
};

}  // namespace chronik::search
