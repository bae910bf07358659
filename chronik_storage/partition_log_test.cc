#include "chronik_storage/partition_log.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage {
namespace {

using protocol::CompressionType;
using protocol::RecordBatchView;
using testing::AppendSync;
using testing::MakeBatch;
using testing::ReadAll;
using testing::TempDir;

class PartitionLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    manager_.reset();
    LogManager::Options options;
    options.clock_ms = [this] { return now_ms_.load(); };
    options.default_config = config_;
    options.producer_id_expiration_ms = producer_expiration_ms_;
    auto m = LogManager::Open(dir_.path(), options);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
  }

  std::shared_ptr<PartitionLog> NewLog(const LogConfig& config, const std::string& topic = "t") {
    auto log = manager_->Create({topic, PartitionId(0)}, config);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *log : nullptr;
  }

  TempDir dir_;
  LogConfig config_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  int64_t producer_expiration_ms_ = kProducerIdExpirationMs;
  std::unique_ptr<LogManager> manager_;
};

TEST_F(PartitionLogTest, AppendAndReadBack) {
  auto log = NewLog(config_);
  std::string batch = MakeBatch(3, 10);
  auto r = AppendSync(*log, batch, LeaderEpoch(7));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, Offset(0));
  EXPECT_EQ(r->last_offset, Offset(2));
  EXPECT_EQ(r->log_append_time_ms, -1);
  EXPECT_EQ(log->log_end_offset(), Offset(3));
  EXPECT_EQ(log->high_watermark(), Offset(3));

  auto read = log->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->records.shared.size(), 1u);
  auto bytes = read->records.Flatten();
  ASSERT_TRUE(bytes.ok());
  auto view = RecordBatchView::Parse(*bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->base_offset(), 0);
  EXPECT_EQ(view->partition_leader_epoch(), 7);
  EXPECT_EQ(view->records_count(), 3);
  // Everything after the offset and epoch fields is byte-identical to what was appended.
  EXPECT_EQ(bytes->substr(protocol::batch_v2::kMagicOffset), batch.substr(protocol::batch_v2::kMagicOffset));
}

TEST_F(PartitionLogTest, AssignsConsecutiveOffsetsAcrossBatchesAndAppends) {
  auto log = NewLog(config_);
  std::string two = MakeBatch(2, 5) + MakeBatch(4, 5);
  auto r1 = AppendSync(*log, two);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->base_offset, Offset(0));
  EXPECT_EQ(r1->last_offset, Offset(5));
  auto r2 = AppendSync(*log, MakeBatch(1, 5));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->base_offset, Offset(6));
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].base_offset, 0);
  EXPECT_EQ((*all)[1].base_offset, 2);
  EXPECT_EQ((*all)[1].last_offset, 5);
  EXPECT_EQ((*all)[2].base_offset, 6);
}

TEST_F(PartitionLogTest, RejectsInvalidInputAndWritesNothing) {
  LogConfig config = config_;
  config.max_message_bytes = 2000;
  auto log = NewLog(config);
  std::string bad = MakeBatch(2, 10);
  bad[bad.size() - 1] ^= 0x5a;  // CRC mismatch
  auto r = AppendSync(*log, bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  std::string valid_then_torn = MakeBatch(1, 10) + MakeBatch(1, 10).substr(0, 30);
  EXPECT_EQ(AppendSync(*log, valid_then_torn).status().code(), absl::StatusCode::kInvalidArgument);
  std::string v1 = MakeBatch(1, 10);
  v1[protocol::batch_v2::kMagicOffset] = 1;
  EXPECT_FALSE(AppendSync(*log, v1).ok());
  EXPECT_EQ(AppendSync(*log, MakeBatch(1, 3000)).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(AppendSync(*log, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  EXPECT_EQ(log->size_bytes(), 0);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  EXPECT_EQ(log->log_end_offset(), Offset(1));
}

TEST_F(PartitionLogTest, CompressedBatchStaysCompressed) {
  auto log = NewLog(config_);
  std::string batch = MakeBatch(50, 100, 1000, CompressionType::kZstd);
  ASSERT_TRUE(AppendSync(*log, batch).ok());
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].bytes.size(), batch.size());
  EXPECT_EQ((*all)[0].last_offset, 49);
  EXPECT_EQ((*all)[0].crc, RecordBatchView::Parse(batch)->crc());
}

TEST_F(PartitionLogTest, LogAppendTimeStampsBatches) {
  LogConfig config = config_;
  config.log_append_time = true;
  auto log = NewLog(config);
  now_ms_ = 1'800'000'000'000;
  auto r = AppendSync(*log, MakeBatch(3, 10, 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->log_append_time_ms, 1'800'000'000'000);
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok()) << all.status();  // CRC recomputed
  auto view = RecordBatchView::Parse((*all)[0].bytes);
  EXPECT_EQ(view->timestamp_type(), protocol::TimestampType::kLogAppendTime);
  EXPECT_EQ(view->max_timestamp(), 1'800'000'000'000);
}

TEST_F(PartitionLogTest, ReadFromMiddleOfSegmentAndAcrossSegments) {
  LogConfig config = config_;
  config.segment_bytes = 4000;
  config.index_interval_bytes = 300;
  auto log = NewLog(config);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(2, 100)).ok());
  EXPECT_GT(log->segments().size(), 5u);
  for (int64_t from : {0, 1, 37, 38, 99, 150, 199}) {
    auto r = log->Read(Offset(from), 1000);
    ASSERT_TRUE(r.ok()) << r.status();
    auto bytes = r->records.Flatten();
    ASSERT_TRUE(bytes.ok());
    auto batches = testing::SplitBatches(*bytes);
    ASSERT_TRUE(batches.ok());
    ASSERT_FALSE(batches->empty());
    EXPECT_LE((*batches)[0].base_offset, from);
    EXPECT_GE((*batches)[0].last_offset, from);
    EXPECT_LE(bytes->size(), 1000u);
  }
  // A big read spans segments, contiguous offsets, one slice per segment.
  auto r = log->Read(Offset(10), 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->records.shared.size(), 1u);
  auto batches = testing::SplitBatches(*r->records.Flatten());
  ASSERT_TRUE(batches.ok());
  EXPECT_EQ(batches->front().base_offset, 10);
  EXPECT_EQ(batches->back().last_offset, 199);
  for (size_t i = 1; i < batches->size(); ++i) {
    EXPECT_EQ((*batches)[i].base_offset, (*batches)[i - 1].last_offset + 1);
  }
  // Out of range on both sides; at the end, empty.
  EXPECT_EQ(log->Read(Offset(201), 100).status().code(), absl::StatusCode::kOutOfRange);
  auto end = log->Read(Offset(200), 100);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->records.shared.empty());
  // A caller-given max offset (exclusive) cuts earlier.
  auto capped = log->Read(Offset(0), 1 << 20, Offset(6));
  ASSERT_TRUE(capped.ok());
  auto capped_batches = testing::SplitBatches(*capped->records.Flatten());
  EXPECT_EQ(capped_batches->back().last_offset, 5);
}

TEST_F(PartitionLogTest, FirstBatchReturnedEvenIfLargerThanMaxBytes) {
  auto log = NewLog(config_);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(10, 500)).ok());
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  auto r = log->Read(Offset(3), 100);
  ASSERT_TRUE(r.ok());
  auto batches = testing::SplitBatches(*r->records.Flatten());
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ((*batches)[0].base_offset, 0);
  EXPECT_GT(r->records.size(), 100);
}

TEST_F(PartitionLogTest, HighWatermarkFollowsDurableEndWithDurablePolicy) {
  auto log = NewLog(config_);
  std::atomic<int> acked{0};
  std::vector<Offset> hw_at_ack;
  absl::Mutex mu;
  for (int i = 0; i < 20; ++i) {
    log->Append(MakeBatch(1, 10), LeaderEpoch(0), [&, log_ptr = log.get()](absl::StatusOr<AppendResult> r) {
      ASSERT_TRUE(r.ok());
      // By the time the callback runs, the data is synced and visible.
      EXPECT_GE(log_ptr->durable_offset(), Offset(r->last_offset.value() + 1));
      EXPECT_GE(log_ptr->high_watermark(), Offset(r->last_offset.value() + 1));
      acked++;
    });
    // The HW never runs ahead of the durable end.
    EXPECT_LE(log->high_watermark(), log->durable_offset());
  }
  while (acked < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(log->high_watermark(), Offset(20));
}

TEST_F(PartitionLogTest, HighWatermarkIsLogEndWithNonDurablePolicy) {
  LogConfig config = config_;
  config.flush_messages = 1'000'000;
  config.flush_ms = 3'600'000;
  auto log = NewLog(config);
  const uint64_t syncs_before = manager_->stats().fdatasync_calls;
  for (int i = 0; i < 10; ++i) {
    auto r = AppendSync(*log, MakeBatch(1, 10));  // acknowledged right after write()
    ASSERT_TRUE(r.ok());
  }
  EXPECT_EQ(log->high_watermark(), Offset(10));
  EXPECT_EQ(log->log_end_offset(), Offset(10));
  EXPECT_EQ(log->durable_offset(), Offset(0));
  EXPECT_EQ(manager_->stats().fdatasync_calls, syncs_before);
  auto all = ReadAll(*log);
  EXPECT_EQ(all->size(), 10u);
}

TEST_F(PartitionLogTest, NonDurablePolicyFlushesByMessageCount) {
  LogConfig config = config_;
  config.flush_messages = 5;
  auto log = NewLog(config);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  for (int i = 0; i < 2000 && log->durable_offset() < Offset(5); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(log->durable_offset(), Offset(5));
}

TEST_F(PartitionLogTest, NonDurablePolicyFlushesByTime) {
  LogConfig config = config_;
  config.flush_ms = 50;
  auto log = NewLog(config);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  for (int i = 0; i < 2000 && log->durable_offset() < Offset(1); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(log->durable_offset(), Offset(1));
}

TEST_F(PartitionLogTest, RollsBySize) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  auto log = NewLog(config);
  std::string batch = MakeBatch(1, 200);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(AppendSync(*log, batch).ok());
  auto segs = log->segments();
  const size_t per_segment = 1000 / batch.size();
  EXPECT_EQ(segs.size(), (12 + per_segment - 1) / per_segment);
  for (size_t i = 0; i < segs.size(); ++i) {
    EXPECT_LE(segs[i].size_bytes, 1000);
    EXPECT_EQ(segs[i].base_offset, Offset(static_cast<int64_t>(i * per_segment)));
    if (i + 1 < segs.size()) {
      EXPECT_EQ(segs[i].next_offset, segs[i + 1].base_offset);
    }
  }
  // Files are named by base offset.
  EXPECT_GE(testing::FileSize(log->dir() + "/" + SegmentFileName(per_segment, ".log")), 0);
  // A batch larger than segment.bytes still goes in, alone in a fresh segment.
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 3000)).ok());
  EXPECT_EQ(log->segments().back().base_offset, Offset(12));
}

// A live backup's links keep the files as they were: the active segment's index files, written at
// the last restart, are replaced at the roll rather than rewritten in place under the link.
TEST_F(PartitionLogTest, LinkedFilesStayAsTheyWereWhenTheSegmentRolls) {
  config_.segment_bytes = 2000;
  config_.index_interval_bytes = 100;
  auto log = NewLog(config_);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 200, now_ms_)).ok());
  log.reset();
  Reopen();  // the active segment's index files are on disk now
  log = manager_->Get({"t", PartitionId(0)});
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 200, now_ms_)).ok());
  const std::string staged = dir_.path() + "/staged";
  std::filesystem::create_directories(staged);
  std::vector<std::pair<std::string, int64_t>> files;
  PartitionCheckpoint checkpoint{-1, -1, -1};
  ASSERT_TRUE(log->LinkFiles(staged, &files, &checkpoint).ok());
  EXPECT_EQ(checkpoint.log_start_offset, 0);
  EXPECT_EQ(checkpoint.deleted_below, 0);
  ASSERT_EQ(log->segments().size(), 1u);  // the one whose index files the restart wrote
  std::map<std::string, std::string> before;
  for (const auto& [name, size] : files) {
    bool missing = false;
    before[name] = ReadWholeFile(staged + "/" + name, &missing).value_or("?");
    EXPECT_EQ(static_cast<int64_t>(before[name].size()), size) << name;
  }
  ASSERT_TRUE(before.contains(SegmentFileName(0, ".index")));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 200, now_ms_)).ok());
  ASSERT_GT(log->segments().size(), 1u);
  // What a backup reads of each link (its size at the link) is unchanged; the index files were
  // replaced by new ones (a rewrite in place would have changed the link's file under a reader).
  for (const auto& [name, content] : before) {
    bool missing = false;
    EXPECT_EQ(ReadWholeFile(staged + "/" + name, &missing).value_or("?").substr(0, content.size()), content) << name;
  }
  for (const char* index : {".index", ".timeindex"}) {
    struct stat linked, live;
    ASSERT_EQ(::stat((staged + "/" + SegmentFileName(0, index)).c_str(), &linked), 0);
    ASSERT_EQ(::stat((log->dir() + "/" + SegmentFileName(0, index)).c_str(), &live), 0);
    EXPECT_NE(linked.st_ino, live.st_ino) << index;
  }
}

TEST_F(PartitionLogTest, RollsByAge) {
  LogConfig config = config_;
  config.segment_ms = 60'000;
  auto log = NewLog(config);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  now_ms_ += 59'000;
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  EXPECT_EQ(log->segments().size(), 1u);
  now_ms_ += 1'000;
  ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10)).ok());
  ASSERT_EQ(log->segments().size(), 2u);
  EXPECT_EQ(log->segments()[1].base_offset, Offset(2));
}

TEST_F(PartitionLogTest, RollsWhenIndexIsFull) {
  LogConfig config = config_;
  config.segment_index_bytes = 4 * 8;  // four offset index entries
  config.index_interval_bytes = 1;     // an entry per batch
  auto log = NewLog(config);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 10, 1000 + i)).ok());
  auto segs = log->segments();
  EXPECT_GT(segs.size(), 3u);
  for (const auto& s : segs) {
    EXPECT_LE(s.offset_index_entries, 4u);
    EXPECT_LE(s.time_index_entries, 2u);
  }
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 20u);
}

TEST_F(PartitionLogTest, OffsetIndexLookupIsSparseAndCorrect) {
  LogConfig config = config_;
  config.index_interval_bytes = 1024;
  auto log = NewLog(config);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 200)).ok());
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 1u);
  // ~270-byte batches, an entry every ~4 batches.
  EXPECT_GT(segs[0].offset_index_entries, 40u);
  EXPECT_LT(segs[0].offset_index_entries, 60u);
  for (int64_t o = 0; o < 200; o += 7) {
    auto r = log->Read(Offset(o), 1);
    ASSERT_TRUE(r.ok());
    auto batches = testing::SplitBatches(*r->records.Flatten());
    ASSERT_EQ(batches->size(), 1u);
    EXPECT_EQ((*batches)[0].base_offset, o);
  }
}

TEST_F(PartitionLogTest, OffsetForTimestampUsesTimeIndex) {
  LogConfig config = config_;
  config.segment_bytes = 5000;
  config.index_interval_bytes = 500;
  auto log = NewLog(config);
  // Batch i holds records with timestamps 10000 + 10*i .. +4 (5 records).
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(5, 50, 10'000 + 10 * i)).ok());
  ASSERT_GE(log->segments().size(), 3u);
  auto r = log->OffsetForTimestamp(0);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->offset, Offset(0));
  // 10_503 is record 3 of batch 50 → offset 253.
  r = log->OffsetForTimestamp(10'503);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->offset, Offset(253));
  EXPECT_EQ((*r)->timestamp, 10'503);
  // Between batches: 10_506 → first record of batch 51.
  r = log->OffsetForTimestamp(10'506);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->offset, Offset(255));
  EXPECT_EQ((*r)->timestamp, 10'510);
  r = log->OffsetForTimestamp(99'999);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  auto max = log->OffsetOfMaxTimestamp();
  ASSERT_TRUE(max.ok() && max->has_value());
  EXPECT_EQ((*max)->timestamp, 10'994);
  EXPECT_EQ((*max)->offset, Offset(499));

  // Same answers after a clean reopen (from the index files) and an unclean one (rebuilt).
  log.reset();
  for (bool clean : {true, false}) {
    ASSERT_TRUE(manager_->Close().ok());
    if (!clean) std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName);
    Reopen();
    auto reopened = manager_->Get({"t", PartitionId(0)});
    ASSERT_NE(reopened, nullptr);
    r = reopened->OffsetForTimestamp(10'503);
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ((*r)->offset, Offset(253));
    max = reopened->OffsetOfMaxTimestamp();
    ASSERT_TRUE(max.ok() && max->has_value());
    EXPECT_EQ((*max)->offset, Offset(499));
  }
}

TEST_F(PartitionLogTest, RetentionByTime) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  config.retention_ms = 10'000;
  auto log = NewLog(config);
  // Old data (timestamps around 1000), then new data stamped now.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300, 1000)).ok());
  const int64_t now = now_ms_;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300, now)).ok());
  const size_t before = log->segments().size();
  auto r = log->ApplyRetention(now);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->segments_deleted, 0);
  EXPECT_EQ(log->segments().size(), before - r->segments_deleted);
  // Every old segment is gone, every new one kept.
  for (const auto& s : log->segments()) EXPECT_GE(s.max_timestamp, now);
  EXPECT_EQ(log->log_start_offset(), log->segments().front().base_offset);
  EXPECT_EQ(log->Read(Offset(0), 100).status().code(), absl::StatusCode::kOutOfRange);
  // Nothing more to delete; and the active segment is never deleted even if expired.
  r = log->ApplyRetention(now + 1'000'000'000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(log->segments().size(), 1u);
  EXPECT_EQ(log->log_end_offset(), Offset(20));
}

TEST_F(PartitionLogTest, TieredRetentionDeletesOnlyWhatTheRemoteCopyHolds) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  config.retention_ms = -1;
  config.remote_storage = true;
  config.local_retention_bytes = 1;  // keep nothing local that the remote copy has
  auto log = NewLog(config);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300)).ok());
  const size_t segments = log->segments().size();
  ASSERT_GT(segments, 3u);
  // Nothing copied yet: nothing deleted, however small local.retention.bytes is.
  auto r = log->ApplyRetention(now_ms_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 0);
  // Copied up to the third segment's base: the two segments wholly below it go, no more.
  const Offset third = log->segments()[2].base_offset;
  log->SetTieredEnd(third);
  r = log->ApplyRetention(now_ms_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 2);
  EXPECT_EQ(log->log_start_offset(), third);
  // local.retention.bytes -2 means retention.bytes: with -1 (no limit) nothing more goes.
  config.local_retention_bytes = -2;
  log->UpdateConfig(config);
  log->SetTieredEnd(log->log_end_offset());
  r = log->ApplyRetention(now_ms_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 0);
}

TEST_F(PartitionLogTest, RetentionBySize) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  config.retention_ms = -1;
  config.retention_bytes = 2500;
  auto log = NewLog(config);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300)).ok());
  auto r = log->ApplyRetention(now_ms_);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->segments_deleted, 0);
  EXPECT_GE(log->size_bytes(), 2500 - 1000);
  EXPECT_LT(log->size_bytes(), 2500 + 1000);
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->back().last_offset, 29);
  EXPECT_EQ(all->front().base_offset, log->log_start_offset().value());
}

TEST_F(PartitionLogTest, DeleteRecordsBefore) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  auto log = NewLog(config);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300)).ok());
  const size_t before = log->segments().size();
  EXPECT_EQ(log->DeleteRecordsBefore(Offset(31)).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(log->DeleteRecordsBefore(Offset(10)).ok());
  EXPECT_EQ(log->log_start_offset(), Offset(10));
  EXPECT_LT(log->segments().size(), before);
  EXPECT_LE(log->segments().front().base_offset, Offset(10));
  EXPECT_EQ(log->Read(Offset(9), 100).status().code(), absl::StatusCode::kOutOfRange);
  auto r = log->Read(Offset(10), 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(testing::SplitBatches(*r->records.Flatten())->front().base_offset, 10);
  ASSERT_TRUE(log->DeleteRecordsBefore(Offset(5)).ok());  // lower: no-op
  EXPECT_EQ(log->log_start_offset(), Offset(10));

  // The log start offset survives restarts, clean and unclean.
  log.reset();
  ASSERT_TRUE(manager_->Close().ok());
  std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName);
  Reopen();
  auto reopened = manager_->Get({"t", PartitionId(0)});
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->log_start_offset(), Offset(10));
  EXPECT_EQ(reopened->log_end_offset(), Offset(30));
  // Deleting everything up to the end keeps the active segment and an empty readable log.
  ASSERT_TRUE(reopened->DeleteRecordsBefore(Offset(30)).ok());
  EXPECT_EQ(reopened->log_start_offset(), Offset(30));
  auto empty = reopened->Read(Offset(30), 100);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.shared.empty());
  auto next = AppendSync(*reopened, MakeBatch(1, 10));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->base_offset, Offset(30));
  EXPECT_EQ(next->log_start_offset, Offset(30));
}

// Below a tiered partition's local log (where only its remote copy holds records), DeleteRecords
// leaves the local log alone and keeps the offset as deleted_below, through restarts.
TEST_F(PartitionLogTest, DeleteRecordsBelowTheLocalLog) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  config.retention_ms = -1;
  config.remote_storage = true;
  config.local_retention_bytes = 1;
  auto log = NewLog(config);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300)).ok());
  log->SetTieredEnd(Offset(20));
  ASSERT_TRUE(log->ApplyRetention(now_ms_).ok());
  const Offset local_start = log->log_start_offset();
  ASSERT_GT(local_start, Offset(10));
  const size_t segments = log->segments().size();

  ASSERT_TRUE(log->DeleteRecordsBefore(Offset(7)).ok());
  EXPECT_EQ(log->bounds().deleted_below, Offset(7));
  EXPECT_EQ(log->log_start_offset(), local_start);
  EXPECT_EQ(log->segments().size(), segments);
  ASSERT_TRUE(log->DeleteRecordsBefore(Offset(5)).ok());  // lower: no-op
  EXPECT_EQ(log->bounds().deleted_below, Offset(7));

  log.reset();
  ASSERT_TRUE(manager_->Close().ok());
  std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName);
  Reopen();
  log = manager_->Get({"t", PartitionId(0)});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->bounds().deleted_below, Offset(7));
  EXPECT_EQ(log->log_start_offset(), local_start);
  // Into the local log: both move.
  const Offset above = Offset(local_start.value() + 1);
  ASSERT_TRUE(log->DeleteRecordsBefore(above).ok());
  EXPECT_EQ(log->bounds().deleted_below, above);
  EXPECT_EQ(log->log_start_offset(), above);
}

TEST_F(PartitionLogTest, ReadersKeepSlicesOfDeletedSegments) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  auto log = NewLog(config);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 300)).ok());
  auto r = log->Read(Offset(0), 100);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(log->DeleteRecordsBefore(Offset(9)).ok());
  auto bytes = r->records.Flatten();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(testing::SplitBatches(*bytes)->front().base_offset, 0);
}

TEST_F(PartitionLogTest, ConcurrentAppendersAndReaders) {
  auto log = NewLog(config_);
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      auto all = ReadAll(*log);
      ASSERT_TRUE(all.ok()) << all.status();
      for (size_t i = 1; i < all->size(); ++i) ASSERT_EQ((*all)[i].base_offset, (*all)[i - 1].last_offset + 1);
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(2, 20)).ok());
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(log->log_end_offset(), Offset(2 * kThreads * kPerThread));
  EXPECT_EQ(ReadAll(*log)->size(), static_cast<size_t>(kThreads * kPerThread));
}

std::string IdempotentBatch(int64_t pid, int16_t epoch, int32_t first_seq, int records, bool transactional = false) {
  std::vector<std::string> values;
  for (int i = 0; i < records; ++i) values.push_back("seq-" + std::to_string(first_seq + i));
  return testing::ProducerBatch(values, pid, epoch, first_seq, transactional);
}

std::string TxnBatch(int64_t pid, int16_t epoch, int32_t first_seq, int records);

class IdempotentAppendTest : public PartitionLogTest {};

// A retried batch (same producer, epoch and sequences as one of its last five) gets its original
// offsets and is not written again; a gap or an old epoch is refused and writes nothing.
TEST_F(IdempotentAppendTest, RetriesAreAnsweredWithTheOriginalOffsetsAndGapsAndZombiesRefused) {
  auto log = NewLog(config_);
  ASSERT_EQ(AppendSync(*log, IdempotentBatch(7, 0, 0, 3))->base_offset, Offset(0));
  ASSERT_EQ(AppendSync(*log, IdempotentBatch(7, 0, 3, 2))->base_offset, Offset(3));
  ASSERT_EQ(AppendSync(*log, MakeBatch(1, 10))->base_offset, Offset(5));  // no producer id
  absl::StatusOr<AppendResult> retry = AppendSync(*log, IdempotentBatch(7, 0, 0, 3));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->base_offset, Offset(0));
  EXPECT_EQ(retry->last_offset, Offset(2));
  EXPECT_EQ(log->log_end_offset(), Offset(6));

  absl::StatusOr<AppendResult> gap = AppendSync(*log, IdempotentBatch(7, 0, 9, 1));
  EXPECT_EQ(GetProducerError(gap.status()), ProducerError::kOutOfOrderSequence) << gap.status();
  ASSERT_EQ(AppendSync(*log, IdempotentBatch(7, 1, 0, 1))->base_offset, Offset(6));  // a new epoch restarts at 0
  absl::StatusOr<AppendResult> zombie = AppendSync(*log, IdempotentBatch(7, 0, 5, 1));
  EXPECT_EQ(GetProducerError(zombie.status()), ProducerError::kInvalidEpoch) << zombie.status();
  absl::StatusOr<AppendResult> bad_start = AppendSync(*log, IdempotentBatch(7, 2, 4, 1));
  EXPECT_EQ(GetProducerError(bad_start.status()), ProducerError::kOutOfOrderSequence) << bad_start.status();
  EXPECT_EQ(log->log_end_offset(), Offset(7));

  // Only the last five batches are remembered, as in Kafka.
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(AppendSync(*log, IdempotentBatch(7, 1, i, 1)).ok());
  EXPECT_EQ(GetProducerError(AppendSync(*log, IdempotentBatch(7, 1, 0, 1)).status()),
            ProducerError::kOutOfOrderSequence);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(7, 1, 1, 1))->base_offset, Offset(7));
}

// The state is rebuilt from the log when the partition is loaded, after a clean close or a crash.
TEST_F(IdempotentAppendTest, ProducerStateSurvivesAReopen) {
  auto log = NewLog(config_);
  ASSERT_TRUE(AppendSync(*log, IdempotentBatch(42, 3, 0, 4)).ok());
  ASSERT_TRUE(AppendSync(*log, IdempotentBatch(42, 3, 4, 4)).ok());
  log.reset();
  Reopen();
  log = manager_->Get({"t", PartitionId(0)});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(42, 3, 4, 4))->base_offset, Offset(4));  // a retry
  EXPECT_EQ(GetProducerError(AppendSync(*log, IdempotentBatch(42, 2, 8, 1)).status()), ProducerError::kInvalidEpoch);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(42, 3, 8, 1))->base_offset, Offset(8));
}

// A snapshot of the producers is written at each roll and at close: a reopen replays only the
// batches after it; a damaged snapshot falls back to the one before, or to the log.
TEST_F(IdempotentAppendTest, ProducerSnapshotsBoundTheReplay) {
  LogConfig small = config_;
  small.segment_bytes = 400;
  auto log = NewLog(small);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(AppendSync(*log, IdempotentBatch(42, 0, i * 2, 2)).ok());
  ASSERT_GE(log->segments().size(), 3u);
  // A transaction open across the snapshot must come back open.
  ASSERT_TRUE(AppendSync(*log, TxnBatch(9, 0, 0, 1)).ok());
  for (int i = 12; i < 16; ++i) ASSERT_TRUE(AppendSync(*log, IdempotentBatch(42, 0, i * 2, 2)).ok());
  const Offset lso = log->last_stable_offset();
  ASSERT_EQ(lso, Offset(24));
  log.reset();
  Reopen();  // clean: the snapshot at close covers everything
  EXPECT_EQ(manager_->last_recovery().producer_snapshots_used, 1);
  EXPECT_EQ(manager_->last_recovery().producer_batches_replayed, 0);
  log = manager_->Get({"t", PartitionId(0)});
  EXPECT_EQ(log->last_stable_offset(), lso);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(42, 0, 30, 2))->base_offset, Offset(31));  // a retry of the last
  ASSERT_TRUE(AppendSync(*log, IdempotentBatch(42, 0, 32, 2)).ok());

  // After a crash, with the newest snapshot damaged: the one before it and the batches after it.
  log.reset();
  manager_.reset();
  std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName);
  std::vector<std::filesystem::path> snapshots;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (e.path().extension() == ".snapshot") snapshots.push_back(e.path());
  }
  ASSERT_EQ(snapshots.size(), 2u);
  std::sort(snapshots.begin(), snapshots.end());
  std::filesystem::resize_file(snapshots.back(), 20);
  Reopen();
  EXPECT_EQ(manager_->last_recovery().producer_snapshots_used, 1);
  EXPECT_GT(manager_->last_recovery().producer_batches_replayed, 0);
  EXPECT_LT(manager_->last_recovery().producer_batches_replayed, 18);
  log = manager_->Get({"t", PartitionId(0)});
  EXPECT_EQ(log->last_stable_offset(), lso);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(42, 0, 32, 2))->base_offset, Offset(33));  // a retry
  EXPECT_EQ(GetProducerError(AppendSync(*log, IdempotentBatch(42, 0, 40, 1)).status()),
            ProducerError::kOutOfOrderSequence);
}

// As Kafka's LogValidator: an idempotent batch without a sequence or an epoch is refused.
TEST_F(IdempotentAppendTest, IdempotentBatchesWithoutSequenceOrEpochAreRefused) {
  auto log = NewLog(config_);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(7, 0, -1, 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(7, -1, 0, 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->log_end_offset(), Offset(0));
}

// Producers idle for producer.id.expiration.ms are forgotten: their next batch starts anew.
TEST_F(IdempotentAppendTest, IdleProducersExpire) {
  auto log = NewLog(config_);
  ASSERT_TRUE(AppendSync(*log, IdempotentBatch(7, 0, 0, 3)).ok());
  EXPECT_EQ(log->ExpireProducers(now_ms_ + 1000), 0u);
  EXPECT_EQ(GetProducerError(AppendSync(*log, IdempotentBatch(7, 0, 9, 1)).status()), ProducerError::kOutOfOrderSequence);
  EXPECT_EQ(log->ExpireProducers(now_ms_ + kProducerIdExpirationMs + 1), 1u);
  EXPECT_EQ(AppendSync(*log, IdempotentBatch(7, 0, 9, 1))->base_offset, Offset(3));

  // producer.id.expiration.ms set lower (LogManager::Options, from the broker config).
  log.reset();
  producer_expiration_ms_ = 60'000;
  Reopen();
  log = manager_->Get({"t", PartitionId(0)});
  EXPECT_EQ(log->ExpireProducers(now_ms_ + 59'000), 0u);
  EXPECT_EQ(log->ExpireProducers(now_ms_ + 60'001), 1u);
}

std::string TxnBatch(int64_t pid, int16_t epoch, int32_t first_seq, int records) {
  return IdempotentBatch(pid, epoch, first_seq, records, /*transactional=*/true);
}

absl::StatusOr<AppendResult> MarkerSync(PartitionLog& log, int64_t pid, int16_t epoch, bool commit) {
  std::promise<absl::StatusOr<AppendResult>> promise;
  log.AppendMarker(pid, epoch, commit, 0, [&promise](absl::StatusOr<AppendResult> r) { promise.set_value(r); });
  return promise.get_future().get();
}

class TransactionalAppendTest : public PartitionLogTest {};

// The last stable offset stops at the first batch of the oldest open transaction; a marker ends
// it; an abort enters the transaction index that read_committed fetches answer from.
TEST_F(TransactionalAppendTest, LastStableOffsetAndAbortedTransactions) {
  auto log = NewLog(config_);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(2, 10)).ok());                  // 0-1
  ASSERT_TRUE(AppendSync(*log, TxnBatch(5, 0, 0, 3)).ok());              // 2-4, producer 5
  ASSERT_TRUE(AppendSync(*log, TxnBatch(6, 0, 0, 2)).ok());              // 5-6, producer 6
  EXPECT_EQ(log->high_watermark(), Offset(7));
  EXPECT_EQ(log->last_stable_offset(), Offset(2));
  ASSERT_EQ(MarkerSync(*log, 5, 0, /*commit=*/false)->base_offset, Offset(7));
  EXPECT_EQ(log->last_stable_offset(), Offset(5));  // producer 6 still open
  ASSERT_TRUE(AppendSync(*log, TxnBatch(5, 0, 3, 1)).ok());              // 8: producer 5's next transaction
  ASSERT_EQ(MarkerSync(*log, 6, 0, /*commit=*/true)->base_offset, Offset(9));
  EXPECT_EQ(log->last_stable_offset(), Offset(8));
  ASSERT_EQ(MarkerSync(*log, 5, 0, /*commit=*/false)->base_offset, Offset(10));
  EXPECT_EQ(log->last_stable_offset(), Offset(11));

  std::vector<AbortedTxn> all = log->AbortedTransactions(Offset(0), Offset(11));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (AbortedTxn{5, 2, 7, 5}));
  EXPECT_EQ(all[1], (AbortedTxn{5, 8, 10, 11}));
  // A reader past the first abort's marker needs only the second; one below 8 only the first.
  EXPECT_EQ(log->AbortedTransactions(Offset(8), Offset(11)).size(), 1u);
  EXPECT_EQ(log->AbortedTransactions(Offset(0), Offset(5)).size(), 1u);

  // A marker from an older epoch is a fenced coordinator's or zombie's: refused.
  ASSERT_TRUE(AppendSync(*log, TxnBatch(6, 1, 0, 1)).ok());
  EXPECT_EQ(GetProducerError(MarkerSync(*log, 6, 0, true).status()), ProducerError::kInvalidEpoch);
  // A marker with a newer epoch (the coordinator aborting a timed-out transaction) fences the
  // producer's older epoch.
  ASSERT_TRUE(MarkerSync(*log, 6, 2, false).ok());
  EXPECT_EQ(GetProducerError(AppendSync(*log, TxnBatch(6, 1, 1, 1)).status()), ProducerError::kInvalidEpoch);
}

// KIP-890: the verifier is asked, under the partition lock, about a transactional batch that
// opens its producer's transaction here, and its refusal writes nothing; batches of a transaction
// already open here are not asked about.
TEST_F(TransactionalAppendTest, VerifierGuardsTheFirstBatchOfATransaction) {
  auto log = NewLog(config_);
  int asked = 0;
  bool allow = false;
  TxnVerifier verify = [&](int64_t pid, int16_t epoch) {
    ++asked;
    EXPECT_EQ(pid, 5);
    EXPECT_EQ(epoch, 0);
    return allow ? absl::OkStatus() : absl::FailedPreconditionError("not in the transaction");
  };
  auto append = [&](std::string batch) {
    std::promise<absl::StatusOr<AppendResult>> promise;
    log->Append(std::move(batch), LeaderEpoch(0), [&](absl::StatusOr<AppendResult> r) { promise.set_value(r); },
                verify);
    return promise.get_future().get();
  };
  EXPECT_EQ(append(TxnBatch(5, 0, 0, 1)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->log_end_offset(), Offset(0));
  allow = true;
  ASSERT_TRUE(append(TxnBatch(5, 0, 0, 1)).ok());
  allow = false;
  ASSERT_TRUE(append(TxnBatch(5, 0, 1, 1)).ok());  // the transaction is open here: not asked
  ASSERT_TRUE(append(MakeBatch(1, 10)).ok());       // not transactional: not asked
  EXPECT_EQ(asked, 2);
  ASSERT_TRUE(MarkerSync(*log, 5, 0, true).ok());
  EXPECT_EQ(append(TxnBatch(5, 0, 2, 1)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(asked, 3);
}

// Open transactions and the transaction index survive a clean close, a crash (the active
// segment rescanned) and a roll.
TEST_F(TransactionalAppendTest, TransactionStateSurvivesReopenAndRoll) {
  LogConfig small = config_;
  small.segment_bytes = 300;
  auto log = NewLog(small);
  ASSERT_TRUE(AppendSync(*log, TxnBatch(5, 0, 0, 2)).ok());  // 0-1
  ASSERT_TRUE(MarkerSync(*log, 5, 0, false).ok());             // 2
  ASSERT_TRUE(AppendSync(*log, MakeBatch(3, 50)).ok());       // 3-5
  ASSERT_TRUE(AppendSync(*log, TxnBatch(7, 0, 0, 2)).ok());  // 6-7, left open
  ASSERT_GT(log->segments().size(), 1u);
  const std::vector<AbortedTxn> before = log->AbortedTransactions(Offset(0), Offset(8));
  ASSERT_EQ(before.size(), 1u);
  for (bool clean : {true, false}) {
    log.reset();
    if (clean) {
      Reopen();
    } else {
      // Without the clean-shutdown marker, the checkpoint and the transaction indexes, the next
      // open recovers as after a crash and finds the aborted transactions again in the log.
      manager_.reset();
      std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName);
      std::filesystem::remove(dir_.path() + "/" + kCheckpointFileName);
      for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
        if (e.path().extension() == ".txnindex") std::filesystem::remove(e.path());
      }
      Reopen();
    }
    log = manager_->Get({"t", PartitionId(0)});
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_stable_offset(), Offset(6)) << (clean ? "clean" : "crash");
    EXPECT_EQ(log->AbortedTransactions(Offset(0), Offset(8)), before) << (clean ? "clean" : "crash");
  }
  ASSERT_TRUE(MarkerSync(*log, 7, 0, true).ok());
  EXPECT_EQ(log->last_stable_offset(), log->high_watermark());
}

}  // namespace
}  // namespace chronik::storage
