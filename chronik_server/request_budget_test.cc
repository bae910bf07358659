#include "chronik_server/request_budget.h"

#include <vector>

#include "gtest/gtest.h"

namespace chronik::server {
namespace {

// Acquires `bytes`; `events` records +id when granted (now or later) and -id when refused.
void Acquire(RequestBudget& budget, int64_t bytes, std::vector<int>& events, int id) {
  if (budget.TryAcquire(bytes, [&events, id](bool granted) { events.push_back(granted ? id : -id); })) {
    events.push_back(id);
  }
}

TEST(RequestBudgetTest, WaitsForBytesAndAdmitsInOrder) {
  RequestBudget budget(/*max_bytes=*/100, /*max_requests=*/10);
  std::vector<int> events;
  Acquire(budget, 60, events, 1);
  Acquire(budget, 60, events, 2);   // 60 < 100 in use: admitted (may overshoot)
  Acquire(budget, 10, events, 3);   // 120 in use: waits
  Acquire(budget, 500, events, 4);  // waits behind 3
  EXPECT_EQ(events, (std::vector<int>{1, 2}));
  budget.Release(60);  // 60 in use: 3 gets in, then 70 < 100: 4 too
  EXPECT_EQ(events, (std::vector<int>{1, 2, 3, 4}));
}

TEST(RequestBudgetTest, OneRequestLargerThanTheBudgetGetsThroughAlone) {
  RequestBudget budget(10, 10);
  std::vector<int> events;
  Acquire(budget, 1000, events, 1);
  Acquire(budget, 1, events, 2);
  EXPECT_EQ(events, (std::vector<int>{1}));
  budget.Release(1000);
  EXPECT_EQ(events, (std::vector<int>{1, 2}));
}

TEST(RequestBudgetTest, CountsRequestsAndCloseRefusesWaiters) {
  RequestBudget budget(-1, 2);
  std::vector<int> events;
  for (int i = 1; i <= 3; ++i) Acquire(budget, 1, events, i);
  EXPECT_EQ(events, (std::vector<int>{1, 2}));
  budget.Close();
  Acquire(budget, 1, events, 4);
  EXPECT_EQ(events, (std::vector<int>{1, 2, -3, -4}));
}

TEST(RequestBudgetTest, GrantGivesBackOnce) {
  RequestBudget budget(-1, 1);
  std::vector<int> events;
  {
    Acquire(budget, 5, events, 1);
    RequestBudget::Grant grant(budget, 5);
    Acquire(budget, 5, events, 2);
    EXPECT_EQ(events, (std::vector<int>{1}));
    grant.Release();
    EXPECT_EQ(events, (std::vector<int>{1, 2}));
  }  // the destructor does not release again
  Acquire(budget, 5, events, 3);
  EXPECT_EQ(events, (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace chronik::server
