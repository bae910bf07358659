#include "chronik_auth/principal_mapping.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace chronik::auth {
namespace {

// Reads up to the next '/' not escaped by a backslash; "\/" stands for '/'.
bool ReadPart(std::string_view& in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 1 < in.size() && in[i + 1] == '/') {
      out.push_back('/');
      ++i;
      continue;
    }
    if (in[i] == '/') {
      in.remove_prefix(i + 1);
      return true;
    }
    out.push_back(in[i]);
  }
  return false;
}

}  // namespace

absl::StatusOr<PrincipalMapper> PrincipalMapper::Parse(std::string_view rules) {
  PrincipalMapper mapper;
  std::string_view in = rules;
  for (;;) {
    while (!in.empty() && (in.front() == ',' || std::isspace(static_cast<unsigned char>(in.front())))) {
      in.remove_prefix(1);
    }
    if (in.empty()) break;
    Rule rule;
    if (in.starts_with("DEFAULT")) {
      rule.is_default = true;
      in.remove_prefix(7);
    } else if (in.starts_with("RULE:")) {
      const std::string_view start = in;
      in.remove_prefix(5);
      std::string pattern;
      if (!ReadPart(in, pattern) || !ReadPart(in, rule.replacement)) {
        return absl::InvalidArgumentError(
            absl::StrCat("ssl.principal.mapping.rules: \"", std::string(start), "\" is not RULE:pattern/replacement/"));
      }
      try {
        rule.pattern = std::regex(pattern);
      } catch (const std::regex_error& e) {
        return absl::InvalidArgumentError(
            absl::StrCat("ssl.principal.mapping.rules: \"", pattern, "\" is not a regular expression: ", e.what()));
      }
      if (!in.empty() && (in.front() == 'L' || in.front() == 'U')) {
        rule.case_fold = in.front();
        in.remove_prefix(1);
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("ssl.principal.mapping.rules: \"", std::string(in),
                                                     "\" is neither DEFAULT nor RULE:pattern/replacement/[LU]"));
    }
    while (!in.empty() && std::isspace(static_cast<unsigned char>(in.front()))) in.remove_prefix(1);
    if (!in.empty() && in.front() != ',') {
      return absl::InvalidArgumentError(
          absl::StrCat("ssl.principal.mapping.rules: unexpected \"", std::string(in), "\" after a rule"));
    }
    mapper.rules_.push_back(std::move(rule));
  }
  if (mapper.rules_.empty()) return absl::InvalidArgumentError("ssl.principal.mapping.rules: no rule");
  return mapper;
}

absl::StatusOr<std::string> PrincipalMapper::Map(const std::string& distinguished_name) const {
  for (const Rule& rule : rules_) {
    if (rule.is_default) return distinguished_name;
    if (!std::regex_match(distinguished_name, rule.pattern)) continue;
    std::string name = std::regex_replace(distinguished_name, rule.pattern, rule.replacement,
                                          std::regex_constants::format_first_only);
    if (rule.case_fold == 'L') name = absl::AsciiStrToLower(name);
    if (rule.case_fold == 'U') name = absl::AsciiStrToUpper(name);
    return name;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("no ssl.principal.mapping.rules rule matches the certificate subject \"", distinguished_name, "\""));
}

}  // namespace chronik::auth
