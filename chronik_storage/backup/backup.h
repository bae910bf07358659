#pragma once

// Backups of a data directory to an object store, and their restore into an empty one.
//
// A backup is every file the broker needs (segments and their indexes, producer snapshots, the
// metadata store with topics, configs, groups and offsets, transactions, ACLs and users, the node
// identity and checkpoints), and not the caches (search indexes) or locks. Files are stored once by
// content as "backups/blobs/<sha256>", so a backup uploads only what no earlier backup has (the
// incremental part); "backups/<id>/manifest.json", written last, names each file with its size and
// SHA-256, and a backup exists once its manifest does. Restore checks every file against it.
//
// Taken from a running broker (--enable-backup, with LiveBroker), it is the broker at one moment:
// the metadata store's state as of one revision first, then every partition's files hard-linked
// while its appends wait (PartitionLog::LinkFiles), so each log ends on a whole batch, holds every
// record a committed offset in that state points below, and keeps the segments retention deletes
// during the upload. A restored broker recovers the logs as after a crash. Taken from a stopped
// broker (`chronik_server backup`), it is exact.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"
#include "chronik_storage/object_store/object_store.h"

namespace chronik::storage::backup {

struct BackupResult {
  std::string id;
  int64_t files = 0;
  int64_t bytes = 0;           // of the files backed up
  int64_t uploaded_bytes = 0;  // of blobs no earlier backup had
};

// The running broker whose data directory is backed up.
struct LiveBroker {
  const LogManager* logs = nullptr;
  const MetadataStore* metadata = nullptr;
};

// Backs `data_dir` up to `store` (a running broker's through `live`; nullptr: a stopped broker's
// directory); then keeps the newest `keep` backups (0: all) and deletes the blobs only older ones
// used.
absl::StatusOr<BackupResult> RunBackup(const std::string& data_dir, objects::ObjectStore& store, int keep,
                                       const LiveBroker* live = nullptr);

// The ids of the complete backups, oldest first.
absl::StatusOr<std::vector<std::string>> ListBackups(objects::ObjectStore& store);

struct BackupInfo {
  std::string id;  // also when it was taken: 20261130T233600.123Z (UTC)
  int64_t files = 0;
  int64_t bytes = 0;  // of the files it restores
};

// The complete backups with what each holds (from its manifest), oldest first. DataLoss when a
// manifest cannot be read as one.
absl::StatusOr<std::vector<BackupInfo>> DescribeBackups(objects::ObjectStore& store);

// Written into a data directory by RestoreBackup, with the backup's id, and removed by the broker
// once it has reconciled the restored partitions with their remote copies (tiered storage).
inline constexpr char kRestoredMarkerName[] = "restored-backup";

struct RestoreResult {
  std::string id;
  int64_t files = 0;
  int64_t bytes = 0;
};

// Restores backup `id` ("": the newest) into `data_dir`, which must be empty or absent; every file
// is checked against its SHA-256 and written durably. DataLoss when a blob does not match.
absl::StatusOr<RestoreResult> RestoreBackup(objects::ObjectStore& store, const std::string& id,
                                            const std::string& data_dir);

}  // namespace chronik::storage::backup
