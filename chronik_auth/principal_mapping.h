#pragma once

// Kafka's ssl.principal.mapping.rules: how the subject of a client certificate becomes a user
// name. Rules are tried in order; the first whose pattern matches the whole distinguished name
// (RFC 2253, "CN=alice,OU=eng,O=Example") gives the name:
//   DEFAULT                         the distinguished name itself
//   RULE:<pattern>/<replacement>/   a regular expression and its replacement ($1 for a group),
//   RULE:<pattern>/<replacement>/L  ... then lower case, or U: upper case
// A name no rule matches is refused, as Kafka does.

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace chronik::auth {

class PrincipalMapper {
 public:
  // An error names the rule that cannot be parsed.
  static absl::StatusOr<PrincipalMapper> Parse(std::string_view rules);

  absl::StatusOr<std::string> Map(const std::string& distinguished_name) const;

 private:
  struct Rule {
    bool is_default = false;
    std::regex pattern;
    std::string replacement;
    char case_fold = 0;  // 0, 'L' or 'U'
  };
  std::vector<Rule> rules_;
};

}  // namespace chronik::auth
