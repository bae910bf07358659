#pragma once

// The terms of a partition's index, each stored with the documents that have it (term_index.h,
// term_run.h): keywords, numbers and the presence of long text (exact terms), the words of text
// fields (with their positions) and each document's length in words. The terms sort by kind, field,
// then value (numbers in an order-preserving encoding), so a field's values, a range or a prefix
// are one range of terms.
//
// A term is: kind, escaped field, kSep, payload. Escaping keeps the bytes kSep and kTermEnd (and
// the escape byte) out of fields and values while keeping their order.

#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace chronik::search::terms {

enum class Kind : char { kKeyword = 'k', kLength = 'l', kNumber = 'n', kPresence = 'p', kText = 't' };

// A keyword's term; a number's term (-0 is 0; NaN has none); a field's presence term.
std::string Keyword(std::string_view field, std::string_view value);
std::string Number(std::string_view field, double value);
std::string Presence(std::string_view field);
// A word of a text field (tokenizer.h), which is the field's start and the word (words need no
// escaping); the term every document with text has, with its length.
std::string Text(std::string_view field, std::string_view word);
std::string TextFieldStart(std::string_view field);
void AppendTextFieldStart(std::string* out, std::string_view field);
inline std::string Length() { return std::string(1, static_cast<char>(Kind::kLength)); }

// Every term of `kind` for `field` lies in [FieldStart, FieldEnd).
std::string FieldStart(Kind kind, std::string_view field);
std::string FieldEnd(Kind kind, std::string_view field);

// Every keyword of `field` starting with `prefix` lies in [Keyword(field, prefix), PrefixEnd(..)).
std::string PrefixEnd(std::string_view field, std::string_view prefix);

// A term made in place at the end of `row` (after kTermEnd if `row` is not empty): an empty `row`
// gets the term alone, without a string of its own.
void AppendKeyword(std::string* row, std::string_view field, std::string_view value);
void AppendNumber(std::string* row, std::string_view field, double value);

// Registers on `db` the SQL functions kw_value(term) and num_value(term), which read a term's
// value back.
bool Register(sqlite3* db);

std::optional<std::string> KeywordValue(std::string_view term);
std::optional<double> NumberValue(std::string_view term);

}  // namespace chronik::search::terms
