#include "chronik_auth/audit_log.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chronik_storage/test_util.h"
#include "gtest/gtest.h"

namespace chronik::auth {
namespace {

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(AuditLog, OneJsonLinePerEventWithTime) {
  storage::testing::TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open({.dir = dir.path() + "/audit"});
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->Record({{"event", "authentication"}, {"principal", "User:alice"}, {"outcome", "success"}});
    (*log)->Record({{"event", "admin"}, {"resource", std::string("bad\xff utf8")}});
    (*log)->Flush();
    std::vector<nlohmann::json> lines = Lines((*log)->path());
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["principal"], "User:alice");
    EXPECT_EQ(lines[0]["time"].get<std::string>().size(), 24u);  // 2026-11-30T14:00:00.000Z
    EXPECT_EQ(lines[1]["event"], "admin");
  }
  // Reopened: appended, not truncated.
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open({.dir = dir.path() + "/audit"});
  ASSERT_TRUE(log.ok());
  (*log)->Record({{"event", "x"}});
  (*log)->Flush();
  EXPECT_EQ(Lines((*log)->path()).size(), 3u);
}

TEST(AuditLog, RotatesBySizeKeepingMaxFiles) {
  storage::testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open({.dir = dir.path(), .max_file_bytes = 200, .max_files = 3});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 40; ++i) {
    (*log)->Record({{"event", "admin"}, {"n", i}});
    (*log)->Flush();  // one batch each, so each may rotate
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/audit.log"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/audit.log.1"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/audit.log.2"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/audit.log.3"));
  EXPECT_LE(std::filesystem::file_size(dir.path() + "/audit.log"), 200u);
  std::vector<nlohmann::json> newest = Lines(dir.path() + "/audit.log");
  ASSERT_FALSE(newest.empty());
  EXPECT_EQ(newest.back()["n"], 39);
}

}  // namespace
}  // namespace chronik::auth
