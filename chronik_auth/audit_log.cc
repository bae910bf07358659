#include "chronik_auth/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"

namespace chronik::auth {
namespace {

std::string Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const int millis =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return absl::StrFormat("%s.%03dZ", buf, millis);
}

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

AuditLog::AuditLog(Options options) : options_(std::move(options)), path_(options_.dir + "/audit.log") {}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", options.dir, ": ", ec.message()));
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  log->fd_ = ::open(log->path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log->fd_ < 0) return Errno("cannot open " + log->path_);
  struct stat st {};
  if (::fstat(log->fd_, &st) == 0) log->size_ = st.st_size;
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Record(nlohmann::json event) {
  nlohmann::json line = nlohmann::json::object();
  line["time"] = Now();
  line.update(event);
  // Invalid UTF-8 (a client's bytes) is replaced rather than thrown on.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(text));
    ++recorded_;
  }
  cv_.notify_all();
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = recorded_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return durable_ >= target || (stopping_ && queue_.empty()); });
}

void AuditLog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::string batch;
    uint64_t count = 0;
    while (!queue_.empty()) {
      batch += queue_.front();
      queue_.pop_front();
      ++count;
    }
    lock.unlock();
    // A failed write loses its events; Flush still returns (it waits for the writer, not for
    // success), and the error is in the broker's log.
    if (absl::Status s = Write(batch); !s.ok()) {
      spdlog::error("audit log {}: {} ({} events lost)", path_, std::string(s.message()), count);
    }
    lock.lock();
    durable_ += count;
    cv_.notify_all();
  }
}

absl::Status AuditLog::Write(const std::string& lines) {
  if (size_ > 0 && size_ + static_cast<int64_t>(lines.size()) > options_.max_file_bytes) {
    if (absl::Status s = Rotate(); !s.ok()) return s;
  }
  size_t done = 0;
  while (done < lines.size()) {
    const ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write");
    }
    done += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(lines.size());
  if (::fdatasync(fd_) != 0) return Errno("fdatasync");
  return absl::OkStatus();
}

absl::Status AuditLog::Rotate() {
  // audit.log.(n-1) -> audit.log.n, ..., audit.log -> audit.log.1; the oldest is dropped. The
  // current file stays open (and keeps taking events) until the new one exists.
  for (int i = options_.max_files - 1; i >= 1; --i) {
    const std::string from = i == 1 ? path_ : absl::StrCat(path_, ".", i - 1);
    const std::string to = absl::StrCat(path_, ".", i);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) return Errno("rename " + from);
  }
  if (options_.max_files <= 1 && ::unlink(path_.c_str()) != 0 && errno != ENOENT) return Errno("unlink " + path_);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  // Without a new file, writing goes on in the renamed one; it is not rotated again until it has
  // grown by another max_file_bytes.
  size_ = 0;
  if (fd < 0) return Errno("cannot open " + path_);
  ::close(fd_);
  fd_ = fd;
  return absl::OkStatus();
}

}  // namespace chronik::auth
