#pragma once

// One topic partition's search index, in two halves written on three threads: a SQLite database
// with the documents' _source, their fields and the index's records, and the terms (term_index.h:
// the words of text with their positions, keywords, numbers) in runs of their own, both in
// generations so that old documents can be dropped. Each half records the offset it reached in
// the commit that covers the documents. A cache of the log: it can be deleted at any time and is
// rebuilt from the log.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chronik_search/document.h"
#include "chronik_search/query.h"
#include "chronik_search/term_index.h"

struct sqlite3;

namespace chronik::search {

struct Hit {
  int32_t partition = 0;
  int64_t offset = 0;
  double score = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::string source;
  // The sort key's value where a sort asked for one (nullopt: the document has none).
  std::optional<std::variant<double, std::string>> sort_value;
};

struct SortSpec {
  enum class Kind { kScore, kOffset, kTimestamp, kNumber, kKeyword } kind = Kind::kScore;
  std::string field;
  bool descending = true;
};

// What one partition contributes to an aggregation; AggregationPartial::Merge adds partitions up.
struct AggregationPartial {
  std::map<std::string, int64_t> keyword_counts;  // terms over keywords
  std::map<double, int64_t> number_counts;        // terms over numbers, histograms, ranges (by index)
  std::set<std::string> distinct;                 // cardinality
  int64_t count = 0;
  double sum = 0;
  std::optional<double> min, max;
  void Merge(const AggregationPartial& other);
};

struct AggregationSpec {
  enum class Kind { kTerms, kHistogram, kRange, kStats, kCardinality } kind = Kind::kTerms;
  std::string field;
  double interval = 0;                                              // kHistogram
  // kHistogram over dates in calendar months (1, 3 for quarters, 12 for years) instead of interval;
  // bucket keys are the first millisecond of their month in UTC.
  int64_t calendar_months = 0;
  std::vector<std::pair<std::optional<double>, std::optional<double>>> ranges;  // kRange: [from, to)
};

// The first millisecond (UTC) of the month `months_since_year_zero` (year * 12 + month - 1).
double MonthStartMs(int64_t months_since_year_zero);

struct SearchResult {
  std::vector<Hit> hits;  // at most `limit`, in sort order
  int64_t total = 0;
  bool timed_out = false;
  std::vector<AggregationPartial> aggregations;  // in the order of the specs
};

struct IndexStats {
  int64_t documents = 0;
  int64_t indexed_offset = 0;  // every record below it is indexed (or was not indexable)
  int64_t size_bytes = 0;
};

class PartitionIndex {
 public:
  // Documents per generation: deleting old documents frees space a generation at a time.
  static constexpr int64_t kGenerationDocuments = 1 << 20;

  // The files an index at `path` keeps: its database, its terms' (term_index.h), and SQLite's WAL
  // and shared-memory files of each. Deleting them all deletes the index.
  static std::vector<std::string> Files(const std::string& path);

  // Opens or creates the database at `path`. A database that cannot be opened or read (damaged) is
  // an error: the caller deletes the file and starts over from the log.
  static absl::StatusOr<std::unique_ptr<PartitionIndex>> Open(const std::string& path, int32_t partition,
                                                              int64_t generation_documents = kGenerationDocuments);
  ~PartitionIndex();

  // Adds `docs` (in offset order) and sets the indexed offset to `next_offset`, each half
  // atomically; after a failure, Add again from indexed_offset().
  absl::Status Add(const std::vector<Document>& docs, int64_t next_offset);
  // Removes the documents below `offset` (retention, DeleteRecords).
  absl::Status DeleteBelow(int64_t offset);
  // Once an Add or DeleteBelow under way has finished, no other writes anything: the index's files
  // are about to be deleted, and a new index may be made at the same path (the terms half writes
  // by path, not through descriptors it holds). Searches still read what they have open.
  void Retire();

  // `query` (the DSL) compiled for the index as it is now and run: a query CompileQuery refuses is
  // InvalidArgument.
  absl::StatusOr<SearchResult> Search(const nlohmann::json& query, const SortSpec& sort, int64_t limit,
                                      const std::vector<AggregationSpec>& aggregations,
                                      std::chrono::steady_clock::time_point deadline) const;
  absl::StatusOr<std::optional<Hit>> Get(int64_t offset) const;
  // Every field and its kinds ("text", "keyword", "number"), for _mapping.
  absl::StatusOr<std::map<std::string, std::set<std::string>>> Fields() const;
  // Counts the documents: for _cat/indices, not for start-up.
  IndexStats Stats() const;
  // The offset indexing reached, as committed in both halves.
  int64_t indexed_offset() const;
  int64_t generations() const;
  int32_t partition() const { return partition_; }
  const std::string& path() const { return path_; }

 private:
  PartitionIndex(sqlite3* db, std::string path, int32_t partition, int64_t generation_documents)
      : db_(db), path_(std::move(path)), partition_(partition), generation_documents_(generation_documents) {
    layout_.partition = partition;
  }
  absl::Status Exec(const std::string& sql) const;
  // Reads what the database holds about itself (text columns, fields, generations, offsets).
  absl::Status Load();
  // Load, unless the members hold what the database does (a failed Load is made good here).
  absl::Status EnsureLoaded();
  // Starts generation `g` with the documents from `base` on, in the open transaction.
  absl::Status AddGeneration(int64_t g, int64_t base);
  // This database's half of Add: documents, their fields, and the indexed offset, committed.
  absl::Status AddDocuments(const std::vector<Document>& docs, int64_t next_offset);
  static std::string TermsPath(const std::string& path);

  // The indexer's connection, under mu_; searches' own, under read_mu_.
  mutable std::mutex mu_;
  sqlite3* db_;
  mutable std::mutex read_mu_;
  sqlite3* reader_ = nullptr;
  // The term half, written beside the text by Add (under mu_).
  std::unique_ptr<TermIndex> terms_;
  // The terms' snapshot the running search reads (under read_mu_).
  mutable std::shared_ptr<const TermSnapshot> search_terms_;
  const std::string path_;
  const int32_t partition_;
  const int64_t generation_documents_;
  // Under mu_: the text columns and generations queries are compiled against, the fields with
  // their kinds, the newest generation's base and size, and the offset below which documents are
  // deleted.
  IndexLayout layout_;
  std::map<std::string, std::set<std::string>, std::less<>> fields_;
  // fields_ and the text columns as bits per field (FieldBit), what adding a document looks up for
  // each of its fields: one hash where the maps cost a few string comparisons each.
  absl::flat_hash_map<std::string, uint8_t> field_bits_;
  bool loaded_ = false;  // the members above are the database's (Load succeeded since it last ran)
  int64_t newest_base_ = 0;
  bool retired_ = false;  // under mu_
  int64_t newest_documents_ = 0;
  int64_t deleted_below_ = 0;
};

}  // namespace chronik::search
