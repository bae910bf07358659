// libFuzzer target: arbitrary bytes as the records of a Produce request (validated the way the
// broker will validate them) and as the records of a Fetch response (iterated the way a reader
// does, tolerating a partial trailing entry).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chronik_protocol/records/records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chronik::protocol;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr size_t kLimit = 4 << 20;
  (void)ValidateProducedRecords(bytes, kLimit);
  RecordsIterator it = RecordsIterator::ForFetch(bytes);
  RecordsEntry entry;
  while (it.Next(&entry)) {
    if (entry.batch.has_value()) {
      absl::StatusOr<RecordReader> reader = RecordReader::Create(*entry.batch, kLimit);
      if (!reader.ok()) continue;
      RecordView record;
      while (reader->Next(&record)) {
      }
    }
  }
  return 0;
}
