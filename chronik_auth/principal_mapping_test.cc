#include "chronik_auth/principal_mapping.h"

#include "gtest/gtest.h"

namespace chronik::auth {
namespace {

TEST(PrincipalMapper, DefaultIsTheDistinguishedName) {
  absl::StatusOr<PrincipalMapper> m = PrincipalMapper::Parse("DEFAULT");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m->Map("CN=alice,OU=eng,O=Example"), "CN=alice,OU=eng,O=Example");
}

TEST(PrincipalMapper, RulesInOrderWithCaseAndFallback) {
  absl::StatusOr<PrincipalMapper> m = PrincipalMapper::Parse(
      "RULE:^CN=([a-zA-Z.]*),OU=eng,O=(.*)$/$1@$2/L, RULE:^CN=(.*?),OU=ops.*$/$1/U,\nDEFAULT");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m->Map("CN=Alice,OU=eng,O=Example"), "alice@example");
  EXPECT_EQ(*m->Map("CN=bob,OU=ops,O=Example"), "BOB");
  EXPECT_EQ(*m->Map("CN=carol,OU=hr"), "CN=carol,OU=hr");
}

TEST(PrincipalMapper, EscapedSlashAndNoMatch) {
  absl::StatusOr<PrincipalMapper> m = PrincipalMapper::Parse("RULE:^CN=(.*)\\/x$/$1/");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m->Map("CN=a/x"), "a");
  EXPECT_EQ(m->Map("CN=a").status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(PrincipalMapper, RefusesWhatItCannotParse) {
  EXPECT_FALSE(PrincipalMapper::Parse("").ok());
  EXPECT_FALSE(PrincipalMapper::Parse("RULE:abc").ok());
  EXPECT_FALSE(PrincipalMapper::Parse("RULE:(/x/").ok());
  EXPECT_FALSE(PrincipalMapper::Parse("SOMETHING").ok());
  EXPECT_FALSE(PrincipalMapper::Parse("DEFAULT junk").ok());
}

}  // namespace
}  // namespace chronik::auth
