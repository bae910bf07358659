// Kills a process that is writing to a metadata store with SIGKILL at random moments, over and over,
// and checks after each kill that the store reopens with every acknowledged batch present in full,
// no batch present in part, and that it takes new writes.
//
// The writer is a forked child (no exec): several threads apply numbered batches concurrently
// (so group commit, periodic snapshots and segment rolls are all in flight when the kill lands) and
// report each batch the store acknowledged through a pipe.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "chronik_storage/metadata_store.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {
namespace {

namespace fs = std::filesystem;

constexpr int kIterations = 50;
constexpr int kWriterThreads = 4;
constexpr int kKeysPerBatch = 5;
constexpr int kMaxKillDelayMs = 80;

struct Ack {
  int64_t batch;
  int64_t revision;
};

std::string KeyOf(int64_t batch, int k) { return std::to_string(batch) + "/k" + std::to_string(k); }
std::string ValueOf(int64_t batch, int k) {
  return "batch " + std::to_string(batch) + " key " + std::to_string(k);
}

std::vector<MetadataOp> BatchOps(int64_t batch, const std::string& writer) {
  std::vector<MetadataOp> ops;
  for (int k = 0; k < kKeysPerBatch; ++k) {
    ops.push_back(MetadataOp::Put("batches", KeyOf(batch, k), ValueOf(batch, k)));
  }
  ops.push_back(MetadataOp::Put("latest", writer, std::to_string(batch)));
  return ops;
}

MetadataStore::Options CrashOptions() {
  MetadataStore::Options options;
  options.snapshot_every_bytes = 8192;  // Snapshots and segment rolls happen often.
  return options;
}

// Runs in the child until it is killed.
[[noreturn]] void RunWriter(const std::string& dir, int iteration, int ack_fd) {
  spdlog::set_level(spdlog::level::warn);
  auto store = MetadataStore::Open(dir, CrashOptions());
  if (!store.ok()) {
    std::fprintf(stderr, "child: open failed: %s\n", store.status().ToString().c_str());
    _exit(2);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriterThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t n = 0;; ++n) {
        const int64_t batch = (int64_t{iteration} * 10 + t) * 1000000 + n;
        auto rev = (*store)->Apply(BatchOps(batch, "writer" + std::to_string(t)));
        if (!rev.ok()) {
          std::fprintf(stderr, "child: apply failed: %s\n", rev.status().ToString().c_str());
          _exit(3);
        }
        Ack ack{batch, *rev};
        // 16 bytes: below PIPE_BUF, so concurrent writes never interleave.
        if (write(ack_fd, &ack, sizeof(ack)) != sizeof(ack)) _exit(4);
      }
    });
  }
  for (auto& th : threads) th.join();
  _exit(0);
}

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      ((base != nullptr && *base != '\0') ? fs::path(base) : fs::temp_directory_path()) /
      "metadata_store_crash_test.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// Reads acks until EOF or `deadline`, whichever comes first.
void ReadAcks(int fd, std::chrono::steady_clock::time_point deadline, std::vector<Ack>* acks,
              std::string* partial, size_t until_count = SIZE_MAX) {
  while (acks->size() < until_count) {
    int timeout_ms = -1;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    partial->append(buf, static_cast<size_t>(n));
    size_t whole = partial->size() / sizeof(Ack);
    for (size_t i = 0; i < whole; ++i) {
      Ack a;
      std::memcpy(&a, partial->data() + i * sizeof(Ack), sizeof(Ack));
      acks->push_back(a);
    }
    partial->erase(0, whole * sizeof(Ack));
  }
}

TEST(MetadataStoreCrashTest, SigkillAtRandomMomentsNeverLosesOrSplitsABatch) {
  const std::string root = MakeTempDir();
  ASSERT_FALSE(root.empty());
  const std::string dir = (fs::path(root) / "__metadata").string();
  const unsigned seed = static_cast<unsigned>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, kMaxKillDelayMs);

  std::map<int64_t, int64_t> acked;  // batch -> revision
  int64_t batch_checks = 0;
  int64_t max_revision_seen = 0;
  int64_t truncations = 0;
  spdlog::set_level(spdlog::level::warn);

  for (int iteration = 0; iteration < kIterations; ++iteration) {
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunWriter(dir, iteration, fds[1]);
    }
    close(fds[1]);
    std::vector<Ack> acks;
    std::string partial;
    // Every other writer is killed only after its first acknowledgement, so that the test checks
    // acknowledged batches however slow the machine (under emulation a writer can be killed
    // before its first fsync every time).
    if (iteration % 2 == 1) {
      ReadAcks(fds[0], std::chrono::steady_clock::now() + std::chrono::seconds(60), &acks, &partial, 1);
    }
    ReadAcks(
        fds[0], std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng)), &acks,
        &partial);
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ReadAcks(fds[0], std::chrono::steady_clock::time_point::max(), &acks, &partial);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer failed before the kill, status " << status;
    ASSERT_TRUE(partial.empty());
    for (const Ack& a : acks) acked[a.batch] = a.revision;

    auto opened = MetadataStore::Open(dir, CrashOptions());
    ASSERT_TRUE(opened.ok()) << opened.status();
    MetadataStore& store = **opened;
    truncations += store.stats().bytes_truncated_on_open > 0 ? 1 : 0;

    // Every acknowledged batch is there in full.
    int64_t max_acked_revision = 0;
    for (const auto& [batch, revision] : acked) {
      for (int k = 0; k < kKeysPerBatch; ++k) {
        ASSERT_EQ(store.Get("batches", KeyOf(batch, k)), ValueOf(batch, k))
            << "acknowledged batch " << batch << " (revision " << revision << ") lost key " << k;
      }
      max_acked_revision = std::max(max_acked_revision, revision);
      ++batch_checks;
    }
    ASSERT_GE(store.revision(), max_acked_revision);
    ASSERT_GE(store.revision(), max_revision_seen);  // Nothing durable ever goes away.
    max_revision_seen = store.revision();

    // Every batch that is there at all is there in full (acknowledged or not).
    std::map<int64_t, int> keys_per_batch;
    for (const auto& [key, value] : store.Scan("batches")) {
      const int64_t batch = std::stoll(key.substr(0, key.find('/')));
      const int k = std::stoi(key.substr(key.find("/k") + 2));
      ASSERT_EQ(value, ValueOf(batch, k));
      ++keys_per_batch[batch];
    }
    for (const auto& [batch, count] : keys_per_batch) {
      ASSERT_EQ(count, kKeysPerBatch) << "batch " << batch << " is partially applied";
    }
    // Each writer's "latest" pointer, written in the same batch, names a complete batch.
    for (const auto& [writer, batch] : store.Scan("latest")) {
      ASSERT_EQ(keys_per_batch.count(std::stoll(batch)), 1u) << writer << " -> " << batch;
    }
    // Revisions count batches: one per Apply, none lost in between.
    ASSERT_EQ(static_cast<int64_t>(keys_per_batch.size()), store.revision());

    // The store takes new writes after the crash.
    const int64_t own = (int64_t{iteration} * 10 + 9) * 1000000;
    auto rev = store.Apply(BatchOps(own, "parent"));
    ASSERT_TRUE(rev.ok()) << rev.status();
    acked[own] = *rev;
    max_revision_seen = *rev;
  }

  int64_t snapshot_files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("snapshot-", 0) == 0) ++snapshot_files;
  }
  std::printf(
      "crash test: %d iterations (SIGKILL after 0-%d ms), %zu acknowledged batches, %lld batch "
      "checks after reopen, final revision %lld, %lld opens truncated a torn tail, %lld snapshot "
      "files at the end\n",
      kIterations, kMaxKillDelayMs, acked.size(), static_cast<long long>(batch_checks),
      static_cast<long long>(max_revision_seen), static_cast<long long>(truncations),
      static_cast<long long>(snapshot_files));
  EXPECT_GT(acked.size(), static_cast<size_t>(kIterations));
  EXPECT_LE(snapshot_files, 2);
  std::error_code ec;
  fs::remove_all(root, ec);
}

}  // namespace
}  // namespace chronik::storage
