#include "chronik_storage/metadata_format.h"

#include "chronik_protocol/records/crc32c.h"

namespace chronik::storage::metadata_format {

uint32_t LoadU32(std::string_view data, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(data[pos + i])} << (8 * i);
  return v;
}

namespace {

constexpr char kLogMagic[8] = {'C', 'H', 'R', 'N', 'M', 'L', 'O', 'G'};
constexpr char kSnapshotMagic[8] = {'C', 'H', 'R', 'N', 'M', 'S', 'N', 'P'};
constexpr uint32_t kFormatVersion = 1;

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}

void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 8);
}

void PutBytes(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

void SetU32(std::string* out, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*out)[pos + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Bounds-checked decoding; every getter returns false once the input runs out.
class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}

  bool U8(uint8_t* v) {
    if (data_.size() - pos_ < 1) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U32(uint32_t* v) {
    if (data_.size() - pos_ < 4) return false;
    *v = LoadU32(data_, pos_);
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += 8;
    *v = r;
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Bytes(std::string_view* v) {
    uint32_t n;
    if (!U32(&n) || data_.size() - pos_ < n) return false;
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Raw(size_t n, std::string_view* v) {
    if (data_.size() - pos_ < n) return false;
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

int64_t EncodedRecordBytes(const std::vector<MetadataOp>& ops) {
  int64_t n = kRecordHeaderBytes + kRecordBodyMinBytes;
  for (const MetadataOp& op : ops) {
    n += 1 + 4 + static_cast<int64_t>(op.ns.size()) + 4 + static_cast<int64_t>(op.key.size());
    if (op.kind == MetadataOp::Kind::kPut) n += 4 + static_cast<int64_t>(op.value.size());
  }
  return n;
}

void EncodeRecord(int64_t revision, const std::vector<MetadataOp>& ops, std::string* out) {
  const size_t start = out->size();
  out->append(kRecordHeaderBytes, '\0');
  PutU64(out, static_cast<uint64_t>(revision));
  PutU32(out, static_cast<uint32_t>(ops.size()));
  for (const MetadataOp& op : ops) {
    out->push_back(static_cast<char>(op.kind));
    PutBytes(out, op.ns);
    PutBytes(out, op.key);
    if (op.kind == MetadataOp::Kind::kPut) PutBytes(out, op.value);
  }
  const size_t body = start + kRecordHeaderBytes;
  SetU32(out, start, static_cast<uint32_t>(out->size() - body));
  SetU32(out, start + 4, protocol::Crc32c(std::string_view(*out).substr(body)));
}

bool DecodeRecordBody(std::string_view body, int64_t* revision, std::vector<MetadataOp>* ops) {
  Decoder d(body);
  uint32_t count;
  if (!d.I64(revision) || !d.U32(&count)) return false;
  // Each op takes at least 9 bytes; a count beyond that is corrupt (and must not drive reserve()).
  if (count == 0 || count > body.size() / 9) return false;
  ops->clear();
  ops->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t kind;
    std::string_view ns, key, value;
    if (!d.U8(&kind) || !d.Bytes(&ns) || !d.Bytes(&key)) return false;
    if (kind == static_cast<uint8_t>(MetadataOp::Kind::kPut)) {
      if (!d.Bytes(&value)) return false;
      ops->push_back(MetadataOp::Put(std::string(ns), std::string(key), std::string(value)));
    } else if (kind == static_cast<uint8_t>(MetadataOp::Kind::kDelete)) {
      ops->push_back(MetadataOp::Delete(std::string(ns), std::string(key)));
    } else {
      return false;
    }
  }
  return d.done();
}

std::string SegmentHeader() {
  std::string h(kLogMagic, sizeof(kLogMagic));
  PutU32(&h, kFormatVersion);
  PutU32(&h, 0);
  return h;
}

void ApplyOps(State& state, std::vector<MetadataOp>& ops) {
  for (MetadataOp& op : ops) {
    auto it = state.find(op.ns);
    if (op.kind == MetadataOp::Kind::kPut) {
      if (it == state.end()) it = state.emplace(op.ns, KeyMap()).first;
      it->second.insert_or_assign(std::move(op.key), std::move(op.value));
    } else if (it != state.end()) {
      it->second.erase(op.key);
      if (it->second.empty()) state.erase(it);
    }
  }
}

// Snapshot file: magic, u32 version, i64 revision, u64 entry count, entries (ns, key, value as
// length-prefixed bytes), u32 CRC-32C of everything before it.
std::string EncodeSnapshot(const State& state, int64_t revision) {
  std::string out(kSnapshotMagic, sizeof(kSnapshotMagic));
  PutU32(&out, kFormatVersion);
  PutU64(&out, static_cast<uint64_t>(revision));
  uint64_t count = 0;
  for (const auto& [ns, keys] : state) count += keys.size();
  PutU64(&out, count);
  for (const auto& [ns, keys] : state) {
    for (const auto& [key, value] : keys) {
      PutBytes(&out, ns);
      PutBytes(&out, key);
      PutBytes(&out, value);
    }
  }
  PutU32(&out, protocol::Crc32c(out));
  return out;
}

bool DecodeSnapshot(std::string_view data, int64_t* revision, State* state) {
  if (data.size() < sizeof(kSnapshotMagic) + 4 + 8 + 8 + 4) return false;
  const std::string_view covered = data.substr(0, data.size() - 4);
  if (protocol::Crc32c(covered) != LoadU32(data, data.size() - 4)) return false;
  Decoder d(covered);
  std::string_view magic;
  uint32_t version;
  uint64_t count;
  if (!d.Raw(sizeof(kSnapshotMagic), &magic) ||
      magic != std::string_view(kSnapshotMagic, sizeof(kSnapshotMagic)) || !d.U32(&version) ||
      version != kFormatVersion || !d.I64(revision) || *revision < 0 || !d.U64(&count)) {
    return false;
  }
  state->clear();
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view ns, key, value;
    if (!d.Bytes(&ns) || !d.Bytes(&key) || !d.Bytes(&value)) return false;
    auto it = state->find(ns);
    if (it == state->end()) it = state->emplace(std::string(ns), KeyMap()).first;
    if (!it->second.emplace(std::string(key), std::string(value)).second) return false;
  }
  return d.done();
}

}  // namespace chronik::storage::metadata_format
