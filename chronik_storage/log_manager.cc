#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "chronik_storage/errors.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {
namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// How often the flusher looks for flush.ms deadlines.
constexpr int64_t kTimedFlushCheckMs = 20;

// Format: "1\n<count>\n" then "<topic> <partition> <recovery point> <log start offset> <deleted
// below>\n" lines; version 0 (before DeleteRecords below a tiered partition's local log) had no
// fifth column.
std::map<std::string, PartitionCheckpoint> ReadCheckpoint(const std::string& path) {
  std::map<std::string, PartitionCheckpoint> out;
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return out;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  std::istringstream in(text);
  int version = -1;
  size_t count = 0;
  if (!(in >> version >> count) || (version != 0 && version != 1)) {
    spdlog::warn("storage: ignoring unreadable checkpoint {}", path);
    return {};
  }
  for (size_t i = 0; i < count; ++i) {
    std::string topic;
    int32_t partition;
    PartitionCheckpoint e;
    if (!(in >> topic >> partition >> e.recovery_point >> e.log_start_offset) ||
        (version == 1 && !(in >> e.deleted_below))) {
      spdlog::warn("storage: checkpoint {} is truncated; ignoring it", path);
      return {};
    }
    out[TopicPartition{topic, PartitionId(partition)}.ToString()] = e;
  }
  return out;
}

// "<topic>-<partition>" → TopicPartition.
bool ParsePartitionDir(const std::string& name, TopicPartition* tp) {
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return false;
  std::string num = name.substr(dash + 1);
  if (num.size() > 10 || !std::all_of(num.begin(), num.end(), ::isdigit)) return false;
  long long p = std::atoll(num.c_str());
  if (p > INT32_MAX) return false;
  tp->topic = name.substr(0, dash);
  tp->partition = PartitionId(static_cast<int32_t>(p));
  return IsValidTopicName(tp->topic);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool IsValidTopicName(const std::string& topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  for (char c : topic) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

LogManager::LogManager(std::string data_dir, Options options, int lock_fd)
    : data_dir_(std::move(data_dir)), options_(std::move(options)), lock_fd_(lock_fd) {}

LogManager::~LogManager() {
  absl::Status st = Close();
  if (!st.ok()) spdlog::error("storage: closing {}: {}", data_dir_, st.ToString());
}

int64_t LogManager::NowMs() {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::unique_ptr<LogManager>> LogManager::Open(const std::string& data_dir, Options options) {
  if (!options.file_ops) options.file_ops = FileOps::Default();
  if (::mkdir(data_dir.c_str(), 0755) != 0 && errno != EEXIST) return IoError("create data directory", data_dir, errno);
  const std::string lock_path = data_dir + "/" + kLockFileName;
  int fd = options.file_ops->Open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd < 0) return IoError("create lock file", lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("data directory ", data_dir, " is in use by another broker (lock file ", lock_path,
                       " is held); only one broker may open a data directory"));
    }
    return IoError("lock", lock_path, err);
  }
  std::unique_ptr<LogManager> manager(new LogManager(data_dir, std::move(options), fd));
  const std::string marker = data_dir + "/" + kCleanShutdownFileName;
  const bool clean = ::access(marker.c_str(), F_OK) == 0;
  absl::Status st = manager->Recover(clean);
  if (!st.ok()) {
    {
      absl::MutexLock lock(&manager->mu_);
      manager->closed_ = true;
    }
    ::close(manager->lock_fd_);
    manager->lock_fd_ = -1;
    return st;
  }
  // From here on the files change, so the marker must go before the first append.
  if (clean) {
    if (::unlink(marker.c_str()) != 0) return IoError("remove", marker, errno);
    st = manager->SyncDataDir();
    if (!st.ok()) return st;
  }
  st = manager->WriteCheckpoint();
  if (!st.ok()) return st;
  for (const auto& log : manager->AllLogs()) log->TakeCheckpointDirty();
  for (int i = 0; i < manager->options_.sync_threads; ++i) {
    manager->sync_workers_.emplace_back([m = manager.get()] { m->SyncWorkerLoop(); });
  }
  manager->flusher_ = std::thread([m = manager.get()] { m->FlusherLoop(); });
  return manager;
}

absl::Status LogManager::Recover(bool clean_shutdown) {
  const auto start = std::chrono::steady_clock::now();
  recovery_ = RecoveryStats();
  recovery_.clean_shutdown = clean_shutdown;
  const std::string checkpoint_path = data_dir_ + "/" + kCheckpointFileName;
  const bool checkpoint_found = ::access(checkpoint_path.c_str(), F_OK) == 0;
  std::map<std::string, PartitionCheckpoint> checkpoint = ReadCheckpoint(checkpoint_path);

  std::vector<std::string> names;
  DIR* d = ::opendir(data_dir_.c_str());
  if (d == nullptr) return IoError("open data directory", data_dir_, errno);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    std::string path = data_dir_ + "/" + name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (EndsWith(name, "-delete")) {
      spdlog::info("storage: removing {} left by an interrupted partition delete", path);
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      continue;
    }
    names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());

  for (const std::string& name : names) {
    TopicPartition tp;
    if (name == kMetadataDirName || name == kAuditDirName || name == kSearchDirName) continue;
    if (name == kBackupDirName) {
      std::error_code ec;
      std::filesystem::remove_all(data_dir_ + "/" + name, ec);
      continue;
    }
    if (!ParsePartitionDir(name, &tp)) {
      spdlog::warn("storage: ignoring {}/{}: not a <topic>-<partition> directory", data_dir_, name);
      continue;
    }
    LogConfig config = options_.config_for ? options_.config_for(tp) : options_.default_config;
    auto log = std::shared_ptr<PartitionLog>(new PartitionLog(this, tp, data_dir_ + "/" + name, config));
    PartitionCheckpoint entry;
    if (auto it = checkpoint.find(name); it != checkpoint.end()) entry = it->second;
    PartitionLog::LoadStats stats;
    absl::Status st = log->Load(clean_shutdown, entry, &stats);
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat("recovering partition ", tp.ToString(), ": ", st.message()));
    }
    recovery_.partitions++;
    recovery_.segments_loaded += stats.segments_loaded;
    recovery_.segments_scanned += stats.segments_scanned;
    recovery_.segments_deleted += stats.segments_deleted;
    recovery_.indexes_rebuilt += stats.indexes_rebuilt;
    recovery_.producer_snapshots_used += stats.producer_snapshots_used;
    recovery_.producer_batches_replayed += stats.producer_batches_replayed;
    recovery_.bytes_scanned += stats.bytes_scanned;
    recovery_.bytes_truncated += stats.bytes_truncated;
    absl::MutexLock lock(&mu_);
    logs_[tp] = std::move(log);
  }
  recovery_.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  const char* how = clean_shutdown ? "a clean shutdown" : "an unclean shutdown";
  if (!clean_shutdown && !checkpoint_found && recovery_.partitions == 0) how = "no previous use";
  spdlog::info(
      "storage: opened {} after {}: {} partitions, {} segments, {} scanned ({} bytes), {} bytes truncated, "
      "{} segments deleted, {} indexes rebuilt, producer state from {} snapshots and {} batches, in {:.1f} ms",
      data_dir_, how, recovery_.partitions, recovery_.segments_loaded,
      recovery_.segments_scanned, recovery_.bytes_scanned, recovery_.bytes_truncated, recovery_.segments_deleted,
      recovery_.indexes_rebuilt, recovery_.producer_snapshots_used, recovery_.producer_batches_replayed,
      static_cast<double>(recovery_.duration_us) / 1000.0);
  return absl::OkStatus();
}

absl::Status LogManager::SyncDataDir() {
  CountFsync();
  return SyncDirectory(*options_.file_ops, data_dir_);
}

std::vector<std::shared_ptr<PartitionLog>> LogManager::AllLogs() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<PartitionLog>> out;
  out.reserve(logs_.size());
  for (const auto& [tp, log] : logs_) out.push_back(log);
  return out;
}

absl::StatusOr<std::shared_ptr<PartitionLog>> LogManager::Create(const TopicPartition& tp, const LogConfig& config) {
  if (!IsValidTopicName(tp.topic)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid topic name '", tp.topic, "'"));
  }
  if (tp.partition.value() < 0) return absl::InvalidArgumentError("negative partition id");
  std::shared_ptr<PartitionLog> log;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("log manager is closed");
    if (logs_.count(tp) != 0) return absl::AlreadyExistsError(absl::StrCat("partition ", tp.ToString(), " exists"));
    const std::string dir = data_dir_ + "/" + tp.ToString();
    if (::mkdir(dir.c_str(), 0755) != 0) {
      if (errno == EEXIST) {
        return absl::AlreadyExistsError(absl::StrCat("directory ", dir, " exists but is not a loaded partition"));
      }
      return IoError("create partition directory", dir, errno);
    }
    log = std::shared_ptr<PartitionLog>(new PartitionLog(this, tp, dir, config));
    absl::Status st = SyncDataDir();
    if (st.ok()) st = log->InitNew(0);
    if (!st.ok()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      return st;
    }
    logs_[tp] = log;
  }
  spdlog::info("storage: created partition {}", tp.ToString());
  return log;
}

std::shared_ptr<PartitionLog> LogManager::Get(const TopicPartition& tp) const {
  absl::MutexLock lock(&mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second;
}

absl::Status LogManager::LinkPartitionFiles(const std::string& to,
                                            std::vector<std::pair<std::string, int64_t>>* files) const {
  std::vector<CheckpointLine> checkpoint;
  for (const std::shared_ptr<PartitionLog>& log : AllLogs()) {
    const std::string name = std::filesystem::path(log->dir()).filename().string();
    const std::string dir = absl::StrCat(to, "/", name);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return IoError("create directory", dir, ec.value());
    std::vector<std::pair<std::string, int64_t>> linked;
    CheckpointLine line{log->topic_partition(), {}};
    if (absl::Status st = log->LinkFiles(dir, &linked, &line.values); !st.ok()) {
      return st;
    }
    for (auto& [file, size] : linked) files->emplace_back(absl::StrCat(name, "/", file), size);
    checkpoint.push_back(std::move(line));
  }
  const std::string text = CheckpointText(checkpoint);
  if (absl::Status st = WriteFileFully(*options_.file_ops, absl::StrCat(to, "/", kCheckpointFileName), text); !st.ok()) {
    return st;
  }
  files->emplace_back(kCheckpointFileName, static_cast<int64_t>(text.size()));
  return absl::OkStatus();
}

std::vector<TopicPartition> LogManager::partitions() const {
  absl::MutexLock lock(&mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, log] : logs_) out.push_back(tp);
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status LogManager::Delete(const TopicPartition& tp) {
  std::shared_ptr<PartitionLog> log;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("log manager is closed");
    auto it = logs_.find(tp);
    if (it == logs_.end()) return absl::NotFoundError(absl::StrCat("no partition ", tp.ToString()));
    log = it->second;
    logs_.erase(it);
  }
  log->MarkDeleted();
  // Readers waiting on it learn now, whatever happens to its files next.
  Publish({LogEvent{LogEventKind::kPartitionDeleted, tp, Offset(0), 0}});
  // Rename first so a crash mid-delete leaves a directory Open recognizes and finishes deleting.
  const std::string doomed = absl::StrCat(log->dir(), ".",
                                          std::chrono::steady_clock::now().time_since_epoch().count(), "-delete");
  if (options_.file_ops->Rename(log->dir().c_str(), doomed.c_str()) != 0) {
    return IoError("rename for deletion", log->dir(), errno);
  }
  absl::Status st = SyncDataDir();
  absl::Status cp = WriteCheckpoint();
  std::error_code ec;
  std::filesystem::remove_all(doomed, ec);
  if (ec) spdlog::warn("storage: removing {}: {}", doomed, ec.message());
  spdlog::info("storage: deleted partition {}", tp.ToString());
  return st.ok() ? cp : st;
}

void LogManager::Subscribe(LogEventListener listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.push_back(std::move(listener));
}

void LogManager::Publish(const std::vector<LogEvent>& events) {
  if (events.empty()) return;
  absl::ReaderMutexLock lock(&listeners_mu_);
  for (const LogEvent& e : events) {
    for (const LogEventListener& l : listeners_) l(e);
  }
}

std::string_view LogEventKindName(LogEventKind kind) {
  switch (kind) {
    case LogEventKind::kHighWatermarkMoved:
      return "high-watermark-moved";
    case LogEventKind::kLogStartMoved:
      return "log-start-moved";
    case LogEventKind::kSegmentRolled:
      return "segment-rolled";
    case LogEventKind::kSegmentDeleted:
      return "segment-deleted";
    case LogEventKind::kPartitionDeleted:
      return "partition-deleted";
  }
  return "unknown";
}

std::string LogManager::CheckpointText(const std::vector<CheckpointLine>& lines) {
  std::string text = absl::StrCat("1\n", lines.size(), "\n");
  for (const CheckpointLine& l : lines) {
    absl::StrAppend(&text, l.tp.topic, " ", l.tp.partition.value(), " ", l.values.recovery_point, " ",
                    l.values.log_start_offset, " ", l.values.deleted_below, "\n");
  }
  return text;
}

absl::Status LogManager::WriteCheckpoint() {
  absl::MutexLock lock(&checkpoint_mu_);
  std::vector<CheckpointLine> lines;
  for (const auto& log : AllLogs()) {
    lines.push_back(CheckpointLine{log->topic_partition(), log->CheckpointValues()});
  }
  // The file and the directory: both fsyncs count.
  CountFsync();
  CountFsync();
  return ReplaceFileDurably(*options_.file_ops, data_dir_ + "/" + kCheckpointFileName, CheckpointText(lines));
}

void LogManager::RequestSync(std::shared_ptr<PartitionLog> log) {
  absl::MutexLock lock(&queue_mu_);
  if (queued_.insert(log.get()).second) queue_.push_back(std::move(log));
}

void LogManager::FlusherLoop() {
  int64_t last_timed_check = SteadyNowMs();
  int64_t last_checkpoint = SteadyNowMs();
  bool checkpoint_pending = false;
  while (true) {
    std::vector<std::shared_ptr<PartitionLog>> batch;
    bool stopping;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) { return !queue_.empty() || stop_; };
      queue_mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(kTimedFlushCheckMs));
      batch.swap(queue_);
      queued_.clear();
      stopping = stop_;
    }
    const int64_t now = SteadyNowMs();
    if (now - last_timed_check >= kTimedFlushCheckMs) {
      last_timed_check = now;
      for (const auto& log : AllLogs()) {
        if (log->NeedsTimedSync(now)) batch.push_back(log);
      }
    }
    if (!batch.empty()) {
      sync_rounds_.fetch_add(1, std::memory_order_relaxed);
      std::unordered_set<PartitionLog*> seen;
      std::vector<std::shared_ptr<PartitionLog>> unique;
      for (auto& log : batch) {
        if (seen.insert(log.get()).second) unique.push_back(std::move(log));
      }
      RunRound(unique);
      for (const auto& log : unique) {
        if (log->TakeCheckpointDirty()) checkpoint_pending = true;
      }
    }
    if (checkpoint_pending && now - last_checkpoint >= options_.checkpoint_interval_ms) {
      absl::Status st = WriteCheckpoint();
      if (!st.ok()) spdlog::error("storage: writing checkpoint: {}", st.ToString());
      checkpoint_pending = false;
      last_checkpoint = now;
    }
    if (stopping) break;
  }
}

void LogManager::RunRound(const std::vector<std::shared_ptr<PartitionLog>>& logs) {
  if (logs.size() == 1 || sync_workers_.empty()) {
    for (const auto& log : logs) log->Sync(/*force=*/false);
    return;
  }
  {
    absl::MutexLock lock(&pool_mu_);
    round_ = logs;
    round_next_ = 0;
    round_pending_ = logs.size();
  }
  while (true) {
    std::shared_ptr<PartitionLog> log;
    {
      absl::MutexLock lock(&pool_mu_);
      if (round_next_ >= round_.size()) break;
      log = round_[round_next_++];
    }
    log->Sync(/*force=*/false);
    absl::MutexLock lock(&pool_mu_);
    round_pending_--;
  }
  absl::MutexLock lock(&pool_mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool_mu_) { return round_pending_ == 0; };
  pool_mu_.Await(absl::Condition(&done));
  round_.clear();
  round_next_ = 0;
}

void LogManager::SyncWorkerLoop() {
  while (true) {
    std::shared_ptr<PartitionLog> log;
    {
      absl::MutexLock lock(&pool_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool_mu_) {
        return pool_stop_ || round_next_ < round_.size();
      };
      pool_mu_.Await(absl::Condition(&ready));
      if (pool_stop_) return;
      log = round_[round_next_++];
    }
    log->Sync(/*force=*/false);
    absl::MutexLock lock(&pool_mu_);
    round_pending_--;
  }
}

absl::Status LogManager::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
  }
  {
    absl::MutexLock lock(&queue_mu_);
    stop_ = true;
  }
  if (flusher_.joinable()) flusher_.join();
  {
    absl::MutexLock lock(&pool_mu_);
    pool_stop_ = true;
  }
  for (auto& t : sync_workers_) t.join();
  sync_workers_.clear();
  absl::Status result;
  for (const auto& log : AllLogs()) {
    absl::Status st = log->CloseLog();
    if (!st.ok()) {
      spdlog::error("storage: closing {}: {}", log->topic_partition().ToString(), st.ToString());
      if (result.ok()) result = st;
    }
  }
  absl::Status st = WriteCheckpoint();
  if (result.ok()) result = st;
  if (result.ok()) {
    // Only a fully clean close earns the marker; otherwise the next Open scans.
    const std::string marker = data_dir_ + "/" + kCleanShutdownFileName;
    FileOps& ops = *options_.file_ops;
    int fd = ops.Open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      result = IoError("create", marker, errno);
    } else {
      CountFsync();
      if (ops.FSync(fd) != 0) result = IoError("fsync", marker, errno);
      ::close(fd);
      if (result.ok()) result = SyncDataDir();
    }
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
  }
  spdlog::info("storage: closed {}{}", data_dir_, result.ok() ? "" : " (not clean)");
  return result;
}

LogManagerStats LogManager::stats() const {
  LogManagerStats s;
  s.fdatasync_calls = fdatasync_calls_.load(std::memory_order_relaxed);
  s.fsync_calls = fsync_calls_.load(std::memory_order_relaxed);
  s.sync_rounds = sync_rounds_.load(std::memory_order_relaxed);
  s.appended_batches = appended_batches_.load(std::memory_order_relaxed);
  s.appended_bytes = appended_bytes_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace chronik::storage
