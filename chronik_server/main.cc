// chronik_server: the one binary; the mode on the command line picks what it runs.

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "chronik_config/server_config.h"
#include "chronik_server/backup_commands.h"
#include "chronik_server/broker.h"
#include "chronik_server/crash_report.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace chronik::server {
namespace {

spdlog::level::level_enum SpdlogLevel(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kError:
      return spdlog::level::err;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kTrace:
      return spdlog::level::trace;
  }
  return spdlog::level::info;
}

int Fail(const char* program, int code, const std::string& message) {
  std::cerr << program << ": error: " << message << "\n";
  return code;
}

// What the user can fix (configuration, a port in use, a data directory another broker holds)
// exits with the configuration error code; anything else is a failure of the broker.
int StartupExitCode(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnavailable:
      return config::kExitConfigError;
    default:
      return 1;
  }
}

int RunBroker(const char* program, const config::ServerConfig& cfg) {
  absl::StatusOr<std::unique_ptr<Broker>> broker = Broker::Open(cfg);
  if (!broker.ok()) return Fail(program, StartupExitCode(broker.status()), std::string(broker.status().message()));
  if (absl::Status s = (*broker)->Run(); !s.ok()) {
    spdlog::error("closing the logs failed: {}", std::string(s.message()));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace chronik::server

int main(int argc, char** argv) {
  using namespace chronik;
  const char* program = "chronik_server";
  server::InstallCrashReport(argv[0]);
#ifdef NDEBUG
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex acquisition records itself in one
  // process-wide lock graph to look for lock-order cycles: a debugging aid that the tests' builds
  // keep and an optimized build does not pay for.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  // A peer that goes away must cost only its connection: sendfile(2), unlike Asio's sends, has no
  // MSG_NOSIGNAL, and an unhandled SIGPIPE would end the broker.
  std::signal(SIGPIPE, SIG_IGN);
  // `bazel run` starts the binary inside its runfiles tree; relative paths such as the default
  // ./data mean the directory the user ran bazel from.
  if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY"); wd != nullptr && ::chdir(wd) != 0) {
    return server::Fail(program, config::kExitConfigError, std::string("cannot enter ") + wd);
  }
  config::ParseOutcome outcome = config::ParseServerConfig(argc, argv, config::ProcessEnvironment());
  if (!outcome.config.has_value()) {
    config::WriteOutcomeMessage(outcome, std::cout, std::cerr);
    return outcome.exit_code;
  }
  const config::ServerConfig& cfg = *outcome.config;
  // The commands that run once answer on stdout (what was backed up or restored, the list of
  // backups), so that a script can read it; their log goes to stderr.
  if (config::IsCommand(cfg.mode)) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("chronik"));
  }
  spdlog::set_level(server::SpdlogLevel(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  for (const std::string& w : cfg.warnings) spdlog::warn("{}", w);
  spdlog::info("{}", config::DescribeConfig(cfg));

  switch (cfg.mode) {
    case config::Mode::kStandalone:
      return server::RunBroker(program, cfg);
    case config::Mode::kAll: {
      // Kafka, search, admin, metrics and the janitor in one process.
      config::ServerConfig all = cfg;
      all.enable_search = true;
      return server::RunBroker(program, all);
    }
    case config::Mode::kIngest:
      // Kafka, admin, metrics and the janitor; search is a search node's.
      if (cfg.enable_search) {
        return server::Fail(program, config::kExitConfigError,
                            "--enable-search: an ingest node serves no search; run 'all', or 'search' beside it");
      }
      return server::RunBroker(program, cfg);
    case config::Mode::kSearch: {
      // The search API over the data directory's topics, indexed from its logs; no Kafka listener,
      // no admin API, no janitor.
      config::ServerConfig search = cfg;
      search.enable_search = true;
      return server::RunBroker(program, search);
    }
    case config::Mode::kBackup:
      return server::RunBackupCommand(program, cfg);
    case config::Mode::kRestore:
      return server::RunRestoreCommand(program, cfg);
    case config::Mode::kBackups:
      return server::RunListBackupsCommand(program, cfg);
    case config::Mode::kVersion:
      break;
  }
  return 0;
}
