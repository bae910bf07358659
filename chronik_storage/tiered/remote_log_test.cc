#include "chronik_storage/tiered/remote_log.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>

#include "chronik_storage/object_store/local_store.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage::tiered {
namespace {

namespace fs = std::filesystem;
using storage::testing::AppendSync;
using storage::testing::MakeBatch;
using storage::testing::SplitBatches;
using storage::testing::TempDir;

class RemoteLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto logs = LogManager::Open(data_.path(), {});
    ASSERT_TRUE(logs.ok()) << logs.status();
    logs_ = *std::move(logs);
    auto store = objects::LocalStore::Open(remote_.path());
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    auto log = logs_->Create(tp_, TieredConfig(2000));
    ASSERT_TRUE(log.ok());
    log_ = *log;
    // 30 batches of 3 records, timestamps 1000 + 10 * batch.
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(AppendSync(*log_, MakeBatch(3, 300, 1000 + 10 * i)).ok());
    // As stored: with their offsets.
    auto stored = storage::testing::ReadAll(*log_);
    ASSERT_TRUE(stored.ok());
    for (const auto& batch : *stored) written_ += batch.bytes;
  }

  // A tiered topic's config that keeps only the active segment locally once the rest is copied.
  static LogConfig TieredConfig(int64_t segment_bytes) {
    LogConfig config;
    config.segment_bytes = segment_bytes;
    config.retention_ms = -1;
    config.remote_storage = true;
    config.local_retention_bytes = 1;
    return config;
  }

  // Two readers whose ends wake Read.
  RemoteLogOptions Options() {
    RemoteLogOptions options;
    options.reader_threads = 2;
    options.fetch_bytes = 1500;  // a read holds a few batches, so that reads go on chunk after chunk
    options.on_ready = [this](const TopicPartition&) {
      std::lock_guard lock(mu_);
      ++ready_;
      cv_.notify_all();
    };
    return options;
  }

  std::unique_ptr<RemoteLogManager> NewManager(MetadataStore* metadata = nullptr, objects::ObjectStore* store = nullptr) {
    RemoteLogOptions options = Options();
    options.metadata = metadata;
    return std::make_unique<RemoteLogManager>(store != nullptr ? *store : *store_, *logs_, options);
  }

  // Where a fetch would say the local log starts, so that reads ahead stop there: by default the
  // remote copy's end (the tests' local logs keep only what is not copied).
  Offset LocalStart(const RemoteLogManager& remote, std::optional<int64_t> until = std::nullopt) const {
    return until.has_value() ? Offset(*until) : remote.RemoteBounds(tp_).end;
  }

  // TryRead until it answers (waiting for the reader it starts).
  absl::StatusOr<std::string> Read(RemoteLogManager& remote, int64_t from, int64_t max_bytes = 1 << 20,
                                   std::optional<int64_t> until = std::nullopt) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      int before;
      {
        std::lock_guard lock(mu_);
        before = ready_;
      }
      auto got = remote.TryRead(tp_, Offset(from), max_bytes, LocalStart(remote, until));
      if (got.has_value()) {
        if (!got->ok()) return got->status();
        std::string bytes;
        if (absl::Status st = (*got)->bytes.AppendTo(&bytes); !st.ok()) return st;
        return bytes;
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(10), [&] { return ready_ > before; });
    }
    return absl::DeadlineExceededError("no answer");
  }

  // Everything from offset 0 up to `until` (the remote copy's end by default), read as a consumer
  // would, batch after batch, at most max_bytes at a time.
  absl::StatusOr<std::string> ReadEverything(RemoteLogManager& remote, std::optional<int64_t> until = std::nullopt,
                                             int64_t max_bytes = 4000) {
    std::string all;
    int64_t next = 0;
    const int64_t end = LocalStart(remote, until).value();
    while (next < end) {
      auto got = Read(remote, next, max_bytes, until);
      if (!got.ok()) return got.status();
      auto batches = SplitBatches(*got);
      if (!batches.ok() || batches->empty()) return absl::InternalError("no batches");
      all += *got;
      next = batches->back().last_offset + 1;
    }
    return all;
  }

  // The manifest and the objects it names: all that should be in the store.
  size_t Named() {
    const Manifest m = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
    size_t n = 1;
    for (const RemoteSegment& s : m.segments) n += s.keys().size();
    return n;
  }

  std::vector<std::string> Objects() {
    std::vector<std::string> out;
    auto listed = store_->List("");
    for (const auto& info : *listed) out.push_back(info.key);
    return out;
  }

  TempDir data_;
  TempDir remote_;
  std::unique_ptr<LogManager> logs_;
  std::unique_ptr<objects::LocalStore> store_;
  const TopicPartition tp_{"t", PartitionId(0)};
  std::shared_ptr<PartitionLog> log_;
  std::string written_;
  std::mutex mu_;
  std::condition_variable cv_;
  int ready_ = 0;
};

// A store that reads into the buffer a GetReusing call brings, as the HTTP stores do, counts the
// buffers it was given and their sizes against the ranges, and keeps the keys read.
class ReusingStore : public objects::ObjectStore {
 public:
  explicit ReusingStore(objects::ObjectStore& store) : store_(store) {}
  absl::Status Put(const std::string& key, std::string_view data) override { return store_.Put(key, data); }
  absl::StatusOr<std::string> Get(const std::string& key, std::optional<objects::ByteRange> range) override {
    Record(key);
    return store_.Get(key, range);
  }
  absl::StatusOr<std::string> GetReusing(const std::string& key, objects::ByteRange range, std::string buffer) override {
    Record(key);
    auto got = store_.Get(key, range);
    if (!got.ok() || buffer.capacity() < got->size()) return got;
    reused++;
    const int64_t length = range.last - range.first + 1;
    if (static_cast<int64_t>(buffer.capacity()) > 2 * length) oversized++;
    buffer.assign(*got);
    return buffer;
  }
  absl::StatusOr<std::vector<objects::ObjectInfo>> List(const std::string& prefix) override { return store_.List(prefix); }
  absl::Status Delete(const std::string& key) override { return store_.Delete(key); }
  absl::StatusOr<std::unique_ptr<objects::MultipartUpload>> StartMultipart(const std::string& key) override {
    return store_.StartMultipart(key);
  }
  std::set<std::string> read_keys() {
    std::lock_guard lock(mu_);
    return read_keys_;
  }
  std::atomic<int> reused = 0;
  std::atomic<int> oversized = 0;

 private:
  void Record(const std::string& key) {
    std::lock_guard lock(mu_);
    read_keys_.insert(key);
  }
  objects::ObjectStore& store_;
  std::mutex mu_;
  std::set<std::string> read_keys_;
};

TEST_F(RemoteLogTest, ReadsReuseTheMemoryOfEvictedChunks) {
  ReusingStore reusing(*store_);
  RemoteLogOptions options = Options();
  options.cache_bytes = 3000;  // two chunks: reading on evicts
  // A batch larger than a read, whose chunk's buffer is larger than any other read, then small ones.
  ASSERT_TRUE(AppendSync(*log_, MakeBatch(3, 3000, 2000)).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*log_, MakeBatch(3, 300, 3000 + 10 * i)).ok());
  auto stored = storage::testing::ReadAll(*log_);
  ASSERT_TRUE(stored.ok());
  std::string written;
  for (const auto& batch : *stored) written += batch.bytes;
  RemoteLogManager remote(reusing, *logs_, options);
  remote.RunPass(0);
  ASSERT_TRUE(log_->ApplyRetention(0).ok());
  for (int pass = 0; pass < 2; ++pass) {
    auto all = ReadEverything(remote);
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_GT(all->size(), written_.size());
    EXPECT_TRUE(written.substr(0, all->size()) == *all) << "pass " << pass;
  }
  EXPECT_GT(reusing.reused, 0);
  // No read was given a buffer over twice its size: the cache counts sizes, not capacities.
  EXPECT_EQ(reusing.oversized, 0);
}

TEST_F(RemoteLogTest, AReadKeepsItsBytesAfterItsChunkIsEvictedAndItsMemoryReused) {
  ReusingStore reusing(*store_);
  RemoteLogOptions options = Options();
  options.cache_bytes = 3000;  // two chunks: reading on evicts
  RemoteLogManager remote(reusing, *logs_, options);
  remote.RunPass(0);
  ASSERT_TRUE(log_->ApplyRetention(0).ok());
  std::optional<RemoteLogManager::Read> held;
  for (int attempt = 0; attempt < 100 && !held.has_value(); ++attempt) {
    if (auto got = remote.TryRead(tp_, Offset(0), 1, LocalStart(remote)); got.has_value()) {
      ASSERT_TRUE(got->ok()) << got->status();
      held = **std::move(got);
    } else {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  ASSERT_TRUE(held.has_value());
  const std::string first = written_.substr(0, static_cast<size_t>(held->bytes.size));
  // Reading on evicts the first chunk, and the readers reuse evicted chunks' memory for later ones.
  ASSERT_TRUE(ReadEverything(remote).ok());
  EXPECT_GT(reusing.reused, 0);
  std::string bytes;
  ASSERT_TRUE(held->bytes.AppendTo(&bytes).ok());
  EXPECT_TRUE(bytes == first);
}

TEST_F(RemoteLogTest, ResponsesHoldingEvictedChunksPastTwiceTheCacheGetCopies) {
  RemoteLogOptions options = Options();
  options.fetch_bytes = 3000;  // a few batches per chunk
  options.cache_bytes = 3000;
  RemoteLogManager remote(*store_, *logs_, options);
  remote.RunPass(0);
  ASSERT_TRUE(log_->ApplyRetention(0).ok());
  // One batch from each chunk in turn, every answer held, as responses not yet sent would.
  std::vector<RemoteLogManager::Read> held;
  bool shared_seen = false;
  bool copy_seen = false;
  int64_t next = 0;
  for (int attempt = 0; attempt < 400 && next < remote.RemoteBounds(tp_).end.value(); ++attempt) {
    auto got = remote.TryRead(tp_, Offset(next), 1, LocalStart(remote));
    if (!got.has_value()) {
      absl::SleepFor(absl::Milliseconds(10));
      continue;
    }
    ASSERT_TRUE(got->ok()) << got->status();
    const auto* owner = static_cast<const std::string*>((*got)->bytes.owner.get());
    // A shared answer points into its chunk, which holds more than the one batch asked for.
    (static_cast<int64_t>(owner->size()) > (*got)->bytes.size ? shared_seen : copy_seen) = true;
    next = (*got)->next_offset.value();
    held.push_back(**std::move(got));
  }
  EXPECT_TRUE(shared_seen);
  EXPECT_TRUE(copy_seen);
  // Every held answer is the bytes written, shared or copied.
  std::string all;
  for (const auto& read : held) ASSERT_TRUE(read.bytes.AppendTo(&all).ok());
  EXPECT_TRUE(written_.substr(0, all.size()) == all);
}

TEST_F(RemoteLogTest, CopiesGoThroughTheCopyThrottle) {
  RemoteLogOptions options;
  int64_t let_through = 0;
  bool stopping = true;
  options.copy_throttle = [&](int64_t bytes, std::chrono::nanoseconds* waited) {
    if (stopping) return false;
    let_through += bytes;
    *waited += std::chrono::milliseconds(1);  // as if each part waited a millisecond
    return true;
  };
  // A stopping broker's throttle stops the copy: nothing is copied or named, and it is no failure.
  {
    RemoteLogManager remote(*store_, *logs_, options);
    remote.RunPass(0);
    EXPECT_TRUE(remote.RemoteBounds(tp_).empty());
    EXPECT_EQ(remote.stats().copy_failures, 0);
    EXPECT_EQ(remote.stats().segments_copied, 0);
  }
  // Otherwise every byte of every segment copied was let through first.
  stopping = false;
  RemoteLogManager remote(*store_, *logs_, options);
  remote.RunPass(0);
  ASSERT_FALSE(remote.RemoteBounds(tp_).empty());
  EXPECT_GT(remote.stats().segments_copied, 0);
  EXPECT_EQ(let_through, remote.stats().bytes_copied);
  // What the throttle says it waited is what the stats count, one part per segment here.
  EXPECT_EQ(remote.stats().copy_throttle_ns, remote.stats().segments_copied * 1'000'000);
}

TEST_F(RemoteLogTest, CopiesRolledSegmentsThenLocalRetentionDeletesThem) {
  auto remote = NewManager();
  const size_t segments = log_->segments().size();
  ASSERT_GT(segments, 4u);
  remote->RunPass(0);
  const auto bounds = remote->RemoteBounds(tp_);
  ASSERT_FALSE(bounds.empty());
  EXPECT_EQ(bounds.start, Offset(0));
  EXPECT_EQ(bounds.end, log_->segments().back().base_offset);  // all but the active segment
  EXPECT_EQ(Objects().size(), Named());
  EXPECT_GE(Objects().size(), 1 + 3 * (segments - 1));  // the manifest and three or more per segment
  EXPECT_EQ(remote->stats().segments_copied, static_cast<int64_t>(segments - 1));

  ASSERT_TRUE(log_->ApplyRetention(0).ok());
  EXPECT_EQ(log_->segments().size(), 1u);
  EXPECT_EQ(log_->log_start_offset(), bounds.end);

  // Below the local log, the remote copy gives back the very bytes written.
  auto all = ReadEverything(*remote);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(written_.substr(0, all->size()) == *all);
  auto local = log_->Read(bounds.end, 1 <<20);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(all->size() + local->records.Flatten()->size(), written_.size());

  // From the middle of a batch: the whole batch holding it.
  auto middle = Read(*remote, 4);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(SplitBatches(*middle)->front().base_offset, 3);
  // Past the remote copy: not there.
  auto past = Read(*remote, bounds.end.value() + 1);
  EXPECT_TRUE(absl::IsOutOfRange(past.status())) << past.status();

  // Timestamps: batch i holds offsets 3i..3i+2 stamped 1000+10i, +1, +2.
  auto found = remote->OffsetForTimestamp(tp_, 1000 + 10 * 5 + 1, Offset(0));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->offset, Offset(16));
  EXPECT_EQ((*found)->timestamp, 1051);
  EXPECT_FALSE(remote->OffsetForTimestamp(tp_, 1'000'000, Offset(0))->has_value());
  // Not below `from` (what DeleteRecords deleted), even inside the batch that reaches the timestamp.
  found = remote->OffsetForTimestamp(tp_, 1000 + 10 * 5 + 1, Offset(17));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, Offset(17));
  found = remote->OffsetForTimestamp(tp_, 0, Offset(40));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, Offset(40));
}

// DeleteRecords below the local log: clients see the partition start there, and the next pass
// deletes the remote segments wholly below it (the one it cuts stays, its head unseen).
TEST_F(RemoteLogTest, DeleteRecordsBelowTheLocalLogReachesTheRemoteCopy) {
  auto remote = NewManager();
  remote->RunPass(0);
  ASSERT_TRUE(log_->ApplyRetention(0).ok());
  const Manifest before = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
  ASSERT_GT(before.segments.size(), 3u);
  EXPECT_EQ(ClientLogStart(log_->bounds(), remote->RemoteBounds(tp_)), Offset(0));
  const int64_t cut = before.segments[2].base_offset + 1;  // inside the third segment
  ASSERT_TRUE(log_->DeleteRecordsBefore(Offset(cut)).ok());
  EXPECT_EQ(ClientLogStart(log_->bounds(), remote->RemoteBounds(tp_)), Offset(cut));
  EXPECT_EQ(log_->log_start_offset(), Offset(before.end()));  // the local log is untouched

  remote->RunPass(0);
  EXPECT_EQ(remote->stats().segments_deleted, 2);
  EXPECT_EQ(remote->RemoteBounds(tp_).start, Offset(before.segments[2].base_offset));
  EXPECT_EQ(ClientLogStart(log_->bounds(), remote->RemoteBounds(tp_)), Offset(cut));
  EXPECT_EQ(Objects().size(), Named());
  for (const std::string& key : before.segments[0].keys()) {
    EXPECT_TRUE(absl::IsNotFound(store_->Get(key, std::nullopt).status())) << key;
  }
  EXPECT_TRUE(store_->Get(before.segments[2].log_key, std::nullopt).ok());
}

TEST_F(RemoteLogTest, AfterARestartTheManifestIsReadAndLeftoversDeleted) {
  NewManager()->RunPass(0);
  const Manifest before = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
  // What a crash between an upload and its manifest leaves.
  ASSERT_TRUE(store_->Put("tiered/t-0/00000000000000099999-0123456789abcdef.log", "half").ok());
  auto remote = NewManager();
  remote->LoadAll();
  EXPECT_TRUE(remote->Loaded(tp_));
  EXPECT_EQ(remote->RemoteBounds(tp_).end.value(), before.end());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("tiered/t-0/00000000000000099999-0123456789abcdef.log", std::nullopt).status()));
  EXPECT_EQ(Objects().size(), Named());
}

TEST_F(RemoteLogTest, ChunksPlannedByTheIndexAreReadAheadAndAWrongIndexIsRefused) {
  // Segments with an index entry per batch or two, so that chunks end at entries, inside segments.
  ASSERT_TRUE(logs_->Delete(tp_).ok());
  log_.reset();
  LogConfig config = TieredConfig(8000);
  config.index_interval_bytes = 500;
  auto log = logs_->Create(tp_, config);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(AppendSync(**log, MakeBatch(3, 300)).ok());
  auto stored = storage::testing::ReadAll(**log);
  ASSERT_TRUE(stored.ok());
  std::string written;
  for (const auto& batch : *stored) written += batch.bytes;
  RemoteLogOptions options = Options();
  options.fetch_bytes = 2500;  // two or three batches
  auto remote = std::make_unique<RemoteLogManager>(*store_, *logs_, options);
  remote->RunPass(0);
  ASSERT_TRUE((*log)->ApplyRetention(0).ok());
  const Manifest manifest = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
  ASSERT_GE(manifest.segments.size(), 3u);
  for (int pass = 0; pass < 2; ++pass) {  // cold, then from what was read ahead
    auto all = ReadEverything(*remote);
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_TRUE(written.substr(0, all->size()) == *all) << "pass " << pass;
    EXPECT_GT(all->size(), written.size() / 2);
  }
  // From the middle of a chunk.
  auto middle = Read(*remote, manifest.segments[1].base_offset + 4);
  ASSERT_TRUE(middle.ok()) << middle.status();
  auto batches = SplitBatches(*middle);
  ASSERT_TRUE(batches.ok() && !batches->empty());
  EXPECT_LE(batches->front().base_offset, manifest.segments[1].base_offset + 4);
  EXPECT_GE(batches->front().last_offset, manifest.segments[1].base_offset + 4);
  remote.reset();

  // An index whose entries are out of order, or point inside a batch, is damage: never served.
  const std::string index = *store_->Get(manifest.segments[0].index_key, std::nullopt);
  ASSERT_GE(index.size(), 16u);
  std::string swapped = index.substr(8, 8) + index.substr(0, 8) + index.substr(16);
  std::string inside = index;
  inside[7] = static_cast<char>(inside[7] + 1);  // the first entry's position, one byte on
  for (const std::string& damaged : {swapped, inside}) {
    ASSERT_TRUE(store_->Put(manifest.segments[0].index_key, damaged).ok());
    auto again = NewManager();
    again->LoadAll();
    auto got = Read(*again, 0);
    EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
  }
}

TEST_F(RemoteLogTest, ReadsAheadStopWhereTheLocalLogStarts) {
  ReusingStore recording(*store_);
  RemoteLogManager remote(recording, *logs_, Options());
  remote.RunPass(0);  // copied, and all still local too
  const Manifest manifest = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
  ASSERT_GE(manifest.segments.size(), 8u);
  // As if local retention had deleted the first four segments: a consumer reads those from the
  // remote copy and the rest from the local log, which holds them too.
  // A batch at a time, so that reads ahead run before the consumer.
  auto consumed = ReadEverything(remote, manifest.segments[4].base_offset, 1);
  ASSERT_TRUE(consumed.ok()) << consumed.status();
  // Until every read started (each reader's end may start one more) is done.
  for (int attempt = 0; attempt < 500 && remote.stats().read_queue > 0; ++attempt) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(remote.stats().read_queue, 0);
  const std::set<std::string> read = recording.read_keys();
  int64_t below = 0;
  for (size_t i = 0; i < manifest.segments.size(); ++i) {
    EXPECT_EQ(read.count(manifest.segments[i].log_key), i < 4 ? 1u : 0u) << "segment " << i;
    if (i < 4) below += manifest.segments[i].size;
  }
  EXPECT_EQ(remote.stats().chunk_bytes_read, below);  // each once
}

TEST_F(RemoteLogTest, DamagedOrTruncatedObjectsAreReportedNeverServed) {
  NewManager()->RunPass(0);
  const Manifest manifest = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
  const std::string first = manifest.segments[0].log_key;
  std::string bytes = *store_->Get(first, std::nullopt);
  std::string damaged = bytes;
  damaged[bytes.size() / 4] ^= 0x5a;  // inside the first batch's records: only its CRC can tell
  ASSERT_TRUE(store_->Put(first, damaged).ok());
  auto remote = NewManager();
  remote->LoadAll();
  auto got = Read(*remote, 0);
  EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();

  ASSERT_TRUE(store_->Put(first, bytes.substr(0, bytes.size() - 100)).ok());
  auto again = NewManager();
  again->LoadAll();
  // The batches before the cut are whole and served; the one cut short is reported.
  auto last = Read(*again, manifest.segments[0].next_offset - 1);
  EXPECT_TRUE(absl::IsDataLoss(last.status())) << last.status();

  // A base offset is outside what the CRC covers: it must still fit the segment and its neighbours.
  std::string moved = bytes;
  moved[0] ^= 0x01;
  ASSERT_TRUE(store_->Put(first, moved).ok());
  auto third = NewManager();
  third->LoadAll();
  auto misplaced = Read(*third, 0);
  EXPECT_TRUE(absl::IsDataLoss(misplaced.status())) << misplaced.status();
}

TEST_F(RemoteLogTest, RemoteRetentionAndPartitionDeletion) {
  auto remote = NewManager();
  remote->RunPass(0);
  ASSERT_TRUE(log_->ApplyRetention(0).ok());
  const int64_t segments = remote->stats().segments_copied;
  // retention.bytes over the remote copy and the local log together.
  LogConfig config = log_->config();
  config.retention_bytes = log_->size_bytes() + 2 * 2000;
  log_->UpdateConfig(config);
  remote->RunPass(0);
  EXPECT_GT(remote->stats().segments_deleted, 0);
  EXPECT_LT(remote->stats().segments_deleted, segments);
  const auto bounds = remote->RemoteBounds(tp_);
  ASSERT_FALSE(bounds.empty());
  EXPECT_GT(bounds.start, Offset(0));
  EXPECT_EQ(Objects().size(), Named());
  auto below = Read(*remote, 0);
  EXPECT_TRUE(absl::IsOutOfRange(below.status())) << below.status();

  remote->OnLogEvent(LogEvent{LogEventKind::kPartitionDeleted, tp_, Offset(0), 0});
  remote->RunPass(0);
  EXPECT_TRUE(Objects().empty());
}

// A topic deleted while its remote data could not be deleted, made again under the same name
// after a restart: its deletion's record has the old copy deleted first, and the new partition is
// not taken for the old one's continuation.
TEST_F(RemoteLogTest, ADeletionARestartInterruptedIsFinishedBeforeTheNameIsTieredAgain) {
  TempDir meta;
  auto metadata = MetadataStore::Open(meta.path());
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  NewManager(metadata->get())->RunPass(0);
  ASSERT_GT(Objects().size(), 1u);
  // The deletion, by a broker that stops before a pass runs: the topic's batch holds the record.
  ASSERT_TRUE((*metadata)->Apply(RemoteDeletionRecords("t", "00ff", 1)).ok());
  const LogConfig config = log_->config();
  ASSERT_TRUE(logs_->Delete(tp_).ok());
  log_.reset();
  auto log = logs_->Create(tp_, config);
  ASSERT_TRUE(log.ok());

  auto remote = NewManager(metadata->get());
  remote->LoadAll();
  // What the store holds under the name is not this partition's: it has no remote copy.
  EXPECT_TRUE(remote->Loaded(tp_));
  EXPECT_TRUE(remote->RemoteBounds(tp_).empty());
  EXPECT_EQ((*log)->log_start_offset().value(), 0);
  remote->RunPass(0);
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE((*metadata)->Scan(kRemoteDeletionsNamespace).empty());
  EXPECT_TRUE(remote->Loaded(tp_));
  EXPECT_TRUE(remote->RemoteBounds(tp_).empty());
  EXPECT_EQ((*log)->log_start_offset().value(), 0);
  EXPECT_EQ((*log)->log_end_offset().value(), 0);
  // The partition tiers as a new one.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(**log, MakeBatch(3, 300)).ok());
  remote->RunPass(0);
  ASSERT_FALSE(remote->RemoteBounds(tp_).empty());
  EXPECT_EQ(remote->RemoteBounds(tp_).start, Offset(0));
}

// A store whose puts call a hook first: for what happens while a pass is in the middle of a copy.
class HookedStore : public objects::ObjectStore {
 public:
  HookedStore(objects::ObjectStore& inner, std::function<void(const std::string& key)> on_put)
      : inner_(inner), on_put_(std::move(on_put)) {}
  absl::Status Put(const std::string& key, std::string_view data) override {
    on_put_(key);
    return inner_.Put(key, data);
  }
  absl::StatusOr<std::string> Get(const std::string& key, std::optional<objects::ByteRange> range) override {
    return inner_.Get(key, range);
  }
  absl::StatusOr<std::string> GetReusing(const std::string& key, objects::ByteRange range, std::string buffer) override {
    return inner_.GetReusing(key, range, std::move(buffer));
  }
  absl::StatusOr<std::vector<objects::ObjectInfo>> List(const std::string& prefix) override { return inner_.List(prefix); }
  absl::Status Delete(const std::string& key) override { return inner_.Delete(key); }
  absl::StatusOr<std::unique_ptr<objects::MultipartUpload>> StartMultipart(const std::string& key) override {
    return inner_.StartMultipart(key);
  }

 private:
  objects::ObjectStore& inner_;
  std::function<void(const std::string&)> on_put_;
};

// The partition is deleted and made again while a pass copies it: the pass does not install the old
// manifest once more, and the new partition is copied from its own start.
TEST_F(RemoteLogTest, APartitionDeletedWhileAPassCopiesItIsNotTakenForTheOneMadeAgain) {
  std::unique_ptr<RemoteLogManager> remote;
  std::shared_ptr<PartitionLog> again;
  const LogConfig config = log_->config();
  bool fired = false;
  HookedStore hooked(*store_, [&](const std::string& key) {
    if (fired || key != "tiered/t-0/manifest.json") return;
    fired = true;
    ASSERT_TRUE(logs_->Delete(tp_).ok());
    remote->OnLogEvent(LogEvent{LogEventKind::kPartitionDeleted, tp_, Offset(0), 0});
    auto made = logs_->Create(tp_, config);
    ASSERT_TRUE(made.ok());
    again = *made;
  });
  remote = NewManager(nullptr, &hooked);
  remote->RunPass(0);
  ASSERT_TRUE(fired);
  ASSERT_NE(again, nullptr);
  log_.reset();
  EXPECT_TRUE(remote->RemoteBounds(tp_).empty());
  // The new partition's records, in segments of their own, are copied from offset 0.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendSync(*again, MakeBatch(3, 300)).ok());
  remote->RunPass(0);  // deletes the old copy
  remote->RunPass(0);  // copies the new partition
  const auto bounds = remote->RemoteBounds(tp_);
  ASSERT_FALSE(bounds.empty());
  EXPECT_EQ(bounds.start, Offset(0));
  EXPECT_EQ(again->log_start_offset().value(), 0);
  auto first = Read(*remote, 0);
  ASSERT_TRUE(first.ok()) << first.status();
  auto batches = SplitBatches(*first);
  ASSERT_TRUE(batches.ok() && !batches->empty());
  EXPECT_EQ(batches->front().base_offset, 0);
  remote.reset();  // its readers, still reading ahead, use `hooked`
}

TEST_F(RemoteLogTest, ALostLocalDiskGoesOnAfterTheRemoteCopy) {
  // An idempotent producer's batch, then a roll, so that its state is in the last copied segment's
  // snapshot.
  const std::vector<std::string> values(2, "idempotent");
  auto last = AppendSync(*log_, storage::testing::ProducerBatch(values, 42, 3, 0));
  ASSERT_TRUE(last.ok());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(AppendSync(*log_, MakeBatch(3, 300)).ok());
  NewManager()->RunPass(0);
  const Manifest manifest = *DecodeManifest(*store_->Get("tiered/t-0/manifest.json", std::nullopt));
  // A new, empty data directory: the partition is made again, as a recreated topic would be.
  TempDir fresh;
  auto logs = LogManager::Open(fresh.path(), {});
  ASSERT_TRUE(logs.ok());
  auto log = (*logs)->Create(tp_, log_->config());
  ASSERT_TRUE(log.ok());
  logs_.swap(*logs);
  auto remote = NewManager();
  remote->LoadAll();
  EXPECT_EQ((*log)->log_start_offset().value(), manifest.end());
  EXPECT_EQ((*log)->log_end_offset().value(), manifest.end());
  auto first = Read(*remote, 0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(written_.substr(0, first->size()) == *first);
  // The idempotent producer goes on: its retried batch is known (same offsets, nothing appended),
  // and its next sequence is accepted.
  ASSERT_FALSE(manifest.segments.back().producer_snapshot_key.empty());
  auto retried = AppendSync(**log, storage::testing::ProducerBatch(values, 42, 3, 0));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->base_offset, last->base_offset);
  EXPECT_EQ((*log)->log_end_offset().value(), manifest.end());
  auto next = AppendSync(**log, storage::testing::ProducerBatch(values, 42, 3, 2));
  ASSERT_TRUE(next.ok()) << next.status();
  // New records follow the remote copy's.
  EXPECT_EQ(next->base_offset.value(), manifest.end());
  EXPECT_EQ((*log)->log_end_offset().value(), manifest.end() + 2);
  logs_.swap(*logs);
}

TEST_F(RemoteLogTest, ReadCommittedFetchesLearnAbortedTransactionsFromTheRemoteCopy) {
  const TopicPartition tp{"txn", PartitionId(0)};
  LogConfig config = log_->config();
  config.segment_bytes = 600;
  auto created = logs_->Create(tp, config);
  ASSERT_TRUE(created.ok());
  PartitionLog& log = **created;
  auto marker = [&](int64_t pid, bool commit) {
    std::promise<absl::StatusOr<AppendResult>> promise;
    log.AppendMarker(pid, 0, commit, 0, [&promise](absl::StatusOr<AppendResult> r) { promise.set_value(r); });
    return promise.get_future().get();
  };
  const std::vector<std::string> values(3, std::string(100, 't'));
  // Producer 7 aborts at once; producer 9's transaction spans segments and is aborted later.
  ASSERT_TRUE(AppendSync(log, storage::testing::ProducerBatch(values, 7, 0, 0, true)).ok());  // 0-2
  ASSERT_TRUE(marker(7, false).ok());                                                        // 3
  ASSERT_TRUE(AppendSync(log, storage::testing::ProducerBatch(values, 9, 0, 0, true)).ok());  // 4-6
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(AppendSync(log, MakeBatch(3, 100)).ok());
  ASSERT_TRUE(marker(9, false).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(AppendSync(log, MakeBatch(3, 100)).ok());
  ASSERT_GT(log.segments().size(), 4u);
  const auto expected_from_0 = log.AbortedTransactions(Offset(0), Offset(4));
  const auto expected_from_4 = log.AbortedTransactions(Offset(4), Offset(7));
  ASSERT_EQ(expected_from_0.size(), 1u);
  ASSERT_EQ(expected_from_4.size(), 1u);

  auto remote = NewManager();
  remote->RunPass(0);
  ASSERT_TRUE(log.ApplyRetention(0).ok());
  ASSERT_GT(log.log_start_offset(), Offset(7));
  for (const auto& [from, expected] : {std::pair{0, expected_from_0}, std::pair{4, expected_from_4}}) {
    absl::StatusOr<RemoteLogManager::Read> got = absl::DeadlineExceededError("no answer");
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto once = remote->TryRead(tp, Offset(from), 1, log.log_start_offset());  // one batch
      if (once.has_value()) {
        got = *std::move(once);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->aborted, expected) << "from " << from;
  }
}

TEST(ManifestTest, RoundTripsAndRefusesDamage) {
  Manifest m;
  m.segments.push_back({0, 10, 100, 5, "a.log", "a.index", "a.timeindex", "", ""});
  m.segments.push_back({10, 20, 100, 7, "b.log", "b.index", "b.timeindex", "b.txnindex", "b.snapshot"});
  auto back = DecodeManifest(EncodeManifest(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->start(), 0);
  EXPECT_EQ(back->end(), 20);
  EXPECT_EQ(back->segments[1].time_index_key, "b.timeindex");
  EXPECT_EQ(back->segments[1].producer_snapshot_key, "b.snapshot");
  EXPECT_EQ(back->segments[0].keys().size(), 3u);
  EXPECT_EQ(back->segments[1].keys().size(), 5u);
  EXPECT_TRUE(absl::IsDataLoss(DecodeManifest("{\"version\":1,\"segm").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeManifest("{\"version\":2,\"segments\":[]}").status()));
  std::swap(m.segments[0], m.segments[1]);
  EXPECT_TRUE(absl::IsDataLoss(DecodeManifest(EncodeManifest(m)).status()));
}

}  // namespace
}  // namespace chronik::storage::tiered
