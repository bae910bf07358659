#include "chronik_protocol/errors.h"

namespace chronik::protocol {

// The switches are generated from the table so each fact is written once; a switch over
// every enumerator also lets the compiler turn the number lookup into a jump table.

std::string_view ErrorName(ErrorCode code) {
  switch (code) {
#define CHRONIK_ERROR_NAME_CASE(enumerator, number, name, retriable) \
  case ErrorCode::enumerator:                                        \
    return name;
    CHRONIK_KAFKA_ERROR_CODES(CHRONIK_ERROR_NAME_CASE)
#undef CHRONIK_ERROR_NAME_CASE
  }
  return "UNKNOWN_SERVER_ERROR";
}

bool IsRetriable(ErrorCode code) {
  switch (code) {
#define CHRONIK_ERROR_RETRIABLE_CASE(enumerator, number, name, retriable) \
  case ErrorCode::enumerator:                                             \
    return retriable;
    CHRONIK_KAFKA_ERROR_CODES(CHRONIK_ERROR_RETRIABLE_CASE)
#undef CHRONIK_ERROR_RETRIABLE_CASE
  }
  return false;
}

ErrorCode ErrorCodeFromInt(int16_t number) {
  switch (number) {
#define CHRONIK_ERROR_NUMBER_CASE(enumerator, num, name, retriable) \
  case num:                                                         \
    return ErrorCode::enumerator;
    CHRONIK_KAFKA_ERROR_CODES(CHRONIK_ERROR_NUMBER_CASE)
#undef CHRONIK_ERROR_NUMBER_CASE
    default:
      return ErrorCode::kUnknownServerError;
  }
}

}  // namespace chronik::protocol
