#include "chronik_storage/compaction.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/partition_log.h"
#include "chronik_storage/segment.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage {
namespace {

namespace fs = std::filesystem;
using protocol::CompressionType;
using protocol::RecordBatchBuilder;
using protocol::RecordBatchView;
using protocol::RecordReader;
using protocol::RecordView;
using testing::AppendSync;
using testing::ReadAll;
using testing::TempDir;

using Bytes = std::optional<std::string>;

struct Rec {
  Bytes key;
  Bytes value;
  friend bool operator==(const Rec&, const Rec&) = default;
};

// One record as read back, with the batch it came in.
struct ReadRec {
  int64_t offset = 0;
  int64_t timestamp = 0;
  Rec rec;
  int64_t batch_base = 0;
  CompressionType compression = CompressionType::kNone;
  bool transactional = false;
  bool control = false;
  std::optional<int64_t> delete_horizon;
  std::vector<std::pair<std::string, Bytes>> headers;
};

std::string Batch(const std::vector<Rec>& records, int64_t timestamp,
                  CompressionType compression = CompressionType::kNone, RecordBatchBuilder::Options options = {}) {
  options.compression = compression;
  RecordBatchBuilder builder(options);
  for (size_t i = 0; i < records.size(); ++i) {
    std::optional<std::string_view> key, value;
    if (records[i].key) key = *records[i].key;
    if (records[i].value) value = *records[i].value;
    protocol::RecordHeader header{"h", std::string_view("hv")};
    EXPECT_TRUE(builder.Append(timestamp + static_cast<int64_t>(i), key, value, {&header, 1}).ok());
  }
  auto batch = builder.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *batch : std::string();
}

std::vector<ReadRec> Records(const PartitionLog& log) {
  std::vector<ReadRec> out;
  auto batches = ReadAll(log);
  EXPECT_TRUE(batches.ok()) << batches.status();
  if (!batches.ok()) return out;
  int64_t last = -1;
  for (const auto& b : *batches) {
    auto view = RecordBatchView::Parse(b.bytes);
    EXPECT_TRUE(view.ok()) << view.status();
    if (!view.ok()) continue;
    EXPECT_GT(view->base_offset(), last);
    auto reader = RecordReader::Create(*view, 64 << 20);
    EXPECT_TRUE(reader.ok());
    RecordView r;
    while (reader->Next(&r)) {
      ReadRec rr;
      rr.offset = r.offset;
      rr.timestamp = r.timestamp;
      if (r.key) rr.rec.key = std::string(*r.key);
      if (r.value) rr.rec.value = std::string(*r.value);
      rr.batch_base = view->base_offset();
      rr.compression = view->compression();
      rr.transactional = view->is_transactional();
      rr.control = view->is_control();
      rr.delete_horizon = view->delete_horizon_ms();
      for (const auto& h : r.headers) {
        rr.headers.emplace_back(std::string(h.key), h.value ? Bytes(std::string(*h.value)) : std::nullopt);
      }
      EXPECT_GT(rr.offset, last);
      EXPECT_LE(rr.offset, view->last_offset());
      last = rr.offset;
      out.push_back(std::move(rr));
    }
    EXPECT_TRUE(reader->status().ok()) << reader->status();
    last = view->last_offset();
  }
  return out;
}

std::map<int64_t, Rec> AsMap(const std::vector<ReadRec>& records) {
  std::map<int64_t, Rec> m;
  for (const auto& r : records) m[r.offset] = r.rec;
  return m;
}

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.cleanup_delete = false;
    config_.cleanup_compact = true;
    config_.segment_bytes = 1024;
    config_.index_interval_bytes = 200;
    Reopen();
  }

  void Reopen() {
    log_.reset();
    manager_.reset();
    LogManager::Options options;
    options.clock_ms = [this] { return now_ms_.load(); };
    options.default_config = config_;
    auto m = LogManager::Open(dir_.path(), options);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    log_ = manager_->Get({"t", PartitionId(0)});
  }

  void CloseAndReopen(bool clean) {
    log_.reset();
    ASSERT_TRUE(manager_->Close().ok());
    if (!clean) fs::remove(dir_.path() + "/" + kCleanShutdownFileName);
    Reopen();
    ASSERT_NE(log_, nullptr);
  }

  void NewLog() {
    auto log = manager_->Create({"t", PartitionId(0)}, config_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *log;
  }

  std::string PartitionDir() const { return dir_.path() + "/t-0"; }

  // Appends `records` as one batch and remembers them at their offsets.
  void Append(const std::vector<Rec>& records, int64_t timestamp = -1,
              CompressionType compression = CompressionType::kNone, RecordBatchBuilder::Options options = {}) {
    auto r = AppendSync(*log_, Batch(records, timestamp < 0 ? now_ms_.load() : timestamp, compression, options));
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < records.size(); ++i) appended_[r->base_offset.value() + static_cast<int64_t>(i)] = records[i];
  }

  void Put(const std::string& key, const std::string& value, int64_t timestamp = -1) {
    Append({{key, value}}, timestamp);
  }

  // What compaction should leave: every record at or above `cleaned_up_to`, and below it those
  // with a null key or that are the last of their key (except tombstones if `drop_tombstones`).
  std::map<int64_t, Rec> Expected(int64_t cleaned_up_to, bool drop_tombstones = false) const {
    std::map<std::string, int64_t> latest;
    for (const auto& [offset, rec] : appended_) {
      if (rec.key) latest[*rec.key] = offset;
    }
    std::map<int64_t, Rec> out;
    for (const auto& [offset, rec] : appended_) {
      if (offset >= cleaned_up_to || !rec.key) {
        out[offset] = rec;
      } else if (latest[*rec.key] == offset && !(drop_tombstones && !rec.value)) {
        out[offset] = rec;
      }
    }
    return out;
  }

  absl::StatusOr<CompactionResult> Compact() { return log_->Compact(now_ms_); }

  TempDir dir_;
  LogConfig config_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<LogManager> manager_;
  std::shared_ptr<PartitionLog> log_;
  std::map<int64_t, Rec> appended_;
};

TEST_F(CompactionTest, KeepsLastValuePerKeyAcrossManySegments) {
  NewLog();
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 10; ++k) Put("key" + std::to_string(k), "value-" + std::to_string(round) + std::string(40, 'x'));
  }
  const auto segments_before = log_->segments();
  ASSERT_GT(segments_before.size(), 10u);
  const Offset start = log_->log_start_offset(), hw = log_->high_watermark(), end = log_->log_end_offset();

  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->segments_examined, static_cast<int>(segments_before.size()) - 1);
  EXPECT_GT(r->segments_cleaned, 0);
  EXPECT_EQ(r->cleaned_up_to, segments_before.back().base_offset);
  EXPECT_EQ(r->records_before, segments_before.back().base_offset.value());
  EXPECT_LT(r->records_after, r->records_before);
  EXPECT_EQ(r->records_before - r->records_after, r->records_removed);
  EXPECT_LT(r->bytes_after, r->bytes_before);
  EXPECT_EQ(r->tombstones_removed, 0);
  EXPECT_EQ(r->distinct_keys, 10);
  EXPECT_GE(r->duration_us, 0);

  EXPECT_EQ(log_->log_start_offset(), start);
  EXPECT_EQ(log_->high_watermark(), hw);
  EXPECT_EQ(log_->log_end_offset(), end);
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value()));
  // Segment boundaries stay; only their contents shrink.
  const auto segments_after = log_->segments();
  ASSERT_EQ(segments_after.size(), segments_before.size());
  int64_t size_after = 0;
  for (size_t i = 0; i < segments_after.size(); ++i) {
    EXPECT_EQ(segments_after[i].base_offset, segments_before[i].base_offset);
    size_after += segments_after[i].size_bytes;
  }
  EXPECT_EQ(size_after, log_->size_bytes());

  // Headers and timestamps survive the rebuild.
  for (const auto& rec : Records(*log_)) {
    ASSERT_EQ(rec.headers.size(), 1u);
    EXPECT_EQ(rec.headers[0].first, "h");
    EXPECT_EQ(rec.headers[0].second, Bytes("hv"));
    EXPECT_EQ(rec.timestamp, now_ms_.load());
  }

  // A second pass finds nothing more to do.
  auto again = Compact();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->segments_cleaned, 0);
  EXPECT_EQ(again->records_removed, 0);
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value()));

  // Appends continue at the end.
  Put("key0", "after");
  EXPECT_EQ(log_->log_end_offset(), Offset(end.value() + 1));
}

TEST_F(CompactionTest, OffsetsPreservedAndGapsVisibleToReads) {
  NewLog();
  // Batches of several records with some keys repeated later: the rebuilt batches keep their base
  // offset and last offset, with holes in between.
  for (int i = 0; i < 12; ++i) {
    Append({{"a" + std::to_string(i), "1"}, {"shared", std::to_string(i)}, {"b" + std::to_string(i), "1"}});
  }
  Put("a3", "new");  // removes offset 9
  for (int i = 0; i < 10; ++i) Put("tail" + std::to_string(i), std::string(200, 't'));
  auto before = ReadAll(*log_);
  ASSERT_TRUE(before.ok());
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GT(r->cleaned_up_to.value(), 37);
  auto after = ReadAll(*log_);
  ASSERT_TRUE(after.ok());
  // Every batch is still there (none became empty) with its original offsets.
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].base_offset, (*before)[i].base_offset);
    EXPECT_EQ((*after)[i].last_offset, (*before)[i].last_offset);
    EXPECT_EQ((*after)[i].leader_epoch, (*before)[i].leader_epoch);
  }
  auto records = AsMap(Records(*log_));
  EXPECT_EQ(records, Expected(r->cleaned_up_to.value()));
  EXPECT_EQ(records.count(1), 0u);   // "shared" of batch 0
  EXPECT_EQ(records.count(9), 0u);   // a3
  EXPECT_EQ(records.count(34), 1u);  // the last "shared" (batch 11)

  // A read from a removed offset returns the batch holding it, minus the record.
  auto read = log_->Read(Offset(9), 1);
  ASSERT_TRUE(read.ok());
  auto bytes = read->records.Flatten();
  ASSERT_TRUE(bytes.ok());
  auto view = RecordBatchView::Parse(*bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->base_offset(), 9);
  EXPECT_EQ(view->last_offset(), 11);
  EXPECT_EQ(view->records_count(), 1);  // b3; "shared" at 10 is superseded too
  auto reader = RecordReader::Create(*view, 1 << 20);
  ASSERT_TRUE(reader.ok());
  RecordView rec;
  ASSERT_TRUE(reader->Next(&rec));
  EXPECT_EQ(rec.offset, 11);
  EXPECT_EQ(*rec.key, "b3");
}

TEST_F(CompactionTest, EmptiedBatchesAndSegmentsAreDroppedAndReadsSkipThem) {
  config_.segment_ms = 1'000;
  NewLog();
  for (int i = 0; i < 30; ++i) Put("same", std::string(100, 'a' + i % 26));
  // The last copy goes into a segment of its own (rolled by age).
  now_ms_ += 2'000;
  Put("same", "last");
  ASSERT_EQ(log_->segments().back().base_offset, Offset(30));
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value()));
  // Every closed segment is now empty, yet still in the log.
  const auto segments = log_->segments();
  for (size_t i = 0; i + 1 < segments.size(); ++i) EXPECT_EQ(segments[i].size_bytes, 0) << i;
  EXPECT_EQ(log_->log_start_offset(), Offset(0));
  auto read = log_->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok());
  auto batches = testing::SplitBatches(*read->records.Flatten());
  ASSERT_TRUE(batches.ok());
  ASSERT_FALSE(batches->empty());
  EXPECT_EQ(batches->front().base_offset, r->cleaned_up_to.value());

  // Clean and unclean reopen: same content, same offsets, appendable.
  const auto expected = AsMap(Records(*log_));
  for (bool clean : {true, false}) {
    CloseAndReopen(clean);
    EXPECT_EQ(AsMap(Records(*log_)), expected);
    EXPECT_EQ(log_->log_start_offset(), Offset(0));
    EXPECT_EQ(log_->log_end_offset(), Offset(31));
  }
  auto next = AppendSync(*log_, Batch({{"k", "v"}}, now_ms_));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->base_offset, Offset(31));
}

TEST_F(CompactionTest, KeyRewrittenInActiveSegmentRemovesOlderCopies) {
  NewLog();
  for (int i = 0; i < 20; ++i) Put("k" + std::to_string(i), std::string(100, 'o'));
  const Offset active_base = log_->segments().back().base_offset;
  LogConfig big = config_;
  big.segment_bytes = 1 << 20;
  log_->UpdateConfig(big);
  // Rewrite k0..k4 so the new values land in the active segment.
  for (int i = 0; i < 5; ++i) Put("k" + std::to_string(i), "new");
  ASSERT_EQ(log_->segments().back().base_offset, active_base);
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cleaned_up_to, active_base);
  EXPECT_EQ(r->records_removed, 5);
  auto records = AsMap(Records(*log_));
  EXPECT_EQ(records, Expected(active_base.value()));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(records.count(i), 0u);
  EXPECT_EQ(records.count(5), 1u);
}

TEST_F(CompactionTest, TombstonesKeptUntilDeleteRetentionThenRemoved) {
  config_.delete_retention_ms = 60'000;
  NewLog();
  for (int i = 0; i < 10; ++i) Put("k" + std::to_string(i), std::string(100, 'v'));
  Append({{"k1", std::nullopt}, {"k2", std::nullopt}, {"k3", "alive"}});
  for (int i = 0; i < 20; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  const int64_t t0 = now_ms_;

  // First pass: the superseded values go, the tombstones stay and get a delete horizon.
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tombstones_removed, 0);
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value()));
  for (const auto& rec : Records(*log_)) {
    if (rec.rec.key == Bytes("k1")) {
      ASSERT_TRUE(rec.delete_horizon.has_value());
      EXPECT_EQ(*rec.delete_horizon, t0 + 60'000);
      EXPECT_EQ(rec.timestamp, t0);  // record timestamps still read right
    }
  }

  // Before the horizon they stay (also across a reopen).
  CloseAndReopen(true);
  now_ms_ = t0 + 59'999;
  r = Compact();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tombstones_removed, 0);
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value()));

  // At the horizon they go.
  now_ms_ = t0 + 60'000;
  r = Compact();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tombstones_removed, 2);
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value(), /*drop_tombstones=*/true));
  auto records = AsMap(Records(*log_));
  EXPECT_EQ(records.count(10), 0u);
  EXPECT_EQ(records.count(11), 0u);
  EXPECT_EQ(records.at(12), (Rec{"k3", "alive"}));
}

TEST_F(CompactionTest, SupersededTombstoneGoesAtOnce) {
  NewLog();
  Put("k", "v1");
  Append({{"k", std::nullopt}});
  Put("k", "v2");
  for (int i = 0; i < 20; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  auto r = Compact();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tombstones_removed, 1);
  auto records = AsMap(Records(*log_));
  EXPECT_EQ(records.count(0), 0u);
  EXPECT_EQ(records.count(1), 0u);
  EXPECT_EQ(records.at(2), (Rec{"k", "v2"}));
}

TEST_F(CompactionTest, MinCompactionLagProtectsRecentBatches) {
  config_.min_compaction_lag_ms = 10'000;
  NewLog();
  const int64_t now = now_ms_;
  for (int i = 0; i < 10; ++i) Put("old", std::string(100, 'a' + i), now - 20'000);
  for (int i = 0; i < 10; ++i) Put("young", std::string(100, 'a' + i), now - 5'000);
  for (int i = 0; i < 10; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  // Rewrite both keys at the end, so every earlier copy is superseded.
  Put("old", "last");
  Put("young", "last");
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  auto records = AsMap(Records(*log_));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(records.count(i), 0u) << "old copy " << i << " removed";
  for (int i = 10; i < 20; ++i) EXPECT_EQ(records.count(i), 1u) << "young copy " << i << " kept";
  // The young batches are not clean: what the pass reports as cleaned stops before them, so a
  // scheduler comes back for them.
  EXPECT_GT(r->batches_too_young, 0);
  EXPECT_LE(r->cleaned_up_to.value(), 10);
  // Once they are old enough, they go too.
  now_ms_ = now + 10'000;
  r = Compact();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batches_too_young, 0);
  records = AsMap(Records(*log_));
  EXPECT_EQ(records, Expected(r->cleaned_up_to.value()));
}

TEST_F(CompactionTest, NullKeyRecordsAreKept) {
  NewLog();
  for (int i = 0; i < 10; ++i) {
    Append({{std::nullopt, "anon" + std::to_string(i)}, {"k", std::to_string(i)}, {std::nullopt, std::nullopt}});
  }
  for (int i = 0; i < 20; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  auto records = AsMap(Records(*log_));
  EXPECT_EQ(records, Expected(r->cleaned_up_to.value()));
  int nulls = 0;
  for (const auto& [offset, rec] : records) nulls += rec.key.has_value() ? 0 : 1;
  EXPECT_EQ(nulls, 20);
  EXPECT_EQ(r->records_removed, 9);
}

TEST_F(CompactionTest, CompressedBatchesKeepTheirCodec) {
  config_.segment_bytes = 4096;
  NewLog();
  const CompressionType codecs[] = {CompressionType::kGzip, CompressionType::kLz4, CompressionType::kZstd,
                                    CompressionType::kSnappy};
  for (int round = 0; round < 8; ++round) {
    for (CompressionType c : codecs) {
      std::vector<Rec> recs;
      for (int i = 0; i < 10; ++i) {
        recs.push_back({"c" + std::to_string(static_cast<int>(c)) + "-" + std::to_string(i % 5),
                        "r" + std::to_string(round) + std::string(50, 'z')});
      }
      Append(recs, -1, c);
    }
  }
  for (int i = 0; i < 40; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  std::map<int64_t, CompressionType> codec_before;
  for (const auto& rec : Records(*log_)) codec_before[rec.offset] = rec.compression;
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->segments_cleaned, 0);
  EXPECT_GT(r->records_removed, 0);
  const auto records = Records(*log_);
  EXPECT_EQ(AsMap(records), Expected(r->cleaned_up_to.value()));
  std::set<CompressionType> seen;
  for (const auto& rec : records) {
    EXPECT_EQ(rec.compression, codec_before.at(rec.offset)) << rec.offset;
    seen.insert(rec.compression);
  }
  EXPECT_EQ(seen.size(), 5u);  // four codecs and the uncompressed filler
}

TEST_F(CompactionTest, ControlAndTransactionalBatchesAreKept) {
  NewLog();
  RecordBatchBuilder::Options txn;
  txn.transactional = true;
  txn.producer_id = 42;
  txn.producer_epoch = 3;
  txn.base_sequence = 0;
  Append({{"k", "txn-1"}, {"k", "txn-2"}}, -1, CompressionType::kNone, txn);
  protocol::EndTransactionMarkerBatch marker;
  marker.producer_id = 42;
  marker.producer_epoch = 3;
  marker.timestamp_ms = now_ms_;
  auto control = protocol::BuildEndTransactionMarkerBatch(marker);
  ASSERT_TRUE(control.ok());
  ASSERT_TRUE(AppendSync(*log_, *control).ok());
  const int64_t control_offset = 2;
  // An idempotent, non-transactional batch whose first record is superseded later.
  RecordBatchBuilder::Options idem;
  idem.producer_id = 7;
  idem.producer_epoch = 1;
  idem.base_sequence = 100;
  Append({{"i", "old"}, {"j", "kept"}}, -1, CompressionType::kNone, idem);
  Put("k", "plain");  // supersedes nothing transactional
  Put("i", "new");
  for (int i = 0; i < 20; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  auto before = ReadAll(*log_);
  ASSERT_TRUE(before.ok());

  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  auto after = ReadAll(*log_);
  ASSERT_TRUE(after.ok());
  // The transactional and control batches are byte for byte what they were.
  EXPECT_EQ((*after)[0].bytes, (*before)[0].bytes);
  EXPECT_EQ((*after)[1].bytes, (*before)[1].bytes);
  auto records = Records(*log_);
  EXPECT_TRUE(records[0].transactional);
  EXPECT_EQ(records[0].rec.value, Bytes("txn-1"));
  EXPECT_EQ(records[1].rec.value, Bytes("txn-2"));
  EXPECT_TRUE(records[2].control);
  EXPECT_EQ(records[2].offset, control_offset);
  // The idempotent batch was rebuilt with its producer fields and original offsets.
  auto view = RecordBatchView::Parse((*after)[2].bytes);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->base_offset(), 3);
  EXPECT_EQ(view->last_offset(), 4);
  EXPECT_EQ(view->records_count(), 1);
  EXPECT_EQ(view->producer_id(), 7);
  EXPECT_EQ(view->producer_epoch(), 1);
  EXPECT_EQ(view->base_sequence(), 100);
  EXPECT_EQ(view->partition_leader_epoch(), (*before)[2].leader_epoch);
  EXPECT_FALSE(view->is_transactional());
  // "k" written outside the transaction stays too: it is the last non-transactional copy.
  auto m = AsMap(records);
  EXPECT_EQ(m.at(5), (Rec{"k", "plain"}));
  EXPECT_EQ(m.count(3), 0u);
}

// An idempotent producer's last batch is never dropped whole, even when every record in it is
// superseded: the producer state is rebuilt from it at the next load (Kafka keeps it too).
TEST_F(CompactionTest, AnIdempotentProducersLastBatchIsKept) {
  NewLog();
  RecordBatchBuilder::Options p;
  p.producer_id = 9;
  p.producer_epoch = 0;
  p.base_sequence = 0;
  Append({{"a", "1"}}, -1, CompressionType::kNone, p);
  p.base_sequence = 1;
  Append({{"a", "2"}}, -1, CompressionType::kNone, p);  // the producer's last batch
  Put("a", "3");                                        // supersedes both
  for (int i = 0; i < 20; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  auto m = AsMap(Records(*log_));
  EXPECT_EQ(m.count(0), 0u) << "an earlier batch of the producer goes";
  EXPECT_EQ(m.count(1), 1u) << "its last batch stays";
  EXPECT_EQ(m.count(2), 1u);
}

TEST_F(CompactionTest, LogAppendTimeBatchesKeepTheirTimestamp) {
  config_.log_append_time = true;
  NewLog();
  for (int i = 0; i < 20; ++i) Append({{"a", std::to_string(i)}, {"b" + std::to_string(i), "x"}}, 5);
  for (int i = 0; i < 20; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->records_removed, 0);
  for (const auto& rec : Records(*log_)) EXPECT_EQ(rec.timestamp, now_ms_.load());
  EXPECT_EQ(AsMap(Records(*log_)), Expected(r->cleaned_up_to.value()));
}

TEST_F(CompactionTest, ConcurrentReadsAndAppendsDuringCompaction) {
  NewLog();
  for (int round = 0; round < 30; ++round) {
    for (int k = 0; k < 8; ++k) Put("key" + std::to_string(k), std::to_string(round) + std::string(60, 'x'));
  }
  const std::map<int64_t, Rec> originals = appended_;
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      int64_t from = t;
      while (!stop) {
        auto read = log_->Read(Offset(from % 240), 700);
        if (!read.ok()) {
          failures++;
          continue;
        }
        auto bytes = read->records.Flatten();
        auto batches = bytes.ok() ? testing::SplitBatches(*bytes) : bytes.status();
        if (!batches.ok()) {
          failures++;
          continue;
        }
        for (const auto& b : *batches) {
          auto view = RecordBatchView::Parse(b.bytes);
          auto reader = RecordReader::Create(*view, 1 << 20);
          RecordView rec;
          while (reader->Next(&rec)) {
            auto it = originals.find(rec.offset);
            if (it == originals.end()) {
              if (rec.offset < 240 || !rec.value || *rec.value != "late") failures++;
            } else if (!rec.key || *rec.key != *it->second.key || *rec.value != *it->second.value) {
              failures++;
            }
          }
          if (!reader->status().ok()) failures++;
        }
        reads++;
        from += 7;
      }
    });
  }
  std::thread appender([&] {
    for (int i = 0; i < 50 && !stop; ++i) {
      if (!AppendSync(*log_, Batch({{"key" + std::to_string(i % 8), "late"}}, now_ms_)).ok()) failures++;
    }
  });
  for (int pass = 0; pass < 5; ++pass) {
    auto r = Compact();
    ASSERT_TRUE(r.ok()) << r.status();
  }
  appender.join();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(log_->log_end_offset(), Offset(290));
}

TEST_F(CompactionTest, SlicesOfReplacedSegmentsStayReadable) {
  NewLog();
  for (int i = 0; i < 30; ++i) Put("same", std::string(100, 'a' + i % 26));
  auto held = log_->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(held.ok());
  auto bytes_before = held->records.Flatten();
  ASSERT_TRUE(bytes_before.ok());
  auto r = Compact();
  ASSERT_TRUE(r.ok());
  ASSERT_GT(r->segments_cleaned, 0);
  auto bytes_after = held->records.Flatten();
  ASSERT_TRUE(bytes_after.ok()) << bytes_after.status();
  EXPECT_EQ(*bytes_after, *bytes_before);
}

TEST_F(CompactionTest, ReopenAfterCompactionGivesSameContent) {
  NewLog();
  for (int round = 0; round < 10; ++round) {
    for (int k = 0; k < 10; ++k) {
      Append({{"key" + std::to_string(k), std::to_string(round)}, {std::nullopt, "n"}}, -1,
             k % 2 == 0 ? CompressionType::kZstd : CompressionType::kNone);
    }
  }
  Append({{"key3", std::nullopt}});
  for (int i = 0; i < 10; ++i) Put("filler" + std::to_string(i), std::string(100, 'f'));
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status();
  auto expected = ReadAll(*log_);
  ASSERT_TRUE(expected.ok());
  const auto segments = log_->segments();
  for (bool clean : {true, false, true}) {
    CloseAndReopen(clean);
    auto got = ReadAll(*log_);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), expected->size());
    for (size_t i = 0; i < got->size(); ++i) EXPECT_EQ((*got)[i].bytes, (*expected)[i].bytes);
    const auto reopened = log_->segments();
    ASSERT_EQ(reopened.size(), segments.size());
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      EXPECT_EQ(reopened[i].next_offset, segments[i].next_offset);
      EXPECT_EQ(reopened[i].size_bytes, segments[i].size_bytes);
      EXPECT_EQ(reopened[i].max_timestamp, segments[i].max_timestamp);
    }
    EXPECT_EQ(log_->log_end_offset(), Offset(211));
  }
  // Timestamp lookups work on the rebuilt time index.
  auto ts = log_->OffsetForTimestamp(now_ms_);
  ASSERT_TRUE(ts.ok());
  ASSERT_TRUE(ts->has_value());
}

// Crash simulation: the data directory as it was before a compaction and the segment files the
// compaction produced, combined as a crash at each step would have left them.
class CompactionCrashTest : public CompactionTest {
 protected:
  void SetUp() override {
    CompactionTest::SetUp();
    NewLog();
    // Every third record has a key of its own, so each segment keeps something.
    for (int i = 0; i < 60; ++i) {
      Put(i % 3 == 0 ? "unique" + std::to_string(i) : "key" + std::to_string(i % 6), std::string(50, 'p'));
    }
    pre_ = Snapshot();
    log_.reset();
    ASSERT_TRUE(manager_->Close().ok());
    fs::copy(dir_.path(), backup_.path() + "/pre", fs::copy_options::recursive);
    Reopen();
    auto r = Compact();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_GT(r->segments_cleaned, 0);
    post_ = Snapshot();
    ASSERT_NE(post_, pre_);
    log_.reset();
    ASSERT_TRUE(manager_->Close().ok());
    // The segment to play with: the first one, which compaction certainly changed.
    base_ = SegmentFileName(0, "");
    fs::copy(PartitionDir(), backup_.path() + "/post", fs::copy_options::recursive);
    // Back to the state before compaction.
    fs::remove_all(dir_.path());
    fs::copy(backup_.path() + "/pre", dir_.path(), fs::copy_options::recursive);
  }

  std::vector<std::string> Snapshot() {
    std::vector<std::string> out;
    auto all = ReadAll(*log_);
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (auto& b : *all) out.push_back(b.bytes);
    }
    return out;
  }

  // Copies a file of the compacted partition into the partition directory under `name`.
  void PlacePost(const std::string& ext, const std::string& name) {
    fs::copy_file(backup_.path() + "/post/" + base_ + ext, PartitionDir() + "/" + name,
                  fs::copy_options::overwrite_existing);
  }

  bool Exists(const std::string& name) const { return fs::exists(PartitionDir() + "/" + name); }

  // The log with only segment 0 compacted: post_'s batches below segment 1, pre_'s from there on.
  std::vector<std::string> WithSegment0Compacted() const {
    const int64_t end0 = log_->segments()[1].base_offset.value();
    std::vector<std::string> out;
    for (const auto& b : post_) {
      if (RecordBatchView::Parse(b)->base_offset() < end0) out.push_back(b);
    }
    for (const auto& b : pre_) {
      if (RecordBatchView::Parse(b)->base_offset() >= end0) out.push_back(b);
    }
    return out;
  }

  // Reopens (clean or not) and returns the log's content.
  std::vector<std::string> Recovered(bool clean) {
    if (!clean) fs::remove(dir_.path() + "/" + kCleanShutdownFileName);
    Reopen();
    EXPECT_NE(log_, nullptr);
    if (log_ == nullptr) return {};
    for (const auto& entry : fs::directory_iterator(PartitionDir())) {
      const std::string name = entry.path().filename().string();
      EXPECT_EQ(name.find(".cleaned"), std::string::npos) << name;
      EXPECT_EQ(name.find(".swap"), std::string::npos) << name;
    }
    return Snapshot();
  }

  TempDir backup_;
  std::string base_;
  std::vector<std::string> pre_;
  std::vector<std::string> post_;
};

TEST_F(CompactionCrashTest, CleanedLeftoversAreDeleted) {
  for (bool clean : {true, false}) {
    // A crash while writing the cleaned copy: partial log, maybe an index.
    PlacePost(".log", base_ + ".log.cleaned");
    fs::resize_file(PartitionDir() + "/" + base_ + ".log.cleaned", 100);
    PlacePost(".index", base_ + ".index.cleaned");
    EXPECT_EQ(Recovered(clean), pre_) << clean;
    EXPECT_FALSE(Exists(base_ + ".log.cleaned"));
    EXPECT_FALSE(Exists(base_ + ".index.cleaned"));
    log_.reset();
    ASSERT_TRUE(manager_->Close().ok());
  }
}

TEST_F(CompactionCrashTest, CrashWhileRenamingToSwapKeepsTheOldSegment) {
  // Indexes already renamed to .swap, the log still .cleaned (complete, but not committed).
  PlacePost(".index", base_ + ".index.swap");
  PlacePost(".timeindex", base_ + ".timeindex.swap");
  PlacePost(".log", base_ + ".log.cleaned");
  EXPECT_EQ(Recovered(false), pre_);
  EXPECT_FALSE(Exists(base_ + ".index.swap"));
}

TEST_F(CompactionCrashTest, CompleteSwapIsFinished) {
  for (bool clean : {true, false}) {
    SCOPED_TRACE(clean);
    // Crash right after step 2: all three .swap files present, originals untouched.
    PlacePost(".index", base_ + ".index.swap");
    PlacePost(".timeindex", base_ + ".timeindex.swap");
    PlacePost(".log", base_ + ".log.swap");
    std::vector<std::string> got = Recovered(clean);
    // Only segment 0 was swapped in: its batches are the compacted ones, the rest as before.
    EXPECT_NE(got, pre_);
    EXPECT_EQ(got, WithSegment0Compacted());
    EXPECT_EQ(fs::file_size(PartitionDir() + "/" + base_ + ".log"),
              fs::file_size(backup_.path() + "/post/" + base_ + ".log"));
    log_.reset();
    ASSERT_TRUE(manager_->Close().ok());
    fs::remove_all(dir_.path());
    fs::copy(backup_.path() + "/pre", dir_.path(), fs::copy_options::recursive);
  }
}

TEST_F(CompactionCrashTest, SwapWithIndexesAlreadyMovedIsFinished) {
  // Crash in step 3 after the indexes were renamed over the originals, before the log.
  PlacePost(".index", base_ + ".index");
  PlacePost(".timeindex", base_ + ".timeindex");
  PlacePost(".log", base_ + ".log.swap");
  std::vector<std::string> got = Recovered(true);
  EXPECT_EQ(got, WithSegment0Compacted());
  // The index was rebuilt from the swapped-in log and lookups agree with it.
  auto ts = log_->OffsetForTimestamp(0);
  ASSERT_TRUE(ts.ok() && ts->has_value());
  EXPECT_EQ((*ts)->offset.value(), RecordBatchView::Parse(post_.front())->base_offset());
}

TEST_F(CompactionCrashTest, SwapOfDeletedSegmentIsDropped) {
  // Retention deleted segment 0 while its cleaned copy waited: its .swap must not bring it back.
  PlacePost(".log", base_ + ".log.swap");
  PlacePost(".index", base_ + ".index.swap");
  const std::string seg0 = PartitionDir() + "/" + base_;
  fs::remove(seg0 + ".log");
  fs::remove(seg0 + ".index");
  fs::remove(seg0 + ".timeindex");
  std::vector<std::string> got = Recovered(false);
  EXPECT_FALSE(Exists(base_ + ".log"));
  ASSERT_FALSE(got.empty());
  EXPECT_GT(RecordBatchView::Parse(got.front())->base_offset(), 0);
}

TEST_F(CompactionTest, RetentionDoesNotDeleteByTimeOrSizeForCompactOnlyTopics) {
  config_.retention_ms = 1'000;
  config_.retention_bytes = 100;
  NewLog();
  for (int i = 0; i < 20; ++i) Put("k" + std::to_string(i), std::string(100, 'r'), 1'000);
  const size_t segments = log_->segments().size();
  ASSERT_GT(segments, 2u);
  auto r = log_->ApplyRetention(now_ms_ + 1'000'000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 0);
  EXPECT_EQ(log_->segments().size(), segments);
  EXPECT_EQ(log_->log_start_offset(), Offset(0));
  // DeleteRecords still works, and retention then removes the segments below the new start.
  ASSERT_TRUE(log_->DeleteRecordsBefore(Offset(12)).ok());
  r = log_->ApplyRetention(now_ms_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(log_->log_start_offset(), Offset(12));

  // compact,delete: retention applies again.
  LogConfig both = config_;
  both.cleanup_delete = true;
  log_->UpdateConfig(both);
  r = log_->ApplyRetention(now_ms_ + 1'000'000);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->segments_deleted, 0);
  EXPECT_EQ(log_->segments().size(), 1u);
}

TEST_F(CompactionTest, RefusedWithoutCompactPolicy) {
  config_.cleanup_compact = false;
  config_.cleanup_delete = true;
  NewLog();
  Put("k", "v");
  EXPECT_EQ(Compact().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CompactionTest, NothingToCompactInASingleSegmentLog) {
  NewLog();
  for (int i = 0; i < 3; ++i) Put("k", "v" + std::to_string(i));
  auto r = Compact();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_examined, 0);
  EXPECT_EQ(r->cleaned_up_to, Offset(0));
  EXPECT_EQ(AsMap(Records(*log_)).size(), 3u);
}

TEST_F(CompactionTest, RecoverInterruptedCompactionIgnoresForeignFiles) {
  NewLog();
  const std::string dir = PartitionDir();
  std::ofstream(dir + "/notes.swap") << "x";
  std::ofstream(dir + "/" + SegmentFileName(5, ".log.cleaned")) << "partial";
  auto r = RecoverInterruptedCompaction(dir, *FileOps::Default());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_deleted, 1);
  EXPECT_EQ(r->swaps_finished, 0);
  EXPECT_TRUE(fs::exists(dir + "/notes.swap"));
  fs::remove(dir + "/notes.swap");
}

}  // namespace
}  // namespace chronik::storage
