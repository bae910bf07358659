#include "chronik_monitoring/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace chronik::monitoring {
namespace {

// When this process started, in seconds since the epoch: boot time (/proc/stat's btime) plus the
// process's start in clock ticks since boot (/proc/self/stat's field 22). Read once: it never
// changes.
double StartTimeSeconds() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(text.substr(close + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(in)), std::istream_iterator<std::string>());
  // Numbered from field 3 (state).
  constexpr size_t kStartTime = 22;
  const double start_ticks = kStartTime - 3 < f.size() ? std::stod(f[kStartTime - 3]) : 0.0;
  std::ifstream boot("/proc/stat");
  std::string key;
  double btime = 0;
  while (boot >> key) {
    if (key == "btime") {
      boot >> btime;
      break;
    }
  }
  return btime + start_ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

void RegisterProcessMetrics(Registry& registry) {
  registry.Describe("process_cpu_seconds_total", MetricType::kCounter, "User and system CPU time spent, in seconds.");
  registry.Describe("process_resident_memory_bytes", MetricType::kGauge, "Resident memory size in bytes.");
  registry.Describe("process_open_fds", MetricType::kGauge, "Number of open file descriptors.");
  registry.Describe("process_max_fds", MetricType::kGauge, "Maximum number of open file descriptors.");
  registry.Describe("process_threads", MetricType::kGauge, "Number of threads.");
  registry.Describe("process_start_time_seconds", MetricType::kGauge,
                    "Start time of the process since the Unix epoch, in seconds.");
  registry.AddCollector([start_time = StartTimeSeconds()](SampleWriter& w) {
    // CPU time from getrusage, threads and resident memory from /proc/self/status. Under qemu-user
    // (how the arm64 build is tested), which fills most of /proc/self/stat with zeros, these are
    // the emulator's process: the program's threads and memory plus qemu's own.
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
      auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
      w.Sample("process_cpu_seconds_total", {}, seconds(usage.ru_utime) + seconds(usage.ru_stime));
    }
    std::ifstream status("/proc/self/status");
    std::string key;
    double value = 0;
    while (status >> key) {
      if (key == "Threads:" && status >> value) w.Sample("process_threads", {}, value);
      if (key == "VmRSS:" && status >> value) w.Sample("process_resident_memory_bytes", {}, value * 1024);  // kB
      status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    w.Sample("process_start_time_seconds", {}, start_time);
    std::error_code ec;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      ++fds;
    }
    w.Sample("process_open_fds", {}, fds);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) w.Sample("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
  });
}

}  // namespace chronik::monitoring
