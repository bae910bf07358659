#pragma once

// `chronik_server backup`, `restore` and `backups`: a data directory to and from the object store
// the environment names (chronik_storage/backup), and the list of what it holds.

#include "chronik_config/server_config.h"

namespace chronik::server {

// Backs up cfg.data_dir, which no broker may have open; keeps kafka.backup.retention.count backups.
int RunBackupCommand(const char* program, const config::ServerConfig& cfg);
// Restores the newest backup into cfg.data_dir, which must be empty.
int RunRestoreCommand(const char* program, const config::ServerConfig& cfg);
// Lists the object store's backups, oldest first: id (when it was taken, UTC), files and bytes.
int RunListBackupsCommand(const char* program, const config::ServerConfig& cfg);

}  // namespace chronik::server
