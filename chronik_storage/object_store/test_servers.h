#pragma once

// Real object-store servers for tests, started on 127.0.0.1 (or ::1) with a free port in a temp dir:
// versitygw (an S3 gateway that checks SigV4 signatures, built from the Go module proxy by
// tests/run_all.sh) and Azurite (Azure's emulator, which checks Shared Key, from npm).

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace chronik::storage::objects::testing {

class TestServer {
 public:
  ~TestServer();
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // SIGKILL, and wait for it to die.
  void Kill();
  // SIGTERM, and wait for it to exit (SIGKILL after 20 s).
  void Stop();
  // Starts it again (stopped first if need be) on the same port and directory.
  absl::Status Restart();

  // On ::1 instead of 127.0.0.1 when `ipv6`.
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(std::string name, std::vector<std::string> argv_template,
                                                           std::string dir, bool ipv6 = false);

 private:
  TestServer() = default;
  absl::Status Launch();

  std::string name_;
  std::vector<std::string> argv_template_;  // "{port}" and "{dir}" replaced
  std::string dir_;
  uint16_t port_ = 0;
  bool ipv6_ = false;
  pid_t pid_ = -1;
};

// A fresh directory under the test's temp dir.
std::string MakeTempDir(const std::string& what);

inline constexpr char kS3AccessKey[] = "chronik-test-access";
inline constexpr char kS3SecretKey[] = "chronik-test-secret-0123456789";

struct VersityOptions {
  std::string cert_file;       // TLS when set
  std::string key_file;
  std::string virtual_domain;  // virtual-hosted buckets under this domain when set
  bool ipv6 = false;           // on [::1]
};
absl::StatusOr<std::unique_ptr<TestServer>> StartVersity(const VersityOptions& options = {});

// Azurite's well-known development account.
inline constexpr char kAzureAccount[] = "devstoreaccount1";
inline constexpr char kAzureKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
absl::StatusOr<std::unique_ptr<TestServer>> StartAzurite(bool ipv6 = false);  // on [::1] when ipv6

// A self-signed certificate for "localhost", 127.0.0.1 and ::1, made with the openssl command.
struct TestCertificate {
  std::string cert_file;
  std::string key_file;
};
absl::StatusOr<TestCertificate> MakeLocalhostCertificate(const std::string& dir);

}  // namespace chronik::storage::objects::testing
