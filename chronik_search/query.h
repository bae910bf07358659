#pragma once

// The Elasticsearch query DSL compiled to SQL over one partition's index (partition_index.h):
// every query becomes a SELECT of (doc, score) rows, one per matching record (doc is its offset),
// so that bool queries compose as joins, unions and differences of their clauses. query_string
// and URI searches (?q=) are parsed into the same DSL first.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace chronik::search {

using SqlValue = std::variant<int64_t, double, std::string>;

struct Sql {
  std::string text;
  std::vector<SqlValue> params;
};

// Which FTS5 column (c0, c1, ...) of a partition's index holds a text field.
using TextColumns = std::map<std::string, int>;

// `partition`: the partition the index holds (ids and _id terms name one); `columns`: its text
// fields (null: none). An error is a query Elasticsearch would refuse (its message is the reason,
// for a 400 parsing_exception).
absl::StatusOr<Sql> CompileQuery(const nlohmann::json& query, int32_t partition, const TextColumns* columns);

// Lucene's query syntax as query_string and ?q= take it: field:value, "phrases", AND/OR/NOT,
// +/-, parentheses, wildcards (* and ?) and ranges ([a TO b], {a TO b}, >=x). As DSL.
absl::StatusOr<nlohmann::json> ParseQueryString(std::string_view text, const std::vector<std::string>& fields,
                                               bool default_and);

// "level.keyword" is the keyword of "level" (the multi-field _mapping advertises): "level".
std::string KeywordField(const std::string& field);

// Tokens as the index's tokenizer (unicode61) splits and folds text, for match and phrases.
std::vector<std::string> Tokenize(std::string_view text);

}  // namespace chronik::search
