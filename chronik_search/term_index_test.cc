#include "chronik_search/term_index.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_search/term_rows.h"
#include "chronik_search/term_run.h"
#include "chronik_search/terms.h"
#include "chronik_search/text_query.h"
#include "gtest/gtest.h"

namespace chronik::search {
namespace {

namespace fs = std::filesystem;
using Pairs = std::set<std::pair<std::string, int64_t>>;

fs::path TempDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::shared_ptr<const TermRun> WriteAndOpen(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  auto run = TermRun::Open(path.string());
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *run : nullptr;
}

// The run of `pairs` (terms sorted, each term's documents ascending).
std::string Build(const std::map<std::string, std::vector<int64_t>>& pairs, int64_t base) {
  RunBuilder b(base);
  for (const auto& [term, docs] : pairs) {
    b.StartTerm(term);
    for (int64_t d : docs) b.AddDoc(d);
  }
  return b.Finish();
}

Pairs Scan(const TermRun& run, const TermRun::Cursor::Range& range) {
  Pairs out;
  TermRun::Cursor c(&run, &range);
  while (c.Next()) out.emplace(c.term(), c.doc());
  return out;
}

Pairs Expected(const std::map<std::string, std::vector<int64_t>>& pairs, const TermRun::Cursor::Range& r) {
  Pairs out;
  for (const auto& [term, docs] : pairs) {
    if (r.has_lower && (term < r.lower || (term == r.lower && !r.lower_inclusive))) continue;
    if (r.has_upper && (term > r.upper || (term == r.upper && !r.upper_inclusive))) continue;
    for (int64_t d : docs) out.emplace(term, d);
  }
  return out;
}

// Many blocks (long shared prefixes, one term with many documents), every kind of bound, including
// bounds between terms, before the first and after the last.
TEST(TermRunTest, RangesOverManyBlocksReadExactlyTheirPairs) {
  const fs::path dir = TempDir("term_run");
  std::map<std::string, std::vector<int64_t>> pairs;
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    const std::string term = absl::StrCat("kfield.name\x02value-", rng() % 5000);
    auto& docs = pairs[term];
    if (docs.empty() || rng() % 2 == 0) docs.push_back(1000 + static_cast<int64_t>(docs.size()) * 3 + i % 3);
  }
  for (int64_t d = 1000; d < 7000; ++d) pairs["kbig\x02one"].push_back(d);  // a block of its own
  auto run = WriteAndOpen(dir / "r.run", Build(pairs, 1000));
  ASSERT_NE(run, nullptr);
  int64_t total = 0;
  for (const auto& [t, docs] : pairs) total += static_cast<int64_t>(docs.size());
  EXPECT_EQ(run->pairs(), total);

  std::vector<std::string> bounds = {"", "a", "kfield.name\x02value-", "kfield.name\x02value-2",
                                     "kfield.name\x02value-2500", "kfield.name\x02value-2500x", "kbig\x02one", "z"};
  int checked = 0;
  for (const auto& [term, docs] : pairs) {
    if (++checked % 600 == 0) bounds.push_back(term);
  }
  for (const std::string& lo : bounds) {
    for (const std::string& hi : bounds) {
      for (int incl = 0; incl < 4; ++incl) {
        TermRun::Cursor::Range r;
        r.has_lower = !lo.empty();
        r.lower = lo;
        r.lower_inclusive = (incl & 1) != 0;
        r.has_upper = hi != "z";
        r.upper = hi;
        r.upper_inclusive = (incl & 2) != 0;
        ASSERT_EQ(Scan(*run, r), Expected(pairs, r)) << "[" << lo << ", " << hi << "] " << incl;
      }
    }
  }
  fs::remove_all(dir);
}

// A merge copies each run's documents as encoded: terms with one document and with many, with
// payloads and without, terms in one run only and in all, a term with one document in some runs
// and many in others, each come out whole and in order, through merges of merges too, and a seek
// past a term's documents (which skips their bytes) finds what follows.
TEST(TermRunTest, MergedRunsHoldEveryPairInOrder) {
  const fs::path dir = TempDir("term_merge");
  using Triples = std::set<std::tuple<std::string, int64_t, std::string>>;
  Triples all;
  std::vector<std::shared_ptr<const TermRun>> runs;
  for (int r = 0; r < 5; ++r) {
    // Payloads are on "p" terms only: a term's documents all have one or none.
    std::map<std::string, std::vector<std::pair<int64_t, std::string>>> pairs;
    for (int64_t d = r * 100; d < r * 100 + 100; d += 1 + d % 3) {
      std::vector<std::string> terms = {absl::StrCat("a", d % 7), absl::StrCat("b", r), "common",
                                        absl::StrCat("once", d),  absl::StrCat("p", d % 5), absl::StrCat("ponce", d)};
      // One document in the even runs, many in the odd ones.
      if (r % 2 == 1 || d == r * 100) terms.push_back("mixed");
      if (r % 2 == 1 || d == r * 100) terms.push_back("pmixed");
      for (const std::string& t : terms) {
        const std::string payload = t[0] == 'p' ? std::string(static_cast<size_t>(d % 4), static_cast<char>('a' + d % 26)) : "";
        pairs[t].emplace_back(d, payload);
        all.emplace(t, d, payload);
      }
    }
    RunBuilder b(r * 100);
    for (const auto& [term, docs] : pairs) {
      b.StartTerm(term);
      for (const auto& [d, payload] : docs) {
        if (term[0] == 'p') {
          b.AddDoc(d, payload);
        } else {
          b.AddDoc(d);
        }
      }
    }
    runs.push_back(WriteAndOpen(dir / absl::StrCat(r, ".run"), b.Finish()));
  }
  auto merge = [&](const std::vector<std::shared_ptr<const TermRun>>& in, const std::string& name) {
    absl::StatusOr<std::string> bytes = MergeRuns(in, in.front()->base());
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? WriteAndOpen(dir / name, *bytes) : nullptr;
  };
  auto read = [](const TermRun& run, const TermRun::Cursor::Range& range) {
    Triples out;
    std::pair<std::string, int64_t> last;
    TermRun::Cursor c(&run, &range);
    while (c.Next()) {
      EXPECT_LT(last, std::make_pair(c.term(), c.doc()));
      last = {c.term(), c.doc()};
      out.emplace(c.term(), c.doc(), std::string(c.payload()));
    }
    return out;
  };
  const TermRun::Cursor::Range everything;
  auto merged = merge(runs, "m.run");
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->pairs(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(read(*merged, everything), all);
  // Runs 0-2 and 3-4 merged apart, then together: the second merge continues each term's documents
  // from the last one of the first part.
  auto low = merge({runs[0], runs[1], runs[2]}, "low.run");
  auto high = merge({runs[3], runs[4]}, "high.run");
  ASSERT_NE(low, nullptr);
  ASSERT_NE(high, nullptr);
  auto again = merge({low, high}, "again.run");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->pairs(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(read(*again, everything), all);
  // Seeks that skip terms with many documents, with payloads and without.
  for (const std::string lower : {"a3", "common", "mixed", "once150", "p2", "pmixed", "ponce3"}) {
    TermRun::Cursor::Range range;
    range.has_lower = true;
    range.lower = lower;
    range.lower_inclusive = false;
    Triples expected;
    for (const auto& t : all) {
      if (std::get<0>(t) > lower) expected.insert(t);
    }
    EXPECT_EQ(read(*again, range), expected) << lower;
  }
  fs::remove_all(dir);
}

// A run whose checksum holds but whose entry claims more bytes for its documents than it has (as
// a run this process wrote and did not check could): a merge refuses it rather than copying the
// bytes after it or dropping the terms that follow.
TEST(TermRunTest, AMergeRefusesAMalformedEntry) {
  const fs::path dir = TempDir("term_malformed");
  // Magic (5 bytes), shared 0, suffix length 1, "a", head 2 << 1, documents' bytes 2, span 1, then
  // the two deltas. 3 claims the span's byte as well: with "a" the last term, one byte past the
  // blocks; with "b" after it, into b's entry.
  for (const auto& terms : std::vector<std::map<std::string, std::vector<int64_t>>>{
           {{"a", {1, 2}}}, {{"a", {1, 2}}, {"b", {3}}}}) {
    std::string bytes = Build(terms, 0);
    ASSERT_EQ(bytes[9], 2);
    bytes[9] = 3;
    const uint32_t crc = protocol::Crc32c(std::string_view(bytes).substr(0, bytes.size() - 4));
    for (size_t i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
    auto run = WriteAndOpen(dir / "r.run", bytes);
    ASSERT_NE(run, nullptr);
    TermRun::EntryReader reader(run.get());
    while (reader.Next()) {
    }
    EXPECT_TRUE(reader.damaged()) << terms.size();
    EXPECT_EQ(MergeRuns({run}, 0).status().code(), absl::StatusCode::kDataLoss) << terms.size();
  }
  fs::remove_all(dir);
}

TEST(TermRunTest, ADamagedOrTruncatedRunIsDataLoss) {
  const fs::path dir = TempDir("term_damaged");
  const std::string bytes = Build({{"a", {1, 2}}, {"b", {3}}}, 0);
  for (size_t at : {size_t{0}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    std::ofstream(dir / "r.run", std::ios::binary | std::ios::trunc) << damaged;
    EXPECT_EQ(TermRun::Open((dir / "r.run").string()).status().code(), absl::StatusCode::kDataLoss) << at;
  }
  std::ofstream(dir / "r.run", std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 5);
  EXPECT_EQ(TermRun::Open((dir / "r.run").string()).status().code(), absl::StatusCode::kDataLoss);
  fs::remove_all(dir);
}

std::vector<Document> Docs(int64_t from, int64_t to) {
  std::vector<Document> out;
  for (int64_t i = from; i < to; ++i) {
    Document d;
    d.offset = i;
    d.keywords = {{"mod", absl::StrCat(i % 10)}, {"id", absl::StrCat("id-", i)}, {"mod", absl::StrCat(i % 10)}};
    d.numbers = {{"n", static_cast<double>(i)}};
    out.push_back(std::move(d));
  }
  return out;
}

// (term, doc) pairs through term_rows on a connection of its own, as searches read them.
class TermRowsReader {
 public:
  explicit TermRowsReader(const TermIndex* index) {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    EXPECT_TRUE(RegisterTermRows(db_, [index] { return index->Snapshot(); }));
  }
  ~TermRowsReader() { sqlite3_close(db_); }
  Pairs Read(const std::string& where, const std::vector<std::string>& args = {}) const {
    Pairs out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, ("SELECT term, doc FROM term_rows WHERE " + where).c_str(), -1, &s, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db_);
    for (size_t i = 0; i < args.size(); ++i) {
      sqlite3_bind_text(s, static_cast<int>(i + 1), args[i].data(), static_cast<int>(args[i].size()), SQLITE_TRANSIENT);
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
      out.emplace(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                              static_cast<size_t>(sqlite3_column_bytes(s, 0))),
                  sqlite3_column_int64(s, 1));
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

Pairs Keywords(const std::string& field, const std::string& value, const std::vector<int64_t>& docs) {
  Pairs out;
  for (int64_t d : docs) out.emplace(terms::Keyword(field, value), d);
  return out;
}

// Batches become runs, merged kFanIn at a time; the same pairs are read back through term_rows,
// after a reopen too, and a search's snapshot stays readable while merges and drops delete files.
TEST(TermIndexTest, BatchesMergeAndReadBackThroughTermRows) {
  const fs::path dir = TempDir("term_index");
  const std::string path = (dir / "p0.db-terms").string();
  bool created = false;
  constexpr size_t kFanIn = 4;
  auto index = TermIndex::Open(path, &created, kFanIn);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_TRUE(created);
  const int batches = static_cast<int>(kFanIn * kFanIn + 3);
  std::shared_ptr<const TermSnapshot> early;
  for (int b = 0; b < batches; ++b) {
    ASSERT_TRUE((*index)->Add(0, Docs(b * 10, b * 10 + 10), 0, b * 10 + 10).ok());
    if (b == 2) early = (*index)->Snapshot();
  }
  const int64_t n = batches * 10;
  auto snapshot = (*index)->Snapshot();
  EXPECT_EQ(snapshot->indexed_offset, n);
  // kFanIn * kFanIn + 3 batches: kFanIn runs merged once (kMaxLevel), then 3 not merged.
  ASSERT_EQ(snapshot->of(RunKind::kExact).at(0).size(), kFanIn + 3);
  EXPECT_EQ(snapshot->of(RunKind::kExact).at(0)[0].level, TermIndex::kMaxLevel);
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(path)) ++files;
  EXPECT_EQ(files, static_cast<int>(kFanIn + 4));  // the runs and the manifest: merged runs' files are gone

  auto check = [&](const TermIndex* idx) {
    TermRowsReader reader(idx);
    std::vector<int64_t> threes, all;
    for (int64_t i = 0; i < n; ++i) {
      if (i % 10 == 3) threes.push_back(i);
      all.push_back(i);
    }
    // A keyword a document has twice is one pair.
    EXPECT_EQ(reader.Read("gen = 0 AND term = ?", {terms::Keyword("mod", "3")}), Keywords("mod", "3", threes));
    EXPECT_EQ(reader.Read("gen = 0 AND term >= ? AND term <= ?", {terms::Keyword("id", "id-5"), terms::Keyword("id", "id-5")}),
              Keywords("id", "id-5", {5}));
    Pairs ids = reader.Read("gen = 0 AND term >= ? AND term < ?", {terms::FieldStart(terms::Kind::kKeyword, "id"),
                                                                  terms::FieldEnd(terms::Kind::kKeyword, "id")});
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
    Pairs range = reader.Read("gen = 0 AND term > ? AND term < ?", {terms::Number("n", 100), terms::Number("n", 150)});
    EXPECT_EQ(range.size(), 49u);
    EXPECT_EQ(reader.Read("gen = 1 AND term = ?", {terms::Keyword("mod", "3")}), Pairs{});
    // Without a generation or bounds: every pair (3 per document), and the constraint SQLite keeps.
    EXPECT_EQ(reader.Read("1").size(), static_cast<size_t>(3 * n));
    EXPECT_EQ(reader.Read("doc = 7 AND term LIKE 'kmod%'"), Keywords("mod", "7", {7}));
  };
  check(index->get());
  // The early snapshot's runs were merged away and their files deleted; it still reads them.
  Pairs early_pairs;
  for (const auto& [g, runs] : early->of(RunKind::kExact)) {
    for (const auto& r : runs) {
      TermRun::Cursor::Range all_terms;
      TermRun::Cursor c(r.run.get(), &all_terms);
      while (c.Next()) early_pairs.emplace(c.term(), c.doc());
    }
  }
  EXPECT_EQ(early_pairs.size(), 90u);

  index->reset();
  index = TermIndex::Open(path, &created, kFanIn);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_FALSE(created);
  EXPECT_EQ((*index)->indexed_offset(), n);
  check(index->get());

  // A newer generation; dropping the older one deletes its runs.
  ASSERT_TRUE((*index)->Add(1, Docs(n, n + 10), 0, n + 10).ok());
  EXPECT_EQ((*index)->newest_generation(), 1);
  ASSERT_TRUE((*index)->DropBelow(1).ok());
  TermRowsReader reader(index->get());
  EXPECT_EQ(reader.Read("gen = 0 AND term = ?", {terms::Keyword("mod", "3")}), Pairs{});
  EXPECT_EQ(reader.Read("gen = 1 AND term = ?", {terms::Keyword("mod", "3")}), Keywords("mod", "3", {n + 3}));
  files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(path)) ++files;
  EXPECT_EQ(files, 2);
  index->reset();
  fs::remove_all(dir);
}

// Adding what the index holds already (a crash left this half ahead) changes nothing; documents
// below the log start are skipped.
TEST(TermIndexTest, DocumentsHeldOrDeletedAreNotAddedAgain) {
  const fs::path dir = TempDir("term_again");
  const std::string path = (dir / "p0.db-terms").string();
  bool created = false;
  auto index = TermIndex::Open(path, &created);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE((*index)->Add(0, Docs(0, 10), 0, 10).ok());
  ASSERT_TRUE((*index)->Add(0, Docs(0, 10), 0, 10).ok());
  ASSERT_TRUE((*index)->Add(0, Docs(5, 20), 15, 20).ok());
  TermRowsReader reader(index->get());
  Pairs ids = reader.Read("term >= ? AND term < ?", {terms::FieldStart(terms::Kind::kKeyword, "id"),
                                                     terms::FieldEnd(terms::Kind::kKeyword, "id")});
  std::set<int64_t> docs;
  for (const auto& [t, d] : ids) docs.insert(d);
  std::set<int64_t> want;
  for (int64_t i = 0; i < 10; ++i) want.insert(i);
  for (int64_t i = 15; i < 20; ++i) want.insert(i);
  EXPECT_EQ(docs, want);
  EXPECT_EQ(ids.size(), want.size());
  index->reset();
  fs::remove_all(dir);
}

// A damaged manifest or run is DataLoss (the index is rebuilt); a run no manifest names (written
// before a crash) is deleted at open.
TEST(TermIndexTest, DamageIsDataLossAndStrayRunsGo) {
  const fs::path dir = TempDir("term_damage");
  const std::string path = (dir / "p0.db-terms").string();
  bool created = false;
  {
    auto index = TermIndex::Open(path, &created);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE((*index)->Add(0, Docs(0, 10), 0, 10).ok());
  }
  std::ofstream(fs::path(path) / "0-99.run") << "left by a crash";
  {
    auto index = TermIndex::Open(path, &created);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_FALSE(fs::exists(fs::path(path) / "0-99.run"));
  }
  const fs::path manifest = fs::path(path) / "MANIFEST";
  std::string text;
  {
    std::ifstream in(manifest);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string changed = text;
  changed.replace(changed.find("offset 10"), 9, "offset 11");
  std::ofstream(manifest, std::ios::trunc) << changed;
  EXPECT_EQ(TermIndex::Open(path, &created).status().code(), absl::StatusCode::kDataLoss);
  std::ofstream(manifest, std::ios::trunc) << text;
  for (const auto& e : fs::directory_iterator(path)) {
    if (e.path().extension() == ".run") fs::resize_file(e.path(), fs::file_size(e.path()) - 1);
  }
  EXPECT_EQ(TermIndex::Open(path, &created).status().code(), absl::StatusCode::kDataLoss);
  fs::remove_all(dir);
}


Document TextDoc(int64_t offset, std::vector<std::pair<std::string, std::string>> text) {
  Document d;
  d.offset = offset;
  d.text = std::move(text);
  return d;
}

std::map<int64_t, double> Matches(const TermIndex& index, const TextQuerySpec& q, bool scored = true) {
  std::map<int64_t, double> out;
  auto snapshot = index.Snapshot();
  auto runs = snapshot->of(RunKind::kText).find(0);
  if (runs == snapshot->of(RunKind::kText).end()) return out;
  for (const TextMatch& m : MatchText(runs->second, q, scored)) out[m.doc] = m.score;
  return out;
}

std::set<int64_t> Docs(const std::map<int64_t, double>& m) {
  std::set<int64_t> out;
  for (const auto& [doc, score] : m) out.insert(doc);
  return out;
}

// Words, phrases (never across an array's values), prefixes, and and or, over one field or
// several, across runs; BM25 ranks more occurrences in a shorter document higher.
TEST(TextQueryTest, WordsPhrasesPrefixesAndRanking) {
  const fs::path dir = TempDir("text_query");
  bool created = false;
  auto index = TermIndex::Open((dir / "p0.db-terms").string(), &created);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE((*index)->Add(0, {TextDoc(0, {{"msg", "The quick brown fox"}}), TextDoc(1, {{"msg", "quick QUICK fox"}})},
                            0, 2).ok());
  ASSERT_TRUE((*index)->Add(0, {TextDoc(2, {{"msg", "brown"}, {"msg", "fox jumps"}}), TextDoc(3, {{"title", "Quickly"}}),
                                TextDoc(4, {{"msg", "a fox, brown fox; brown fox"}})},
                            0, 5).ok());
  using S = std::set<int64_t>;
  auto q = [](std::vector<std::string> fields, std::vector<std::vector<std::string>> phrases, bool all = false,
              bool prefix = false) {
    TextQuerySpec spec;
    spec.fields = std::move(fields);
    spec.phrases = std::move(phrases);
    spec.all = all;
    spec.last_prefix = prefix;
    return spec;
  };
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"brown", "fox"}}))), (S{0, 4}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"fox", "brown"}}))), (S{4}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"quick"}, {"fox"}}))), (S{0, 1, 2, 4}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"quick"}, {"fox"}}, true))), (S{0, 1}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"qu"}}, false, true))), (S{0, 1}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg", "title"}, {{"qu"}}, false, true))), (S{0, 1, 3}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"quick", "b"}}, false, true))), (S{0}));
  EXPECT_EQ(Docs(Matches(**index, q({"msg"}, {{"nowhere"}}))), (S{}));
  EXPECT_EQ(Docs(Matches(**index, q({"title"}, {{"quick"}}))), (S{}));  // "quickly" is another word
  // "quick" twice in three words ranks above once in four; unranked, every score is 1.
  auto ranked = Matches(**index, q({"msg"}, {{"quick"}}));
  ASSERT_EQ(Docs(ranked), (S{0, 1}));
  EXPECT_GT(ranked[1], ranked[0]);
  EXPECT_GT(ranked[0], 0);
  for (const auto& [doc, score] : Matches(**index, q({"msg"}, {{"quick"}}), false)) EXPECT_EQ(score, 1.0) << doc;
  // A phrase found twice counts twice: in six words it outranks one found once in four.
  auto phrase = Matches(**index, q({"msg"}, {{"brown", "fox"}}));
  EXPECT_GT(phrase[4], phrase[0]);
  EXPECT_EQ(TextQuerySpec::Parse(q({"a"}, {{"b", "c"}}, true, true).Serialize())->phrases,
            (std::vector<std::vector<std::string>>{{"b", "c"}}));
  // Any bytes survive the trip (a ?q= may hold bytes that are not UTF-8); malformed text does not parse.
  const std::string bytes("w\xff\x00:9", 5);
  auto round = TextQuerySpec::Parse(q({bytes, "x"}, {{bytes}, {}}, false, false).Serialize());
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(round->fields, (std::vector<std::string>{bytes, "x"}));
  EXPECT_EQ(round->phrases, (std::vector<std::vector<std::string>>{{bytes}, {}}));
  EXPECT_FALSE(round->all);
  for (const char* bad : {"", "a", "zx", "ax f", "ax f3:ab", "axp2:1:a", "axf99999999999:a", "ax q"}) {
    EXPECT_FALSE(TextQuerySpec::Parse(bad).has_value()) << bad;
  }
  index->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace chronik::search
