#include "chronik_search/terms.h"

#include <sqlite3.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_format.h"

namespace chronik::search::terms {

namespace {

constexpr char kEscape = '\x01';
constexpr char kSep = '\x02';      // between a term's field and its value
constexpr char kTermEnd = '\x03';  // between a row's terms

// Bytes 0..3 become kEscape followed by '0'..'3': every other byte is above them, so the order of
// escaped strings is the order of the originals.
void AppendEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 3) {
      out->push_back(kEscape);
      out->push_back(static_cast<char>('0' + u));
    } else {
      out->push_back(c);
    }
  }
}

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == kEscape && i + 1 < s.size()) {
      out.push_back(static_cast<char>(s[++i] - '0'));
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Start(Kind kind, std::string_view field) {
  std::string t(1, static_cast<char>(kind));
  AppendEscaped(&t, field);
  return t;
}

// The value after the field: nullopt if `term` is not of `kind`.
std::optional<std::string_view> Payload(std::string_view term, Kind kind) {
  if (term.empty() || term[0] != static_cast<char>(kind)) return std::nullopt;
  const size_t sep = term.find(kSep);
  if (sep == std::string_view::npos) return std::nullopt;
  return term.substr(sep + 1);
}

// Doubles as unsigned integers in the same order: negative numbers inverted, positive ones above
// them.
uint64_t OrderedBits(double v) {
  const auto bits = std::bit_cast<uint64_t>(v);
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
}

double FromOrderedBits(uint64_t u) {
  return std::bit_cast<double>((u >> 63) != 0 ? u & ~(uint64_t{1} << 63) : ~u);
}

// The FTS5 tokenizer ABI as SQLite documents it (Debian ships no fts5.h).
struct Fts5Tokenizer;
using TokenCallback = int (*)(void* ctx, int flags, const char* token, int size, int start, int end);
struct fts5_tokenizer {
  int (*xCreate)(void* user, const char** args, int nargs, Fts5Tokenizer** out);
  void (*xDelete)(Fts5Tokenizer*);
  int (*xTokenize)(Fts5Tokenizer*, void* ctx, int flags, const char* text, int size, TokenCallback token);
};
struct fts5_api {
  int iVersion;
  int (*xCreateTokenizer)(fts5_api* api, const char* name, void* user, fts5_tokenizer* tokenizer,
                          void (*destroy)(void*));
};

int CreateTokenizer(void*, const char**, int, Fts5Tokenizer** out) {
  static char instance;  // stateless: any non-null handle
  *out = reinterpret_cast<Fts5Tokenizer*>(&instance);
  return SQLITE_OK;
}
void DeleteTokenizer(Fts5Tokenizer*) {}
int Tokenize(Fts5Tokenizer*, void* ctx, int, const char* text, int size, TokenCallback token) {
  int start = 0;
  for (int i = 0; i <= size; ++i) {
    if (i == size || text[i] == kTermEnd) {
      if (i > start) {
        if (int rc = token(ctx, 0, text + start, i - start, start, i); rc != SQLITE_OK) return rc;
      }
      start = i + 1;
    }
  }
  return SQLITE_OK;
}

void KeywordValueFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (p == nullptr) return;
  std::optional<std::string> v = KeywordValue(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  if (v.has_value()) sqlite3_result_text(ctx, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
}

void NumberValueFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (p == nullptr) return;
  std::optional<double> v = NumberValue(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  if (v.has_value()) sqlite3_result_double(ctx, *v);
}

}  // namespace

void AppendKeyword(std::string* row, std::string_view field, std::string_view value) {
  if (!row->empty()) row->push_back(kTermEnd);
  row->push_back(static_cast<char>(Kind::kKeyword));
  AppendEscaped(row, field);
  row->push_back(kSep);
  AppendEscaped(row, value);
}

void AppendNumber(std::string* row, std::string_view field, double value) {
  if (!row->empty()) row->push_back(kTermEnd);
  row->push_back(static_cast<char>(Kind::kNumber));
  AppendEscaped(row, field);
  row->push_back(kSep);
  absl::StrAppendFormat(row, "%016x", OrderedBits(value == 0 ? 0.0 : value));
}

std::string Keyword(std::string_view field, std::string_view value) {
  std::string t;
  AppendKeyword(&t, field, value);
  return t;
}

std::string Number(std::string_view field, double value) {
  std::string t;
  AppendNumber(&t, field, value);
  return t;
}

std::string Presence(std::string_view field) { return Start(Kind::kPresence, field); }

std::string FieldStart(Kind kind, std::string_view field) { return Start(kind, field) + kSep; }
std::string FieldEnd(Kind kind, std::string_view field) { return Start(kind, field) + kTermEnd; }

std::string PrefixEnd(std::string_view field, std::string_view prefix) {
  return Keyword(field, prefix) + "\xff";  // above every byte of UTF-8
}

void AppendTerm(std::string* row, std::string_view term) {
  if (!row->empty()) row->push_back(kTermEnd);
  row->append(term);
}

std::optional<std::string> KeywordValue(std::string_view term) {
  std::optional<std::string_view> p = Payload(term, Kind::kKeyword);
  if (!p.has_value()) return std::nullopt;
  return Unescape(*p);
}

std::optional<double> NumberValue(std::string_view term) {
  std::optional<std::string_view> p = Payload(term, Kind::kNumber);
  if (!p.has_value() || p->size() != 16) return std::nullopt;
  uint64_t u = 0;
  for (char c : *p) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    u = u << 4 | static_cast<uint64_t>(d);
  }
  return FromOrderedBits(u);
}

bool Register(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) != SQLITE_OK) return false;
  sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", nullptr);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (api == nullptr || api->iVersion < 2) return false;
  static fts5_tokenizer tokenizer = {CreateTokenizer, DeleteTokenizer, Tokenize};
  if (api->xCreateTokenizer(api, "chronik_terms", nullptr, &tokenizer, nullptr) != SQLITE_OK) return false;
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  return sqlite3_create_function_v2(db, "kw_value", 1, flags, nullptr, KeywordValueFn, nullptr, nullptr, nullptr) ==
             SQLITE_OK &&
         sqlite3_create_function_v2(db, "num_value", 1, flags, nullptr, NumberValueFn, nullptr, nullptr, nullptr) ==
             SQLITE_OK;
}

}  // namespace chronik::search::terms
