#include "chronik_monitoring/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace chronik::monitoring {
namespace {

// Label values escaped as the exposition formats require (\\, \", \n).
void AppendLabels(std::string& out, const Labels& labels, const char* extra_name = nullptr,
                  const std::string& extra_value = "") {
  if (labels.empty() && extra_name == nullptr) return;
  out.push_back('{');
  bool first = true;
  auto one = [&](const std::string& k, const std::string& v) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out.push_back('\\');
        out.push_back(c);
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (extra_name != nullptr) one(extra_name, extra_value);
  out.push_back('}');
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

class CollectedSamples : public SampleWriter {
 public:
  void Sample(std::string_view name, const Labels& labels, double value) override {
    samples[std::string(name)].emplace_back(labels, value);
  }
  std::map<std::string, std::vector<std::pair<Labels, double>>, std::less<>> samples;
};

}  // namespace

Histogram::Histogram(std::span<const double> bounds, double unit)
    : bounds_(bounds.size() <= kMaxBuckets ? bounds : bounds.first(kMaxBuckets)), unit_(unit) {}

void Histogram::Observe(int64_t value) {
  if (value < 0) value = 0;
  const double v = static_cast<double>(value) / unit_;
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(static_cast<uint64_t>(value), std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

void Registry::Describe(std::string name, MetricType type, std::string help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.type = type;
  f.help = std::move(help);
}

Registry::Family& Registry::FamilyOf(std::string_view name, MetricType type) {
  auto it = families_.find(name);
  // Using a family that was never described, or as another type, is a programming error.
  if (it == families_.end() || it->second.type != type) std::abort();
  return it->second;
}

Counter& Registry::GetCounter(std::string_view name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyOf(name, MetricType::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(std::string_view name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyOf(name, MetricType::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(std::string_view name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyOf(name, MetricType::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

Histogram& Registry::GetCountHistogram(std::string_view name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyOf(name, MetricType::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(Histogram::kCountBounds, 1);
  return *slot;
}

void Registry::AddCollector(std::function<void(SampleWriter&)> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render(bool openmetrics) const {
  std::vector<std::function<void(SampleWriter&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  CollectedSamples collected;
  for (const auto& c : collectors) c(collected);

  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, f] : families_) {
    // OpenMetrics names a counter family without its _total suffix; its samples keep it.
    std::string family_name = name;
    if (openmetrics && f.type == MetricType::kCounter && family_name.ends_with("_total")) {
      family_name.resize(family_name.size() - 6);
    }
    out += "# HELP " + family_name + " " + f.help + "\n";
    out += "# TYPE " + family_name + " " + std::string(TypeName(f.type)) + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += name;
      AppendLabels(out, labels);
      out += " " + Number(static_cast<double>(c->value())) + "\n";
    }
    for (const auto& [labels, g] : f.gauges) {
      out += name;
      AppendLabels(out, labels);
      out += " " + Number(static_cast<double>(g->value())) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) {
      const std::vector<uint64_t> counts = h->counts();
      uint64_t cumulative = 0;
      const std::span<const double> bounds = h->bounds();
      for (size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += counts[i];
        out += name + "_bucket";
        AppendLabels(out, labels, "le", i < bounds.size() ? Number(bounds[i]) : "+Inf");
        out += " " + Number(static_cast<double>(cumulative)) + "\n";
      }
      out += name + "_sum";
      AppendLabels(out, labels);
      out += " " + Number(h->sum()) + "\n";
      out += name + "_count";
      AppendLabels(out, labels);
      out += " " + Number(static_cast<double>(cumulative)) + "\n";
    }
    if (auto it = collected.samples.find(name); it != collected.samples.end()) {
      for (const auto& [labels, value] : it->second) {
        out += name;
        AppendLabels(out, labels);
        out += " " + Number(value) + "\n";
      }
    }
  }
  if (openmetrics) out += "# EOF\n";
  return out;
}

}  // namespace chronik::monitoring
