#include "chronik_search/term_index.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_search/sqlite_statement.h"
#include "chronik_search/terms.h"

namespace chronik::search {

namespace {

// Bumped with the layout; a file of another version makes the whole index be rebuilt.
constexpr int64_t kSchemaVersion = 1;

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS term_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO term_meta VALUES ('indexed_offset', 0)",
};

}  // namespace

std::string TermIndex::IndexedOffsetQuery() {
  return absl::StrCat("SELECT v FROM ", kSchemaName, ".term_meta WHERE k = 'indexed_offset'");
}

std::vector<std::string> TermIndex::GenerationSchema(int64_t g) {
  return {
      // Exact terms need no positions, and no lengths: they are never ranked.
      absl::StrCat("CREATE VIRTUAL TABLE IF NOT EXISTS fk_", g,
                   " USING fts5(t, content = '', detail = none, columnsize = 0, tokenize = 'chronik_terms')"),
      absl::StrCat("CREATE VIRTUAL TABLE IF NOT EXISTS fki_", g, " USING fts5vocab(fk_", g, ", 'instance')"),
  };
}

absl::StatusOr<std::unique_ptr<TermIndex>> TermIndex::Open(const std::string& path, bool* created) {
  absl::StatusOr<sqlite3*> db = OpenDatabase(path, /*create=*/true);
  if (!db.ok()) return db.status();
  std::unique_ptr<TermIndex> index(new TermIndex(*db));
  if (!terms::Register(*db)) return SqliteError(*db, "registering the term tokenizer");
  absl::StatusOr<bool> empty = PrepareIndexDatabase(*db, path, "term_meta", kSchemaVersion,
                                                    std::vector<std::string>(std::begin(kSchema), std::end(kSchema)));
  if (!empty.ok()) return empty.status();
  *created = *empty;
  Statement offset(*db, "SELECT v FROM term_meta WHERE k = 'indexed_offset'");
  if (offset.Step() != SQLITE_ROW) return SqliteError(*db, "reading the indexed offset");
  index->indexed_offset_ = offset.Int(0);
  Statement generations(*db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'fk_[0-9]*'");
  while (generations.Step() == SQLITE_ROW) {
    const std::string name = generations.Text(0);
    int64_t g = 0;
    if (absl::SimpleAtoi(name.substr(3), &g)) index->generations_.insert(g);
  }
  Statement check(*db, "PRAGMA quick_check");
  if (!check.status("checking").ok() || check.Step() != SQLITE_ROW || check.Text(0) != "ok") {
    return absl::DataLossError(absl::StrCat("search index ", path, " is damaged"));
  }
  return index;
}

TermIndex::~TermIndex() { sqlite3_close(db_); }

absl::Status TermIndex::Exec(const std::string& sql) const { return ExecOn(db_, sql); }

absl::Status TermIndex::Add(int64_t g, const std::vector<Document>& docs, int64_t deleted_below, int64_t next_offset) {
  if (next_offset <= indexed_offset_) return absl::OkStatus();  // a crash left this half ahead
  if (absl::Status st = Exec("BEGIN"); !st.ok()) return st;
  auto fail = [this](absl::Status st) {
    (void)Exec("ROLLBACK");
    return st;
  };
  const bool new_generation = !generations_.contains(g);
  if (new_generation) {
    for (const std::string& sql : GenerationSchema(g)) {
      if (absl::Status st = Exec(sql); !st.ok()) return fail(st);
    }
  }
  Statement fk(db_, absl::StrCat("INSERT INTO fk_", g, " (rowid, t) VALUES (?, ?)"));
  Statement meta(db_, "UPDATE term_meta SET v = ? WHERE k = 'indexed_offset'");
  for (const Statement* s : {&fk, &meta}) {
    if (absl::Status st = s->status("preparing"); !st.ok()) return fail(st);
  }
  const int64_t from = std::max(indexed_offset_, deleted_below);
  std::string row;
  for (const Document& d : docs) {
    if (d.offset < from) continue;
    row.clear();
    for (const auto& [name, value] : d.keywords) terms::AppendKeyword(&row, name, value);
    for (const std::string& name : d.long_text) terms::AppendTerm(&row, terms::Presence(name));
    for (const auto& [name, value] : d.numbers) terms::AppendNumber(&row, name, value);
    if (row.empty()) continue;
    fk.Bind(1, d.offset);
    fk.Bind(2, row);
    if (fk.Step() != SQLITE_DONE) return fail(SqliteError(db_, "adding keywords and numbers"));
    fk.Reset();
  }
  meta.Bind(1, next_offset);
  if (meta.Step() != SQLITE_DONE) return fail(SqliteError(db_, "recording the indexed offset"));
  if (absl::Status st = Exec("COMMIT"); !st.ok()) return fail(st);
  if (new_generation) generations_.insert(g);
  indexed_offset_ = next_offset;
  return absl::OkStatus();
}

absl::Status TermIndex::AddGeneration(int64_t g) {
  if (generations_.contains(g)) return absl::OkStatus();
  if (absl::Status st = ExecInTransaction(db_, GenerationSchema(g)); !st.ok()) return st;
  generations_.insert(g);
  return absl::OkStatus();
}

absl::Status TermIndex::Drop(const std::vector<int64_t>& drop, const std::vector<int64_t>& empty) {
  if (drop.empty() && empty.empty()) return absl::OkStatus();
  std::vector<std::string> statements;
  for (int64_t g : drop) {
    statements.push_back(absl::StrCat("DROP TABLE IF EXISTS fki_", g));
    statements.push_back(absl::StrCat("DROP TABLE IF EXISTS fk_", g));
  }
  for (int64_t g : empty) statements.push_back(absl::StrCat("INSERT INTO fk_", g, " (fk_", g, ") VALUES ('delete-all')"));
  if (absl::Status st = ExecInTransaction(db_, statements); !st.ok()) return st;
  for (int64_t g : drop) {
    generations_.erase(g);
    emptied_.erase(g);
  }
  emptied_.insert(empty.begin(), empty.end());
  return Exec("PRAGMA incremental_vacuum");
}

absl::Status TermIndex::DropBelow(int64_t oldest) {
  std::vector<int64_t> drop, empty;
  for (int64_t g : generations_) {
    if (g >= oldest) break;
    (emptied_.contains(g) ? drop : empty).push_back(g);
  }
  return Drop(drop, empty);
}

absl::Status TermIndex::Sync(const std::vector<int64_t>& generations) {
  std::vector<int64_t> drop;
  for (int64_t g : generations_) {
    if (generations.empty() || g < generations.front()) drop.push_back(g);
  }
  if (absl::Status st = Drop(drop, {}); !st.ok()) return st;
  for (int64_t g : generations) {
    if (absl::Status st = AddGeneration(g); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace chronik::search
