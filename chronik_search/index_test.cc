#include <sqlite3.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "chronik_search/document.h"
#include "chronik_search/partition_index.h"
#include "chronik_search/query.h"
#include "chronik_search/terms.h"
#include "chronik_search/tokenizer.h"
#include "gtest/gtest.h"

namespace chronik::search {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The offsets `query` finds in `index`, in `sort` order; every match is a hit (total checked).
std::vector<int64_t> HitOffsets(const PartitionIndex& index, const json& query,
                                SortSpec sort = {SortSpec::Kind::kOffset, "", false}) {
  auto r = index.Search(query, sort, 100, {}, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_TRUE(r.ok()) << r.status() << " " << query.dump();
  if (!r.ok()) return {};
  std::vector<int64_t> out;
  for (const Hit& h : r->hits) out.push_back(h.offset);
  EXPECT_EQ(r->total, static_cast<int64_t>(out.size()));
  return out;
}

// A small corpus with known answers, in one partition's index.
class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("index_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto index = PartitionIndex::Open((dir_ / "p0.db").string(), 0);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = *std::move(index);
    const char* values[] = {
        R"({"level": "error", "msg": "disk full on host alpha", "ms": 120, "user": {"name": "ann"}})",
        R"({"level": "info", "msg": "user ann logged in", "ms": 5, "user": {"name": "ann"}})",
        R"({"level": "error", "msg": "connection refused by host beta", "ms": 300, "user": {"name": "bob"}})",
        R"({"level": "warn", "msg": "disk almost full", "ms": 45, "when": "2026-11-30T10:00:00Z"})",
        "plain text about a full disk",
    };
    std::vector<Document> docs;
    for (int i = 0; i < 5; ++i) {
      RecordFields r;
      r.offset = i;
      r.timestamp = 1000 + i;
      r.key = std::string_view(i % 2 == 0 ? "even" : "odd");
      r.value = std::string_view(values[i]);
      docs.push_back(MakeDocument(r));
    }
    ASSERT_TRUE(index_->Add(docs, 5).ok());
  }
  void TearDown() override {
    index_.reset();
    fs::remove_all(dir_);
  }

  std::vector<int64_t> Offsets(const json& query, SortSpec sort = {SortSpec::Kind::kOffset, "", false}) {
    return HitOffsets(*index_, query, sort);
  }

  fs::path dir_;
  std::unique_ptr<PartitionIndex> index_;
};

TEST_F(IndexTest, QueriesHaveTheirKnownAnswers) {
  using V = std::vector<int64_t>;
  EXPECT_EQ(Offsets(json{{"match_all", json::object()}}), (V{0, 1, 2, 3, 4}));
  EXPECT_EQ(Offsets(json{{"match", {{"msg", "disk"}}}}), (V{0, 3}));
  EXPECT_EQ(Offsets(json{{"match", {{"_all", "disk"}}}}), (V{0, 3, 4}));
  EXPECT_EQ(Offsets(json{{"match", {{"msg", {{"query", "disk host"}, {"operator", "and"}}}}}}), (V{0}));
  EXPECT_EQ(Offsets(json{{"match_phrase", {{"msg", "disk full"}}}}), (V{0}));
  EXPECT_EQ(Offsets(json{{"term", {{"level", "error"}}}}), (V{0, 2}));
  EXPECT_EQ(Offsets(json{{"term", {{"user.name", "ann"}}}}), (V{0, 1}));
  EXPECT_EQ(Offsets(json{{"terms", {{"level", {"warn", "info"}}}}}), (V{1, 3}));
  EXPECT_EQ(Offsets(json{{"range", {{"ms", {{"gte", 45}, {"lt", 300}}}}}}), (V{0, 3}));
  EXPECT_EQ(Offsets(json{{"range", {{"when", {{"gte", "2026-11-30"}}}}}}), (V{3}));
  EXPECT_EQ(Offsets(json{{"prefix", {{"level", "e"}}}}), (V{0, 2}));
  EXPECT_EQ(Offsets(json{{"wildcard", {{"level", "*ar*"}}}}), (V{3}));
  EXPECT_EQ(Offsets(json{{"exists", {{"field", "when"}}}}), (V{3}));
  EXPECT_EQ(Offsets(json{{"ids", {{"values", {"0-2", "1-3", "0-4"}}}}}), (V{2, 4}));
  EXPECT_EQ(Offsets(json{{"term", {{"_key", "odd"}}}}), (V{1, 3}));
  // A document's own offset, timestamp and partition.
  EXPECT_EQ(Offsets(json{{"term", {{"_offset", 2}}}}), (V{2}));
  EXPECT_EQ(Offsets(json{{"range", {{"_timestamp", {{"gte", 1003}}}}}}), (V{3, 4}));
  EXPECT_EQ(Offsets(json{{"term", {{"_partition", 0}}}}), (V{0, 1, 2, 3, 4}));
  EXPECT_EQ(Offsets(json{{"term", {{"_partition", 1}}}}), (V{}));
  EXPECT_EQ(Offsets(json{{"match_all", json::object()}}, SortSpec{SortSpec::Kind::kNumber, "_timestamp", true}),
            (V{4, 3, 2, 1, 0}));
  EXPECT_EQ(Offsets(json::parse(R"({"bool": {"must": [{"match": {"msg": "disk"}}],
                                             "must_not": [{"term": {"level": "warn"}}]}})")),
            (V{0}));
  EXPECT_EQ(Offsets(json::parse(R"({"bool": {"should": [{"term": {"level": "warn"}}, {"term": {"level": "info"}}],
                                             "filter": {"range": {"ms": {"lt": 100}}}}})")),
            (V{1, 3}));
  EXPECT_EQ(Offsets(json::parse(R"({"bool": {"should": [{"term": {"level": "warn"}}, {"match": {"msg": "disk"}}],
                                             "minimum_should_match": 2}})")),
            (V{3}));
  EXPECT_EQ(Offsets(json{{"query_string", {{"query", "level:error AND NOT msg:disk"}}}}), (V{2}));
  EXPECT_EQ(Offsets(json{{"query_string", {{"query", "msg:\"disk full\" OR level:info"}}}}), (V{0, 1}));
  EXPECT_EQ(Offsets(json{{"query_string", {{"query", "ms:[5 TO 45]"}}}}), (V{1, 3}));
  EXPECT_EQ(Offsets(json{{"query_string", {{"query", "refused"}}}}), (V{2}));
  // Elasticsearch's multi-fields, numbers matched as text, ids in terms, word prefixes.
  EXPECT_EQ(Offsets(json{{"term", {{"level.keyword", "error"}}}}), (V{0, 2}));
  EXPECT_EQ(Offsets(json{{"match", {{"ms", 45}}}}), (V{3}));
  EXPECT_EQ(Offsets(json{{"query_string", {{"query", "ms:120"}}}}), (V{0}));
  EXPECT_EQ(Offsets(json{{"terms", {{"_id", {"0-1", "0-4", "1-2"}}}}}), (V{1, 4}));
  EXPECT_EQ(Offsets(json{{"query_string", {{"query", "msg:refu*"}}}}), (V{2}));
  EXPECT_EQ(Offsets(json{{"match_phrase_prefix", {{"msg", "disk al"}}}}), (V{3}));
}

TEST_F(IndexTest, ScoresSortsAggregationsAndDeletion) {
  // BM25 (over the whole document's length): the best first.
  auto r = index_->Search(json{{"match", {{"_all", "disk full"}}}}, SortSpec{}, 10, {}, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->hits.size(), 3u);
  for (size_t i = 0; i < r->hits.size(); ++i) {
    EXPECT_GT(r->hits[i].score, 0);
    if (i > 0) {
      EXPECT_GE(r->hits[i - 1].score, r->hits[i].score);
    }
  }

  EXPECT_EQ(Offsets(json{{"match_all", json::object()}}, SortSpec{SortSpec::Kind::kNumber, "ms", true}),
            (std::vector<int64_t>{2, 0, 3, 1, 4}));

  std::vector<AggregationSpec> aggs(4);
  aggs[0] = {AggregationSpec::Kind::kTerms, "level", 0, 0, {}};
  aggs[1] = {AggregationSpec::Kind::kStats, "ms", 0, 0, {}};
  aggs[2] = {AggregationSpec::Kind::kHistogram, "ms", 100, 0, {}};
  aggs[3] = {AggregationSpec::Kind::kCardinality, "user.name", 0, 0, {}};
  r = index_->Search(json{{"match_all", json::object()}}, SortSpec{}, 0, aggs, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->aggregations.size(), 4u);
  EXPECT_EQ(r->aggregations[0].keyword_counts, (std::map<std::string, int64_t>{{"error", 2}, {"info", 1}, {"warn", 1}}));
  EXPECT_EQ(r->aggregations[1].count, 4);
  EXPECT_EQ(r->aggregations[1].sum, 470);
  EXPECT_EQ(r->aggregations[1].min, 5);
  EXPECT_EQ(r->aggregations[1].max, 300);
  EXPECT_EQ(r->aggregations[2].number_counts, (std::map<double, int64_t>{{0, 2}, {100, 1}, {300, 1}}));
  EXPECT_EQ(r->aggregations[3].distinct.size(), 2u);

  ASSERT_TRUE(index_->DeleteBelow(3).ok());
  EXPECT_EQ(Offsets(json{{"match", {{"_all", "disk"}}}}), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Offsets(json{{"term", {{"level", "error"}}}}), (std::vector<int64_t>{}));
  EXPECT_EQ(index_->Stats().documents, 2);
  EXPECT_EQ(index_->Stats().indexed_offset, 5);
  auto fields = index_->Fields();
  ASSERT_TRUE(fields.ok());
  EXPECT_TRUE(fields->at("msg").contains("text"));
  EXPECT_TRUE(fields->at("ms").contains("number"));
}

// SQLite's memory statistics take one process-wide mutex at every allocation, which the
// indexer's two writers and the searches then take in turns: they are off from the first open.
TEST_F(IndexTest, SqliteKeepsNoMemoryStatistics) {
  ASSERT_GT(index_->Stats().indexed_offset, 0);
  EXPECT_EQ(sqlite3_memory_used(), 0);
  EXPECT_EQ(sqlite3_memory_highwater(0), 0);
}

// Deleting old documents drops whole generations; what is left of a generation below the log
// start is never found.
TEST(GenerationTest, OldGenerationsAreDroppedAndTheirDocumentsNeverFound) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("generation_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto index = PartitionIndex::Open((dir / "p0.db").string(), 0, /*generation_documents=*/3);
  ASSERT_TRUE(index.ok()) << index.status();
  auto add = [&](int64_t from, int64_t to) {
    std::vector<std::string> values;
    std::vector<Document> docs;
    for (int64_t i = from; i < to; ++i) values.push_back(json{{"n", i - 5}, {"word", "w" + std::to_string(i)}, {"all", "same"}}.dump());
    for (int64_t i = from; i < to; ++i) {
      RecordFields r;
      r.offset = i;
      r.value = values[static_cast<size_t>(i - from)];
      docs.push_back(MakeDocument(r));
    }
    ASSERT_TRUE((*index)->Add(docs, to).ok());
  };
  auto offsets = [&](const json& query) { return HitOffsets(**index, query); };
  using V = std::vector<int64_t>;
  for (int64_t i = 0; i < 10; i += 2) add(i, i + 2);  // generations of 3 or more: [0,4) [4,8) [8,10)
  EXPECT_EQ((*index)->generations(), 3);
  EXPECT_EQ(offsets(json{{"term", {{"all", "same"}}}}), (V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Negative and positive numbers in order, exclusive and inclusive bounds.
  EXPECT_EQ(offsets(json{{"range", {{"n", {{"gt", -3}, {"lte", 1}}}}}}), (V{3, 4, 5, 6}));
  EXPECT_EQ(offsets(json{{"range", {{"n", {{"gte", -5.5}, {"lt", -3}}}}}}), (V{0, 1}));
  EXPECT_EQ(offsets(json{{"prefix", {{"word", "w"}}}}).size(), 10u);
  EXPECT_EQ(offsets(json{{"wildcard", {{"word", "w?"}}}}).size(), 10u);
  EXPECT_EQ(offsets(json{{"range", {{"word", {{"gte", "w3"}, {"lt", "w5"}}}}}}), (V{3, 4}));

  ASSERT_EQ((*index)->DeleteBelow(5), absl::OkStatus());  // the first generation goes; 4 stays, filtered
  EXPECT_EQ((*index)->generations(), 2);
  EXPECT_EQ(offsets(json{{"term", {{"all", "same"}}}}), (V{5, 6, 7, 8, 9}));
  EXPECT_EQ(offsets(json{{"match", {{"word", "w4"}}}}), (V{}));
  EXPECT_EQ(offsets(json{{"exists", {{"field", "n"}}}}), (V{5, 6, 7, 8, 9}));
  ASSERT_TRUE((*index)->DeleteBelow(10).ok());  // every document: a new, empty generation
  EXPECT_EQ((*index)->generations(), 1);
  EXPECT_EQ(offsets(json{{"match_all", json::object()}}), (V{}));
  EXPECT_EQ(offsets(json{{"term", {{"all", "same"}}}}), (V{}));  // the new generation's terms are there too
  add(10, 12);
  index->reset();
  index = PartitionIndex::Open((dir / "p0.db").string(), 0, 3);  // what was written is read back
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(offsets(json{{"term", {{"all", "same"}}}}), (V{10, 11}));
  EXPECT_EQ(offsets(json{{"term", {{"n", 5}}}}), (V{10}));
  index->reset();
  fs::remove_all(dir);
}

// A crash can land between the two halves' commits (text, terms: term_index.h), leaving either
// one behind. Reopened, the index reports the lower offset, searches see only what both hold, and
// adding again from there fills in the half behind without doubling the other.
TEST(HalvesTest, EitherHalfBehindAfterACrashCatchesUpExactly) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("halves_test_" + std::to_string(::getpid()));
  auto docs = [](int64_t from, int64_t to, std::vector<std::string>* values) {
    for (int64_t i = from; i < to; ++i) values->push_back(json{{"k", "v" + std::to_string(i)}, {"all", "same"}, {"n", i}}.dump());
    std::vector<Document> out;
    for (int64_t i = from; i < to; ++i) {
      RecordFields r;
      r.offset = i;
      r.value = (*values)[static_cast<size_t>(i)];
      out.push_back(MakeDocument(r));
    }
    return out;
  };
  using V = std::vector<int64_t>;
  for (const char* behind : {"", "-terms"}) {
    SCOPED_TRACE(std::string("behind: p0.db") + behind);
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "p0.db").string();
    std::vector<std::string> values;
    auto index = PartitionIndex::Open(path, 0);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE((*index)->Add(docs(0, 3, &values), 3).ok());
    index->reset();  // closed: the WAL is checkpointed into the file
    fs::copy(path + behind, dir / "saved", fs::copy_options::recursive);  // the terms half is a directory
    index = PartitionIndex::Open(path, 0);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE((*index)->Add(docs(3, 6, &values), 6).ok());
    index->reset();
    fs::remove_all(path + behind);
    fs::copy(dir / "saved", path + behind, fs::copy_options::recursive);  // one half as at 3

    index = PartitionIndex::Open(path, 0);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ((*index)->indexed_offset(), 3);
    EXPECT_EQ(HitOffsets(**index, json{{"term", {{"all", "same"}}}}), (V{0, 1, 2}));
    EXPECT_EQ(HitOffsets(**index, json{{"match", {{"all", "same"}}}}), (V{0, 1, 2}));
    ASSERT_TRUE((*index)->Add(docs(3, 6, &values), 6).ok());
    EXPECT_EQ((*index)->indexed_offset(), 6);
    EXPECT_EQ(HitOffsets(**index, json{{"bool", {{"must", {json{{"term", {{"all", "same"}}}}, json{{"match", {{"all", "same"}}}}}}}}}),
              (V{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(HitOffsets(**index, json{{"term", {{"k", "v4"}}}}), (V{4}));
    // Each value counted once: neither half indexed a document twice.
    AggregationSpec spec{AggregationSpec::Kind::kTerms, "all", 0, 0, {}};
    auto r = (*index)->Search(json{{"match_all", json::object()}}, SortSpec{}, 0, {spec},
                              std::chrono::steady_clock::now() + std::chrono::seconds(10));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->aggregations.at(0).keyword_counts, (std::map<std::string, int64_t>{{"same", 6}}));
    index->reset();
  }
  fs::remove_all(dir);
}

// The terms half ahead after a crash, then retention past every document the text half holds:
// the terms of the documents only the terms half had must stay where searches look, also when the
// crash came in the batch that started a new generation (the terms half does not index them again).
TEST(HalvesTest, RetentionWithTheTermsHalfAheadKeepsItsTerms) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("ahead_test_" + std::to_string(::getpid()));
  std::vector<std::string> values;
  for (int64_t i = 0; i < 6; ++i) values.push_back(json{{"k", "v" + std::to_string(i)}, {"all", "same"}}.dump());
  auto docs = [&](int64_t from, int64_t to) {
    std::vector<Document> out;
    for (int64_t i = from; i < to; ++i) {
      RecordFields r;
      r.offset = i;
      r.value = values[static_cast<size_t>(i)];
      out.push_back(MakeDocument(r));
    }
    return out;
  };
  // 3 documents a generation: the batch 3..6 starts generation 1.
  for (int64_t generation_documents : {PartitionIndex::kGenerationDocuments, int64_t{3}}) {
    SCOPED_TRACE(generation_documents);
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "p0.db").string();
    auto index = PartitionIndex::Open(path, 0, generation_documents);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE((*index)->Add(docs(0, 3), 3).ok());
    index->reset();
    fs::copy_file(path, dir / "saved");
    index = PartitionIndex::Open(path, 0, generation_documents);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE((*index)->Add(docs(3, 6), 6).ok());
    index->reset();
    fs::copy_file(dir / "saved", path, fs::copy_options::overwrite_existing);  // the text half as at 3

    index = PartitionIndex::Open(path, 0, generation_documents);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_EQ((*index)->indexed_offset(), 3);
    ASSERT_TRUE((*index)->DeleteBelow(4).ok());
    ASSERT_TRUE((*index)->Add(docs(4, 6), 6).ok());  // the indexer reads on from the log start
    using V = std::vector<int64_t>;
    EXPECT_EQ(HitOffsets(**index, json{{"term", {{"k", "v4"}}}}), (V{4}));
    EXPECT_EQ(HitOffsets(**index, json{{"term", {{"all", "same"}}}}), (V{4, 5}));
    EXPECT_EQ(HitOffsets(**index, json{{"match", {{"all", "same"}}}}), (V{4, 5}));
    // Once both halves are past the log start, retention starts the next generation as before.
    ASSERT_TRUE((*index)->DeleteBelow(6).ok());
    EXPECT_EQ((*index)->generations(), 1);
    EXPECT_EQ(HitOffsets(**index, json{{"term", {{"all", "same"}}}}), (V{}));
    index->reset();
  }
  fs::remove_all(dir);
}

// An index whose terms are gone is rebuilt (the caller deletes it on DataLoss); terms left by an
// index that is gone are not taken for the new one's.
TEST(HalvesTest, ALostHalfMeansARebuild) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("lost_half_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "p0.db").string();
  std::string value = json{{"k", "x"}}.dump();
  RecordFields r;
  r.value = value;
  auto index = PartitionIndex::Open(path, 0);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE((*index)->Add({MakeDocument(r)}, 1).ok());
  index->reset();
  for (const std::string& file : PartitionIndex::Files(path)) EXPECT_EQ(fs::exists(file), !file.ends_with("-shm") && !file.ends_with("-wal")) << file;

  fs::remove_all(path + "-terms");
  index = PartitionIndex::Open(path, 0);
  EXPECT_EQ(index.status().code(), absl::StatusCode::kDataLoss) << index.status();
  index = absl::InternalError("closed");

  fs::remove(path);
  index = PartitionIndex::Open(path, 0);  // the terms the failed open created are not kept either
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->indexed_offset(), 0);
  EXPECT_EQ(HitOffsets(**index, json{{"term", {{"k", "x"}}}}), (std::vector<int64_t>{}));
  index->reset();
  fs::remove_all(dir);
}

// A dropped index writes nothing more: its files go, and a new index may take the same path while
// the old one's writer still holds it.
TEST(HalvesTest, ARetiredIndexWritesNothing) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("retired_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "p0.db").string();
  std::string value = json{{"k", "x"}, {"msg", "some words"}}.dump();
  RecordFields r;
  r.value = value;
  auto old_index = PartitionIndex::Open(path, 0);
  ASSERT_TRUE(old_index.ok()) << old_index.status();
  (*old_index)->Retire();
  for (const std::string& file : PartitionIndex::Files(path)) fs::remove_all(file);
  auto index = PartitionIndex::Open(path, 0);
  ASSERT_TRUE(index.ok()) << index.status();
  r.offset = 0;
  EXPECT_EQ((*old_index)->Add({MakeDocument(r)}, 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*old_index)->DeleteBelow(1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*index)->indexed_offset(), 0);
  r.offset = 0;
  ASSERT_TRUE((*index)->Add({MakeDocument(r)}, 1).ok());
  index->reset();
  old_index->reset();
  index = PartitionIndex::Open(path, 0);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->indexed_offset(), 1);
  EXPECT_EQ(HitOffsets(**index, json{{"match", {{"msg", "words"}}}}), (std::vector<int64_t>{0}));
  index->reset();
  fs::remove_all(dir);
}

TEST(CalendarTest, MonthsQuartersAndYears) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("calendar_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto index = PartitionIndex::Open((dir / "p0.db").string(), 0);
  ASSERT_TRUE(index.ok()) << index.status();
  const char* dates[] = {"2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z", "2026-02-15", "2026-05-01T12:00:00+02:00"};
  std::vector<std::string> values;
  for (const char* d : dates) values.push_back(json{{"when", d}}.dump());
  std::vector<Document> docs;
  for (size_t i = 0; i < values.size(); ++i) {
    RecordFields r;
    r.offset = static_cast<int64_t>(i);
    r.value = values[i];
    docs.push_back(MakeDocument(r));
  }
  ASSERT_TRUE((*index)->Add(docs, 4).ok());
  auto buckets = [&](int64_t months) {
    AggregationSpec spec{AggregationSpec::Kind::kHistogram, "when", 0, months, {}};
    auto r = (*index)->Search(json{{"match_all", json::object()}}, SortSpec{}, 0, {spec},
                              std::chrono::steady_clock::now() + std::chrono::seconds(10));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->aggregations.at(0).number_counts : std::map<double, int64_t>{};
  };
  auto ms = [](const char* date) { return static_cast<double>(*ParseDateMs(date)); };
  EXPECT_EQ(buckets(1), (std::map<double, int64_t>{{ms("2025-12-01"), 1}, {ms("2026-01-01"), 1},
                                                   {ms("2026-02-01"), 1}, {ms("2026-05-01"), 1}}));
  EXPECT_EQ(buckets(3), (std::map<double, int64_t>{{ms("2025-10-01"), 1}, {ms("2026-01-01"), 2}, {ms("2026-04-01"), 1}}));
  EXPECT_EQ(buckets(12), (std::map<double, int64_t>{{ms("2025-01-01"), 1}, {ms("2026-01-01"), 3}}));
  index->reset();
  fs::remove_all(dir);
}

TEST(TermsTest, ValuesReadBackAndSortInTheirOrder) {
  for (const std::string& v : {std::string(), std::string("a"), std::string("\x00\x01\x02\x03x", 5), std::string("caf\xc3\xa9")}) {
    EXPECT_EQ(terms::KeywordValue(terms::Keyword("f", v)), v);
  }
  const std::string with_controls("a\x01b", 3);
  EXPECT_EQ(terms::KeywordValue(terms::Keyword("f", with_controls)), with_controls);
  EXPECT_LT(terms::Keyword("f", std::string("\x00", 1)), terms::Keyword("f", "\x04"));
  EXPECT_LT(terms::Keyword("f", "a"), terms::Keyword("f", "ab"));
  EXPECT_LE(terms::FieldStart(terms::Kind::kKeyword, "f"), terms::Keyword("f", ""));
  EXPECT_LT(terms::Keyword("f", "\xf4\x8f\xbf\xbf"), terms::FieldEnd(terms::Kind::kKeyword, "f"));
  EXPECT_LT(terms::FieldEnd(terms::Kind::kKeyword, "f"), terms::FieldStart(terms::Kind::kKeyword, "f.a"));
  const double numbers[] = {-1e300, -2.5, -1, 0, 1e-300, 1, 2.5, 1e300};
  for (size_t i = 0; i < std::size(numbers); ++i) {
    EXPECT_EQ(terms::NumberValue(terms::Number("f", numbers[i])), numbers[i]);
    if (i > 0) {
      EXPECT_LT(terms::Number("f", numbers[i - 1]), terms::Number("f", numbers[i]));
    }
  }
  EXPECT_EQ(terms::Number("f", -0.0), terms::Number("f", 0.0));
}

TEST(QueryTest, MalformedQueriesAreRefusedNotCrashed) {
  for (const char* bad : {R"({"nope": {}})", R"({"match": {}})", R"({"term": {"a": {}}})", R"({"bool": {"must": 3}})",
                          R"({"range": {"a": {"gte": {}}}})", R"({"query_string": {"query": "a AND ("}})",
                          R"({"query_string": {"query": "\"open"}})", R"({"match": 1, "term": 2})"}) {
    EXPECT_FALSE(CompileQuery(json::parse(bad), IndexLayout{}).ok()) << bad;
  }
}

// Words as the index and queries both make them: letters and digits, lowercased; Unicode letters
// are letters (Latin, Greek and Cyrillic case folded, accents kept), its punctuation separates.
TEST(TokenizerTest, WordsOfAsciiAndUnicode) {
  using W = std::vector<std::string>;
  EXPECT_EQ(Tokenize("Hello, World-42! snake_case"), (W{"hello", "world", "42", "snake", "case"}));
  EXPECT_EQ(Tokenize("\xc3\x89mile Zola \xe2\x80\x94 \xc3\x85NGSTR\xc3\x96M"), (W{"\xc3\xa9mile", "zola", "\xc3\xa5ngstr\xc3\xb6m"}));
  EXPECT_EQ(Tokenize("\xce\x91\xce\x98\xce\x97\xce\x9d\xce\x91 \xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0\xe3\x80\x82\xe6\x9d\xb1\xe4\xba\xac"),
            (W{"\xce\xb1\xce\xb8\xce\xb7\xce\xbd\xce\xb1", "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", "\xe6\x9d\xb1\xe4\xba\xac"}));
  EXPECT_EQ(Tokenize("\xc5\x81\xc3\xb3" "d\xc5\xba \xe2\x80\x9cquoted\xe2\x80\x9d \xf0\x9f\x98\x80smile"), (W{"\xc5\x82\xc3\xb3" "d\xc5\xba", "quoted", "smile"}));
  EXPECT_EQ(Tokenize("bad\xff byte"), (W{"bad\xff", "byte"}));
  EXPECT_EQ(Tokenize("\xc2\xbf" "D\xc3\xb3nde? \xc4\xb0stanbul \xce\x86\xcf\x81\xce\xb7\xcf\x82"),
            (W{"d\xc3\xb3nde", "istanbul", "\xce\xac\xcf\x81\xce\xb7\xcf\x82"}));
}

TEST(DocumentTest, FieldsByKind) {
  RecordFields r;
  r.offset = 7;
  r.value = std::string_view(R"({"a": {"b": [1, "x"]}, "ok": true, "t": "2026-01-02"})");
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers = {{"h", "v"}};
  r.headers = headers;
  Document d = MakeDocument(r);
  EXPECT_NE(std::find(d.numbers.begin(), d.numbers.end(), std::make_pair(std::string("a.b"), 1.0)), d.numbers.end());
  EXPECT_NE(std::find(d.keywords.begin(), d.keywords.end(), std::make_pair(std::string("a.b"), std::string("x"))),
            d.keywords.end());
  EXPECT_NE(std::find(d.keywords.begin(), d.keywords.end(), std::make_pair(std::string("_headers.h"), std::string("v"))),
            d.keywords.end());
  EXPECT_EQ(ParseDateMs("2026-01-02"), 1767312000000);
  EXPECT_EQ(ParseDateMs("2026-01-02T00:00:01.5Z"), 1767312001500);
  EXPECT_EQ(ParseDateMs("not a date"), std::nullopt);
  r.value = std::string_view("\xff\xfe binary");
  EXPECT_TRUE(MakeDocument(r).text.empty());
  EXPECT_FALSE(IsUtf8("\xc3"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9"));
}

TEST(DocumentTest, JsonIsReadInOnePass) {
  auto doc = [](std::string_view value) {
    RecordFields r;
    r.value = value;
    return MakeDocument(r);
  };
  using Numbers = std::vector<std::pair<std::string, double>>;
  using Strings = std::vector<std::pair<std::string, std::string>>;
  // Fields in the order they appear; a repeated key is indexed each time, like an array.
  Document d = doc(R"({"b": 1, "a": {"c": [2, 3]}, "b": "x\u00e9"})");
  EXPECT_EQ(d.numbers, (Numbers{{"b", 1}, {"a.c", 2}, {"a.c", 3}}));
  EXPECT_EQ(d.keywords, (Strings{{"b", "x\xc3\xa9"}}));
  EXPECT_EQ(d.source, R"({"b": 1, "a": {"c": [2, 3]}, "b": "x\u00e9"})");
  // A document that turns out not to be JSON is text, with none of the fields read before.
  d = doc(R"({"a": "x", "b": 01})");
  EXPECT_EQ(d.text, (Strings{{"value", R"({"a": "x", "b": 01})"}}));
  EXPECT_TRUE(d.numbers.empty());
  EXPECT_EQ(d.source, R"({"value":"{\"a\": \"x\", \"b\": 01}"})");
  // Values nested deeper than the index reads are checked, not indexed; what follows them is.
  std::string deep = R"({"deep": )" + std::string(40, '[') + "1" + std::string(40, ']') + R"(, "after": 2})";
  EXPECT_EQ(doc(deep).numbers, (Numbers{{"after", 2}}));
  deep.insert(deep.find("1]"), "{");
  EXPECT_EQ(doc(deep).text, (Strings{{"value", deep}}));
  // A byte order mark, -0 as 0, a number too small for a double as 0; one too large is not JSON.
  EXPECT_EQ(doc("\xEF\xBB\xBF{\"n\": -0, \"t\": 1e-400}").numbers, (Numbers{{"n", 0}, {"t", 0}}));
  EXPECT_EQ(doc(R"({"n": 1e400})").text.front().first, "value");
  // At most about 1024 fields are indexed; the document is still JSON, and whole in _source.
  std::string many = "{";
  for (int i = 0; i < 1100; ++i) absl::StrAppend(&many, i ? ", " : "", "\"f", i, "\": ", i);
  many += "}";
  d = doc(many);
  EXPECT_EQ(d.numbers.size(), 1025u);
  EXPECT_EQ(d.numbers.back(), std::make_pair(std::string("f1024"), 1024.0));
  EXPECT_EQ(d.source, many);
  // Dates read without absl, against absl's reading of the same.
  EXPECT_EQ(ParseDateMs("0000-01-01"), -62167219200000);
  EXPECT_EQ(ParseDateMs("2024-02-29T23:59:59.999+05:30"), 1709231399999);
  EXPECT_EQ(ParseDateMs("1969-12-31T23:59:59.9995Z"), -1);
  EXPECT_EQ(ParseDateMs("2026-11-30t12:00:00z"), 1796040000000);  // left to absl
  EXPECT_EQ(ParseDateMs("2026-02-29"), std::nullopt);
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));  // a surrogate
}

}  // namespace
}  // namespace chronik::search
