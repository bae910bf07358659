#include "chronik_ingest/handler_table.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace chronik::ingest {

void HandlerTable::AddEntry(HandlerEntry entry) {
  const protocol::ApiDescriptor* api = protocol::FindApi(entry.api_key);
  // A handler for a version the codec cannot decode would be a programming error that no test
  // of a single API would notice; refuse it at start-up.
  if (api == nullptr || entry.min_version < api->min_version || entry.max_version > api->max_version ||
      entry.min_version > entry.max_version || entries_.count(entry.api_key) != 0) {
    std::abort();
  }
  entries_.emplace(entry.api_key, std::move(entry));
}

const HandlerEntry* HandlerTable::Find(int16_t api_key) const {
  auto it = entries_.find(api_key);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<SupportedVersions> HandlerTable::Supported() const {
  std::vector<SupportedVersions> out;
  out.reserve(entries_.size());
  for (const auto& [key, e] : entries_) out.push_back({key, e.min_version, e.max_version});
  return out;
}

}  // namespace chronik::ingest
