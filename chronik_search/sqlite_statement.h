#pragma once

// The few SQLite helpers both halves of a partition's index use: a prepared statement that
// finalizes itself, and errors as Status.

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "chronik_search/query.h"

namespace chronik::search {

inline absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(absl::StrCat("search index: ", std::string(what), ": ", sqlite3_errmsg(db)));
}

inline absl::Status ExecOn(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status st = absl::InternalError(absl::StrCat("search index: ", sql, ": ", error ? error : "?"));
    sqlite3_free(error);
    return st;
  }
  return absl::OkStatus();
}

// Runs `statements` in one transaction: all of them, or none.
inline absl::Status ExecInTransaction(sqlite3* db, const std::vector<std::string>& statements) {
  if (absl::Status st = ExecOn(db, "BEGIN"); !st.ok()) return st;
  for (const std::string& sql : statements) {
    if (absl::Status st = ExecOn(db, sql); !st.ok()) {
      (void)ExecOn(db, "ROLLBACK");
      return st;
    }
  }
  if (absl::Status st = ExecOn(db, "COMMIT"); !st.ok()) {
    (void)ExecOn(db, "ROLLBACK");
    return st;
  }
  return absl::OkStatus();
}

// The settings of an index's database, run before its first table is made.
inline absl::Status ConfigureIndexDatabase(sqlite3* db) {
  for (const char* sql : {
           // Before the first table: dropped generations give their pages back to the file system.
           "PRAGMA auto_vacuum = INCREMENTAL",
           "PRAGMA journal_mode = WAL",
           // A cache of the log: after a crash of the machine a damaged file fails quick_check at
           // open and the index is rebuilt, so commits need not wait for the disk.
           "PRAGMA synchronous = OFF",
           "PRAGMA cache_size = -65536",
           "PRAGMA journal_size_limit = 16777216",
       }) {
    if (absl::Status st = ExecOn(db, sql); !st.ok()) return st;
  }
  return absl::OkStatus();
}

class Statement;

// Makes `db` an index database of layout `version` whose table `meta` (k, v) records it: refused
// (DataLoss, the caller rebuilds) if it holds another layout; else configured and given `schema`.
// True if it was empty before.
absl::StatusOr<bool> PrepareIndexDatabase(sqlite3* db, const std::string& path, const std::string& meta,
                                          int64_t version, const std::vector<std::string>& schema);

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

// Opens (creating) the database at `path` for one thread's use.
inline absl::StatusOr<sqlite3*> OpenDatabase(const std::string& path, bool create) {
  // Before SQLite's first use in the process: no statistics of its memory use, which would take
  // one process-wide mutex at every allocation of every connection (the indexer's two writers
  // and the searches allocate all the time). Refused harmlessly if SQLite was used before.
  static const bool configured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
  (void)configured;
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    absl::Status st = SqliteError(db, absl::StrCat("opening ", path));
    sqlite3_close(db);
    return st;
  }
  return db;
}

inline absl::StatusOr<bool> PrepareIndexDatabase(sqlite3* db, const std::string& path, const std::string& meta,
                                                 int64_t version, const std::vector<std::string>& schema) {
  bool empty;
  {
    Statement tables(db, "SELECT COUNT(*) FROM sqlite_schema");
    Statement stored(db, absl::StrCat("SELECT v FROM ", meta, " WHERE k = 'schema'"));
    empty = tables.Step() == SQLITE_ROW && tables.Int(0) == 0;
    if (!empty && (!stored.status("reading").ok() || stored.Step() != SQLITE_ROW || stored.Int(0) != version)) {
      return absl::DataLossError(absl::StrCat("search index ", path, " has another layout"));
    }
  }
  if (absl::Status st = ConfigureIndexDatabase(db); !st.ok()) return st;
  for (const std::string& sql : schema) {
    if (absl::Status st = ExecOn(db, sql); !st.ok()) return st;
  }
  if (absl::Status st = ExecOn(db, absl::StrCat("INSERT OR IGNORE INTO ", meta, " VALUES ('schema', ", version, ")"));
      !st.ok()) {
    return st;
  }
  return empty;
}

}  // namespace chronik::search
