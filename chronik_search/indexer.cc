#include "chronik_search/indexer.h"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "chronik_protocol/records/record_batch.h"
#include "spdlog/spdlog.h"

namespace chronik::search {

namespace {

// A decompressed batch larger than this is not indexed (the log still serves it).
constexpr size_t kMaxDecompressedBytes = 64 << 20;

// Indexing trails the log and must not take the CPU from produce and fetch: the indexer's threads
// run only on a core nothing else wants (SCHED_IDLE, these threads only), and catch up when there
// is room.
void LowerPriority(const char* name) {
  pthread_setname_np(pthread_self(), name);  // for top -H and perf
  sched_param param{};
  if (::sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
    spdlog::warn("search: cannot lower the indexer's priority: {}", std::strerror(errno));
  }
}

}  // namespace

Indexer::Indexer(storage::LogManager& logs, IndexerOptions options) : logs_(logs), options_(std::move(options)) {}

Indexer::~Indexer() { Stop(); }

void Indexer::Start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) spdlog::error("search: cannot create {}: {}", options_.dir, ec.message());
  thread_ = std::thread([this] { Run(); });
  writer_ = std::thread([this] { Write(); });
}

void Indexer::Stop() {
  // Under each mutex in turn, so neither thread misses the wake-up between its check and its wait.
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(events_mu_);
  }
  wake_.notify_all();
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (writer_.joinable()) writer_.join();
}

void Indexer::OnEvent(const storage::LogEvent& e) {
  switch (e.kind) {
    case storage::LogEventKind::kHighWatermarkMoved:
    case storage::LogEventKind::kLogStartMoved: {
      std::lock_guard<std::mutex> lock(events_mu_);
      if (!watched_.contains(e.tp)) return;
      dirty_.insert(e.tp);
      break;
    }
    case storage::LogEventKind::kPartitionDeleted: {
      std::lock_guard<std::mutex> lock(events_mu_);
      deleted_.insert(e.tp);
      break;
    }
    default:
      return;
  }
  wake_.notify_one();
}

namespace {

void RemoveIndexFiles(const std::string& path) {
  for (const std::string& file : PartitionIndex::Files(path)) {
    std::error_code ec;
    std::filesystem::remove_all(file, ec);  // the terms' directory with its runs
  }
}

}  // namespace

std::string Indexer::PathOf(const storage::TopicPartition& tp) const {
  return options_.dir + "/" + tp.ToString() + ".db";
}

std::shared_ptr<PartitionIndex> Indexer::OpenIndex(const storage::TopicPartition& tp, int64_t* indexed) {
  const std::string path = PathOf(tp);
  absl::StatusOr<std::unique_ptr<PartitionIndex>> index = PartitionIndex::Open(path, tp.partition.value());
  if (!index.ok()) {
    // A cache: start it again from the log.
    spdlog::warn("search: {}: {}; rebuilding it from the log", tp.ToString(), index.status().ToString());
    RemoveIndexFiles(path);
    index = PartitionIndex::Open(path, tp.partition.value());
    if (!index.ok()) {
      spdlog::error("search: {}: {}", tp.ToString(), index.status().ToString());
      return nullptr;
    }
  }
  *indexed = (*index)->indexed_offset();
  return std::shared_ptr<PartitionIndex>(std::move(*index));
}

void Indexer::Drop(const storage::TopicPartition& tp) {
  std::shared_ptr<PartitionIndex> index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(tp);
    if (it != partitions_.end()) index = std::move(it->second.index);
    partitions_.erase(tp);
  }
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    watched_.erase(tp);
    dirty_.erase(tp);
  }
  // Searches holding the index keep it open until they finish; the files go now, once a write
  // under way has finished (the writer may hold the index still).
  if (index != nullptr) index->Retire();
  index.reset();
  RemoveIndexFiles(PathOf(tp));
}

void Indexer::Refresh() {
  std::set<storage::TopicPartition> wanted;
  std::map<std::string, bool> searchable;
  for (const storage::TopicPartition& tp : logs_.partitions()) {
    auto [it, fresh] = searchable.emplace(tp.topic, false);
    if (fresh) it->second = options_.searchable(tp.topic);
    if (it->second) wanted.insert(tp);
  }
  std::vector<storage::TopicPartition> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [tp, _] : partitions_) {
      if (!wanted.contains(tp)) gone.push_back(tp);
    }
  }
  for (const auto& tp : gone) Drop(tp);
  if (!swept_) {
    // Once, at start: index files of partitions deleted, or made unsearchable, while the broker
    // was down. Later deletions arrive as storage events.
    swept_ = true;
    std::set<std::string> files;
    for (const auto& tp : wanted) files.insert(tp.ToString() + ".db");
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
      const std::string name = entry.path().filename().string();
      // An index's own database names it; its terms' alone (the other deleted) name it too.
      const std::string db = name.ends_with(".db-terms") ? name.substr(0, name.size() - 6) : name;
      if (db.ends_with(".db") && !files.contains(db)) RemoveIndexFiles((entry.path().parent_path() / db).string());
    }
  }
  for (const auto& tp : wanted) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (partitions_.contains(tp)) continue;
    }
    int64_t indexed = 0;
    std::shared_ptr<PartitionIndex> index = OpenIndex(tp, &indexed);
    if (index == nullptr) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      partitions_[tp] = PartitionState{std::move(index), indexed};
    }
    std::lock_guard<std::mutex> lock(events_mu_);
    watched_.insert(tp);
    dirty_.insert(tp);
  }
}

void Indexer::FreeSpent() {
  std::vector<std::vector<Document>> spent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    spent.swap(spent_);
  }
}  // freed here, outside the lock the writer takes after every batch

bool Indexer::Visit(const storage::TopicPartition& tp) {
  FreeSpent();
  std::shared_ptr<PartitionIndex> index;
  int64_t from;
  int64_t deleted_below;
  int64_t epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) return true;
    index = it->second.index;
    from = std::max(it->second.indexed_offset, it->second.read_offset);
    deleted_below = it->second.deleted_below;
    epoch = it->second.epoch;
  }
  std::shared_ptr<storage::PartitionLog> log = logs_.Get(tp);
  if (log == nullptr) return true;
  const int64_t start = log->log_start_offset().value();
  if (start > deleted_below) {
    // Retention or DeleteRecords moved the log start: the documents below it go.
    if (absl::Status st = index->DeleteBelow(start); !st.ok()) {
      // An index dropped meanwhile (FailedPrecondition) is nothing to report.
      if (!absl::IsFailedPrecondition(st)) spdlog::error("search: {}: {}", tp.ToString(), st.ToString());
      return true;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = partitions_.find(tp); it != partitions_.end()) it->second.deleted_below = start;
  }
  from = std::max(from, start);
  const storage::Offset stable = log->last_stable_offset();
  if (from >= stable.value()) return true;
  absl::StatusOr<storage::ReadResult> read = log->Read(storage::Offset(from), options_.read_bytes, stable);
  if (!read.ok()) {
    if (!absl::IsOutOfRange(read.status())) spdlog::warn("search: reading {}: {}", tp.ToString(), read.status().ToString());
    return true;
  }
  absl::StatusOr<std::string> bytes = read->records.Flatten();
  if (!bytes.ok()) {
    spdlog::warn("search: reading {}: {}", tp.ToString(), bytes.status().ToString());
    return true;
  }
  const int64_t next = read->next_offset.value();
  const std::vector<storage::AbortedTxn> aborted = log->AbortedTransactions(storage::Offset(from), storage::Offset(next));
  std::vector<Document> docs;
  std::string_view rest = *bytes;
  while (!rest.empty()) {
    absl::StatusOr<protocol::RecordBatchView> batch = protocol::RecordBatchView::Parse(rest, protocol::CrcCheck::kSkip);
    if (!batch.ok()) {
      spdlog::warn("search: {} at {}: {}", tp.ToString(), from, batch.status().ToString());
      break;
    }
    rest.remove_prefix(batch->size_bytes());
    if (batch->is_control()) continue;
    if (batch->is_transactional()) {
      bool was_aborted = false;
      for (const storage::AbortedTxn& a : aborted) {
        was_aborted = was_aborted || (a.producer_id == batch->producer_id() && batch->base_offset() >= a.first_offset &&
                                      batch->base_offset() <= a.last_offset);
      }
      if (was_aborted) continue;
    }
    absl::StatusOr<protocol::RecordReader> reader = protocol::RecordReader::Create(*batch, kMaxDecompressedBytes);
    if (!reader.ok()) {
      spdlog::warn("search: {} batch at {}: {}", tp.ToString(), batch->base_offset(), reader.status().ToString());
      continue;
    }
    protocol::RecordView record;
    while (reader->Next(&record)) {
      if (record.offset < from) continue;
      RecordFields f;
      f.partition = tp.partition.value();
      f.offset = record.offset;
      f.timestamp = record.timestamp;
      f.key = record.key;
      f.value = record.value;
      for (const auto& h : record.headers) f.headers.emplace_back(h.key, h.value);
      docs.push_back(MakeDocument(f));
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    queue_cv_.wait(lock, [this] { return stop_ || queue_.size() < kQueueDepth; });
    auto it = partitions_.find(tp);
    if (stop_ || it == partitions_.end() || it->second.index != index || it->second.epoch != epoch) return true;
    it->second.read_offset = next;
    queue_.push_back(Batch{tp, std::move(index), epoch, std::move(docs), next});
  }
  queue_cv_.notify_all();
  return next >= stable.value();
}

void Indexer::Write() {
  LowerPriority("search-text");
  while (true) {
    Batch b;
    bool stale;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      b = std::move(queue_.front());
      queue_.pop_front();
      // Read after a failed batch, or for an index dropped since: read again, or not at all.
      auto it = partitions_.find(b.tp);
      stale = it == partitions_.end() || it->second.index != b.index || it->second.epoch != b.epoch;
      if (stale) spent_.push_back(std::move(b.docs));  // freed by the reader too, like every batch
    }
    queue_cv_.notify_all();
    if (stale) continue;
    absl::Status st = b.index->Add(b.docs, b.next);
    std::lock_guard<std::mutex> lock(mu_);
    spent_.push_back(std::move(b.docs));
    auto it = partitions_.find(b.tp);
    if (it == partitions_.end() || it->second.index != b.index) continue;
    if (st.ok()) {
      it->second.indexed_offset = b.next;
    } else {
      // Read again from what is indexed, at the partition's next event.
      spdlog::error("search: indexing {}: {}", b.tp.ToString(), st.ToString());
      ++it->second.epoch;
      it->second.read_offset = it->second.indexed_offset;
    }
  }
}

void Indexer::Run() {
  LowerPriority("search-read");
  auto last_refresh = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (true) {
    std::set<storage::TopicPartition> dirty, deleted;
    {
      std::unique_lock<std::mutex> lock(events_mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(options_.refresh_ms),
                     [this] { return stop_ || !dirty_.empty() || !deleted_.empty(); });
      if (stop_) return;
      dirty.swap(dirty_);
      deleted.swap(deleted_);
    }
    FreeSpent();  // also when nothing more is read: an idle indexer keeps no documents
    for (const auto& tp : deleted) Drop(tp);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refresh >= std::chrono::milliseconds(options_.refresh_ms)) {
      Refresh();
      last_refresh = now;
      std::lock_guard<std::mutex> lock(events_mu_);
      dirty.insert(dirty_.begin(), dirty_.end());
      dirty_.clear();
    }
    for (const auto& tp : dirty) {
      if (!Visit(tp)) {
        std::lock_guard<std::mutex> lock(events_mu_);
        dirty_.insert(tp);  // more to read: after the others had a turn
      }
    }
  }
}

std::map<int32_t, std::shared_ptr<PartitionIndex>> Indexer::IndexesOf(const std::string& topic) const {
  std::map<int32_t, std::shared_ptr<PartitionIndex>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = partitions_.lower_bound(storage::TopicPartition{topic, storage::PartitionId(0)});
       it != partitions_.end() && it->first.topic == topic; ++it) {
    out[it->first.partition.value()] = it->second.index;
  }
  return out;
}

std::vector<std::string> Indexer::Topics() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [tp, _] : partitions_) {
    if (out.empty() || out.back() != tp.topic) out.push_back(tp.topic);
  }
  return out;
}

int64_t Indexer::Lag() const {
  std::map<storage::TopicPartition, int64_t> indexed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [tp, state] : partitions_) indexed.emplace(tp, state.indexed_offset);
  }
  int64_t lag = 0;
  for (const storage::TopicPartition& tp : logs_.partitions()) {
    // A searchable partition the indexer has not visited yet lags by all it holds.
    auto it = indexed.find(tp);
    if (it == indexed.end() && !(options_.searchable && options_.searchable(tp.topic))) continue;
    const int64_t offset = it == indexed.end() ? 0 : it->second;
    if (std::shared_ptr<storage::PartitionLog> log = logs_.Get(tp)) {
      lag += std::max<int64_t>(0, log->high_watermark().value() - std::max(offset, log->log_start_offset().value()));
    }
  }
  return lag;
}

}  // namespace chronik::search
