#include "chronik_common/host_port.h"

#include "gtest/gtest.h"

namespace chronik::common {
namespace {

TEST(HostPort, Addresses) {
  EXPECT_TRUE(IsIpv6Literal("::1"));
  EXPECT_TRUE(IsIpv6Literal("fe80::1:2"));
  EXPECT_FALSE(IsIpv6Literal("[::1]"));
  EXPECT_FALSE(IsIpv6Literal("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("1.2.3"));
  EXPECT_EQ(BracketedHost("::1"), "[::1]");
  EXPECT_EQ(BracketedHost("broker.example"), "broker.example");
  EXPECT_EQ(BracketedHost("10.0.0.1"), "10.0.0.1");
}

TEST(HostPort, Splits) {
  struct Case {
    std::string_view text;
    std::string host;
    std::optional<std::string> port;
  };
  for (const Case& c : {Case{"h", "h", std::nullopt}, Case{"h:9092", "h", "9092"}, Case{":9092", "", "9092"},
                        Case{"", "", std::nullopt}, Case{"[::1]", "::1", std::nullopt},
                        Case{"[::1]:9000", "::1", "9000"}, Case{"[fe80::1]:", "fe80::1", ""},
                        Case{"10.1.2.3:80", "10.1.2.3", "80"}, Case{"[fe80::1%eth0]:9092", "fe80::1%eth0", "9092"}}) {
    auto got = SplitHostPort(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(got->host, c.host) << c.text;
    EXPECT_EQ(got->port, c.port) << c.text;
  }
}

TEST(HostPort, RefusesAmbiguousOrBrokenText) {
  for (std::string_view text : {"::1", "::1:9092", "[::1", "[::1]9092", "[::1]x:1", "[localhost]:1", "[10.0.0.1]", "[%eth0]:1"}) {
    EXPECT_FALSE(SplitHostPort(text).ok()) << text;
  }
}

}  // namespace
}  // namespace chronik::common
