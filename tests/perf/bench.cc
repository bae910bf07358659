// End-to-end load generator on librdkafka's C API. Every scenario runs twice in one process:
// against librdkafka's in-memory mock cluster (the ceiling of the client and loopback on this
// machine; it keeps nothing on disk) and against a chronik_server it starts on a free loopback
// port with a fresh data directory. Figures are printed side by side with their ratio.
//
//   bench --broker PATH [--scenarios FILE | scenario options] [--only NAME] [--scale F] [--chronik-only]
//
// Scenario options (also the keys of a scenario file line "name key=value ..."):
//   size=100            record value bytes            count=500000   records in all
//   acks=all|1          compression=none|lz4|zstd|gzip|snappy
//   partitions=1        producers=1                   linger_ms=5    batch_size=1000000
//   keys=none|random    rate=0 (records/s in all; 0 = as fast as possible; "half:NAME" = half of
//                       what scenario NAME reached on chronik)
//   consume=0|1         after producing, one consumer reads everything from the earliest offset
//   e2e=0|1             a consumer tails the topic while producing: end-to-end latency
//   idempotent=0|1      the producers run with enable.idempotence=true
//   inflight=0          max.in.flight.requests.per.connection (0: librdkafka's default); 5 is
//                       the cap idempotence imposes, for comparing like with like
//   debug=              librdkafka's debug contexts for the producers (e.g. msg,protocol), to stderr
//   security=plaintext|ssl|sasl_ssl  the listener the clients use (TLS with a certificate the
//                       benchmark makes with openssl; SASL PLAIN). Not plaintext: the reference is
//                       the same scenario on chronik over PLAINTEXT in the same run, not the mock
//                       (which has no TLS), and the ratio is "x plaintext".
//
// It measures and prints; it asserts nothing about speed. It exits 1 when chronik fails a delivery
// or does not return every record it acknowledged (what the smoke test checks).

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/util/loopback.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench: %s\n", message.c_str());
  std::exit(1);
}

struct Scenario {
  std::string name = "adhoc";
  int size = 100;
  int64_t count = 500000;
  std::string acks = "all";
  std::string compression = "none";
  int partitions = 1;
  int producers = 1;
  int linger_ms = 5;
  int batch_size = 1000000;
  std::string keys = "none";
  std::string rate = "0";
  bool consume = false;
  bool e2e = false;
  bool idempotent = false;
  int inflight = 0;
  std::string debug;
  std::string security = "plaintext";
};

void SetKey(Scenario& s, const std::string& key, const std::string& value) {
  auto num = [&] { return std::stoll(value); };
  if (key == "name") s.name = value;
  else if (key == "size") s.size = static_cast<int>(num());
  else if (key == "count") s.count = num();
  else if (key == "acks") s.acks = value;
  else if (key == "compression") s.compression = value;
  else if (key == "partitions") s.partitions = static_cast<int>(num());
  else if (key == "producers") s.producers = static_cast<int>(num());
  else if (key == "linger_ms") s.linger_ms = static_cast<int>(num());
  else if (key == "batch_size") s.batch_size = static_cast<int>(num());
  else if (key == "keys") s.keys = value;
  else if (key == "rate") s.rate = value;
  else if (key == "consume") s.consume = value == "1";
  else if (key == "e2e") s.e2e = value == "1";
  else if (key == "idempotent") s.idempotent = value == "1";
  else if (key == "inflight") s.inflight = static_cast<int>(num());
  else if (key == "debug") s.debug = value;
  else if (key == "security") {
    if (value != "plaintext" && value != "ssl" && value != "sasl_ssl") Die("security must be plaintext, ssl or sasl_ssl");
    s.security = value;
  }
  else Die("unknown scenario key " + key);
}

std::vector<Scenario> ReadScenarios(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot read " + path);
  std::vector<Scenario> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    Scenario s;
    words >> s.name;
    std::string kv;
    while (words >> kv) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) Die("bad scenario word " + kv);
      SetKey(s, kv.substr(0, eq), kv.substr(eq + 1));
    }
    out.push_back(s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Targets: the mock cluster, or a chronik_server child process.

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string bootstrap() const = 0;
  virtual void CreateTopic(const std::string& topic, int partitions) = 0;
  virtual std::string name() const = 0;
  // The client settings its listener needs (TLS, SASL).
  virtual void Secure(rd_kafka_conf_t*) const {}
};

void Check(rd_kafka_conf_res_t r, const char* key, const char* err) {
  if (r != RD_KAFKA_CONF_OK) Die(std::string("config ") + key + ": " + err);
}

void Set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  Check(rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err), key, err);
}

rd_kafka_conf_t* BaseConf(const Target& target) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", target.bootstrap());
  target.Secure(conf);
  return conf;
}

class MockTarget : public Target {
 public:
  MockTarget() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    Set(conf, "log_level", "3");
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (host_ == nullptr) Die(err);
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    if (cluster_ == nullptr) Die("rd_kafka_mock_cluster_new failed");
  }
  ~MockTarget() override {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  std::string bootstrap() const override { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void CreateTopic(const std::string& topic, int partitions) override {
    if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Die("mock topic create failed");
    }
  }
  std::string name() const override { return "mock"; }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

int FreePort() {
  const uint16_t port = chronik::testing::FreeLoopbackPort();
  if (port == 0) Die("no free port on 127.0.0.1");
  return port;
}

bool CanConnect(int port) { return chronik::testing::AcceptsOnLoopback(static_cast<uint16_t>(port)); }

class ChronikTarget : public Target {
 public:
  ChronikTarget(const std::string& binary, const std::string& security) : security_(security) {
    char tmpl[] = "/tmp/chronik-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    dir_ = tmpl;
    port_ = FreePort();
    const std::string metrics_port = std::to_string(FreePort());
    const std::string admin_port = std::to_string(FreePort());
    const std::string config = dir_ + "/chronik.toml";
    if (security_ != "plaintext") WriteSecureConfig(config);
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = dir_ + "/broker.log";
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const std::string port = std::to_string(port_);
      const std::string data = dir_ + "/data";
      if (security_ == "plaintext") {
        ::execl(binary.c_str(), binary.c_str(), "--kafka-port", port.c_str(), "--bind-addr", "127.0.0.1", "--data-dir",
                data.c_str(), "--metrics-port", metrics_port.c_str(), "--admin-port", admin_port.c_str(), "--log-level",
                "warn", "standalone", static_cast<char*>(nullptr));
      } else {
        ::setenv("CHRONIK_BOOTSTRAP_USER", "bench:bench-secret", 1);
        ::execl(binary.c_str(), binary.c_str(), "--config", config.c_str(), "--data-dir", data.c_str(),
                "--metrics-port", metrics_port.c_str(), "--admin-port", admin_port.c_str(), "--log-level", "warn",
                "standalone", static_cast<char*>(nullptr));
      }
      ::_exit(127);
    }
    for (int i = 0; i < 400 && !CanConnect(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!CanConnect(port_)) Die("chronik_server did not start; see " + dir_ + "/broker.log");
  }
  ~ChronikTarget() override {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::filesystem::remove_all(dir_);
  }
  std::string bootstrap() const override { return "127.0.0.1:" + std::to_string(port_); }
  void CreateTopic(const std::string& topic, int partitions) override {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, BaseConf(*this), err, sizeof err);
    if (rk == nullptr) Die(err);
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 10000);
    if (ev == nullptr || rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("CreateTopics failed");
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &n);
    if (n != 1 || rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("topic not created");
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
  }
  std::string name() const override { return security_ == "plaintext" ? "chronik" : security_; }
  void Secure(rd_kafka_conf_t* conf) const override {
    if (security_ == "plaintext") return;
    Set(conf, "security.protocol", security_ == "ssl" ? "ssl" : "sasl_ssl");
    Set(conf, "ssl.ca.location", dir_ + "/ca.pem");
    if (security_ == "sasl_ssl") {
      Set(conf, "sasl.mechanisms", "PLAIN");
      Set(conf, "sasl.username", "bench");
      Set(conf, "sasl.password", "bench-secret");
    }
  }

 private:
  // A CA and a server certificate for 127.0.0.1 made with openssl, and one listener of the
  // scenario's protocol.
  void WriteSecureConfig(const std::string& path) {
    const std::string d = dir_;
    const std::string make =
        "cd '" + d + "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=bench-ca 2>/dev/null && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=127.0.0.1 2>/dev/null && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && openssl x509 -req "
        "-in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext "
        "2>/dev/null && cat server.key server.crt > server.pem";
    if (std::system(make.c_str()) != 0) Die("openssl could not make the benchmark's certificates");
    std::ofstream out(path);
    out << "[kafka]\n"
        << "listeners = \"" << (security_ == "ssl" ? "SSL" : "SASL_SSL") << "://127.0.0.1:" << port_ << "\"\n"
        << "\"ssl.keystore.location\" = \"" << d << "/server.pem\"\n"
        << "\"sasl.enabled.mechanisms\" = \"PLAIN\"\n";
  }

  std::string security_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Running a scenario.

struct Latencies {
  std::vector<int64_t> ns;
  double Percentile(double p) {
    if (ns.empty()) return 0;
    const size_t i = std::min(ns.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(ns.size())));
    std::nth_element(ns.begin(), ns.begin() + static_cast<long>(i), ns.end());
    return static_cast<double>(ns[i]) / 1e6;
  }
  double Max() const { return ns.empty() ? 0 : static_cast<double>(*std::max_element(ns.begin(), ns.end())) / 1e6; }
};

struct Result {
  double msgs_per_s = 0;
  double mb_per_s = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // ms: produce send -> delivery report
  int64_t errors = 0;
  double consume_msgs_per_s = 0;
  int64_t consumed = 0;  // of the records stored (the mock keeps only its newest ones)
  int64_t stored = 0;
  double consume_mb_per_s = 0;
  double e2e_p50 = 0, e2e_p99 = 0, e2e_max = 0;  // ms: send -> consumed
};

struct ProducerState {
  std::mutex mu;
  std::vector<int64_t> latencies;
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> last_delivery_ns{0};
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* state = static_cast<ProducerState*>(opaque);
  const int64_t now = NowNs();
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    state->errors.fetch_add(1);
    return;
  }
  const int64_t sent = reinterpret_cast<int64_t>(m->_private);
  if (sent == 0) return;  // a warm-up record
  {
    std::lock_guard<std::mutex> lock(state->mu);
    state->latencies.push_back(now - sent);
  }
  state->delivered.fetch_add(1);
  state->last_delivery_ns.store(now);
}

rd_kafka_t* NewConsumer(const Target& target) {
  rd_kafka_conf_t* conf = BaseConf(target);
  Set(conf, "group.id", "bench");
  Set(conf, "enable.auto.commit", "false");
  Set(conf, "fetch.wait.max.ms", "100");
  // librdkafka stops fetching while its queue holds more than queued.min.messages (counted over
  // all assigned partitions together) and looks again only on its 1 s timer: with the default
  // 100000, a broker that answers fast makes a 12-partition reader sit idle most of the time.
  Set(conf, "queued.min.messages", "10000000");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) Die(err);
  return rk;
}

void Assign(rd_kafka_t* rk, const std::string& topic, int partitions, int64_t offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = offset;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
}

// Reads `count` records (giving up after 30 s); records end-to-end latency from the send time in each value's first 8
// bytes when `latencies` is given. Returns the seconds it took (from the first record).
double Consume(const Target& target, const std::string& topic, int partitions, int64_t count,
               int64_t offset, std::vector<int64_t>* latencies, std::atomic<bool>* ready, int64_t* bytes_out,
               int64_t* count_out = nullptr) {
  rd_kafka_t* rk = NewConsumer(target);
  Assign(rk, topic, partitions, offset);
  if (ready != nullptr) ready->store(true);
  int64_t got = 0, bytes = 0, first_ns = 0, last_ns = 0;
  const int64_t give_up = NowNs() + int64_t{60} * 1000000000;
  // The mock cluster keeps only the newest part of a large partition, so a reader from the
  // earliest offset may never see `count` records: 2 s without one after the first ends it.
  while (got < count && NowNs() < give_up && (got == 0 || NowNs() - last_ns < int64_t{2000000000})) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_ns = NowNs();
      if (first_ns == 0) first_ns = last_ns;
      ++got;
      bytes += static_cast<int64_t>(m->len);
      if (latencies != nullptr && m->len >= 8) {
        int64_t sent = 0;
        std::memcpy(&sent, m->payload, 8);
        if (sent != 0) latencies->push_back(NowNs() - sent);
      }
    }
    rd_kafka_message_destroy(m);
  }
  const double seconds = got < 2 ? 1e9 : static_cast<double>(last_ns - first_ns) / 1e9;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);

  *bytes_out = bytes;
  if (count_out != nullptr) *count_out = got;
  return seconds;
}

Result Run(Target& target, const Scenario& s, double rate) {
  static int topic_seq = 0;
  const std::string topic = "bench-" + std::to_string(++topic_seq);
  target.CreateTopic(topic, s.partitions);
  Result result;
  ProducerState state;
  state.latencies.reserve(static_cast<size_t>(s.count));

  // Tailing consumer for end-to-end latency.
  std::vector<int64_t> e2e;
  std::atomic<bool> tail_ready{false};
  std::thread tail;
  int64_t tail_bytes = 0;
  if (s.e2e) {
    tail = std::thread([&] {
      Consume(target, topic, s.partitions, s.count - s.count % s.producers + s.producers,
              RD_KAFKA_OFFSET_END, &e2e, &tail_ready, &tail_bytes);
    });
    while (!tail_ready.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // assignment and first fetch
  }

  const int64_t per_producer = s.count / s.producers;
  // Each producer first sends one warm-up record and waits for it (connections, metadata), so
  // that the measured run starts with every producer ready; warm-ups carry send time 0.
  std::atomic<int> ready{0};
  std::atomic<int64_t> start{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < s.producers; ++t) {
    threads.emplace_back([&, t] {
      rd_kafka_conf_t* conf = BaseConf(target);
      Set(conf, "acks", s.acks == "all" ? "-1" : s.acks);
      Set(conf, "compression.type", s.compression);
      Set(conf, "linger.ms", std::to_string(s.linger_ms));
      Set(conf, "batch.size", std::to_string(s.batch_size));
      Set(conf, "queue.buffering.max.messages", "1000000");
      Set(conf, "queue.buffering.max.kbytes", "1048576");
      if (s.idempotent) Set(conf, "enable.idempotence", "true");
      if (s.inflight > 0) Set(conf, "max.in.flight.requests.per.connection", std::to_string(s.inflight));
      if (!s.debug.empty()) Set(conf, "debug", s.debug);
      rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
      rd_kafka_conf_set_opaque(conf, &state);
      char err[512];
      rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
      if (rk == nullptr) Die(err);
      std::string value(static_cast<size_t>(s.size), 'x');
      {
        const int64_t zero = 0;
        if (value.size() >= 8) std::memcpy(value.data(), &zero, 8);
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(t % s.partitions),
                              RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_OPAQUE(nullptr),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          Die("warm-up produce failed");
        }
        rd_kafka_flush(rk, 30000);
      }
      if (ready.fetch_add(1) + 1 == s.producers) start.store(NowNs());
      while (start.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
      const int64_t start_ns = start.load();
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
      const double thread_rate = rate > 0 ? rate / s.producers : 0;
      for (int64_t i = 0; i < per_producer; ++i) {
        if (thread_rate > 0) {
          // Wait by polling, so that delivery reports are taken (and timed) as they arrive.
          const int64_t due = start_ns + static_cast<int64_t>(static_cast<double>(i) * 1e9 / thread_rate);
          for (int64_t wait = due - NowNs(); wait > 0; wait = due - NowNs()) {
            rd_kafka_poll(rk, static_cast<int>(std::min<int64_t>(wait / 1000000, 100)));
            if (wait < 1000000) break;
          }
        }
        const int64_t sent = NowNs();
        if (value.size() >= 8) std::memcpy(value.data(), &sent, 8);
        char key[32];
        size_t key_len = 0;
        if (s.keys == "random") key_len = static_cast<size_t>(std::snprintf(key, sizeof key, "%llu", static_cast<unsigned long long>(rng() % 100000)));
        const int32_t partition = s.keys == "none" ? static_cast<int32_t>((i + t) % s.partitions) : RD_KAFKA_PARTITION_UA;
        for (;;) {
          rd_kafka_resp_err_t e = rd_kafka_producev(
              rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
              RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_KEY(key_len ? key : nullptr, key_len),
              RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(sent)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
          if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
          if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(e));
          rd_kafka_poll(rk, 1);
        }
        // Delivery reports are timed when they are served: serve them often.
        if ((i & 63) == 0) rd_kafka_poll(rk, 0);
      }
      while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 10);
      rd_kafka_destroy(rk);
    });
  }
  for (auto& th : threads) th.join();
  const int64_t total = per_producer * s.producers;
  const double seconds = static_cast<double>(state.last_delivery_ns.load() - start.load()) / 1e9;
  result.msgs_per_s = static_cast<double>(state.delivered.load()) / seconds;
  result.mb_per_s = result.msgs_per_s * s.size / 1e6;
  result.errors = state.errors.load();
  Latencies lat{std::move(state.latencies)};
  result.p50 = lat.Percentile(50);
  result.p99 = lat.Percentile(99);
  result.p999 = lat.Percentile(99.9);
  result.max = lat.Max();

  if (s.e2e) {
    tail.join();
    Latencies el{std::move(e2e)};
    result.e2e_p50 = el.Percentile(50);
    result.e2e_p99 = el.Percentile(99);
    result.e2e_max = el.Max();
  }
  if (s.consume) {
    int64_t bytes = 0;
    const int64_t stored = total + s.producers;  // with the warm-ups
    int64_t got = 0;
    const double secs = Consume(target, topic, s.partitions, stored, RD_KAFKA_OFFSET_BEGINNING, nullptr,
                                nullptr, &bytes, &got);
    result.consume_msgs_per_s = static_cast<double>(got) / secs;
    result.consumed = got;
    result.stored = stored;
    result.consume_mb_per_s = static_cast<double>(bytes) / secs / 1e6;
  }
  return result;
}

void PrintRow(const std::string& who, const Result& r, const Scenario& s) {
  std::printf("  %-8s %11.0f msg/s %8.1f MB/s  p50 %7.2f  p99 %7.2f  p99.9 %7.2f  max %8.2f ms  errors %lld\n",
              who.c_str(), r.msgs_per_s, r.mb_per_s, r.p50, r.p99, r.p999, r.max, static_cast<long long>(r.errors));
  if (s.consume) {
    std::printf("  %-8s consume %11.0f msg/s %8.1f MB/s  (%lld of %lld records readable from the earliest offset)\n",
                who.c_str(), r.consume_msgs_per_s, r.consume_mb_per_s, static_cast<long long>(r.consumed),
                static_cast<long long>(r.stored));
  }
  if (s.e2e) std::printf("  %-8s end-to-end p50 %7.2f  p99 %7.2f  max %8.2f ms\n", who.c_str(), r.e2e_p50, r.e2e_p99, r.e2e_max);
}

}  // namespace

int main(int argc, char** argv) {
  std::string broker, scenarios_file, only;
  double scale = 1.0;
  bool chronik_only = false;  // long soak runs: no reference
  Scenario adhoc;
  bool have_adhoc = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--broker") broker = next();
    else if (a == "--scenarios") scenarios_file = next();
    else if (a == "--only") only = next();
    else if (a == "--scale") scale = std::stod(next());
    else if (a == "--chronik-only") chronik_only = true;
    else if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      SetKey(adhoc, a.substr(2, a.find('=') - 2), a.substr(a.find('=') + 1));
      have_adhoc = true;
    } else Die("unknown argument " + a + " (see the comment at the top of tests/perf/bench.cc)");
  }
  if (broker.empty()) Die("--broker PATH: the chronik_server binary is required");
  std::vector<Scenario> scenarios;
  if (!scenarios_file.empty()) scenarios = ReadScenarios(scenarios_file);
  if (have_adhoc || scenarios.empty()) scenarios.push_back(adhoc);

  std::printf("bench: %u hardware threads; mock = librdkafka's in-memory cluster, chronik = %s\n",
              std::thread::hardware_concurrency(), broker.c_str());
  std::map<std::string, double> chronik_rate;
  bool failures = false;
  for (Scenario s : scenarios) {
    if (!only.empty() && s.name.find(only) == std::string::npos) continue;
    s.count = std::max<int64_t>(s.producers, static_cast<int64_t>(static_cast<double>(s.count) * scale));
    double rate = 0;
    if (s.rate.rfind("half:", 0) == 0) {
      auto it = chronik_rate.find(s.rate.substr(5));
      if (it == chronik_rate.end()) Die(s.name + ": rate refers to a scenario that has not run: " + s.rate);
      rate = it->second / 2;
    } else {
      rate = std::stod(s.rate);
    }
    std::printf("\n%s: %d B, %lld records, acks=%s, %s, %d partitions, %d producers, linger %d ms, keys %s%s%s%s\n",
                s.name.c_str(), s.size, static_cast<long long>(s.count), s.acks.c_str(), s.compression.c_str(),
                s.partitions, s.producers, s.linger_ms, s.keys.c_str(), s.idempotent ? ", idempotent" : "",
                s.inflight > 0 ? (", " + std::to_string(s.inflight) + " requests in flight").c_str() : "",
                rate > 0 ? (", fixed rate " + std::to_string(static_cast<int64_t>(rate)) + " records/s").c_str() : "");
    // The reference: the mock cluster, or for a secured listener chronik over PLAINTEXT.
    const bool secured = s.security != "plaintext";
    const std::string reference = secured ? "plaintext" : "mock";
    Result mock, chronik;
    if (!chronik_only) {
      if (secured) {
        ChronikTarget t(broker, "plaintext");
        mock = Run(t, s, rate);
      } else {
        MockTarget t;
        mock = Run(t, s, rate);
      }
    }
    {
      ChronikTarget t(broker, s.security);
      chronik = Run(t, s, rate);
    }
    chronik_rate[s.name] = chronik.msgs_per_s;
    if (!chronik_only) PrintRow(reference, mock, s);
    PrintRow(secured ? s.security : "chronik", chronik, s);
    if (!chronik_only) {
      std::printf("  ratio    produce %.2f x %s", chronik.msgs_per_s / mock.msgs_per_s, reference.c_str());
      if (s.consume) {
        std::printf(", consume %.2f x %s", chronik.consume_msgs_per_s / mock.consume_msgs_per_s, reference.c_str());
      }
      std::printf("\n");
    }
    std::fflush(stdout);
    // Not a speed check: a broker that fails deliveries or loses records fails the run.
    if (chronik.errors > 0 || (s.consume && chronik.consumed < chronik.stored)) {
      std::fprintf(stderr, "bench: %s: chronik had %lld delivery errors and returned %lld of %lld records\n",
                   s.name.c_str(), static_cast<long long>(chronik.errors), static_cast<long long>(chronik.consumed),
                   static_cast<long long>(chronik.stored));
      failures = true;
    }
  }
  return failures ? 1 : 0;
}
