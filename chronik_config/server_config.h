#pragma once

// The broker's configuration: command line, environment, TOML file and validation.
//
//   chronik_server [OPTIONS] [standalone|all|ingest|search|backup|restore|version]
//
// Every setting can come from a flag, an environment variable or a key of the TOML file
// named by --config (or CHRONIK_CONFIG). Precedence is per setting:
//     flag > environment > config file > default.
// Every value that is supplied is validated, even one that a higher source overrides, so
// a broken environment variable or file is reported rather than lurking. The first
// problem found ends parsing with one line naming where the value came from (the flag,
// the variable, or file:line and key) and what is wrong with it, and exit code 2.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chronik_config/build_info.h"
#include "chronik_config/log_level.h"
#include "chronik_storage/object_store/store_settings.h"

namespace chronik::config {

// Exit codes. kExitConfigError is for everything that stops the server before it serves:
// invalid settings here, and also a listener that cannot bind (address in use), which the
// server checks itself and should report the same way: one line, naming the address.
inline constexpr int kExitOk = 0;
inline constexpr int kExitConfigError = 2;

inline constexpr uint16_t kDefaultKafkaPort = 9092;
inline constexpr uint16_t kDefaultAdminPort = 3000;
inline constexpr uint16_t kDefaultMetricsPort = 9090;
inline constexpr uint16_t kDefaultSearchPort = 8080;
inline constexpr std::string_view kDefaultDataDir = "./data";
inline constexpr std::string_view kDefaultBindAddr = "0.0.0.0";
inline constexpr LogLevel kDefaultLogLevel = LogLevel::kInfo;
// Kafka's socket.request.max.bytes: the largest request frame the listener accepts.
inline constexpr int32_t kDefaultMaxRequestSize = 104857600;

enum class Mode {
  kStandalone,  // single-node broker (the default)
  kAll,         // broker plus search and backup components
  kIngest,      // Kafka without search
  kSearch,      // the search API over a data directory, without Kafka
  kBackup,      // back a stopped broker's data directory up to the object store, and exit
  kRestore,     // restore the newest backup into an empty data directory, and exit
  kBackups,     // list the object store's backups, and exit
  kVersion,     // print the version; ParseServerConfig answers it with an exit outcome
};

// "standalone", "all", "ingest", "search", "backup", "restore", "backups", "version".
std::string_view ModeName(Mode mode);

// backup, restore, backups: run once, answer on stdout (so their log goes to stderr), and exit.
inline bool IsCommand(Mode mode) { return mode == Mode::kBackup || mode == Mode::kRestore || mode == Mode::kBackups; }
std::optional<Mode> ParseMode(std::string_view name);

// A SCRAM user the broker creates on start when it has none of that name, so that a SASL-only
// broker can be administered from its first start.
struct BootstrapUser {
  std::string name;
  std::string password;
};

// The admin API's bearer token and the user it authenticates as.
struct AdminToken {
  std::string user;
  std::string token;
};

struct ServerConfig {
  Mode mode = Mode::kStandalone;
  uint16_t kafka_port = kDefaultKafkaPort;
  uint16_t admin_port = kDefaultAdminPort;
  uint16_t metrics_port = kDefaultMetricsPort;
  uint16_t search_port = kDefaultSearchPort;
  // As configured (not made absolute). ParseServerConfig has created it and checked that
  // a file can be created in it.
  std::string data_dir{kDefaultDataDir};
  // A host name or IP literal, without port; IPv6 without brackets ("::1").
  std::string bind_addr{kDefaultBindAddr};
  // --advertised-addr as configured, if it was.
  std::optional<std::string> advertised_addr;
  // Per-partition metrics series (partition sizes and offsets, per-partition group lag).
  bool metrics_partition_series = true;
  bool enable_search = false;
  bool enable_backup = false;
  // The backup `restore` restores; the newest when unset.
  std::optional<std::string> backup_id;
  LogLevel log_level = kDefaultLogLevel;
  int32_t max_request_size = kDefaultMaxRequestSize;
  // The TOML file that was read, if any.
  std::optional<std::string> config_file;
  // Its [kafka] table: Kafka broker properties by their server.properties names
  // ("group.initial.rebalance.delay.ms" = 0), as the broker's static configs. Values are
  // validated by the broker, which knows them.
  std::map<std::string, std::string> kafka_properties;

  // Derived: what Metadata and FindCoordinator tell clients to connect to.
  // advertised_addr if set; else the bind address, unless that is a wildcard (0.0.0.0,
  // ::), in which case the machine's host name and a warning.
  std::string advertised_host;
  // --advertised-port if set, else kafka_port.
  uint16_t advertised_port = kDefaultKafkaPort;

  // CHRONIK_BOOTSTRAP_USER=name:password; from the environment only, so that the password is in
  // neither the process list nor a file.
  std::optional<BootstrapUser> bootstrap_user;
  // CHRONIK_ADMIN_TOKEN=user:token, from the environment only, like the bootstrap user.
  std::optional<AdminToken> admin_token;
  // The object store's settings (STORAGE_BACKEND, S3_*, AZURE_*, ...: store_settings.h), from the
  // environment over the file's [object_store] table; checked when the store is opened.
  storage::objects::StoreSettings object_store;
  // The admin API requires authentication even on a loopback bind.
  bool admin_auth_required = false;

  // Things the operator should know but that do not stop the server; log them at startup.
  std::vector<std::string> warnings;
};

// What the caller does next: run with `config`, or exit with `exit_code` after writing
// `message` (newline-terminated) to stdout when exit_code is 0 (help, version) or to
// stderr otherwise (one line, "<program>: error: ...").
struct ParseOutcome {
  std::optional<ServerConfig> config;
  int exit_code = kExitOk;
  std::string message;
};

// Looks an environment variable up; nullopt when unset. Empty values count as unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (std::getenv).
EnvLookup ProcessEnvironment();

// Parses argv (argv[0] is the program name used in help and errors), the environment as
// seen through `getenv` (may be empty: no environment), and the config file they name;
// validates everything; creates the data directory. Never throws, never prints.
ParseOutcome ParseServerConfig(int argc, const char* const* argv, const EnvLookup& getenv);

// 0.0.0.0 or :: (in any spelling): listening on every interface, connectable on none.
bool IsWildcardAddress(std::string_view host);
// This machine's host name ("" if it has none): what a wildcard listener advertises.
std::string HostName();

// Writes outcome.message to `out` (exit code 0) or `err` (otherwise).
void WriteOutcomeMessage(const ParseOutcome& outcome, std::ostream& out, std::ostream& err);

// One line for the startup log: "mode=standalone kafka_port=9092 ... advertised=host:9092".
std::string DescribeConfig(const ServerConfig& config);

}  // namespace chronik::config
