// chronik_storage benchmarks: raw fdatasync cost, append throughput (record size x batch size x
// partitions x durable or not), group commit sharing, sequential reads, and recovery time per GiB.
// Each case runs for a fixed short wall time and reports its rates as counters. It measures and
// prints; it asserts nothing.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/test_util.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {
namespace {

using testing::MakeBatch;
using testing::TempDir;

constexpr auto kCaseDuration = std::chrono::milliseconds(700);
constexpr int64_t kMaxBytesPerCase = 1LL << 30;

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The cost of making one small write durable on this machine's disk.
void BM_Fdatasync(benchmark::State& state) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  std::string data(100, 'x');
  off_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, data.data(), data.size(), off) != static_cast<ssize_t>(data.size())) state.SkipWithError("write");
    off += static_cast<off_t>(data.size());
    ::fdatasync(fd);
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fdatasync)->MinTime(1.0)->Unit(benchmark::kMicrosecond);

// Args: record bytes, records per batch, partitions (one appending thread each), durable (1/0).
// Each thread keeps one append in flight, like a producer with acks=all waiting for each batch.
void BM_Append(benchmark::State& state) {
  const size_t record_bytes = static_cast<size_t>(state.range(0));
  const int batch_records = static_cast<int>(state.range(1));
  const int partitions = static_cast<int>(state.range(2));
  const bool durable = state.range(3) != 0;
  TempDir dir;
  LogManager::Options options;
  auto m = LogManager::Open(dir.path(), options);
  LogConfig config;
  config.max_message_bytes = 64 << 20;
  if (!durable) config.flush_ms = 3'600'000;
  std::vector<std::shared_ptr<PartitionLog>> logs;
  for (int p = 0; p < partitions; ++p) logs.push_back(*(*m)->Create({"bench", PartitionId(p)}, config));
  const std::string batch = MakeBatch(batch_records, record_bytes, 1'700'000'000'000);
  const int64_t max_batches_per_thread = kMaxBytesPerCase / partitions / static_cast<int64_t>(batch.size()) + 1;

  for (auto _ : state) {
    const LogManagerStats before = (*m)->stats();
    std::atomic<int64_t> batches{0};
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + kCaseDuration;
    for (int p = 0; p < partitions; ++p) {
      threads.emplace_back([&, p] {
        int64_t n = 0;
        while (std::chrono::steady_clock::now() < deadline && n < max_batches_per_thread) {
          if (!testing::AppendSync(*logs[p], batch).ok()) break;
          ++n;
        }
        batches += n;
      });
    }
    for (auto& t : threads) t.join();
    const double secs = Seconds(std::chrono::steady_clock::now() - start);
    state.SetIterationTime(secs);
    const LogManagerStats after = (*m)->stats();
    const double n = static_cast<double>(batches.load());
    state.counters["batches/s"] = n / secs;
    state.counters["records/s"] = n * batch_records / secs;
    state.counters["MB/s"] = n * static_cast<double>(batch.size()) / secs / 1e6;
    state.counters["fsync/batch"] = static_cast<double>(after.fdatasync_calls - before.fdatasync_calls) / n;
    state.counters["ack_us"] = secs * partitions / n * 1e6;
  }
  (void)(*m)->Close();
}
void AppendArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rec_bytes", "batch", "parts", "durable"});
  for (int durable : {1, 0}) {
    for (int size : {100, 1024}) {
      for (int batch : {1, 100, 1000}) {
        for (int parts : {1, 8, 64}) b->Args({size, batch, parts, durable});
      }
    }
  }
}
BENCHMARK(BM_Append)->Apply(AppendArgs)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// Group commit: many producers on ONE partition, durable, one 100-byte record per batch.
void BM_GroupCommit(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  TempDir dir;
  auto m = LogManager::Open(dir.path(), {});
  auto log = *(*m)->Create({"bench", PartitionId(0)}, {});
  const std::string batch = MakeBatch(1, 100, 1'700'000'000'000);
  for (auto _ : state) {
    const LogManagerStats before = (*m)->stats();
    std::atomic<int64_t> acked{0};
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + kCaseDuration;
    for (int i = 0; i < producers; ++i) {
      threads.emplace_back([&] {
        while (std::chrono::steady_clock::now() < deadline) {
          if (!testing::AppendSync(*log, batch).ok()) break;
          acked++;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double secs = Seconds(std::chrono::steady_clock::now() - start);
    state.SetIterationTime(secs);
    const LogManagerStats after = (*m)->stats();
    const double n = static_cast<double>(acked.load());
    state.counters["acked/s"] = n / secs;
    state.counters["fsync/batch"] = static_cast<double>(after.fdatasync_calls - before.fdatasync_calls) / n;
    state.counters["rounds"] = static_cast<double>(after.sync_rounds - before.sync_rounds);
  }
}
BENCHMARK(BM_GroupCommit)->Arg(1)->Arg(8)->Arg(64)->ArgName("producers")->Iterations(1)->UseManualTime()->Unit(
    benchmark::kMillisecond);

// A log of ~512 MiB (1 KiB records, 100 per batch) shared by the read and recovery cases.
struct BigLog {
  TempDir dir;
  int64_t bytes = 0;
  int64_t end_offset = 0;

  BigLog() {
    auto m = LogManager::Open(dir.path(), {});
    LogConfig config;
    config.flush_ms = 3'600'000;
    auto log = *(*m)->Create({"big", PartitionId(0)}, config);
    const std::string batch = MakeBatch(100, 1024, 1'700'000'000'000);
    while (bytes < (512LL << 20)) {
      (void)testing::AppendSync(*log, batch);
      bytes += static_cast<int64_t>(batch.size());
    }
    end_offset = log->log_end_offset().value();
    (void)(*m)->Close();
  }
  static BigLog& Get() {
    static BigLog log;  // its directory is removed at exit
    return log;
  }
};

void BM_ReadSequential(benchmark::State& state) {
  BigLog& big = BigLog::Get();
  auto m = LogManager::Open(big.dir.path(), {});
  auto log = (*m)->Get({"big", PartitionId(0)});
  const int64_t max_bytes = state.range(0);
  int64_t total = 0;
  for (auto _ : state) {
    int64_t next = 0;
    const auto start = std::chrono::steady_clock::now();
    int64_t bytes = 0;
    while (next < big.end_offset) {
      auto r = log->Read(Offset(next), max_bytes);
      auto data = r->records.Flatten();
      bytes += static_cast<int64_t>(data->size());
      auto batches = testing::SplitBatches(*data);
      next = batches->back().last_offset + 1;
    }
    state.SetIterationTime(Seconds(std::chrono::steady_clock::now() - start));
    total += bytes;
  }
  state.SetBytesProcessed(total);
}
BENCHMARK(BM_ReadSequential)->Arg(1 << 20)->ArgName("max_bytes")->Iterations(2)->UseManualTime()->Unit(
    benchmark::kMillisecond);

// Open after an unclean shutdown with no checkpoint: every byte is read and CRC-checked.
// Arg 0: warm page cache; 1: cold (the segment files are evicted with posix_fadvise first).
void BM_RecoveryPerGiB(benchmark::State& state) {
  BigLog& big = BigLog::Get();
  const bool cold = state.range(0) != 0;
  for (auto _ : state) {
    std::filesystem::remove(big.dir.path() + "/" + kCleanShutdownFileName);
    std::filesystem::remove(big.dir.path() + "/" + kCheckpointFileName);
    if (cold) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(big.dir.path())) {
        if (!e.is_regular_file()) continue;
        int fd = ::open(e.path().c_str(), O_RDONLY);
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
      }
    }
    const auto start = std::chrono::steady_clock::now();
    auto m = LogManager::Open(big.dir.path(), {});
    const double secs = Seconds(std::chrono::steady_clock::now() - start);
    state.SetIterationTime(secs);
    const RecoveryStats stats = (*m)->last_recovery();
    state.counters["scanned_MiB"] = static_cast<double>(stats.bytes_scanned) / (1 << 20);
    state.counters["s_per_GiB"] = secs / (static_cast<double>(stats.bytes_scanned) / (1 << 30));
    (void)(*m)->Close();
  }
}
BENCHMARK(BM_RecoveryPerGiB)->Arg(0)->Arg(1)->ArgName("cold")->Iterations(1)->UseManualTime()->Unit(
    benchmark::kMillisecond);

}  // namespace
}  // namespace chronik::storage

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
