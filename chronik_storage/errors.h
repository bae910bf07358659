#pragma once

// How chronik_storage reports failures, so the broker can map them to Kafka error codes:
//
//   absl::StatusCode           raised when                                   Kafka error
//   kOutOfRange                read below the log start or above the LEO     OFFSET_OUT_OF_RANGE
//   kUnavailable               I/O failed (ENOSPC, EIO, EROFS, EACCES, ...)  KAFKA_STORAGE_ERROR
//                              or the partition went offline after one
//   kResourceExhausted         a batch larger than max.message.bytes         RECORD_TOO_LARGE
//   kInvalidArgument           malformed batch, not magic 2, empty append    INVALID_RECORD / CORRUPT_MESSAGE
//   kDataLoss                  batch CRC mismatch                            CORRUPT_MESSAGE
//   kFailedPrecondition        partition deleted, manager closed, data dir   (internal)
//                              locked by another process
//
// I/O error messages name the operation, the file and errno (name and text).

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace chronik::storage {

inline bool IsStorageError(const absl::Status& status) { return status.code() == absl::StatusCode::kUnavailable; }

// Debian's Abseil has its own string_view; this bridges std::string_view into Abseil calls.
inline absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// "storage error: <what> <path>: <strerror> (<ENAME>)", as a kUnavailable status.
absl::Status IoError(std::string_view what, std::string_view path, int err);

// "ENOSPC" for ENOSPC, and so on for the errno values storage code meets; "errno N" otherwise.
std::string ErrnoName(int err);

}  // namespace chronik::storage
