#include "chronik_storage/log_manager.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage {
namespace {

using testing::AppendSync;
using testing::MakeBatch;
using testing::ReadAll;
using testing::TempDir;

absl::StatusOr<std::unique_ptr<LogManager>> OpenDir(const std::string& dir, LogManager::Options options = {}) {
  return LogManager::Open(dir, std::move(options));
}

TEST(LogManagerTest, SecondOpenOfTheSameDirectoryFails) {
  TempDir dir;
  auto first = OpenDir(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = OpenDir(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another broker"), std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find(".lock"), std::string::npos);
  // Released by Close.
  ASSERT_TRUE((*first)->Close().ok());
  auto third = OpenDir(dir.path());
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(LogManagerTest, CreateGetDeleteAndLayout) {
  TempDir dir;
  auto m = OpenDir(dir.path());
  ASSERT_TRUE(m.ok());
  LogManager& manager = **m;
  EXPECT_EQ(manager.Create({"bad/name", PartitionId(0)}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager.Create({"..", PartitionId(0)}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  auto log = manager.Create({"my.topic-x", PartitionId(3)}, {});
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(manager.Create({"my.topic-x", PartitionId(3)}, {}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(manager.Get({"my.topic-x", PartitionId(3)}), *log);
  EXPECT_EQ(manager.Get({"my.topic-x", PartitionId(4)}), nullptr);
  const std::string pdir = dir.path() + "/my.topic-x-3";
  EXPECT_EQ((*log)->dir(), pdir);
  EXPECT_TRUE(std::filesystem::exists(pdir + "/00000000000000000000.log"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/.lock"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/recovery-point-offset-checkpoint"));
  ASSERT_TRUE(AppendSync(**log, MakeBatch(5, 10)).ok());

  ASSERT_TRUE(manager.Delete({"my.topic-x", PartitionId(3)}).ok());
  EXPECT_FALSE(std::filesystem::exists(pdir));
  EXPECT_EQ(manager.Get({"my.topic-x", PartitionId(3)}), nullptr);
  EXPECT_EQ(manager.Delete({"my.topic-x", PartitionId(3)}).code(), absl::StatusCode::kNotFound);
  // The old handle refuses appends.
  auto late = AppendSync(**log, MakeBatch(1, 10));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  // A new partition by the same name starts from scratch, also after an unclean restart.
  auto again = manager.Create({"my.topic-x", PartitionId(3)}, {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->log_end_offset(), Offset(0));
  ASSERT_TRUE(AppendSync(**again, MakeBatch(1, 10)).ok());
  again->reset();
  ASSERT_TRUE(manager.Close().ok());
  std::filesystem::remove(dir.path() + "/.clean-shutdown");
  auto reopened = OpenDir(dir.path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Get({"my.topic-x", PartitionId(3)})->log_end_offset(), Offset(1));
}

// The links a live backup takes are one moment: the files as they were, and a checkpoint with the
// log start as it was then, not as DeleteRecords moved it afterwards. A data directory made of them
// opens as that moment.
TEST(LogManagerTest, LinkedFilesCarryTheirOwnCheckpoint) {
  TempDir dir;
  auto m = OpenDir(dir.path() + "/data");
  ASSERT_TRUE(m.ok()) << m.status();
  const TopicPartition tp{"t", PartitionId(0)};
  auto log = (*m)->Create(tp, {});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendSync(**log, MakeBatch(6, 10)).ok());
  const std::string staged = dir.path() + "/staged";
  std::filesystem::create_directories(staged);
  std::vector<std::pair<std::string, int64_t>> files;
  ASSERT_TRUE((*m)->LinkPartitionFiles(staged, &files).ok());
  EXPECT_NE(std::find_if(files.begin(), files.end(), [](const auto& f) { return f.first == kCheckpointFileName; }),
            files.end());
  ASSERT_TRUE((*log)->DeleteRecordsBefore(Offset(4)).ok());
  ASSERT_TRUE((*m)->WriteCheckpoint().ok());
  ASSERT_TRUE((*m)->Close().ok());

  auto restored = OpenDir(staged);
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::shared_ptr<PartitionLog> back = (*restored)->Get(tp);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->log_start_offset(), Offset(0));
  EXPECT_EQ(back->log_end_offset(), Offset(6));
  auto data = OpenDir(dir.path() + "/data");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ((*data)->Get(tp)->log_start_offset(), Offset(4));
}

// A data directory from before the checkpoint's deleted_below column (version 0) keeps its
// recovery point and log start.
TEST(LogManagerTest, ReadsTheCheckpointOfEarlierVersions) {
  TempDir dir;
  const TopicPartition tp{"t", PartitionId(0)};
  {
    auto m = OpenDir(dir.path());
    ASSERT_TRUE(m.ok()) << m.status();
    auto log = (*m)->Create(tp, {});
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(AppendSync(**log, MakeBatch(6, 10)).ok());
    ASSERT_TRUE((*m)->Close().ok());
  }
  {
    std::ofstream out(dir.path() + "/" + kCheckpointFileName, std::ios::trunc);
    out << "0\n1\nt 0 6 4\n";
  }
  auto m = OpenDir(dir.path());
  ASSERT_TRUE(m.ok()) << m.status();
  std::shared_ptr<PartitionLog> log = (*m)->Get(tp);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_start_offset(), Offset(4));
  EXPECT_EQ(log->bounds().deleted_below, Offset(0));
  EXPECT_EQ(log->log_end_offset(), Offset(6));
}

TEST(LogManagerTest, OpenFinishesInterruptedDeletesAndIgnoresStrayEntries) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/t-0.12345-delete");
  std::filesystem::create_directories(dir.path() + "/not_a_partition");
  auto m = OpenDir(dir.path());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/t-0.12345-delete"));
  EXPECT_TRUE((*m)->partitions().empty());
}

TEST(LogManagerTest, ReopenAfterCleanCloseDoesNotScan) {
  TempDir dir;
  {
    auto m = OpenDir(dir.path());
    ASSERT_TRUE(m.ok());
    for (int p = 0; p < 3; ++p) {
      auto log = (*m)->Create({"t", PartitionId(p)}, {});
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(**log, MakeBatch(2, 50)).ok());
    }
    ASSERT_TRUE((*m)->Close().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/.clean-shutdown"));
  auto m = OpenDir(dir.path());
  ASSERT_TRUE(m.ok());
  RecoveryStats stats = (*m)->last_recovery();
  EXPECT_TRUE(stats.clean_shutdown);
  EXPECT_EQ(stats.partitions, 3);
  EXPECT_EQ(stats.segments_scanned, 0);
  EXPECT_EQ(stats.indexes_rebuilt, 0);
  // The marker is gone while the manager is open.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/.clean-shutdown"));
  auto log = (*m)->Get({"t", PartitionId(1)});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), Offset(20));
  EXPECT_EQ(log->high_watermark(), Offset(20));
  auto r = AppendSync(*log, MakeBatch(1, 10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(20));
}

TEST(LogManagerTest, ReopenAfterUncleanShutdownScans) {
  TempDir dir;
  {
    auto m = OpenDir(dir.path());
    ASSERT_TRUE(m.ok());
    LogConfig config;
    config.segment_bytes = 2000;
    auto log = (*m)->Create({"t", PartitionId(0)}, config);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(AppendSync(**log, MakeBatch(2, 200)).ok());
    // Force the checkpoint so the recovery point is recorded past the rolled segments.
    ASSERT_TRUE((*m)->WriteCheckpoint().ok());
    ASSERT_TRUE((*m)->Close().ok());
  }
  std::filesystem::remove(dir.path() + "/.clean-shutdown");
  LogManager::Options options;
  options.default_config.segment_bytes = 2000;
  auto m = OpenDir(dir.path(), options);
  ASSERT_TRUE(m.ok());
  RecoveryStats stats = (*m)->last_recovery();
  EXPECT_FALSE(stats.clean_shutdown);
  EXPECT_GE(stats.segments_scanned, 1);
  EXPECT_LT(stats.segments_scanned, stats.segments_loaded);  // only from the recovery point on
  EXPECT_EQ(stats.bytes_truncated, 0);
  auto log = (*m)->Get({"t", PartitionId(0)});
  EXPECT_EQ(log->log_end_offset(), Offset(40));
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 20u);
}

TEST(LogManagerTest, RecoveredPartitionsTakeConfigFromCallback) {
  TempDir dir;
  {
    auto m = OpenDir(dir.path());
    ASSERT_TRUE((*m)->Create({"a", PartitionId(0)}, {}).ok());
  }
  LogManager::Options options;
  options.config_for = [](const TopicPartition& tp) {
    LogConfig c;
    c.segment_bytes = 12345;
    return c;
  };
  auto m = OpenDir(dir.path(), options);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->Get({"a", PartitionId(0)})->config().segment_bytes, 12345);
}

TEST(LogManagerTest, GroupCommitSharesFsyncsAmongConcurrentAppenders) {
  TempDir dir;
  auto m = OpenDir(dir.path());
  ASSERT_TRUE(m.ok());
  auto log = (*m)->Create({"t", PartitionId(0)}, {});
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 32, kPerThread = 40;
  const LogManagerStats before = (*m)->stats();
  std::vector<std::thread> threads;
  std::atomic<int> acked{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::string batch = MakeBatch(1, 100);
      for (int i = 0; i < kPerThread; ++i) {
        auto r = AppendSync(**log, batch);
        ASSERT_TRUE(r.ok()) << r.status();
        acked++;
      }
    });
  }
  for (auto& t : threads) t.join();
  const LogManagerStats after = (*m)->stats();
  const uint64_t appends = after.appended_batches - before.appended_batches;
  const uint64_t syncs = after.fdatasync_calls - before.fdatasync_calls;
  std::printf("group commit: %llu durable appends, %llu fdatasyncs, %llu rounds\n",
              static_cast<unsigned long long>(appends), static_cast<unsigned long long>(syncs),
              static_cast<unsigned long long>(after.sync_rounds - before.sync_rounds));
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(appends, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(syncs * 4, appends);  // far fewer fsyncs than appends
  EXPECT_EQ((*log)->durable_offset(), Offset(kThreads * kPerThread));
}

TEST(LogManagerTest, CloseFlushesNonDurableData) {
  TempDir dir;
  {
    auto m = OpenDir(dir.path());
    LogConfig config;
    config.flush_ms = 3'600'000;
    auto log = (*m)->Create({"t", PartitionId(0)}, config);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendSync(**log, MakeBatch(1, 10)).ok());
    EXPECT_EQ((*log)->durable_offset(), Offset(0));
    ASSERT_TRUE((*m)->Close().ok());
    EXPECT_EQ((*log)->durable_offset(), Offset(5));
    EXPECT_EQ(AppendSync(**log, MakeBatch(1, 10)).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  auto m = OpenDir(dir.path());
  EXPECT_EQ((*m)->Get({"t", PartitionId(0)})->log_end_offset(), Offset(5));
}

}  // namespace
}  // namespace chronik::storage
