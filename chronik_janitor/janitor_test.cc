#include "chronik_janitor/janitor.h"

#include <sched.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chronik_protocol/records/record_batch_builder.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::janitor {
namespace {

using storage::LogConfig;
using storage::LogEvent;
using storage::LogEventKind;
using storage::LogManager;
using storage::Offset;
using storage::PartitionId;
using storage::TopicPartition;
using storage::testing::AppendSync;
using storage::testing::MakeBatch;
using storage::testing::TempDir;

std::string KeyedBatch(int64_t ts, const std::vector<std::pair<std::string, std::optional<std::string>>>& records) {
  protocol::RecordBatchBuilder builder(protocol::RecordBatchBuilder::Options{});
  for (const auto& [k, v] : records) {
    if (!builder.Append(ts, k, v).ok()) std::abort();
  }
  return *builder.Build();
}

// cleanup.policy=compact with small segments, so that a few records close several of them.
LogConfig Compacted(int64_t segment_bytes) {
  LogConfig config;
  config.cleanup_delete = false;
  config.cleanup_compact = true;
  config.segment_bytes = segment_bytes;
  return config;
}

class JanitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogManager::Options options;
    options.clock_ms = [this] { return now_.load(); };
    logs_ = *LogManager::Open(dir_.path(), options);
    logs_->Subscribe([this](const LogEvent& e) {
      std::lock_guard<std::mutex> lock(events_mu_);
      events_.push_back(e);
    });
  }

  JanitorOptions Options() {
    JanitorOptions o;
    o.clock_ms = [this] { return now_.load(); };
    return o;
  }

  int Count(LogEventKind kind) {
    std::lock_guard<std::mutex> lock(events_mu_);
    int n = 0;
    for (const LogEvent& e : events_) n += e.kind == kind;
    return n;
  }

  TempDir dir_;
  std::atomic<int64_t> now_{1'000'000};
  std::unique_ptr<LogManager> logs_;
  std::mutex events_mu_;
  std::vector<LogEvent> events_;
};

TEST_F(JanitorTest, RetentionByTimeRollsTheIdleSegmentAndDeletesIt) {
  LogConfig config;
  config.retention_ms = 60'000;
  config.segment_ms = 10'000;
  auto log = *logs_->Create(TopicPartition{"t", PartitionId(0)}, config);
  ASSERT_TRUE(AppendSync(*log, MakeBatch(10, 100, now_)).ok());
  Janitor janitor(*logs_, Options());

  // Young: nothing happens.
  LogPassStats s = janitor.RunRetention(now_);
  EXPECT_EQ(s.segments_rolled, 0);
  EXPECT_EQ(s.segments_deleted, 0);

  // Past segment.ms the idle active segment closes; past retention.ms it goes.
  now_ += 20'000;
  s = janitor.RunRetention(now_);
  EXPECT_EQ(s.segments_rolled, 1);
  EXPECT_EQ(s.segments_deleted, 0);
  EXPECT_EQ(Count(LogEventKind::kSegmentRolled), 1);
  now_ += 60'000;
  s = janitor.RunRetention(now_);
  EXPECT_EQ(s.segments_deleted, 1);
  EXPECT_EQ(log->log_start_offset(), Offset(10));
  EXPECT_EQ(log->high_watermark(), Offset(10));
  EXPECT_EQ(Count(LogEventKind::kSegmentDeleted), 1);
  EXPECT_EQ(Count(LogEventKind::kLogStartMoved), 1);
  EXPECT_GE(Count(LogEventKind::kHighWatermarkMoved), 1);
  // The empty active segment is never rolled again.
  now_ += 60'000;
  EXPECT_EQ(janitor.RunRetention(now_).segments_rolled, 0);
}

TEST_F(JanitorTest, RetentionBySizeKeepsTheNewestSegments) {
  LogConfig config;
  config.segment_bytes = 2000;
  config.retention_bytes = 3000;
  config.retention_ms = -1;
  auto log = *logs_->Create(TopicPartition{"t", PartitionId(0)}, config);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log, MakeBatch(1, 1500, now_)).ok());
  Janitor janitor(*logs_, Options());
  LogPassStats s = janitor.RunRetention(now_);
  EXPECT_GT(s.segments_deleted, 0);
  EXPECT_LE(log->size_bytes(), 3000 + 2000);
  EXPECT_EQ(log->log_start_offset(), Offset(10 - static_cast<int64_t>(log->segments().size())));
}

TEST_F(JanitorTest, CleanerCompactsByDirtyRatioAndRemovesTombstonesAfterDeleteRetention) {
  LogConfig config = Compacted(200);
  config.delete_retention_ms = 5'000;
  config.min_cleanable_dirty_ratio = 0.5;
  auto log = *logs_->Create(TopicPartition{"c", PartitionId(0)}, config);
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"a", "v" + std::to_string(round)}, {"b", "w"}})).ok());
  }
  ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"b", std::nullopt}})).ok());
  ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"z", "active"}})).ok());
  Janitor janitor(*logs_, Options());

  LogPassStats s = janitor.RunCleaner(now_);
  EXPECT_EQ(s.partitions_compacted, 1);
  // a: only its last value; b: only its tombstone, kept for delete.retention.ms.
  EXPECT_EQ(s.records_removed, 9);
  // Nothing new is dirty and the tombstone is young: no pass.
  EXPECT_EQ(janitor.RunCleaner(now_).partitions_compacted, 0);
  now_ += 5'001;
  s = janitor.RunCleaner(now_);
  EXPECT_EQ(s.partitions_compacted, 1);
  EXPECT_EQ(s.records_removed, 1);
  EXPECT_EQ(janitor.RunCleaner(now_).partitions_compacted, 0);
}

// The cleaner's progress survives a restart: a janitor started on a clean log does not compact it
// again; one that lost its checkpoint does.
TEST_F(JanitorTest, CleanerProgressSurvivesARestart) {
  LogConfig config = Compacted(200);
  auto log = *logs_->Create(TopicPartition{"kept", PartitionId(0)}, config);
  // Ten keys, each written once and then once more: half the records survive in closed segments.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"k" + std::to_string(i % 10), "v" + std::to_string(i)}})).ok());
  }
  {
    Janitor janitor(*logs_, Options());
    ASSERT_EQ(janitor.RunCleaner(now_).partitions_compacted, 1);
    ASSERT_EQ(janitor.RunCleaner(now_).partitions_compacted, 0);
  }
  {
    Janitor restarted(*logs_, Options());
    EXPECT_EQ(restarted.RunCleaner(now_).partitions_compacted, 0);
  }
  ASSERT_TRUE(std::filesystem::remove(dir_.path() + "/cleaner-offset-checkpoint"));
  Janitor forgetful(*logs_, Options());
  EXPECT_EQ(forgetful.RunCleaner(now_).partitions_compacted, 1);
}

TEST_F(JanitorTest, MaxCompactionLagCompactsALogBelowTheDirtyRatio) {
  LogConfig config = Compacted(300);
  config.min_cleanable_dirty_ratio = 0.9;
  config.max_compaction_lag_ms = 60'000;
  auto log = *logs_->Create(TopicPartition{"lag", PartitionId(0)}, config);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"k" + std::to_string(i), "v"}})).ok());
  Janitor janitor(*logs_, Options());
  ASSERT_EQ(janitor.RunCleaner(now_).partitions_compacted, 1);  // all of it dirty at first
  // One more segment's worth of updates: dirty, but far below the ratio.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"k0", "w" + std::to_string(i)}})).ok());
  ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"active", "x"}})).ok());
  EXPECT_EQ(janitor.RunCleaner(now_).partitions_compacted, 0);
  now_ += 60'001;
  LogPassStats s = janitor.RunCleaner(now_);
  EXPECT_EQ(s.partitions_compacted, 1);
  EXPECT_GE(s.records_removed, 1);
}

// Stop interrupts a compaction pass throttled to a crawl instead of waiting for it to finish
// (without the interruption this test waits hours and times out); the log keeps its data.
TEST_F(JanitorTest, StopInterruptsAThrottledCompaction) {
  LogConfig config = Compacted(300);
  auto log = *logs_->Create(TopicPartition{"slow", PartitionId(0)}, config);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(AppendSync(*log, KeyedBatch(now_, {{"k", "v" + std::to_string(i)}})).ok());
  const int64_t bytes = log->size_bytes();
  JanitorOptions o = Options();
  o.cleaner_backoff_ms = 1;
  o.cleaner_io_max_bytes_per_second = 1;  // one byte a second
  Janitor janitor(*logs_, o);
  janitor.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the pass is sleeping in the throttle
  janitor.Stop();
  EXPECT_EQ(log->size_bytes(), bytes);
  EXPECT_EQ(log->log_end_offset(), Offset(20));
}

TEST_F(JanitorTest, ThrottleBoundsTheRate) {
  IoThrottle throttle(1'000'000);  // 1 MB/s
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(throttle.Acquire(50'000));
  // 500 KB at 1 MB/s: the throttle made the caller wait (about half a second).
  EXPECT_GT(throttle.slept(), std::chrono::milliseconds(300));
  EXPECT_GE(std::chrono::steady_clock::now() - start, throttle.slept());
  IoThrottle unlimited(0);
  EXPECT_TRUE(unlimited.Acquire(1 << 30));
  EXPECT_EQ(unlimited.slept().count(), 0);
  unlimited.Cancel();
  EXPECT_FALSE(unlimited.Acquire(1));
}

// remote.log.manager.copy.max.bytes.per.second altered while a copy sleeps in the throttle: the
// sleeper wakes and goes on at the new rate, here none; and a rate set where there was none holds.
TEST_F(JanitorTest, ARateSetWhileACallerSleepsAppliesToIt) {
  IoThrottle throttle(1);  // one byte a second: the acquire below would sleep for days
  std::atomic<bool> acquired{false};
  std::chrono::nanoseconds waited{0};
  std::thread sleeper([&] {
    EXPECT_TRUE(throttle.Acquire(1'000'000, &waited));
    acquired = true;
  });
  while (throttle.waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  throttle.SetRate(1);  // the same rate: the sleeper is not even woken (its sleep would count)
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(throttle.slept().count(), 0);
  EXPECT_EQ(throttle.waiting(), 1);
  throttle.SetRate(0);
  sleeper.join();
  EXPECT_TRUE(acquired);
  EXPECT_EQ(throttle.waiting(), 0);
  EXPECT_GT(waited.count(), 0);
  EXPECT_EQ(throttle.slept(), waited);

  throttle.SetRate(1'000'000);  // and from none to 1 MB/s: more than a second's bytes must wait
  waited = std::chrono::nanoseconds(0);
  EXPECT_TRUE(throttle.Acquire(1'000'001, &waited));
  EXPECT_GT(waited.count(), 0);
}

TEST_F(JanitorTest, ATinyRateWaitsInsteadOfOverflowing) {
  // 1 MB at 1e-12 B/s is 1e18 s, past what nanoseconds hold: uncapped, the due time wrapped into
  // the past and the caller went at once.
  IoThrottle throttle(1e-12);
  std::atomic<bool> done{false};
  std::thread caller([&] {
    EXPECT_TRUE(throttle.Acquire(1'000'000));
    done = true;
  });
  while (throttle.waiting() == 0 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_FALSE(done) << "the caller went without waiting";
  throttle.SetRate(0);
  caller.join();
  EXPECT_GT(throttle.slept().count(), 0);
}

TEST_F(JanitorTest, ScheduledTasksRunOnTheJanitorThreadAndStopPromptly) {
  JanitorOptions o = Options();
  o.retention_check_interval_ms = 10;
  o.cleaner_backoff_ms = 10;
  Janitor janitor(*logs_, o);
  std::atomic<int> runs{0};
  janitor.Schedule("count", 5, [&runs](int64_t) { runs++; });
  janitor.Start();
  while (runs.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  janitor.Stop();
  const int after = runs.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(runs.load(), after);
}

// An upload to a store that hangs must not stop retention and the scheduler's other tasks.
TEST_F(JanitorTest, ATaskOnItsOwnThreadDoesNotHoldUpTheScheduler) {
  Janitor janitor(*logs_, Options());
  std::atomic<bool> release{false};
  std::atomic<int> slow_runs{0};
  std::atomic<int> fast_runs{0};
  janitor.ScheduleOnOwnThread("slow", 1, [&](int64_t) {
    slow_runs++;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  janitor.Schedule("fast", 1, [&](int64_t) { fast_runs++; });
  janitor.Start();
  for (int i = 0; i < 10'000 && (fast_runs < 5 || slow_runs < 1); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(fast_runs.load(), 5);
  EXPECT_EQ(slow_runs.load(), 1);  // still in its first run
  release = true;
  janitor.Stop();
}

// Uploads and backups trail the log: their threads yield the CPU to produce and fetch, and the
// scheduler's thread keeps its normal priority.
TEST_F(JanitorTest, AnIdleTaskRunsAtIdlePriorityAndTheOthersDoNot) {
  Janitor janitor(*logs_, Options());
  std::atomic<int> idle_policy{-1};
  std::atomic<int> normal_policy{-1};
  std::atomic<int> scheduler_policy{-1};
  janitor.ScheduleOnOwnThread("idle", 1, [&](int64_t) { idle_policy = ::sched_getscheduler(0); },
                              Janitor::Priority::kIdle);
  janitor.ScheduleOnOwnThread("normal", 1, [&](int64_t) { normal_policy = ::sched_getscheduler(0); });
  janitor.Schedule("scheduler", 1, [&](int64_t) { scheduler_policy = ::sched_getscheduler(0); });
  janitor.Start();
  for (int i = 0; i < 10'000 && (idle_policy < 0 || normal_policy < 0 || scheduler_policy < 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  janitor.Stop();
  EXPECT_EQ(idle_policy.load(), SCHED_IDLE);
  EXPECT_EQ(normal_policy.load(), SCHED_OTHER);
  EXPECT_EQ(scheduler_policy.load(), SCHED_OTHER);
}

}  // namespace
}  // namespace chronik::janitor
