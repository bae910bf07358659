#pragma once

// The exact-value half of a partition's index: keywords, numbers and the presence of long text,
// each a term of one FTS5 table per generation (fk_<g>) rather than a row of a B-tree table. FTS5
// writes a transaction's terms as one sorted segment and merges segments in the background, so
// indexing pays for sequential writes, where a B-tree keyed by value paid a random page write per
// value. The terms sort by field, then by value (numbers in an order-preserving encoding), so a
// field's values, a range or a prefix are one range of the fts5vocab table fki_<g>.
//
// A term is: kind, escaped field, kSep, payload. Escaping keeps the bytes kSep and kTermEnd (and
// the escape byte) out of fields and values while keeping their order.

#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace chronik::search::terms {

enum class Kind : char { kKeyword = 'k', kNumber = 'n', kPresence = 'p' };

// A keyword's term; a number's term (-0 is 0; NaN has none); a field's presence term.
std::string Keyword(std::string_view field, std::string_view value);
std::string Number(std::string_view field, double value);
std::string Presence(std::string_view field);

// Every term of `kind` for `field` lies in [FieldStart, FieldEnd).
std::string FieldStart(Kind kind, std::string_view field);
std::string FieldEnd(Kind kind, std::string_view field);

// Every keyword of `field` starting with `prefix` lies in [Keyword(field, prefix), PrefixEnd(..)).
std::string PrefixEnd(std::string_view field, std::string_view prefix);

// A document's terms, as the fk tables' tokenizer splits them: `row` gets the term after the
// others (AppendTerm: one made already; the others make it in place).
void AppendTerm(std::string* row, std::string_view term);
void AppendKeyword(std::string* row, std::string_view field, std::string_view value);
void AppendNumber(std::string* row, std::string_view field, double value);

// Registers on `db` the tokenizer "chronik_terms" (splits rows made by AppendTerm) and the SQL
// functions kw_value(term) and num_value(term), which read a term's value back.
bool Register(sqlite3* db);

std::optional<std::string> KeywordValue(std::string_view term);
std::optional<double> NumberValue(std::string_view term);

}  // namespace chronik::search::terms
