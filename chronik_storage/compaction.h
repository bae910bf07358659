#pragma once

// Log compaction (cleanup.policy=compact): PartitionLog::Compact, implemented in compaction.cc.
//
// What a pass keeps. The pass first reads the whole log below the high watermark (the active
// segment included) and notes, for every key, the offset of its last record. It then rewrites
// each closed segment wholly below the high watermark, batch by batch:
//   - A record is removed when a record with the same key exists at a higher offset below the
//     high watermark (so a key rewritten in the active segment removes its older copies).
//   - Records with a null key are kept.
//   - A tombstone (non-null key, null value) that is the last record of its key is kept until
//     delete.retention.ms after the first pass that saw it. That pass stamps its batch with a
//     delete horizon (now + delete.retention.ms, KIP-534's delete-horizon bit and baseTimestamp);
//     a pass at or after the horizon removes the tombstone. A tombstone superseded by a later
//     record of its key goes at once, like any superseded record.
//   - Batches whose max timestamp is newer than now - min.compaction.lag.ms are copied unchanged.
//   - Control batches and transactional batches are copied unchanged, and transactional records
//     never supersede others (an aborted write must not remove committed data). Removing aborted
//     data and obsolete markers is left for when the broker tracks transactions.
//   - A batch nothing is removed from is copied byte for byte. Otherwise it is rebuilt with its
//     original base offset, lastOffsetDelta (so it still ends where it did, as Kafka does),
//     partition leader epoch, compression codec, timestamp type (LogAppendTime keeps the batch's
//     timestamp), producer id, epoch and base sequence, the kept records at their original offsets
//     (AppendWithOffset; the gaps are visible to readers). A batch left with no records is dropped;
//     a segment may end up empty, and stays (its base offset still names it).
// Offsets never change, nor do the log start offset, high watermark and log end offset. A segment
// in which nothing changes is not rewritten. Keys are held in memory (one map entry per distinct
// key below the high watermark).
//
// The swap, per segment <base>, crash-safe at every step:
//   1. write <base>.log.cleaned, <base>.index.cleaned and <base>.timeindex.cleaned; fsync them;
//   2. rename the indexes, then the log, to *.swap and fsync the directory: <base>.log.swap is
//      the commit point, a complete cleaned copy;
//   3. under the partition lock (if the segment is still in the log: retention may have deleted
//      it), rename the .swap indexes and then the .swap log over the originals, open the new file
//      and replace the segment in memory; fsync the directory.
// Readers holding file ranges of the old segment keep reading its (now unlinked) file. At Open,
// RecoverInterruptedCompaction deletes *.cleaned files (incomplete), finishes every
// <base>.log.swap whose <base>.log exists (renaming a <base>.index.swap / .timeindex.swap over the
// old index, or deleting the old index so recovery rebuilds it), deletes a .log.swap whose segment
// is gone, and deletes index .swap files left without a log .swap.

#include <string>

#include "absl/status/statusor.h"
#include "chronik_storage/file_ops.h"

namespace chronik::storage {

struct CompactionRecovery {
  int swaps_finished = 0;
  int files_deleted = 0;
};

// Deals with what an interrupted compaction left in the partition directory `dir` (see above).
// Called by PartitionLog::Load before it reads the segments.
absl::StatusOr<CompactionRecovery> RecoverInterruptedCompaction(const std::string& dir, FileOps& ops);

}  // namespace chronik::storage
