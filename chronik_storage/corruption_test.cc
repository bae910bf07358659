// Damaged segment and index files: every case reopens, keeps every valid batch before the damage,
// and is appendable again at the right offset.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage {
namespace {

using testing::AppendSync;
using testing::MakeBatch;
using testing::ReadAll;
using testing::StoredBatch;
using testing::TempDir;

const TopicPartition kTp{"t", PartitionId(0)};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class CorruptionTest : public ::testing::Test {
 protected:
  LogManager::Options Options() const {
    LogManager::Options options;
    options.default_config = config_;
    return options;
  }

  // Writes `batches` batches, closes cleanly, and returns what was written.
  std::vector<StoredBatch> Populate(int batches, size_t value_size = 40) {
    auto m = LogManager::Open(dir_.path(), Options());
    EXPECT_TRUE(m.ok()) << m.status();
    auto log = (*m)->Create(kTp, config_);
    EXPECT_TRUE(log.ok());
    for (int i = 0; i < batches; ++i) {
      EXPECT_TRUE(AppendSync(**log, MakeBatch(1 + i % 3, value_size, now_ms_ + i, protocol::CompressionType::kNone,
                                              static_cast<char>('a' + i % 26)))
                      .ok());
    }
    auto all = ReadAll(**log);
    EXPECT_TRUE(all.ok());
    EXPECT_TRUE((*m)->Close().ok());
    return *all;
  }

  std::string SegmentPath(int64_t base, const char* ext) const {
    return dir_.path() + "/t-0/" + SegmentFileName(base, ext);
  }

  void Crash() { std::filesystem::remove(dir_.path() + "/" + kCleanShutdownFileName); }

  // Reopens and checks the log holds exactly `expected` (a prefix of what was written), then
  // appends one batch at the expected offset. Returns the recovery stats.
  RecoveryStats ReopenAndCheck(const std::vector<StoredBatch>& expected) {
    auto m = LogManager::Open(dir_.path(), Options());
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return {};
    auto log = (*m)->Get(kTp);
    EXPECT_NE(log, nullptr);
    auto all = ReadAll(*log);
    EXPECT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(all->size(), expected.size());
    for (size_t i = 0; i < std::min(all->size(), expected.size()); ++i) {
      EXPECT_EQ((*all)[i].base_offset, expected[i].base_offset);
      EXPECT_EQ((*all)[i].bytes, expected[i].bytes) << "batch " << i;
    }
    const int64_t next = expected.empty() ? 0 : expected.back().last_offset + 1;
    EXPECT_EQ(log->log_end_offset(), Offset(next));
    auto r = AppendSync(*log, MakeBatch(2, 10));
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      EXPECT_EQ(r->base_offset, Offset(next));
    }
    auto after = ReadAll(*log);
    EXPECT_TRUE(after.ok());
    EXPECT_EQ(after->size(), expected.size() + 1);
    RecoveryStats stats = (*m)->last_recovery();
    return stats;
  }

  TempDir dir_;
  LogConfig config_;
  // Record timestamps near the wall clock, so that segment.ms (measured from the first batch's
  // timestamp after a reopen) does not roll.
  const int64_t now_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
};

TEST_F(CorruptionTest, TruncatedTailAtEveryByteOfTheLastBatch) {
  std::vector<StoredBatch> written = Populate(5);
  const std::string log_path = SegmentPath(0, ".log");
  const std::string full = ReadFile(log_path);
  const size_t last_start = full.size() - written.back().bytes.size();
  std::vector<StoredBatch> kept(written.begin(), written.end() - 1);
  int cuts = 0;
  for (size_t cut = last_start; cut < full.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    WriteFile(log_path, full.substr(0, cut));
    Crash();
    RecoveryStats stats = ReopenAndCheck(kept);
    EXPECT_EQ(stats.bytes_truncated, static_cast<int64_t>(cut - last_start));
    EXPECT_FALSE(stats.clean_shutdown);
    ++cuts;
    if (HasFailure()) break;
  }
  EXPECT_EQ(cuts, static_cast<int>(written.back().bytes.size()));
}

TEST_F(CorruptionTest, FlippedBitsInTheMiddleOfTheLastSegment) {
  config_.segment_bytes = 1500;
  std::vector<StoredBatch> written = Populate(40);
  auto m = LogManager::Open(dir_.path(), Options());
  ASSERT_TRUE(m.ok());
  std::vector<SegmentInfo> segs = (*m)->Get(kTp)->segments();
  ASSERT_TRUE((*m)->Close().ok());
  ASSERT_GE(segs.size(), 3u);
  const SegmentInfo& last = segs.back();
  const std::string path = SegmentPath(last.base_offset.value(), ".log");
  std::string data = ReadFile(path);
  // Flip a bit inside the records of the batch in the middle of the segment.
  size_t pos = 0;
  size_t target = 0;
  for (const StoredBatch& b : written) {
    if (b.base_offset < last.base_offset.value()) continue;
    if (pos + b.bytes.size() > data.size() / 2) {
      target = static_cast<size_t>(b.base_offset);
      break;
    }
    pos += b.bytes.size();
  }
  data[pos + 70] ^= 0x10;
  WriteFile(path, data);
  Crash();
  std::vector<StoredBatch> kept;
  for (const StoredBatch& b : written) {
    if (b.base_offset < static_cast<int64_t>(target)) kept.push_back(b);
  }
  RecoveryStats stats = ReopenAndCheck(kept);
  EXPECT_EQ(stats.bytes_truncated, static_cast<int64_t>(data.size() - pos));
}

TEST_F(CorruptionTest, CorruptionInAnEarlierSegmentDropsEverythingAfterIt) {
  config_.segment_bytes = 1500;
  std::vector<StoredBatch> written = Populate(40);
  // Without a checkpoint the recovery point is unknown, so every segment is scanned.
  std::filesystem::remove(dir_.path() + "/" + kCheckpointFileName);
  const std::string path = SegmentPath(0, ".log");
  std::string data = ReadFile(path);
  const size_t second = written[0].bytes.size();
  data[second + 65] ^= 0x01;  // the second batch's records
  WriteFile(path, data);
  Crash();
  RecoveryStats stats = ReopenAndCheck({written[0]});
  EXPECT_GT(stats.segments_deleted, 0);
}

TEST_F(CorruptionTest, MissingIndexIsRebuilt) {
  config_.segment_bytes = 2000;
  config_.index_interval_bytes = 200;
  std::vector<StoredBatch> written = Populate(60);
  const std::string index = SegmentPath(0, ".index");
  const std::string time_index = SegmentPath(0, ".timeindex");
  const std::string original = ReadFile(index);
  ASSERT_FALSE(original.empty());
  std::filesystem::remove(index);
  RecoveryStats stats = ReopenAndCheck(written);
  EXPECT_TRUE(stats.clean_shutdown);
  EXPECT_EQ(stats.indexes_rebuilt, 1);
  EXPECT_EQ(stats.bytes_truncated, 0);
  // Rewritten on disk, identical to the original.
  EXPECT_EQ(ReadFile(index), original);
  // Offset lookups work in the rebuilt segment.
  auto m = LogManager::Open(dir_.path(), Options());
  auto log = (*m)->Get(kTp);
  for (const StoredBatch& b : written) {
    auto r = log->Read(Offset(b.last_offset), 1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r->records.Flatten(), b.bytes);
  }
}

TEST_F(CorruptionTest, DamagedIndexesAreRebuilt) {
  config_.segment_bytes = 2000;
  config_.index_interval_bytes = 200;
  std::vector<StoredBatch> written = Populate(60);
  // Wrong size; then entries not monotonic; then an entry pointing past the log; then a time
  // index that is garbage.
  const std::string index = SegmentPath(0, ".index");
  const std::string original = ReadFile(index);
  ASSERT_GE(original.size(), 16u);
  std::vector<std::pair<std::string, std::string>> damages = {
      {index, original.substr(0, original.size() - 3)},
      {index, original.substr(8, 8) + original.substr(0, 8) + original.substr(16)},
      {index, original + std::string("\x00\x00\x00\x7f\x7f\x00\x00\x00", 8)},
      {SegmentPath(0, ".timeindex"), std::string(24, '\xff')},
  };
  for (const auto& [path, bytes] : damages) {
    WriteFile(path, bytes);
    RecoveryStats stats = ReopenAndCheck(written);
    EXPECT_EQ(stats.indexes_rebuilt, 1);
    // Undo the extra batch ReopenAndCheck appended, so the next round sees the same log.
    written = *ReadAll(*(*LogManager::Open(dir_.path(), Options()))->Get(kTp));
  }
}

TEST_F(CorruptionTest, ZeroFilledTailAfterPowerLoss) {
  config_.segment_bytes = 3000;
  std::vector<StoredBatch> written = Populate(30);
  auto m = LogManager::Open(dir_.path(), Options());
  ASSERT_TRUE(m.ok());
  const int64_t last_base = (*m)->Get(kTp)->segments().back().base_offset.value();
  ASSERT_TRUE((*m)->Close().ok());
  const std::string path = SegmentPath(last_base, ".log");
  WriteFile(path, ReadFile(path) + std::string(4096, '\0'));
  Crash();
  RecoveryStats stats = ReopenAndCheck(written);
  EXPECT_EQ(stats.bytes_truncated, 4096);
}

TEST_F(CorruptionTest, ZeroFilledTailInsideTheLastBatch) {
  std::vector<StoredBatch> written = Populate(5);
  const std::string path = SegmentPath(0, ".log");
  std::string data = ReadFile(path);
  const size_t last_start = data.size() - written.back().bytes.size();
  // The last batch's pages never reached the disk: its bytes read back as zeros.
  data.replace(last_start + 20, data.size() - last_start - 20, data.size() - last_start - 20, '\0');
  WriteFile(path, data + std::string(4096, '\0'));
  Crash();
  ReopenAndCheck(std::vector<StoredBatch>(written.begin(), written.end() - 1));
}

TEST_F(CorruptionTest, TornTailEvenWithCleanMarkerIsCaught) {
  std::vector<StoredBatch> written = Populate(5);
  const std::string path = SegmentPath(0, ".log");
  std::string data = ReadFile(path);
  WriteFile(path, data.substr(0, data.size() - 7));
  // The marker is still there, but the tail no longer parses: the segment is scanned anyway.
  RecoveryStats stats = ReopenAndCheck(std::vector<StoredBatch>(written.begin(), written.end() - 1));
  EXPECT_TRUE(stats.clean_shutdown);
  EXPECT_EQ(stats.segments_scanned, 1);
}

}  // namespace
}  // namespace chronik::storage
