// Lucene's query syntax (query_string, ?q=) parsed into the query DSL.

#include <cctype>
#include <optional>

#include "absl/strings/str_cat.h"
#include "chronik_search/query.h"

namespace chronik::search {

namespace {

using json = nlohmann::json;

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>& fields, bool default_and)
      : s_(text), fields_(fields), default_and_(default_and) {}

  absl::StatusOr<json> Parse() {
    absl::StatusOr<json> q = Or();
    if (!q.ok()) return q;
    Skip();
    if (pos_ < s_.size()) return Error("unexpected ", std::string(1, s_[pos_]));
    return q;
  }

 private:
  template <typename... T>
  absl::Status Error(const T&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("Failed to parse query [", std::string(s_), "]: ", parts...));
  }

  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    Skip();
    return pos_ >= s_.size() || s_[pos_] == ')';
  }
  bool Keyword(std::string_view word) {
    Skip();
    if (s_.substr(pos_, word.size()) != word) return false;
    const size_t after = pos_ + word.size();
    if (after < s_.size() && !std::isspace(static_cast<unsigned char>(s_[after])) && s_[after] != '(') return false;
    pos_ = after;
    return true;
  }

  static json Combine(const char* occur, std::vector<json> clauses) {
    if (clauses.size() == 1) return std::move(clauses[0]);
    json b = {{occur, std::move(clauses)}};
    if (std::string_view(occur) == "should") b["minimum_should_match"] = 1;
    return json{{"bool", b}};
  }

  absl::StatusOr<json> Or() {
    std::vector<json> any;
    absl::StatusOr<json> first = And();
    if (!first.ok()) return first;
    any.push_back(*std::move(first));
    while (!AtEnd()) {
      if (!Keyword("OR") && !Keyword("||") && default_and_) break;
      absl::StatusOr<json> next = And();
      if (!next.ok()) return next;
      any.push_back(*std::move(next));
    }
    return Combine("should", std::move(any));
  }

  absl::StatusOr<json> And() {
    std::vector<json> all;
    absl::StatusOr<json> first = Unary();
    if (!first.ok()) return first;
    all.push_back(*std::move(first));
    while (!AtEnd()) {
      const size_t save = pos_;
      if (Keyword("OR") || Keyword("||")) {
        pos_ = save;
        break;
      }
      const bool explicit_and = Keyword("AND") || Keyword("&&");
      if (!explicit_and && !default_and_) break;
      absl::StatusOr<json> next = Unary();
      if (!next.ok()) return next;
      all.push_back(*std::move(next));
    }
    return Combine("must", std::move(all));
  }

  absl::StatusOr<json> Unary() {
    Skip();
    if (pos_ >= s_.size()) return Error("a clause is missing");
    if (Keyword("NOT") || s_[pos_] == '!' || s_[pos_] == '-') {
      if (s_[pos_] == '!' || s_[pos_] == '-') ++pos_;
      absl::StatusOr<json> inner = Unary();
      if (!inner.ok()) return inner;
      return json{{"bool", {{"must_not", json::array({*inner})}}}};
    }
    if (s_[pos_] == '+') ++pos_;
    return Primary();
  }

  absl::StatusOr<json> Primary() {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      absl::StatusOr<json> inner = Or();
      if (!inner.ok()) return inner;
      Skip();
      if (pos_ >= s_.size() || s_[pos_] != ')') return Error("a ) is missing");
      ++pos_;
      return inner;
    }
    // field:value, or a value for the default fields.
    std::optional<std::string> field;
    const size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.' ||
                                s_[pos_] == '@' || s_[pos_] == '-')) {
      ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == ':' && pos_ > start) {
      field = std::string(s_.substr(start, pos_ - start));
      ++pos_;
    } else {
      pos_ = start;
    }
    if (pos_ >= s_.size()) return Error("a value is missing");
    const char c = s_[pos_];
    if (c == '"') {
      std::string phrase;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        phrase += s_[pos_++];
      }
      if (pos_ >= s_.size()) return Error("a closing quote is missing");
      ++pos_;
      return Leaf(field, "match_phrase", phrase);
    }
    if (c == '[' || c == '{') return RangeClause(field);
    if (c == '>' || c == '<') {
      std::string op(1, c);
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] == '=') {
        op += '=';
        ++pos_;
      }
      const std::string v = Word();
      if (v.empty() || !field.has_value()) return Error("a comparison needs a field and a value");
      const char* bound = op == ">" ? "gt" : op == ">=" ? "gte" : op == "<" ? "lt" : "lte";
      return json{{"range", {{*field, {{bound, v}}}}}};
    }
    const std::string word = Word();
    if (word.empty()) return Error("a value is missing");
    if (word == "*" && field.has_value()) return json{{"exists", {{"field", *field}}}};
    if (word == "*") return json{{"match_all", json::object()}};
    if (word.find_first_of("*?") != std::string::npos) {
      // "fai*": words of text fields that start so (as Lucene applies it to each term), and
      // keywords that do; other patterns match keywords.
      const std::string stem = word.substr(0, word.size() - 1);
      if (word.back() == '*' && !stem.empty() && stem.find_first_of("*?") == std::string::npos) {
        return json{{"bool", {{"should", json::array({Leaf(field, "match_phrase_prefix", stem),
                                                      Leaf(field, "wildcard", word)})},
                              {"minimum_should_match", 1}}}};
      }
      return Leaf(field, "wildcard", word);
    }
    return Leaf(field, "match", word);
  }

  std::string Word() {
    std::string out;
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) && s_[pos_] != '(' && s_[pos_] != ')') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    return out;
  }

  absl::StatusOr<json> RangeClause(const std::optional<std::string>& field) {
    const bool lower_inclusive = s_[pos_++] == '[';
    Skip();
    const std::string lo = Word();
    if (!Keyword("TO")) return Error("a range is [a TO b]");
    Skip();
    std::string hi;
    while (pos_ < s_.size() && s_[pos_] != ']' && s_[pos_] != '}' && !std::isspace(static_cast<unsigned char>(s_[pos_]))) {
      hi += s_[pos_++];
    }
    Skip();
    if (pos_ >= s_.size() || (s_[pos_] != ']' && s_[pos_] != '}')) return Error("a range is not closed");
    const bool upper_inclusive = s_[pos_++] == ']';
    if (!field.has_value()) return Error("a range needs a field");
    json bounds = json::object();
    if (lo != "*") bounds[lower_inclusive ? "gte" : "gt"] = lo;
    if (hi != "*") bounds[upper_inclusive ? "lte" : "lt"] = hi;
    return json{{"range", {{*field, bounds}}}};
  }

  // One value over the field, or over each default field (any of them matching).
  json Leaf(const std::optional<std::string>& field, const char* kind, const std::string& value) {
    std::vector<std::string> targets;
    if (field.has_value()) {
      targets.push_back(*field);
    } else if (!fields_.empty()) {
      targets = fields_;
    } else {
      targets.push_back("_all");
    }
    std::vector<json> any;
    for (const std::string& f : targets) {
      // Wildcards match keywords, which keep their case; words are matched as text.
      const std::string kf = std::string_view(kind) == "wildcard" && f == "_all" ? "value" : f;
      any.push_back(json{{kind, {{kf, value}}}});
    }
    return Combine("should", std::move(any));
  }

  std::string_view s_;
  const std::vector<std::string>& fields_;
  const bool default_and_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseQueryString(std::string_view text, const std::vector<std::string>& fields,
                                               bool default_and) {
  return Parser(text, fields, default_and).Parse();
}

}  // namespace chronik::search
