// The CPU a segment's upload to S3 over HTTPS costs the uploading process and the server: a 16 MiB
// object in two 8 MiB parts or in one put to versitygw (started on loopback with a certificate of
// its own), with the payload signed (its SHA-256 in the signature) or sent as UNSIGNED-PAYLOAD,
// with or without the bodies' CRC-32C; and a remote read's 8 MiB ranged GET. The process's CPU
// (all its threads, by getrusage) per upload or GET is the `cpu_ms` counter, versitygw's
// `server_cpu_ms`.

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "chronik_storage/object_store/s3_store.h"
#include "chronik_storage/object_store/test_servers.h"

namespace chronik::storage::objects {
namespace {

// CPU of process `pid` (user + system, all its threads), from /proc.
double ServerCpuMs(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 0; i < 13 && rest >> field; ++i) {
    if (i >= 11) ticks += std::stod(field);
  }
  return ticks * 1e3 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double ProcessCpuMs() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

// versitygw over HTTPS with a certificate of its own, in a temp dir removed at the end, and a store
// with a bucket on it.
class TlsVersity {
 public:
  ~TlsVersity() {
    store_.reset();
    server_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // The store, or nullptr once the benchmark is told why not.
  S3Store* Start(benchmark::State& state, const std::string& name, bool unsigned_payload, bool checksums = true) {
    dir_ = testing::MakeTempDir(name);
    auto cert = testing::MakeLocalhostCertificate(dir_);
    if (!cert.ok()) return Skip(state, cert.status());
    testing::VersityOptions options;
    options.cert_file = cert->cert_file;
    options.key_file = cert->key_file;
    auto server = testing::StartVersity(options);
    if (!server.ok()) return Skip(state, server.status());
    server_ = *std::move(server);
    S3Config config;
    config.endpoint = absl::StrCat("https://localhost:", server_->port());
    config.bucket = "bench";
    config.access_key = testing::kS3AccessKey;
    config.secret_key = testing::kS3SecretKey;
    config.http.ca_file = cert->cert_file;
    config.unsigned_payload_over_tls = unsigned_payload;
    config.checksum_bodies = checksums;
    auto store = S3Store::Open(config);
    if (!store.ok()) return Skip(state, store.status());
    store_ = *std::move(store);
    if (absl::Status st = store_->CreateBucket(); !st.ok()) return Skip(state, st);
    return store_.get();
  }

  pid_t server_pid() const { return server_->pid(); }

 private:
  S3Store* Skip(benchmark::State& state, const absl::Status& st) {
    state.SkipWithError(st.ToString().c_str());
    return nullptr;
  }
  std::string dir_;
  std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<S3Store> store_;
};

void BM_TlsUpload(benchmark::State& state) {
  TlsVersity tls;
  auto store = tls.Start(state, "s3_upload_bench", state.range(0) == 1, state.range(2) == 1);
  if (store == nullptr) return;
  const std::string part(8 << 20, 'x');
  const std::string whole(16 << 20, 'x');
  const double cpu_before = ProcessCpuMs();
  const double server_before = ServerCpuMs(tls.server_pid());
  for (auto _ : state) {
    bool ok;
    if (state.range(1) == 1) {
      ok = store->Put("segment.log", whole).ok() && store->Delete("segment.log").ok();
    } else {
      auto upload = store->StartMultipart("segment.log");
      ok = upload.ok() && (*upload)->UploadPart(1, part).ok() && (*upload)->UploadPart(2, part).ok() &&
           (*upload)->Complete().ok() && store->Delete("segment.log").ok();
    }
    if (!ok) return state.SkipWithError("the upload failed");
  }
  state.counters["cpu_ms"] = (ProcessCpuMs() - cpu_before) / static_cast<double>(state.iterations());
  state.counters["server_cpu_ms"] = (ServerCpuMs(tls.server_pid()) - server_before) / static_cast<double>(state.iterations());
  state.SetBytesProcessed(state.iterations() * 2 * static_cast<int64_t>(part.size()));
}
BENCHMARK(BM_TlsUpload)
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->ArgNames({"unsigned_payload", "single_put", "crc32c"})->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

// A cold remote read's request over HTTPS: 8 MiB ranged GETs of a 16 MiB object, into a reused
// buffer as the remote log reader does; `cpu_ms` is the process's CPU per GET.
void BM_TlsRangedGet(benchmark::State& state) {
  TlsVersity tls;
  auto store = tls.Start(state, "s3_get_bench", true);
  if (store == nullptr) return;
  constexpr int64_t kRange = 8 << 20;
  if (!store->Put("segment.log", std::string(2 * kRange, 'x')).ok()) return state.SkipWithError("no object");
  std::string buffer;
  int64_t i = 0;
  const double cpu_before = ProcessCpuMs();
  for (auto _ : state) {
    const int64_t first = (i++ % 2) * kRange;
    auto got = store->GetReusing("segment.log", ByteRange{first, first + kRange - 1}, std::move(buffer));
    if (!got.ok() || static_cast<int64_t>(got->size()) != kRange) return state.SkipWithError("the GET failed");
    buffer = *std::move(got);
  }
  state.counters["cpu_ms"] = (ProcessCpuMs() - cpu_before) / static_cast<double>(state.iterations());
  state.SetBytesProcessed(state.iterations() * kRange);
}
BENCHMARK(BM_TlsRangedGet)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

}  // namespace
}  // namespace chronik::storage::objects
