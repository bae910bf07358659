#include "chronik_monitoring/metrics.h"

#include "chronik_monitoring/process_metrics.h"
#include "gtest/gtest.h"

namespace chronik::monitoring {
namespace {

TEST(Registry, TextAndOpenMetricsExposition) {
  Registry r;
  r.Describe("chronik_requests_total", MetricType::kCounter, "Requests.");
  r.Describe("chronik_active_connections", MetricType::kGauge, "Connections.");
  r.Describe("chronik_request_duration_seconds", MetricType::kHistogram, "Durations.");
  r.Describe("chronik_storage_usage_bytes", MetricType::kGauge, "Bytes.");
  r.GetCounter("chronik_requests_total", {{"api", "Produce"}, {"version", "9"}}).Add(3);
  r.GetCounter("chronik_requests_total", {{"api", "Produce"}, {"version", "9"}}).Add();
  r.GetGauge("chronik_active_connections", {{"listener", "PLAIN\"TEXT"}}).Add(2);
  Histogram& h = r.GetHistogram("chronik_request_duration_seconds", {{"api", "Fetch"}});
  h.ObserveNanos(50'000);       // 50 us: first bucket
  h.ObserveNanos(3'000'000);    // 3 ms: the 5 ms bucket
  h.ObserveNanos(20'000'000'000);  // 20 s: +Inf
  r.AddCollector([](SampleWriter& w) { w.Sample("chronik_storage_usage_bytes", {}, 12345); });

  const std::string text = r.Render(false);
  EXPECT_NE(text.find("# TYPE chronik_requests_total counter\nchronik_requests_total{api=\"Produce\",version=\"9\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("chronik_active_connections{listener=\"PLAIN\\\"TEXT\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chronik_request_duration_seconds_bucket{api=\"Fetch\",le=\"0.0001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_request_duration_seconds_bucket{api=\"Fetch\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_request_duration_seconds_bucket{api=\"Fetch\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_request_duration_seconds_bucket{api=\"Fetch\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_request_duration_seconds_count{api=\"Fetch\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_request_duration_seconds_sum{api=\"Fetch\"} 20.00305\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chronik_storage_usage_bytes 12345\n"), std::string::npos);
  EXPECT_EQ(text.find("# EOF"), std::string::npos);

  const std::string om = r.Render(true);
  EXPECT_NE(om.find("# TYPE chronik_requests counter\nchronik_requests_total{"), std::string::npos) << om;
  EXPECT_TRUE(om.ends_with("# EOF\n"));
}

TEST(ProcessMetrics, ReadFromProc) {
  Registry r;
  RegisterProcessMetrics(r);
  const std::string text = r.Render(false);
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
                           "process_max_fds ", "process_threads ", "process_start_time_seconds "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
  EXPECT_EQ(text.find("process_threads 0\n"), std::string::npos);
  EXPECT_EQ(text.find("process_resident_memory_bytes 0\n"), std::string::npos);
}

}  // namespace
}  // namespace chronik::monitoring
