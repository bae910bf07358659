#include "chronik_janitor/janitor.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "spdlog/spdlog.h"

namespace chronik::janitor {
namespace {

constexpr char kCleanerCheckpointFileName[] = "cleaner-offset-checkpoint";
constexpr char kCleanerCheckpointHeader[] = "chronik-cleaner-checkpoint 1";

}  // namespace

namespace {

double UsableRate(double bytes_per_second) {
  return std::isfinite(bytes_per_second) && bytes_per_second > 0 ? bytes_per_second : 0;
}

}  // namespace

IoThrottle::IoThrottle(double bytes_per_second)
    : rate_(UsableRate(bytes_per_second)), window_start_(std::chrono::steady_clock::now()) {}

std::chrono::steady_clock::time_point IoThrottle::DueLocked(double end) const {
  // Capped (about 31 years) so that a tiny rate cannot overflow the nanoseconds.
  const double seconds = std::min((end - rebased_) / rate_, 1e9);
  return window_start_ + std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
}

bool IoThrottle::Acquire(int64_t bytes, std::chrono::nanoseconds* waited) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cancelled_) return false;
  if (rate_ <= 0 || bytes <= 0) return true;
  {
    const auto now = std::chrono::steady_clock::now();
    // A fresh window after a second of silence: an idle caller earns no burst beyond that.
    if (now - window_start_ > std::chrono::seconds(1) &&
        window_bytes_ <= rate_ * std::chrono::duration<double>(now - window_start_).count()) {
      rebased_ += window_bytes_;
      window_start_ = now;
      window_bytes_ = 0;
    }
  }
  window_bytes_ += static_cast<double>(bytes);
  const double end = rebased_ + window_bytes_;
  auto due = DueLocked(end);
  ++waiting_;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (cancelled_ || due <= now) break;
    const uint64_t changes = rate_changes_;
    wake_cv_.wait_until(lock, due, [&] { return cancelled_ || rate_changes_ != changes; });
    const auto slept = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - now);
    slept_ += slept;
    if (waited != nullptr) *waited += slept;
    if (rate_changes_ != changes) {
      if (rate_ <= 0) break;
      due = DueLocked(end);
    }
  }
  --waiting_;
  return !cancelled_;
}

void IoThrottle::SetRate(double bytes_per_second) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const double rate = UsableRate(bytes_per_second);
    if (rate == rate_) return;
    const auto now = std::chrono::steady_clock::now();
    // What the old rate let through by now (everything, without one) moves out of the window.
    const double through =
        rate_ > 0 ? std::min(window_bytes_, rate_ * std::chrono::duration<double>(now - window_start_).count())
                  : window_bytes_;
    rebased_ += through;
    window_bytes_ -= through;
    window_start_ = now;
    rate_ = rate;
    ++rate_changes_;
  }
  wake_cv_.notify_all();
}

int IoThrottle::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

void IoThrottle::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  wake_cv_.notify_all();
}

std::chrono::nanoseconds IoThrottle::slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

Janitor::Janitor(storage::LogManager& logs, JanitorOptions options)
    : logs_(logs), options_(std::move(options)), throttle_(options_.cleaner_io_max_bytes_per_second) {
  LoadCleanerCheckpoint();
}

std::string Janitor::CleanerCheckpointPath() const { return logs_.data_dir() + "/" + kCleanerCheckpointFileName; }

void Janitor::LoadCleanerCheckpoint() {
  std::ifstream in(CleanerCheckpointPath());
  if (!in) return;
  std::string header;
  if (!std::getline(in, header) || header != kCleanerCheckpointHeader) {
    spdlog::warn("janitor: {} is not a cleaner checkpoint; every compacted log counts as dirty", CleanerCheckpointPath());
    return;
  }
  std::string topic;
  int32_t partition = 0;
  CleanerState state;
  while (in >> topic >> partition >> state.cleaned_up_to >> state.next_delete_horizon_ms) {
    cleaner_state_[storage::TopicPartition{topic, storage::PartitionId(partition)}] = state;
  }
}

void Janitor::WriteCleanerCheckpoint() const {
  const std::string path = CleanerCheckpointPath();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kCleanerCheckpointHeader << "\n";
    for (const auto& [tp, state] : cleaner_state_) {
      out << tp.topic << " " << tp.partition.value() << " " << state.cleaned_up_to << " "
          << state.next_delete_horizon_ms << "\n";
    }
    if (!out.flush()) {
      spdlog::warn("janitor: cannot write {}", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) spdlog::warn("janitor: cannot replace {}: {}", path, ec.message());
}

Janitor::~Janitor() { Stop(); }

int64_t Janitor::Now() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Janitor::Schedule(std::string name, int64_t interval_ms, std::function<void(int64_t)> task) {
  std::lock_guard<std::mutex> lock(mu_);
  scheduler_tasks_.push_back(Task{std::move(name), interval_ms, std::move(task), {}});
}

void Janitor::ScheduleOnOwnThread(std::string name, int64_t interval_ms, std::function<void(int64_t)> task,
                                  Priority priority) {
  std::lock_guard<std::mutex> lock(mu_);
  solo_tasks_.push_back(SoloTask{{Task{std::move(name), interval_ms, std::move(task), {}}}, priority});
}

void Janitor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  scheduler_tasks_.push_back(Task{"retention", options_.retention_check_interval_ms,
                                  [this](int64_t now) { Report(RunRetention(now)); }, {}});
  if (options_.cleaner_enable) {
    cleaner_tasks_.push_back(Task{"cleaner", options_.cleaner_backoff_ms, [this](int64_t now) { Report(RunCleaner(now)); }, {}});
  }
  // Compaction can take long; it gets its own thread so retention and expiry keep their pace.
  const auto now = std::chrono::steady_clock::now();
  for (Task& t : scheduler_tasks_) t.next = now + std::chrono::milliseconds(t.interval_ms);
  for (Task& t : cleaner_tasks_) t.next = now + std::chrono::milliseconds(t.interval_ms);
  threads_.emplace_back([this] { Loop(&scheduler_tasks_); });
  if (!cleaner_tasks_.empty()) threads_.emplace_back([this] { Loop(&cleaner_tasks_); });
  for (SoloTask& solo : solo_tasks_) {
    Task& task = solo.tasks.front();
    task.next = now + std::chrono::milliseconds(task.interval_ms);
    threads_.emplace_back([this, &solo] {
      if (solo.priority == Priority::kIdle) {
        sched_param param{};
        if (::sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
          spdlog::warn("janitor: cannot lower the priority of {}: {}", solo.tasks.front().name, std::strerror(errno));
        }
      }
      Loop(&solo.tasks);
    });
  }
}

void Janitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // A compaction pass in progress stops at its next batch instead of finishing (maybe hours, at a
  // low log.cleaner.io.max.bytes.per.second); the partition keeps its uncleaned segments.
  throttle_.Cancel();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void Janitor::Loop(std::vector<Task>* tasks) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto next = std::min_element(tasks->begin(), tasks->end(), [](const Task& a, const Task& b) { return a.next < b.next; });
    if (cv_.wait_until(lock, next->next, [this] { return stopping_; })) break;
    if (std::chrono::steady_clock::now() < next->next) continue;
    Task* task = &*next;
    lock.unlock();
    try {
      task->run(Now());
    } catch (const std::exception& e) {
      spdlog::error("janitor: task {} failed: {}", task->name, e.what());
    }
    lock.lock();
    // From the end of the pass: a slow pass never queues up passes behind it.
    task->next = std::chrono::steady_clock::now() + std::chrono::milliseconds(task->interval_ms);
  }
}

LogPassStats Janitor::RunRetention(int64_t now_ms) {
  LogPassStats stats;
  for (const storage::TopicPartition& tp : logs_.partitions()) {
    std::shared_ptr<storage::PartitionLog> log = logs_.Get(tp);
    if (log == nullptr || !log->status().ok()) continue;  // deleted or offline meanwhile
    stats.producers_expired += static_cast<int>(log->ExpireProducers(now_ms));
    absl::StatusOr<bool> rolled = log->RollIfIdle(now_ms);
    if (!rolled.ok()) {
      spdlog::warn("janitor: rolling {}: {}", tp.ToString(), rolled.status().ToString());
    } else if (*rolled) {
      stats.segments_rolled++;
    }
    absl::StatusOr<storage::RetentionResult> r = log->ApplyRetention(now_ms);
    if (!r.ok()) {
      spdlog::warn("janitor: retention of {}: {}", tp.ToString(), r.status().ToString());
      continue;
    }
    stats.segments_deleted += r->segments_deleted;
    stats.bytes_deleted += r->bytes_deleted;
  }
  if (stats.segments_rolled > 0 || stats.segments_deleted > 0) {
    spdlog::info("janitor: retention pass rolled {} idle segments, deleted {} segments ({} bytes)",
                 stats.segments_rolled, stats.segments_deleted, stats.bytes_deleted);
  }
  return stats;
}

bool Janitor::NeedsCleaning(const storage::PartitionLog& log, const CleanerState& state, int64_t now_ms) const {
  if (state.next_delete_horizon_ms >= 0 && now_ms >= state.next_delete_horizon_ms) return true;
  const std::vector<storage::SegmentInfo> segments = log.segments();
  const storage::LogConfig config = log.config();
  int64_t clean = 0;
  int64_t dirty = 0;
  // The active segment is never cleaned, so only closed segments count, as in Kafka's cleaner; nor
  // do segments still younger than min.compaction.lag.ms, which a pass would copy as they are.
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (segments[i].next_offset.value() <= state.cleaned_up_to) {
      clean += segments[i].size_bytes;
    } else if (config.min_compaction_lag_ms <= 0 || segments[i].max_timestamp <= now_ms - config.min_compaction_lag_ms) {
      dirty += segments[i].size_bytes;
    }
  }
  if (dirty == 0) return false;
  // max.compaction.lag.ms: the oldest uncleaned closed segment's newest record bounds how long its
  // records have waited (Kafka looks at its first batch; this is later by at most one segment).
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (segments[i].next_offset.value() <= state.cleaned_up_to) continue;
    if (segments[i].max_timestamp >= 0 && now_ms - segments[i].max_timestamp > config.max_compaction_lag_ms) return true;
    break;
  }
  return static_cast<double>(dirty) / static_cast<double>(clean + dirty) >= config.min_cleanable_dirty_ratio;
}

LogPassStats Janitor::RunCleaner(int64_t now_ms) {
  LogPassStats stats;
  std::lock_guard<std::mutex> lock(cleaner_mu_);
  const std::function<bool(int64_t)> throttle = [this](int64_t bytes) { return throttle_.Acquire(bytes); };
  std::map<storage::TopicPartition, CleanerState> seen;
  for (const storage::TopicPartition& tp : logs_.partitions()) {
    std::shared_ptr<storage::PartitionLog> log = logs_.Get(tp);
    if (log == nullptr || !log->status().ok() || !log->config().cleanup_compact) continue;
    CleanerState state = cleaner_state_[tp];
    // A log recreated under the same name (or cut short) is not the one the checkpoint described.
    if (state.cleaned_up_to > log->log_end_offset().value()) state = CleanerState{};
    if (NeedsCleaning(*log, state, now_ms)) {
      absl::StatusOr<storage::CompactionResult> r = log->Compact(now_ms, throttle);
      if (!r.ok() && r.status().code() == absl::StatusCode::kCancelled) {
        spdlog::info("janitor: compaction of {} stopped for shutdown", tp.ToString());
        break;
      } else if (!r.ok()) {
        spdlog::warn("janitor: compaction of {}: {}", tp.ToString(), r.status().ToString());
      } else {
        state.cleaned_up_to = r->cleaned_up_to.value();
        state.next_delete_horizon_ms = r->next_delete_horizon_ms;
        stats.partitions_compacted++;
        stats.records_removed += r->records_removed;
      }
    }
    seen.emplace(tp, state);
  }
  // Partitions deleted (or no longer compacted) drop out of the state.
  const bool changed = seen != cleaner_state_;
  cleaner_state_ = std::move(seen);
  if (changed) WriteCleanerCheckpoint();
  return stats;
}

}  // namespace chronik::janitor
