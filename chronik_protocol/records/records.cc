#include "chronik_protocol/records/records.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/entry_framing.h"
#include "chronik_protocol/records/status_util.h"

namespace chronik::protocol {

using records_internal::kEntryMagicOffset;
using records_internal::NextEntrySize;

absl::StatusOr<int8_t> DetectMagic(std::string_view records) {
  if (records.size() <= kEntryMagicOffset) {
    return absl::InvalidArgumentError(
        absl::StrCat("records: ", records.size(), " bytes are too few to hold a magic byte"));
  }
  const auto magic = static_cast<int8_t>(records[kEntryMagicOffset]);
  if (magic < 0 || magic > batch_v2::kMagic) {
    return absl::InvalidArgumentError(absl::StrCat("records: unknown magic ", magic));
  }
  return magic;
}

bool RecordsIterator::Fail(absl::Status status) {
  status_ = std::move(status);
  return false;
}

bool RecordsIterator::Next(RecordsEntry* entry) {
  if (done_ || !status_.ok()) return false;
  const std::string_view rest = data_.substr(position_);
  if (rest.empty()) {
    done_ = true;
    return false;
  }
  const absl::StatusOr<size_t> size = NextEntrySize(rest);
  if (!size.ok()) {
    return Fail(absl::Status(size.status().code(),
                             absl::StrCat(size.status().message(), " (at byte ", position_, ")")));
  }
  if (*size == 0) {
    if (partial_trailing_entry_ == PartialTrailingEntry::kReject) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("records: partial entry in the last ", rest.size(), " bytes")));
    }
    done_ = true;
    stopped_at_partial_ = true;
    return false;
  }
  const std::string_view bytes = rest.substr(0, *size);
  const absl::StatusOr<int8_t> magic = DetectMagic(bytes);
  if (!magic.ok()) return Fail(magic.status());

  RecordsEntry e;
  e.magic = *magic;
  e.bytes = bytes;
  if (e.magic == batch_v2::kMagic) {
    absl::StatusOr<RecordBatchView> batch = RecordBatchView::Parse(bytes, crc_check_);
    if (!batch.ok()) return Fail(batch.status());
    e.batch = *batch;
  } else {
    absl::StatusOr<LegacyMessageView> message = ParseLegacyMessage(bytes, crc_check_);
    if (!message.ok()) return Fail(message.status());
    e.message = *message;
  }
  position_ += *size;
  *entry = e;
  return true;
}

namespace {

void AddTimestamp(int64_t timestamp, ProducedRecordsSummary* summary) {
  summary->max_timestamp = std::max(summary->max_timestamp, timestamp);
  if (timestamp != kNoTimestamp) summary->min_timestamp = std::min(summary->min_timestamp, timestamp);
}

absl::Status AddBatch(const RecordBatchView& batch, size_t* budget, ProducedRecordsSummary* summary) {
  CHRONIK_RECORDS_ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Create(batch, *budget));
  if (batch.compression() != CompressionType::kNone) *budget -= reader.records_data().size();
  RecordView record;
  while (reader.Next(&record)) AddTimestamp(record.timestamp, summary);
  CHRONIK_RECORDS_RETURN_IF_ERROR(reader.status());
  summary->record_count += reader.records_read();
  summary->has_transactional |= batch.is_transactional();
  summary->has_control |= batch.is_control();
  return absl::OkStatus();
}

absl::Status AddLegacyMessage(const LegacyMessageView& message, size_t* budget, ProducedRecordsSummary* summary) {
  if (!message.is_compressed_wrapper()) {
    AddTimestamp(message.timestamp, summary);
    ++summary->record_count;
    return absl::OkStatus();
  }
  CHRONIK_RECORDS_ASSIGN_OR_RETURN(LegacyWrapperContents contents, ExpandLegacyWrapper(message, *budget));
  *budget -= contents.buffer->size();
  for (const LegacyMessageView& inner : contents.messages) {
    AddTimestamp(inner.timestamp, summary);
  }
  summary->record_count += static_cast<int64_t>(contents.messages.size());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ProducedRecordsSummary> ValidateProducedRecords(std::string_view records,
                                                               size_t max_decompressed_bytes) {
  ProducedRecordsSummary summary;
  size_t budget = max_decompressed_bytes;
  RecordsIterator it = RecordsIterator::ForProduce(records);
  RecordsEntry entry;
  while (it.Next(&entry)) {
    if (summary.entry_count == 0) {
      summary.magic = entry.magic;
      summary.compression = entry.batch ? entry.batch->compression() : entry.message->compression();
    } else if (entry.magic != summary.magic) {
      return absl::InvalidArgumentError(
          absl::StrCat("records: entries of magic ", summary.magic, " and ", entry.magic, " mixed"));
    }
    if (entry.batch) {
      CHRONIK_RECORDS_RETURN_IF_ERROR(AddBatch(*entry.batch, &budget, &summary));
    } else {
      CHRONIK_RECORDS_RETURN_IF_ERROR(AddLegacyMessage(*entry.message, &budget, &summary));
    }
    ++summary.entry_count;
  }
  CHRONIK_RECORDS_RETURN_IF_ERROR(it.status());
  if (summary.entry_count == 0) return absl::InvalidArgumentError("records: empty");
  return summary;
}

}  // namespace chronik::protocol
