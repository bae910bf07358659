#include "chronik_config/server_config.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "chronik_config/log_level.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/util/unprivileged.h"

namespace chronik::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

using Env = std::map<std::string, std::string>;

std::string HostName() {
  char name[256] = {};
  EXPECT_EQ(gethostname(name, sizeof name - 1), 0);
  return name;
}

// Every test runs in a fresh temporary directory of its own, which is also the working
// directory, so that the default data dir "./data" lands there.
class ServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/chronik_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    dir_ = pattern;
    old_cwd_ = fs::current_path();
    fs::current_path(dir_);
  }

  void TearDown() override {
    fs::current_path(old_cwd_);
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    for (const auto& entry : fs::recursive_directory_iterator(dir_, ec)) {
      if (entry.is_directory())
        fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(dir_, ec);
  }

  // Runs ParseServerConfig on "chronik_server <args...>" with exactly `env` as environment.
  static ParseOutcome Parse(const std::vector<std::string>& args, const Env& env = {}) {
    std::vector<const char*> argv = {"chronik_server"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    EnvLookup lookup = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return ParseServerConfig(static_cast<int>(argv.size() - 1), argv.data(), lookup);
  }

  // Parses and expects success.
  static ServerConfig Ok(const std::vector<std::string>& args, const Env& env = {}) {
    ParseOutcome outcome = Parse(args, env);
    EXPECT_TRUE(outcome.config.has_value()) << outcome.message;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.message, "");
    if (!outcome.config) return ServerConfig{};
    return *outcome.config;
  }

  // Parses and expects a configuration error; returns its message without the
  // "chronik_server: error: " prefix and the final newline, having checked both.
  static std::string Error(const std::vector<std::string>& args, const Env& env = {}) {
    ParseOutcome outcome = Parse(args, env);
    EXPECT_FALSE(outcome.config.has_value());
    EXPECT_EQ(outcome.exit_code, 2);
    const std::string prefix = "chronik_server: error: ";
    EXPECT_THAT(outcome.message, StartsWith(prefix));
    EXPECT_EQ(std::count(outcome.message.begin(), outcome.message.end(), '\n'), 1)
        << "not one line: " << outcome.message;
    EXPECT_EQ(outcome.message.back(), '\n');
    if (outcome.message.size() < prefix.size() + 1) return outcome.message;
    return outcome.message.substr(prefix.size(), outcome.message.size() - prefix.size() - 1);
  }

  std::string Path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  std::string WriteFile(const std::string& name, const std::string& content) const {
    std::ofstream out(Path(name), std::ios::binary);
    out << content;
    return Path(name);
  }

  std::string dir_;
  fs::path old_cwd_;
};

// --- Defaults, flags, environment, file -------------------------------------------------

TEST_F(ServerConfigTest, Defaults) {
  ServerConfig config = Ok({});
  EXPECT_EQ(config.mode, Mode::kStandalone);
  EXPECT_EQ(config.kafka_port, 9092);
  EXPECT_EQ(config.admin_port, 3000);
  EXPECT_EQ(config.metrics_port, 9090);
  EXPECT_EQ(config.data_dir, "./data");
  EXPECT_EQ(config.bind_addr, "0.0.0.0");
  EXPECT_EQ(config.advertised_addr, std::nullopt);
  EXPECT_FALSE(config.enable_search);
  EXPECT_FALSE(config.enable_backup);
  EXPECT_TRUE(config.metrics_partition_series);
  EXPECT_EQ(config.log_level, LogLevel::kInfo);
  EXPECT_EQ(config.max_request_size, 104857600);
  EXPECT_EQ(config.config_file, std::nullopt);
  EXPECT_EQ(config.advertised_host, HostName());
  EXPECT_EQ(config.advertised_port, 9092);
  EXPECT_THAT(config.warnings, SizeIs(1));
  EXPECT_TRUE(fs::is_directory(Path("data")));
}

TEST_F(ServerConfigTest, DefaultsMatchTheConstants) {
  ServerConfig config;
  EXPECT_EQ(config.kafka_port, kDefaultKafkaPort);
  EXPECT_EQ(config.admin_port, kDefaultAdminPort);
  EXPECT_EQ(config.metrics_port, kDefaultMetricsPort);
  EXPECT_EQ(config.data_dir, kDefaultDataDir);
  EXPECT_EQ(config.bind_addr, kDefaultBindAddr);
  EXPECT_EQ(config.log_level, kDefaultLogLevel);
  EXPECT_EQ(config.max_request_size, kDefaultMaxRequestSize);
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitConfigError, 2);
}

TEST_F(ServerConfigTest, NoEnvironmentLookupAtAll) {
  std::vector<const char*> argv = {"chronik_server", "--kafka-port", "9500", nullptr};
  ParseOutcome outcome = ParseServerConfig(3, argv.data(), EnvLookup());
  ASSERT_TRUE(outcome.config) << outcome.message;
  EXPECT_EQ(outcome.config->kafka_port, 9500);
}

TEST_F(ServerConfigTest, EveryLongFlag) {
  ServerConfig config = Ok({"--kafka-port",       "9101",
                            "--admin-port",       "3001",
                            "--data-dir",         Path("d"),
                            "--bind-addr",        "127.0.0.1",
                            "--advertised-addr",  "kafka.example.com",
                            "--advertised-port",  "19092",
                            "--metrics-port",     "9191",
                            "--enable-search",    "--enable-backup",
                            "--log-level",        "debug",
                            "--max-request-size", "1048576"});
  EXPECT_EQ(config.kafka_port, 9101);
  EXPECT_EQ(config.admin_port, 3001);
  EXPECT_EQ(config.data_dir, Path("d"));
  EXPECT_EQ(config.bind_addr, "127.0.0.1");
  EXPECT_EQ(config.advertised_addr, "kafka.example.com");
  EXPECT_EQ(config.advertised_host, "kafka.example.com");
  EXPECT_EQ(config.advertised_port, 19092);
  EXPECT_EQ(config.metrics_port, 9191);
  EXPECT_TRUE(config.enable_search);
  EXPECT_TRUE(config.enable_backup);
  EXPECT_EQ(config.log_level, LogLevel::kDebug);
  EXPECT_EQ(config.max_request_size, 1048576);
  EXPECT_THAT(config.warnings, IsEmpty());
  EXPECT_TRUE(fs::is_directory(Path("d")));
}

TEST_F(ServerConfigTest, ShortFlags) {
  ServerConfig config = Ok({"-p", "9101", "-a", "3001", "-d", Path("d"), "-b", "127.0.0.1"});
  EXPECT_EQ(config.kafka_port, 9101);
  EXPECT_EQ(config.admin_port, 3001);
  EXPECT_EQ(config.data_dir, Path("d"));
  EXPECT_EQ(config.bind_addr, "127.0.0.1");
}

TEST_F(ServerConfigTest, FlagsWithEqualsAndAttachedShortValues) {
  ServerConfig config = Ok({"--kafka-port=9101", "-a3001", "--log-level=TRACE"});
  EXPECT_EQ(config.kafka_port, 9101);
  EXPECT_EQ(config.admin_port, 3001);
  EXPECT_EQ(config.log_level, LogLevel::kTrace);
}

TEST_F(ServerConfigTest, RepeatedFlagLastWins) {
  EXPECT_EQ(Ok({"-p", "9101", "--kafka-port", "9102"}).kafka_port, 9102);
}

TEST_F(ServerConfigTest, FlagsMayFollowTheMode) {
  ServerConfig config = Ok({"all", "--kafka-port", "9101"});
  EXPECT_EQ(config.mode, Mode::kAll);
  EXPECT_EQ(config.kafka_port, 9101);
}

TEST_F(ServerConfigTest, EnableFlagsCanBeTurnedOffExplicitly) {
  ServerConfig config = Ok({"--enable-search=false", "--enable-backup=false"},
                           {{"CHRONIK_ENABLE_SEARCH", "true"}, {"CHRONIK_ENABLE_BACKUP", "1"}});
  EXPECT_FALSE(config.enable_search);
  EXPECT_FALSE(config.enable_backup);
  EXPECT_TRUE(config.metrics_partition_series);
}

TEST_F(ServerConfigTest, EveryEnvironmentVariable) {
  ServerConfig config = Ok({}, {{"CHRONIK_KAFKA_PORT", "9101"},
                                {"CHRONIK_ADMIN_PORT", "3001"},
                                {"CHRONIK_DATA_DIR", Path("d")},
                                {"CHRONIK_BIND_ADDR", "127.0.0.1"},
                                {"CHRONIK_ADVERTISED_ADDR", "kafka.example.com"},
                                {"CHRONIK_ADVERTISED_PORT", "19092"},
                                {"CHRONIK_METRICS_PORT", "9191"},
                                {"CHRONIK_ENABLE_SEARCH", "true"},
                                {"CHRONIK_ENABLE_BACKUP", "yes"},
                                {"CHRONIK_LOG_LEVEL", "warn"},
                                {"CHRONIK_MAX_REQUEST_SIZE", "2048"}});
  EXPECT_EQ(config.kafka_port, 9101);
  EXPECT_EQ(config.admin_port, 3001);
  EXPECT_EQ(config.data_dir, Path("d"));
  EXPECT_EQ(config.bind_addr, "127.0.0.1");
  EXPECT_EQ(config.advertised_host, "kafka.example.com");
  EXPECT_EQ(config.advertised_port, 19092);
  EXPECT_EQ(config.metrics_port, 9191);
  EXPECT_TRUE(config.enable_search);
  EXPECT_TRUE(config.enable_backup);
  EXPECT_EQ(config.log_level, LogLevel::kWarn);
  EXPECT_EQ(config.max_request_size, 2048);
  EXPECT_EQ(config.config_file, std::nullopt);
}

TEST_F(ServerConfigTest, EnvironmentBooleanSpellings) {
  for (const char* yes : {"true", "TRUE", "1", "yes", "on", "On"}) {
    EXPECT_TRUE(Ok({}, {{"CHRONIK_ENABLE_SEARCH", yes}}).enable_search) << yes;
  }
  for (const char* no : {"false", "False", "0", "no", "off"}) {
    EXPECT_FALSE(Ok({}, {{"CHRONIK_ENABLE_SEARCH", no}}).enable_search) << no;
  }
}

TEST_F(ServerConfigTest, EmptyEnvironmentValuesAreUnsetAndValuesAreTrimmed) {
  ServerConfig config = Ok({}, {{"CHRONIK_KAFKA_PORT", ""},
                                {"CHRONIK_ADVERTISED_ADDR", "  "},
                                {"CHRONIK_ADMIN_PORT", " 3001\n"},
                                {"RUST_LOG", ""}});
  EXPECT_EQ(config.kafka_port, 9092);
  EXPECT_EQ(config.advertised_addr, std::nullopt);
  EXPECT_EQ(config.admin_port, 3001);
  EXPECT_EQ(config.log_level, LogLevel::kInfo);
}

TEST_F(ServerConfigTest, TomlFileWithEveryKey) {
  const std::string file = WriteFile("chronik.toml",
                                     "# a comment\n"
                                     "kafka_port = 9101\n"
                                     "admin_port = 3001\n"
                                     "data_dir = \"" +
                                         Path("d") +
                                         "\"\n"
                                         "bind_addr = \"127.0.0.1\"\n"
                                         "advertised_addr = \"kafka.example.com\"\n"
                                         "advertised_port = 19092\n"
                                         "metrics_port = 9191\n"
                                         "enable_search = true\n"
                                         "enable_backup = true\n"
                                         "log_level = \"trace\"\n"
                                         "max_request_size = 4096\n");
  ServerConfig config = Ok({"--config", file});
  EXPECT_EQ(config.kafka_port, 9101);
  EXPECT_EQ(config.admin_port, 3001);
  EXPECT_EQ(config.data_dir, Path("d"));
  EXPECT_EQ(config.bind_addr, "127.0.0.1");
  EXPECT_EQ(config.advertised_host, "kafka.example.com");
  EXPECT_EQ(config.advertised_port, 19092);
  EXPECT_EQ(config.metrics_port, 9191);
  EXPECT_TRUE(config.enable_search);
  EXPECT_TRUE(config.enable_backup);
  EXPECT_EQ(config.log_level, LogLevel::kTrace);
  EXPECT_EQ(config.max_request_size, 4096);
  EXPECT_EQ(config.config_file, file);
}

TEST_F(ServerConfigTest, EmptyTomlFileChangesNothing) {
  const std::string file = WriteFile("empty.toml", "");
  ServerConfig config = Ok({"--config", file});
  EXPECT_EQ(config.kafka_port, 9092);
  EXPECT_EQ(config.config_file, file);
}

TEST_F(ServerConfigTest, BackupIdOnlyForRestore) {
  EXPECT_EQ(Ok({"restore", "--backup-id", "20261130T000000.000Z"}).backup_id, "20261130T000000.000Z");
  EXPECT_FALSE(Ok({"restore"}).backup_id.has_value());
  EXPECT_NE(Error({"--backup-id", "x"}).find("only the restore mode restores a backup"), std::string::npos)
      << Error({"--backup-id", "x"});
  EXPECT_EQ(Ok({"restore"}, {{"CHRONIK_BACKUP_ID", "b1"}}).backup_id, "b1");
}

TEST_F(ServerConfigTest, ObjectStoreFromTheFileAndTheEnvironment) {
  const std::string file = WriteFile("store.toml",
                                     "[object_store]\n"
                                     "storage_backend = \"s3\"\n"
                                     "s3_bucket = \"from-file\"\n"
                                     "s3_region = \"eu-west-1\"\n");
  ServerConfig config = Ok({"--config", file}, {{"S3_BUCKET", "from-env"}, {"AWS_SECRET_ACCESS_KEY", "x"}});
  EXPECT_EQ(config.object_store["STORAGE_BACKEND"], "s3");
  EXPECT_EQ(config.object_store["S3_BUCKET"], "from-env");  // the environment wins
  EXPECT_EQ(config.object_store["S3_REGION"], "eu-west-1");
  EXPECT_EQ(config.object_store["AWS_SECRET_ACCESS_KEY"], "x");
  EXPECT_EQ(config.object_store.count("AZURE_CONTAINER"), 0u);
  const std::string bad = WriteFile("bad.toml", "[object_store]\nbucket = \"b\"\n");
  EXPECT_NE(Error({"--config", bad}).find("unknown key object_store.\"bucket\""), std::string::npos)
      << Error({"--config", bad});
}

// Kafka's convention (remote.log.storage.manager.impl.prefix "rsm.config.") spells the same
// settings in [kafka]; the environment still wins, and two different values in the file are refused.
TEST_F(ServerConfigTest, ObjectStoreByKafkaStyleNames) {
  const std::string file = WriteFile("kafka-style.toml",
                                     "[kafka]\n"
                                     "\"rsm.config.storage.backend\" = \"s3\"\n"
                                     "\"rsm.config.s3.bucket\" = \"from-kafka\"\n"
                                     "\"rsm.config.s3.region\" = \"eu-west-1\"\n"
                                     "\"rsm.config.aws.secret.access.key\" = \"k\"\n"
                                     "[object_store]\n"
                                     "s3_region = \"eu-west-1\"\n");
  ServerConfig config = Ok({"--config", file}, {{"AWS_SECRET_ACCESS_KEY", "from-env"}});
  EXPECT_EQ(config.object_store["STORAGE_BACKEND"], "s3");
  EXPECT_EQ(config.object_store["S3_BUCKET"], "from-kafka");
  EXPECT_EQ(config.object_store["S3_REGION"], "eu-west-1");  // the same value twice is one setting
  EXPECT_EQ(config.object_store["AWS_SECRET_ACCESS_KEY"], "from-env");
  const std::string twice = WriteFile("twice.toml",
                                      "[kafka]\n\"rsm.config.s3.bucket\" = \"a\"\n[object_store]\ns3_bucket = \"b\"\n");
  EXPECT_NE(Error({"--config", twice})
                .find("kafka.rsm.config.s3.bucket and object_store.s3_bucket are the same setting with two values"),
            std::string::npos)
      << Error({"--config", twice});
  EXPECT_EQ(storage::objects::KafkaStyleName("AWS_SECRET_ACCESS_KEY"), "rsm.config.aws.secret.access.key");
}

TEST_F(ServerConfigTest, ConfigFileFromEnvironmentAndFlagWins) {
  const std::string a = WriteFile("a.toml", "kafka_port = 9101\n");
  const std::string b = WriteFile("b.toml", "kafka_port = 9102\n");
  EXPECT_EQ(Ok({}, {{"CHRONIK_CONFIG", a}}).kafka_port, 9101);
  ServerConfig config = Ok({"--config", b}, {{"CHRONIK_CONFIG", a}});
  EXPECT_EQ(config.kafka_port, 9102);
  EXPECT_EQ(config.config_file, b);
}

// --- Precedence: flag > env > file > default, for every setting -------------------------

struct PrecedenceCase {
  std::string key;         // TOML key
  std::string env;         // environment variable
  std::string file_value;  // TOML literal
  std::string env_value;
  std::vector<std::string> flag;  // command-line arguments
  std::function<std::string(const ServerConfig&)> get;
  std::string want_default, want_file, want_env, want_flag;
};

TEST_F(ServerConfigTest, PrecedencePerSetting) {
  auto num = [](auto v) { return std::to_string(v); };
  const std::vector<PrecedenceCase> cases = {
      {"kafka_port",
       "CHRONIK_KAFKA_PORT",
       "9101",
       "9102",
       {"--kafka-port", "9103"},
       [&](const ServerConfig& c) { return num(c.kafka_port); },
       "9092",
       "9101",
       "9102",
       "9103"},
      {"admin_port",
       "CHRONIK_ADMIN_PORT",
       "3001",
       "3002",
       {"--admin-port", "3003"},
       [&](const ServerConfig& c) { return num(c.admin_port); },
       "3000",
       "3001",
       "3002",
       "3003"},
      {"metrics_port",
       "CHRONIK_METRICS_PORT",
       "9191",
       "9192",
       {"--metrics-port", "9193"},
       [&](const ServerConfig& c) { return num(c.metrics_port); },
       "9090",
       "9191",
       "9192",
       "9193"},
      {"advertised_port",
       "CHRONIK_ADVERTISED_PORT",
       "1001",
       "1002",
       {"--advertised-port", "1003"},
       [&](const ServerConfig& c) { return num(c.advertised_port); },
       "9092",
       "1001",
       "1002",
       "1003"},
      {"data_dir",
       "CHRONIK_DATA_DIR",
       "\"" + Path("file") + "\"",
       Path("env"),
       {"--data-dir", Path("flag")},
       [](const ServerConfig& c) { return c.data_dir; },
       "./data",
       Path("file"),
       Path("env"),
       Path("flag")},
      {"bind_addr",
       "CHRONIK_BIND_ADDR",
       "\"127.0.0.1\"",
       "127.0.0.2",
       {"--bind-addr", "127.0.0.3"},
       [](const ServerConfig& c) { return c.bind_addr; },
       "0.0.0.0",
       "127.0.0.1",
       "127.0.0.2",
       "127.0.0.3"},
      {"advertised_addr",
       "CHRONIK_ADVERTISED_ADDR",
       "\"file.example\"",
       "env.example",
       {"--advertised-addr", "flag.example"},
       [](const ServerConfig& c) { return c.advertised_addr.value_or("(unset)"); },
       "(unset)",
       "file.example",
       "env.example",
       "flag.example"},
      {"enable_search",
       "CHRONIK_ENABLE_SEARCH",
       "true",
       "false",
       {"--enable-search"},
       [](const ServerConfig& c) { return std::string(c.enable_search ? "on" : "off"); },
       "off",
       "on",
       "off",
       "on"},
      {"enable_backup",
       "CHRONIK_ENABLE_BACKUP",
       "true",
       "false",
       {"--enable-backup"},
       [](const ServerConfig& c) { return std::string(c.enable_backup ? "on" : "off"); },
       "off",
       "on",
       "off",
       "on"},
      {"log_level",
       "CHRONIK_LOG_LEVEL",
       "\"debug\"",
       "trace",
       {"--log-level", "error"},
       [](const ServerConfig& c) { return std::string(LogLevelName(c.log_level)); },
       "info",
       "debug",
       "trace",
       "error"},
      {"max_request_size",
       "CHRONIK_MAX_REQUEST_SIZE",
       "1000",
       "2000",
       {"--max-request-size", "3000"},
       [&](const ServerConfig& c) { return num(c.max_request_size); },
       "104857600",
       "1000",
       "2000",
       "3000"},
  };
  const std::string file = WriteFile("p.toml", "");
  for (const PrecedenceCase& c : cases) {
    WriteFile("p.toml", c.key + " = " + c.file_value + "\n");
    for (int mask = 0; mask < 8; ++mask) {
      const bool use_file = mask & 1, use_env = mask & 2, use_flag = mask & 4;
      std::vector<std::string> args;
      Env env;
      if (use_file) args = {"--config", file};
      if (use_env) env[c.env] = c.env_value;
      if (use_flag) args.insert(args.end(), c.flag.begin(), c.flag.end());
      const std::string want = use_flag   ? c.want_flag
                               : use_env  ? c.want_env
                               : use_file ? c.want_file
                                          : c.want_default;
      SCOPED_TRACE(c.key + " file=" + std::to_string(use_file) + " env=" + std::to_string(use_env) +
                   " flag=" + std::to_string(use_flag));
      EXPECT_EQ(c.get(Ok(args, env)), want);
    }
  }
}

TEST_F(ServerConfigTest, PrecedenceIsDecidedPerSettingNotPerSource) {
  const std::string file = WriteFile("c.toml",
                                     "kafka_port = 9101\n"
                                     "admin_port = 3001\n"
                                     "metrics_port = 9191\n"
                                     "log_level = \"debug\"\n");
  ServerConfig config = Ok({"--config", file, "--metrics-port", "9193"},
                           {{"CHRONIK_ADMIN_PORT", "3002"}, {"CHRONIK_METRICS_PORT", "9192"}});
  EXPECT_EQ(config.kafka_port, 9101);                          // file
  EXPECT_EQ(config.admin_port, 3002);                          // env over file
  EXPECT_EQ(config.metrics_port, 9193);                        // flag over env and file
  EXPECT_EQ(config.log_level, LogLevel::kDebug);               // file
  EXPECT_EQ(config.max_request_size, kDefaultMaxRequestSize);  // default
}

TEST_F(ServerConfigTest, AdvertisedPortFollowsTheKafkaPortFromAnySource) {
  EXPECT_EQ(Ok({"-p", "9101"}).advertised_port, 9101);
  EXPECT_EQ(Ok({}, {{"CHRONIK_KAFKA_PORT", "9102"}}).advertised_port, 9102);
  EXPECT_EQ(Ok({"--config", WriteFile("k.toml", "kafka_port = 9103\n")}).advertised_port, 9103);
}

// --- RUST_LOG ---------------------------------------------------------------------------

TEST_F(ServerConfigTest, RustLogForms) {
  const std::vector<std::pair<std::string, LogLevel>> cases = {
      {"info", LogLevel::kInfo},
      {"DEBUG", LogLevel::kDebug},
      {" error ", LogLevel::kError},
      {"chronik=debug,info", LogLevel::kInfo},  // the plain level wins
      {"warn,chronik=trace", LogLevel::kWarn},
      {"info,warn", LogLevel::kWarn},                             // last plain level
      {"chronik_server=debug", LogLevel::kDebug},                 // only chronik modules: theirs
      {"chronik=debug,chronik_storage=trace", LogLevel::kTrace},  // the most verbose
      {"chronik::net=warn", LogLevel::kWarn},
      {"chronik", LogLevel::kTrace},                 // bare module name: everything
      {"hyper=trace", LogLevel::kInfo},              // other modules only: default
      {"hyper=trace,tokio=bogus", LogLevel::kInfo},  // their levels are not ours to judge
      {"hyper=trace,debug", LogLevel::kDebug},
      {"info/some.*regex", LogLevel::kInfo},  // message filter ignored
      {"trace,,", LogLevel::kTrace},
  };
  for (const auto& [rust_log, want] : cases) {
    EXPECT_EQ(Ok({}, {{"RUST_LOG", rust_log}}).log_level, want) << "RUST_LOG=" << rust_log;
  }
}

TEST_F(ServerConfigTest, RustLogPrecedence) {
  const std::string file = WriteFile("l.toml", "log_level = \"error\"\n");
  EXPECT_EQ(Ok({"--config", file}, {{"RUST_LOG", "debug"}}).log_level, LogLevel::kDebug);
  EXPECT_EQ(Ok({}, {{"RUST_LOG", "debug"}, {"CHRONIK_LOG_LEVEL", "warn"}}).log_level,
            LogLevel::kWarn);
  EXPECT_EQ(Ok({"--log-level", "trace"}, {{"RUST_LOG", "debug"}}).log_level, LogLevel::kTrace);
  // A RUST_LOG that names no level of ours leaves the file's level in place.
  EXPECT_EQ(Ok({"--config", file}, {{"RUST_LOG", "hyper=trace"}}).log_level, LogLevel::kError);
}

TEST_F(ServerConfigTest, RustLogErrors) {
  EXPECT_EQ(Error({}, {{"RUST_LOG", "verbose"}}),
            "RUST_LOG: unknown log level \"verbose\" (expected error, warn, info, debug or trace)");
  EXPECT_EQ(Error({}, {{"RUST_LOG", "off"}}),
            "RUST_LOG: unknown log level \"off\" (expected error, warn, info, debug or trace)");
  EXPECT_EQ(Error({}, {{"RUST_LOG", "info,chronik=loud"}}),
            "RUST_LOG: unknown log level \"loud\" (expected error, warn, info, debug or trace)");
}

TEST(LogLevelTest, NamesRoundTrip) {
  for (LogLevel level :
       {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug, LogLevel::kTrace}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(level)), level);
  }
  EXPECT_EQ(ParseLogLevel("Warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("warning"), std::nullopt);
  EXPECT_EQ(ParseLogLevel(""), std::nullopt);
}

TEST(LogLevelTest, RustLogDirectly) {
  absl::StatusOr<std::optional<LogLevel>> empty = LogLevelFromRustLog("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::nullopt);
  absl::StatusOr<std::optional<LogLevel>> other = LogLevelFromRustLog("hyper=debug");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, std::nullopt);
  absl::StatusOr<std::optional<LogLevel>> mixed = LogLevelFromRustLog("chronik=debug,info");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, LogLevel::kInfo);
  EXPECT_FALSE(LogLevelFromRustLog("off").ok());
}

// --- Validation: one line, naming the setting, exit code 2 ------------------------------

TEST_F(ServerConfigTest, PortFlagErrors) {
  for (const char* flag : {"--kafka-port", "--admin-port", "--metrics-port", "--advertised-port"}) {
    SCOPED_TRACE(flag);
    const std::string f = flag;
    EXPECT_EQ(Error({f, "0"}), f + ": 0 is out of range (expected a port 1-65535)");
    EXPECT_EQ(Error({f, "65536"}), f + ": 65536 is out of range (expected a port 1-65535)");
    EXPECT_EQ(Error({f, "99999999999999999999999"}),
              f + ": 99999999999999999999999 is out of range (expected a port 1-65535)");
    EXPECT_EQ(Error({f, "abc"}), f + ": \"abc\" is not a port number (expected 1-65535)");
    EXPECT_EQ(Error({f + "=-1"}), f + ": \"-1\" is not a port number (expected 1-65535)");
    EXPECT_EQ(Error({f, "90 92"}), f + ": \"90 92\" is not a port number (expected 1-65535)");
  }
  EXPECT_EQ(Ok({"-p", "65535"}).kafka_port, 65535);
  EXPECT_EQ(Ok({"-p", "1"}).kafka_port, 1);
}

TEST_F(ServerConfigTest, PortEnvironmentErrors) {
  for (const char* var : {"CHRONIK_KAFKA_PORT", "CHRONIK_ADMIN_PORT", "CHRONIK_METRICS_PORT",
                          "CHRONIK_ADVERTISED_PORT"}) {
    SCOPED_TRACE(var);
    const std::string v = var;
    EXPECT_EQ(Error({}, {{v, "abc"}}), v + ": \"abc\" is not a port number (expected 1-65535)");
    EXPECT_EQ(Error({}, {{v, "9092x"}}), v + ": \"9092x\" is not a port number (expected 1-65535)");
    EXPECT_EQ(Error({}, {{v, "70000"}}), v + ": 70000 is out of range (expected a port 1-65535)");
  }
}

TEST_F(ServerConfigTest, EvenAnOverriddenBadValueIsAnError) {
  EXPECT_EQ(Error({"--kafka-port", "9101"}, {{"CHRONIK_KAFKA_PORT", "abc"}}),
            "CHRONIK_KAFKA_PORT: \"abc\" is not a port number (expected 1-65535)");
}

TEST_F(ServerConfigTest, OtherValueErrors) {
  EXPECT_EQ(Error({"--log-level", "loud"}),
            "--log-level: unknown log level \"loud\" (expected error, warn, info, debug or trace)");
  EXPECT_EQ(Error({}, {{"CHRONIK_LOG_LEVEL", "warning"}}),
            "CHRONIK_LOG_LEVEL: unknown log level \"warning\" (expected error, warn, info, debug "
            "or trace)");
  EXPECT_EQ(Error({"--max-request-size", "0"}),
            "--max-request-size: 0 is out of range (expected 1-2147483647 bytes)");
  EXPECT_EQ(Error({"--max-request-size", "2147483648"}),
            "--max-request-size: 2147483648 is out of range (expected 1-2147483647 bytes)");
  EXPECT_EQ(Error({}, {{"CHRONIK_MAX_REQUEST_SIZE", "1MB"}}),
            "CHRONIK_MAX_REQUEST_SIZE: \"1MB\" is not a number of bytes (expected 1-2147483647)");
  EXPECT_EQ(Error({}, {{"CHRONIK_ENABLE_BACKUP", "maybe"}}),
            "CHRONIK_ENABLE_BACKUP: \"maybe\" is not a boolean (expected true/false, 1/0, yes/no "
            "or on/off)");
  EXPECT_EQ(Error({"--bind-addr", "0.0.0.0:9092"}),
            "--bind-addr: \"0.0.0.0:9092\" is not a host name or IP address (give the host only; "
            "ports have their own settings)");
  EXPECT_EQ(Error({}, {{"CHRONIK_ADVERTISED_ADDR", "localhost:9092"}}),
            "CHRONIK_ADVERTISED_ADDR: \"localhost:9092\" is not a host name or IP address (give "
            "the host only; ports have their own settings)");
  EXPECT_EQ(Error({"--bind-addr", ""}), "--bind-addr: must not be empty");
  EXPECT_EQ(Error({"--advertised-addr", "my host"}),
            "--advertised-addr: \"my host\" contains whitespace");
  EXPECT_EQ(Error({"--data-dir", ""}), "--data-dir: must not be empty");
  EXPECT_EQ(Error({"--advertised-addr", "0.0.0.0"}),
            "--advertised-addr: \"0.0.0.0\" is a wildcard address that clients cannot connect to");
  EXPECT_EQ(Error({}, {{"CHRONIK_ADVERTISED_ADDR", "::"}}),
            "CHRONIK_ADVERTISED_ADDR: \"::\" is a wildcard address that clients cannot connect "
            "to");
}

TEST_F(ServerConfigTest, ListenerPortsMustDiffer) {
  EXPECT_EQ(Error({"--admin-port", "9092"}),
            "--admin-port: port 9092 is already taken by --kafka-port");
  EXPECT_EQ(Error({}, {{"CHRONIK_METRICS_PORT", "3000"}}),
            "CHRONIK_METRICS_PORT: port 3000 is already taken by --admin-port");
  EXPECT_EQ(Error({"-p", "9090"}),
            "--metrics-port (default): port 9090 is already taken by --kafka-port");
  // The advertised port is not a listener of this process.
  EXPECT_EQ(Ok({"--advertised-port", "3000"}).advertised_port, 3000);
}

TEST_F(ServerConfigTest, CommandLineSyntaxErrors) {
  EXPECT_EQ(Error({"--bogus"}), "The following argument was not expected: --bogus (see --help)");
  EXPECT_EQ(Error({"standalone", "all"}),
            "The following argument was not expected: all (see --help)");
  EXPECT_THAT(Error({"--kafka-port"}), StartsWith("--kafka-port: "));
  EXPECT_THAT(Error({"--enable-search=maybe"}), HasSubstr("--enable-search"));
  EXPECT_EQ(Error({"--config", ""}), "--config: must not be empty");
}

TEST_F(ServerConfigTest, UnknownMode) {
  EXPECT_EQ(Error({"turbo"}),
            "unknown mode \"turbo\" (expected standalone, all, ingest, search, backup, restore, backups or version)");
  EXPECT_EQ(Error({"Standalone"}),
            "unknown mode \"Standalone\" (expected standalone, all, ingest, search, backup, restore, backups or version)");
}

TEST_F(ServerConfigTest, DataDirCannotBeCreated) {
  const std::string file = WriteFile("plain-file", "x");
  EXPECT_EQ(Error({"--data-dir", file + "/sub"}),
            "--data-dir: cannot create directory \"" + file + "/sub\": Not a directory");
  EXPECT_EQ(Error({}, {{"CHRONIK_DATA_DIR", file}}),
            "CHRONIK_DATA_DIR: \"" + file + "\" exists but is not a directory");
}

TEST_F(ServerConfigTest, DefaultDataDirProblemNamesTheFlag) {
  WriteFile("data", "not a directory");
  EXPECT_EQ(Error({}), "--data-dir (default): \"./data\" exists but is not a directory");
}

TEST_F(ServerConfigTest, DataDirNotWritable) {
  chronik::testing::TraversableTempDir base;
  const std::string ro = base.path() + "/ro";
  ASSERT_TRUE(fs::create_directory(ro));
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                          fs::perms::others_exec);
  chronik::testing::DropPrivileges as_nobody;  // root would write there regardless
  EXPECT_EQ(Error({"--data-dir", ro}),
            "--data-dir: directory \"" + ro + "\" is not writable: Permission denied");
  EXPECT_THAT(Error({"--data-dir", ro + "/sub"}),
              StartsWith("--data-dir: cannot create directory \"" + ro + "/sub\": "));
}

TEST_F(ServerConfigTest, DataDirProbeLeavesNothingBehind) {
  const std::string d = Path("fresh/nested/data");
  EXPECT_EQ(Ok({"--data-dir", d}).data_dir, d);
  ASSERT_TRUE(fs::is_directory(d));
  EXPECT_TRUE(fs::is_empty(d));
}

TEST_F(ServerConfigTest, TomlErrorsNameFileLineAndKey) {
  const std::string bad = WriteFile("bad.toml", "kafka_port = 9101\n\nadmin_port = = 3\n");
  EXPECT_THAT(Error({"--config", bad}), StartsWith(bad + ":3:14: invalid TOML: "));

  const std::string unknown = WriteFile("unknown.toml", "kafka_port = 9101\nkafka_prot = 1\n");
  EXPECT_EQ(Error({"--config", unknown}),
            unknown +
                ":2: unknown key \"kafka_prot\" (known keys: kafka_port, admin_port, "
                "data_dir, bind_addr, advertised_addr, advertised_port, metrics_port, search_port, "
                "metrics_partition_series, admin_auth_required, enable_search, enable_backup, backup_id, log_level, "
            "max_request_size)");

  const std::string table = WriteFile("table.toml", "\n[server]\nkafka_port = 1\n");
  EXPECT_THAT(Error({"--config", table}), StartsWith(table + ":2: unknown key \"server\""));

  const std::string type = WriteFile("type.toml", "kafka_port = \"9101\"\n");
  EXPECT_EQ(Error({"--config", type}), type + ":1: kafka_port: expected an integer, got a string");

  const std::string range = WriteFile("range.toml", "admin_port = 1\nmetrics_port = 99999\n");
  EXPECT_EQ(Error({"--config", range}),
            range + ":2: metrics_port: 99999 is out of range (expected a port 1-65535)");

  const std::string negative = WriteFile("negative.toml", "kafka_port = -5\n");
  EXPECT_EQ(Error({"--config", negative}),
            negative + ":1: kafka_port: -5 is out of range (expected a port 1-65535)");

  const std::string level = WriteFile("level.toml", "log_level = \"loud\"\n");
  EXPECT_EQ(Error({"--config", level}),
            level +
                ":1: log_level: unknown log level \"loud\" (expected error, warn, info, "
                "debug or trace)");

  const std::string flag = WriteFile("flag.toml", "enable_search = \"yes\"\n");
  EXPECT_EQ(Error({"--config", flag}),
            flag + ":1: enable_search: expected a boolean (true or false), got a string");
}

TEST_F(ServerConfigTest, ConfigFileCannotBeRead) {
  const std::string missing = Path("missing.toml");
  EXPECT_EQ(Error({"--config", missing}),
            "--config: cannot read config file \"" + missing + "\": No such file or directory");
  EXPECT_EQ(
      Error({}, {{"CHRONIK_CONFIG", missing}}),
      "CHRONIK_CONFIG: cannot read config file \"" + missing + "\": No such file or directory");
  EXPECT_EQ(Error({"--config", dir_}),
            "--config: cannot read config file \"" + dir_ + "\": it is a directory");
}

// --- Advertised address -----------------------------------------------------------------

TEST_F(ServerConfigTest, WildcardBindWithoutAdvertisedAddrWarnsAndUsesHostName) {
  for (const char* wildcard : {"0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"}) {
    SCOPED_TRACE(wildcard);
    ServerConfig config = Ok({"--bind-addr", wildcard, "-p", "9101"});
    EXPECT_EQ(config.advertised_host, HostName());
    EXPECT_EQ(config.advertised_port, 9101);
    ASSERT_THAT(config.warnings, SizeIs(1));
    EXPECT_THAT(config.warnings[0], HasSubstr("without an advertised address"));
    EXPECT_THAT(config.warnings[0], HasSubstr("\"" + HostName() + "\""));
    EXPECT_THAT(config.warnings[0], HasSubstr("--advertised-addr"));
    EXPECT_THAT(config.warnings[0], HasSubstr("CHRONIK_ADVERTISED_ADDR"));
  }
}

TEST_F(ServerConfigTest, AdvertisedHostIsTheAdvertisedAddrOrTheBindAddr) {
  ServerConfig with = Ok({"--advertised-addr", "localhost", "--advertised-port", "19092"});
  EXPECT_EQ(with.advertised_host, "localhost");
  EXPECT_EQ(with.advertised_port, 19092);
  EXPECT_THAT(with.warnings, IsEmpty());

  ServerConfig bound = Ok({"--bind-addr", "127.0.0.1", "-p", "9101"});
  EXPECT_EQ(bound.advertised_host, "127.0.0.1");
  EXPECT_EQ(bound.advertised_port, 9101);
  EXPECT_THAT(bound.warnings, IsEmpty());

  ServerConfig v6 = Ok({"--bind-addr", "[::1]"});
  EXPECT_EQ(v6.bind_addr, "::1");
  EXPECT_EQ(v6.advertised_host, "::1");
  EXPECT_THAT(v6.warnings, IsEmpty());
}

// --- Help, version, modes ---------------------------------------------------------------

TEST_F(ServerConfigTest, HelpMentionsEveryFlagEnvironmentVariableAndKey) {
  for (const char* flag : {"--help", "-h"}) {
    // Help wins over anything wrong elsewhere.
    ParseOutcome outcome = Parse({"--kafka-port", "bad", flag}, {{"CHRONIK_ADMIN_PORT", "bad"}});
    EXPECT_FALSE(outcome.config);
    EXPECT_EQ(outcome.exit_code, 0);
    const std::string& help = outcome.message;
    EXPECT_THAT(help, StartsWith("Chronik"));
    EXPECT_THAT(help, HasSubstr("Usage: chronik_server [OPTIONS] [mode]"));
    for (const char* text :
         {"-p,--kafka-port",
          "-a,--admin-port",
          "-d,--data-dir",
          "-b,--bind-addr",
          "--advertised-addr",
          "--advertised-port",
          "--metrics-port",
          "--enable-search",
          "--enable-backup",
          "--log-level",
          "--max-request-size",
          "--config",
          "--version",
          "--help",
          "CHRONIK_KAFKA_PORT",
          "CHRONIK_ADMIN_PORT",
          "CHRONIK_DATA_DIR",
          "CHRONIK_BIND_ADDR",
          "CHRONIK_ADVERTISED_ADDR",
          "CHRONIK_ADVERTISED_PORT",
          "CHRONIK_METRICS_PORT",
          "CHRONIK_ENABLE_SEARCH",
          "CHRONIK_ENABLE_BACKUP",
          "CHRONIK_LOG_LEVEL",
          "CHRONIK_MAX_REQUEST_SIZE",
          "CHRONIK_CONFIG",
          "RUST_LOG",
          "kafka_port",
          "admin_port",
          "data_dir",
          "bind_addr",
          "advertised_addr",
          "advertised_port",
          "metrics_port",
          "enable_search",
          "enable_backup",
          "log_level",
          "max_request_size",
          "standalone",
          "all",
          "ingest",
          "search",
          "version",
          "PORT=9092",
          "PORT=3000",
          "PORT=9090",
          "PATH=./data",
          "ADDR=0.0.0.0",
          "LEVEL=info",
          "BYTES=104857600",
          "Precedence, per setting: command-line flag > environment variable > config file > "
          "default."}) {
      EXPECT_THAT(help, HasSubstr(text)) << flag;
    }
  }
}

TEST_F(ServerConfigTest, VersionFlagAndMode) {
  const std::string want = BuildInfoText();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--version"}, {"version"}, {"-p", "1", "version"}}) {
    ParseOutcome outcome = Parse(args, {{"CHRONIK_KAFKA_PORT", "bad"}});
    EXPECT_FALSE(outcome.config);
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.message, want);
  }
}

// The version text names the machine's architecture as the kernel reports it (under qemu-aarch64,
// the emulated one), so a binary built for the wrong target says so here.
TEST(BuildInfoTest, NamesVersionCommitArchitectureAndCompiler) {
  const std::string text = BuildInfoText();
  EXPECT_THAT(text, StartsWith("chronik " + std::string(kChronikVersion) + "\n"));
  EXPECT_THAT(text, HasSubstr("\ncommit: " + BuildCommit() + "\n"));
  EXPECT_FALSE(BuildCommit().empty());
  utsname host{};
  ASSERT_EQ(::uname(&host), 0);
  const std::string machine = host.machine;
  const std::string want = machine == "x86_64" ? "linux-amd64" : machine == "aarch64" ? "linux-arm64" : machine;
  EXPECT_EQ(BuildArchitecture(), want);
  EXPECT_THAT(text, HasSubstr("\narchitecture: " + want + "\n"));
  EXPECT_THAT(text, HasSubstr("\ncompiler: GCC "));
  EXPECT_THAT(text, HasSubstr("\nlinkage: "));
}

TEST_F(ServerConfigTest, EveryRunnableMode) {
  EXPECT_EQ(Ok({"standalone"}).mode, Mode::kStandalone);
  EXPECT_EQ(Ok({"all"}).mode, Mode::kAll);
  EXPECT_EQ(Ok({"ingest"}).mode, Mode::kIngest);
  EXPECT_EQ(Ok({"search"}).mode, Mode::kSearch);
}

TEST(ModeTest, NamesRoundTrip) {
  for (Mode mode : {Mode::kStandalone, Mode::kAll, Mode::kIngest, Mode::kSearch, Mode::kBackup, Mode::kRestore,
                    Mode::kBackups, Mode::kVersion}) {
    EXPECT_EQ(ParseMode(ModeName(mode)), mode);
  }
  EXPECT_EQ(ModeName(Mode::kStandalone), "standalone");
  EXPECT_EQ(ModeName(Mode::kVersion), "version");
  EXPECT_EQ(ParseMode("everything"), std::nullopt);
}

TEST_F(ServerConfigTest, ProgramNameComesFromArgv0) {
  std::vector<const char*> argv = {"/opt/chronik/bin/chronik-server", "--kafka-port", "x", nullptr};
  ParseOutcome outcome = ParseServerConfig(3, argv.data(), EnvLookup());
  EXPECT_THAT(outcome.message, StartsWith("chronik-server: error: --kafka-port: "));
}

// --- Small helpers ----------------------------------------------------------------------

TEST_F(ServerConfigTest, WriteOutcomeMessageRoutesByExitCode) {
  std::ostringstream out, err;
  WriteOutcomeMessage(ParseOutcome{std::nullopt, 0, "help\n"}, out, err);
  WriteOutcomeMessage(ParseOutcome{std::nullopt, 2, "bad\n"}, out, err);
  EXPECT_EQ(out.str(), "help\n");
  EXPECT_EQ(err.str(), "bad\n");
}

TEST_F(ServerConfigTest, DescribeConfig) {
  ServerConfig config = Ok({"--bind-addr", "::1", "-p", "9101", "--log-level", "debug"});
  const std::string text = DescribeConfig(config);
  EXPECT_THAT(text, HasSubstr("mode=standalone"));
  EXPECT_THAT(text, HasSubstr("kafka_port=9101"));
  EXPECT_THAT(text, HasSubstr("advertised=[::1]:9101"));
  EXPECT_THAT(text, HasSubstr("log_level=debug"));
  EXPECT_THAT(text, HasSubstr("data_dir=./data"));
  EXPECT_THAT(text, HasSubstr("config_file=(none)"));
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST_F(ServerConfigTest, PerPartitionMetricsCanBeSwitchedOff) {
  EXPECT_FALSE(Ok({"--metrics-partition-series=false"}).metrics_partition_series);
  EXPECT_FALSE(Ok({}, {{"CHRONIK_METRICS_PARTITION_SERIES", "false"}}).metrics_partition_series);
  EXPECT_TRUE(Ok({}).metrics_partition_series);
}


TEST_F(ServerConfigTest, AdminApiAuthenticationSettings) {
  ServerConfig config = Ok({});
  EXPECT_FALSE(config.admin_auth_required);
  EXPECT_FALSE(config.admin_token.has_value());

  config = Ok({"--admin-auth-required"}, {{"CHRONIK_ADMIN_TOKEN", "ops:t0k:en"}});
  EXPECT_TRUE(config.admin_auth_required);
  ASSERT_TRUE(config.admin_token.has_value());
  EXPECT_EQ(config.admin_token->user, "ops");
  EXPECT_EQ(config.admin_token->token, "t0k:en");
  // Like the bootstrap user's password, the token is in no description of the configuration.
  EXPECT_EQ(DescribeConfig(config).find("t0k"), std::string::npos);

  EXPECT_TRUE(Ok({}, {{"CHRONIK_ADMIN_AUTH_REQUIRED", "true"}}).admin_auth_required);
  EXPECT_EQ(Error({}, {{"CHRONIK_ADMIN_TOKEN", "no-colon"}}), "CHRONIK_ADMIN_TOKEN: expected name:token");
  EXPECT_EQ(Error({}, {{"CHRONIK_ADMIN_TOKEN", "ops:"}}), "CHRONIK_ADMIN_TOKEN: expected name:token");
}

}  // namespace
}  // namespace chronik::config
