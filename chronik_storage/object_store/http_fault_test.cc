// How the HTTP stores meet a server that throttles, fails, hangs or drops the connection: a
// scripted server on loopback answers each request as told, and counts them.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chronik_storage/object_store/s3_store.h"
#include "gtest/gtest.h"

namespace chronik::storage::objects {
namespace {

// Answers the n-th request with script[min(n, size - 1)]: a whole HTTP response, "hang" (read it,
// answer nothing until the client gives up), "drop" (close without answering), "cut:" followed by
// the start of a response (sent, then the connection is closed) or "stall:" followed by the start
// of a response (sent, then nothing more).
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

  static std::string Response(int status, const std::string& body = "") {
    return absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  }

 private:
  void Serve() {
    while (!stopping_) {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      std::string buffer;
      char chunk[65536];
      for (;;) {
        // One request: headers, then Content-Length bytes of body.
        size_t end;
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
          ssize_t n = ::read(conn, chunk, sizeof(chunk));
          if (n <= 0) break;
          buffer.append(chunk, n);
        }
        if (end == std::string::npos) break;
        size_t length = 0;
        if (size_t at = buffer.find("Content-Length: "); at != std::string::npos && at < end) {
          length = std::stoul(buffer.substr(at + 16));
        }
        while (buffer.size() < end + 4 + length) {
          ssize_t n = ::read(conn, chunk, sizeof(chunk));
          if (n <= 0) break;
          buffer.append(chunk, n);
        }
        buffer.erase(0, end + 4 + length);
        const int n = requests_++;
        const std::string& answer = script_[std::min<size_t>(n, script_.size() - 1)];
        if (answer == "drop") break;
        if (answer == "hang") {
          while (::read(conn, chunk, sizeof(chunk)) > 0) {
          }
          break;
        }
        const bool cut = answer.rfind("cut:", 0) == 0;
        const bool stall = answer.rfind("stall:", 0) == 0;
        const std::string_view bytes = std::string_view(answer).substr(cut ? 4 : stall ? 6 : 0);
        if (!WriteAll(conn, bytes) || cut) break;
        if (stall) {
          while (::read(conn, chunk, sizeof(chunk)) > 0) {
          }
          break;
        }
      }
      ::close(conn);
    }
  }

  static bool WriteAll(int conn, std::string_view bytes) {
    // In pieces, so that a large body reaches the client in several reads.
    while (!bytes.empty()) {
      ssize_t n = ::write(conn, bytes.data(), std::min<size_t>(bytes.size(), 100000));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  const std::vector<std::string> script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::unique_ptr<S3Store> StoreFor(const ScriptedServer& server, int attempts) {
  S3Config config;
  config.endpoint = absl::StrCat("http://127.0.0.1:", server.port());
  config.bucket = "b";
  config.access_key = "a";
  config.secret_key = "s";
  config.retry.max_attempts = attempts;
  config.retry.initial_backoff = absl::Milliseconds(5);
  config.http.timeout = absl::Milliseconds(300);
  return *S3Store::Open(config);
}

TEST(HttpFaultTest, ThrottlingAndServerErrorsAreRetried) {
  ScriptedServer server({ScriptedServer::Response(503, "<Error><Code>SlowDown</Code></Error>"),
                         ScriptedServer::Response(429), ScriptedServer::Response(500),
                         ScriptedServer::Response(200)});
  EXPECT_TRUE(StoreFor(server, 6)->Put("k", "v").ok());
  EXPECT_EQ(server.requests(), 4);
}

TEST(HttpFaultTest, GivesUpAfterItsAttemptsWithTheLastError) {
  ScriptedServer server({ScriptedServer::Response(503, "<Error><Code>SlowDown</Code><Message>m</Message></Error>")});
  absl::Status st = StoreFor(server, 3)->Put("k", "v");
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_NE(st.message().find("SlowDown"), std::string::npos) << st;
  EXPECT_EQ(server.requests(), 3);
}

TEST(HttpFaultTest, ClientErrorsAreNotRetried) {
  ScriptedServer server({ScriptedServer::Response(403, "<Error><Code>AccessDenied</Code></Error>")});
  absl::Status st = StoreFor(server, 6)->Put("k", "v");
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_EQ(server.requests(), 1);
}

TEST(HttpFaultTest, AServerThatHangsTimesOutAndIsRetried) {
  ScriptedServer server({"hang", ScriptedServer::Response(200, "data")});
  auto got = StoreFor(server, 3)->Get("k", std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "data");
  EXPECT_EQ(server.requests(), 2);

  ScriptedServer silent({"hang"});
  auto timed_out = StoreFor(silent, 2)->Get("k", std::nullopt);
  EXPECT_TRUE(absl::IsDeadlineExceeded(timed_out.status())) << timed_out.status();
}

TEST(HttpFaultTest, ADroppedConnectionIsRetriedOnANewOne) {
  ScriptedServer server({ScriptedServer::Response(200, "one"), "drop", ScriptedServer::Response(200, "two")});
  auto store = StoreFor(server, 3);
  EXPECT_EQ(*store->Get("k", std::nullopt), "one");
  // The kept-alive connection is closed by the server at the next request: a new one gets the answer.
  EXPECT_EQ(*store->Get("k", std::nullopt), "two");
}

TEST(HttpFaultTest, ACompleteThatFailsInItsBodyIsAnError) {
  // S3 may answer 200 to CompleteMultipartUpload and put the failure in the body.
  ScriptedServer server({ScriptedServer::Response(200, "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>"),
                         "HTTP/1.1 200 X\r\nETag: \"e\"\r\nContent-Length: 0\r\n\r\n",
                         ScriptedServer::Response(200, "<Error><Code>InternalError</Code><Message>m</Message></Error>")});
  auto store = StoreFor(server, 1);
  auto upload = store->StartMultipart("k");
  ASSERT_TRUE(upload.ok()) << upload.status();
  ASSERT_TRUE((*upload)->UploadPart(1, "x").ok());
  absl::Status st = (*upload)->Complete();
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_NE(st.message().find("InternalError"), std::string::npos) << st;
}

// Headers that promise 100 bytes of body, and the first 15 of them.
constexpr const char* kPartOfABody = "HTTP/1.1 200 X\r\nContent-Length: 100\r\n\r\nonly part of it";

TEST(HttpFaultTest, LargeAndChunkedBodiesAreReadWhole) {
  std::string large(3 << 20, 'x');
  for (size_t i = 0; i < large.size(); i += 4096) large[i] = static_cast<char>('a' + (i / 4096) % 26);
  ScriptedServer server({ScriptedServer::Response(200, large),
                         "HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                         ScriptedServer::Response(200, "after")});
  auto store = StoreFor(server, 1);
  auto got = store->Get("k", std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == large);
  EXPECT_EQ(*store->Get("k", std::nullopt), "abcde");
  // The connection is still in step after both.
  EXPECT_EQ(*store->Get("k", std::nullopt), "after");
  EXPECT_EQ(server.requests(), 3);
}

TEST(HttpFaultTest, ABodyCutShortIsRetriedAndNeverReturnedInPart) {
  ScriptedServer server({std::string("cut:") + kPartOfABody,
                         ScriptedServer::Response(200, "whole")});
  auto got = StoreFor(server, 2)->Get("k", std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "whole");
  EXPECT_EQ(server.requests(), 2);

  ScriptedServer cut({std::string("cut:") + kPartOfABody});
  auto failed = StoreFor(cut, 1)->Get("k", std::nullopt);
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
}

TEST(HttpFaultTest, ABodyThatStallsTimesOut) {
  ScriptedServer server({std::string("stall:") + kPartOfABody});
  auto got = StoreFor(server, 1)->Get("k", std::nullopt);
  EXPECT_TRUE(absl::IsDeadlineExceeded(got.status())) << got.status();
}

}  // namespace
}  // namespace chronik::storage::objects
