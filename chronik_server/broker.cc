#include "chronik_server/broker.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "chronik_admin/admin_api.h"
#include "chronik_admin/kafka_call.h"
#include "chronik_protocol/apis.h"
#include "chronik_search/indexer.h"
#include "chronik_search/search_api.h"
#include "chronik_protocol/errors.h"
#include "nlohmann/json.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/thread_pool.hpp"
#include "chronik_ingest/admin_configs.h"
#include "chronik_ingest/admin_topics.h"
#include "chronik_storage/backup/backup.h"
#include "chronik_storage/object_store/store_settings.h"
#include "chronik_storage/tiered/remote_log.h"
#include "chronik_ingest/api_versions.h"
#include "chronik_ingest/broker_context.h"
#include "chronik_ingest/client_quotas.h"
#include "chronik_ingest/configs.h"
#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/dynamic_configs.h"
#include "chronik_ingest/fetch.h"
#include "chronik_ingest/group_coordinator.h"
#include "chronik_ingest/group_handlers.h"
#include "chronik_ingest/init_producer_id.h"
#include "chronik_ingest/txn_handlers.h"
#include "chronik_ingest/producer_ids.h"
#include "chronik_ingest/list_offsets.h"
#include "chronik_ingest/metadata.h"
#include "chronik_ingest/partition_admin.h"
#include "chronik_ingest/partition_events.h"
#include "chronik_ingest/produce.h"
#include "chronik_ingest/topic_registry.h"
#include "chronik_auth/acl.h"
#include "chronik_auth/audit_log.h"
#include "chronik_auth/credential_store.h"
#include "chronik_ingest/acl_handlers.h"
#include "chronik_auth/sasl_server.h"
#include "chronik_ingest/sasl_handlers.h"
#include "chronik_ingest/scram_admin.h"
#include "chronik_janitor/janitor.h"
#include "chronik_monitoring/http_server.h"
#include "chronik_monitoring/metrics.h"
#include "chronik_monitoring/process_metrics.h"
#include "chronik_server/broker_metrics.h"
#include "chronik_server/broker_services.h"
#include "chronik_server/kafka_listener.h"
#include "chronik_server/listener_config.h"
#include "chronik_server/tls.h"
#include "chronik_server/node_identity.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"
#include "spdlog/spdlog.h"

namespace chronik::server {

namespace asio = boost::asio;

namespace {

// Broker configs whose value the server's own settings decide: describing Kafka's default for
// them would be a lie, and a [kafka] value for them would be ignored, so it is refused.
absl::Status SetDerived(ingest::BrokerConfigValues& configs, const config::ServerConfig& cfg,
                        const std::string& name, const std::string& value, const std::string& owner) {
  if (cfg.kafka_properties.contains(name)) {
    return absl::InvalidArgumentError(absl::StrCat("kafka.", name, ": set by ", owner, "; remove it from [kafka]"));
  }
  return configs.SetStatic(name, value);
}

// Whether only this machine can reach `bind_addr` (the admin API then needs no authentication
// unless asked to).
bool IsLoopback(const std::string& bind_addr) {
  boost::system::error_code ec;
  const asio::ip::address a = asio::ip::make_address(bind_addr, ec);
  if (ec) return bind_addr == "localhost";
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

}  // namespace

Broker::Broker(std::unique_ptr<Services> services) : s_(std::move(services)) {}

Broker::~Broker() {
  if (s_ == nullptr) return;
  // Run stopped everything it started; what Open alone built goes here, logs last.
  for (auto& l : s_->listeners) l->Stop();
  if (s_->handler_pool.has_value()) s_->handler_pool->join();
  if (s_->logs != nullptr) (void)s_->logs->Close();
  // Nothing runs any more: what is left in the io_context goes now, while all it refers to lives.
  s_->io.shutdown();
}

absl::Status Broker::RegisterThrottleRate(Services& s, std::string_view config, janitor::IoThrottle& throttle,
                                          std::string_view waiting_gauge, std::string_view help) {
  if (absl::Status st = s.dynamic_configs->Register(config, [&throttle](const std::optional<std::string>& value) {
        double rate = 0;
        if (!value.has_value() || !absl::SimpleAtod(*value, &rate) || rate >= static_cast<double>(INT64_MAX)) rate = 0;
        throttle.SetRate(rate);  // 0: no limit
      });
      !st.ok()) {
    return st;
  }
  const std::string gauge(waiting_gauge);
  s.metrics_registry.Describe(gauge, monitoring::MetricType::kGauge, std::string(help));
  s.metrics_registry.AddCollector([&throttle, gauge](monitoring::SampleWriter& w) {
    w.Sample(gauge, {}, static_cast<double>(throttle.waiting()));
  });
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Broker>> Broker::Open(const config::ServerConfig& cfg) {
  auto s = std::make_unique<Services>();
  s->cfg = cfg;
  // Caught from here on: a SIGTERM while the logs recover is answered by a clean stop once Run
  // starts, not by the signal's default action.
  s->signals.emplace(s->io, SIGINT, SIGTERM);
  s->hup.emplace(s->io, SIGHUP);
  absl::StatusOr<NodeIdentity> identity = LoadOrCreateNodeIdentity(cfg.data_dir);
  if (!identity.ok()) return absl::InvalidArgumentError(identity.status().message());
  s->identity = *identity;

  ingest::BrokerConfigValues& bc = s->broker_configs;
  for (const auto& [name, value] : cfg.kafka_properties) {
    if (absl::Status st = bc.SetStatic(name, value); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(cfg.config_file.value_or("config"), ": kafka.", name, ": ",
                                                     st.message()));
    }
    if (ingest::FindBrokerConfig(name) == nullptr && !IsListenerSetting(name)) {
      spdlog::warn("kafka.{}: not a broker config Chronik knows; ignored", name);
    }
  }
  // The object store in effect, the environment's settings included, is described under the
  // settings' Kafka-style names (rsm.config.*), its secrets as sensitive.
  for (const auto& [name, value] : cfg.object_store) {
    if (absl::Status st = bc.SetStatic(storage::objects::KafkaStyleName(name), value); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", st.message()));
    }
  }
  absl::StatusOr<std::vector<ListenerSpec>> listener_specs = ParseListeners(cfg.kafka_properties, cfg);
  if (!listener_specs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cfg.config_file.value_or("config"), ": ", std::string(listener_specs.status().message())));
  }
  s->listener_specs = *std::move(listener_specs);
  const std::string log_dir = std::filesystem::absolute(cfg.data_dir).lexically_normal().string();
  s->network_threads = static_cast<int>(
      bc.Get(ingest::BrokerConfigLayer::kStatic, "num.network.threads").has_value()
          ? bc.EffectiveInt("num.network.threads", 2)
          : std::max(2u, std::thread::hardware_concurrency()));
  for (auto [name, value, owner] : std::initializer_list<std::tuple<std::string, std::string, std::string>>{
           {"broker.id", std::to_string(s->identity.node_id), "the data directory's node identity"},
           {"node.id", std::to_string(s->identity.node_id), "the data directory's node identity"},
           {"log.dir", log_dir, "--data-dir"},
           {"log.dirs", log_dir, "--data-dir"},
           {"socket.request.max.bytes", std::to_string(cfg.max_request_size), "--max-request-size"},
           {"log.searchable", cfg.enable_search ? "true" : "false", "--enable-search"},
       }) {
    if (absl::Status st = SetDerived(bc, cfg, name, value, owner); !st.ok()) return st;
  }
  // Without kafka.listeners, the flags make the one PLAINTEXT listener and are what describes it.
  if (!cfg.kafka_properties.contains("listeners")) {
    const ListenerSpec& l = s->listener_specs.front();
    if (absl::Status st = bc.SetStatic("listeners", absl::StrCat("PLAINTEXT://", l.bind_host, ":", l.port)); !st.ok()) {
      return st;
    }
    if (absl::Status st = bc.SetStatic("advertised.listeners",
                                       absl::StrCat("PLAINTEXT://", l.advertised_host, ":", l.advertised_port));
        !st.ok()) {
      return st;
    }
  }
  if (!bc.Get(ingest::BrokerConfigLayer::kStatic, "num.network.threads").has_value()) {
    if (absl::Status st = bc.SetStatic("num.network.threads", std::to_string(s->network_threads)); !st.ok()) return st;
  }
  // Bind first: a port in use is reported before any recovery work.
  s->handler_pool.emplace(static_cast<size_t>(bc.EffectiveInt("num.io.threads", 8)));
  absl::StatusOr<std::unique_ptr<auth::AuditLog>> audit = auth::AuditLog::Open({.dir = cfg.data_dir + "/" + storage::kAuditDirName});
  if (!audit.ok()) return audit.status();
  s->audit = *std::move(audit);
  s->metrics.emplace(s->metrics_registry, cfg.metrics_partition_series);
  monitoring::RegisterProcessMetrics(s->metrics_registry);
  const ingest::AuthenticationListener on_authentication = [audit = s->audit.get(), metrics = &*s->metrics](
                                                               const ingest::Session& session, std::string_view mechanism,
                                                               bool success, std::string_view reason) {
    nlohmann::json e = {{"event", "authentication"},
                        {"outcome", success ? "success" : "failure"},
                        {"mechanism", std::string(mechanism)},
                        {"client", session.peer},
                        {"listener", session.listener_name}};
    if (success) e["principal"] = session.principal;
    if (!reason.empty()) e["reason"] = std::string(reason);
    audit->Record(std::move(e));
    metrics->Authentication(session.listener_name, success);
  };
  s->dispatcher.emplace(
      s->table, [pool = &*s->handler_pool](std::function<void()> work) { asio::post(*pool, std::move(work)); },
      on_authentication,
      [metrics = &*s->metrics](int16_t key, int16_t version, int64_t queue_ns, int64_t total_ns, int64_t bytes) {
        metrics->ObserveRequest(key, version, queue_ns, total_ns, bytes);
      });
  bool any_sasl = false;
  // A search node serves the search API over the data directory: no Kafka listener.
  if (cfg.mode != config::Mode::kSearch) {
    for (const ListenerSpec& spec : s->listener_specs) {
      any_sasl = any_sasl || spec.sasl();
      std::unique_ptr<TlsHolder>& tls = s->tls.emplace_back();
      if (spec.tls.has_value()) {
        tls = std::make_unique<TlsHolder>(*spec.tls);
        if (absl::Status st = tls->Reload(); !st.ok()) {
          return absl::InvalidArgumentError(absl::StrCat("listener ", spec.name, ": ", std::string(st.message())));
        }
      }
      ListenerOptions options;
      options.listener_name = spec.name;
      options.bind_addr = spec.bind_host.empty() ? "0.0.0.0" : spec.bind_host;
      options.port = spec.port;
      options.max_request_size = cfg.max_request_size;
      options.queued_max_request_bytes = bc.EffectiveInt("queued.max.request.bytes", -1);
      options.queued_max_requests = static_cast<int32_t>(bc.EffectiveInt("queued.max.requests", 500));
      options.protocol = spec.protocol;
      options.sasl_mechanisms = spec.sasl_mechanisms;
      options.tls = tls.get();
      options.sasl_max_receive_size = static_cast<int32_t>(bc.EffectiveInt("sasl.server.max.receive.size", 524288));
      options.on_authentication = on_authentication;
      options.connections = s->metrics->Connections(spec.name);
      auto listener = std::make_unique<KafkaListener>(s->io, *s->dispatcher, std::move(options));
      if (absl::Status st = listener->Bind(); !st.ok()) return st;
      s->listeners.push_back(std::move(listener));
    }
  }

  storage::LogManager::Options log_options;
  log_options.producer_id_expiration_ms = bc.EffectiveInt("producer.id.expiration.ms", storage::kProducerIdExpirationMs);
  log_options.on_fdatasync = [metrics = &*s->metrics](int64_t nanos) { metrics->Fdatasync(nanos); };
  log_options.on_group_commit = [metrics = &*s->metrics](int64_t appends) { metrics->GroupCommit(appends); };
  absl::StatusOr<std::unique_ptr<storage::LogManager>> logs = storage::LogManager::Open(cfg.data_dir, log_options);
  if (!logs.ok()) return logs.status();
  s->logs = *std::move(logs);
  absl::StatusOr<std::unique_ptr<storage::MetadataStore>> store =
      storage::MetadataStore::Open(cfg.data_dir + "/" + storage::kMetadataDirName);
  if (!store.ok()) return store.status();
  s->store = *std::move(store);

  s->credentials.emplace(*s->store);
  if (cfg.bootstrap_user.has_value() && s->credentials->ForUser(cfg.bootstrap_user->name).empty()) {
    std::vector<auth::CredentialStore::Change> changes;
    for (auth::ScramMechanism m : {auth::ScramMechanism::kSha256, auth::ScramMechanism::kSha512}) {
      changes.push_back({cfg.bootstrap_user->name, m, auth::NewCredential(m, cfg.bootstrap_user->password)});
    }
    if (absl::Status st = s->credentials->Apply(changes); !st.ok()) return st;
    spdlog::info("created the SCRAM credentials of bootstrap user {}", cfg.bootstrap_user->name);
  }
  if (!bc.Effective("authorizer.class.name").value_or("").empty()) {
    auth::AuthorizerOptions ao;
    for (absl::string_view p : absl::StrSplit(bc.Effective("super.users").value_or(""), ';', absl::SkipWhitespace())) {
      ao.super_users.push_back(std::string(absl::StripAsciiWhitespace(p)));
    }
    ao.allow_everyone_if_no_acl_found = bc.Effective("allow.everyone.if.no.acl.found").value_or("false") == "true";
    s->authorizer = std::make_unique<auth::Authorizer>(*s->store, std::move(ao));
    if (absl::Status st = s->authorizer->Load(); !st.ok()) return absl::InternalError(st.message());
  }
  // Cyrus SASL is started only for a broker with a SASL listener.
  if (any_sasl) {
    absl::StatusOr<std::unique_ptr<auth::SaslServer>> sasl = auth::SaslServer::Create(*s->credentials, config::HostName());
    if (!sasl.ok()) return sasl.status();
    s->sasl = *std::move(sasl);
  }

  s->topics.emplace(*s->store, *s->logs, bc);
  if (absl::Status st = s->topics->Load(); !st.ok()) return absl::InternalError(st.message());

  ingest::GroupCoordinator::Options group_options;
  group_options.settings = ingest::GroupSettings::FromBroker(bc);
  const int64_t offsets_check_ms = group_options.settings.offsets_retention_check_interval_ms;
  group_options.partition_exists = [topics = &*s->topics](const std::string& topic, int32_t partition) {
    std::shared_ptr<const ingest::Topic> t = topics->Find(topic);
    return t != nullptr && partition >= 0 && partition < t->partitions;
  };
  group_options.on_rebalance = [metrics = &*s->metrics](const std::string& group) { metrics->Rebalanced(group); };
  s->groups.emplace(*s->store, std::move(group_options));
  if (absl::Status st = s->groups->Load(); !st.ok()) return absl::InternalError(st.message());
  s->topics->SetDeletionListener([groups = &*s->groups](const std::string& topic) { groups->OnTopicDeleted(topic); });

  // Fetches waiting for data wake on storage's events, not on the handlers that cause them.
  s->logs->Subscribe([events = &s->events](const storage::LogEvent& e) {
    if (e.kind == storage::LogEventKind::kHighWatermarkMoved || e.kind == storage::LogEventKind::kLogStartMoved ||
        e.kind == storage::LogEventKind::kPartitionDeleted) {
      events->Notify(e.tp);
    }
  });

  ingest::BrokerContext& ctx = s->context;
  ctx.identity.node_id = s->identity.node_id;
  for (size_t i = 0; i < s->listener_specs.size(); ++i) {
    const ListenerSpec& spec = s->listener_specs[i];
    // A listener on port 0 advertises the port it was given.
    ctx.identity.advertised[spec.name] = {spec.advertised_host,
                                          spec.advertised_port != 0 || i >= s->listeners.size()
                                              ? spec.advertised_port
                                              : s->listeners[i]->bound_port()};
  }
  ctx.identity.cluster_id = s->identity.cluster_id;
  ctx.configs = &bc;
  s->dynamic_configs.emplace(bc, *s->store);
  ctx.dynamic_configs = &*s->dynamic_configs;
  ctx.authorizer = s->authorizer.get();
  ctx.on_produced = [metrics = &*s->metrics](std::string_view topic, int64_t records, int64_t bytes) {
    metrics->Produced(topic, records, bytes);
  };
  ctx.on_stored = [metrics = &*s->metrics](std::string_view topic, int64_t records) {
    metrics->Stored(topic, records);
  };
  ctx.on_denied = [audit = s->audit.get()](const ingest::RequestContext& rc, ingest::AclOperation op,
                                           ingest::ResourceType type, std::string_view name) {
    const protocol::ApiDescriptor* api = protocol::FindApi(rc.header.api_key);
    audit->Record({{"event", "authorization"},
                   {"outcome", "denied"},
                   {"principal", rc.session.principal},
                   {"client", rc.session.peer},
                   {"listener", rc.session.listener_name},
                   {"operation", std::string(auth::AclOperationName(op))},
                   {"resource_type", std::string(auth::ResourceTypeName(type))},
                   {"resource", std::string(name)},
                   {"api", api != nullptr ? std::string(api->name) : std::to_string(rc.header.api_key)}});
  };
  ctx.on_admin = [audit = s->audit.get()](const ingest::RequestContext& rc, std::string_view action,
                                          ingest::ResourceType type, std::string_view name, int16_t error_code,
                                          std::string_view detail) {
    nlohmann::json e = {{"event", "admin"},
                        {"action", std::string(action)},
                        {"outcome", error_code == 0 ? "success" : "failure"},
                        {"principal", rc.session.principal},
                        {"client", rc.session.peer},
                        {"resource_type", std::string(auth::ResourceTypeName(type))},
                        {"resource", std::string(name)}};
    if (error_code != 0) e["error"] = std::string(protocol::ErrorName(static_cast<protocol::ErrorCode>(error_code)));
    if (!detail.empty()) e["detail"] = std::string(detail);
    audit->Record(std::move(e));
  };
  ctx.topics = &*s->topics;
  ctx.log_dir = log_dir;

  ingest::RegisterApiVersions(s->table);
  ingest::RegisterSaslApis(s->table, ingest::SaslSettings{s->sasl.get(), bc.EffectiveInt("connections.max.reauth.ms", 0),
                                                          bc.EffectiveInt("connection.failed.authentication.delay.ms", 100),
                                                          on_authentication});
  ingest::RegisterAclApis(s->table, ctx, s->authorizer.get());
  ingest::RegisterScramAdmin(s->table, ctx, *s->credentials);
  ingest::RegisterDescribeClientQuotas(s->table, ctx);
  ingest::RegisterMetadata(s->table, ctx);
  ingest::RegisterTopicAdmin(s->table, ctx);
  ingest::RegisterConfigAdmin(s->table, ctx);
  ingest::RegisterPartitionAdmin(s->table, ctx);
  s->producer_ids.emplace(*s->store);
  ingest::TxnCoordinator::Options txn_options;
  txn_options.max_timeout_ms = bc.EffectiveInt("transaction.max.timeout.ms", 900000);
  txn_options.id_expiration_ms = bc.EffectiveInt("transactional.id.expiration.ms", 604800000);
  std::function<int64_t()> txn_now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  txn_options.now_ms = txn_now;
  txn_options.log = [topics = &*s->topics](const std::string& topic, int32_t partition) {
    return topics->Log(topic, partition);
  };
  s->txns.emplace(*s->store, *s->producer_ids, *s->groups, std::move(txn_options));
  // Transactions a crash left prepared get their markers now, before any client is served.
  if (absl::Status st = s->txns->Load(); !st.ok()) return absl::InternalError(st.message());
  const bool verify_txn_partitions =
      bc.Effective("transaction.partition.verification.enable").value_or("true") == "true";

  ingest::RegisterProduce(s->table, ctx, s->events, verify_txn_partitions ? &*s->txns : nullptr);
  ingest::RegisterFetch(s->table, ctx, s->events);
  ingest::RegisterListOffsets(s->table, ctx);
  ingest::RegisterGroupApis(s->table, ctx, *s->groups, *s->txns);
  ingest::RegisterInitProducerId(s->table, ctx, *s->producer_ids, *s->txns);
  ingest::RegisterTxnApis(s->table, ctx, *s->txns, txn_now);

  s->metrics->PrepareApis(s->table);
  s->table.SetErrorObserver(
      [metrics = &*s->metrics](int16_t key, int16_t code) { metrics->ObserveError(key, code); });
  s->metrics->AddCollectors(*s->topics, *s->groups);
  // The HTTP ports are bound now, so that a port in use stops the broker before it serves.
  s->metrics_http.emplace(monitoring::HttpServerOptions{.bind_addr = cfg.bind_addr, .port = cfg.metrics_port});
  s->metrics_http->Route("/metrics", [registry = &s->metrics_registry](const monitoring::HttpRequest& r) {
    const bool openmetrics = r.accept.find("application/openmetrics-text") != std::string::npos;
    return monitoring::HttpResponse{200,
                                    openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                                : "text/plain; version=0.0.4; charset=utf-8",
                                    registry->Render(openmetrics), {}};
  });
  if (absl::Status st = s->metrics_http->Bind(); !st.ok()) return st;
  s->admin_http.emplace(monitoring::HttpServerOptions{.bind_addr = cfg.bind_addr, .port = cfg.admin_port});
  s->admin_http->Route("/health", [](const monitoring::HttpRequest&) {
    return monitoring::HttpResponse{200, "application/json", "{\"status\":\"ok\"}\n", {}};
  });
  s->admin_http->Route("/ready", [ready = &s->ready](const monitoring::HttpRequest&) {
    return ready->load() ? monitoring::HttpResponse{200, "application/json", "{\"status\":\"ready\"}\n", {}}
                         : monitoring::HttpResponse{503, "application/json", "{\"status\":\"starting\"}\n", {}};
  });
  // /api/v1: the admin REST API, whose operations are the Kafka handlers above.
  s->kafka_caller.emplace(*s->dispatcher, s->table);
  s->admin_api.emplace(*s->kafka_caller,
                       admin::AdminApiOptions{
                           .listener_name = s->listener_specs.front().name,
                           .require_authentication = cfg.admin_auth_required || !IsLoopback(cfg.bind_addr),
                           .token = cfg.admin_token.has_value()
                                        ? std::optional<admin::AdminToken>(
                                              admin::AdminToken{cfg.admin_token->user, cfg.admin_token->token})
                                        : std::nullopt,
                           .credentials = &*s->credentials});
  // A search node changes nothing in the data directory: /health and /ready, not the admin API.
  if (cfg.mode != config::Mode::kSearch) {
    s->admin_http->RoutePrefix("/api/", [api = &*s->admin_api](monitoring::HttpRequest r,
                                                               monitoring::HttpServer::Reply reply) {
      api->Handle(std::move(r), std::move(reply));
    });
  }
  if (absl::Status st = s->admin_http->Bind(); !st.ok()) return st;

  if (absl::Status st = OpenTieredStorage(*s); !st.ok()) return st;

  janitor::JanitorOptions jo;
  jo.retention_check_interval_ms = bc.EffectiveInt("log.retention.check.interval.ms", 300000);
  jo.cleaner_enable = bc.Effective("log.cleaner.enable").value_or("true") == "true";
  jo.cleaner_backoff_ms = bc.EffectiveInt("log.cleaner.backoff.ms", 15000);
  // The cleaner's rate comes from the dynamic configs' Load, which applies the static value too.
  jo.on_pass = [metrics = &*s->metrics](const janitor::LogPassStats& stats) { metrics->JanitorPass(stats); };
  s->janitor.emplace(*s->logs, jo);
  // Dynamic, as in Kafka: Load applies the static or stored value, and AlterConfigs a new one.
  if (absl::Status st = RegisterThrottleRate(*s, "log.cleaner.io.max.bytes.per.second", s->janitor->cleaner_throttle(),
                                            "chronik_log_cleaner_throttle_waiting",
                                            "Compaction passes waiting on log.cleaner.io.max.bytes.per.second now.");
      !st.ok()) {
    return st;
  }
  if (absl::Status st = s->dynamic_configs->Load(); !st.ok()) return st;
  s->janitor->Schedule("offset-expiry", offsets_check_ms,
                       [groups = &*s->groups](int64_t now_ms) { groups->ExpireOffsetsNow(now_ms); });
  s->janitor->Schedule("transactions", bc.EffectiveInt("transaction.abort.timed.out.transaction.cleanup.interval.ms", 10000),
                       [txns = &*s->txns](int64_t now_ms) { txns->Sweep(now_ms); });
  if (cfg.enable_backup && cfg.mode != config::Mode::kSearch) {
    // The broker at one moment (chronik_storage/backup/backup.h).
    s->janitor->ScheduleOnOwnThread("backup", bc.EffectiveInt("backup.interval.ms", 86400000),
                         [store = s->object_store.get(), dir = cfg.data_dir,
                          live = storage::backup::LiveBroker{&*s->logs, s->store.get()},
                          keep = static_cast<int>(bc.EffectiveInt("backup.retention.count", 7))](int64_t) {
                           auto result = storage::backup::RunBackup(dir, *store, keep, &live);
                           if (!result.ok()) spdlog::warn("backup failed, will retry at the next interval: {}", result.status().ToString());
                         },
                         // Linking holds partition locks; RunBackup uploads at SCHED_IDLE itself.
                         janitor::Janitor::Priority::kNormal);
  }
  if (s->remote.has_value()) {
    s->janitor->ScheduleOnOwnThread("remote-log", bc.EffectiveInt("remote.log.manager.task.interval.ms", 30000),
                         [remote = &*s->remote](int64_t now_ms) { remote->RunPass(now_ms); },
                         janitor::Janitor::Priority::kIdle);
  }
  if (cfg.enable_search) {
    if (absl::Status st = OpenSearch(*s); !st.ok()) return st;
  }
  return std::unique_ptr<Broker>(new Broker(std::move(s)));
}

// The search indexer (fed by storage events) and the Elasticsearch-compatible API on
// --search-port, with the admin API's authentication and topic READ ACLs.
absl::Status Broker::OpenSearch(Services& s) {
  const config::ServerConfig& cfg = s.cfg;
  s.indexer.emplace(*s.logs, search::IndexerOptions{
                                 .dir = cfg.data_dir + "/" + storage::kSearchDirName,
                                 .searchable =
                                     [topics = &*s.topics](const std::string& name) {
                                       std::shared_ptr<const ingest::Topic> t = topics->Find(name);
                                       return t != nullptr && t->configs.Get<bool>("searchable");
                                     },
                             });
  s.logs->Subscribe([indexer = &*s.indexer](const storage::LogEvent& e) { indexer->OnEvent(e); });
  s.metrics_registry.Describe("chronik_search_lag_records", monitoring::MetricType::kGauge,
                              "Records below the high watermark of searchable partitions not yet indexed.");
  s.metrics_registry.AddCollector([indexer = &*s.indexer](monitoring::SampleWriter& w) {
    w.Sample("chronik_search_lag_records", {}, static_cast<double>(indexer->Lag()));
  });
  search::SearchApiOptions options;
  options.cluster_uuid = s.identity.cluster_id;
  options.node_name = absl::StrCat("chronik-", s.identity.node_id);
  options.require_authentication = cfg.admin_auth_required || !IsLoopback(cfg.bind_addr);
  options.credentials = &*s.credentials;
  if (cfg.admin_token.has_value()) options.token = auth::BearerToken{cfg.admin_token->user, cfg.admin_token->token};
  if (s.authorizer != nullptr) {
    options.may_read = [authorizer = s.authorizer.get()](const std::string& principal, const std::string& host,
                                                         const std::string& topic) {
      return authorizer->Authorize(principal, host, auth::AclOperation::kRead, auth::ResourceType::kTopic, topic);
    };
  }
  s.search_api.emplace(*s.indexer, std::move(options));
  s.search_http.emplace(monitoring::HttpServerOptions{.bind_addr = cfg.bind_addr, .port = cfg.search_port});
  s.search_http->RoutePrefix("/", [api = &*s.search_api](monitoring::HttpRequest r, monitoring::HttpServer::Reply reply) {
    api->Handle(std::move(r), std::move(reply));
  });
  return s.search_http->Bind();
}

uint16_t Broker::kafka_port() const { return s_->listeners.empty() ? 0 : s_->listeners.front()->bound_port(); }

std::optional<uint16_t> Broker::listener_port(std::string_view name) const {
  for (size_t i = 0; i < s_->listener_specs.size(); ++i) {
    if (s_->listener_specs[i].name == name) return s_->listeners[i]->bound_port();
  }
  return std::nullopt;
}

void Broker::ReloadTls() {
  for (size_t i = 0; i < s_->tls.size(); ++i) {
    if (s_->tls[i] == nullptr) continue;
    if (absl::Status st = s_->tls[i]->Reload(); !st.ok()) {
      spdlog::error("listener {}: TLS settings not reloaded, the previous ones stay: {}", s_->listener_specs[i].name,
                    std::string(st.message()));
    } else {
      spdlog::info("listener {}: TLS key, certificates and trust store reloaded", s_->listener_specs[i].name);
    }
  }
}

void Broker::Shutdown() {
  asio::post(s_->io, [this] {
    {
      std::lock_guard<std::mutex> lock(s_->stop_mu);
      if (s_->stopping) return;
      s_->stopping = true;
    }
    // Nothing may keep the io_context busy once connections are gone.
    if (s_->signals.has_value()) s_->signals->cancel();
    if (s_->hup.has_value()) s_->hup->cancel();
    // Parked JoinGroup/SyncGroup requests are answered first, so no connection waits on them.
    s_->groups->Shutdown();
    for (auto& l : s_->listeners) l->Stop();
    s_->stop_cv.notify_all();
  });
}

void Broker::WaitForSignals() {
  s_->signals->async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signo);
    Shutdown();
  });
}

void Broker::WaitForReload() {
  s_->hup->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    spdlog::info("received SIGHUP, reloading TLS settings");
    // Reading key files waits for the disk: not on a network thread.
    asio::post(*s_->handler_pool, [this] { ReloadTls(); });
    WaitForReload();
  });
}

absl::Status Broker::Run() {
  Services& s = *s_;
  // The Kafka ports listen after the HTTP ports (which Open opened) and before anything starts:
  // a client (or a test) that reaches one finds every port taking connections.
  for (auto& l : s.listeners) {
    if (absl::Status st = l->Listen(); !st.ok()) return st;
  }
  s.groups->Start();
  // Retention and compaction are the Kafka node's: a search node only reads the logs.
  const bool kafka = s.cfg.mode != config::Mode::kSearch;
  if (kafka) s.janitor->Start();
  if (s.indexer.has_value()) {
    s.indexer->Start();
    s.search_http->Start();
    spdlog::info("search API (Elasticsearch-compatible) on {}:{}", s.cfg.bind_addr, s.search_http->bound_port());
  }
  s.metrics_http->Start();
  s.admin_http->Start();
  for (auto& l : s.listeners) l->Start();
  // Storage recovered (Open), every listener accepting: ready.
  s.ready = true;

  // Connections close promptly on shutdown and io.run() then returns by itself; the watchdog
  // only guards against one that does not, without keeping the io_context busy.
  bool forced = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(s.stop_mu);
    s.stop_cv.wait(lock, [&] { return s.stopping || s.finished; });
    if (!s.stop_cv.wait_for(lock, std::chrono::seconds(5), [&] { return s.finished; })) {
      forced = true;
      s.io.stop();
    }
  });
  WaitForSignals();
  WaitForReload();

  std::string listeners;
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    const ListenerSpec& l = s.listener_specs[i];
    const ingest::AdvertisedEndpoint& a = s.context.identity.advertised.at(l.name);
    absl::StrAppend(&listeners, i == 0 ? "" : ", ", l.name, " (", std::string(ingest::SecurityProtocolName(l.protocol)),
                    ") on ", l.bind_host.empty() ? "0.0.0.0" : l.bind_host, ":", s.listeners[i]->bound_port(),
                    " advertised ", a.host, ":", a.port);
  }
  spdlog::info("chronik {} {}: Kafka listeners {}; cluster id {}, node {}, {} network threads, {} handler threads",
               config::kChronikVersion, config::ModeName(s.cfg.mode), kafka ? listeners : "none (search node)",
               s.identity.cluster_id, s.identity.node_id, s.network_threads,
               s.broker_configs.EffectiveInt("num.io.threads", 8));

  // Each connection's work is serialized on its own strand.
  std::vector<std::thread> pool;
  for (int i = 1; i < s.network_threads; ++i) pool.emplace_back([&s] { s.io.run(); });
  s.io.run();
  for (auto& t : pool) t.join();
  {
    std::lock_guard<std::mutex> lock(s.stop_mu);
    s.finished = true;
    s.stop_cv.notify_all();
  }
  watchdog.join();

  // Reverse order: nothing new arrives now; background work ends; then the logs close.
  s.ready = false;
  s.admin_http->Stop();
  s.metrics_http->Stop();
  s.handler_pool->join();
  // Fetches still waiting are woken now, while the logs and the remote log they read live.
  s.events.Stop();
  // A copy waiting on its quota stops at once rather than after its wait.
  if (s.copy_throttle != nullptr) s.copy_throttle->Cancel();
  if (kafka) s.janitor->Stop();
  if (s.indexer.has_value()) {
    s.search_http->Stop();
    // Searches still on the API's pool finish now and post their answers to the stopped server,
    // which frees them; destroyed later, after search_http, they would post to a freed one.
    s.search_api.reset();
    s.indexer->Stop();
  }
  // Flushes every log and writes the clean-shutdown marker, so the next start skips the scan.
  absl::Status closed = s.logs->Close();
  if (!closed.ok()) return closed;
  if (forced) {
    spdlog::warn("shut down with connections still open 5 s after the signal");
  } else {
    spdlog::info("shut down cleanly");
  }
  return absl::OkStatus();
}

}  // namespace chronik::server
