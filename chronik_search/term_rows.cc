#include "chronik_search/term_rows.h"

#include <sqlite3.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chronik_search/text_query.h"

namespace chronik::search {

namespace {

using Source = std::function<std::shared_ptr<const TermSnapshot>()>;

enum Column { kTerm = 0, kDoc = 1, kGen = 2 };

// idxNum: which constraints xFilter gets, in this order.
enum Plan {
  kHasGen = 1,
  kHasEq = 2,
  kHasLower = 4,
  kLowerInclusive = 8,
  kHasUpper = 16,
  kUpperInclusive = 32,
};

struct Table {
  sqlite3_vtab base{};
  const Source* source = nullptr;
};

struct Cursor {
  sqlite3_vtab_cursor base{};
  std::shared_ptr<const TermSnapshot> snapshot;
  TermRun::Cursor::Range range;
  std::vector<std::pair<int64_t, const TermRun*>> runs;  // (generation, run) to read, in turn
  size_t next_run = 0;
  std::optional<TermRun::Cursor> at;
  int64_t generation = 0;
  int64_t rowid = 0;
  bool eof = true;
};

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(term TEXT, doc INTEGER, gen HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new Table();
  table->source = static_cast<const Source*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<Table*>(vtab);
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  int gen = -1, eq = -1, lower = -1, upper = -1;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (!c.usable) continue;
    if (c.iColumn == kGen && c.op == SQLITE_INDEX_CONSTRAINT_EQ && gen < 0) gen = i;
    if (c.iColumn != kTerm) continue;
    if (c.op == SQLITE_INDEX_CONSTRAINT_EQ && eq < 0) eq = i;
    if ((c.op == SQLITE_INDEX_CONSTRAINT_GT || c.op == SQLITE_INDEX_CONSTRAINT_GE) && lower < 0) lower = i;
    if ((c.op == SQLITE_INDEX_CONSTRAINT_LT || c.op == SQLITE_INDEX_CONSTRAINT_LE) && upper < 0) upper = i;
  }
  if (eq >= 0) lower = upper = -1;  // the one term is both bounds; others SQLite checks itself
  int plan = 0, arg = 0;
  double cost = 1e12;
  auto use = [&](int i, int bit) {
    plan |= bit;
    info->aConstraintUsage[i].argvIndex = ++arg;
    info->aConstraintUsage[i].omit = 1;
  };
  if (gen >= 0) {
    use(gen, kHasGen);
    cost /= 1000;
  }
  if (eq >= 0) {
    use(eq, kHasEq);
    cost /= 1e6;
  }
  if (lower >= 0) {
    use(lower, kHasLower | (info->aConstraint[lower].op == SQLITE_INDEX_CONSTRAINT_GE ? kLowerInclusive : 0));
    cost /= 100;
  }
  if (upper >= 0) {
    use(upper, kHasUpper | (info->aConstraint[upper].op == SQLITE_INDEX_CONSTRAINT_LE ? kUpperInclusive : 0));
    cost /= 100;
  }
  info->idxNum = plan;
  info->estimatedCost = cost;
  info->estimatedRows = static_cast<sqlite3_int64>(cost);
  return SQLITE_OK;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = new Cursor();
  *out = &cursor->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* c) {
  delete reinterpret_cast<Cursor*>(c);
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* c) {
  auto* cur = reinterpret_cast<Cursor*>(c);
  for (;;) {
    if (cur->at.has_value() && cur->at->Next()) {
      ++cur->rowid;
      return SQLITE_OK;
    }
    if (cur->next_run == cur->runs.size()) {
      cur->at.reset();
      cur->eof = true;
      return SQLITE_OK;
    }
    const auto& [g, run] = cur->runs[cur->next_run++];
    cur->generation = g;
    cur->at.emplace(run, &cur->range);
  }
}

bool Text(sqlite3_value* v, std::string* out) {
  if (sqlite3_value_type(v) == SQLITE_NULL) return false;  // a comparison with NULL matches nothing
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
  out->assign(p == nullptr ? "" : p, static_cast<size_t>(sqlite3_value_bytes(v)));
  return true;
}

int Filter(sqlite3_vtab_cursor* c, int plan, const char*, int argc, sqlite3_value** argv) {
  auto* cur = reinterpret_cast<Cursor*>(c);
  const auto* table = reinterpret_cast<Table*>(c->pVtab);
  cur->at.reset();
  cur->runs.clear();
  cur->next_run = 0;
  cur->rowid = 0;
  cur->eof = true;
  cur->range = {};
  cur->snapshot = (*table->source)();
  int arg = 0;
  std::optional<int64_t> gen;
  if ((plan & kHasGen) != 0 && arg < argc) {
    if (sqlite3_value_type(argv[arg]) != SQLITE_INTEGER) return SQLITE_OK;  // no generation is named so
    gen = sqlite3_value_int64(argv[arg++]);
  }
  bool ok = true;
  if ((plan & kHasEq) != 0 && arg < argc) {
    ok = Text(argv[arg++], &cur->range.lower);
    cur->range.upper = cur->range.lower;
    cur->range.has_lower = cur->range.has_upper = true;
  }
  if ((plan & kHasLower) != 0 && arg < argc) {
    ok = ok && Text(argv[arg++], &cur->range.lower);
    cur->range.has_lower = true;
    cur->range.lower_inclusive = (plan & kLowerInclusive) != 0;
  }
  if ((plan & kHasUpper) != 0 && arg < argc) {
    ok = ok && Text(argv[arg++], &cur->range.upper);
    cur->range.has_upper = true;
    cur->range.upper_inclusive = (plan & kUpperInclusive) != 0;
  }
  if (!ok || cur->snapshot == nullptr) return SQLITE_OK;
  for (const auto& [g, runs] : cur->snapshot->of(RunKind::kExact)) {
    if (gen.has_value() && g != *gen) continue;
    for (const TermSnapshot::Run& r : runs) cur->runs.emplace_back(g, r.run.get());
  }
  cur->eof = false;
  return Next(c);
}

int Eof(sqlite3_vtab_cursor* c) { return reinterpret_cast<Cursor*>(c)->eof ? 1 : 0; }

int ColumnValue(sqlite3_vtab_cursor* c, sqlite3_context* ctx, int column) {
  const auto* cur = reinterpret_cast<Cursor*>(c);
  switch (column) {
    case kTerm:
      sqlite3_result_text(ctx, cur->at->term().data(), static_cast<int>(cur->at->term().size()), SQLITE_TRANSIENT);
      break;
    case kDoc:
      sqlite3_result_int64(ctx, cur->at->doc());
      break;
    default:
      sqlite3_result_int64(ctx, cur->generation);
  }
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* c, sqlite_int64* out) {
  *out = reinterpret_cast<Cursor*>(c)->rowid;
  return SQLITE_OK;
}

// text_rows(doc, score, gen HIDDEN, query HIDDEN, scored HIDDEN): a text query's documents
// (text_query.h), answered whole when the scan starts.
enum TextColumn { kTextDoc = 0, kTextScore = 1, kTextGen = 2, kTextQuery = 3, kTextScored = 4 };

struct TextCursor {
  sqlite3_vtab_cursor base{};
  std::vector<TextMatch> matches;
  size_t at = 0;
};

int TextConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(doc INTEGER, score REAL, gen HIDDEN, query HIDDEN, scored HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new Table();
  table->source = static_cast<const Source*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int TextBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  int args[3] = {-1, -1, -1};  // gen, query, scored
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.op != SQLITE_INDEX_CONSTRAINT_EQ || c.iColumn < kTextGen) continue;
    int& slot = args[c.iColumn - kTextGen];
    if (!c.usable) continue;
    if (slot < 0) slot = i;
  }
  // The three are what the table is asked; a plan without them cannot be answered.
  for (int k = 0; k < 3; ++k) {
    if (args[k] < 0) return SQLITE_CONSTRAINT;
    info->aConstraintUsage[args[k]].argvIndex = k + 1;
    info->aConstraintUsage[args[k]].omit = 1;
  }
  info->estimatedCost = 1000;
  return SQLITE_OK;
}

int TextOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = new TextCursor();
  *out = &cursor->base;
  return SQLITE_OK;
}

int TextClose(sqlite3_vtab_cursor* c) {
  delete reinterpret_cast<TextCursor*>(c);
  return SQLITE_OK;
}

int TextFilter(sqlite3_vtab_cursor* c, int, const char*, int argc, sqlite3_value** argv) {
  auto* cur = reinterpret_cast<TextCursor*>(c);
  const auto* table = reinterpret_cast<Table*>(c->pVtab);
  cur->matches.clear();
  cur->at = 0;
  if (argc != 3 || sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
    return SQLITE_OK;
  }
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  std::optional<TextQuerySpec> query =
      TextQuerySpec::Parse(std::string_view(text, static_cast<size_t>(sqlite3_value_bytes(argv[1]))));
  if (!query.has_value()) {
    sqlite3_free(c->pVtab->zErrMsg);
    c->pVtab->zErrMsg = sqlite3_mprintf("malformed text query");
    return SQLITE_ERROR;
  }
  std::shared_ptr<const TermSnapshot> snapshot = (*table->source)();
  if (snapshot == nullptr) return SQLITE_OK;
  const TermSnapshot::Runs& text_runs = snapshot->of(RunKind::kText);
  auto runs = text_runs.find(sqlite3_value_int64(argv[0]));
  if (runs == text_runs.end()) return SQLITE_OK;
  cur->matches = MatchText(runs->second, *query, sqlite3_value_int(argv[2]) != 0);
  return SQLITE_OK;
}

int TextNext(sqlite3_vtab_cursor* c) {
  ++reinterpret_cast<TextCursor*>(c)->at;
  return SQLITE_OK;
}

int TextEof(sqlite3_vtab_cursor* c) {
  const auto* cur = reinterpret_cast<TextCursor*>(c);
  return cur->at >= cur->matches.size() ? 1 : 0;
}

int TextColumnValue(sqlite3_vtab_cursor* c, sqlite3_context* ctx, int column) {
  const auto* cur = reinterpret_cast<TextCursor*>(c);
  const TextMatch& m = cur->matches[cur->at];
  if (column == kTextDoc) {
    sqlite3_result_int64(ctx, m.doc);
  } else if (column == kTextScore) {
    sqlite3_result_double(ctx, m.score);
  } else {
    sqlite3_result_null(ctx);
  }
  return SQLITE_OK;
}

int TextRowid(sqlite3_vtab_cursor* c, sqlite_int64* out) {
  const auto* cur = reinterpret_cast<TextCursor*>(c);
  *out = static_cast<sqlite_int64>(cur->at);
  return SQLITE_OK;
}

sqlite3_module MakeTextModule() {
  sqlite3_module m{};
  m.iVersion = 1;
  m.xConnect = TextConnect;
  m.xBestIndex = TextBestIndex;
  m.xDisconnect = Disconnect;
  m.xOpen = TextOpen;
  m.xClose = TextClose;
  m.xFilter = TextFilter;
  m.xNext = TextNext;
  m.xEof = TextEof;
  m.xColumn = TextColumnValue;
  m.xRowid = TextRowid;
  return m;
}

sqlite3_module MakeModule() {
  sqlite3_module m{};
  m.iVersion = 1;
  m.xCreate = nullptr;  // eponymous only: term_rows exists on every connection it is registered on
  m.xConnect = Connect;
  m.xBestIndex = BestIndex;
  m.xDisconnect = Disconnect;
  m.xOpen = Open;
  m.xClose = Close;
  m.xFilter = Filter;
  m.xNext = Next;
  m.xEof = Eof;
  m.xColumn = ColumnValue;
  m.xRowid = Rowid;
  return m;
}

}  // namespace

bool RegisterTermRows(sqlite3* db, Source source) {
  static const sqlite3_module terms = MakeModule();
  static const sqlite3_module text = MakeTextModule();
  // One source for both tables, freed with the connection (by the second registration's destructor).
  auto* owned = new Source(std::move(source));
  if (sqlite3_create_module_v2(db, "term_rows", &terms, owned, nullptr) != SQLITE_OK) {
    delete owned;
    return false;
  }
  return sqlite3_create_module_v2(db, "text_rows", &text, owned,
                                  [](void* p) { delete static_cast<Source*>(p); }) == SQLITE_OK;
}

}  // namespace chronik::search
