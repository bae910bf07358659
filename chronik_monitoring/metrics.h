#pragma once

// The broker's metrics and their Prometheus exposition (text format 0.0.4, and OpenMetrics 1.0.0
// when a scraper asks for it), written here rather than with prometheus-cpp: the hot path needs
// series it can keep a reference to and bump with one relaxed atomic add (no label lookup per
// request), and the rest of the series are computed at scrape time from what the services already
// know (log sizes, offsets, group lag), which a pull of collectors expresses directly.
//
// Series are created on first use and live as long as the registry; references to them stay
// valid. Label cardinality is the caller's to bound (per-partition collectors can be switched off).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronik::monitoring {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Fixed buckets over integer observations: durations in nanoseconds, exposed in seconds from
// 100 us to 10 s (the default), or counts (records per batch, ...) exposed as they are.
class Histogram {
 public:
  static constexpr double kSecondsBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
  static constexpr double kCountBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  static constexpr size_t kMaxBuckets = 16;

  Histogram() : Histogram(kSecondsBounds, 1e9) {}
  // `unit`: observations per exposed unit (1e9 for nanoseconds shown as seconds, 1 for counts).
  Histogram(std::span<const double> bounds, double unit);

  void ObserveNanos(int64_t nanos) { Observe(nanos); }
  void Observe(int64_t value);
  std::span<const double> bounds() const { return bounds_; }
  // Per bucket (not cumulative), then +Inf.
  std::vector<uint64_t> counts() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return static_cast<double>(sum_.load(std::memory_order_relaxed)) / unit_; }

 private:
  const std::span<const double> bounds_;
  const double unit_;
  std::atomic<uint64_t> buckets_[kMaxBuckets + 1] = {};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What a collector writes at scrape time: values of series declared with Describe.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;
  virtual void Sample(std::string_view name, const Labels& labels, double value) = 0;
};

class Registry {
 public:
  // Declares a family (name without _total for counters; the help text is one line).
  void Describe(std::string name, MetricType type, std::string help);

  Counter& GetCounter(std::string_view name, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, const Labels& labels = {});
  // A histogram of counts (Histogram::kCountBounds).
  Histogram& GetCountHistogram(std::string_view name, const Labels& labels = {});

  // Called at every scrape, on the scraping thread; writes samples of declared gauge or counter
  // families. Must not wait for the disk.
  void AddCollector(std::function<void(SampleWriter&)> collector);

  // The exposition; OpenMetrics when `openmetrics`.
  std::string Render(bool openmetrics) const;

 private:
  struct Family {
    MetricType type = MetricType::kCounter;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyOf(std::string_view name, MetricType type);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void(SampleWriter&)>> collectors_;
};

}  // namespace chronik::monitoring
