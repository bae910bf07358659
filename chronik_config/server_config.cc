#include "chronik_config/server_config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/status/statusor.h"
#include "chronik_common/host_port.h"
#include "chronik_config/settings.h"
#include "chronik_config/text.h"

namespace chronik::config {
namespace {

using internal::Cat;
using internal::FindSetting;
using internal::FromText;
using internal::FromToml;
using internal::Kind;
using internal::KnownKeys;
using internal::Layer;
using internal::Message;
using internal::Problem;
using internal::Quoted;
using internal::Setting;
using internal::SettingFor;
using internal::Settings;
using internal::Supplied;
using internal::Trim;
using internal::Value;

constexpr std::string_view kRustLogEnv = "RUST_LOG";
constexpr std::string_view kConfigFlag = "--config";
constexpr std::string_view kConfigEnv = "CHRONIK_CONFIG";

// The config file table that holds Kafka broker properties rather than Chronik settings.
constexpr std::string_view kKafkaTable = "kafka";
constexpr std::string_view kObjectStoreTable = "object_store";

// ---------------------------------------------------------------------------------------
// Sources.

struct CommandLine {
  std::string program;
  std::string mode_text;
  std::optional<std::string> config_file;
  Layer layer;
};

std::string ProgramName(int argc, const char* const* argv) {
  if (argc < 1 || argv == nullptr || argv[0] == nullptr || argv[0][0] == '\0') {
    return "chronik_server";
  }
  std::string name = std::filesystem::path(argv[0]).filename().string();
  return name.empty() ? "chronik_server" : name;
}

std::string WithEnv(const Setting& s) {
  std::string env = Cat("[env: ", s.env);
  if (s.key == "log_level") env += Cat(", ", kRustLogEnv);
  env += "]";
  // CLI11 does not wrap; keep lines of the help under about 100 columns.
  const size_t last_line = s.help.size() - (s.help.rfind('\n') + 1);
  return Cat(s.help, last_line + env.size() > 64 ? "\n" : " ", env);
}

std::string Footer() {
  std::string text =
      "Modes:\n"
      "  standalone  single-node Kafka-compatible broker (the default)\n"
      "  all         the broker with search: Kafka, search, admin API, metrics, janitor\n"
      "  ingest      Kafka, admin API, metrics and the janitor, without search\n"
      "  search      the search API over the data directory's topics, without Kafka\n"
      "  backup      back the data directory of a stopped broker up to the object store\n"
      "              (STORAGE_BACKEND and its settings), then exit\n"
      "  restore     restore the newest backup into an empty data directory, then exit\n"
      "  version     print the version and exit\n"
      "\n"
      "Environment variables (each used when its flag is not given; empty means unset):\n";
  auto row = [&](std::string_view name, std::string_view what) {
    text += Cat("  ", name, std::string(name.size() < 26 ? 26 - name.size() : 1, ' '), what, "\n");
  };
  for (const Setting& s : Settings()) row(s.env, Cat("like ", s.flag));
  row(kConfigEnv, Cat("like ", kConfigFlag));
  row(kRustLogEnv, "log level, for compatibility; CHRONIK_LOG_LEVEL wins over it. A plain");
  row("", "level (\"info\") is used; else the level of chronik modules");
  row("", "(\"chronik=debug\"); directives for other modules are ignored.");
  text +=
      Cat("\n"
          "Config file (--config FILE): TOML with top-level keys named like the flags, in\n"
          "snake_case: kafka_port, admin_port, data_dir, bind_addr, advertised_addr,\n"
          "advertised_port, metrics_port, search_port, metrics_partition_series,\n"
          "admin_auth_required, enable_search, enable_backup, backup_id, log_level,\n"
          "max_request_size. Ports and sizes are integers, metrics_partition_series,\n"
          "admin_auth_required and enable_* booleans, the rest\n"
          "strings. Unknown keys are an error. A [kafka] table holds Kafka broker\n"
          "properties, an [object_store] table the object store's settings.\n"
          "\n"
          "Precedence, per setting: command-line flag > environment variable > config file > "
          "default.\n"
          "\n"
          "Exit status: 0 after --help or --version; 2 for an invalid configuration or a\n"
          "listen address that cannot be bound, reported as one line on stderr.\n");
  return text;
}

// `--version` and the version mode: the version, commit, architecture and compile options.
std::string VersionText() {
  std::string text = BuildInfoText();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Runs CLI11. Returns the command line, or an outcome to exit with.
std::variant<CommandLine, ParseOutcome> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine cl;
  cl.program = ProgramName(argc, argv);

  CLI::App app{"Chronik: a Kafka-compatible streaming broker.", cl.program};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", VersionText(), "Print the version and exit");
  app.footer(Footer());
  app.get_formatter()->column_width(32);

  std::map<std::string_view, std::string> text_values;
  std::map<std::string_view, bool> bool_values;
  std::map<std::string_view, CLI::Option*> options;
  for (const Setting& s : Settings()) {
    if (s.kind == Kind::kBool) {
      options[s.key] = app.add_flag(std::string(s.flags), bool_values[s.key], WithEnv(s));
    } else {
      options[s.key] = app.add_option(std::string(s.flags), text_values[s.key], WithEnv(s))
                           ->type_name(std::string(s.type_name))
                           ->default_str(std::string(s.default_text));
    }
  }
  std::string config_file;
  CLI::Option* config_option =
      app.add_option(std::string(kConfigFlag), config_file,
                     Cat("TOML config file (see below) [env: ", kConfigEnv, "]"))
          ->type_name("FILE");
  app.add_option("mode", cl.mode_text, "standalone (default), all, ingest, search, backup, restore, backups or version")
      ->type_name("MODE");

  auto exit_with = [](int code, std::string message) {
    if (message.empty() || message.back() != '\n') message.push_back('\n');
    return ParseOutcome{std::nullopt, code, std::move(message)};
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return exit_with(kExitOk, app.help());
  } catch (const CLI::CallForVersion& e) {
    return exit_with(kExitOk, e.what());
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    return exit_with(kExitConfigError, Cat(cl.program, ": error: ", what, " (see --help)"));
  }

  for (const Setting& s : Settings()) {
    if (options[s.key]->count() == 0) continue;
    if (s.kind == Kind::kBool) {
      cl.layer[s.key] = Supplied{bool_values[s.key], std::string(s.flag)};
      continue;
    }
    absl::StatusOr<Value> value = FromText(s, text_values[s.key]);
    if (!value.ok()) {
      return exit_with(kExitConfigError,
                       Cat(cl.program, ": error: ", s.flag, ": ", Message(value.status())));
    }
    cl.layer[s.key] = Supplied{*std::move(value), std::string(s.flag)};
  }
  if (config_option->count() > 0) cl.config_file = config_file;
  return cl;
}

std::optional<std::string> LookupEnv(const EnvLookup& getenv, std::string_view name) {
  if (!getenv) return std::nullopt;
  std::optional<std::string> value = getenv(std::string(name));
  if (!value) return std::nullopt;
  std::string trimmed(Trim(*value));
  if (trimmed.empty()) return std::nullopt;
  return trimmed;
}

absl::StatusOr<Layer> EnvironmentLayer(const EnvLookup& getenv) {
  Layer layer;
  // RUST_LOG first, so that CHRONIK_LOG_LEVEL overrides it.
  if (std::optional<std::string> rust_log = LookupEnv(getenv, kRustLogEnv)) {
    absl::StatusOr<std::optional<LogLevel>> level = LogLevelFromRustLog(*rust_log);
    if (!level.ok()) return Problem(kRustLogEnv, Message(level.status()));
    if (*level) layer["log_level"] = Supplied{**level, std::string(kRustLogEnv)};
  }
  for (const Setting& s : Settings()) {
    std::optional<std::string> text = LookupEnv(getenv, s.env);
    if (!text) continue;
    absl::StatusOr<Value> value = FromText(s, *text);
    if (!value.ok()) return Problem(s.env, Message(value.status()));
    layer[s.key] = Supplied{*std::move(value), std::string(s.env)};
  }
  return layer;
}

// A table of the file whose values are kept as strings: [kafka] (Kafka broker properties by their
// server.properties names) and [object_store].
absl::Status StringTable(const std::string& path, const toml::node& node, std::string_view name,
                         std::map<std::string, std::string>* out) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return absl::InvalidArgumentError(Cat(path, ":", node.source().begin.line, ": ", name, " must be a table"));
  }
  for (auto&& [key, value] : *table) {
    std::string text;
    if (auto s = value.value<std::string>(); s && value.is_string()) {
      text = *s;
    } else if (value.is_integer()) {
      text = std::to_string(*value.value<int64_t>());
    } else if (value.is_boolean()) {
      text = *value.value<bool>() ? "true" : "false";
    } else {
      return absl::InvalidArgumentError(Cat(path, ":", value.source().begin.line, ": ", name, ".", key.str(),
                                            " must be a string, an integer or a boolean"));
    }
    (*out)[std::string(key.str())] = std::move(text);
  }
  return absl::OkStatus();
}

absl::StatusOr<Layer> FileLayer(const std::string& path, std::string_view path_origin,
                                std::map<std::string, std::string>* kafka_properties,
                                std::map<std::string, std::string>* object_store) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Problem(path_origin,
                   Cat("cannot read config file ", Quoted(path), ": it is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Problem(path_origin,
                   Cat("cannot read config file ", Quoted(path), ": ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return Problem(path_origin, Cat("cannot read config file ", Quoted(path)));
  }

  toml::table table;
  try {
    table = toml::parse(content.str(), path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(Cat(path, ":", e.source().begin.line, ":",
                                          e.source().begin.column,
                                          ": invalid TOML: ", e.description()));
  }

  Layer layer;
  for (auto&& [key, node] : table) {
    if (key.str() == kKafkaTable) {
      if (absl::Status s = StringTable(path, node, kKafkaTable, kafka_properties); !s.ok()) return s;
      continue;
    }
    if (key.str() == kObjectStoreTable) {
      // The environment variables' names in lower case: storage_backend = "s3", s3_bucket = ...
      std::map<std::string, std::string> table;
      if (absl::Status s = StringTable(path, node, kObjectStoreTable, &table); !s.ok()) return s;
      for (auto& [name, value] : table) {
        const std::string upper = absl::AsciiStrToUpper(name);
        if (std::find(storage::objects::kStoreSettingNames.begin(), storage::objects::kStoreSettingNames.end(), upper) ==
                storage::objects::kStoreSettingNames.end() ||
            name != absl::AsciiStrToLower(name)) {
          return absl::InvalidArgumentError(Cat(path, ": unknown key ", kObjectStoreTable, ".", Quoted(name),
                                                " (known keys: the object store's environment variables in lower "
                                                "case, such as storage_backend and s3_bucket)"));
        }
        (*object_store)[upper] = std::move(value);
      }
      continue;
    }
    const Setting* setting = FindSetting(key.str());
    if (setting == nullptr) {
      return absl::InvalidArgumentError(Cat(path, ":", key.source().begin.line, ": unknown key ",
                                            Quoted(key.str()), " (known keys: ", KnownKeys(), ")"));
    }
    std::string origin = Cat(path, ":", node.source().begin.line, ": ", setting->key);
    absl::StatusOr<Value> value = FromToml(*setting, node);
    if (!value.ok()) return Problem(origin, Message(value.status()));
    layer[setting->key] = Supplied{*std::move(value), std::move(origin)};
  }
  return layer;
}

// ---------------------------------------------------------------------------------------
// Putting it together.

// Creates the directory if needed and proves that a file can be created in it.
absl::Status CheckDataDir(const std::string& dir, std::string_view origin) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return Problem(origin, Cat(Quoted(dir), " exists but is not a directory"));
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) {
      return Problem(origin, Cat("cannot create directory ", Quoted(dir), ": ", ec.message()));
    }
  }
  const std::string probe = (fs::path(dir) / Cat(".chronik-write-probe-", ::getpid())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Problem(origin,
                   Cat("directory ", Quoted(dir), " is not writable: ", std::strerror(errno)));
  }
  const bool wrote = ::write(fd, "x", 1) == 1;
  const int write_errno = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!wrote) {
    return Problem(
        origin, Cat("directory ", Quoted(dir), " is not writable: ", std::strerror(write_errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> Resolve(Mode mode, const Layer& merged,
                                     std::optional<std::string> config_file) {
  ServerConfig config;
  config.mode = mode;
  config.config_file = std::move(config_file);

  auto origin = [&](std::string_view key) -> std::string {
    auto it = merged.find(key);
    if (it != merged.end()) return it->second.origin;
    return Cat(SettingFor(key).flag, " (default)");
  };
  auto port = [&](std::string_view key, uint16_t* out) {
    auto it = merged.find(key);
    if (it != merged.end()) *out = static_cast<uint16_t>(std::get<int64_t>(it->second.value));
  };
  auto string = [&](std::string_view key, std::string* out) {
    auto it = merged.find(key);
    if (it != merged.end()) *out = std::get<std::string>(it->second.value);
  };
  auto boolean = [&](std::string_view key, bool* out) {
    auto it = merged.find(key);
    if (it != merged.end()) *out = std::get<bool>(it->second.value);
  };

  port("kafka_port", &config.kafka_port);
  port("admin_port", &config.admin_port);
  port("metrics_port", &config.metrics_port);
  port("search_port", &config.search_port);
  string("data_dir", &config.data_dir);
  string("bind_addr", &config.bind_addr);
  if (auto it = merged.find("advertised_addr"); it != merged.end()) {
    config.advertised_addr = std::get<std::string>(it->second.value);
  }
  boolean("enable_search", &config.enable_search);
  boolean("admin_auth_required", &config.admin_auth_required);
  boolean("metrics_partition_series", &config.metrics_partition_series);
  boolean("enable_backup", &config.enable_backup);
  if (auto it = merged.find("backup_id"); it != merged.end()) {
    // A setting that would change nothing is refused, not ignored.
    if (mode != Mode::kRestore) return Problem(origin("backup_id"), "only the restore mode restores a backup");
    config.backup_id = std::get<std::string>(it->second.value);
  }
  if (auto it = merged.find("log_level"); it != merged.end()) {
    config.log_level = std::get<LogLevel>(it->second.value);
  }
  if (auto it = merged.find("max_request_size"); it != merged.end()) {
    config.max_request_size = static_cast<int32_t>(std::get<int64_t>(it->second.value));
  }

  // The listeners share the bind address, so their ports must differ.
  const std::pair<std::string_view, uint16_t> listeners[] = {
      {"kafka_port", config.kafka_port},
      {"admin_port", config.admin_port},
      {"metrics_port", config.metrics_port},
      {"search_port", config.search_port},
  };
  for (size_t i = 0; i < std::size(listeners); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (listeners[i].second == listeners[j].second) {
        return Problem(origin(listeners[i].first),
                       Cat("port ", listeners[i].second, " is already taken by ",
                           SettingFor(listeners[j].first).flag));
      }
    }
  }

  config.advertised_port = config.kafka_port;
  port("advertised_port", &config.advertised_port);
  if (config.advertised_addr) {
    config.advertised_host = *config.advertised_addr;
  } else if (IsWildcardAddress(config.bind_addr)) {
    std::string host = HostName();
    if (host.empty()) host = "localhost";
    config.advertised_host = host;
    config.warnings.push_back(
        Cat("binding ", config.bind_addr,
            " without an advertised address: clients will be told to "
            "connect to this machine's host name \"",
            host, "\"; set --advertised-addr or CHRONIK_ADVERTISED_ADDR if they cannot reach it"));
  } else {
    config.advertised_host = config.bind_addr;
  }

  // Listing backups reads only the object store.
  if (mode != Mode::kBackups) {
    if (absl::Status s = CheckDataDir(config.data_dir, origin("data_dir")); !s.ok()) return s;
  }
  return config;
}

std::string ModeList() { return "standalone, all, ingest, search, backup, restore, backups or version"; }

}  // namespace

bool IsWildcardAddress(std::string_view host) {
  const std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return v4.s_addr == 0;
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    static const in6_addr kAny = IN6ADDR_ANY_INIT;
    return std::memcmp(&v6, &kAny, sizeof v6) == 0;
  }
  return false;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kStandalone:
      return "standalone";
    case Mode::kAll:
      return "all";
    case Mode::kIngest:
      return "ingest";
    case Mode::kSearch:
      return "search";
    case Mode::kBackup:
      return "backup";
    case Mode::kRestore:
      return "restore";
    case Mode::kBackups:
      return "backups";
    case Mode::kVersion:
      return "version";
  }
  return "unknown";
}

std::optional<Mode> ParseMode(std::string_view name) {
  for (Mode mode : {Mode::kStandalone, Mode::kAll, Mode::kIngest, Mode::kSearch, Mode::kBackup, Mode::kRestore,
                    Mode::kBackups, Mode::kVersion}) {
    if (name == ModeName(mode)) return mode;
  }
  return std::nullopt;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ParseOutcome ParseServerConfig(int argc, const char* const* argv, const EnvLookup& getenv) {
  const std::string program = ProgramName(argc, argv);
  auto error = [&](std::string_view message) {
    return ParseOutcome{std::nullopt, kExitConfigError, Cat(program, ": error: ", message, "\n")};
  };
  try {
    std::variant<CommandLine, ParseOutcome> parsed = ParseCommandLine(argc, argv);
    if (auto* outcome = std::get_if<ParseOutcome>(&parsed)) return std::move(*outcome);
    CommandLine& cl = std::get<CommandLine>(parsed);

    Mode mode = Mode::kStandalone;
    if (!cl.mode_text.empty()) {
      std::optional<Mode> named = ParseMode(cl.mode_text);
      if (!named) {
        return error(Cat("unknown mode ", Quoted(cl.mode_text), " (expected ", ModeList(), ")"));
      }
      mode = *named;
    }
    if (mode == Mode::kVersion) {
      return ParseOutcome{std::nullopt, kExitOk, Cat(VersionText(), "\n")};
    }

    absl::StatusOr<Layer> env = EnvironmentLayer(getenv);
    if (!env.ok()) return error(Message(env.status()));

    std::optional<std::string> config_file = cl.config_file;
    std::string config_origin(kConfigFlag);
    if (!config_file) {
      config_file = LookupEnv(getenv, kConfigEnv);
      config_origin = std::string(kConfigEnv);
    }
    if (config_file && config_file->empty()) {
      return error(Cat(config_origin, ": must not be empty"));
    }
    Layer merged;
    std::map<std::string, std::string> kafka_properties;
    storage::objects::StoreSettings object_store;
    if (config_file) {
      absl::StatusOr<Layer> file = FileLayer(*config_file, config_origin, &kafka_properties, &object_store);
      if (!file.ok()) return error(Message(file.status()));
      merged = *std::move(file);
    }
    for (auto& [key, supplied] : *env) merged[key] = std::move(supplied);
    for (auto& [key, supplied] : cl.layer) merged[key] = std::move(supplied);

    absl::StatusOr<ServerConfig> config = Resolve(mode, merged, std::move(config_file));
    if (!config.ok()) return error(Message(config.status()));
    config->kafka_properties = std::move(kafka_properties);
    // name:secret, from the environment only.
    auto name_and_secret = [&](const char* var) -> absl::StatusOr<std::optional<std::pair<std::string, std::string>>> {
      std::optional<std::string> v = LookupEnv(getenv, var);
      if (!v.has_value()) return std::nullopt;
      const size_t colon = v->find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == v->size()) {
        return absl::InvalidArgumentError(Cat(var, ": expected name:", std::string_view(var).ends_with("USER") ? "password" : "token"));
      }
      return std::make_pair(v->substr(0, colon), v->substr(colon + 1));
    };
    auto bootstrap = name_and_secret("CHRONIK_BOOTSTRAP_USER");
    if (!bootstrap.ok()) return error(std::string(bootstrap.status().message()));
    if (bootstrap->has_value()) config->bootstrap_user = BootstrapUser{(*bootstrap)->first, (*bootstrap)->second};
    auto token = name_and_secret("CHRONIK_ADMIN_TOKEN");
    if (!token.ok()) return error(std::string(token.status().message()));
    if (token->has_value()) config->admin_token = AdminToken{(*token)->first, (*token)->second};
    // The object store's settings: the environment over the file, where [object_store] and the
    // Kafka-style names in [kafka] (rsm.config.s3.bucket) are two spellings of one setting.
    for (std::string_view name : storage::objects::kStoreSettingNames) {
      const std::string kafka_name = storage::objects::KafkaStyleName(name);
      if (auto it = config->kafka_properties.find(kafka_name); it != config->kafka_properties.end()) {
        auto [given, inserted] = object_store.emplace(std::string(name), it->second);
        if (!inserted && given->second != it->second) {
          return error(Cat(config_origin, ": kafka.", kafka_name, " and object_store.", absl::AsciiStrToLower(std::string(name)),
                           " are the same setting with two values; keep one"));
        }
      }
      if (std::optional<std::string> v = LookupEnv(getenv, name)) object_store[std::string(name)] = *v;
    }
    config->object_store = std::move(object_store);
    return ParseOutcome{*std::move(config), kExitOk, ""};
  } catch (const std::exception& e) {
    return error(Cat("internal error while reading the configuration: ", e.what()));
  }
}

void WriteOutcomeMessage(const ParseOutcome& outcome, std::ostream& out, std::ostream& err) {
  std::ostream& stream = outcome.exit_code == kExitOk ? out : err;
  stream << outcome.message;
  stream.flush();
}

std::string DescribeConfig(const ServerConfig& config) {
  return Cat("mode=", ModeName(config.mode), " kafka_port=", config.kafka_port,
             " admin_port=", config.admin_port, " metrics_port=", config.metrics_port,
             " search_port=", config.search_port,
             " bind_addr=", config.bind_addr, " advertised=", common::BracketedHost(config.advertised_host),
             ":", config.advertised_port, " data_dir=", config.data_dir,
             " log_level=", LogLevelName(config.log_level),
             " enable_search=", config.enable_search ? "true" : "false",
             " enable_backup=", config.enable_backup ? "true" : "false",
             " max_request_size=", config.max_request_size,
             " config_file=", config.config_file ? *config.config_file : "(none)");
}

}  // namespace chronik::config
