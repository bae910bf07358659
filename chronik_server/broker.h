#pragma once

// The broker: the one composition root. It owns the configuration, storage, the metadata store,
// the topic registry, the group coordinator, the handler table and its pool, the Kafka listener
// and the janitor (and, as they come, the HTTP servers, the indexer, tiering and replication).
// Open builds them in dependency order; Run starts them, serves until Shutdown, then stops them in
// reverse order. Services get what they need passed in; nothing is reached through globals.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_config/server_config.h"

namespace chronik::janitor {
class IoThrottle;
}  // namespace chronik::janitor

namespace chronik::server {

class Broker {
 public:
  // Validates the Kafka properties, binds the listener (a port in use is reported before any
  // recovery work), opens and recovers the logs and the metadata store and loads topics and
  // groups. Errors a user can fix (configuration, a port in use, a data directory another broker
  // holds) are kInvalidArgument, kUnavailable or kFailedPrecondition.
  static absl::StatusOr<std::unique_ptr<Broker>> Open(const config::ServerConfig& cfg);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Starts every service, serves Kafka clients until SIGINT/SIGTERM or Shutdown, then stops them
  // in reverse order and closes the logs (writing the clean-shutdown marker).
  absl::Status Run();
  // Asks Run to stop; safe from any thread.
  void Shutdown();

  // The port of the first listener, and of the listener named `name`.
  uint16_t kafka_port() const;
  std::optional<uint16_t> listener_port(std::string_view name) const;

  // Rebuilds every TLS listener's context from its files (SIGHUP does this); a listener whose new
  // settings fail keeps its previous ones.
  void ReloadTls();

 private:
  struct Services;
  explicit Broker(std::unique_ptr<Services> services);
  // With --enable-search: the indexer and the search API.
  static absl::Status OpenSearch(Services& s);
  static absl::Status OpenTieredStorage(Services& s);
  // Registers `config`, a dynamic broker config that is `throttle`'s rate in bytes per second, and
  // the gauge `waiting_gauge` of the callers waiting on it now. Kafka's defaults (Long.MAX_VALUE,
  // Double.MAX_VALUE), and a value that is not a positive number, mean no limit.
  static absl::Status RegisterThrottleRate(Services& s, std::string_view config, janitor::IoThrottle& throttle,
                                           std::string_view waiting_gauge, std::string_view help);
  void WaitForSignals();
  void WaitForReload();

  std::unique_ptr<Services> s_;
};

}  // namespace chronik::server
