// Offset commits per second from N consumer groups committing at once, each from its own thread
// with one commit in flight (as a consumer with enable.auto.commit or a sync commit loop does),
// against a metadata store on the local disk with fsync. Measures and prints; it is not a test.
//
//   bazel run -c opt //chronik_ingest:group_commit_bench -- [seconds per point] [groups...]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "chronik_ingest/group_coordinator.h"
#include "chronik_storage/metadata_store.h"

namespace {

using chronik::ingest::GroupCoordinator;
using chronik::ingest::OffsetCommitEntry;

double CommitsPerSecond(const std::string& dir, int groups, double seconds, int64_t* fsyncs) {
  std::filesystem::remove_all(dir);
  auto store = chronik::storage::MetadataStore::Open(dir);
  if (!store.ok()) std::abort();
  GroupCoordinator::Options options;
  options.partition_exists = [](const std::string&, int32_t) { return true; };
  GroupCoordinator coordinator(**store, std::move(options));
  if (!coordinator.Load().ok()) std::abort();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> commits{0};
  std::vector<std::thread> threads;
  const int64_t fsyncs_before = (*store)->stats().fsyncs;
  const auto start = std::chrono::steady_clock::now();
  for (int g = 0; g < groups; ++g) {
    threads.emplace_back([&, g] {
      const std::string group = "group-" + std::to_string(g);
      for (int64_t offset = 0; !stop.load(std::memory_order_relaxed); ++offset) {
        std::vector<OffsetCommitEntry> entries;
        for (int32_t p = 0; p < 4; ++p) entries.push_back(OffsetCommitEntry{"topic", p, offset, -1, "", -1});
        for (const auto& s : coordinator.CommitOffsets(group, "", std::nullopt, -1, -1, entries)) {
          if (!s.ok()) std::abort();
        }
        commits.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *fsyncs = (*store)->stats().fsyncs - fsyncs_before;
  coordinator.Shutdown();
  return static_cast<double>(commits.load()) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  std::vector<int> points;
  for (int i = 2; i < argc; ++i) points.push_back(std::atoi(argv[i]));
  if (points.empty()) points = {1, 10, 50};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/group-commit-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return 1;
  std::printf("%8s %14s %14s %18s\n", "groups", "commits/s", "fsyncs/s", "commits per fsync");
  for (int groups : points) {
    int64_t fsyncs = 0;
    const double rate = CommitsPerSecond(dir + "/meta", groups, seconds, &fsyncs);
    std::printf("%8d %14.0f %14.0f %18.2f\n", groups, rate, static_cast<double>(fsyncs) / seconds,
                fsyncs > 0 ? rate * seconds / static_cast<double>(fsyncs) : 0.0);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
