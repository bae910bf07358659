#include "chronik_storage/metadata_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_storage/metadata_format.h"
#include "spdlog/spdlog.h"

namespace chronik::storage {
namespace {

namespace fs = std::filesystem;
using metadata_format::ApplyOps;
using metadata_format::DecodeRecordBody;
using metadata_format::DecodeSnapshot;
using metadata_format::EncodedRecordBytes;
using metadata_format::EncodeRecord;
using metadata_format::EncodeSnapshot;
using metadata_format::kRecordBodyMinBytes;
using metadata_format::kRecordHeaderBytes;
using metadata_format::kSegmentHeaderBytes;
using metadata_format::LoadU32;
using metadata_format::SegmentHeader;

// Debian's Abseil has its own string_view type.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Apply calls that one leader writes and syncs together at most (bytes of records).
constexpr int64_t kMaxGroupBytes = int64_t{8} << 20;

// ---- Files ----------------------------------------------------------------------------------

std::string SnapshotName(int64_t revision) {
  return absl::StrFormat("snapshot-%020d.bin", revision);
}
std::string SegmentName(int64_t first_revision) {
  return absl::StrFormat("log-%020d.bin", first_revision);
}

// Parses "<prefix><digits>.bin".
bool ParseName(std::string_view name, std::string_view prefix, int64_t* revision) {
  constexpr std::string_view kSuffix = ".bin";
  if (name.size() <= prefix.size() + kSuffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(kSuffix)) {
    return false;
  }
  std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - kSuffix.size());
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || v > (INT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *revision = v;
  return true;
}

absl::Status IoError(int err, std::string_view what, const std::string& path) {
  absl::Status s = absl::ErrnoToStatus(err, absl::StrCat("metadata store: ", AV(what), " ", path));
  // Abseil calls EIO "unknown"; a failing device is an internal error of the broker's host.
  if (err == EIO) return absl::InternalError(s.message());
  return s;
}

// Returns 0 or the errno of the failing pwrite.
int WriteAll(int fd, std::string_view data, int64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return 0;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(errno, "open", path);
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return IoError(err, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

struct DirListing {
  std::vector<int64_t> snapshots;  // ascending
  std::vector<int64_t> segments;   // ascending
  std::vector<std::string> temporaries;
};

absl::StatusOr<DirListing> ListDir(const std::string& dir) {
  DirListing out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    int64_t rev;
    if (ParseName(name, "snapshot-", &rev)) {
      out.snapshots.push_back(rev);
    } else if (ParseName(name, "log-", &rev)) {
      out.segments.push_back(rev);
    } else if (name.ends_with(".tmp")) {
      out.temporaries.push_back(name);
    }
  }
  if (ec) return IoError(ec.value(), "list", dir);
  std::sort(out.snapshots.begin(), out.snapshots.end());
  std::sort(out.segments.begin(), out.segments.end());
  return out;
}

}  // namespace

// ---- Writer queue ---------------------------------------------------------------------------

struct MetadataStore::Waiter {
  enum class Type { kApply, kSnapshot, kSnapshotIfDue };
  Type type = Type::kApply;
  std::vector<MetadataOp>* ops = nullptr;
  int64_t encoded_bytes = 0;
  bool done = false;
  absl::Status status;
  int64_t revision = 0;
  absl::CondVar cv;
};

MetadataStore::MetadataStore(std::string dir, Options options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

MetadataStore::~MetadataStore() {
  if (log_fd_ >= 0) ::close(log_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string MetadataStore::PathOf(std::string_view name) const {
  return (fs::path(dir_) / fs::path(name)).string();
}

absl::Status MetadataStore::Inject(MetadataIoOp op, std::string_view what,
                                   const std::string& path) const {
  if (!options_.inject_io_error_for_testing) return absl::OkStatus();
  int err = options_.inject_io_error_for_testing(op);
  if (err == 0) return absl::OkStatus();
  return IoError(err, what, path);
}

absl::Status MetadataStore::SyncFile(int fd, bool data_only, MetadataIoOp op,
                                     const std::string& path) {
  if (!options_.fsync) return absl::OkStatus();
  if (absl::Status s = Inject(op, "sync", path); !s.ok()) return s;
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  if ((data_only ? ::fdatasync(fd) : ::fsync(fd)) != 0) return IoError(errno, "sync", path);
  return absl::OkStatus();
}

absl::Status MetadataStore::SyncDir() {
  if (!options_.fsync) return absl::OkStatus();
  if (absl::Status s = Inject(MetadataIoOp::kDirSync, "sync directory", dir_); !s.ok()) return s;
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(errno, "open directory", dir_);
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError(err, "sync directory", dir_);
  return absl::OkStatus();
}

// ---- Open and recovery ----------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& dir,
                                                                   Options options) {
  if (options.snapshot_every_bytes <= 0) {
    return absl::InvalidArgumentError("metadata store: snapshot_every_bytes must be positive");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError(ec.value(), "create directory", dir);
  std::unique_ptr<MetadataStore> store(new MetadataStore(dir, std::move(options)));

  const std::string lock_path = store->PathOf("LOCK");
  store->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (store->lock_fd_ < 0) return IoError(errno, "open", lock_path);
  if (::flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("metadata store: ", dir, " is already open in another store"));
    }
    return IoError(errno, "lock", lock_path);
  }
  if (absl::Status s = store->Load(); !s.ok()) return s;
  return store;
}

absl::Status MetadataStore::Load() {
  absl::StatusOr<DirListing> listing = ListDir(dir_);
  if (!listing.ok()) return listing.status();
  for (const std::string& name : listing->temporaries) ::unlink(PathOf(name).c_str());

  // The newest snapshot that verifies.
  State state;
  int64_t snapshot_rev = 0;
  std::vector<int64_t> damaged;
  for (auto it = listing->snapshots.rbegin(); it != listing->snapshots.rend(); ++it) {
    const std::string path = PathOf(SnapshotName(*it));
    absl::StatusOr<std::string> data = ReadWholeFile(path);
    if (!data.ok()) return data.status();
    int64_t rev = -1;
    if (DecodeSnapshot(*data, &rev, &state) && rev == *it) {
      snapshot_rev = rev;
      break;
    }
    state.clear();
    damaged.push_back(*it);
    spdlog::error("metadata store {}: snapshot {} is damaged; falling back to an older state", dir_,
                  SnapshotName(*it));
  }

  // Replay the segments from the one holding revision snapshot_rev + 1 on.
  const std::vector<int64_t>& segments = listing->segments;
  size_t first = segments.size();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i] <= snapshot_rev + 1) first = i;
  }
  if (first == segments.size() && !segments.empty()) {
    return absl::DataLossError(absl::StrCat(
        "metadata store ", dir_, ": no valid snapshot reaches revision ", segments.front() - 1,
        ", where the oldest log segment starts (newest valid snapshot: ",
        snapshot_rev == 0 ? std::string("none") : absl::StrCat(snapshot_rev), ")"));
  }
  int64_t expected = snapshot_rev + 1;
  int64_t replayed = 0;
  int64_t replayed_bytes = 0;
  std::vector<MetadataOp> ops;
  for (size_t i = first; i < segments.size(); ++i) {
    const bool last = i + 1 == segments.size();
    const std::string path = PathOf(SegmentName(segments[i]));
    if (segments[i] > expected) {
      return absl::DataLossError(absl::StrCat("metadata store ", dir_, ": revisions ", expected,
                                              " to ", segments[i] - 1, " are missing before ",
                                              SegmentName(segments[i])));
    }
    absl::StatusOr<std::string> data = ReadWholeFile(path);
    if (!data.ok()) return data.status();
    const std::string_view file = *data;
    int64_t pos = 0;
    std::string problem;
    if (file.size() < static_cast<size_t>(kSegmentHeaderBytes) || file.substr(0, 16) != SegmentHeader()) {
      problem = "bad segment header";
    } else {
      pos = kSegmentHeaderBytes;
      int64_t previous = segments[i] - 1;
      while (static_cast<size_t>(pos) < file.size()) {
        const int64_t left = static_cast<int64_t>(file.size()) - pos;
        if (left < kRecordHeaderBytes) {
          problem = "torn record header";
          break;
        }
        const int64_t len = LoadU32(file, pos);
        if (len < kRecordBodyMinBytes || len > left - kRecordHeaderBytes) {
          problem = "torn or corrupt record length";
          break;
        }
        const std::string_view body = file.substr(pos + kRecordHeaderBytes, len);
        if (protocol::Crc32c(body) != LoadU32(file, pos + 4)) {
          problem = "record checksum mismatch";
          break;
        }
        int64_t rev;
        if (!DecodeRecordBody(body, &rev, &ops)) {
          problem = "undecodable record";
          break;
        }
        // Revisions in a segment start at or after its name and go up by one.
        if (previous >= segments[i] ? rev != previous + 1 : rev < segments[i]) {
          problem = absl::StrCat("out-of-sequence revision ", rev);
          break;
        }
        previous = rev;
        if (rev > expected) {
          return absl::DataLossError(absl::StrCat("metadata store ", dir_, ": revisions ", expected,
                                                  " to ", rev - 1, " are missing in ",
                                                  SegmentName(segments[i])));
        }
        if (rev == expected) {
          ApplyOps(state, ops);
          ++expected;
          ++replayed;
          replayed_bytes += kRecordHeaderBytes + len;
        }
        pos += kRecordHeaderBytes + len;
      }
    }
    if (!last) {
      if (!problem.empty()) {
        spdlog::warn("metadata store {}: {} at offset {} of {}; continuing with the next segment",
                     dir_, problem, pos, SegmentName(segments[i]));
      }
      continue;
    }
    // The active segment: cut off whatever follows the last good record, then append there.
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return IoError(errno, "open", path);
    log_fd_ = fd;
    log_path_ = path;
    if (!problem.empty()) {
      const int64_t cut = static_cast<int64_t>(file.size()) - pos;
      spdlog::warn("metadata store {}: {} at offset {} of {}; truncating {} bytes", dir_, problem,
                   pos, SegmentName(segments[i]), cut);
      if (::ftruncate(fd, pos) != 0) return IoError(errno, "truncate", path);
      if (pos == 0) {
        if (int err = WriteAll(fd, SegmentHeader(), 0); err != 0) return IoError(err, "write", path);
        pos = kSegmentHeaderBytes;
      }
      bytes_truncated_.store(cut);
    }
    // Records replayed from the page cache after a kill may never have reached the disk; the
    // broker is about to act on them, so they are made durable before it does.
    if (absl::Status s = SyncFile(fd, true, MetadataIoOp::kLogSync, path); !s.ok()) return s;
    log_end_ = pos;
  }

  const int64_t revision = expected - 1;
  if (!damaged.empty() && damaged.front() > revision) {
    return absl::DataLossError(absl::StrCat(
        "metadata store ", dir_, ": ", SnapshotName(damaged.front()),
        " is damaged and the log only reaches revision ", revision));
  }
  if (log_fd_ < 0) {
    if (absl::Status s = CreateSegment(expected, &log_fd_); !s.ok()) return s;
    log_path_ = PathOf(SegmentName(expected));
    log_end_ = kSegmentHeaderBytes;
  }
  for (int64_t rev : damaged) {
    const std::string path = PathOf(SnapshotName(rev));
    const std::string aside = path + ".corrupt";
    if (::rename(path.c_str(), aside.c_str()) != 0) return IoError(errno, "rename", path);
  }

  {
    absl::WriterMutexLock l(&state_mu_);
    state_ = std::move(state);
    revision_ = revision;
  }
  logged_revision_ = revision;
  snapshot_revision_ = snapshot_rev;
  records_replayed_.store(replayed);
  log_bytes_.store(replayed_bytes);
  // A crash between writing a snapshot and removing what it made obsolete leaves extra files;
  // finish that cleanup now, keeping the same fallback a running store keeps.
  if (snapshot_rev > 0) {
    int64_t previous = 0;
    for (int64_t rev : listing->snapshots) {
      if (rev < snapshot_rev && std::find(damaged.begin(), damaged.end(), rev) == damaged.end()) previous = rev;
    }
    RemoveObsoleteFiles(snapshot_rev, previous);
  }
  spdlog::info(
      "metadata store {}: opened at revision {} (snapshot at revision {}, {} log records replayed, "
      "{} bytes of log tail truncated, {} damaged snapshots set aside)",
      dir_, revision, snapshot_rev, replayed, bytes_truncated_.load(), damaged.size());
  return absl::OkStatus();
}

absl::Status MetadataStore::CreateSegment(int64_t first_revision, int* fd_out) {
  const std::string path = PathOf(SegmentName(first_revision));
  const std::string tmp = path + ".tmp";
  if (absl::Status s = Inject(MetadataIoOp::kNewSegment, "create", tmp); !s.ok()) return s;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(errno, "create", tmp);
  absl::Status s;
  if (int err = WriteAll(fd, SegmentHeader(), 0); err != 0) s = IoError(err, "write", tmp);
  if (s.ok()) s = SyncFile(fd, false, MetadataIoOp::kLogSync, tmp);
  if (s.ok()) s = Inject(MetadataIoOp::kRename, "rename", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = IoError(errno, "rename", tmp);
  if (!s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (s = SyncDir(); !s.ok()) {
    // The new, empty segment may or may not be in the directory now. Left there, a later open
    // would start replay from it and miss the records the old segment goes on receiving, so it
    // goes; appends continue in the old segment.
    ::close(fd);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat(s.message(), "; and removing ", path, " failed: ", std::strerror(errno)));
    }
    return s;
  }
  *fd_out = fd;
  return absl::OkStatus();
}

// ---- Writes ---------------------------------------------------------------------------------

void MetadataStore::Submit(Waiter& w) {
  absl::MutexLock l(&queue_mu_);
  queue_.push_back(&w);
  while (!w.done && queue_.front() != &w) w.cv.Wait(&queue_mu_);
  if (!w.done) {
    // This waiter leads: it writes for itself and every Apply queued behind it.
    size_t taken = 1;
    if (w.type != Waiter::Type::kApply) {
      if (!write_failure_.ok()) {
        w.status = write_failure_;
      } else {
        queue_mu_.Unlock();
        absl::Status s = WriteSnapshot(w.type == Waiter::Type::kSnapshotIfDue);
        queue_mu_.Lock();
        w.status = std::move(s);
      }
    } else {
      std::vector<Waiter*> batch;
      int64_t bytes = 0;
      for (Waiter* x : queue_) {
        if (x->type != Waiter::Type::kApply) break;
        if (!batch.empty() && bytes + x->encoded_bytes > kMaxGroupBytes) break;
        batch.push_back(x);
        bytes += x->encoded_bytes;
      }
      taken = batch.size();
      if (!write_failure_.ok()) {
        for (Waiter* x : batch) x->status = write_failure_;
      } else {
        queue_mu_.Unlock();
        absl::Status poisoned = CommitBatch(batch);
        queue_mu_.Lock();
        if (!poisoned.ok()) write_failure_ = std::move(poisoned);
      }
    }
    for (size_t i = 0; i < taken; ++i) {
      Waiter* x = queue_.front();
      queue_.pop_front();
      x->done = true;
      if (x != &w) x->cv.Signal();
    }
  }
  if (!queue_.empty()) queue_.front()->cv.Signal();
}

absl::Status MetadataStore::CommitBatch(const std::vector<Waiter*>& batch) {
  std::string buf;
  int64_t bytes = 0;
  for (Waiter* x : batch) bytes += x->encoded_bytes;
  buf.reserve(static_cast<size_t>(bytes));
  int64_t rev = logged_revision_;
  for (Waiter* x : batch) {
    x->revision = ++rev;
    EncodeRecord(rev, *x->ops, &buf);
  }
  auto fail_all = [&](const absl::Status& s) {
    for (Waiter* x : batch) {
      x->status = s;
      x->revision = 0;
    }
  };
  auto poison = [&](const absl::Status& cause, std::string_view detail) {
    return absl::FailedPreconditionError(
        absl::StrCat("metadata store ", dir_, " refuses writes until it is reopened: ",
                     cause.message(), "; ", AV(detail)));
  };

  // Append. A failed append is cut back off so the log ends with the last committed record.
  int err = 0;
  if (options_.inject_io_error_for_testing &&
      (err = options_.inject_io_error_for_testing(MetadataIoOp::kLogWrite)) != 0) {
    WriteAll(log_fd_, std::string_view(buf).substr(0, buf.size() / 2), log_end_);
  } else {
    err = WriteAll(log_fd_, buf, log_end_);
  }
  if (err != 0) {
    absl::Status s = IoError(err, "append to", log_path_);
    fail_all(s);
    absl::Status undo = Inject(MetadataIoOp::kLogTruncate, "truncate", log_path_);
    if (undo.ok() && ::ftruncate(log_fd_, log_end_) != 0) undo = IoError(errno, "truncate", log_path_);
    if (undo.ok()) undo = SyncFile(log_fd_, true, MetadataIoOp::kLogSync, log_path_);
    if (!undo.ok()) {
      spdlog::error("metadata store {}: {}; undoing the partial append failed: {}", dir_,
                    s.ToString(), undo.ToString());
      return poison(s, absl::StrCat("undoing the partial append failed: ", undo.message()));
    }
    spdlog::warn("metadata store {}: {}", dir_, s.ToString());
    return absl::OkStatus();
  }
  if (absl::Status s = SyncFile(log_fd_, true, MetadataIoOp::kLogSync, log_path_); !s.ok()) {
    // After a failed fsync the kernel may have dropped the dirty pages: nothing about the file can
    // be trusted any more. Cut the batch off as well as possible and stop writing.
    fail_all(s);
    if (::ftruncate(log_fd_, log_end_) == 0) ::fdatasync(log_fd_);
    spdlog::error("metadata store {}: {}; refusing further writes", dir_, s.ToString());
    return poison(s, "the log's durability is unknown after a failed sync");
  }
  log_end_ += static_cast<int64_t>(buf.size());
  logged_revision_ = rev;
  log_bytes_.fetch_add(static_cast<int64_t>(buf.size()), std::memory_order_relaxed);
  {
    absl::WriterMutexLock l(&state_mu_);
    for (Waiter* x : batch) ApplyOps(state_, *x->ops);
    revision_ = rev;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MetadataStore::Apply(std::vector<MetadataOp> ops) {
  if (ops.empty()) return absl::InvalidArgumentError("metadata store: empty batch");
  const int64_t bytes = EncodedRecordBytes(ops);
  if (bytes > kMaxBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("metadata store: batch of ", bytes,
                                                   " bytes exceeds the limit of ", kMaxBatchBytes));
  }
  Waiter w;
  w.type = Waiter::Type::kApply;
  w.ops = &ops;
  w.encoded_bytes = bytes;
  Submit(w);
  if (!w.status.ok()) return w.status;
  applies_.fetch_add(1, std::memory_order_relaxed);
  if (log_bytes_.load(std::memory_order_relaxed) >= options_.snapshot_every_bytes) {
    Waiter snap;
    snap.type = Waiter::Type::kSnapshotIfDue;
    Submit(snap);
    if (!snap.status.ok()) {
      spdlog::warn("metadata store {}: periodic snapshot failed: {}", dir_, snap.status.ToString());
    }
  }
  return w.revision;
}

absl::Status MetadataStore::Put(std::string_view ns, std::string_view key, std::string_view value) {
  std::vector<MetadataOp> ops;
  ops.push_back(MetadataOp::Put(std::string(ns), std::string(key), std::string(value)));
  return Apply(std::move(ops)).status();
}

absl::Status MetadataStore::Delete(std::string_view ns, std::string_view key) {
  std::vector<MetadataOp> ops;
  ops.push_back(MetadataOp::Delete(std::string(ns), std::string(key)));
  return Apply(std::move(ops)).status();
}

std::string MetadataStore::EncodeState(std::string* file_name) const {
  absl::ReaderMutexLock l(&state_mu_);
  *file_name = SnapshotName(revision_);
  return EncodeSnapshot(state_, revision_);
}

absl::Status MetadataStore::Snapshot() {
  Waiter w;
  w.type = Waiter::Type::kSnapshot;
  Submit(w);
  return w.status;
}

absl::Status MetadataStore::WriteSnapshot(bool only_if_due) {
  if (only_if_due && log_bytes_.load() < options_.snapshot_every_bytes) return absl::OkStatus();
  const int64_t rev = logged_revision_;
  if (rev == snapshot_revision_) return absl::OkStatus();
  std::string data;
  {
    absl::ReaderMutexLock l(&state_mu_);
    data = EncodeSnapshot(state_, revision_);
  }
  const std::string path = PathOf(SnapshotName(rev));
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(errno, "create", tmp);
  absl::Status s = Inject(MetadataIoOp::kSnapshotWrite, "write", tmp);
  if (s.ok()) {
    if (int err = WriteAll(fd, data, 0); err != 0) s = IoError(err, "write", tmp);
  }
  if (s.ok()) s = SyncFile(fd, false, MetadataIoOp::kSnapshotSync, tmp);
  ::close(fd);
  if (s.ok()) s = Inject(MetadataIoOp::kRename, "rename", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = IoError(errno, "rename", tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Until the directory is synced the snapshot may vanish in a crash; nothing is deleted before.
  if (s = SyncDir(); !s.ok()) return s;
  snapshots_written_.fetch_add(1, std::memory_order_relaxed);
  const int64_t previous = snapshot_revision_;
  snapshot_revision_ = rev;
  log_bytes_.store(0);

  // Later records go to a new segment, so that whole segments become obsolete.
  const std::string next_segment = PathOf(SegmentName(rev + 1));
  if (next_segment != log_path_) {
    int fd2 = -1;
    if (s = CreateSegment(rev + 1, &fd2); !s.ok()) {
      spdlog::warn("metadata store {}: snapshot at revision {} written, but starting a new log "
                   "segment failed ({}); appending to {}",
                   dir_, rev, s.ToString(), log_path_);
      return s;
    }
    ::close(log_fd_);
    log_fd_ = fd2;
    log_path_ = next_segment;
    log_end_ = kSegmentHeaderBytes;
  }
  RemoveObsoleteFiles(rev, previous);
  spdlog::info("metadata store {}: snapshot at revision {} ({} bytes)", dir_, rev, data.size());
  return absl::OkStatus();
}

// Keeps the new snapshot, the previous one (the fallback should the new one ever fail to verify)
// and every log segment holding revisions after the previous one.
void MetadataStore::RemoveObsoleteFiles(int64_t keep_snapshot, int64_t previous_snapshot) {
  absl::StatusOr<DirListing> listing = ListDir(dir_);
  if (!listing.ok()) {
    spdlog::warn("metadata store {}: cleanup skipped: {}", dir_, listing.status().ToString());
    return;
  }
  auto remove = [&](const std::string& name) {
    if (::unlink(PathOf(name).c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("metadata store {}: could not delete {}: {}", dir_, name, std::strerror(errno));
    }
  };
  for (int64_t rev : listing->snapshots) {
    if (rev != keep_snapshot && rev != previous_snapshot) remove(SnapshotName(rev));
  }
  if (previous_snapshot <= 0) return;  // No fallback snapshot: the log from revision 1 is it.
  const std::vector<int64_t>& segs = listing->segments;
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    // Segment i ends before segment i + 1 starts.
    if (segs[i + 1] <= previous_snapshot + 1 && PathOf(SegmentName(segs[i])) != log_path_) {
      remove(SegmentName(segs[i]));
    }
  }
}

// ---- Reads ----------------------------------------------------------------------------------

std::optional<std::string> MetadataStore::Get(std::string_view ns, std::string_view key) const {
  absl::ReaderMutexLock l(&state_mu_);
  auto it = state_.find(ns);
  if (it == state_.end()) return std::nullopt;
  auto kt = it->second.find(key);
  if (kt == it->second.end()) return std::nullopt;
  return kt->second;
}

std::vector<std::pair<std::string, std::string>> MetadataStore::Scan(
    std::string_view ns, std::string_view key_prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  absl::ReaderMutexLock l(&state_mu_);
  auto it = state_.find(ns);
  if (it == state_.end()) return out;
  for (auto kt = it->second.lower_bound(key_prefix);
       kt != it->second.end() && std::string_view(kt->first).starts_with(key_prefix); ++kt) {
    out.emplace_back(kt->first, kt->second);
  }
  return out;
}

std::vector<std::string> MetadataStore::Namespaces() const {
  std::vector<std::string> out;
  absl::ReaderMutexLock l(&state_mu_);
  for (const auto& [ns, keys] : state_) out.push_back(ns);
  return out;
}

int64_t MetadataStore::revision() const {
  absl::ReaderMutexLock l(&state_mu_);
  return revision_;
}

MetadataStore::Stats MetadataStore::stats() const {
  Stats s;
  s.log_bytes = log_bytes_.load();
  s.records_replayed = records_replayed_.load();
  s.bytes_truncated_on_open = bytes_truncated_.load();
  s.snapshots_written = snapshots_written_.load();
  s.fsyncs = fsyncs_.load();
  s.applies = applies_.load();
  return s;
}

}  // namespace chronik::storage
