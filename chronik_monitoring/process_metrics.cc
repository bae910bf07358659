#include "chronik_monitoring/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace chronik::monitoring {

void RegisterProcessMetrics(Registry& registry) {
  registry.Describe("process_cpu_seconds_total", MetricType::kCounter, "User and system CPU time spent, in seconds.");
  registry.Describe("process_resident_memory_bytes", MetricType::kGauge, "Resident memory size in bytes.");
  registry.Describe("process_open_fds", MetricType::kGauge, "Number of open file descriptors.");
  registry.Describe("process_max_fds", MetricType::kGauge, "Maximum number of open file descriptors.");
  registry.Describe("process_threads", MetricType::kGauge, "Number of threads.");
  registry.Describe("process_start_time_seconds", MetricType::kGauge,
                    "Start time of the process since the Unix epoch, in seconds.");
  registry.AddCollector([](SampleWriter& w) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const size_t close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream in(text.substr(close + 2));
      std::vector<std::string> f((std::istream_iterator<std::string>(in)), std::istream_iterator<std::string>());
      // Numbered from field 3 (state): utime is 14, stime 15, num_threads 20, starttime 22, rss 24.
      auto field = [&](size_t n) { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };
      w.Sample("process_cpu_seconds_total", {}, (field(14) + field(15)) / ticks);
      w.Sample("process_threads", {}, field(20));
      w.Sample("process_resident_memory_bytes", {}, field(24) * page);
      std::ifstream uptime_boot("/proc/stat");
      std::string key;
      double btime = 0;
      while (uptime_boot >> key) {
        if (key == "btime") {
          uptime_boot >> btime;
          break;
        }
      }
      w.Sample("process_start_time_seconds", {}, btime + field(22) / ticks);
    }
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
