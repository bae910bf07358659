#include "chronik_ingest/producer_ids.h"

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace chronik::ingest {
namespace {

// Ids are never handed out twice, within a run or across restarts (the block end is durable).
TEST(ProducerIdManagerTest, IdsAreUniqueAcrossRestarts) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/pids-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::set<int64_t> seen;
  for (int restart = 0; restart < 3; ++restart) {
    auto store = storage::MetadataStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    ProducerIdManager ids(**store);
    for (int i = 0; i < 1500; ++i) {
      absl::StatusOr<int64_t> id = ids.Next();
      ASSERT_TRUE(id.ok()) << id.status();
      EXPECT_TRUE(seen.insert(*id).second) << "id " << *id << " handed out twice";
    }
  }
  EXPECT_EQ(seen.size(), 4500u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chronik::ingest
