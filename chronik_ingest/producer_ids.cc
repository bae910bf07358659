#include "chronik_ingest/producer_ids.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chronik::ingest {

absl::StatusOr<int64_t> ProducerIdManager::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ < 0 || next_ >= block_end_) {
    int64_t stored = 0;
    if (std::optional<std::string> v = store_.Get(kNamespace, kBlockEndKey); v.has_value()) {
      if (!absl::SimpleAtoi(*v, &stored) || stored < 0 || stored > std::numeric_limits<int64_t>::max() / 2) {
        return absl::DataLossError(absl::StrCat("stored producer id block end is not a number: ", *v));
      }
    }
    const int64_t start = std::max(stored, next_);
    const int64_t end = start + kBlockSize;
    if (absl::Status s = store_.Put(kNamespace, kBlockEndKey, absl::StrCat(end)); !s.ok()) return s;
    next_ = start;
    block_end_ = end;
  }
  return next_++;
}

}  // namespace chronik::ingest
