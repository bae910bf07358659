#pragma once

// Accepts Kafka connections, frames requests (int32 size + payload, bounded by the maximum
// request size) and hands each frame to the dispatcher; answers go back in request order.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/session.h"
#include "chronik_monitoring/metrics.h"
#include "chronik_server/request_budget.h"
#include "chronik_server/tls.h"

namespace chronik::server {

struct ListenerOptions {
  // Kafka's listener name, given to every session of this listener.
  std::string listener_name = "PLAINTEXT";
  std::string bind_addr = "0.0.0.0";
  uint16_t port = 9092;
  int32_t max_request_size = 104857600;
  // Broker-wide bound on requests read but not yet decoded (see request_budget.h).
  int64_t queued_max_request_bytes = -1;
  int32_t queued_max_requests = 500;
  ingest::SecurityProtocol protocol = ingest::SecurityProtocol::kPlaintext;
  // SASL listeners: the mechanisms offered.
  std::vector<std::string> sasl_mechanisms;
  // SSL and SASL_SSL listeners: the current TLS endpoint (reloadable).
  const TlsHolder* tls = nullptr;
  // sasl.server.max.receive.size: the largest frame before a SASL client has authenticated.
  int32_t sasl_max_receive_size = 524288;
  // How long a connection may take to finish its TLS handshake and SASL authentication before it
  // is closed, so that one that never does holds nothing.
  int64_t authentication_timeout_ms = 10000;
  // Told of TLS client-certificate authentications and failed TLS handshakes.
  ingest::AuthenticationListener on_authentication;
  // The open connections of this listener (a metric), if given.
  monitoring::Gauge* connections = nullptr;
};

class KafkaListener {
 public:
  KafkaListener(boost::asio::io_context& io, const ingest::Dispatcher& dispatcher, ListenerOptions options);
  ~KafkaListener();

  // Binds; an address in use or not available is an error naming the address. The port takes
  // no connection until Listen, so that the broker can open it after its other ports.
  absl::Status Bind();
  absl::Status Listen();
  // Starts accepting on the io_context.
  void Start();
  // Stops accepting and closes every connection; safe from any thread.
  void Stop();

  uint16_t bound_port() const { return bound_port_; }

 private:
  class Connection;

  void Accept();
  void Forget(uint64_t id);

  boost::asio::io_context& io_;
  const ingest::Dispatcher& dispatcher_;
  const ListenerOptions options_;
  // The acceptor and its retry timer live on one strand, so Stop() never races an accept.
  boost::asio::strand<boost::asio::io_context::executor_type> accept_strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  uint16_t bound_port_ = 0;
  std::atomic<bool> stopping_{false};
  RequestBudget budget_;

  std::mutex mu_;  // guards the connection registry and, with it, the decision to stop
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;
};

}  // namespace chronik::server
