#pragma once

// The Elasticsearch query DSL compiled to SQL over one partition's index (partition_index.h):
// every query becomes a SELECT of (doc, score) rows, one per matching record (doc is its offset),
// so that bool queries compose as joins, unions and differences of their clauses. Text is matched
// by the virtual table text_rows (text_query.h), keywords and numbers as term ranges of the virtual
// table term_rows (terms.h, term_rows.h), each a generation at a time. query_string and URI
// searches (?q=) are parsed into the same DSL first.

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

// The text fields of a partition's index (each with a number of its own).
using TextColumns = std::map<std::string, int>;

// What a query is compiled against: the partition an index holds (ids and _id terms name one), its
// text fields, and its generations (each of the terms half's runs).
struct IndexLayout {
  int32_t partition = 0;
  TextColumns columns;
  std::vector<int64_t> generations;
  // Whether text matches are ranked (BM25): a count, an aggregation or hits sorted by a field need
  // only which documents match, and ranking every match is most of a large match's cost.
  bool scored = true;
};

// An error is a query Elasticsearch would refuse (its message is the reason, for a 400
// parsing_exception).
absl::StatusOr<Sql> CompileQuery(const nlohmann::json& query, const IndexLayout& layout);

// (doc, v) rows: every number of `field` (dates as epoch ms; _timestamp, _offset and _partition
// from the documents themselves), and every keyword of `field`.
Sql NumberValues(const IndexLayout& layout, const std::string& field);
Sql KeywordValues(const IndexLayout& layout, const std::string& field);
// (doc, term) rows: every keyword of `field` as its term (terms.h; kw_value(term) is the keyword).
Sql KeywordTerms(const IndexLayout& layout, const std::string& field);

// Lucene's query syntax as query_string and ?q= take it: field:value, "phrases", AND/OR/NOT,
// +/-, parentheses, wildcards (* and ?) and ranges ([a TO b], {a TO b}, >=x). As DSL.
absl::StatusOr<nlohmann::json> ParseQueryString(std::string_view text, const std::vector<std::string>& fields,
                                               bool default_and);

// "level.keyword" is the keyword of "level" (the multi-field _mapping advertises): "level".
std::string KeywordField(const std::string& field);


}  // namespace chronik::search
