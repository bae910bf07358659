#pragma once

// An Elasticsearch-compatible HTTP API over the search indexes (--search-port): index names are
// topic names (with wildcards and _all), documents are records (_id "partition-offset", with the
// topic, partition and offset in every hit). GET / answers as Elasticsearch does, so that its
// clients accept the server; _search, _count, _msearch, _mapping, _cat/indices and _doc serve the
// query DSL of query.h and the aggregations terms, histogram, date_histogram, range, stats, min,
// max, avg, sum, value_count and cardinality. Errors have Elasticsearch's shape and status.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chronik_auth/credential_store.h"
#include "chronik_auth/http_auth.h"
#include "chronik_monitoring/http_server.h"
#include "chronik_search/indexer.h"

namespace chronik::search {

struct SearchApiOptions {
  std::string cluster_name = "chronik";
  std::string cluster_uuid;
  std::string node_name;
  // Authentication as on the admin API; null credentials: Basic fails.
  bool require_authentication = false;
  const auth::CredentialStore* credentials = nullptr;
  std::optional<auth::BearerToken> token;
  // Whether the principal ("User:name", "User:ANONYMOUS") may READ the topic, from the peer host;
  // null: everyone may.
  std::function<bool(const std::string& principal, const std::string& host, const std::string& topic)> may_read;
  // Searches end after this; a request's "timeout" may ask for less.
  std::chrono::milliseconds max_timeout{30000};
  // Threads that run searches (never the HTTP server's own thread, nor a Kafka network thread).
  int threads = 2;
};

class SearchApi {
 public:
  SearchApi(const Indexer& indexer, SearchApiOptions options);
  ~SearchApi();

  // Serves every request of the search port; `reply` is called once, from a search thread.
  void Handle(monitoring::HttpRequest request, monitoring::HttpServer::Reply reply);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronik::search
