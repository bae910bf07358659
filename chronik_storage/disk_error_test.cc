// Disk full, read-only file system, I/O errors: injected through the FileOps seam (the tests run as
// root, where permissions do not stop writes). Each must surface a clear kUnavailable status and
// leave everything already written intact.

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

#include "chronik_storage/errors.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage {
namespace {

using testing::AppendSync;
using testing::FaultyFileOps;
using testing::MakeBatch;
using testing::ReadAll;
using testing::TempDir;

const TopicPartition kTp{"t", PartitionId(0)};

bool Contains(const absl::Status& st, const std::string& text) {
  return std::string(st.message()).find(text) != std::string::npos;
}

class DiskErrorTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    LogManager::Options options;
    options.file_ops = ops_;
    options.default_config = config_;
    auto m = LogManager::Open(dir_.path(), options);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    log_ = manager_->Get(kTp);
    if (log_ == nullptr) {
      auto created = manager_->Create(kTp, config_);
      ASSERT_TRUE(created.ok()) << created.status();
      log_ = *created;
    }
  }

  // Drops the manager without the clean-shutdown marker (as a crash would leave it).
  void CloseUnclean() {
    log_.reset();
    (void)manager_->Close();
    manager_.reset();
    std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName);
  }

  void AppendN(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(AppendSync(*log_, MakeBatch(2, 100)).ok());
  }

  TempDir dir_;
  LogConfig config_;
  std::shared_ptr<FaultyFileOps> ops_ = std::make_shared<FaultyFileOps>();
  std::unique_ptr<LogManager> manager_;
  std::shared_ptr<PartitionLog> log_;
};

TEST_F(DiskErrorTest, DiskFullMidWriteTruncatesBackAndStaysUsable) {
  AppendN(3);
  const int64_t size_before = log_->size_bytes();
  const std::string seg = log_->dir() + "/" + SegmentFileName(0, ".log");
  ops_->write_errno = ENOSPC;
  ops_->writes_before_failure = 0;  // half of the next write lands, then ENOSPC
  auto r = AppendSync(*log_, MakeBatch(5, 1000));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsStorageError(r.status()));
  EXPECT_TRUE(Contains(r.status(), "No space left on device")) << r.status();
  EXPECT_TRUE(Contains(r.status(), "ENOSPC"));
  EXPECT_TRUE(Contains(r.status(), seg));
  // The half batch is gone from the file; the log is as it was and still takes appends.
  EXPECT_EQ(testing::FileSize(seg), size_before);
  EXPECT_EQ(log_->log_end_offset(), Offset(6));
  EXPECT_TRUE(log_->status().ok());
  ops_->Heal();
  auto ok = AppendSync(*log_, MakeBatch(1, 10));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->base_offset, Offset(6));
  CloseUnclean();
  Open();
  auto all = ReadAll(*log_);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 4u);
  EXPECT_EQ(manager_->last_recovery().bytes_truncated, 0);
}

TEST_F(DiskErrorTest, FailedUndoTakesThePartitionOfflineAndRecoveryCleansUp) {
  AppendN(3);
  ops_->write_errno = EIO;
  ops_->writes_before_failure = 0;
  ops_->fail_truncate = true;
  auto r = AppendSync(*log_, MakeBatch(5, 1000));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status(), "EIO")) << r.status();
  EXPECT_FALSE(log_->status().ok());
  ops_->Heal();
  auto refused = AppendSync(*log_, MakeBatch(1, 10));
  EXPECT_TRUE(IsStorageError(refused.status()));
  EXPECT_TRUE(Contains(refused.status(), "offline")) << refused.status();
  // Reads still serve exactly the good data, never the half batch on disk.
  auto all = ReadAll(*log_);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);
  // An offline partition means no clean-shutdown marker; recovery truncates the half batch.
  log_.reset();
  EXPECT_FALSE(manager_->Close().ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/" + kCleanShutdownFileName));
  manager_.reset();
  Open();
  EXPECT_GT(manager_->last_recovery().bytes_truncated, 0);
  all = ReadAll(*log_);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto again = AppendSync(*log_, MakeBatch(1, 10));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->base_offset, Offset(6));
}

TEST_F(DiskErrorTest, ReadOnlyFileSystemWhenRolling) {
  LogConfig config = config_;
  config.segment_bytes = 1000;
  log_->UpdateConfig(config);
  AppendN(3);  // ~270 bytes each: the next one needs a new segment
  ops_->open_errno = EROFS;
  ops_->fail_creates = true;
  auto r = AppendSync(*log_, MakeBatch(2, 300));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsStorageError(r.status()));
  EXPECT_TRUE(Contains(r.status(), "Read-only file system (EROFS)")) << r.status();
  EXPECT_EQ(log_->segments().size(), 1u);
  EXPECT_EQ(log_->log_end_offset(), Offset(6));
  ops_->Heal();
  auto ok = AppendSync(*log_, MakeBatch(2, 300));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->base_offset, Offset(6));
  EXPECT_EQ(log_->segments().size(), 2u);
}

TEST_F(DiskErrorTest, PermissionDeniedCreatingAPartition) {
  ops_->open_errno = EACCES;
  ops_->fail_creates = true;
  auto created = manager_->Create({"other", PartitionId(0)}, config_);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(Contains(created.status(), "Permission denied (EACCES)")) << created.status();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/other-0"));
  EXPECT_EQ(manager_->Get({"other", PartitionId(0)}), nullptr);
}

TEST_F(DiskErrorTest, FsyncFailureFailsPendingAppendsAndGoesOffline) {
  AppendN(2);
  ASSERT_EQ(log_->high_watermark(), Offset(4));
  ops_->sync_errno = EIO;
  ops_->syncs_before_failure = 0;
  auto r = AppendSync(*log_, MakeBatch(1, 10));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsStorageError(r.status()));
  EXPECT_TRUE(Contains(r.status(), "fdatasync")) << r.status();
  EXPECT_TRUE(Contains(r.status(), "EIO"));
  // The unsynced append was never acknowledged nor made visible.
  EXPECT_EQ(log_->high_watermark(), Offset(4));
  EXPECT_FALSE(log_->status().ok());
  ops_->Heal();
  EXPECT_TRUE(IsStorageError(AppendSync(*log_, MakeBatch(1, 10)).status()));
  CloseUnclean();
  Open();
  auto all = ReadAll(*log_);
  ASSERT_TRUE(all.ok());
  EXPECT_GE(all->size(), 2u);  // the failed append may or may not have reached the disk
  auto again = AppendSync(*log_, MakeBatch(1, 10));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->base_offset, Offset(all->back().last_offset + 1));
}

TEST(DiskErrorOpenTest, UnwritableDataDirectoryIsAClearError) {
  TempDir dir;
  auto ops = std::make_shared<FaultyFileOps>();
  ops->open_errno = EROFS;
  ops->fail_creates = true;
  LogManager::Options options;
  options.file_ops = ops;
  auto m = LogManager::Open(dir.path() + "/data", options);
  ASSERT_FALSE(m.ok());
  // mkdir itself is not behind the seam; the lock file is.
  EXPECT_TRUE(IsStorageError(m.status()));
  EXPECT_TRUE(Contains(m.status(), ".lock")) << m.status();
  EXPECT_TRUE(Contains(m.status(), "EROFS"));
}

// A small file replaced whole (node identity, a restore's marker): a failed write leaves the old
// content and no temporary file; a good one leaves the new content.
TEST(DiskErrorReplaceTest, AFailedReplaceLeavesTheOldFile) {
  TempDir dir;
  const std::string path = dir.path() + "/file";
  FaultyFileOps ops;
  ASSERT_TRUE(ReplaceFileDurably(ops, path, "old").ok());
  ops.writes_before_failure = 0;
  const absl::Status st = ReplaceFileDurably(ops, path, "new content");
  EXPECT_TRUE(Contains(st, "ENOSPC")) << st;
  bool missing = false;
  EXPECT_EQ(ReadWholeFile(path, &missing).value_or(""), "old");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  ops.Heal();
  ASSERT_TRUE(ReplaceFileDurably(ops, path, "new content").ok());
  EXPECT_EQ(ReadWholeFile(path, &missing).value_or(""), "new content");
}

}  // namespace
}  // namespace chronik::storage
