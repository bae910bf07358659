#pragma once

// Every entry of a records field, whatever its magic, starts with an int64 offset and an int32
// size counting the bytes after it; the magic byte sits at offset 16. Private to
// chronik_protocol/records.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/byte_io.h"

namespace chronik::protocol::records_internal {

inline constexpr size_t kEntryLogOverhead = 12;
inline constexpr size_t kEntrySizeOffset = 8;
inline constexpr size_t kEntryMagicOffset = 16;
// The smallest size any magic allows (a magic-0 message with null key and value); Kafka checks the
// size field against it before knowing the magic.
inline constexpr int32_t kMinEntrySize = 14;

// Size of the whole entry at the start of `rest`, or 0 if `rest` holds only the beginning of one.
// An impossible size field is corruption whether or not the entry is complete.
inline absl::StatusOr<size_t> NextEntrySize(std::string_view rest) {
  if (rest.size() < kEntryLogOverhead) return size_t{0};
  const auto size = static_cast<int32_t>(LoadBe32(rest.data() + kEntrySizeOffset));
  if (size < kMinEntrySize) {
    return absl::InvalidArgumentError(absl::StrCat("records: entry size ", size, " is below the minimum of ",
                                                   kMinEntrySize));
  }
  const size_t total = kEntryLogOverhead + static_cast<size_t>(size);
  return rest.size() < total ? size_t{0} : total;
}

}  // namespace chronik::protocol::records_internal
