// The listener in process, with a handler table of its own: what the broker-wide request budget
// (queued.max.requests) admits, observed from inside the handlers.

#include "chronik_server/kafka_listener.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "chronik_ingest/dispatcher.h"
#include "chronik_ingest/handler_table.h"
#include "chronik_protocol/messages/heartbeat.h"
#include "chronik_server/test_client.h"
#include "gtest/gtest.h"

namespace chronik::server {
namespace {

using protocol::HeartbeatRequest;
using protocol::HeartbeatResponse;

// Runs `clients` connections sending `requests` requests each to a handler that holds its request
// for a while, under a budget of `queued_max_requests`; returns the most requests seen between
// being admitted and decoded at once.
int MostAdmittedAtOnce(int32_t queued_max_requests, int clients, int requests, bool blocking = false) {
  std::atomic<int> current{0};
  std::atomic<int> most{0};
  ingest::HandlerTable table;
  table.Add<HeartbeatRequest, HeartbeatResponse>(4, [&](const ingest::RequestContext&, const HeartbeatRequest&) {
    const int now = ++current;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    // The request still holds its budget here (it is given back once the handler has decoded it
    // and returned): long enough for other connections' requests to pile up behind it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --current;
    return HeartbeatResponse{};
  }, ingest::HandlerTraits{.blocking = blocking});
  boost::asio::thread_pool pool(4);
  ingest::Dispatcher dispatcher(table, [&pool](std::function<void()> work) { boost::asio::post(pool, std::move(work)); });
  boost::asio::io_context io;
  ListenerOptions options;
  options.bind_addr = "127.0.0.1";
  options.port = 0;
  options.queued_max_requests = queued_max_requests;
  KafkaListener listener(io, dispatcher, options);
  if (!listener.Bind().ok()) std::abort();
  if (!listener.Listen().ok()) std::abort();
  listener.Start();
  std::vector<std::thread> io_threads;
  for (int i = 0; i < clients; ++i) io_threads.emplace_back([&io] { io.run(); });

  std::vector<std::thread> senders;
  std::atomic<int> answered{0};
  for (int c = 0; c < clients; ++c) {
    senders.emplace_back([&] {
      testing::TestClient client(listener.bound_port());
      for (int i = 0; i < requests; ++i) {
        if (client.Call<HeartbeatResponse>(HeartbeatRequest{}, 4).ok()) ++answered;
      }
    });
  }
  for (auto& t : senders) t.join();
  listener.Stop();
  for (auto& t : io_threads) t.join();
  pool.join();
  EXPECT_EQ(answered.load(), clients * requests);
  return most.load();
}

TEST(KafkaListenerTest, RequestBudgetBoundsRequestsInFlight) {
  EXPECT_EQ(MostAdmittedAtOnce(/*queued_max_requests=*/1, /*clients=*/4, /*requests=*/10), 1);
  // The same load with room for three: they do overlap (so the bound above is the budget at
  // work, not an accident of scheduling), and never more than three.
  const int most = MostAdmittedAtOnce(3, 4, 10);
  EXPECT_GT(most, 1);
  EXPECT_LE(most, 3);
}

// A blocking handler decodes its request on the handler pool, after the connection has moved on:
// the request keeps its budget until then, so the pool never holds more than the budget admits.
TEST(KafkaListenerTest, RequestBudgetCoversRequestsQueuedForTheHandlerPool) {
  EXPECT_EQ(MostAdmittedAtOnce(1, 4, 10, /*blocking=*/true), 1);
  const int most = MostAdmittedAtOnce(3, 4, 10, /*blocking=*/true);
  EXPECT_GT(most, 1);
  EXPECT_LE(most, 3);
}

}  // namespace
}  // namespace chronik::server
