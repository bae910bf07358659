#pragma once

// The server's log verbosity and how it is spelled in flags, environment and config file,
// including the RUST_LOG variable that deployments of the original server already set.

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace chronik::config {

// From least to most verbose.
enum class LogLevel { kError, kWarn, kInfo, kDebug, kTrace };

// "error", "warn", "info", "debug" or "trace".
std::string_view LogLevelName(LogLevel level);

// One of the five names above, ASCII case-insensitive; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

// Reads a RUST_LOG value in env_logger syntax: comma-separated directives `level`,
// `module` or `module=level`, optionally followed by `/filter` (ignored).
//   - A plain level directive ("info") wins; if several are given, the last one.
//   - Without one, directives for chronik modules ("chronik", "chronik_server",
//     "chronik::net" ...) supply the level, the most verbose of them; a bare
//     chronik module name means trace, as in env_logger.
//   - `module=level` directives for other modules are ignored, whatever their level.
//   - A bare word that is neither a level nor a chronik module is taken for a misspelt
//     level and rejected (env_logger would read it as a module name).
// Returns nullopt when the value names no level for us (empty, or only other modules'
// directives), and InvalidArgument when a level we would use is not one of ours (this
// includes "off", which the server does not support).
absl::StatusOr<std::optional<LogLevel>> LogLevelFromRustLog(std::string_view rust_log);

}  // namespace chronik::config
