#include "chronik_protocol/wire.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace chronik::protocol {

absl::Status SharedRange::AppendTo(std::string* out) const {
  if (memory != nullptr) {
    out->append(memory + position, static_cast<size_t>(size));
    return absl::OkStatus();
  }
  const size_t start = out->size();
  out->resize(start + static_cast<size_t>(size));
  int64_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out->data() + start + done, static_cast<size_t>(size - done), position + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out->resize(start);
      return n == 0 ? absl::DataLossError(absl::StrCat("file ends before byte ", position + size))
                    : absl::InternalError(absl::StrCat("pread: ", std::strerror(errno)));
    }
    done += n;
  }
  return absl::OkStatus();
}

int64_t Records::size() const {
  int64_t n = static_cast<int64_t>(bytes.size());
  for (const SharedRange& f : shared) n += f.size;
  return n;
}

absl::StatusOr<std::string> Records::Flatten() const {
  std::string out;
  out.reserve(static_cast<size_t>(size()));
  out.append(bytes);
  for (const SharedRange& f : shared) {
    if (absl::Status s = f.AppendTo(&out); !s.ok()) return s;
  }
  return out;
}

int64_t SplicedBytes::size() const {
  int64_t n = static_cast<int64_t>(bytes.size());
  for (const Splice& s : splices) n += s.range.size;
  return n;
}

absl::StatusOr<std::string> SplicedBytes::Flatten() const {
  std::string out;
  out.reserve(static_cast<size_t>(size()));
  size_t at = 0;
  for (const Splice& s : splices) {
    out.append(bytes, at, s.at - at);
    at = s.at;
    if (absl::Status st = s.range.AppendTo(&out); !st.ok()) return st;
  }
  out.append(bytes, at, std::string::npos);
  return out;
}

void WriteTaggedFields(Writer& w, std::vector<TaggedField>&& known,
                       const std::vector<TaggedField>& unknown) {
  known.insert(known.end(), unknown.begin(), unknown.end());
  std::sort(known.begin(), known.end(),
            [](const TaggedField& a, const TaggedField& b) { return a.tag < b.tag; });
  w.WriteUnsignedVarint(static_cast<uint32_t>(known.size()));
  for (const TaggedField& f : known) {
    w.WriteUnsignedVarint(f.tag);
    w.WriteUnsignedVarint(static_cast<uint32_t>(f.data.size()));
    w.WriteRaw(f.data);
  }
}

}  // namespace chronik::protocol
