#pragma once

// The exact-term half of a partition's index (terms.h: keywords, numbers, the presence of long
// text), in a directory of its own beside the text half's database, written by a thread of its
// own. Each batch of documents becomes two runs (term_run.h) of its generation; runs are merged
// kFanIn at a time, up to kMaxLevel times, so a generation of a million documents has a few dozen. A manifest,
// replaced by rename, names the runs, the generations and the offset this half reached: it is
// the commit, so a crash leaves the half where its last manifest says, and files it does not
// name are deleted at open. Nothing is synced: like the text half (synchronous = OFF), a damaged
// file is found by its checksum at open and the whole index is rebuilt from the log.
//
// Searches read a snapshot (the manifest's state with its runs mapped), taken once per search;
// runs stay mapped while a snapshot names them, even after a merge or a drop deleted their files.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_search/document.h"
#include "chronik_search/term_run.h"

namespace chronik::search {

// A batch's terms go into two runs, each written on a thread of its own: its exact terms
// (keywords, numbers, presence) and its text (words with their positions, lengths). Each kind is
// merged on its own.
enum class RunKind { kExact = 0, kText = 1 };
inline constexpr RunKind kRunKinds[] = {RunKind::kExact, RunKind::kText};

struct TermSnapshot {
  struct Run {
    int64_t seq = 0;
    int level = 0;  // merged `level` times
    std::shared_ptr<const TermRun> run;
  };
  using Runs = std::map<int64_t, std::vector<Run>>;  // each generation's, in document order

  int64_t indexed_offset = 0;
  int64_t next_seq = 0;
  std::set<int64_t> generations;
  Runs runs[2];  // by RunKind

  const Runs& of(RunKind kind) const { return runs[static_cast<int>(kind)]; }
  Runs& of(RunKind kind) { return runs[static_cast<int>(kind)]; }
};

class TermIndex {
 public:
  // Runs merged into one at a time: each merge rewrites its runs, and a search seeks in every run.
  static constexpr size_t kFanIn = 32;
  // Runs are merged this many times at most: a merge is built in memory, and merging on would
  // build most of a generation (hundreds of MB) at once. A generation of a million documents in
  // 3 000-document batches ends as about 10 merged runs and up to 31 others.
  static constexpr int kMaxLevel = 1;

  // Opens or creates the directory at `path`; `*created` says it held no index. A manifest or a
  // run that cannot be read is DataLoss.
  static absl::StatusOr<std::unique_ptr<TermIndex>> Open(const std::string& path, bool* created,
                                                         size_t fan_in = kFanIn);
  ~TermIndex();

  // Adds the terms of the documents at or above both the indexed offset and `deleted_below` to
  // generation `g`, and sets the indexed offset to `next_offset`. Documents a crash left indexed
  // here but not in the documents' half are skipped. Add is Begin, Write of each kind (on threads
  // of their own if the caller likes: they only read the index as it was), then Finish.
  absl::Status Add(int64_t g, const std::vector<Document>& docs, int64_t deleted_below, int64_t next_offset);

  struct Batch {
    int64_t g = 0;
    int64_t from = 0;  // the first offset to add
    int64_t next_offset = 0;
    bool skip = false;  // a crash left this half ahead: nothing to add
    struct Written {
      absl::Status status;
      std::vector<TermSnapshot::Run> runs;  // the generation's runs of the kind after the batch
      std::vector<std::string> unused;      // files of runs merged away
      bool written = false;
    } kinds[2];
  };
  Batch Begin(int64_t g, int64_t deleted_below, int64_t next_offset) const;
  // Writes the batch's run of `kind` and merges that kind's tail; one thread per kind.
  void Write(Batch* batch, RunKind kind, const std::vector<Document>& docs) const;
  // Commits what the Writes made (their first error instead, the runs they wrote deleted).
  absl::Status Finish(Batch batch);
  // Deletes the runs the Writes made, for a batch not to be committed.
  void Discard(const Batch& batch) const;
  // Records generation `g`, before the text half commits it (the crash handling of
  // PartitionIndex::DeleteBelow reads which generation this half reached).
  absl::Status AddGeneration(int64_t g);
  // Drops the generations older than `oldest` (the text half dropped them first).
  absl::Status DropBelow(int64_t oldest);
  // At open: the generations older than the text half's oldest are dropped, and the text half's
  // generations are all recorded.
  absl::Status Sync(const std::vector<int64_t>& generations);

  // The writer's view (the thread that calls the above).
  int64_t indexed_offset() const { return state_.indexed_offset; }
  int64_t newest_generation() const { return state_.generations.empty() ? -1 : *state_.generations.rbegin(); }

  // The index as last committed, for searches (any thread).
  std::shared_ptr<const TermSnapshot> Snapshot() const;
  // The bytes of its files.
  int64_t SizeBytes() const;

 private:
  TermIndex(std::string dir, size_t fan_in);
  std::string RunPath(int64_t g, int64_t seq) const;
  // Writes `next` as the manifest, makes it the state searches see, then deletes `unused`.
  absl::Status Commit(TermSnapshot next, const std::vector<std::string>& unused);
  // Writes `bytes` as a new run of `g` and maps it.
  absl::StatusOr<TermSnapshot::Run> WriteRun(int64_t g, int level, const std::string& bytes) const;
  // While the newest fan_in_ of `runs` (generation `g`'s) are of one level, merges them.
  absl::Status MergeTail(int64_t g, std::vector<TermSnapshot::Run>* runs, std::vector<std::string>* unused) const;

  const std::string dir_;
  const size_t fan_in_;
  TermSnapshot state_;  // the writer's
  mutable std::atomic<int64_t> next_seq_{0};  // the next run's number, for both kinds' writers
  // Each kind's writer's memory, kept from batch to batch (a Write uses its kind's alone).
  struct Scratch;
  std::unique_ptr<Scratch> scratch_[2];
  mutable std::mutex mu_;
  std::shared_ptr<const TermSnapshot> published_;
};

}  // namespace chronik::search
