#pragma once

// Status helpers private to chronik_protocol/records. Debian's Abseil 20220623 ships no status
// macros, and it is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), so
// std::string_view needs an explicit bridge into StrCat and Status messages.

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chronik::protocol::records_internal {

inline absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace chronik::protocol::records_internal

#define CHRONIK_RECORDS_CONCAT_INNER(a, b) a##b
#define CHRONIK_RECORDS_CONCAT(a, b) CHRONIK_RECORDS_CONCAT_INNER(a, b)

#define CHRONIK_RECORDS_RETURN_IF_ERROR(expr)                         \
  do {                                                                \
    ::absl::Status chronik_records_status_ = (expr);                  \
    if (!chronik_records_status_.ok()) return chronik_records_status_; \
  } while (false)

#define CHRONIK_RECORDS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                          \
  if (!tmp.ok()) return std::move(tmp).status();              \
  lhs = std::move(tmp).value()

// `lhs` may declare a variable: CHRONIK_RECORDS_ASSIGN_OR_RETURN(auto view, Parse(bytes));
#define CHRONIK_RECORDS_ASSIGN_OR_RETURN(lhs, expr) \
  CHRONIK_RECORDS_ASSIGN_OR_RETURN_IMPL(CHRONIK_RECORDS_CONCAT(chronik_records_statusor_, __LINE__), lhs, expr)
