// chronik_server: the one binary; the mode on the command line picks what it runs.

#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "chronik_config/server_config.h"
#include "chronik_ingest/admin_configs.h"
#include "chronik_ingest/admin_topics.h"
#include "chronik_ingest/api_versions.h"
#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/configs.h"
#include "chronik_ingest/topic_registry.h"
#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/fetch.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/group_handlers.h"
#include "chronik_ingest/list_offsets.h"
#include "chronik_ingest/partition_admin.h"
#include "chronik_ingest/partition_events.h"
#include "chronik_ingest/produce.h"
#include "chronik_ingest/metadata.h"
#include "chronik_server/kafka_listener.h"
#include "chronik_server/node_identity.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"
#include "spdlog/spdlog.h"

namespace chronik::server {
namespace {

constexpr int kExitNotBuilt = 1;

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

// A data directory another broker holds is a configuration problem; anything else is not.
int StartupExitCode(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition ? config::kExitConfigError : 1;
}

int RunStandalone(const char* program, const config::ServerConfig& cfg) {
  absl::StatusOr<NodeIdentity> identity = LoadOrCreateNodeIdentity(cfg.data_dir);
  if (!identity.ok()) return Fail(program, config::kExitConfigError, std::string(identity.status().message()));

  ingest::BrokerConfigValues broker_configs;
  for (const auto& [name, value] : cfg.kafka_properties) {
    if (absl::Status s = broker_configs.SetStatic(name, value); !s.ok()) {
      return Fail(program, config::kExitConfigError,
                  *cfg.config_file + ": kafka." + name + ": " + std::string(s.message()));
    }
    if (ingest::FindBrokerConfig(name) == nullptr) spdlog::warn("kafka.{}: not a broker config Chronik knows; ignored", name);
  }
  // Bind first: a port in use is reported before any recovery work.
  boost::asio::io_context io;
  ingest::HandlerTable table;
  ingest::Dispatcher dispatcher(table);
  KafkaListener listener(io, dispatcher,
                         ListenerOptions{cfg.bind_addr, cfg.kafka_port, cfg.max_request_size,
                                         broker_configs.EffectiveInt("queued.max.request.bytes", -1),
                                         static_cast<int32_t>(broker_configs.EffectiveInt("queued.max.requests", 500))});
  if (absl::Status s = listener.Bind(); !s.ok()) {
    return Fail(program, config::kExitConfigError, std::string(s.message()));
  }

  absl::StatusOr<std::unique_ptr<storage::LogManager>> logs =
      storage::LogManager::Open(cfg.data_dir, storage::LogManager::Options{});
  if (!logs.ok()) return Fail(program, StartupExitCode(logs.status()), std::string(logs.status().message()));
  absl::StatusOr<std::unique_ptr<storage::MetadataStore>> store =
      storage::MetadataStore::Open(cfg.data_dir + "/" + storage::kMetadataDirName);
  if (!store.ok()) return Fail(program, StartupExitCode(store.status()), std::string(store.status().message()));

  ingest::TopicRegistry topics(**store, **logs, broker_configs);
  if (absl::Status s = topics.Load(); !s.ok()) return Fail(program, 1, std::string(s.message()));

  ingest::GroupCoordinator::Options group_options;
  group_options.settings = ingest::GroupSettings::FromBroker(broker_configs);
  group_options.partition_exists = [&topics](const std::string& topic, int32_t partition) {
    std::shared_ptr<const ingest::Topic> t = topics.Find(topic);
    return t != nullptr && partition >= 0 && partition < t->partitions;
  };
  ingest::GroupCoordinator groups(**store, std::move(group_options));
  if (absl::Status s = groups.Load(); !s.ok()) return Fail(program, 1, std::string(s.message()));
  topics.SetDeletionListener([&groups](const std::string& topic) { groups.OnTopicDeleted(topic); });

  ingest::BrokerContext broker;
  broker.identity.node_id = identity->node_id;
  broker.identity.advertised_host = cfg.advertised_host;
  broker.identity.advertised_port = cfg.advertised_port;
  broker.identity.cluster_id = identity->cluster_id;
  broker.configs = &broker_configs;
  broker.topics = &topics;
  broker.log_dir = std::filesystem::absolute(cfg.data_dir).lexically_normal().string();

  ingest::RegisterApiVersions(table);
  ingest::RegisterMetadata(table, broker);
  ingest::RegisterTopicAdmin(table, broker);
  ingest::RegisterConfigAdmin(table, broker);
  ingest::RegisterPartitionAdmin(table, broker);
  ingest::PartitionEvents events;
  ingest::RegisterProduce(table, broker, events);
  ingest::RegisterFetch(table, broker, events);
  ingest::RegisterListOffsets(table, broker);
  ingest::RegisterGroupApis(table, broker, groups);
  groups.Start();
  listener.Start();

  // Connections close promptly on shutdown and io.run() then returns by itself; the watchdog
  // only guards against one that does not, without keeping the io_context busy.
  std::mutex watchdog_mu;
  std::condition_variable watchdog_cv;
  bool stopping = false;
  bool finished = false;
  bool forced = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(watchdog_mu);
    watchdog_cv.wait(lock, [&] { return stopping || finished; });
    if (!watchdog_cv.wait_for(lock, std::chrono::seconds(5), [&] { return finished; })) {
      forced = true;
      io.stop();
    }
  });

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signo);
    // Parked JoinGroup/SyncGroup requests are answered first, so no connection waits on them.
    groups.Shutdown();
    listener.Stop();
    std::lock_guard<std::mutex> lock(watchdog_mu);
    stopping = true;
    watchdog_cv.notify_all();
  });

  spdlog::info("chronik {} standalone: Kafka listener on {}:{} (advertised {}:{}), cluster id {}, node {}",
               config::kChronikVersion, cfg.bind_addr, listener.bound_port(), cfg.advertised_host,
               cfg.advertised_port, broker.identity.cluster_id, broker.identity.node_id);

  // Both cores serve connections; each connection's work is serialized on its own strand.
  const unsigned threads = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  {
    std::lock_guard<std::mutex> lock(watchdog_mu);
    finished = true;
    watchdog_cv.notify_all();
  }
  watchdog.join();
  // Flushes every log and writes the clean-shutdown marker, so the next start skips the scan.
  if (absl::Status s = (*logs)->Close(); !s.ok()) {
    spdlog::error("closing the logs failed: {}", std::string(s.message()));
    return 1;
  }
  if (forced) {
    spdlog::warn("shut down with connections still open 5 s after the signal");
  } else {
    spdlog::info("shut down cleanly");
  }
  return 0;
}

}  // namespace
}  // namespace chronik::server

int main(int argc, char** argv) {
  using namespace chronik;
  const char* program = "chronik_server";
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
  spdlog::set_level(server::SpdlogLevel(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  for (const std::string& w : cfg.warnings) spdlog::warn("{}", w);
  spdlog::info("{}", config::DescribeConfig(cfg));

  if (cfg.enable_search) {
    return server::Fail(program, server::kExitNotBuilt, "--enable-search: search is not built yet");
  }
  if (cfg.enable_backup) {
    return server::Fail(program, server::kExitNotBuilt, "--enable-backup: backup is not built yet");
  }
  switch (cfg.mode) {
    case config::Mode::kStandalone:
      return server::RunStandalone(program, cfg);
    case config::Mode::kAll:
    case config::Mode::kIngest:
    case config::Mode::kSearch:
      return server::Fail(program, server::kExitNotBuilt,
                          std::string("mode '") + std::string(config::ModeName(cfg.mode)) +
                              "' is not built yet; run 'standalone'");
    case config::Mode::kVersion:
      break;
  }
  return 0;
}
