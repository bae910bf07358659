#pragma once

// The server's settings (one row each: how it is named on the command line, in the environment
// and in the config file, and its type) and how a value from any of those sources is read and
// checked. Private to this package: server_config.cc gathers the sources and resolves them.

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_config/log_level.h"
#include "chronik_config/text.h"

namespace chronik::config::internal {

enum class Kind {
  kPort,      // integer 1-65535
  kByteSize,  // integer 1-2147483647
  kBool,      // a flag on the command line; true/false elsewhere
  kHost,      // host name or IP literal without port
  kPath,      // non-empty path
  kLogLevel,  // error, warn, info, debug, trace
};

struct Setting {
  std::string_view key;    // TOML key, and the name used inside this package
  std::string_view flags;  // CLI11 option names, e.g. "-p,--kafka-port"
  std::string_view flag;   // the long flag, for messages
  std::string_view env;    // environment variable
  Kind kind;
  std::string_view type_name;     // placeholder in --help
  std::string_view default_text;  // default shown in --help, if it is a plain value
  std::string_view help;          // --help description
};

// Every setting, in --help's order.
std::span<const Setting> Settings();
// The setting named `key`; aborts for a key no row has (a typo in this package).
const Setting& SettingFor(std::string_view key);
// The setting named `key`, or nullptr.
const Setting* FindSetting(std::string_view key);
// The settings' keys, comma-separated, for messages.
std::string KnownKeys();

using Value = std::variant<int64_t, bool, std::string, LogLevel>;

// A value and where it came from ("--kafka-port", "CHRONIK_KAFKA_PORT",
// "server.toml:3: kafka_port"), for messages.
struct Supplied {
  Value value;
  std::string origin;
};

// The settings one source supplies, by key.
using Layer = std::map<std::string_view, Supplied>;

inline std::string Message(const absl::Status& status) { return std::string(status.message()); }

inline absl::Status Problem(std::string_view origin, std::string_view problem) {
  return absl::InvalidArgumentError(Cat(origin, ": ", problem));
}

inline std::string Quoted(std::string_view text) { return Cat("\"", text, "\""); }

// Range and form checks shared by every source. May normalize (brackets off IPv6).
// `shown` is how the user wrote a number, for messages (empty: print the number).
absl::StatusOr<Value> Check(const Setting& setting, Value value, std::string_view shown = {});

// From a flag or environment value.
absl::StatusOr<Value> FromText(const Setting& setting, std::string_view text);

// From a value in the config file.
absl::StatusOr<Value> FromToml(const Setting& setting, const toml::node& node);

}  // namespace chronik::config::internal
