#pragma once

// The exact-term half of a partition's index (terms.h: keywords, numbers, the presence of long
// text) in a database of its own, beside the text half's. Two databases take two writers: SQLite
// writes one transaction at a time per file, and with both halves in one file indexing was bound
// by one core's SQLite work. The file keeps its own indexed offset, so each half resumes where it
// stopped after a crash; searches read both files through one connection (ATTACH) and only the
// documents below the lower of the two offsets.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_search/document.h"

struct sqlite3;

namespace chronik::search {

class TermIndex {
 public:
  // The schema name searches attach the file under.
  static constexpr char kSchemaName[] = "terms";

  // Opens or creates the database at `path`; `*created` says it did not exist (or was empty).
  static absl::StatusOr<std::unique_ptr<TermIndex>> Open(const std::string& path, bool* created);
  ~TermIndex();

  // Adds the terms of the documents at or above both the indexed offset and `deleted_below` to
  // generation `g` (its tables created if new), and sets the indexed offset to `next_offset`, in
  // one transaction. Documents a crash left indexed here but not in the text half are skipped.
  absl::Status Add(int64_t g, const std::vector<Document>& docs, int64_t deleted_below, int64_t next_offset);
  // Creates generation `g`'s tables, committed: the text half commits its generation after this,
  // so a search that sees a generation in the text half finds its terms' tables too.
  absl::Status AddGeneration(int64_t g);
  // The generations older than `oldest` (the text half dropped them first) are emptied, and
  // dropped at the next call: a search that began before the text half's drop may still name
  // them, and finds no terms there rather than no table.
  absl::Status DropBelow(int64_t oldest);
  // At open, no search running: the generations older than the text half's oldest are dropped,
  // and the text half's generations all have tables.
  absl::Status Sync(const std::vector<int64_t>& generations);
  // The offset indexing reached in this file, as committed.
  int64_t indexed_offset() const { return indexed_offset_; }
  // The newest generation with tables here (-1: none).
  int64_t newest_generation() const { return generations_.empty() ? -1 : *generations_.rbegin(); }

  // The SQL reading this file's indexed offset on a connection it is attached to.
  static std::string IndexedOffsetQuery();
  // The generation's tables: the FTS5 table of terms and its fts5vocab table searches read.
  static std::vector<std::string> GenerationSchema(int64_t g);

 private:
  explicit TermIndex(sqlite3* db) : db_(db) {}
  absl::Status Exec(const std::string& sql) const;
  // Drops the generations `drop` and empties the generations `empty`, in one transaction.
  absl::Status Drop(const std::vector<int64_t>& drop, const std::vector<int64_t>& empty);

  sqlite3* db_;
  int64_t indexed_offset_ = 0;
  std::set<int64_t> generations_;  // whose tables exist
  std::set<int64_t> emptied_;      // of those, emptied by DropBelow, to be dropped
};

}  // namespace chronik::search
