#include "chronik_storage/object_store/object_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chronik::storage::objects {

absl::Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) return absl::InvalidArgumentError("an object key has 1 to 1024 bytes");
  if (key.front() == '/' || key.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("object key ", std::string(key), ": no leading '/' or NUL"));
  }
  for (absl::string_view segment : absl::StrSplit(absl::string_view(key.data(), key.size()), '/')) {
    if (segment.empty() || segment == "." || segment == "..") {
      return absl::InvalidArgumentError(absl::StrCat("object key ", std::string(key), ": empty, . or .. segment"));
    }
  }
  return absl::OkStatus();
}

}  // namespace chronik::storage::objects
