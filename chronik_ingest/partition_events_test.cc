#include "chronik_ingest/partition_events.h"

#include <chrono>
#include <future>

#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

using std::chrono::steady_clock;
using storage::PartitionId;
using storage::TopicPartition;

const TopicPartition kTp{"t", PartitionId(0)};
constexpr auto kLong = std::chrono::hours(1);

// The race a long-polling fetch used to lose: data arrives after its read and before its wait.
// Armed before the read, the wait still sees that event and wakes at once, not at the deadline.
TEST(PartitionEventsTest, AnEventBetweenArmAndStartWakesAtOnce) {
  PartitionEvents events;
  PartitionEvents::Handle h = events.Arm({kTp});
  events.Notify(kTp);  // "the fsync completes in between"
  std::promise<void> woke;
  events.Start(h, steady_clock::now() + kLong, [&woke] { woke.set_value(); });
  EXPECT_EQ(woke.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(PartitionEventsTest, WithoutAnEventTheDeadlineWakes) {
  PartitionEvents events;
  PartitionEvents::Handle h = events.Arm({kTp});
  events.Notify(TopicPartition{"other", PartitionId(0)});
  std::promise<steady_clock::time_point> woke;
  const auto deadline = steady_clock::now() + std::chrono::milliseconds(50);
  events.Start(h, deadline, [&woke] { woke.set_value(steady_clock::now()); });
  EXPECT_GE(woke.get_future().get(), deadline);
}

TEST(PartitionEventsTest, AnEventAfterStartWakes) {
  PartitionEvents events;
  std::promise<void> woke;
  events.Wait({kTp}, steady_clock::now() + kLong, [&woke] { woke.set_value(); });
  events.Notify(kTp);
  EXPECT_EQ(woke.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

// A wait on no partitions is a plain timer (a produce's timeout_ms): it fires at its deadline.
TEST(PartitionEventsTest, AWaitOnNoPartitionsIsATimer) {
  PartitionEvents events;
  std::promise<steady_clock::time_point> woke;
  const auto deadline = steady_clock::now() + std::chrono::milliseconds(20);
  events.Wait({}, deadline, [&woke] { woke.set_value(steady_clock::now()); });
  auto f = woke.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_GE(f.get(), deadline);
}

TEST(PartitionEventsTest, CancelledArmedWaitNeverWakes) {
  int wakes = 0;
  {
    PartitionEvents events;
    PartitionEvents::Handle h = events.Arm({kTp});
    events.Notify(kTp);
    events.Cancel(h);
    events.Start(h, steady_clock::now(), [&wakes] { ++wakes; });  // a Start after Cancel is a no-op
    PartitionEvents::Handle w = events.Wait({kTp}, steady_clock::now() + kLong, [&wakes] { ++wakes; });
    events.Cancel(w);
    events.Notify(kTp);
  }  // the destructor answers whoever still waits: nobody here
  EXPECT_EQ(wakes, 0);
}

// The broker stops the events while the logs and the remote log that a wake reads still live:
// Stop wakes each waiting fetch once, on the caller's thread; after it, waits are dropped, and
// the destructor wakes nobody again.
TEST(PartitionEventsTest, StopWakesWhoeverWaitsOnceAndThenNobody) {
  int wakes = 0;
  int woken_before_stop_returned = 0;
  {
    PartitionEvents events;
    events.Wait({kTp}, steady_clock::now() + kLong, [&wakes] { ++wakes; });
    events.Wait({}, steady_clock::now() + kLong, [&wakes] { ++wakes; });
    events.Stop();
    woken_before_stop_returned = wakes;
    events.Wait({kTp}, steady_clock::now(), [&wakes] { ++wakes; });
    events.Notify(kTp);
    events.Stop();
  }
  EXPECT_EQ(woken_before_stop_returned, 2);
  EXPECT_EQ(wakes, 2);
}

}  // namespace
}  // namespace chronik::ingest
