#pragma once

// `chronik_server backup` and `chronik_server restore`: a data directory to and from the object
// store the environment names (chronik_storage/backup).

#include "chronik_config/server_config.h"

namespace chronik::server {

// Backs up cfg.data_dir, which no broker may have open; keeps kafka.backup.retention.count backups.
int RunBackupCommand(const char* program, const config::ServerConfig& cfg);
// Restores the newest backup into cfg.data_dir, which must be empty.
int RunRestoreCommand(const char* program, const config::ServerConfig& cfg);

}  // namespace chronik::server
