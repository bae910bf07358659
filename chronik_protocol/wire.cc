#include "chronik_protocol/wire.h"

#include <algorithm>

namespace chronik::protocol {

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
