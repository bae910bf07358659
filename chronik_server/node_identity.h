#pragma once

// The broker's identity on disk: a cluster id created once and kept in <data-dir>/meta.properties
// (the file and keys Kafka uses), so that clients see the same cluster across restarts.

#include <string>

#include "absl/status/statusor.h"

namespace chronik::server {

struct NodeIdentity {
  std::string cluster_id;
  int node_id = 1;
};

absl::StatusOr<NodeIdentity> LoadOrCreateNodeIdentity(const std::string& data_dir);

}  // namespace chronik::server
