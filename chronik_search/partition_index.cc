#include "chronik_search/partition_index.h"

#include <pthread.h>

#include <cmath>
#include <filesystem>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "chronik_search/sqlite_statement.h"
#include "chronik_search/term_index.h"
#include "chronik_search/term_rows.h"
#include "chronik_search/terms.h"

namespace chronik::search {

namespace {

// A field's kinds and whether it has a text column, as bits (PartitionIndex::field_bits_).
constexpr uint8_t kColumnBit = 8;
uint8_t FieldBit(const char* kind) {
  switch (kind[0]) {
    case 't':
      return 1;  // text
    case 'k':
      return 2;  // keyword
    default:
      return 4;  // number
  }
}

// Bumped when the layout changes: an index of another version is rebuilt from the log.
constexpr int64_t kSchemaVersion = 9;

// The layout: this database holds what a search returns and the index's own records; every term
// (the words of text with their positions, keywords, numbers) is the terms half's, in runs of its
// own beside this file (term_index.h), written by a second thread and read through the virtual
// tables term_rows and text_rows (term_rows.h).
// - docs: each document's _source, timestamp and key (rowid = offset), the only copy of its text;
// - generations: the documents from `base` on are in the terms half's generation g, until the
//   next one's base; a generation wholly below the log start is dropped with its runs, which is
//   how deleting old documents frees their space;
// - textcols: the text fields (the fields a match on _all searches), each with a number;
// - fields: every field with its kinds, for _mapping;
// - meta: the offset indexing reached, and the offset below which documents are deleted (what
//   is left of them in the oldest generation is filtered out of every search).
constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('indexed_offset', 0)",
    "INSERT OR IGNORE INTO meta VALUES ('deleted_below', 0)",
    "CREATE TABLE IF NOT EXISTS docs (off INTEGER PRIMARY KEY, ts INTEGER NOT NULL, key TEXT, source TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS docs_ts ON docs (ts)",
    "CREATE TABLE IF NOT EXISTS textcols (field TEXT PRIMARY KEY, col INTEGER NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS fields (field TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (field, kind))",
    "CREATE TABLE IF NOT EXISTS generations (g INTEGER PRIMARY KEY, base INTEGER NOT NULL)",
};

// The text columns and generations queries compile against, and the offset below which documents
// are deleted, as the database has them (in the caller's transaction, if one is open).
struct StoredLayout {
  IndexLayout layout;
  std::vector<int64_t> bases;  // each generation's first offset
  int64_t deleted_below = 0;
};
absl::StatusOr<StoredLayout> ReadLayout(sqlite3* db, int32_t partition) {
  StoredLayout out;
  out.layout.partition = partition;
  Statement columns(db, "SELECT field, col FROM textcols");
  Statement generations(db, "SELECT g, base FROM generations ORDER BY g");
  Statement deleted(db, "SELECT v FROM meta WHERE k = 'deleted_below'");
  for (const Statement* s : {&columns, &generations, &deleted}) {
    if (absl::Status st = s->status("reading the index"); !st.ok()) return st;
  }
  while (columns.Step() == SQLITE_ROW) out.layout.columns[columns.Text(0)] = static_cast<int>(columns.Int(1));
  while (generations.Step() == SQLITE_ROW) {
    out.layout.generations.push_back(generations.Int(0));
    out.bases.push_back(generations.Int(1));
  }
  out.deleted_below = deleted.Step() == SQLITE_ROW ? deleted.Int(0) : 0;
  return out;
}

// Every document below the lower of the two halves' indexed offsets is in both: the text half's
// as the search connection `db` sees it (in its transaction if one is open), the terms half's as
// `terms` has it.
absl::StatusOr<int64_t> IndexedOffsetOn(sqlite3* db, const TermSnapshot& terms) {
  Statement text(db, "SELECT v FROM main.meta WHERE k = 'indexed_offset'");
  if (text.Step() != SQLITE_ROW) return SqliteError(db, "reading the indexed offset");
  return std::min(text.Int(0), terms.indexed_offset);
}

std::string NumberKey(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrCat(v);
}

}  // namespace

double MonthStartMs(int64_t months_since_year_zero) {
  const absl::CivilMonth month(months_since_year_zero / 12, static_cast<int>(months_since_year_zero % 12) + 1);
  return static_cast<double>(absl::ToUnixMillis(absl::FromCivil(month, absl::UTCTimeZone())));
}

void AggregationPartial::Merge(const AggregationPartial& o) {
  for (const auto& [k, n] : o.keyword_counts) keyword_counts[k] += n;
  for (const auto& [k, n] : o.number_counts) number_counts[k] += n;
  distinct.insert(o.distinct.begin(), o.distinct.end());
  count += o.count;
  sum += o.sum;
  if (o.min.has_value()) min = min.has_value() ? std::min(*min, *o.min) : *o.min;
  if (o.max.has_value()) max = max.has_value() ? std::max(*max, *o.max) : *o.max;
}

std::string PartitionIndex::TermsPath(const std::string& path) { return path + "-terms"; }

std::vector<std::string> PartitionIndex::Files(const std::string& path) {
  std::vector<std::string> out;
  // The terms' directory; its -wal and -shm are what layouts before 7 (a terms database) left.
  for (const std::string& base : {path, TermsPath(path)}) {
    for (const char* suffix : {"", "-wal", "-shm"}) out.push_back(base + suffix);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PartitionIndex>> PartitionIndex::Open(const std::string& path, int32_t partition,
                                                                      int64_t generation_documents) {
  absl::StatusOr<sqlite3*> db = OpenDatabase(path, /*create=*/true);
  if (!db.ok()) return db.status();
  std::unique_ptr<PartitionIndex> index(new PartitionIndex(*db, path, partition, generation_documents));
  // An index of another layout is refused before anything is written to it.
  absl::StatusOr<bool> prepared = PrepareIndexDatabase(*db, path, "meta", kSchemaVersion,
                                                       std::vector<std::string>(std::begin(kSchema), std::end(kSchema)));
  if (!prepared.ok()) return prepared.status();
  const bool empty = *prepared;
  if (empty) {
    // Terms without the documents they belong to are of no use: both halves start over.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove_all(TermsPath(path) + suffix, ec);
    }
  }
  if (absl::Status st = index->Load(); !st.ok()) return st;
  if (index->layout_.generations.empty()) {
    if (absl::Status st = index->Exec("BEGIN"); !st.ok()) return st;
    if (absl::Status st = index->AddGeneration(0, 0); !st.ok()) return st;
    if (absl::Status st = index->Exec("COMMIT"); !st.ok()) return st;
  }
  // A damaged file shows here rather than in the middle of indexing.
  {
    Statement check(*db, "PRAGMA quick_check");
    if (!check.status("checking").ok() || check.Step() != SQLITE_ROW || check.Text(0) != "ok") {
      return absl::DataLossError(absl::StrCat("search index ", path, " is damaged"));
    }
  }
  bool terms_created = false;
  absl::StatusOr<std::unique_ptr<TermIndex>> term_index = TermIndex::Open(TermsPath(path), &terms_created);
  if (!term_index.ok()) return term_index.status();
  if (terms_created && !empty) {
    return absl::DataLossError(absl::StrCat("search index ", path, " lost its terms (", TermsPath(path), ")"));
  }
  index->terms_ = *std::move(term_index);
  // A crash between the halves' commits can leave the terms half with generations dropped here, or
  // without one started here.
  if (absl::Status st = index->terms_->Sync(index->layout_.generations); !st.ok()) return st;
  // Searches read through a connection of their own: in WAL mode they see the last commit while
  // the indexer writes the next, instead of waiting for each other.
  absl::StatusOr<sqlite3*> reader = OpenDatabase(path, /*create=*/false);
  if (!reader.ok()) return reader.status();
  index->reader_ = *reader;
  if (!terms::Register(index->reader_)) return SqliteError(index->reader_, "registering the term functions");
  // A search's scans read the snapshot it took at its start (under read_mu_, as they run).
  PartitionIndex* self = index.get();
  if (!RegisterTermRows(index->reader_, [self] {
        return self->search_terms_ != nullptr ? self->search_terms_ : self->terms_->Snapshot();
      })) {
    return SqliteError(index->reader_, "registering term_rows");
  }
  if (absl::Status st = ExecOn(index->reader_, "PRAGMA cache_size = -32768"); !st.ok()) return st;
  return index;
}

PartitionIndex::~PartitionIndex() {
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

absl::Status PartitionIndex::Exec(const std::string& sql) const { return ExecOn(db_, sql); }

absl::Status PartitionIndex::Load() {
  // Read whole before any of it is taken: a failure leaves what the index had, and is made good by
  // the next Add (loaded_ false).
  loaded_ = false;
  absl::StatusOr<StoredLayout> stored = ReadLayout(db_, partition_);
  if (!stored.ok()) return stored.status();
  std::map<std::string, std::set<std::string>, std::less<>> fields;
  {
    Statement rows(db_, "SELECT field, kind FROM fields");
    if (absl::Status st = rows.status("reading the index"); !st.ok()) return st;
    int rc;
    while ((rc = rows.Step()) == SQLITE_ROW) fields[rows.Text(0)].insert(rows.Text(1));
    if (rc != SQLITE_DONE) return SqliteError(db_, "reading the fields");
  }
  const int64_t newest_base = stored->bases.empty() ? 0 : stored->bases.back();
  Statement newest(db_, "SELECT COUNT(*) FROM docs WHERE off >= ?");
  newest.Bind(1, int64_t{newest_base});
  if (newest.Step() != SQLITE_ROW) return SqliteError(db_, "counting the documents");
  newest_documents_ = newest.Int(0);
  layout_ = std::move(stored->layout);
  deleted_below_ = stored->deleted_below;
  newest_base_ = newest_base;
  fields_ = std::move(fields);
  field_bits_.clear();
  for (const auto& [name, kinds] : fields_) {
    for (const std::string& kind : kinds) field_bits_[name] |= FieldBit(kind.c_str());
  }
  for (const auto& [name, col] : layout_.columns) field_bits_[name] |= kColumnBit;
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status PartitionIndex::AddGeneration(int64_t g, int64_t base) {
  Statement add(db_, "INSERT INTO generations (g, base) VALUES (?, ?)");
  add.BindAll({g, base});
  if (add.Step() != SQLITE_DONE) return SqliteError(db_, "adding a generation");
  layout_.generations.push_back(g);
  newest_base_ = base;
  newest_documents_ = 0;
  return absl::OkStatus();
}

absl::Status PartitionIndex::EnsureLoaded() { return loaded_ ? absl::OkStatus() : Load(); }

void PartitionIndex::Retire() {
  std::lock_guard<std::mutex> lock(mu_);
  retired_ = true;
}

absl::Status PartitionIndex::Add(const std::vector<Document>& docs, int64_t next_offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (retired_) return absl::FailedPreconditionError(absl::StrCat("search index ", path_, " was dropped"));
  if (absl::Status st = EnsureLoaded(); !st.ok()) return st;
  if (absl::Status st = Exec("BEGIN"); !st.ok()) return st;
  absl::Status text;
  if (newest_documents_ >= generation_documents_ && !docs.empty()) {
    const int64_t g = layout_.generations.back() + 1;
    text = terms_->AddGeneration(g);  // first: see TermIndex::AddGeneration
    // After a crash that lost this half's last commits but not the terms half's, the terms half
    // holds documents of this batch in the older generation already: the new one starts above
    // them, or retention could drop them with the older one while they are still searchable.
    if (text.ok()) text = AddGeneration(g, std::max(docs.front().offset, terms_->indexed_offset()));
  }
  const int64_t g = layout_.generations.back();
  // Three threads share the batch, as the three parts cost about the same: a thread of its own
  // writes the text's run (the words), another the exact terms' run, while this one writes the
  // documents into SQLite. The threads inherit this one's scheduling policy (the indexer's
  // SCHED_IDLE).
  TermIndex::Batch batch = terms_->Begin(g, deleted_below_, next_offset);
  if (text.ok()) {
    // Joined however this scope is left.
    std::vector<std::jthread> writers;
    for (RunKind kind : kRunKinds) {
      writers.emplace_back([&, kind] {
        pthread_setname_np(pthread_self(), kind == RunKind::kText ? "search-words" : "search-terms");
        terms_->Write(&batch, kind, docs);
      });
    }
    text = AddDocuments(docs, next_offset);
    for (std::jthread& t : writers) t.join();
  }
  if (!text.ok()) {
    (void)Exec("ROLLBACK");
    (void)Load();  // columns, fields and generations added in the rolled-back transaction are not taken
    terms_->Discard(batch);  // nor the terms: the batch is added again from the lower offset
    return text;
  }
  return terms_->Finish(std::move(batch));
}

absl::Status PartitionIndex::AddDocuments(const std::vector<Document>& docs, int64_t next_offset) {
  Statement doc(db_, "INSERT OR IGNORE INTO docs (off, ts, key, source) VALUES (?, ?, ?, ?)");
  Statement field(db_, "INSERT OR IGNORE INTO fields (field, kind) VALUES (?, ?)");
  Statement column(db_, "INSERT INTO textcols (field, col) VALUES (?, ?)");
  Statement meta(db_, "UPDATE meta SET v = ? WHERE k = 'indexed_offset'");
  for (const Statement* s : {&doc, &field, &column, &meta}) {
    if (absl::Status st = s->status("preparing"); !st.ok()) return st;
  }
  auto note_field = [&](const std::string& name, const char* kind) -> bool {
    uint8_t& bits = field_bits_[name];
    if ((bits & FieldBit(kind)) != 0) return true;
    bits |= FieldBit(kind);
    fields_[name].insert(kind);
    field.BindAll({name, std::string(kind)});
    const bool ok = field.Step() == SQLITE_DONE;
    field.Reset();
    return ok;
  };
  for (const Document& d : docs) {
    if (d.offset < deleted_below_) continue;  // read before the log start moved past it
    doc.BindAll({d.offset, d.timestamp});
    if (d.key.has_value()) doc.Bind(3, *d.key);
    doc.Bind(4, d.source);
    if (doc.Step() != SQLITE_DONE) return SqliteError(db_, "adding a document");
    doc.Reset();
    if (sqlite3_changes(db_) == 0) continue;  // indexed before
    ++newest_documents_;
    for (const auto& [name, text] : d.text) {
      if ((field_bits_[name] & kColumnBit) == 0) {
        field_bits_[name] |= kColumnBit;
        const auto col = static_cast<int64_t>(layout_.columns.size());
        column.BindAll({name, col});
        if (column.Step() != SQLITE_DONE) return SqliteError(db_, "adding a text field");
        column.Reset();
        layout_.columns.emplace(name, static_cast<int>(col));
      }
      if (!note_field(name, "text")) return SqliteError(db_, "adding a field");
    }
    // The terms themselves are the other thread's; the fields they belong to are listed here.
    for (const auto& kw : d.keywords) {
      if (!note_field(kw.first, "keyword")) return SqliteError(db_, "adding a field");
    }
    for (const auto& number : d.numbers) {
      if (!note_field(number.first, "number")) return SqliteError(db_, "adding a field");
    }
  }
  meta.Bind(1, next_offset);
  if (meta.Step() != SQLITE_DONE) return SqliteError(db_, "recording the indexed offset");
  return Exec("COMMIT");
}

absl::Status PartitionIndex::DeleteBelow(int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (retired_) return absl::FailedPreconditionError(absl::StrCat("search index ", path_, " was dropped"));
  if (absl::Status st = EnsureLoaded(); !st.ok()) return st;
  if (offset <= deleted_below_) return absl::OkStatus();
  if (absl::Status st = Exec("BEGIN"); !st.ok()) return st;
  auto fail = [this](absl::Status st) {
    (void)Exec("ROLLBACK");
    (void)Load();
    return st;
  };
  Statement docs(db_, "DELETE FROM docs WHERE off < ?");
  docs.Bind(1, offset);
  if (!docs.status("deleting").ok() || docs.Step() != SQLITE_DONE) return fail(SqliteError(db_, "deleting documents"));
  Statement meta(db_, "UPDATE meta SET v = ? WHERE k = 'deleted_below'");
  meta.Bind(1, offset);
  if (meta.Step() != SQLITE_DONE) return fail(SqliteError(db_, "deleting documents"));
  // A generation whose documents are all below `offset` goes whole; when every document went, a
  // new generation starts at `offset`.
  std::vector<std::pair<int64_t, int64_t>> generations;  // (g, base)
  {
    Statement list(db_, "SELECT g, base FROM generations ORDER BY g");
    while (list.Step() == SQLITE_ROW) generations.emplace_back(list.Int(0), list.Int(1));
  }
  bool none_left;
  {
    // Finished before the drops: a table cannot be dropped under an open statement.
    Statement remaining(db_, "SELECT 1 FROM docs LIMIT 1");
    none_left = remaining.Step() == SQLITE_DONE;
  }
  // After a crash the terms half can be ahead of this one, with terms of documents at or above
  // `offset` that this half has yet to add, and will not add again: they are in the terms half's
  // newest generation, which this half's next documents must go to. That is this half's newest,
  // kept; or, when the crash came in the batch that started the next one, that next one, started
  // here now.
  int64_t text_offset = 0;
  {
    Statement indexed(db_, "SELECT v FROM meta WHERE k = 'indexed_offset'");
    if (indexed.Step() != SQLITE_ROW) return fail(SqliteError(db_, "reading the indexed offset"));
    text_offset = indexed.Int(0);
  }
  const bool terms_hold_more = offset < terms_->indexed_offset() && text_offset < terms_->indexed_offset();
  none_left = none_left && !generations.empty() &&
              (!terms_hold_more || terms_->newest_generation() > generations.back().first);
  bool dropped_newest = false;
  int dropped = 0;
  for (size_t i = 0; i < generations.size(); ++i) {
    const bool newest = i + 1 == generations.size();
    if (newest ? !none_left : generations[i + 1].second > offset) break;
    const int64_t g = generations[i].first;
    if (absl::Status st = Exec(absl::StrCat("DELETE FROM generations WHERE g = ", g)); !st.ok()) return fail(st);
    dropped_newest = newest;
    ++dropped;
  }
  if (dropped_newest) {
    const int64_t g = generations.back().first + 1;
    if (absl::Status st = terms_->AddGeneration(g); !st.ok()) return fail(st);  // first: as in Add
    if (absl::Status st = AddGeneration(g, offset); !st.ok()) return fail(st);
  }
  if (absl::Status st = Exec("COMMIT"); !st.ok()) return fail(st);
  if (absl::Status st = Load(); !st.ok()) return st;
  // After the commit above: a crash before this one is made good at the next Open.
  if (absl::Status st = terms_->DropBelow(layout_.generations.front()); !st.ok()) return st;
  // Outside the transaction, and only for whole generations: their pages go back to the file
  // system (for a few documents' rows it would move pages about to save little).
  return dropped > 0 ? Exec("PRAGMA incremental_vacuum") : absl::OkStatus();
}

namespace {

// Aborts a statement once the search's deadline passed.
int PastDeadline(void* deadline) {
  return std::chrono::steady_clock::now() > *static_cast<std::chrono::steady_clock::time_point*>(deadline) ? 1 : 0;
}

}  // namespace

absl::StatusOr<SearchResult> PartitionIndex::Search(const nlohmann::json& dsl, const SortSpec& sort, int64_t limit,
                                                    const std::vector<AggregationSpec>& aggregations,
                                                    std::chrono::steady_clock::time_point deadline) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  sqlite3* const db = reader_;
  // One snapshot for the whole search: the generations it names are the ones it reads.
  if (absl::Status st = ExecOn(db, "BEGIN"); !st.ok()) return st;
  struct EndRead {
    sqlite3* db;
    ~EndRead() { (void)ExecOn(db, "COMMIT"); }
  } end_read{db};
  search_terms_ = terms_->Snapshot();
  struct EndTerms {
    std::shared_ptr<const TermSnapshot>* terms;
    ~EndTerms() { terms->reset(); }
  } end_terms{&search_terms_};
  absl::StatusOr<StoredLayout> stored = ReadLayout(db, partition_);
  if (!stored.ok()) return stored.status();
  const IndexLayout& layout = stored->layout;
  // Documents below the log start may still have terms in the oldest generation; documents at or
  // above the lower of the two halves' indexed offsets are in one half only.
  absl::StatusOr<int64_t> visible = IndexedOffsetOn(db, *search_terms_);
  if (!visible.ok()) return visible.status();
  // The query ranked for hits sorted by rank, else unranked (a count, hits sorted by a field, the
  // documents an aggregation counts): ranking every match is most of what a large match costs.
  auto compile = [&](bool scored) -> absl::StatusOr<Sql> {
    IndexLayout l = layout;
    l.scored = scored;
    absl::StatusOr<Sql> compiled = CompileQuery(dsl, l);
    if (!compiled.ok()) return compiled.status();
    Sql q{absl::StrCat("SELECT doc, score FROM (", compiled->text, ") WHERE doc >= ? AND doc < ?"), compiled->params};
    q.params.emplace_back(std::in_place_index<0>, stored->deleted_below);
    q.params.emplace_back(std::in_place_index<0>, *visible);
    return q;
  };
  // Compiled unranked once, when first needed (hits ranked by score with no aggregation never are).
  std::optional<absl::StatusOr<Sql>> unranked_query;
  auto unranked = [&]() -> const absl::StatusOr<Sql>& {
    if (!unranked_query.has_value()) unranked_query = compile(false);
    return *unranked_query;
  };
  SearchResult result;
  sqlite3_progress_handler(db, 4096, PastDeadline, &deadline);
  struct ClearHandler {
    sqlite3* db;
    ~ClearHandler() { sqlite3_progress_handler(db, 0, nullptr, nullptr); }
  } clear{db};
  auto failed = [&](std::string_view what) -> absl::Status {
    if (sqlite3_errcode(db) == SQLITE_INTERRUPT) {
      result.timed_out = true;
      return absl::OkStatus();
    }
    const int code = sqlite3_errcode(db);
    // A query the compiler let through but SQLite refuses.
    if (code == SQLITE_ERROR) return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", sqlite3_errmsg(db)));
    return SqliteError(db, what);
  };

  if (limit <= 0) {
    const absl::StatusOr<Sql>& match_set = unranked();
    if (!match_set.ok()) return match_set.status();
    Statement count(db, absl::StrCat("SELECT COUNT(*) FROM (", match_set->text, ")"));
    if (absl::Status st = count.status("counting"); !st.ok()) return failed("counting");
    count.BindAll(match_set->params);
    const int rc = count.Step();
    if (rc != SQLITE_ROW) {
      if (absl::Status st = failed("counting"); !st.ok()) return st;
      return result;
    }
    result.total = count.Int(0);
  } else {
    // Ranked only when the hits are sorted by their rank (sorted by a field, they carry no score).
    absl::StatusOr<Sql> ranked = sort.kind == SortSpec::Kind::kScore ? compile(true) : unranked();
    if (!ranked.ok()) return ranked.status();
    const Sql& query = *ranked;
    std::string sort_expr = "q.score";
    std::string sort_join;
    std::vector<SqlValue> params = query.params;
    switch (sort.kind) {
      case SortSpec::Kind::kScore: sort_expr = "q.score"; break;
      case SortSpec::Kind::kOffset: sort_expr = "q.doc"; break;
      case SortSpec::Kind::kTimestamp:
        sort_expr = "t.ts";
        sort_join = " JOIN docs t ON t.off = q.doc";
        break;
      case SortSpec::Kind::kNumber:
      case SortSpec::Kind::kKeyword:
        // A field's values by document, once, rather than a lookup per matching document.
        sort_expr = "s.v";
        const Sql values = sort.kind == SortSpec::Kind::kNumber ? NumberValues(layout, sort.field)
                                                                : KeywordValues(layout, sort.field);
        sort_join = absl::StrCat(" LEFT JOIN (SELECT doc, ", sort.descending ? "MAX" : "MIN", "(v) AS v FROM (",
                                 values.text, ") GROUP BY doc) s ON s.doc = q.doc");
        params.insert(params.end(), values.params.begin(), values.params.end());
        break;
    }
    // The query runs once: the window counts every match while the best `limit` are picked (a
    // count of its own would run a bool query's joins twice), and only those read their _source.
    const std::string order = absl::StrCat(" ORDER BY sv IS NULL, sv ", sort.descending ? "DESC" : "ASC", ", doc ASC");
    Statement hits(db, absl::StrCat("SELECT b.doc, b.score, d.ts, d.key, d.source, b.sv, b.total FROM (SELECT q.doc AS doc, "
                                     "q.score AS score, ", sort_expr, " AS sv, COUNT(*) OVER () AS total FROM (", query.text,
                                     ") q", sort_join, order, " LIMIT ?) b JOIN docs d ON d.off = b.doc", order));
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
      result.total = hits.Int(6);
      result.hits.push_back(std::move(h));
    }
    if (rc != SQLITE_DONE) {
      if (absl::Status st = failed("searching"); !st.ok()) return st;
      return result;
    }
  }

  if (aggregations.empty() || result.timed_out) return result;
  // Over every document (match_all, the usual query of a dashboard) a value is counted when its
  // document is above the log start; else when its document is one of the matches (m).
  const bool all = dsl.is_null() || (dsl.is_object() && dsl.size() == 1 && dsl.contains("match_all"));
  const std::string member = all ? absl::StrCat(" WHERE doc >= ", stored->deleted_below, " AND doc < ", *visible)
                                 : " WHERE +doc IN (SELECT doc FROM m)";
  if (absl::Status st = ExecOn(db, "CREATE TEMP TABLE IF NOT EXISTS m (doc INTEGER PRIMARY KEY)"); !st.ok()) return st;
  if (absl::Status st = ExecOn(db, "DELETE FROM m"); !st.ok()) return st;
  if (!all) {
    const absl::StatusOr<Sql>& match_set = unranked();
    if (!match_set.ok()) return match_set.status();
    Statement fill(db, absl::StrCat("INSERT OR IGNORE INTO m SELECT doc FROM (", match_set->text, ")"));
    if (!fill.status("aggregating").ok()) return failed("aggregating");
    fill.BindAll(match_set->params);
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
      const Sql values = numbers ? NumberValues(layout, a.field) : KeywordValues(layout, a.field);
      const std::string where = absl::StrCat(" FROM (", values.text, ")", member);
      // Keywords are counted by term and read back once per term, not once per document.
      const Sql terms = KeywordTerms(layout, a.field);
      const std::string term_where = absl::StrCat(" FROM (", terms.text, ")", member);
      std::vector<std::pair<std::string, std::vector<SqlValue>>> statements;
      switch (a.kind) {
        case Kind::kTerms:
          if (!numbers) {
            statements.push_back({absl::StrCat("SELECT kw_value(t), n FROM (SELECT term AS t, COUNT(*) AS n", term_where,
                                               " GROUP BY term)"),
                                  terms.params});
            break;
          }
          statements.push_back({absl::StrCat("SELECT v, COUNT(DISTINCT doc)", where, " GROUP BY v"), values.params});
          break;
        case Kind::kCardinality:
          if (!numbers) {
            statements.push_back({absl::StrCat("SELECT kw_value(t) FROM (SELECT DISTINCT term AS t", term_where, ")"),
                                  terms.params});
            break;
          }
          statements.push_back({absl::StrCat("SELECT DISTINCT v", where), values.params});
          break;
        case Kind::kHistogram:
          if (!numbers) continue;
          if (a.calendar_months > 0) {
            // Months since year 0, down to a multiple of the interval's months.
            statements.push_back(
                {absl::StrCat("SELECT ((CAST(strftime('%Y', v / 1000.0, 'unixepoch') AS INTEGER) * 12 + "
                              "CAST(strftime('%m', v / 1000.0, 'unixepoch') AS INTEGER) - 1) / :months) * :months AS b, "
                              "COUNT(DISTINCT doc)",
                              where, " GROUP BY b"),
                 values.params});
            statements.back().second.insert(statements.back().second.begin(), a.calendar_months);
            break;
          }
          statements.push_back({absl::StrCat("SELECT floor(v / :interval) * :interval AS b, COUNT(DISTINCT doc)", where, " GROUP BY b"),
                                values.params});
          statements.back().second.insert(statements.back().second.begin(), a.interval);
          break;
        case Kind::kRange:
          if (!numbers) continue;
          for (const auto& [from, to] : a.ranges) {
            std::vector<SqlValue> params = values.params;
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
                                values.params});
          break;
      }
      bool any = false;
      for (size_t i = 0; i < statements.size(); ++i) {
        Statement st(db, statements[i].first);
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
              p.number_counts[a.calendar_months > 0 ? MonthStartMs(st.Int(0)) : st.Double(0)] += st.Int(1);
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

absl::StatusOr<std::optional<Hit>> PartitionIndex::Get(int64_t offset) const {
  std::lock_guard<std::mutex> lock(read_mu_);
  Statement s(reader_, "SELECT ts, key, source FROM docs WHERE off = ?");
  if (absl::Status st = s.status("reading"); !st.ok()) return st;
  s.Bind(1, offset);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<Hit>();
  if (rc != SQLITE_ROW) return SqliteError(reader_, "reading");
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
  return std::map<std::string, std::set<std::string>>(fields_.begin(), fields_.end());
}

int64_t PartitionIndex::generations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(layout_.generations.size());
}

int64_t PartitionIndex::indexed_offset() const {
  std::lock_guard<std::mutex> lock(read_mu_);
  return IndexedOffsetOn(reader_, *terms_->Snapshot()).value_or(0);
}

IndexStats PartitionIndex::Stats() const {
  IndexStats stats;
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement docs(reader_, "SELECT COUNT(*) FROM docs");
    if (docs.Step() == SQLITE_ROW) stats.documents = docs.Int(0);
  }
  stats.indexed_offset = indexed_offset();
  stats.size_bytes = terms_->SizeBytes();
  std::error_code ec;
  for (const std::string& file : Files(path_)) {
    if (file.ends_with("-shm")) continue;
    const auto size = std::filesystem::file_size(file, ec);
    if (!ec) stats.size_bytes += static_cast<int64_t>(size);
  }
  return stats;
}

}  // namespace chronik::search
