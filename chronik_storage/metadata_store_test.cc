#include "chronik_storage/metadata_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/util/unprivileged.h"

namespace chronik::storage {
namespace {

namespace fs = std::filesystem;
using Dump = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      ((base != nullptr && *base != '\0') ? fs::path(base) : fs::temp_directory_path()) /
      "metadata_store_test.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern;
    return "";
  }
  return pattern;
}

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = MakeTempDir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string Dir(const std::string& name = "meta") const { return (fs::path(root_) / name).string(); }

  static std::unique_ptr<MetadataStore> OpenOrDie(const std::string& dir,
                                                  MetadataStore::Options options = {}) {
    auto store = MetadataStore::Open(dir, std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static Dump DumpOf(const MetadataStore& store) {
    Dump out;
    for (const std::string& ns : store.Namespaces()) out[ns] = store.Scan(ns);
    return out;
  }

  static std::vector<std::string> Files(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The active (newest) log segment.
  static std::string ActiveLog(const std::string& dir) {
    std::vector<std::string> logs = Files(dir, "log-");
    EXPECT_FALSE(logs.empty());
    return logs.empty() ? "" : (fs::path(dir) / logs.back()).string();
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  static void WriteFile(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  }

  std::string CopyDir(const std::string& from, const std::string& name) {
    std::string to = Dir(name);
    fs::remove_all(to);
    fs::copy(from, to, fs::copy_options::recursive);
    return to;
  }

  std::string root_;
};

TEST_F(MetadataStoreTest, PutGetDeleteScanAcrossNamespaces) {
  auto store = OpenOrDie(Dir());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->revision(), 0);
  EXPECT_EQ(store->Get("topics", "a"), std::nullopt);

  ASSERT_TRUE(store->Put("topics", "orders", "{\"partitions\":3}").ok());
  ASSERT_TRUE(store->Put("topics", "payments", "{\"partitions\":1}").ok());
  ASSERT_TRUE(store->Put("offsets", "g1/orders/0", std::string("\0\0\0\x05", 4)).ok());
  ASSERT_TRUE(store->Put("offsets", "g1/orders/1", "x").ok());
  ASSERT_TRUE(store->Put("offsets", "g2/orders/0", "y").ok());
  EXPECT_EQ(store->revision(), 5);

  EXPECT_EQ(store->Get("topics", "orders"), "{\"partitions\":3}");
  EXPECT_EQ(store->Get("offsets", "g1/orders/0"), std::string("\0\0\0\x05", 4));
  EXPECT_EQ(store->Get("groups", "orders"), std::nullopt);  // Namespaces are separate.

  ASSERT_TRUE(store->Put("topics", "orders", "{\"partitions\":6}").ok());
  EXPECT_EQ(store->Get("topics", "orders"), "{\"partitions\":6}");

  using KV = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(store->Scan("offsets", "g1/"), (KV{{"g1/orders/0", std::string("\0\0\0\x05", 4)},
                                               {"g1/orders/1", "x"}}));
  EXPECT_EQ(store->Scan("offsets").size(), 3u);
  EXPECT_TRUE(store->Scan("offsets", "g3").empty());
  EXPECT_TRUE(store->Scan("nothing").empty());
  EXPECT_EQ(store->Namespaces(), (std::vector<std::string>{"offsets", "topics"}));

  ASSERT_TRUE(store->Delete("topics", "payments").ok());
  ASSERT_TRUE(store->Delete("topics", "never-existed").ok());
  EXPECT_EQ(store->Get("topics", "payments"), std::nullopt);
  EXPECT_EQ(store->revision(), 8);
  ASSERT_TRUE(store->Delete("topics", "orders").ok());
  EXPECT_EQ(store->Namespaces(), (std::vector<std::string>{"offsets"}));

  // Keys and values are bytes.
  const std::string binary_key("k\0ey", 4);
  ASSERT_TRUE(store->Put("bin", binary_key, std::string(1 << 20, '\xff')).ok());
  EXPECT_EQ(store->Get("bin", binary_key)->size(), 1u << 20);
  EXPECT_EQ(store->Get("bin", "k"), std::nullopt);
}

TEST_F(MetadataStoreTest, ApplyIsOneAtomicRevision) {
  auto store = OpenOrDie(Dir());
  ASSERT_TRUE(store->Put("groups", "g1", "old").ok());
  ASSERT_TRUE(store->Put("offsets", "g1/t/0", "5").ok());

  std::vector<MetadataOp> ops;
  ops.push_back(MetadataOp::Put("groups", "g1", "new"));
  ops.push_back(MetadataOp::Delete("offsets", "g1/t/0"));
  ops.push_back(MetadataOp::Put("offsets", "g1/t/1", "7"));
  ops.push_back(MetadataOp::Put("offsets", "g1/t/1", "8"));  // Later ops win.
  auto rev = store->Apply(std::move(ops));
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(*rev, 3);
  EXPECT_EQ(store->revision(), 3);
  EXPECT_EQ(store->Get("groups", "g1"), "new");
  EXPECT_EQ(store->Get("offsets", "g1/t/0"), std::nullopt);
  EXPECT_EQ(store->Get("offsets", "g1/t/1"), "8");

  EXPECT_EQ(store->Apply({}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<MetadataOp> huge;
  huge.push_back(MetadataOp::Put("x", "y", std::string(MetadataStore::kMaxBatchBytes, 'z')));
  EXPECT_EQ(store->Apply(std::move(huge)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->revision(), 3);
}

TEST_F(MetadataStoreTest, ReopenRestoresState) {
  Dump before;
  {
    auto store = OpenOrDie(Dir());
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store->Put("topics", "t" + std::to_string(i), "cfg" + std::to_string(i)).ok());
    }
    for (int i = 0; i < 50; i += 3) ASSERT_TRUE(store->Delete("topics", "t" + std::to_string(i)).ok());
    before = DumpOf(*store);
  }
  auto store = OpenOrDie(Dir());
  EXPECT_EQ(DumpOf(*store), before);
  EXPECT_EQ(store->revision(), 67);
  EXPECT_EQ(store->stats().records_replayed, 67);
  EXPECT_EQ(store->stats().bytes_truncated_on_open, 0);
  ASSERT_TRUE(store->Put("topics", "after", "reopen").ok());
  EXPECT_EQ(store->revision(), 68);
}

// What a backup of a running broker takes: the state of one revision as a snapshot file, which
// alone opens as that state and takes writes after it.
TEST_F(MetadataStoreTest, EncodedStateAloneOpensAsThatState) {
  auto store = OpenOrDie(Dir());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Put("offsets", "g" + std::to_string(i % 7), std::to_string(i)).ok());
  ASSERT_TRUE(store->Delete("offsets", "g3").ok());
  std::string name;
  const std::string state = store->EncodeState(&name);
  const Dump at = DumpOf(*store);
  ASSERT_TRUE(store->Put("offsets", "later", "x").ok());  // not in what was encoded
  fs::create_directories(Dir("copy"));
  WriteFile((fs::path(Dir("copy")) / name).string(), state);
  auto copy = OpenOrDie(Dir("copy"));
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(DumpOf(*copy), at);
  EXPECT_EQ(copy->revision(), 21);
  ASSERT_TRUE(copy->Put("offsets", "after", "restore").ok());
  EXPECT_EQ(copy->revision(), 22);
}

TEST_F(MetadataStoreTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto store = OpenOrDie(Dir());
  auto second = MetadataStore::Open(Dir());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

TEST_F(MetadataStoreTest, SnapshotPlusLogReopen) {
  Dump before;
  {
    auto store = OpenOrDie(Dir());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Put("a", "k" + std::to_string(i), "v").ok());
    ASSERT_TRUE(store->Snapshot().ok());
    EXPECT_EQ(store->stats().snapshots_written, 1);
    ASSERT_TRUE(store->Snapshot().ok());  // Nothing new: no second file.
    EXPECT_EQ(store->stats().snapshots_written, 1);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Delete("a", "k" + std::to_string(i)).ok());
    ASSERT_TRUE(store->Put("b", "x", "y").ok());
    before = DumpOf(*store);
    EXPECT_EQ(Files(Dir(), "snapshot-").size(), 1u);
    EXPECT_EQ(Files(Dir(), "log-").size(), 2u);  // From revision 1 (no older snapshot) and 21.
  }
  auto store = OpenOrDie(Dir());
  EXPECT_EQ(DumpOf(*store), before);
  EXPECT_EQ(store->revision(), 31);
  EXPECT_EQ(store->stats().records_replayed, 11);
}

TEST_F(MetadataStoreTest, PeriodicSnapshotsBoundTheFiles) {
  MetadataStore::Options options;
  options.snapshot_every_bytes = 2048;
  Dump before;
  {
    auto store = OpenOrDie(Dir(), options);
    for (int i = 0; i < 600; ++i) {
      ASSERT_TRUE(store->Put("offsets", "g/" + std::to_string(i % 40), std::to_string(i)).ok());
    }
    EXPECT_GT(store->stats().snapshots_written, 5);
    EXPECT_LE(store->stats().log_bytes, options.snapshot_every_bytes);
    EXPECT_LE(Files(Dir(), "snapshot-").size(), 2u);
    EXPECT_LE(Files(Dir(), "log-").size(), 3u);
    before = DumpOf(*store);
  }
  auto store = OpenOrDie(Dir(), options);
  EXPECT_EQ(DumpOf(*store), before);
  EXPECT_EQ(store->revision(), 600);
  EXPECT_LT(store->stats().records_replayed, 600);
}

// Writes a few records, the last one a multi-op batch, and returns where that last record starts
// and ends in the active log, plus the state before it.
struct LastRecord {
  int64_t start = 0;
  int64_t end = 0;
  Dump before;
  int64_t revision_before = 0;
};

LastRecord WriteRecordsEndingInABatch(MetadataStore& store, const std::string& log_path) {
  LastRecord r;
  EXPECT_TRUE(store.Put("topics", "t1", "one").ok());
  EXPECT_TRUE(store.Put("topics", "t2", "two").ok());
  EXPECT_TRUE(store.Put("offsets", "g/t1/0", "10").ok());
  for (const std::string& ns : store.Namespaces()) r.before[ns] = store.Scan(ns);
  r.revision_before = store.revision();
  r.start = static_cast<int64_t>(fs::file_size(log_path));
  std::vector<MetadataOp> ops;
  ops.push_back(MetadataOp::Put("topics", "t3", "three"));
  ops.push_back(MetadataOp::Delete("topics", "t1"));
  ops.push_back(MetadataOp::Put("offsets", "g/t1/0", "11"));
  EXPECT_TRUE(store.Apply(std::move(ops)).ok());
  r.end = static_cast<int64_t>(fs::file_size(log_path));
  return r;
}

TEST_F(MetadataStoreTest, TornTailAtEveryByteOfTheLastRecord) {
  LastRecord last;
  std::string log_name;
  {
    auto store = OpenOrDie(Dir());
    log_name = fs::path(ActiveLog(Dir())).filename().string();
    last = WriteRecordsEndingInABatch(*store, ActiveLog(Dir()));
  }
  ASSERT_GT(last.end, last.start);
  for (int64_t cut = last.start; cut < last.end; ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    const std::string dir = CopyDir(Dir(), "torn");
    fs::resize_file(fs::path(dir) / log_name, static_cast<uintmax_t>(cut));
    {
      auto store = OpenOrDie(dir);
      ASSERT_NE(store, nullptr);
      EXPECT_EQ(DumpOf(*store), last.before);
      EXPECT_EQ(store->revision(), last.revision_before);
      EXPECT_EQ(store->stats().bytes_truncated_on_open, cut - last.start);
      EXPECT_EQ(static_cast<int64_t>(fs::file_size(fs::path(dir) / log_name)), last.start);
      ASSERT_TRUE(store->Put("after", "crash", "ok").ok());
    }
    auto store = OpenOrDie(dir);
    EXPECT_EQ(store->revision(), last.revision_before + 1);
    EXPECT_EQ(store->Get("after", "crash"), "ok");
    EXPECT_EQ(store->stats().bytes_truncated_on_open, 0);
  }
}

TEST_F(MetadataStoreTest, FlippedBitInTheLastRecord) {
  LastRecord last;
  std::string log_name;
  {
    auto store = OpenOrDie(Dir());
    log_name = fs::path(ActiveLog(Dir())).filename().string();
    last = WriteRecordsEndingInABatch(*store, ActiveLog(Dir()));
  }
  const std::string original = ReadFile((fs::path(Dir()) / log_name).string());
  for (int64_t at = last.start; at < last.end; ++at) {
    SCOPED_TRACE("bit flipped in byte " + std::to_string(at));
    const std::string dir = CopyDir(Dir(), "flipped");
    std::string damaged = original;
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (at % 8)));
    WriteFile((fs::path(dir) / log_name).string(), damaged);
    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(DumpOf(*store), last.before);
    EXPECT_EQ(store->revision(), last.revision_before);
    EXPECT_EQ(store->stats().bytes_truncated_on_open, last.end - last.start);
  }
}

// Flips a byte in the middle of a file.
void Damage(const std::string& path) {
  std::string data;
  {
    std::ifstream in(path, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_FALSE(data.empty());
  data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x40);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

TEST_F(MetadataStoreTest, DamagedNewestSnapshotFallsBackToThePreviousOne) {
  Dump before;
  {
    auto store = OpenOrDie(Dir());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Put("a", std::to_string(i), "first").ok());
    ASSERT_TRUE(store->Snapshot().ok());
    for (int i = 5; i < 15; ++i) ASSERT_TRUE(store->Put("a", std::to_string(i), "second").ok());
    ASSERT_TRUE(store->Snapshot().ok());
    ASSERT_TRUE(store->Delete("a", "0").ok());
    ASSERT_TRUE(store->Put("b", "late", "third").ok());
    before = DumpOf(*store);
  }
  std::vector<std::string> snapshots = Files(Dir(), "snapshot-");
  ASSERT_EQ(snapshots.size(), 2u);
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant == 0 ? "flipped byte" : "cut in half");
    const std::string dir = CopyDir(Dir(), "fallback");
    const std::string newest = (fs::path(dir) / snapshots.back()).string();
    if (variant == 0) {
      Damage(newest);
    } else {
      fs::resize_file(newest, fs::file_size(newest) / 2);
    }
    {
      auto store = OpenOrDie(dir);
      ASSERT_NE(store, nullptr);
      EXPECT_EQ(DumpOf(*store), before);
      EXPECT_EQ(store->revision(), 22);
      EXPECT_TRUE(fs::exists(newest + ".corrupt"));
      ASSERT_TRUE(store->Put("b", "more", "x").ok());
      ASSERT_TRUE(store->Snapshot().ok());
    }
    auto store = OpenOrDie(dir);
    EXPECT_EQ(store->revision(), 23);
    EXPECT_EQ(store->Get("b", "more"), "x");
    EXPECT_EQ(store->stats().records_replayed, 0);
  }
}

TEST_F(MetadataStoreTest, DamagedOnlySnapshotFallsBackToTheWholeLog) {
  Dump before;
  {
    auto store = OpenOrDie(Dir());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Put("a", std::to_string(i), "v").ok());
    ASSERT_TRUE(store->Snapshot().ok());
    ASSERT_TRUE(store->Put("a", "late", "w").ok());
    before = DumpOf(*store);
  }
  Damage((fs::path(Dir()) / Files(Dir(), "snapshot-").front()).string());
  auto store = OpenOrDie(Dir());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(DumpOf(*store), before);
  EXPECT_EQ(store->stats().records_replayed, 11);
}

TEST_F(MetadataStoreTest, EveryNeededSnapshotDamagedIsDataLossNotSilence) {
  {
    auto store = OpenOrDie(Dir());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(store->Put("a", std::to_string(i), "v").ok());
      ASSERT_TRUE(store->Snapshot().ok());
    }
  }
  // The segments before the older kept snapshot are gone; with both snapshots unreadable the
  // state cannot be rebuilt.
  for (const std::string& name : Files(Dir(), "snapshot-")) Damage((fs::path(Dir()) / name).string());
  auto store = MetadataStore::Open(Dir());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(MetadataStoreTest, GroupCommitSharesFsyncs) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 200;
  auto store = OpenOrDie(Dir());
  const int64_t fsyncs_before = store->stats().fsyncs;
  std::atomic<bool> stop{false};
  std::atomic<int> reader_errors{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!stop.load()) {
      int64_t rev = store->revision();
      if (rev < last) reader_errors++;
      last = rev;
      store->Get("offsets", "t0/5");
      store->Scan("offsets", "t1/");
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<MetadataOp> ops;
        ops.push_back(MetadataOp::Put("offsets", "t" + std::to_string(t) + "/" + std::to_string(i),
                                      std::to_string(i)));
        ops.push_back(MetadataOp::Put("last", std::to_string(t), std::to_string(i)));
        auto rev = store->Apply(std::move(ops));
        ASSERT_TRUE(rev.ok()) << rev.status();
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  reader.join();
  EXPECT_EQ(reader_errors.load(), 0);

  const MetadataStore::Stats stats = store->stats();
  const int64_t fsyncs = stats.fsyncs - fsyncs_before;
  std::printf("group commit: %lld applies, %lld fsyncs, %.1f applies per fsync\n",
              static_cast<long long>(stats.applies), static_cast<long long>(fsyncs),
              static_cast<double>(stats.applies) / static_cast<double>(std::max<int64_t>(1, fsyncs)));
  EXPECT_EQ(stats.applies, kThreads * kPerThread);
  EXPECT_LT(fsyncs, stats.applies);
  EXPECT_EQ(store->revision(), kThreads * kPerThread);
  const Dump before = DumpOf(*store);
  EXPECT_EQ(before.at("offsets").size(), static_cast<size_t>(kThreads * kPerThread));
  store.reset();
  auto reopened = OpenOrDie(Dir());
  EXPECT_EQ(DumpOf(*reopened), before);
}

TEST_F(MetadataStoreTest, SnapshotsRaceWithWritersAndReaders) {
  MetadataStore::Options options;
  options.snapshot_every_bytes = 4096;
  auto store = OpenOrDie(Dir(), options);
  std::atomic<bool> stop{false};
  std::thread snapshotter([&] {
    while (!stop.load()) {
      EXPECT_TRUE(store->Snapshot().ok());
      std::this_thread::yield();
    }
  });
  std::thread reader([&] {
    while (!stop.load()) {
      // "a" and "b" change in the same batch and only grow: once "a" shows a value, "b" shows it
      // too (or a later one).
      for (const auto& [key, value] : store->Scan("a")) {
        std::optional<std::string> b = store->Get("b", key);
        ASSERT_TRUE(b.has_value()) << key;
        EXPECT_GE(std::stoi(*b), std::stoi(value)) << key;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const std::string key = std::to_string(t) + "/" + std::to_string(i % 20);
        std::vector<MetadataOp> ops;
        ops.push_back(MetadataOp::Put("b", key, std::to_string(i)));
        ops.push_back(MetadataOp::Put("a", key, std::to_string(i)));
        ASSERT_TRUE(store->Apply(std::move(ops)).ok());
      }
    });
  }
  for (auto& th : writers) th.join();
  stop = true;
  snapshotter.join();
  reader.join();
  EXPECT_GT(store->stats().snapshots_written, 1);
  const Dump before = DumpOf(*store);
  store.reset();
  auto reopened = OpenOrDie(Dir(), options);
  EXPECT_EQ(DumpOf(*reopened), before);
  EXPECT_EQ(reopened->revision(), 8 * 150);
  EXPECT_LE(Files(Dir(), "snapshot-").size(), 2u);
}

// ---- Error injection ------------------------------------------------------------------------

// Makes chosen file operations fail: Arm(op, errno, n) fails the next n calls of op.
struct Fault {
  static constexpr int kOps = 8;
  std::atomic<int> err[kOps] = {};
  std::atomic<int> times[kOps] = {};

  void Arm(MetadataIoOp op, int e, int n = 1) {
    err[static_cast<int>(op)] = e;
    times[static_cast<int>(op)] = n;
  }
  int Check(MetadataIoOp op) {
    const int i = static_cast<int>(op);
    if (times[i].fetch_sub(1) <= 0) {
      times[i].fetch_add(1);
      return 0;
    }
    return err[i].load();
  }
};

MetadataStore::Options WithFault(const std::shared_ptr<Fault>& fault) {
  MetadataStore::Options options;
  options.inject_io_error_for_testing = [fault](MetadataIoOp op) { return fault->Check(op); };
  return options;
}

TEST_F(MetadataStoreTest, DiskFullOnAppendLeavesStateUnchangedAndStoreWritable) {
  auto fault = std::make_shared<Fault>();
  Dump before;
  {
    auto store = OpenOrDie(Dir(), WithFault(fault));
    ASSERT_TRUE(store->Put("topics", "t1", "one").ok());
    before = DumpOf(*store);
    const uintmax_t size = fs::file_size(ActiveLog(Dir()));
    fault->Arm(MetadataIoOp::kLogWrite, ENOSPC);
    absl::Status s = store->Put("topics", "t2", "two");
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_NE(s.message().find("No space left"), absl::string_view::npos) << s;
    EXPECT_EQ(DumpOf(*store), before);
    EXPECT_EQ(store->revision(), 1);
    EXPECT_EQ(fs::file_size(ActiveLog(Dir())), size);  // The half-written record was cut off.

    ASSERT_TRUE(store->Put("topics", "t3", "three").ok());
    EXPECT_EQ(store->revision(), 2);
    before = DumpOf(*store);
  }
  auto store = OpenOrDie(Dir());
  EXPECT_EQ(DumpOf(*store), before);
  EXPECT_EQ(store->stats().bytes_truncated_on_open, 0);
}

TEST_F(MetadataStoreTest, FailedFsyncStopsWritesButNotReads) {
  auto fault = std::make_shared<Fault>();
  Dump before;
  {
    auto store = OpenOrDie(Dir(), WithFault(fault));
    ASSERT_TRUE(store->Put("topics", "t1", "one").ok());
    before = DumpOf(*store);
    fault->Arm(MetadataIoOp::kLogSync, EIO);
    absl::Status s = store->Put("topics", "t2", "two");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
    EXPECT_NE(s.message().find("Input/output error"), absl::string_view::npos) << s;
    EXPECT_EQ(DumpOf(*store), before);

    s = store->Put("topics", "t3", "three");
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("reopened"), absl::string_view::npos) << s;
    EXPECT_EQ(store->Snapshot().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(store->Get("topics", "t1"), "one");
  }
  auto store = OpenOrDie(Dir());
  EXPECT_EQ(DumpOf(*store), before);
  ASSERT_TRUE(store->Put("topics", "t4", "four").ok());
}

TEST_F(MetadataStoreTest, FailedUndoOfAPartialAppendIsRepairedByTheNextOpen) {
  auto fault = std::make_shared<Fault>();
  Dump before;
  {
    auto store = OpenOrDie(Dir(), WithFault(fault));
    ASSERT_TRUE(store->Put("topics", "t1", "one").ok());
    before = DumpOf(*store);
    // Half the record reaches the file, then cutting it back off fails as well.
    fault->Arm(MetadataIoOp::kLogWrite, EIO);
    fault->Arm(MetadataIoOp::kLogTruncate, EROFS);
    absl::Status s = store->Put("topics", "t2", std::string(1000, 'x'));
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(DumpOf(*store), before);
    EXPECT_GT(fs::file_size(ActiveLog(Dir())), 100u);
    s = store->Put("topics", "t3", "three");
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  }
  auto store = OpenOrDie(Dir());
  EXPECT_EQ(DumpOf(*store), before);
  EXPECT_GT(store->stats().bytes_truncated_on_open, 0);
  ASSERT_TRUE(store->Put("topics", "t4", "four").ok());
}

TEST_F(MetadataStoreTest, FailedSnapshotStepsLeaveTheStoreWritable) {
  for (MetadataIoOp op : {MetadataIoOp::kSnapshotWrite, MetadataIoOp::kSnapshotSync,
                          MetadataIoOp::kRename, MetadataIoOp::kDirSync, MetadataIoOp::kNewSegment}) {
    SCOPED_TRACE("failing op " + std::to_string(static_cast<int>(op)));
    const std::string dir = Dir("snap" + std::to_string(static_cast<int>(op)));
    auto fault = std::make_shared<Fault>();
    Dump before;
    {
      auto store = OpenOrDie(dir, WithFault(fault));
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->Put("a", std::to_string(i), "v").ok());
      fault->Arm(op, ENOSPC);
      absl::Status s = store->Snapshot();
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
      EXPECT_TRUE(Files(dir, "snapshot-00000000000000000005.bin.tmp").empty());
      ASSERT_TRUE(store->Put("a", "after", "failed snapshot").ok());
      ASSERT_TRUE(store->Snapshot().ok());
      ASSERT_TRUE(store->Put("a", "after", "good snapshot").ok());
      before = DumpOf(*store);
    }
    auto store = OpenOrDie(dir);
    EXPECT_EQ(DumpOf(*store), before);
    EXPECT_EQ(store->revision(), 7);
  }
}

TEST_F(MetadataStoreTest, ReadOnlyFilesAreAClearError) {
  chronik::testing::TraversableTempDir base;
  const std::string dir = base.path() + "/meta";
  {
    auto store = OpenOrDie(dir);
    ASSERT_TRUE(store->Put("a", "b", "c").ok());
  }
  const fs::perms read_only = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
  for (const auto& e : fs::directory_iterator(dir)) fs::permissions(e.path(), read_only);
  fs::permissions(dir, read_only | fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec);
  absl::StatusOr<std::unique_ptr<MetadataStore>> store = absl::InternalError("not opened");
  {
    chronik::testing::DropPrivileges as_nobody;  // root would write there regardless
    store = MetadataStore::Open(dir);
  }
  EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied) << store.status();
}

}  // namespace
}  // namespace chronik::storage
