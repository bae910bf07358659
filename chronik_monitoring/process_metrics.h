#pragma once

// The process's own series, read from /proc/self at scrape time: CPU seconds, resident memory,
// open and maximum file descriptors, threads and start time, under the names Prometheus's client
// libraries use (process_*).

#include "chronik_monitoring/metrics.h"

namespace chronik::monitoring {

void RegisterProcessMetrics(Registry& registry);

}  // namespace chronik::monitoring
