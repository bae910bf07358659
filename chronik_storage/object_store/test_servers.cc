#include "chronik_storage/object_store/test_servers.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "tests/util/loopback.h"

namespace chronik::storage::objects::testing {
namespace {

namespace fs = std::filesystem;

// Where a data dependency sits: tests run in their runfiles tree.
std::string Runfile(const std::string& path) {
  if (const char* src = std::getenv("TEST_SRCDIR")) {
    std::string full = absl::StrCat(src, "/chronik/", path);
    if (fs::exists(full)) return full;
  }
  return path;
}

}  // namespace

std::string MakeTempDir(const std::string& what) {
  static int counter = 0;
  const char* tmp = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(tmp != nullptr ? tmp : fs::temp_directory_path().string()) /
                 absl::StrCat(what, "-", ::getpid(), "-", counter++);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TestServer::~TestServer() {
  Kill();
  fs::remove_all(dir_);
}

void TestServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void TestServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
}

absl::Status TestServer::Restart() {
  Kill();
  return Launch();
}

absl::Status TestServer::Launch() {
  std::vector<std::string> args;
  for (const auto& a : argv_template_) {
    args.push_back(absl::StrReplaceAll(a, {{"{port}", std::to_string(port_)}, {"{dir}", dir_}}));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log = absl::StrCat(dir_, "/../", name_, "-", port_, ".log");
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so that Kill stops node's or Go's children too
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out != nullptr) ::dup2(::fileno(stdout), STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  pid_ = pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat(name_, " exited at start (see ", log, ")"));
    }
    if (chronik::testing::AcceptsOnLoopback(port_, ipv6_)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat(name_, " did not listen on port ", port_, " within 60 s"));
}

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(std::string name, std::vector<std::string> argv_template,
                                                                std::string dir, bool ipv6) {
  std::unique_ptr<TestServer> server(new TestServer());
  server->name_ = std::move(name);
  server->argv_template_ = std::move(argv_template);
  server->dir_ = std::move(dir);
  server->ipv6_ = ipv6;
  server->port_ = chronik::testing::FreeLoopbackPort(ipv6);
  if (auto st = server->Launch(); !st.ok()) return st;
  return server;
}

absl::StatusOr<std::unique_ptr<TestServer>> StartVersity(const VersityOptions& options) {
  std::string bin = Runfile("tests/objstore/bin/versitygw");
  if (!fs::exists(bin)) return absl::NotFoundError(absl::StrCat(bin, " is missing: tests/run_all.sh builds it"));
  std::vector<std::string> argv = {bin, "--port", options.ipv6 ? "[::1]:{port}" : "127.0.0.1:{port}", "--access", kS3AccessKey,
                                   "--secret", kS3SecretKey, "--keep-alive", "--quiet"};
  if (!options.cert_file.empty()) {
    argv.insert(argv.end(), {"--cert", options.cert_file, "--key", options.key_file});
  }
  if (!options.virtual_domain.empty()) argv.insert(argv.end(), {"--virtual-domain", options.virtual_domain});
  argv.insert(argv.end(), {"posix", "{dir}"});
  return TestServer::Start("versitygw", std::move(argv), MakeTempDir("versitygw"), options.ipv6);
}

absl::StatusOr<std::unique_ptr<TestServer>> StartAzurite(bool ipv6) {
  std::string main = Runfile("tests/objstore/js/node_modules/azurite/dist/src/blob/main.js");
  if (!fs::exists(main)) return absl::NotFoundError(absl::StrCat(main, " is missing: tests/run_all.sh installs it"));
  // Node resolves the script's real path, so Azurite finds its own dependencies beside it.
  return TestServer::Start("azurite",
                           {"node", main, "--blobHost", ipv6 ? "::1" : "127.0.0.1", "--blobPort", "{port}", "--location", "{dir}",
                            "--disableTelemetry", "--silent", "--skipApiVersionCheck"},
                           MakeTempDir("azurite"), ipv6);
}

absl::StatusOr<TestCertificate> MakeLocalhostCertificate(const std::string& dir) {
  TestCertificate out{dir + "/cert.pem", dir + "/key.pem"};
  std::string command = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost",
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 -keyout ", out.key_file, " -out ", out.cert_file,
      " >/dev/null 2>&1");
  if (std::system(command.c_str()) != 0) return absl::InternalError("openssl req failed");
  return out;
}

}  // namespace chronik::storage::objects::testing
