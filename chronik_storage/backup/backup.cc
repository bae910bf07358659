#include "chronik_storage/backup/backup.h"

#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chronik_storage/file_ops.h"
#include "chronik_storage/log_manager.h"
#include "chronik_storage/metadata_store.h"
#include "chronik_storage/object_store/sigv4.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace chronik::storage::backup {
namespace {

namespace fs = std::filesystem;

constexpr char kPrefix[] = "backups/";
constexpr char kBlobPrefix[] = "backups/blobs/";
constexpr char kManifestName[] = "manifest.json";
// Files are read, hashed and uploaded in pieces of this size.
constexpr int64_t kPiece = 8 << 20;

// What a backup leaves out: locks, the clean-shutdown marker (a restored broker recovers its logs
// as after a crash), the search indexes (a cache of the logs) and transient files.
bool Excluded(const std::string& relative) {
  const std::string name = fs::path(relative).filename().string();
  return relative == kLockFileName || relative == kCleanShutdownFileName || relative == kRestoredMarkerName ||
         relative == absl::StrCat(kMetadataDirName, "/LOCK") || absl::StartsWith(relative, "__search/") ||
         absl::StartsWith(relative, absl::StrCat(kBackupDirName, "/")) || IsTransientFileName(name);
}

struct FileEntry {
  std::string path;
  int64_t size = 0;
  std::string sha256;
};

// Reads the first `size` bytes of `path` piece by piece (a file being appended to is read as far
// as it was when listed).
absl::Status ForEachPiece(const std::string& path, int64_t size,
                          const std::function<absl::Status(std::string_view)>& piece) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string buffer;
  absl::Status st;
  for (int64_t at = 0; st.ok() && at < size; at += kPiece) {
    const int64_t length = std::min(kPiece, size - at);
    buffer.resize(length);
    if (PReadFully(fd, buffer.data(), length, at) != 0) {
      st = absl::DataLossError(absl::StrCat(path, " shrank while it was read"));
      break;
    }
    st = piece(buffer);
  }
  ::close(fd);
  return st;
}

// Uploads `bytes` as the blob of the file `relative`, unless `existing` has it; returns its entry.
absl::StatusOr<FileEntry> BackUpBytes(objects::ObjectStore& store, const std::string& relative, const std::string& bytes,
                                      std::set<std::string>& existing, int64_t* uploaded) {
  objects::Sha256 hash;
  hash.Update(bytes);
  FileEntry entry{relative, static_cast<int64_t>(bytes.size()), hash.Hex()};
  if (existing.count(entry.sha256) != 0) return entry;
  if (absl::Status st = store.Put(kBlobPrefix + entry.sha256, bytes); !st.ok()) return st;
  existing.insert(entry.sha256);
  *uploaded += entry.size;
  return entry;
}

// Uploads one file as the blob of its content, unless `existing` has it; returns its entry.
absl::StatusOr<FileEntry> BackUpFile(objects::ObjectStore& store, const std::string& root, const std::string& relative,
                                     int64_t size, std::set<std::string>& existing, int64_t* uploaded) {
  const std::string path = absl::StrCat(root, "/", relative);
  objects::Sha256 hash;
  std::string small;  // a file of one piece is kept, so that it is read once
  absl::Status st = ForEachPiece(path, size, [&](std::string_view piece) {
    hash.Update(piece);
    if (size <= kPiece) small = std::string(piece);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  FileEntry entry{relative, size, hash.Hex()};
  if (existing.count(entry.sha256) != 0) return entry;
  const std::string key = kBlobPrefix + entry.sha256;
  if (size <= kPiece) {
    st = store.Put(key, small);
  } else {
    // Read again: the bytes must still be the ones hashed (a file replaced meanwhile is not).
    auto upload = store.StartMultipart(key);
    if (!upload.ok()) return upload.status();
    objects::Sha256 again;
    int part = 1;
    st = ForEachPiece(path, size, [&](std::string_view piece) {
      again.Update(piece);
      return (*upload)->UploadPart(part++, piece);
    });
    if (st.ok() && again.Hex() != entry.sha256) st = absl::AbortedError(absl::StrCat(path, " changed while backed up"));
    if (st.ok()) {
      st = (*upload)->Complete();
    } else {
      (void)(*upload)->Abort();
    }
  }
  if (!st.ok()) return st;
  existing.insert(entry.sha256);
  *uploaded += size;
  return entry;
}

std::string ManifestKey(const std::string& id) { return absl::StrCat(kPrefix, id, "/", kManifestName); }

absl::StatusOr<std::vector<FileEntry>> ReadManifest(objects::ObjectStore& store, const std::string& id) {
  auto raw = store.Get(ManifestKey(id), std::nullopt);
  if (!raw.ok()) return raw.status();
  nlohmann::json doc = nlohmann::json::parse(*raw, nullptr, false);
  if (doc.is_discarded() || doc.value("version", 0) != 1 || !doc["files"].is_array()) {
    return absl::DataLossError(absl::StrCat("backup ", id, ": not a version 1 manifest"));
  }
  std::vector<FileEntry> files;
  try {
    for (const auto& f : doc["files"]) {
      files.push_back({f.at("path").get<std::string>(), f.at("size").get<int64_t>(), f.at("sha256").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("backup ", id, ": ", e.what()));
  }
  return files;
}

// Deletes the backups older than the newest `keep`, then the blobs no remaining backup uses.
absl::Status Prune(objects::ObjectStore& store, int keep) {
  auto ids = ListBackups(store);
  if (!ids.ok()) return ids.status();
  if (keep <= 0 || static_cast<int>(ids->size()) <= keep) return absl::OkStatus();
  for (size_t i = 0; i + keep < ids->size(); ++i) {
    if (auto st = store.Delete(ManifestKey((*ids)[i])); !st.ok()) return st;
    spdlog::info("backup: deleted backup {} (backup.retention.count {})", (*ids)[i], keep);
  }
  std::set<std::string> used;
  for (size_t i = ids->size() - keep; i < ids->size(); ++i) {
    auto files = ReadManifest(store, (*ids)[i]);
    if (!files.ok()) return files.status();
    for (const FileEntry& f : *files) used.insert(f.sha256);
  }
  auto blobs = store.List(kBlobPrefix);
  if (!blobs.ok()) return blobs.status();
  for (const auto& blob : *blobs) {
    if (used.count(blob.key.substr(sizeof(kBlobPrefix) - 1)) == 0) {
      if (auto st = store.Delete(blob.key); !st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListBackups(objects::ObjectStore& store) {
  auto listed = store.List(kPrefix);
  if (!listed.ok()) return listed.status();
  std::vector<std::string> ids;
  for (const auto& object : *listed) {
    const std::string& key = object.key;
    if (absl::StartsWith(key, kBlobPrefix) || !absl::EndsWith(key, absl::StrCat("/", kManifestName))) continue;
    const size_t start = sizeof(kPrefix) - 1;
    ids.push_back(key.substr(start, key.size() - start - sizeof(kManifestName)));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::vector<BackupInfo>> DescribeBackups(objects::ObjectStore& store) {
  auto ids = ListBackups(store);
  if (!ids.ok()) return ids.status();
  std::vector<BackupInfo> backups;
  for (const std::string& id : *ids) {
    auto files = ReadManifest(store, id);
    if (!files.ok()) return files.status();
    BackupInfo info{id, static_cast<int64_t>(files->size()), 0};
    for (const FileEntry& f : *files) info.bytes += f.size;
    backups.push_back(std::move(info));
  }
  return backups;
}

absl::StatusOr<BackupResult> RunBackup(const std::string& data_dir, objects::ObjectStore& store, int keep,
                                       const LiveBroker* live) {
  BackupResult result;
  result.id = absl::FormatTime("%Y%m%dT%H%M%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::set<std::string> existing;
  auto blobs = store.List(kBlobPrefix);
  if (!blobs.ok()) return blobs.status();
  for (const auto& blob : *blobs) existing.insert(blob.key.substr(sizeof(kBlobPrefix) - 1));

  // What to copy, each file from its root (the data directory, or where its links are).
  struct Source {
    std::string root;
    std::string relative;
    int64_t size;
  };
  std::vector<Source> files;
  nlohmann::json entries = nlohmann::json::array();
  auto add = [&](const FileEntry& entry) {
    entries.push_back({{"path", entry.path}, {"size", entry.size}, {"sha256", entry.sha256}});
    result.files++;
    result.bytes += entry.size;
  };
  const std::string staging = absl::StrCat(data_dir, "/", kBackupDirName);
  struct RemoveStaging {
    const std::string& dir;
    bool live;
    ~RemoveStaging() {
      std::error_code ignored;
      if (live) fs::remove_all(dir, ignored);
    }
  } remove_staging{staging, live != nullptr};
  std::error_code ec;
  if (live != nullptr) {
    // The metadata first, then the logs: every offset the metadata names is then in the logs.
    std::string name;
    const std::string state = live->metadata->EncodeState(&name);
    auto entry = BackUpBytes(store, absl::StrCat(kMetadataDirName, "/", name), state, existing, &result.uploaded_bytes);
    if (!entry.ok()) return entry.status();
    add(*entry);
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", staging, ": ", ec.message()));
    std::vector<std::pair<std::string, int64_t>> linked;
    if (absl::Status st = live->logs->LinkPartitionFiles(staging, &linked); !st.ok()) return st;
    for (auto& [relative, size] : linked) files.push_back({staging, std::move(relative), size});
    // The rest (node identity, the audit log) as it is now; the checkpoint as of the links.
    for (const auto& it : fs::directory_iterator(data_dir, ec)) {
      std::error_code size_ec;
      const std::string relative = it.path().filename().string();
      if (!it.is_regular_file(size_ec) || Excluded(relative) || relative == kCheckpointFileName) continue;
      const int64_t size = static_cast<int64_t>(it.file_size(size_ec));
      if (!size_ec) files.push_back({data_dir, relative, size});
    }
    const fs::path audit = fs::path(data_dir) / kAuditDirName;
    for (auto it = fs::recursive_directory_iterator(audit, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      std::error_code size_ec;
      const std::string relative = fs::relative(it->path(), data_dir).string();
      if (!it->is_regular_file(size_ec) || Excluded(relative)) continue;
      const int64_t size = static_cast<int64_t>(it->file_size(size_ec));
      if (!size_ec) files.push_back({data_dir, relative, size});
    }
    if (ec == std::errc::no_such_file_or_directory) ec.clear();
  } else {
    // Partition directories first, the metadata store and checkpoints last: a topic or offset the
    // metadata names is then at least as old as the data copied before it.
    for (auto it = fs::recursive_directory_iterator(data_dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      std::error_code size_ec;
      if (!it->is_regular_file(size_ec)) continue;
      const std::string relative = fs::relative(it->path(), data_dir).string();
      if (Excluded(relative)) continue;
      const int64_t size = static_cast<int64_t>(it->file_size(size_ec));
      if (!size_ec) files.push_back({data_dir, relative, size});
    }
    auto rank = [](const std::string& p) { return p.find('/') == std::string::npos || absl::StartsWith(p, kMetadataDirName) ? 1 : 0; };
    std::stable_sort(files.begin(), files.end(), [&](const Source& a, const Source& b) {
      return std::make_pair(rank(a.relative), a.relative) < std::make_pair(rank(b.relative), b.relative);
    });
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", data_dir, ": ", ec.message()));

  auto upload = [&]() -> absl::Status {
    for (const Source& f : files) {
      auto entry = BackUpFile(store, f.root, f.relative, f.size, existing, &result.uploaded_bytes);
      if (absl::IsNotFound(entry.status())) continue;  // deleted since it was listed (retention)
      if (!entry.ok()) return entry.status();
      add(*entry);
    }
    nlohmann::json manifest = {{"version", 1}, {"created", result.id}, {"files", entries}};
    return store.Put(ManifestKey(result.id), manifest.dump());
  };
  // A running broker's backup took its moment at the caller's priority (appends waited on each
  // partition's lock for its links); the reading and uploading after it trail produce and fetch,
  // on a thread of their own at SCHED_IDLE (a thread may always lower its priority, not always
  // raise it again).
  absl::Status uploaded;
  if (live != nullptr) {
    std::thread([&] {
      pthread_setname_np(pthread_self(), "backup-upload");
      sched_param param{};
      if (::sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
        spdlog::warn("backup: cannot lower the upload thread's priority: {}", std::strerror(errno));
      }
      uploaded = upload();
    }).join();
  } else {
    uploaded = upload();
  }
  if (!uploaded.ok()) return uploaded;
  spdlog::info("backup: {} done: {} files, {} bytes, {} uploaded", result.id, result.files, result.bytes,
               result.uploaded_bytes);
  if (auto st = Prune(store, keep); !st.ok()) {
    spdlog::warn("backup: deleting old backups failed, will retry after the next one: {}", st.ToString());
  }
  return result;
}

absl::StatusOr<RestoreResult> RestoreBackup(objects::ObjectStore& store, const std::string& id,
                                            const std::string& data_dir) {
  RestoreResult result;
  result.id = id;
  if (result.id.empty()) {
    auto ids = ListBackups(store);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return absl::NotFoundError("the object store holds no backup");
    result.id = ids->back();
  }
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(data_dir, " is not empty: restore needs an empty data directory"));
  }
  auto files = ReadManifest(store, result.id);
  if (!files.ok()) return files.status();
  FileOps& ops = *FileOps::Default();
  std::set<std::string> dirs = {data_dir};
  for (const FileEntry& f : *files) {
    if (f.path.empty() || f.path.front() == '/' || f.path.find("..") != std::string::npos) {
      return absl::DataLossError(absl::StrCat("backup ", result.id, ": bad path ", f.path));
    }
    const fs::path target = fs::path(data_dir) / f.path;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", target.parent_path().string(), ": ", ec.message()));
    for (fs::path d = target.parent_path(); d.string().size() > data_dir.size(); d = d.parent_path()) dirs.insert(d.string());
    const std::string temp = target.string() + ".restoring";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", temp));
    objects::Sha256 hash;
    absl::Status st;
    for (int64_t at = 0; st.ok() && at < f.size; at += kPiece) {
      auto piece = store.Get(kBlobPrefix + f.sha256, objects::ByteRange{at, std::min(f.size, at + kPiece) - 1});
      if (!piece.ok()) {
        st = absl::IsNotFound(piece.status()) ? absl::DataLossError(piece.status().message()) : piece.status();
        break;
      }
      hash.Update(*piece);
      if (PWriteFully(ops, fd, piece->data(), piece->size(), at) != 0) st = absl::InternalError(absl::StrCat("cannot write ", temp));
    }
    if (st.ok() && ::fsync(fd) != 0) st = absl::InternalError(absl::StrCat("cannot sync ", temp));
    ::close(fd);
    if (st.ok() && hash.Hex() != f.sha256) {
      st = absl::DataLossError(absl::StrCat("backup ", result.id, ": ", f.path, " does not match its SHA-256"));
    }
    if (!st.ok()) return st;
    if (::rename(temp.c_str(), target.c_str()) != 0) return absl::InternalError(absl::StrCat("cannot rename ", temp));
    result.files++;
    result.bytes += f.size;
  }
  {
    // Last: a directory with the marker holds the whole backup.
    const std::string marker = absl::StrCat(data_dir, "/", kRestoredMarkerName);
    int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", marker));
    const bool written = PWriteFully(ops, fd, result.id.data(), result.id.size(), 0) == 0 && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) return absl::InternalError(absl::StrCat("cannot write ", marker));
  }
  for (const std::string& d : dirs) {
    if (auto st = SyncDirectory(ops, d); !st.ok()) return st;
  }
  spdlog::info("restore: backup {} restored into {}: {} files, {} bytes", result.id, data_dir, result.files, result.bytes);
  return result;
}

}  // namespace chronik::storage::backup
