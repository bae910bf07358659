#pragma once

// What the broker is made of (Broker::Services), shared by the files that build it: broker.cc
// and broker_tiered.cc. Private to the broker target.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/thread_pool.hpp"
#include "chronik_admin/admin_api.h"
#include "chronik_admin/kafka_call.h"
#include "chronik_auth/acl.h"
#include "chronik_auth/audit_log.h"
#include "chronik_auth/credential_store.h"
#include "chronik_auth/sasl_server.h"
#include "chronik_config/server_config.h"
#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/configs.h"
#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/dynamic_configs.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_ingest/partition_events.h"
#include "chronik_ingest/producer_ids.h"
#include "chronik_ingest/topic_registry.h"
#include "chronik_ingest/txn_coordinator.h"
#include "chronik_janitor/janitor.h"
#include "chronik_monitoring/http_server.h"
#include "chronik_monitoring/metrics.h"
#include "chronik_search/indexer.h"
#include "chronik_search/search_api.h"
#include "chronik_server/broker.h"
#include "chronik_server/broker_metrics.h"
#include "chronik_server/kafka_listener.h"
#include "chronik_server/listener_config.h"
#include "chronik_server/node_identity.h"
#include "chronik_server/tls.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"
#include "chronik_storage/object_store/object_store.h"
#include "chronik_storage/tiered/remote_log.h"

namespace chronik::server {

namespace asio = boost::asio;

// The network io_context, with its pending work destroyable ahead of its own destruction: what
// it still holds when the broker stops (a connection whose last answer came back from the
// handler pool after the network threads ended) refers to the listeners, the metrics and the
// logs, which are declared after it and so destroyed before it.
class NetworkContext : public asio::io_context {
 public:
  using asio::io_context::shutdown;
};

// Members in dependency order: each is built after, and destroyed before, what it uses.
struct Broker::Services {
  config::ServerConfig cfg;
  NodeIdentity identity;
  ingest::BrokerConfigValues broker_configs;
  int network_threads = 2;

  NetworkContext io;
  // The handler pool (num.io.threads): handlers that may wait for the disk run here.
  std::optional<asio::thread_pool> handler_pool;
  monitoring::Registry metrics_registry;
  std::optional<BrokerMetrics> metrics;
  ingest::HandlerTable table;
  std::optional<ingest::Dispatcher> dispatcher;
  std::vector<ListenerSpec> listener_specs;
  // By listener, null for those without TLS.
  std::vector<std::unique_ptr<TlsHolder>> tls;
  std::vector<std::unique_ptr<KafkaListener>> listeners;

  std::unique_ptr<storage::LogManager> logs;
  std::unique_ptr<storage::MetadataStore> store;
  // Broker configs altered while running; parts of the broker register what they take at start.
  std::optional<ingest::DynamicBrokerConfigs> dynamic_configs;
  std::unique_ptr<auth::AuditLog> audit;
  std::optional<auth::CredentialStore> credentials;
  std::unique_ptr<auth::Authorizer> authorizer;
  std::unique_ptr<auth::SaslServer> sasl;
  std::optional<ingest::TopicRegistry> topics;
  std::optional<ingest::GroupCoordinator> groups;
  std::optional<ingest::ProducerIdManager> producer_ids;
  std::optional<ingest::TxnCoordinator> txns;
  ingest::BrokerContext context;
  ingest::PartitionEvents events;
  // Tiered storage (remote.log.storage.system.enable): the object store and what copies to it and
  // reads from it. After `events`, which its readers notify, so that it stops first.
  std::unique_ptr<storage::objects::ObjectStore> object_store;
  // remote.log.manager.copy.max.bytes.per.second (altered while running too); cancelled at stop.
  std::unique_ptr<janitor::IoThrottle> copy_throttle;
  std::optional<storage::tiered::RemoteLogManager> remote;
  std::optional<janitor::Janitor> janitor;
  // With --enable-search: the indexer and the search API on --search-port.
  std::optional<search::Indexer> indexer;
  std::optional<search::SearchApi> search_api;
  std::optional<monitoring::HttpServer> search_http;

  // /metrics on --metrics-port; /health and /ready on --admin-port. Each on its own thread.
  std::optional<monitoring::HttpServer> metrics_http;
  std::optional<admin::KafkaCaller> kafka_caller;
  std::optional<admin::AdminApi> admin_api;
  std::optional<monitoring::HttpServer> admin_http;
  std::atomic<bool> ready{false};

  std::optional<asio::signal_set> signals;
  std::optional<asio::signal_set> hup;  // SIGHUP: reload TLS certificates
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  bool finished = false;
};

}  // namespace chronik::server
