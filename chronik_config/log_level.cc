#include "chronik_config/log_level.h"

#include <string>

#include "absl/status/status.h"
#include "chronik_config/text.h"

namespace chronik::config {
namespace {

using internal::EqualsIgnoreCase;
using internal::Trim;

constexpr LogLevel kAllLevels[] = {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo,
                                   LogLevel::kDebug, LogLevel::kTrace};

// Crate and module names of the original server all start with "chronik"; ours do too.
bool IsChronikModule(std::string_view module) { return module.substr(0, 7) == "chronik"; }

absl::Status UnknownLevel(std::string_view text) {
  return absl::InvalidArgumentError("unknown log level \"" + std::string(text) +
                                    "\" (expected error, warn, info, debug or trace)");
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kTrace:
      return "trace";
  }
  return "unknown";
}

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  for (LogLevel level : kAllLevels) {
    if (EqualsIgnoreCase(text, LogLevelName(level))) return level;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<LogLevel>> LogLevelFromRustLog(std::string_view rust_log) {
  // env_logger lets a "/regex" message filter follow the directives.
  const size_t slash = rust_log.find('/');
  if (slash != std::string_view::npos) rust_log = rust_log.substr(0, slash);

  std::optional<LogLevel> plain;
  std::optional<LogLevel> chronik_module;
  while (!rust_log.empty()) {
    const size_t comma = rust_log.find(',');
    std::string_view directive = Trim(rust_log.substr(0, comma));
    rust_log = comma == std::string_view::npos ? std::string_view() : rust_log.substr(comma + 1);
    if (directive.empty()) continue;
    const size_t eq = directive.find('=');
    if (eq == std::string_view::npos) {
      if (std::optional<LogLevel> level = ParseLogLevel(directive)) {
        plain = level;
      } else if (IsChronikModule(directive)) {
        chronik_module = LogLevel::kTrace;  // a bare module name enables everything for it
      } else {
        // env_logger would read a bare word as "everything from that module", but for us a
        // misspelt level ("inf") is far likelier than a bare foreign module name.
        return UnknownLevel(directive);
      }
      continue;
    }
    const std::string_view module = Trim(directive.substr(0, eq));
    const std::string_view level_text = Trim(directive.substr(eq + 1));
    if (!IsChronikModule(module)) continue;
    std::optional<LogLevel> level = ParseLogLevel(level_text);
    if (!level) return UnknownLevel(level_text);
    if (!chronik_module || *level > *chronik_module) chronik_module = level;
  }
  if (plain) return plain;
  return chronik_module;
}

}  // namespace chronik::config
