#include "chronik_monitoring/http_server.h"

#include "gtest/gtest.h"

namespace chronik::monitoring {
namespace {

TEST(HttpServerTest, UrlDecodingAndQueryParameters) {
  EXPECT_EQ(UrlDecode("a%2Fb%20c+d", false), "a/b c+d");
  EXPECT_EQ(UrlDecode("a%2fb+c", true), "a/b c");
  EXPECT_EQ(UrlDecode("%zz%4", true), "%zz%4");  // not escapes: kept
  const std::map<std::string, std::string> q = ParseQueryParameters("q=level%3Aerror+AND+x&size=5&v&&e=");
  EXPECT_EQ(q, (std::map<std::string, std::string>{{"q", "level:error AND x"}, {"size", "5"}, {"v", ""}, {"e", ""}}));
}

}  // namespace
}  // namespace chronik::monitoring
