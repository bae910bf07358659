// Crash test with a real process kill. A forked child appends batches to two partitions from
// several threads with the durable policy and, from each completion callback, reports the
// acknowledged batch (partition, base offset, last offset, CRC) through a pipe. The parent SIGKILLs
// the child at a random moment (sometimes during its startup recovery, usually during heavy
// appending), reopens the data directory, and checks that every batch ever acknowledged is present
// at its offset with the same CRC, that the log is contiguous and CRC-clean, and that it is
// appendable at its end. The same directory is reused across iterations, so later children also
// recover from earlier kills. CHRONIK_CRASH_SEED and CHRONIK_CRASH_ITERATIONS override the defaults.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chronik_protocol/records/record_batch.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::storage {
namespace {

using testing::AppendSync;
using testing::MakeBatch;
using testing::ReadAll;
using testing::TempDir;

constexpr int kPartitions = 2;
constexpr int kThreadsPerPartition = 3;

#pragma pack(push, 1)
struct AckMessage {
  int32_t partition;
  int64_t base_offset;
  int64_t last_offset;
  uint32_t crc;
};
#pragma pack(pop)
static_assert(sizeof(AckMessage) < PIPE_BUF, "pipe writes of one message must be atomic");

LogConfig CrashConfig() {
  LogConfig config;
  config.segment_bytes = 256 * 1024;  // many rolls, so kills also land around them
  config.index_interval_bytes = 2048;
  return config;
}

// The child: never returns.
[[noreturn]] void RunChild(const std::string& dir, int ack_fd, uint64_t seed) {
  LogManager::Options options;
  options.default_config = CrashConfig();
  auto m = LogManager::Open(dir, options);
  if (!m.ok()) {
    std::fprintf(stderr, "child: open failed: %s\n", m.status().ToString().c_str());
    _exit(2);
  }
  std::vector<std::shared_ptr<PartitionLog>> logs;
  for (int p = 0; p < kPartitions; ++p) {
    TopicPartition tp{"crash", PartitionId(p)};
    auto log = (*m)->Get(tp);
    if (log == nullptr) {
      auto created = (*m)->Create(tp, CrashConfig());
      if (!created.ok()) _exit(3);
      log = *created;
    }
    logs.push_back(log);
  }
  std::vector<std::thread> threads;
  for (int p = 0; p < kPartitions; ++p) {
    for (int t = 0; t < kThreadsPerPartition; ++t) {
      threads.emplace_back([&, p, t] {
        std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(p * 10 + t));
        // A few appends in flight per thread: heavier load, more sharing of each fsync.
        std::atomic<int> in_flight{0};
        while (true) {
          if (in_flight.load() >= 4) {
            std::this_thread::yield();
            continue;
          }
          const int records = 1 + static_cast<int>(rng() % 10);
          const size_t value = 10 + rng() % 300;
          std::string batch = MakeBatch(records, value, 1'700'000'000'000 + static_cast<int64_t>(rng() % 1000),
                                        protocol::CompressionType::kNone, static_cast<char>('a' + rng() % 26));
          const uint32_t crc = protocol::RecordBatchView::Parse(batch)->crc();
          in_flight++;
          logs[p]->Append(std::move(batch), LeaderEpoch(1), [&, p, crc](absl::StatusOr<AppendResult> r) {
            if (!r.ok()) {
              std::fprintf(stderr, "child: append failed: %s\n", r.status().ToString().c_str());
              _exit(4);
            }
            AckMessage msg{p, r->base_offset.value(), r->last_offset.value(), crc};
            if (::write(ack_fd, &msg, sizeof(msg)) != static_cast<ssize_t>(sizeof(msg))) _exit(5);
            in_flight--;
          });
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

struct Acked {
  int64_t last_offset;
  uint32_t crc;
};

TEST(CrashTest, AcknowledgedRecordsSurviveSigkill) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const char* seed_env = std::getenv("CHRONIK_CRASH_SEED");
  const uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10)
                                            : static_cast<uint64_t>(std::random_device{}());
  const char* iter_env = std::getenv("CHRONIK_CRASH_ITERATIONS");
  const int iterations = iter_env != nullptr ? std::atoi(iter_env) : 50;
  std::printf("crash test: seed %llu, %d iterations\n", static_cast<unsigned long long>(seed), iterations);
  std::mt19937_64 rng(seed);
  std::vector<std::map<int64_t, Acked>> acked(kPartitions);  // base offset → what was acknowledged
  const auto start = std::chrono::steady_clock::now();
  int64_t total_acks = 0;
  int64_t total_records = 0;
  int64_t verified_batches = 0;
  int64_t verified_records = 0;

  for (int iter = 0; iter < iterations; ++iter) {
    SCOPED_TRACE("iteration " + std::to_string(iter) + ", seed " + std::to_string(seed));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(data, fds[1], seed + static_cast<uint64_t>(iter));
    }
    ::close(fds[1]);
    // Mostly kill during heavy appending; sometimes within the child's first milliseconds (open,
    // recovery, first appends).
    const int delay_ms = (rng() % 5 == 0) ? static_cast<int>(rng() % 15) : 20 + static_cast<int>(rng() % 250);
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    std::string buffer;
    auto drain = [&](int timeout_ms) {
      struct pollfd pfd{fds[0], POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
      char chunk[8192];
      ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
      return true;
    };
    while (std::chrono::steady_clock::now() < kill_at) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - std::chrono::steady_clock::now());
      drain(static_cast<int>(std::max<int64_t>(left.count(), 1)));
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited on its own with status " << WEXITSTATUS(wstatus);
    while (drain(0)) {
    }
    ::close(fds[0]);
    const size_t whole = buffer.size() / sizeof(AckMessage);
    ASSERT_EQ(buffer.size() % sizeof(AckMessage), 0u);
    for (size_t i = 0; i < whole; ++i) {
      AckMessage msg;
      std::memcpy(&msg, buffer.data() + i * sizeof(AckMessage), sizeof(msg));
      ASSERT_GE(msg.partition, 0);
      ASSERT_LT(msg.partition, kPartitions);
      auto [it, inserted] = acked[msg.partition].emplace(msg.base_offset, Acked{msg.last_offset, msg.crc});
      ASSERT_TRUE(inserted) << "offset " << msg.base_offset << " acknowledged twice";
      total_acks++;
      total_records += msg.last_offset - msg.base_offset + 1;
    }

    // Reopen and verify everything ever acknowledged.
    LogManager::Options options;
    options.default_config = CrashConfig();
    auto m = LogManager::Open(data, options);
    ASSERT_TRUE(m.ok()) << m.status();
    for (int p = 0; p < kPartitions; ++p) {
      auto log = (*m)->Get({"crash", PartitionId(p)});
      if (log == nullptr) {
        ASSERT_TRUE(acked[p].empty());
        continue;
      }
      auto all = ReadAll(*log);  // verifies every CRC on the way
      ASSERT_TRUE(all.ok()) << all.status();
      std::map<int64_t, const testing::StoredBatch*> by_base;
      for (size_t i = 0; i < all->size(); ++i) {
        if (i > 0) {
          ASSERT_EQ((*all)[i].base_offset, (*all)[i - 1].last_offset + 1) << "gap in the log";
        }
        by_base[(*all)[i].base_offset] = &(*all)[i];
      }
      for (const auto& [base, ack] : acked[p]) {
        auto it = by_base.find(base);
        ASSERT_NE(it, by_base.end()) << "acknowledged batch at offset " << base << " of partition " << p
                                     << " is missing (log end " << log->log_end_offset().value() << ")";
        EXPECT_EQ(it->second->last_offset, ack.last_offset);
        EXPECT_EQ(it->second->crc, ack.crc) << "content of the batch at offset " << base << " changed";
        verified_batches++;
        verified_records += ack.last_offset - base + 1;
      }
      const int64_t leo = log->log_end_offset().value();
      if (!acked[p].empty()) {
        ASSERT_GT(leo, acked[p].rbegin()->second.last_offset);
      }
      auto appended = AppendSync(*log, MakeBatch(1, 10));
      ASSERT_TRUE(appended.ok()) << appended.status();
      ASSERT_EQ(appended->base_offset, Offset(leo));
      // Nothing acknowledged this one to the test; it is simply part of the log from now on.
    }
    // A child killed before it opened the directory leaves the previous clean marker in place.
    if (whole > 0) {
      EXPECT_FALSE((*m)->last_recovery().clean_shutdown);
    }
    ASSERT_TRUE((*m)->Close().ok());
    // Every other iteration, make the next child recover too (and maybe get killed doing it).
    if (iter % 2 == 1) std::filesystem::remove(data + "/" + kCleanShutdownFileName);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "crash test: %d iterations (SIGKILL each) in %.1f s: %lld acknowledged batches (%lld records), all "
      "present and intact; %lld batch checks (%lld records) over all reopenings\n",
      iterations, seconds, static_cast<long long>(total_acks), static_cast<long long>(total_records),
      static_cast<long long>(verified_batches), static_cast<long long>(verified_records));
  EXPECT_GT(total_acks, 0);
}

}  // namespace
}  // namespace chronik::storage
