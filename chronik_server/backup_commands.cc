#include "chronik_server/backup_commands.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/numbers.h"
#include "chronik_storage/backup/backup.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/object_store/store_factory.h"

namespace chronik::server {
namespace {

constexpr int kExitFailed = 1;

int Failed(const char* program, const std::string& what) {
  std::cerr << program << ": error: " << what << "\n";
  return kExitFailed;
}

absl::StatusOr<std::unique_ptr<storage::objects::ObjectStore>> Store(const config::ServerConfig& cfg) {
  auto store = storage::objects::OpenObjectStore(cfg.object_store);
  if (store.ok() && *store == nullptr) {
    return absl::InvalidArgumentError("no object store: set STORAGE_BACKEND (local, s3, gcs or azure) and its settings");
  }
  return store;
}

}  // namespace

int RunBackupCommand(const char* program, const config::ServerConfig& cfg) {
  auto store = Store(cfg);
  if (!store.ok()) return Failed(program, std::string(store.status().message()));
  // The broker's own lock: a running broker's files would be copied as they change.
  const std::string lock = cfg.data_dir + "/" + storage::kLockFileName;
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return Failed(program, "a broker has " + cfg.data_dir +
                               " open; stop it, or back a running broker up with --enable-backup");
  }
  int keep = 7;
  if (auto it = cfg.kafka_properties.find("backup.retention.count"); it != cfg.kafka_properties.end() &&
                                                                      !absl::SimpleAtoi(it->second, &keep)) {
    return Failed(program, "kafka.backup.retention.count: not a number");
  }
  auto result = storage::backup::RunBackup(cfg.data_dir, **store, keep);
  ::close(fd);
  if (!result.ok()) return Failed(program, "backup failed: " + result.status().ToString());
  std::cout << "backup " << result->id << ": " << result->files << " files, " << result->bytes << " bytes, "
            << result->uploaded_bytes << " bytes uploaded\n";
  return 0;
}

int RunRestoreCommand(const char* program, const config::ServerConfig& cfg) {
  auto store = Store(cfg);
  if (!store.ok()) return Failed(program, std::string(store.status().message()));
  const std::string id = cfg.backup_id.value_or("");
  if (!id.empty()) {
    auto ids = storage::backup::ListBackups(**store);
    if (!ids.ok()) return Failed(program, "cannot list the backups: " + ids.status().ToString());
    if (std::find(ids->begin(), ids->end(), id) == ids->end()) {
      std::string known;
      for (const std::string& b : *ids) known += (known.empty() ? "" : ", ") + b;
      return Failed(program, "no backup " + id + " in the object store; it holds: " + (known.empty() ? "none" : known));
    }
  }
  auto result = storage::backup::RestoreBackup(**store, id, cfg.data_dir);
  if (!result.ok()) return Failed(program, "restore failed: " + result.status().ToString());
  std::cout << "restored backup " << result->id << ": " << result->files << " files, " << result->bytes
            << " bytes into " << cfg.data_dir << "\n";
  return 0;
}

int RunListBackupsCommand(const char* program, const config::ServerConfig& cfg) {
  auto store = Store(cfg);
  if (!store.ok()) return Failed(program, std::string(store.status().message()));
  auto backups = storage::backup::DescribeBackups(**store);
  if (!backups.ok()) return Failed(program, "cannot list the backups: " + backups.status().ToString());
  for (const storage::backup::BackupInfo& b : *backups) {
    std::cout << b.id << " " << b.files << " files " << b.bytes << " bytes\n";
  }
  return 0;
}

}  // namespace chronik::server
