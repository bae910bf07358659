#pragma once

// Producer ids for InitProducerId, never handed out twice, even across restarts and kill -9: ids
// come in blocks, and a block's end is durable in the metadata store before any id of it is
// handed out, so a restarted broker starts after the last block (skipping what was unused).

#include <cstdint>
#include <mutex>
#include <string_view>

#include "absl/status/statusor.h"
#include "chronik_storage/metadata_store.h"

namespace chronik::ingest {

class ProducerIdManager {
 public:
  static constexpr std::string_view kNamespace = "producer_ids";
  static constexpr std::string_view kBlockEndKey = "block_end";
  static constexpr int64_t kBlockSize = 1000;

  explicit ProducerIdManager(storage::MetadataStore& store) : store_(store) {}

  // The next unused id; an error if a new block could not be made durable.
  absl::StatusOr<int64_t> Next();

 private:
  storage::MetadataStore& store_;
  std::mutex mu_;
  int64_t next_ = -1;
  int64_t block_end_ = -1;
};

}  // namespace chronik::ingest
