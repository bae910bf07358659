#pragma once

// The metadata store's bytes on disk: log segments (a header, then one record per applied batch of
// operations: its body's length and CRC-32C, the revision and the operations) and snapshots of the
// whole state. Used by metadata_store.cc only; apart from it so that the store's file handling and
// its encoding read separately.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "chronik_storage/metadata_store.h"

namespace chronik::storage::metadata_format {

// The same types as MetadataStore's state (namespace -> key -> value), spelled alike there so
// that the store passes its state here as it is.
using KeyMap = std::map<std::string, std::string, std::less<>>;
using State = std::map<std::string, KeyMap, std::less<>>;

inline constexpr int64_t kSegmentHeaderBytes = 16;  // magic, u32 version, u32 zero
inline constexpr int64_t kRecordHeaderBytes = 8;    // u32 body length, u32 CRC-32C of body
inline constexpr int64_t kRecordBodyMinBytes = 12;  // i64 revision, u32 op count

// The little-endian u32 at `pos` (the caller checked the bounds).
uint32_t LoadU32(std::string_view data, size_t pos);

// A segment's first kSegmentHeaderBytes.
std::string SegmentHeader();

// The bytes EncodeRecord appends for `ops`.
int64_t EncodedRecordBytes(const std::vector<MetadataOp>& ops);
// Appends the record of `ops` at `revision`: header (body length, CRC-32C of the body), then body.
void EncodeRecord(int64_t revision, const std::vector<MetadataOp>& ops, std::string* out);
// A record's body (its CRC already checked); false if it does not decode exactly.
bool DecodeRecordBody(std::string_view body, int64_t* revision, std::vector<MetadataOp>* ops);

// Applies `ops` to `state`, moving their keys and values.
void ApplyOps(State& state, std::vector<MetadataOp>& ops);

std::string EncodeSnapshot(const State& state, int64_t revision);
// False unless `data` is a whole snapshot whose checksum holds.
bool DecodeSnapshot(std::string_view data, int64_t* revision, State* state);

}  // namespace chronik::storage::metadata_format
