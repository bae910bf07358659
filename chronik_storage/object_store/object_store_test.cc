// Every store passes the same checks: the local directory, S3 against versitygw (which checks
// SigV4 signatures) and Azure Blob against Azurite (which checks Shared Key). Then what only the
// remote stores have: wrong credentials, a server that goes away mid-upload, TLS, addressing.

#include <functional>
#include <map>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "chronik_storage/object_store/azure_store.h"
#include "chronik_storage/object_store/local_store.h"
#include "chronik_storage/object_store/s3_store.h"
#include "chronik_storage/object_store/sigv4.h"
#include "chronik_storage/object_store/store_factory.h"
#include "chronik_storage/object_store/test_servers.h"
#include "gtest/gtest.h"

namespace chronik::storage::objects {
namespace {

using testing::TestServer;

// One server of each kind for the whole run; every test has a bucket of its own.
TestServer& Server(const std::string& kind) {
  static std::map<std::string, std::unique_ptr<TestServer>> servers;
  auto& server = servers[kind];
  if (!server) {
    auto started = kind == "s3" ? testing::StartVersity() : testing::StartAzurite();
    if (!started.ok()) {
      ADD_FAILURE() << started.status();
      std::abort();
    }
    server = *std::move(started);
  }
  return *server;
}

std::string FreshName() {
  static int counter = 0;
  return absl::StrFormat("bucket-%d-%d", ::getpid(), counter++);
}

S3Config VersityConfig(const TestServer& server, const std::string& bucket) {
  S3Config config;
  config.endpoint = absl::StrCat("http://127.0.0.1:", server.port());
  config.bucket = bucket;
  config.access_key = testing::kS3AccessKey;
  config.secret_key = testing::kS3SecretKey;
  config.retry.initial_backoff = absl::Milliseconds(20);
  config.http.timeout = absl::Seconds(10);
  return config;
}

AzureConfig AzuriteConfig(const TestServer& server, const std::string& container) {
  AzureConfig config;
  config.account = testing::kAzureAccount;
  config.key = testing::kAzureKey;
  config.container = container;
  config.endpoint = absl::StrCat("http://127.0.0.1:", server.port(), "/", testing::kAzureAccount);
  config.retry.initial_backoff = absl::Milliseconds(20);
  config.http.timeout = absl::Seconds(10);
  return config;
}

std::unique_ptr<ObjectStore> NewS3Store(const std::string& bucket) {
  auto store = S3Store::Open(VersityConfig(Server("s3"), bucket));
  EXPECT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->CreateBucket().ok());
  return *std::move(store);
}

std::unique_ptr<ObjectStore> NewAzureStore(const std::string& container) {
  auto store = AzureStore::Open(AzuriteConfig(Server("azure"), container));
  EXPECT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->CreateContainer().ok());
  return *std::move(store);
}

std::unique_ptr<ObjectStore> NewLocalStore(const std::string& name) {
  auto store = LocalStore::Open(testing::MakeTempDir(name));
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<ObjectStore>(const std::string&)> make;
};

class ObjectStoreConformance : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(FreshName());
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<ObjectStore> store_;
};

std::string AllBytes(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return s;
}

TEST_P(ObjectStoreConformance, PutGetReplaceDelete) {
  const std::string odd_key = "dir/a b+c=d&e~\xc3\xbc%2F.bin";  // spaces, reserved characters, UTF-8
  const std::string data = AllBytes(70000);
  ASSERT_TRUE(store_->Put(odd_key, data).ok());
  auto got = store_->Get(odd_key, std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty", std::nullopt), "");
  ASSERT_TRUE(store_->Put(odd_key, "replaced").ok());
  EXPECT_EQ(*store_->Get(odd_key, std::nullopt), "replaced");
  auto missing = store_->Get("dir/nothing", std::nullopt);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  ASSERT_TRUE(store_->Delete(odd_key).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get(odd_key, std::nullopt).status()));
  EXPECT_TRUE(store_->Delete(odd_key).ok());  // gone already: fine
}

TEST_P(ObjectStoreConformance, RangedGets) {
  ASSERT_TRUE(store_->Put("seg.log", "0123456789").ok());
  EXPECT_EQ(*store_->Get("seg.log", ByteRange{2, 4}), "234");
  EXPECT_EQ(*store_->Get("seg.log", ByteRange{0, 0}), "0");
  EXPECT_EQ(*store_->Get("seg.log", ByteRange{8, 100}), "89");
  auto past = store_->Get("seg.log", ByteRange{10, 12});
  EXPECT_TRUE(absl::IsOutOfRange(past.status())) << past.status();
}

TEST_P(ObjectStoreConformance, ListsByPrefixInKeyOrder) {
  for (const char* key : {"topics/t-0/b", "topics/t-0/a", "topics/t-01/x", "topics/u-0/m"}) {
    ASSERT_TRUE(store_->Put(key, key).ok());
  }
  auto listed = store_->List("topics/t-0/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "topics/t-0/a");
  EXPECT_EQ((*listed)[0].size, 12);
  EXPECT_EQ((*listed)[1].key, "topics/t-0/b");
  EXPECT_EQ(store_->List("topics/t-0")->size(), 3u);
  EXPECT_EQ(store_->List("")->size(), 4u);
  EXPECT_TRUE(store_->List("nothing/")->empty());
}

TEST_P(ObjectStoreConformance, MultipartIsWholeAtCompleteAndAbsentAfterAbort) {
  // S3 wants every part but the last to be at least 5 MiB.
  const std::string part1 = AllBytes(5 << 20);
  const std::string part2 = std::string(5 << 20, 'b');
  auto upload = store_->StartMultipart("big/segment.log");
  ASSERT_TRUE(upload.ok()) << upload.status();
  ASSERT_TRUE((*upload)->UploadPart(3, "tail").ok());
  ASSERT_TRUE((*upload)->UploadPart(2, "to be replaced").ok());
  ASSERT_TRUE((*upload)->UploadPart(1, part1).ok());
  ASSERT_TRUE((*upload)->UploadPart(2, part2).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("big/segment.log", std::nullopt).status()));
  EXPECT_TRUE(store_->List("big/")->empty());
  auto completed = (*upload)->Complete();
  ASSERT_TRUE(completed.ok()) << completed;
  auto whole = store_->Get("big/segment.log", std::nullopt);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), part1.size() + part2.size() + 4);
  EXPECT_TRUE(*whole == part1 + part2 + "tail");
  EXPECT_EQ(*store_->Get("big/segment.log", ByteRange{(10 << 20) - 1, (10 << 20) + 3}), "btail");

  auto aborted = store_->StartMultipart("big/never");
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE((*aborted)->UploadPart(1, "x").ok());
  ASSERT_TRUE((*aborted)->Abort().ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("big/never", std::nullopt).status()));
  ASSERT_EQ(store_->List("big/")->size(), 1u);
}

TEST_P(ObjectStoreConformance, BadKeysAreRefused) {
  for (const char* key : {"", "/abs", "a//b", "a/../b", "..", "a/./b"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Put(key, "x"))) << key;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("../etc/passwd", std::nullopt).status()));
}

TEST_P(ObjectStoreConformance, RangedGetIntoAGivenBuffer) {
  const std::string data = AllBytes(3 << 20);
  ASSERT_TRUE(store_->Put("obj", data).ok());
  // As a reader hands it back: the bytes of an earlier, longer read still in it.
  std::string buffer(4 << 20, 'o');
  const char* memory = buffer.data();
  auto got = store_->GetReusing("obj", ByteRange{1000, (2 << 20) + 999}, std::move(buffer));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == data.substr(1000, 2 << 20));
  EXPECT_EQ(got->data(), memory);  // read into the buffer's memory
  // A buffer too small, or none, is not used: the bytes are the same.
  got = store_->GetReusing("obj", ByteRange{0, (3 << 20) - 1}, std::string(10, 'x'));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == data);
  got = store_->GetReusing("obj", ByteRange{5, 9}, std::string());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data.substr(5, 5));
  EXPECT_TRUE(absl::IsNotFound(store_->GetReusing("none", ByteRange{0, 9}, std::string()).status()));
}

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreConformance,
                         ::testing::Values(StoreKind{"local", NewLocalStore}, StoreKind{"s3", NewS3Store},
                                           StoreKind{"azure", NewAzureStore}),
                         [](const auto& info) { return info.param.name; });

TEST(S3StoreTest, WrongSecretIsRefusedWithoutRetrying) {
  auto config = VersityConfig(Server("s3"), FreshName());
  config.secret_key = "not-the-secret";
  config.retry.initial_backoff = absl::Seconds(5);  // a retry would show as a slow test
  auto store = S3Store::Open(config);
  ASSERT_TRUE(store.ok());
  const absl::Time start = absl::Now();
  absl::Status st = (*store)->CreateBucket();
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(S3StoreTest, ListsPastOnePage) {
  auto store = NewS3Store(FreshName());
  for (int i = 0; i < 1005; ++i) ASSERT_TRUE(store->Put(absl::StrFormat("p/%05d", i), "x").ok());
  auto listed = store->List("p/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1005u);  // S3 pages at 1000
  for (int i = 0; i < 1005; ++i) ASSERT_EQ((*listed)[i].key, absl::StrFormat("p/%05d", i));
}

// S3's form of a CRC-32C, computed here from the definition's bits rather than by the store's code.
std::string Crc32cBase64(std::string_view data) {
  uint32_t crc = 0xffffffff;
  for (unsigned char c : data) {
    crc ^= c;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82f63b78 & (0 - (crc & 1)));
  }
  crc = ~crc;
  const char bytes[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                         static_cast<char>(crc)};
  return absl::Base64Escape(absl::string_view(bytes, 4));
}

// The checksum the server keeps for `key`, which it answers a whole GET with when asked.
std::string StoredCrc32c(S3Store& store, const std::string& key) {
  auto response = store.Send({"GET", key, {}, {{"x-amz-checksum-mode", "ENABLED"}}, {}}, "get with checksum");
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? std::string(response->Header("x-amz-checksum-crc32c")) : "";
}

// A put's and each part's body carry their CRC-32C, which the server checks and keeps: a body that
// does not match its checksum is refused, and a multipart object's is the CRC-32C of its parts'.
TEST(S3StoreTest, BodiesCarryTheirCrc32cWhichTheServerChecks) {
  auto opened = S3Store::Open(VersityConfig(Server("s3"), FreshName()));
  ASSERT_TRUE(opened.ok());
  S3Store& store = **opened;
  ASSERT_TRUE(store.CreateBucket().ok());
  EXPECT_EQ(Crc32cBase64("123456789"), "4waSgw==");  // the check value of CRC-32C, 0xe3069283

  ASSERT_TRUE(store.Put("one", "123456789").ok());
  EXPECT_EQ(StoredCrc32c(store, "one"), "4waSgw==");

  const std::string part1 = AllBytes(5 << 20);
  auto upload = store.StartMultipart("parts");
  ASSERT_TRUE(upload.ok()) << upload.status();
  ASSERT_TRUE((*upload)->UploadPart(1, part1).ok());
  ASSERT_TRUE((*upload)->UploadPart(2, "22").ok());
  ASSERT_TRUE((*upload)->Complete().ok());
  std::string part_crcs;
  for (const std::string& crc : {Crc32cBase64(part1), Crc32cBase64("22")}) {
    std::string raw;
    ASSERT_TRUE(absl::Base64Unescape(crc, &raw));
    part_crcs += raw;
  }
  EXPECT_EQ(StoredCrc32c(store, "parts"), Crc32cBase64(part_crcs) + "-2");
  EXPECT_EQ(*store.Get("parts", std::nullopt), part1 + "22");

  auto damaged = store.Send({"PUT", "damaged", {}, {{"x-amz-checksum-crc32c", Crc32cBase64("12345678")}}, "123456789"},
                            "put a body that does not match its checksum");
  EXPECT_FALSE(damaged.ok());
  EXPECT_NE(damaged.status().message().find("BadDigest"), std::string::npos) << damaged.status();
  EXPECT_TRUE(absl::IsNotFound(store.Get("damaged", std::nullopt).status()));

  // S3_CHECKSUMS=false, for servers that refuse S3's checksum headers: none sent, none kept.
  S3Config config = VersityConfig(Server("s3"), FreshName());
  config.checksum_bodies = false;
  auto plain = S3Store::Open(config);
  ASSERT_TRUE(plain.ok() && (*plain)->CreateBucket().ok());
  EXPECT_TRUE((*plain)->BodyHeaders("123456789").empty());
  ASSERT_TRUE((*plain)->Put("one", "123456789").ok());
  EXPECT_EQ(StoredCrc32c(**plain, "one"), "");
  auto plain_upload = (*plain)->StartMultipart("parts");
  ASSERT_TRUE(plain_upload.ok()) << plain_upload.status();
  ASSERT_TRUE((*plain_upload)->UploadPart(1, part1).ok());
  ASSERT_TRUE((*plain_upload)->UploadPart(2, "22").ok());
  ASSERT_TRUE((*plain_upload)->Complete().ok());
  EXPECT_EQ(StoredCrc32c(**plain, "parts"), "");
  EXPECT_EQ(*(*plain)->Get("parts", std::nullopt), part1 + "22");
}

// S3_CHECKSUMS from the environment or the TOML file: true by default, false sends none, anything
// else is refused, and so is any value for gcs, whose requests carry no S3 checksums.
TEST(S3StoreTest, ChecksumsAreOnUnlessS3ChecksumsIsFalse) {
  auto body_headers = [](StoreSettings settings) -> absl::StatusOr<HttpHeaders> {
    settings.insert({{"S3_BUCKET", "b"}, {"AWS_ACCESS_KEY_ID", "k"}, {"AWS_SECRET_ACCESS_KEY", "s"}});
    settings.insert({"S3_ENDPOINT", "http://127.0.0.1:9"});
    auto store = OpenObjectStore(settings);
    if (!store.ok()) return store.status();
    return dynamic_cast<S3Store&>(**store).BodyHeaders("123456789");
  };
  EXPECT_EQ(body_headers({{"STORAGE_BACKEND", "s3"}})->size(), 1u);
  EXPECT_EQ(body_headers({{"STORAGE_BACKEND", "s3"}, {"S3_CHECKSUMS", "true"}})->size(), 1u);
  EXPECT_TRUE(body_headers({{"STORAGE_BACKEND", "s3"}, {"S3_CHECKSUMS", "false"}})->empty());
  EXPECT_TRUE(absl::IsInvalidArgument(body_headers({{"STORAGE_BACKEND", "s3"}, {"S3_CHECKSUMS", "no"}}).status()));
  EXPECT_TRUE(body_headers({{"STORAGE_BACKEND", "gcs"}})->empty());
  EXPECT_TRUE(absl::IsInvalidArgument(body_headers({{"STORAGE_BACKEND", "gcs"}, {"S3_CHECKSUMS", "false"}}).status()));
}

// Retries that outlast a server's restart by far (about 30 s of backoff in all).
constexpr RetryPolicy kPatientRetries{.max_attempts = 60, .initial_backoff = absl::Milliseconds(100),
                                      .max_backoff = absl::Seconds(1)};

// The server goes away with parts uploaded and is started again: the upload goes on where it was,
// and a put sent while it is down is retried until it is back. versitygw is killed with SIGKILL;
// Azurite keeps its metadata in memory and saves it every few seconds, so that a SIGKILL loses
// what it acknowledged: it is stopped with SIGTERM.
template <typename MakeStore>
void SurvivesServerRestart(TestServer& server, bool kill, MakeStore make_store) {
  auto store = make_store();
  auto upload = store->StartMultipart("seg");
  ASSERT_TRUE(upload.ok()) << upload.status();
  const std::string part1(5 << 20, '1');
  ASSERT_TRUE((*upload)->UploadPart(1, part1).ok());
  if (kill) {
    server.Kill();
  } else {
    server.Stop();
  }
  std::thread restart([&] {
    absl::SleepFor(absl::Milliseconds(700));
    ASSERT_TRUE(server.Restart().ok());
  });
  absl::Status put = store->Put("while-down", "retried");
  restart.join();
  ASSERT_TRUE(put.ok()) << put;
  EXPECT_EQ(*store->Get("while-down", std::nullopt), "retried");
  ASSERT_TRUE((*upload)->UploadPart(2, "22").ok());
  ASSERT_TRUE((*upload)->Complete().ok());
  EXPECT_EQ(*store->Get("seg", std::nullopt), part1 + "22");
}

TEST(S3StoreTest, SurvivesServerRestartMidUpload) {
  SurvivesServerRestart(Server("s3"), /*kill=*/true, [] {
    auto config = VersityConfig(Server("s3"), FreshName());
    config.retry = kPatientRetries;
    auto store = S3Store::Open(config);
    EXPECT_TRUE((*store)->CreateBucket().ok());
    return *std::move(store);
  });
}

TEST(S3StoreTest, VirtualHostedAddressing) {
  testing::VersityOptions options;
  options.virtual_domain = "localhost";
  auto server = testing::StartVersity(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto config = VersityConfig(**server, "vhost");
  config.endpoint = absl::StrCat("http://localhost:", (*server)->port());
  config.addressing = S3Config::Addressing::kVirtualHosted;
  // The resolver knows no *.localhost here: connect to the address, send vhost.localhost as Host.
  config.http.connect_address = absl::StrCat("127.0.0.1:", (*server)->port());
  auto store = S3Store::Open(config);
  ASSERT_TRUE(store.ok());
  auto created = (*store)->CreateBucket();
  ASSERT_TRUE(created.ok()) << created;
  ASSERT_TRUE((*store)->Put("k", "v").ok());
  EXPECT_EQ(*(*store)->Get("k", std::nullopt), "v");
  EXPECT_EQ((*store)->List("")->size(), 1u);
  // Path-style on the same server sees the same bucket.
  config.addressing = S3Config::Addressing::kPath;
  config.endpoint = absl::StrCat("http://127.0.0.1:", (*server)->port());
  config.http.connect_address.clear();
  auto path_style = S3Store::Open(config);
  EXPECT_EQ(*(*path_style)->Get("k", std::nullopt), "v");
}

std::string_view PayloadHeader(const HttpRequest& request) { return FindHeader(request.headers, "x-amz-content-sha256"); }

TEST(S3StoreTest, TlsWithTheServersCertificateAndNotWithout) {
  std::string dir = testing::MakeTempDir("tls");
  auto cert = testing::MakeLocalhostCertificate(dir);
  ASSERT_TRUE(cert.ok()) << cert.status();
  testing::VersityOptions options;
  options.cert_file = cert->cert_file;
  options.key_file = cert->key_file;
  auto server = testing::StartVersity(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto config = VersityConfig(**server, "tls");
  config.endpoint = absl::StrCat("https://localhost:", (*server)->port());
  config.http.ca_file = cert->cert_file;
  auto store = S3Store::Open(config);
  ASSERT_TRUE(store.ok());
  auto created = (*store)->CreateBucket();
  ASSERT_TRUE(created.ok()) << created;
  ASSERT_TRUE((*store)->Put("k", "over TLS").ok());
  EXPECT_EQ(*(*store)->Get("k", std::nullopt), "over TLS");
  // A body larger than what comes with the headers is read through the TLS stream, range or not.
  std::string large(3 << 20, 'x');
  for (size_t i = 0; i < large.size(); i += 1000) large[i] = static_cast<char>('a' + (i / 1000) % 26);
  ASSERT_TRUE((*store)->Put("large", large).ok());
  auto whole = (*store)->Get("large", std::nullopt);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(*whole == large);
  auto part = (*store)->Get("large", ByteRange{1000, 2000999});
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_TRUE(*part == large.substr(1000, 2000000));
  // Over TLS the bodies went as UNSIGNED-PAYLOAD, which the server took; a multipart upload's too.
  EXPECT_EQ(PayloadHeader((*store)->Sign({"PUT", "k", {}, {}, "over TLS"}, absl::Now())), "UNSIGNED-PAYLOAD");
  auto upload = (*store)->StartMultipart("parts");
  ASSERT_TRUE(upload.ok()) << upload.status();
  const std::string part1(5 << 20, '1');
  ASSERT_TRUE((*upload)->UploadPart(1, part1).ok());
  ASSERT_TRUE((*upload)->UploadPart(2, "22").ok());
  ASSERT_TRUE((*upload)->Complete().ok());
  EXPECT_TRUE(*(*store)->Get("parts", std::nullopt) == part1 + "22");

  // The certificate must name the host: by address (its names include 127.0.0.1)...
  S3Config by_address = config;
  by_address.endpoint = absl::StrCat("https://127.0.0.1:", (*server)->port());
  auto address_store = S3Store::Open(by_address);
  ASSERT_TRUE(address_store.ok());
  auto by_ip = (*address_store)->Get("k", std::nullopt);
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();
  EXPECT_EQ(*by_ip, "over TLS");
  // ...and a name it does not hold is refused, though the connection reaches the same server.
  S3Config misnamed = config;
  misnamed.endpoint = absl::StrCat("https://elsewhere.test:", (*server)->port());
  misnamed.http.connect_address = absl::StrCat("127.0.0.1:", (*server)->port());
  misnamed.retry.max_attempts = 1;
  auto misnamed_store = S3Store::Open(misnamed);
  ASSERT_TRUE(misnamed_store.ok());
  auto wrong_name = (*misnamed_store)->Get("k", std::nullopt);
  EXPECT_TRUE(absl::IsUnavailable(wrong_name.status())) << wrong_name.status();
  EXPECT_NE(wrong_name.status().message().find("certificate"), std::string::npos) << wrong_name.status();

  // The system's trust store does not know a self-signed certificate.
  config.http.ca_file.clear();
  config.retry.max_attempts = 1;
  auto untrusted = S3Store::Open(config);
  auto refused = (*untrusted)->Get("k", std::nullopt);
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("certificate"), std::string::npos) << refused.status();
}

// Google Cloud Storage and AWS itself cannot be reached from here: what a request to them would
// look like is checked instead (the signature's parts are checked against AWS's vectors in
// sigv4_test).
TEST(S3StoreTest, GcsAndAwsRequestsAreVirtualHostedAndScopedToTheirRegion) {
  const absl::Time now = absl::FromUnixSeconds(1369353600);  // 2013-05-24T00:00:00Z
  auto gcs = S3Store::Open(GcsConfig("bkt", "GOOG1EXAMPLE", "secret"));
  ASSERT_TRUE(gcs.ok());
  HttpRequest request = (*gcs)->Sign({"GET", "a b/c", {{"list-type", "2"}}, {}, {}}, now);
  EXPECT_EQ(request.target, "/a%20b/c?list-type=2");  // the bucket is in the host name
  const std::string_view authorization = FindHeader(request.headers, "Authorization");
  EXPECT_NE(authorization.find("Credential=GOOG1EXAMPLE/20130524/auto/s3/aws4_request"), std::string::npos)
      << authorization;
  EXPECT_NE(authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date"), std::string::npos)
      << authorization;
  // GCS signs its payloads, over HTTPS too, also when the S3 backend is pointed at it, and gets no
  // S3 checksums.
  EXPECT_EQ(PayloadHeader((*gcs)->Sign({"PUT", "k", {}, {}, "data"}, now)), Sha256Hex("data"));
  EXPECT_TRUE((*gcs)->BodyHeaders("data").empty());
  S3Config s3_at_gcs = GcsConfig("bkt", "GOOG1EXAMPLE", "secret");
  s3_at_gcs.endpoint = "https://Storage.GoogleAPIs.com";
  EXPECT_EQ(PayloadHeader((*S3Store::Open(s3_at_gcs))->Sign({"PUT", "k", {}, {}, "data"}, now)), Sha256Hex("data"));

  S3Config aws;
  aws.bucket = "bkt";
  aws.region = "eu-west-1";
  aws.access_key = "AKIDEXAMPLE";
  aws.secret_key = "secret";
  auto s3 = S3Store::Open(aws);
  ASSERT_TRUE(s3.ok());
  request = (*s3)->Sign({"PUT", "k", {}, {}, "data"}, now);
  EXPECT_EQ(request.target, "/k");
  aws.addressing = S3Config::Addressing::kPath;
  request = (*S3Store::Open(aws))->Sign({"PUT", "k", {}, {}, "data"}, now);
  EXPECT_EQ(request.target, "/bkt/k");
  EXPECT_NE(FindHeader(request.headers, "Authorization").find("/20130524/eu-west-1/s3/aws4_request"),
            std::string_view::npos);
  // AWS is reached over HTTPS: a body goes unsigned, with its CRC-32C, and a request without one
  // keeps its digest.
  EXPECT_EQ(PayloadHeader(request), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(FindHeader((*S3Store::Open(aws))->BodyHeaders("123456789"), "x-amz-checksum-crc32c"), "4waSgw==");
  EXPECT_EQ(PayloadHeader((*S3Store::Open(aws))->Sign({"GET", "k", {}, {}, {}}, now)), Sha256Hex(""));
  // Over HTTP the payload is signed.
  aws.endpoint = "http://127.0.0.1:9000";
  EXPECT_EQ(PayloadHeader((*S3Store::Open(aws))->Sign({"PUT", "k", {}, {}, "data"}, now)), Sha256Hex("data"));
}

TEST(AzureStoreTest, WrongKeyIsRefused) {
  auto config = AzuriteConfig(Server("azure"), FreshName());
  config.key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=";
  auto store = AzureStore::Open(config);
  ASSERT_TRUE(store.ok());
  absl::Status st = (*store)->CreateContainer();
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
}

TEST(AzureStoreTest, SurvivesServerRestartMidUpload) {
  SurvivesServerRestart(Server("azure"), /*kill=*/false, [] {
    auto config = AzuriteConfig(Server("azure"), FreshName());
    config.retry = kPatientRetries;
    auto store = AzureStore::Open(config);
    EXPECT_TRUE((*store)->CreateContainer().ok());
    return *std::move(store);
  });
}

TEST(HttpStoreUtilTest, XmlAndEntities) {
  EXPECT_EQ(XmlUnescape("a&amp;b&lt;c&gt;&quot;&apos;&#65;&#x263A;&bogus;"), "a&b<c>\"'A\xe2\x98\xba&bogus;");
  EXPECT_EQ(XmlUnescape(XmlEscape("<k&'\">")), "<k&'\">");
  auto parts = XmlElements("<R><C><K>a</K></C><C><K>b&amp;</K></C><E/></R>", "C");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(XmlText(parts[1], "K"), "b&");
  EXPECT_EQ(XmlText("<E/>", "E"), "");
}

TEST(HttpStoreUtilTest, UrlParsing) {
  auto url = ParseUrl("https://s3.eu-west-1.amazonaws.com");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  auto azurite = ParseUrl("http://127.0.0.1:10000/devstoreaccount1/");
  ASSERT_TRUE(azurite.ok());
  EXPECT_EQ(azurite->host, "127.0.0.1");
  EXPECT_EQ(azurite->port, 10000);
  EXPECT_EQ(azurite->path, "/devstoreaccount1");
  EXPECT_FALSE(ParseUrl("ftp://x").ok());
  EXPECT_FALSE(ParseUrl("http://x:99999").ok());
  EXPECT_FALSE(ParseUrl("http://:80").ok());
  // An IPv6 literal is bracketed in the URL and the Host header, bare for resolving.
  auto v6 = ParseUrl("https://[2001:db8::7]:9000/account");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "2001:db8::7");
  EXPECT_EQ(v6->port, 9000);
  EXPECT_EQ(v6->path, "/account");
  auto v6_default_port = ParseUrl("http://[::1]");
  ASSERT_TRUE(v6_default_port.ok()) << v6_default_port.status();
  EXPECT_EQ(v6_default_port->host, "::1");
  EXPECT_EQ(v6_default_port->port, 80);
  EXPECT_EQ(HttpClient(false, "::1", 80, {}).host_header(), "[::1]");
  EXPECT_EQ(HttpClient(false, "::1", 9000, {}).host_header(), "[::1]:9000");
  EXPECT_FALSE(ParseUrl("http://[::1").ok());
  EXPECT_FALSE(ParseUrl("http://[::1]x").ok());
  EXPECT_FALSE(ParseUrl("http://[not-an-address]:80").ok());
  EXPECT_FALSE(ParseUrl("http://::1:80").ok());
}

// Endpoints named by IPv6 address: signed requests (the Host header carries the brackets), TLS
// verified against the address, and Azure's Shared Key.
TEST(EndpointTest, Ipv6Literals) {
  std::string dir = testing::MakeTempDir("v6");
  auto cert = testing::MakeLocalhostCertificate(dir);
  ASSERT_TRUE(cert.ok()) << cert.status();
  for (bool tls : {false, true}) {
    testing::VersityOptions options;
    options.ipv6 = true;
    if (tls) {
      options.cert_file = cert->cert_file;
      options.key_file = cert->key_file;
    }
    auto server = testing::StartVersity(options);
    ASSERT_TRUE(server.ok()) << server.status();
    auto config = VersityConfig(**server, "ipv6");
    config.endpoint = absl::StrCat(tls ? "https" : "http", "://[::1]:", (*server)->port());
    config.http.ca_file = cert->cert_file;
    auto store = S3Store::Open(config);
    ASSERT_TRUE(store.ok()) << store.status();
    auto created = (*store)->CreateBucket();
    ASSERT_TRUE(created.ok()) << created;
    ASSERT_TRUE((*store)->Put("k", "over IPv6").ok());
    EXPECT_EQ(*(*store)->Get("k", std::nullopt), "over IPv6");
    auto listed = (*store)->List("");
    ASSERT_TRUE(listed.ok()) << listed.status();
    EXPECT_EQ(listed->size(), 1u);
    S3Config virtual_hosted = config;
    virtual_hosted.addressing = S3Config::Addressing::kVirtualHosted;
    EXPECT_TRUE(absl::IsInvalidArgument(S3Store::Open(virtual_hosted).status()));
  }
  auto azurite = testing::StartAzurite(/*ipv6=*/true);
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  auto azure_config = AzuriteConfig(**azurite, "ipv6");
  azure_config.endpoint = absl::StrCat("http://[::1]:", (*azurite)->port(), "/", testing::kAzureAccount);
  auto azure = AzureStore::Open(azure_config);
  ASSERT_TRUE(azure.ok()) << azure.status();
  ASSERT_TRUE((*azure)->CreateContainer().ok());
  ASSERT_TRUE((*azure)->Put("k", "over IPv6").ok());
  EXPECT_EQ(*(*azure)->Get("k", std::nullopt), "over IPv6");
}

}  // namespace
}  // namespace chronik::storage::objects
