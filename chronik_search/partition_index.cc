#include "chronik_search/partition_index.h"

#include <cmath>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sqlite3.h"

namespace chronik::search {

namespace {

constexpr int kTextColumns = PartitionIndex::kTextColumns;

// Bumped when the layout changes: an index of another version is rebuilt from the log.
constexpr int64_t kSchemaVersion = 4;

// The layout, chosen for indexing speed (one FTS row per document, integer-keyed postings):
// - ft: one FTS5 row per document (rowid = offset), a column per text field of the partition
//   (textcols maps the first kTextColumns fields seen to c0, c1, ...);
// - kwv: each distinct (field, keyword) once, under a 64-bit hash; kwp: (hash, doc) postings;
//   the view kw joins them back into (doc, field, v);
// - num: (field, v, doc), clustered.
constexpr const char* kSchema[] = {
    "PRAGMA journal_mode = WAL",
    // A cache of the log: after a crash of the machine a damaged file fails quick_check at open and
    // is rebuilt, so commits need not wait for the disk.
    "PRAGMA synchronous = OFF",
    "PRAGMA cache_size = -65536",
    "PRAGMA journal_size_limit = 16777216",
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('indexed_offset', 0)",
    "CREATE TABLE IF NOT EXISTS docs (off INTEGER PRIMARY KEY, ts INTEGER NOT NULL, key TEXT, source TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS docs_ts ON docs (ts)",
    "CREATE TABLE IF NOT EXISTS textcols (field TEXT PRIMARY KEY, col INTEGER NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS kwv (h INTEGER PRIMARY KEY, field TEXT NOT NULL, v TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS kwv_fv ON kwv (field, v)",
    "CREATE TABLE IF NOT EXISTS kwp (h INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (h, doc)) WITHOUT ROWID",
    "CREATE VIEW IF NOT EXISTS kw AS SELECT kwp.doc AS doc, kwv.field AS field, kwv.v AS v FROM kwv JOIN kwp ON kwp.h = kwv.h",
    "CREATE TABLE IF NOT EXISTS numt (field TEXT NOT NULL, v REAL NOT NULL, doc INTEGER NOT NULL, "
    "PRIMARY KEY (field, v, doc)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS fields (field TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (field, kind))",
    "CREATE TABLE IF NOT EXISTS presence (field TEXT NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (field, doc)) WITHOUT ROWID",
};

// The numbers queries see: the fields' (numt), and each document's own timestamp, offset and
// partition as _timestamp, _offset and _partition (no rows of their own: a constant field term
// drops the other arms before they run).
std::string NumView(int32_t partition) {
  return absl::StrCat(
      "CREATE VIEW IF NOT EXISTS num AS SELECT doc, field, v FROM numt"
      " UNION ALL SELECT off AS doc, '_timestamp' AS field, ts AS v FROM docs"
      " UNION ALL SELECT off AS doc, '_offset' AS field, off AS v FROM docs"
      " UNION ALL SELECT off AS doc, '_partition' AS field, ",
      partition, " AS v FROM docs");
}

std::string FtsSchema() {
  std::string columns;
  for (int i = 0; i < kTextColumns; ++i) absl::StrAppend(&columns, "c", i, ", ");
  return absl::StrCat("CREATE VIRTUAL TABLE IF NOT EXISTS ft USING fts5(", columns, "tokenize = 'unicode61')");
}

// FNV-1a of field, NUL, value: the key of a keyword's postings.
int64_t KeywordHash(std::string_view field, std::string_view value) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(field);
  mix(std::string_view("\0", 1));
  mix(value);
  return static_cast<int64_t>(h);
}

absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(absl::StrCat("search index: ", std::string(what), ": ", sqlite3_errmsg(db)));
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  absl::Status status(std::string_view what) const {
    return rc_ == SQLITE_OK ? absl::OkStatus() : SqliteError(db_, what);
  }
  void Bind(int i, const SqlValue& v) {
    if (const auto* n = std::get_if<int64_t>(&v)) {
      sqlite3_bind_int64(stmt_, i, *n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      sqlite3_bind_double(stmt_, i, *d);
    } else {
      const std::string& s = std::get<std::string>(v);
      sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
  }
  void BindAll(const std::vector<SqlValue>& params, int first = 1) {
    for (size_t i = 0; i < params.size(); ++i) Bind(first + static_cast<int>(i), params[i]);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool Null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  bool IsText(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_TEXT; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

std::string NumberKey(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrCat(v);
}

}  // namespace

void AggregationPartial::Merge(const AggregationPartial& o) {
  for (const auto& [k, n] : o.keyword_counts) keyword_counts[k] += n;
  for (const auto& [k, n] : o.number_counts) number_counts[k] += n;
  distinct.insert(o.distinct.begin(), o.distinct.end());
  count += o.count;
  sum += o.sum;
  if (o.min.has_value()) min = min.has_value() ? std::min(*min, *o.min) : *o.min;
  if (o.max.has_value()) max = max.has_value() ? std::max(*max, *o.max) : *o.max;
}

absl::StatusOr<std::unique_ptr<PartitionIndex>> PartitionIndex::Open(const std::string& path, int32_t partition) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    absl::Status st = SqliteError(db, absl::StrCat("opening ", path));
    sqlite3_close(db);
    return st;
  }
  std::unique_ptr<PartitionIndex> index(new PartitionIndex(db, path, partition));
  for (const char* sql : kSchema) {
    if (absl::Status st = index->Exec(sql); !st.ok()) return st;
  }
  if (absl::Status st = index->Exec(FtsSchema().c_str()); !st.ok()) return st;
  if (absl::Status st = index->Exec(NumView(partition).c_str()); !st.ok()) return st;
  {
    Statement version(db, "SELECT v FROM meta WHERE k = 'schema'");
    const bool found = version.Step() == SQLITE_ROW;
    if (found && version.Int(0) != kSchemaVersion) {
      return absl::DataLossError(absl::StrCat("search index ", path, " has layout ", version.Int(0)));
    }
    if (!found) {
      Statement set(db, absl::StrCat("INSERT INTO meta VALUES ('schema', ", kSchemaVersion, ")"));
      if (set.Step() != SQLITE_DONE) return SqliteError(db, "writing the layout version");
    }
  }
  if (absl::Status st = index->LoadColumns(); !st.ok()) return st;
  // A damaged file shows here rather than in the middle of indexing.
  Statement check(db, "PRAGMA quick_check");
  if (!check.status("checking").ok() || check.Step() != SQLITE_ROW || check.Text(0) != "ok") {
    return absl::DataLossError(absl::StrCat("search index ", path, " is damaged"));
  }
  return index;
}

PartitionIndex::~PartitionIndex() { sqlite3_close(db_); }

absl::Status PartitionIndex::Exec(const char* sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status st = absl::InternalError(absl::StrCat("search index: ", sql, ": ", error ? error : "?"));
    sqlite3_free(error);
    return st;
  }
  return absl::OkStatus();
}

absl::Status PartitionIndex::Add(const std::vector<Document>& docs, int64_t next_offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = Exec("BEGIN"); !st.ok()) return st;
  auto fail = [this](absl::Status st) {
    (void)Exec("ROLLBACK");
    (void)LoadColumns();  // columns given out in the rolled-back transaction are not taken
    return st;
  };
  std::string ft_sql = "INSERT OR REPLACE INTO ft (rowid";
  for (int i = 0; i < kTextColumns; ++i) absl::StrAppend(&ft_sql, ", c", i);
  ft_sql += ") VALUES (?";
  for (int i = 0; i < kTextColumns; ++i) ft_sql += ", ?";
  ft_sql += ")";
  Statement doc(db_, "INSERT OR REPLACE INTO docs (off, ts, key, source) VALUES (?, ?, ?, ?)");
  Statement ft(db_, ft_sql);
  Statement kwv(db_, "INSERT OR IGNORE INTO kwv (h, field, v) VALUES (?, ?, ?)");
  Statement kwp(db_, "INSERT OR IGNORE INTO kwp (h, doc) VALUES (?, ?)");
  Statement num(db_, "INSERT OR IGNORE INTO numt (field, v, doc) VALUES (?, ?, ?)");
  Statement field(db_, "INSERT OR IGNORE INTO fields (field, kind) VALUES (?, ?)");
  Statement column(db_, "INSERT INTO textcols (field, col) VALUES (?, ?)");
  Statement presence(db_, "INSERT OR IGNORE INTO presence (field, doc) VALUES (?, ?)");
  Statement meta(db_, "UPDATE meta SET v = ? WHERE k = 'indexed_offset'");
  for (const Statement* s : {&doc, &ft, &kwv, &kwp, &num, &field, &column, &presence, &meta}) {
    if (absl::Status st = s->status("preparing"); !st.ok()) return fail(st);
  }
  std::set<std::pair<std::string, std::string>> seen;
  auto note_field = [&](const std::string& name, const char* kind) -> bool {
    if (!seen.emplace(name, kind).second) return true;
    field.BindAll({name, std::string(kind)});
    const bool ok = field.Step() == SQLITE_DONE;
    field.Reset();
    return ok;
  };
  for (const Document& d : docs) {
    doc.BindAll({d.offset, d.timestamp});
    if (d.key.has_value()) doc.Bind(3, *d.key);
    doc.Bind(4, d.source);
    if (doc.Step() != SQLITE_DONE) return fail(SqliteError(db_, "adding a document"));
    doc.Reset();
    if (!d.text.empty()) {
      std::vector<std::string> row(kTextColumns);
      for (const auto& [name, text] : d.text) {
        auto it = columns_.find(name);
        if (it == columns_.end() && static_cast<int>(columns_.size()) < kTextColumns) {
          const int col = static_cast<int>(columns_.size());
          column.BindAll({name, int64_t{col}});
          if (column.Step() != SQLITE_DONE) return fail(SqliteError(db_, "adding a text field"));
          column.Reset();
          it = columns_.emplace(name, col).first;
        }
        if (it == columns_.end()) continue;  // past the partition's text columns: keyword only
        std::string& cell = row[static_cast<size_t>(it->second)];
        absl::StrAppend(&cell, cell.empty() ? "" : "\n", text);
        if (!note_field(name, "text")) return fail(SqliteError(db_, "adding a field"));
      }
      ft.Bind(1, d.offset);
      for (int i = 0; i < kTextColumns; ++i) {
        if (!row[static_cast<size_t>(i)].empty()) ft.Bind(2 + i, row[static_cast<size_t>(i)]);
      }
      if (ft.Step() != SQLITE_DONE) return fail(SqliteError(db_, "adding text"));
      ft.Reset();
    }
    for (const auto& [name, value] : d.keywords) {
      const int64_t h = KeywordHash(name, value);
      if (known_keywords_.insert(h).second) {
        // The dictionary keeps each (field, value) once; the set spares most lookups.
        if (known_keywords_.size() > 1'000'000) known_keywords_.clear();
        kwv.BindAll({h, name, value});
        if (kwv.Step() != SQLITE_DONE) return fail(SqliteError(db_, "adding a keyword"));
        kwv.Reset();
      }
      kwp.BindAll({h, d.offset});
      if (kwp.Step() != SQLITE_DONE || !note_field(name, "keyword")) return fail(SqliteError(db_, "adding a keyword"));
      kwp.Reset();
    }
    for (const std::string& name : d.long_text) {
      presence.BindAll({name, d.offset});
      if (presence.Step() != SQLITE_DONE) return fail(SqliteError(db_, "adding a field"));
      presence.Reset();
    }
    for (const auto& [name, value] : d.numbers) {
      num.BindAll({name, value, d.offset});
      if (num.Step() != SQLITE_DONE || !note_field(name, "number")) return fail(SqliteError(db_, "adding a number"));
      num.Reset();
    }
  }
  meta.Bind(1, next_offset);
  if (meta.Step() != SQLITE_DONE) return fail(SqliteError(db_, "recording the indexed offset"));
  return Exec("COMMIT");
}

absl::Status PartitionIndex::DeleteBelow(int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = Exec("BEGIN"); !st.ok()) return st;
  const std::pair<const char*, int64_t> deletes[] = {
      {"DELETE FROM docs WHERE off < ?", offset},
      {"DELETE FROM kwp WHERE doc < ?", offset},
      {"DELETE FROM numt WHERE doc < ?", offset},
      {"DELETE FROM presence WHERE doc < ?", offset},
      {"DELETE FROM ft WHERE rowid < ?", offset},
  };
  for (const auto& [sql, bound] : deletes) {
    Statement s(db_, sql);
    s.Bind(1, bound);
    if (!s.status("preparing").ok() || s.Step() != SQLITE_DONE) {
      absl::Status st = SqliteError(db_, "deleting documents");
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  return Exec("COMMIT");
}

namespace {

// Aborts a statement once the search's deadline passed.
int PastDeadline(void* deadline) {
  return std::chrono::steady_clock::now() > *static_cast<std::chrono::steady_clock::time_point*>(deadline) ? 1 : 0;
}

}  // namespace

absl::StatusOr<SearchResult> PartitionIndex::Search(const Sql& query, const SortSpec& sort, int64_t limit,
                                                    const std::vector<AggregationSpec>& aggregations,
                                                    std::chrono::steady_clock::time_point deadline) const {
  std::lock_guard<std::mutex> lock(mu_);
  SearchResult result;
  sqlite3_progress_handler(db_, 4096, PastDeadline, &deadline);
  struct ClearHandler {
    sqlite3* db;
    ~ClearHandler() { sqlite3_progress_handler(db, 0, nullptr, nullptr); }
  } clear{db_};
  auto failed = [&](std::string_view what) -> absl::Status {
    if (sqlite3_errcode(db_) == SQLITE_INTERRUPT) {
      result.timed_out = true;
      return absl::OkStatus();
    }
    const int code = sqlite3_errcode(db_);
    // A query the compiler let through but FTS5 refuses (a query text it cannot parse).
    if (code == SQLITE_ERROR) return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", sqlite3_errmsg(db_)));
    return SqliteError(db_, what);
  };

  {
    Statement count(db_, absl::StrCat("SELECT COUNT(*) FROM (", query.text, ")"));
    if (absl::Status st = count.status("counting"); !st.ok()) return failed("counting");
    count.BindAll(query.params);
    const int rc = count.Step();
    if (rc != SQLITE_ROW) {
      if (absl::Status st = failed("counting"); !st.ok()) return st;
      return result;
    }
    result.total = count.Int(0);
  }

  if (limit > 0) {
    std::string sort_expr = "q.score";
    std::string sort_join;
    std::vector<SqlValue> params = query.params;
    switch (sort.kind) {
      case SortSpec::Kind::kScore: sort_expr = "q.score"; break;
      case SortSpec::Kind::kOffset: sort_expr = "q.doc"; break;
      case SortSpec::Kind::kTimestamp: sort_expr = "d.ts"; break;
      case SortSpec::Kind::kNumber:
      case SortSpec::Kind::kKeyword:
        // A field's values by document, once, rather than a lookup per matching document.
        sort_expr = "s.v";
        sort_join = absl::StrCat(" LEFT JOIN (SELECT doc, ", sort.descending ? "MAX" : "MIN", "(v) AS v FROM ",
                                 sort.kind == SortSpec::Kind::kNumber ? "num" : "kw",
                                 " WHERE field = ? GROUP BY doc) s ON s.doc = q.doc");
        params.push_back(sort.field);
        break;
    }
    Statement hits(db_, absl::StrCat("SELECT q.doc, q.score, d.ts, d.key, d.source, ", sort_expr, " AS sv FROM (",
                                     query.text, ") q JOIN docs d ON d.off = q.doc", sort_join,
                                     " ORDER BY sv IS NULL, sv ", sort.descending ? "DESC" : "ASC",
                                     ", q.doc ASC LIMIT ?"));
    if (!hits.status("searching").ok()) return failed("searching");
    params.emplace_back(std::in_place_index<0>, limit);
    hits.BindAll(params);
    int rc;
    while ((rc = hits.Step()) == SQLITE_ROW) {
      Hit h;
      h.partition = partition_;
      h.offset = hits.Int(0);
      h.score = hits.Double(1);
      h.timestamp = hits.Int(2);
      if (!hits.Null(3)) h.key = hits.Text(3);
      h.source = hits.Text(4);
      if (sort.kind != SortSpec::Kind::kScore && !hits.Null(5)) {
        if (hits.IsText(5)) {
          h.sort_value = hits.Text(5);
        } else {
          h.sort_value = hits.Double(5);
        }
      }
      result.hits.push_back(std::move(h));
    }
    if (rc != SQLITE_DONE) {
      if (absl::Status st = failed("searching"); !st.ok()) return st;
      return result;
    }
  }

  if (aggregations.empty() || result.timed_out) return result;
  if (absl::Status st = Exec("CREATE TEMP TABLE IF NOT EXISTS m (doc INTEGER PRIMARY KEY)"); !st.ok()) return st;
  if (absl::Status st = Exec("DELETE FROM m"); !st.ok()) return st;
  {
    Statement fill(db_, absl::StrCat("INSERT OR IGNORE INTO m SELECT doc FROM (", query.text, ")"));
    if (!fill.status("aggregating").ok()) return failed("aggregating");
    fill.BindAll(query.params);
    if (fill.Step() != SQLITE_DONE) {
      if (absl::Status st = failed("aggregating"); !st.ok()) return st;
      return result;
    }
  }
  // Each aggregation is one SQL statement over the matching documents (m), run on numbers first
  // or keywords first by its kind; a field holds one kind or the other (dates are both, and
  // aggregate as numbers).
  for (const AggregationSpec& a : aggregations) {
    AggregationPartial p;
    using Kind = AggregationSpec::Kind;
    const bool numeric_first = a.kind != Kind::kTerms && a.kind != Kind::kCardinality;
    for (int pass = 0; pass < 2; ++pass) {
      const bool numbers = (pass == 0) == numeric_first;
      // "+doc": membership in m is checked per value row, rather than every document of m looked
      // up under every value (which costs a probe per document and value).
      const std::string where =
          absl::StrCat(" FROM ", numbers ? "num" : "kw", " WHERE field = ? AND +doc IN (SELECT doc FROM m)");
      std::vector<std::pair<std::string, std::vector<SqlValue>>> statements;
      switch (a.kind) {
        case Kind::kTerms:
          statements.push_back({absl::StrCat("SELECT v, COUNT(DISTINCT doc)", where, " GROUP BY v"), {a.field}});
          break;
        case Kind::kCardinality:
          statements.push_back({absl::StrCat("SELECT DISTINCT v", where), {a.field}});
          break;
        case Kind::kHistogram:
          if (!numbers) continue;
          statements.push_back({absl::StrCat("SELECT floor(v / ?) * ? AS b, COUNT(DISTINCT doc) FROM num WHERE field = ?"
                                             " AND +doc IN (SELECT doc FROM m) GROUP BY b"),
                                {a.interval, a.interval, a.field}});
          break;
        case Kind::kRange:
          if (!numbers) continue;
          for (const auto& [from, to] : a.ranges) {
            std::vector<SqlValue> params = {a.field};
            std::string sql = absl::StrCat("SELECT COUNT(DISTINCT doc)", where);
            if (from) {
              sql += " AND v >= ?";
              params.push_back(*from);
            }
            if (to) {
              sql += " AND v < ?";
              params.push_back(*to);
            }
            statements.push_back({sql, params});
          }
          break;
        case Kind::kStats:
          statements.push_back({absl::StrCat(numbers ? "SELECT COUNT(v), TOTAL(v), MIN(v), MAX(v)" : "SELECT COUNT(v)", where),
                                {a.field}});
          break;
      }
      bool any = false;
      for (size_t i = 0; i < statements.size(); ++i) {
        Statement st(db_, statements[i].first);
        if (!st.status("aggregating").ok()) return failed("aggregating");
        st.BindAll(statements[i].second);
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) {
          switch (a.kind) {
            case Kind::kTerms:
              if (numbers) {
                p.number_counts[st.Double(0)] += st.Int(1);
              } else {
                p.keyword_counts[st.Text(0)] += st.Int(1);
              }
              any = true;
              break;
            case Kind::kCardinality:
              p.distinct.insert(numbers ? NumberKey(st.Double(0)) : st.Text(0));
              any = true;
              break;
            case Kind::kHistogram:
              p.number_counts[st.Double(0)] += st.Int(1);
              any = true;
              break;
            case Kind::kRange:
              if (st.Int(0) > 0) p.number_counts[static_cast<double>(i)] += st.Int(0);
              any = any || st.Int(0) > 0;
              break;
            case Kind::kStats:
              if (st.Int(0) == 0) break;
              any = true;
              p.count += st.Int(0);
              if (numbers) {
                p.sum += st.Double(1);
                p.min = p.min.has_value() ? std::min(*p.min, st.Double(2)) : st.Double(2);
                p.max = p.max.has_value() ? std::max(*p.max, st.Double(3)) : st.Double(3);
              }
              break;
          }
        }
        if (rc != SQLITE_DONE) {
          if (absl::Status err = failed("aggregating"); !err.ok()) return err;
          return result;
        }
      }
      if (any) break;
    }
    result.aggregations.push_back(std::move(p));
  }
  return result;
}

absl::Status PartitionIndex::LoadColumns() {
  columns_.clear();
  Statement s(db_, "SELECT field, col FROM textcols");
  if (absl::Status st = s.status("reading text columns"); !st.ok()) return st;
  while (s.Step() == SQLITE_ROW) columns_[s.Text(0)] = static_cast<int>(s.Int(1));
  return absl::OkStatus();
}

absl::StatusOr<Sql> PartitionIndex::Compile(const nlohmann::json& query) const {
  std::lock_guard<std::mutex> lock(mu_);
  return CompileQuery(query, partition_, &columns_);
}

absl::StatusOr<std::optional<Hit>> PartitionIndex::Get(int64_t offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_, "SELECT ts, key, source FROM docs WHERE off = ?");
  if (absl::Status st = s.status("reading"); !st.ok()) return st;
  s.Bind(1, offset);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<Hit>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading");
  Hit h;
  h.partition = partition_;
  h.offset = offset;
  h.timestamp = s.Int(0);
  if (!s.Null(1)) h.key = s.Text(1);
  h.source = s.Text(2);
  return std::optional<Hit>(std::move(h));
}

absl::StatusOr<std::map<std::string, std::set<std::string>>> PartitionIndex::Fields() const {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_, "SELECT field, kind FROM fields");
  if (absl::Status st = s.status("reading fields"); !st.ok()) return st;
  std::map<std::string, std::set<std::string>> out;
  while (s.Step() == SQLITE_ROW) out[s.Text(0)].insert(s.Text(1));
  return out;
}

IndexStats PartitionIndex::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  IndexStats stats;
  Statement docs(db_, "SELECT COUNT(*) FROM docs");
  if (docs.Step() == SQLITE_ROW) stats.documents = docs.Int(0);
  Statement meta(db_, "SELECT v FROM meta WHERE k = 'indexed_offset'");
  if (meta.Step() == SQLITE_ROW) stats.indexed_offset = meta.Int(0);
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = std::filesystem::file_size(path_ + suffix, ec);
    if (!ec) stats.size_bytes += static_cast<int64_t>(size);
  }
  return stats;
}

}  // namespace chronik::search
