#include "chronik_config/settings.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>

#include "chronik_common/host_port.h"
#include "chronik_config/server_config.h"

namespace chronik::config::internal {
namespace {

constexpr Setting kSettingTable[] = {
    {"kafka_port", "-p,--kafka-port", "--kafka-port", "CHRONIK_KAFKA_PORT", Kind::kPort, "PORT",
     "9092", "Kafka protocol port"},
    {"admin_port", "-a,--admin-port", "--admin-port", "CHRONIK_ADMIN_PORT", Kind::kPort, "PORT",
     "3000", "Admin API port"},
    {"data_dir", "-d,--data-dir", "--data-dir", "CHRONIK_DATA_DIR", Kind::kPath, "PATH", "./data",
     "Data directory, created if missing"},
    {"bind_addr", "-b,--bind-addr", "--bind-addr", "CHRONIK_BIND_ADDR", Kind::kHost, "ADDR",
     "0.0.0.0", "Listen address: host only, no port"},
    {"advertised_addr", "--advertised-addr", "--advertised-addr", "CHRONIK_ADVERTISED_ADDR",
     Kind::kHost, "ADDR", "",
     "Host clients are told to connect to; set it for Docker/remote\n"
     "access. Default: the bind address, or this machine's host name\n"
     "if binding a wildcard (0.0.0.0, ::)"},
    {"advertised_port", "--advertised-port", "--advertised-port", "CHRONIK_ADVERTISED_PORT",
     Kind::kPort, "PORT", "", "Port clients are told to connect to. Default: the Kafka port"},
    {"metrics_port", "--metrics-port", "--metrics-port", "CHRONIK_METRICS_PORT", Kind::kPort,
     "PORT", "9090", "Prometheus metrics port"},
    {"search_port", "--search-port", "--search-port", "CHRONIK_SEARCH_PORT", Kind::kPort, "PORT", "8080",
     "Search API port (Elasticsearch-compatible), with --enable-search"},
    {"metrics_partition_series", "--metrics-partition-series", "--metrics-partition-series",
     "CHRONIK_METRICS_PARTITION_SERIES", Kind::kBool, "", "",
     "Per-partition metrics (sizes, offsets, group lag); on by\ndefault, =false for brokers with many partitions"},
    {"admin_auth_required", "--admin-auth-required", "--admin-auth-required", "CHRONIK_ADMIN_AUTH_REQUIRED",
     Kind::kBool, "", "",
     "Admin API: require HTTP Basic (a SCRAM user) or the bearer token\n"
     "(CHRONIK_ADMIN_TOKEN) even when bound to loopback; always\nrequired on other addresses"},
    {"enable_search", "--enable-search", "--enable-search", "CHRONIK_ENABLE_SEARCH", Kind::kBool,
     "", "", "Enable search (--enable-search=false disables)"},
    {"enable_backup", "--enable-backup", "--enable-backup", "CHRONIK_ENABLE_BACKUP", Kind::kBool,
     "", "", "Back the data directory up to the object store every\nkafka.backup.interval.ms (--enable-backup=false disables)"},
    {"backup_id", "--backup-id", "--backup-id", "CHRONIK_BACKUP_ID", Kind::kPath, "ID", "",
     "restore: the backup to restore (default: the newest)"},
    {"log_level", "--log-level", "--log-level", "CHRONIK_LOG_LEVEL", Kind::kLogLevel, "LEVEL",
     "info", "error, warn, info, debug or trace"},
    {"max_request_size", "--max-request-size", "--max-request-size", "CHRONIK_MAX_REQUEST_SIZE",
     Kind::kByteSize, "BYTES", "104857600",
     "Largest request frame accepted, like Kafka's\nsocket.request.max.bytes"},
};


// Decimal digits only: no sign, no spaces. Values too large for int64_t saturate, which
// every range check rejects.
std::optional<int64_t> ParseDigits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value > (INT64_MAX - 9) / 10 ? INT64_MAX : value * 10 + (c - '0');
  }
  return value;
}

std::string_view ProblemNoun(Kind kind) {
  switch (kind) {
    case Kind::kPort:
      return "is not a port number (expected 1-65535)";
    case Kind::kByteSize:
      return "is not a number of bytes (expected 1-2147483647)";
    default:
      return "is not valid";
  }
}

std::string_view TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

}  // namespace

std::span<const Setting> Settings() { return kSettingTable; }

const Setting& SettingFor(std::string_view key) {
  for (const Setting& s : kSettingTable) {
    if (s.key == key) return s;
  }
  std::abort();  // a typo in this package
}

const Setting* FindSetting(std::string_view key) {
  for (const Setting& s : kSettingTable) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string KnownKeys() {
  std::string keys;
  for (const Setting& s : kSettingTable) keys += Cat(keys.empty() ? "" : ", ", s.key);
  return keys;
}

absl::StatusOr<Value> Check(const Setting& setting, Value value, std::string_view shown) {
  switch (setting.kind) {
    case Kind::kPort:
    case Kind::kByteSize: {
      const int64_t number = std::get<int64_t>(value);
      const bool port = setting.kind == Kind::kPort;
      if (number < 1 || number > (port ? 65535 : INT32_MAX)) {
        return absl::InvalidArgumentError(Cat(shown.empty() ? Cat(number) : std::string(shown),
                                              " is out of range (expected ",
                                              port ? "a port 1-65535)" : "1-2147483647 bytes)"));
      }
      return value;
    }
    case Kind::kHost: {
      std::string host = std::get<std::string>(value);
      if (host.empty()) return absl::InvalidArgumentError("must not be empty");
      if (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
          common::IsIpv6Literal(std::string_view(host).substr(1, host.size() - 2))) {
        host = host.substr(1, host.size() - 2);
      }
      if (std::any_of(host.begin(), host.end(), IsAsciiSpace)) {
        return absl::InvalidArgumentError(Cat(Quoted(host), " contains whitespace"));
      }
      if (host.find(':') != std::string::npos && !common::IsIpv6Literal(host)) {
        return absl::InvalidArgumentError(
            Cat(Quoted(host),
                " is not a host name or IP address (give the host only; ports have "
                "their own settings)"));
      }
      if (setting.key == "advertised_addr" && IsWildcardAddress(host)) {
        return absl::InvalidArgumentError(
            Cat(Quoted(host), " is a wildcard address that clients cannot connect to"));
      }
      return Value(std::move(host));
    }
    case Kind::kPath:
      if (std::get<std::string>(value).empty()) {
        return absl::InvalidArgumentError("must not be empty");
      }
      return value;
    case Kind::kBool:
    case Kind::kLogLevel:
      return value;
  }
  return value;
}

absl::StatusOr<Value> FromText(const Setting& setting, std::string_view text) {
  switch (setting.kind) {
    case Kind::kPort:
    case Kind::kByteSize: {
      std::optional<int64_t> number = ParseDigits(text);
      if (!number) {
        return absl::InvalidArgumentError(Cat(Quoted(text), " ", ProblemNoun(setting.kind)));
      }
      return Check(setting, *number, text);
    }
    case Kind::kBool: {
      for (std::string_view yes : {"true", "1", "yes", "on"}) {
        if (EqualsIgnoreCase(text, yes)) return Value(true);
      }
      for (std::string_view no : {"false", "0", "no", "off"}) {
        if (EqualsIgnoreCase(text, no)) return Value(false);
      }
      return absl::InvalidArgumentError(
          Cat(Quoted(text), " is not a boolean (expected true/false, 1/0, yes/no or on/off)"));
    }
    case Kind::kLogLevel: {
      std::optional<LogLevel> level = ParseLogLevel(text);
      if (!level) {
        return absl::InvalidArgumentError(Cat("unknown log level ", Quoted(text),
                                              " (expected error, warn, info, debug or trace)"));
      }
      return Value(*level);
    }
    case Kind::kHost:
    case Kind::kPath:
      return Check(setting, std::string(text));
  }
  return absl::InternalError("unhandled setting kind");
}

absl::StatusOr<Value> FromToml(const Setting& setting, const toml::node& node) {
  auto wrong_type = [&](std::string_view expected) {
    return absl::InvalidArgumentError(Cat("expected ", expected, ", got ", TomlTypeName(node)));
  };
  switch (setting.kind) {
    case Kind::kPort:
    case Kind::kByteSize:
      if (!node.is_integer()) return wrong_type("an integer");
      return Check(setting, node.as_integer()->get());
    case Kind::kBool:
      if (!node.is_boolean()) return wrong_type("a boolean (true or false)");
      return Value(node.as_boolean()->get());
    case Kind::kLogLevel:
    case Kind::kHost:
    case Kind::kPath:
      if (!node.is_string()) return wrong_type("a string");
      return FromText(setting, node.as_string()->get());
  }
  return absl::InternalError("unhandled setting kind");
}

}  // namespace chronik::config::internal
